// Next-hop MAC addresses from the kernel's neighbour table (rtnetlink, in svrd's network
// namespace). svrd never runs ARP/ND itself: for every next hop it uses it asks the kernel
// for a "managed" entry (NTF_EXT_MANAGED, Linux 5.16+), which the kernel resolves at once
// and keeps reachable, with kernel forwarding off and with no packet of the flow going
// through the kernel. Until the entry has a MAC, svrd holds the first packet (pipeline).
#pragma once

#include <cstdint>
#include <optional>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "fastpath/address.hpp"

namespace svr::svrd {

class NeighbourTable {
public:
    static Result<NeighbourTable> open();

    // The MAC when the kernel has a usable entry (reachable, stale, delay, probe, permanent).
    Result<std::optional<fastpath::MacAddress>> lookup(std::uint32_t ifindex,
                                                       const fastpath::IpAddress& address);
    // Creates (or turns an existing entry into) a managed entry: the kernel resolves it now.
    Status manage(std::uint32_t ifindex, const fastpath::IpAddress& address);

private:
    explicit NeighbourTable(UniqueFd fd) : fd_(std::move(fd)) {}
    Result<std::size_t> request(void* message, std::size_t length, std::uint8_t* reply,
                                std::size_t replyCapacity);

    UniqueFd fd_;
    std::uint32_t sequence_ = 1;
};

} // namespace svr::svrd

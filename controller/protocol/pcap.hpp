// Minimal capture-file reader for svrctl: classic pcap (both byte orders, µs and ns) and
// pcapng (SHB/IDB/EPB/SPB), plus locating the IP header behind common link types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/result.hpp"

namespace svr::protocol::pcap {

struct Record {
    std::size_t index = 0;     // 1-based frame number, as Wireshark shows it
    std::uint32_t linkType = 0;
    std::span<const std::uint8_t> data; // captured bytes, pointing into the file buffer
};

// Errors: PcapBadMagic, PcapTruncated.
Result<std::vector<Record>> parse(std::span<const std::uint8_t> file);

// Offset of the IP header inside a frame of this link type (Ethernet with VLAN tags, raw IP,
// Linux cooked v1/v2, BSD loopback); nullopt when the frame carries no IPv4/IPv6.
// PcapUnsupportedLinkType through the caller.
std::optional<std::size_t> ipOffset(std::uint32_t linkType, std::span<const std::uint8_t> frame);
bool supportedLinkType(std::uint32_t linkType);

} // namespace svr::protocol::pcap

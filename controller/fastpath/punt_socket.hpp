// The controller's end of the punt path: one AF_XDP socket (copy mode, libxdp, no program
// of libxdp's own) bound to one rx queue of a router interface and entered in the pinned
// xsks map at that interface's slot. Owns its UMEM and rings from one thread (single
// producer/consumer rings); destroying it removes it from xsks.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "fastpath/abi.hpp"
#include "fastpath/maps.hpp"

namespace svr::fastpath {

struct PuntFrame {
    bool hasMeta = false; // svr_punt_meta present: magic matched, ingress is the bound iface
    svr_punt_meta meta{};
    std::vector<std::uint8_t> data; // from the Ethernet header on
};

class PuntSocket {
public:
    // Queued frames per kick at most: bounds the delay a batch adds to its first frame.
    static constexpr std::uint32_t kTxKickBatch = 16;

    // maps.ifaces must mark ifname a router interface (attach first).
    static Result<std::unique_ptr<PuntSocket>> open(const MapFds& maps, const std::string& ifname,
                                                    std::uint32_t queue = 0);
    ~PuntSocket();
    PuntSocket(const PuntSocket&) = delete;
    PuntSocket& operator=(const PuntSocket&) = delete;

    // Waits up to timeoutMs (0: no wait, -1: forever) and returns up to maxFrames frames.
    Result<std::vector<PuntFrame>> receive(int timeoutMs, std::size_t maxFrames = 64);
    // A frame waits on the RX ring: a read of shared memory, no system call (busy polling).
    bool rxReady();
    // Sends one Ethernet frame out of the bound interface now (queue + flush).
    Status transmit(std::span<const std::uint8_t> frame);
    // Puts one Ethernet frame on the TX ring; it leaves at the next flush(), or when
    // kTxKickBatch frames wait (copy mode sends only from a kick: one syscall per batch).
    Status queue(std::span<const std::uint8_t> frame);
    // Kicks the kernel until every queued frame is sent (or the device pushes back: then
    // txPending() stays true and a later flush() retries).
    Status flush();
    bool txPending() const;

    int fd() const;
    std::uint32_t slot() const { return slot_; }

    struct Impl;

private:
    explicit PuntSocket(std::unique_ptr<Impl> impl, std::uint32_t slot);
    std::unique_ptr<Impl> impl_;
    std::uint32_t slot_;
};

} // namespace svr::fastpath

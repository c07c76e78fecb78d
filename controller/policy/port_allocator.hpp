// Waypoint and source-NAT port allocation. Pure bookkeeping, no I/O. Exhaustion is an error
// value the caller counts as a refused session; it never throws or aborts.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <unordered_set>
#include <vector>

#include "common/result.hpp"
#include "config/model.hpp"

namespace svr::policy {

enum class Parity : std::uint8_t { any, even, odd };

// The ports of one range (optionally only even or odd ones) with a FIFO free list: a released
// port goes to the back, so the tuple it identified is not reused while it may still drain.
class PortPool {
public:
    PortPool(config::PortRange range, Parity parity);

    // Error std::errc::resource_unavailable_try_again when every port is in use.
    Result<std::uint16_t> allocate();
    // Marks a port as in use (a session re-adopted after a restart). Error if it is not in the
    // pool or already in use.
    Status reserve(std::uint16_t port);
    // Error if the port is not in the pool or not in use (a double release is a caller bug
    // that must not corrupt the free list).
    Status release(std::uint16_t port);

    bool inPool(std::uint16_t port) const;
    bool inUse(std::uint16_t port) const;
    std::size_t capacity() const { return capacity_; }
    std::size_t available() const { return available_; }
    config::PortRange range() const { return range_; }
    Parity parity() const { return parity_; }

private:
    config::PortRange range_;
    Parity parity_;
    std::size_t capacity_ = 0;
    std::size_t available_ = 0;
    std::vector<bool> inUse_;       // indexed by port - range_.first
    std::deque<std::uint16_t> free_; // may hold stale entries of reserved ports: skipped
};

struct WaypointPorts {
    std::uint16_t local = 0;  // on this router's waypoint
    std::uint16_t remote = 0; // on the peer's waypoint
    friend bool operator==(const WaypointPorts&, const WaypointPorts&) = default;
};

// Ports for the sessions of one peer path (local waypoint ↔ peer waypoint). The sending router
// picks both: an even local port from its own waypoint range and an odd port from the peer's,
// so two routers opening sessions towards each other never pick the same pair (glare). When
// the peer narrowed its range (adjacency port-range) the parity rule is dropped.
//
// A session holds a *pair*: a port may serve many sessions as long as each pair is unique,
// so the default ranges give 24,576 × 24,575 concurrent sessions per peer path. Pairs are
// handed out by a cursor that walks the whole pair space, so a released pair is reused only
// after every other pair was offered (it may still be draining).
class PeerPathPorts {
public:
    PeerPathPorts(config::PortRange localRange, std::optional<config::PortRange> peerRange);

    // Error std::errc::resource_unavailable_try_again when no free pair is found.
    Result<WaypointPorts> allocate();
    // Marks a pair as in use (a session kept across a restart); error if out of the ranges or
    // their parity, or in use.
    Status reserve(WaypointPorts ports);
    // Error if the pair is not in use (nothing changes).
    Status release(WaypointPorts ports);

    bool inUse(WaypointPorts ports) const { return used_.contains(key(ports)); }
    std::uint64_t capacity() const { return std::uint64_t{locals_.size()} * remotes_.size(); }
    std::size_t used() const { return used_.size(); }
    config::PortRange localRange() const { return localRange_; }
    config::PortRange remoteRange() const { return remoteRange_; }
    Parity localParity() const { return localParity_; }
    Parity remoteParity() const { return remoteParity_; }

private:
    static std::uint32_t key(WaypointPorts ports)
    {
        return (std::uint32_t{ports.local} << 16) | ports.remote;
    }
    bool valid(WaypointPorts ports) const;

    config::PortRange localRange_;
    config::PortRange remoteRange_;
    Parity localParity_;
    Parity remoteParity_;
    std::vector<std::uint16_t> locals_;
    std::vector<std::uint16_t> remotes_;
    std::uint64_t cursor_ = 0;
    std::unordered_set<std::uint32_t> used_;
};

// Every peer path of a configuration: one PeerPathPorts per (local waypoint, peer waypoint).
class WaypointPortAllocator {
public:
    explicit WaypointPortAllocator(const config::Config& config);

    Result<WaypointPorts> allocate(const config::IpAddress& localWaypoint,
                                   const config::IpAddress& peerWaypoint);
    Status release(const config::IpAddress& localWaypoint, const config::IpAddress& peerWaypoint,
                   WaypointPorts ports);
    // Marks a pair as in use: sessions kept across a restart or a reload.
    Status reserve(const config::IpAddress& localWaypoint, const config::IpAddress& peerWaypoint,
                   WaypointPorts ports);
    const PeerPathPorts* path(const config::IpAddress& localWaypoint,
                              const config::IpAddress& peerWaypoint) const;

private:
    using PathKey = std::pair<config::IpAddress, config::IpAddress>;
    Result<PeerPathPorts*> find(const config::IpAddress& localWaypoint,
                                const config::IpAddress& peerWaypoint);
    std::map<PathKey, PeerPathPorts> paths_;
};

// Source-NAT ports per translated address (an address of an interface that a source-NAT
// route leaves through), from the interface's nat-ports range.
class NatPortAllocator {
public:
    explicit NatPortAllocator(const config::Config& config);

    Result<std::uint16_t> allocate(const config::IpAddress& natAddress);
    Status release(const config::IpAddress& natAddress, std::uint16_t port);
    const PortPool* pool(const config::IpAddress& natAddress) const;

private:
    std::map<config::IpAddress, PortPool> pools_;
};

} // namespace svr::policy

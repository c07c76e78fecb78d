// Waypoint and source-NAT port allocation. Pure bookkeeping, no I/O. Exhaustion is an error
// value the caller counts as a refused session; it never throws or aborts.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
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
class PeerPathPorts {
public:
    PeerPathPorts(config::PortRange localRange, std::optional<config::PortRange> peerRange);

    Result<WaypointPorts> allocate();
    Status reserve(WaypointPorts ports);
    Status release(WaypointPorts ports);

    const PortPool& local() const { return local_; }
    const PortPool& remote() const { return remote_; }

private:
    PortPool local_;
    PortPool remote_;
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

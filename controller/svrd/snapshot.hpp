// What the event loop publishes for the HTTP thread (http_server.hpp) once a second: an
// immutable copy of the router's counters, interfaces, peers and services. RouterState
// belongs to the loop's thread; the HTTP thread only ever sees these copies, plus the kernel
// maps (thread safe) and requests it hands back to the loop (deleteSession below).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "fastpath/abi.hpp"
#include "svrd/router_state.hpp"

namespace svr::svrd {

struct InterfaceSnapshot {
    std::string name;
    std::uint32_t ifindex = 0;
    bool operUp = false;
    svr_stats stats{}; // the fast path's counters of this interface (summed over CPUs)
};

// One configured adjacency: a peer's waypoint reached through a local interface.
struct PeerPathSnapshot {
    std::string interface;
    std::string neighborhood;
    std::string peerWaypoint;
    std::uint8_t priority = 100;
    bool up = false; // the local interface is attached and operationally up
};

struct PeerSnapshot {
    std::string name;
    std::uint32_t keyGeneration = 0;
    std::vector<PeerPathSnapshot> paths;
};

struct ServiceRouteSnapshot {
    std::string name;
    std::uint8_t priority = 100;
    std::string target; // "via srv0", "via wan0 gateway 203.0.113.254 source-nat", "peer R2"
};

struct ServiceSnapshot {
    std::string name;
    std::string description;
    std::vector<std::string> addresses;  // prefixes as configured
    std::vector<std::string> transports; // "tcp 80,5201", "icmp", empty: everything
    std::vector<ServiceRouteSnapshot> routes;
};

struct HistogramSnapshot {
    std::vector<double> upperBoundsSeconds;
    std::vector<std::uint64_t> cumulativeCounts; // same length as upperBoundsSeconds
    std::uint64_t count = 0;                     // the +Inf bucket
    double sumSeconds = 0;
};

struct Snapshot {
    std::string router;
    std::uint64_t takenNs = 0;                     // CLOCK_MONOTONIC
    std::uint64_t sessionsIndexed = 0;             // sessions svrd installed or adopted
    std::map<std::string, std::uint64_t> counters; // svrd's named counters
    std::vector<InterfaceSnapshot> interfaces;
    std::vector<std::string> tenantNames;  // tenant_id - 1
    std::vector<std::string> serviceNames; // service_id - 1
    std::map<SessionClassCounters::Class, SessionClassCounters::Counts> sessionClasses;
    std::vector<PeerSnapshot> peers;
    std::vector<ServiceSnapshot> services;
    HistogramSnapshot firstPacketLatency;

    // Name of a session table id; "" for 0 or an unknown id.
    std::string tenantOf(std::uint32_t tenantId) const;
    std::string serviceOf(std::uint32_t serviceId) const;
    // The attached interface's name, or "if<N>" (SVR_LOCAL_ZONE: "local").
    std::string interfaceOf(std::uint32_t ifindex) const;
};

// Reads the stats map for each attached interface and its oper state; the rest is copied.
std::shared_ptr<const Snapshot> takeSnapshot(const RouterState& state, const std::string& router,
                                             std::uint64_t nowNs);

// The latest published snapshot; publish() from the loop, latest() from any thread.
class SnapshotBoard {
public:
    void publish(std::shared_ptr<const Snapshot> snapshot);
    std::shared_ptr<const Snapshot> latest() const; // null before the first publish

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Snapshot> latest_;
};

// An operator's delete (DELETE /api/v1/sessions/<id>), run by the loop: both directions
// leave the table and svrd's index, the NAT port is released. A session svrd does not know
// (added with svrctl session add) is deleted from the table by id. Returns entries deleted
// (0: no such session).
Result<std::size_t> deleteSession(RouterState& state, std::uint64_t sessionId);

// IFF_UP and IFF_RUNNING of the device in the calling thread's network namespace.
bool interfaceOperUp(const std::string& name);

} // namespace svr::svrd

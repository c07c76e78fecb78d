// What svrd needs to talk SVR to its peers: per-peer keys, sealer and replay guard, waypoint
// port allocation per peer path, and the signalling state of each session that crosses an SVR
// hop. Built from the configuration; the waypoint ports held by live sessions are carried
// over a reload by reserving them in the new allocator.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "config/model.hpp"
#include "fastpath/address.hpp"
#include "policy/port_allocator.hpp"
#include "protocol/security.hpp"

namespace svr::svrd {

// One SVR hop of a session: the peer at its far end, the peer path and the waypoint ports
// (local: this router's, remote: the peer's).
struct SvrHop {
    std::string peer;
    config::IpAddress localWaypoint;
    config::IpAddress peerWaypoint;
    policy::WaypointPorts ports;
    // Upstream hop (we are its responder): reverse packets still carry reverse metadata, until
    // a forward packet without metadata arrives. Downstream hop (we are its initiator): forward
    // packets still carry forward metadata, until reverse metadata arrives.
    bool signalling = true;
};

// The SVR side of a session: what its metadata says and the hops it crosses.
struct SvrSession {
    protocol::SessionUuid uuid;
    std::string tenant;  // empty: no tenant
    std::string service;
    // The 5-tuple the client sent (forward context); ports in host order.
    fastpath::IpAddress source;
    fastpath::IpAddress destination;
    std::uint16_t sourcePort = 0;
    std::uint16_t destinationPort = 0;
    std::uint8_t proto = 0;
    bool payloadEncrypted = false; // service payload encryption, end to end
    std::string payloadPolicy;     // this router's payload policy (key) for it, at the edges
    std::optional<SvrHop> upstream;   // the peer the session came from
    std::optional<SvrHop> downstream; // the peer it goes to

    // Flags the fast path needs: forward packets are punted while either hop signals (to add
    // metadata, or to see the first forward packet without it), reverse ones while the
    // upstream hop still wants reverse metadata.
    bool forwardPending() const
    {
        return (upstream && upstream->signalling) || (downstream && downstream->signalling);
    }
    bool reversePending() const { return upstream && upstream->signalling; }
};

// Keys, sealer and replay guard of one peer. Not thread-safe (one event loop owns it).
struct PeerCrypto {
    protocol::KeyRing ring;
    protocol::MetadataSealer sealer;
    protocol::ReplayGuard replay;
};

class Fabric {
public:
    // Every configured peer with a key of its configured generation. Errors name the peer.
    static Result<std::unique_ptr<Fabric>> build(const config::Config& config);

    PeerCrypto* peer(std::string_view name);
    // The adjacency on an interface whose peer waypoint is the address (a packet's source).
    const config::Adjacency* adjacencyFrom(std::string_view interface,
                                           const config::IpAddress& peerWaypoint) const;
    // The local waypoint of an interface, if it has one.
    std::optional<config::IpAddress> localWaypoint(std::string_view interface) const;
    policy::WaypointPortAllocator& ports() { return ports_; }
    // The service's end-to-end payload cipher (by payload-policy name), if configured.
    protocol::PayloadCipher* payloadCipher(std::string_view policy);
    const std::string& routerName() const { return routerName_; }
    // Takes over the replay memory of the peers both fabrics know (a reload must not reopen
    // the replay window).
    void inheritReplayGuards(Fabric& previous);

private:
    explicit Fabric(const config::Config& config) : ports_(config) {}

    std::string routerName_;
    std::map<std::string, std::unique_ptr<PeerCrypto>, std::less<>> peers_;
    std::map<std::string, std::unique_ptr<protocol::PayloadCipher>, std::less<>> payloadCiphers_;
    std::map<std::string, config::IpAddress, std::less<>> waypoints_; // by interface
    std::map<std::string, std::vector<config::Adjacency>, std::less<>> adjacencies_; // by interface
    policy::WaypointPortAllocator ports_;
};

// A fresh random (version 4) session UUID.
protocol::SessionUuid newSessionUuid();
std::string formatUuid(const protocol::SessionUuid& uuid);

// Metadata a router adds: forward (initiator → responder, opens the session at the peer) and
// reverse (responder → initiator, acknowledges and stops the forward metadata).
protocol::Metadata forwardMetadata(const SvrSession& session, std::string_view routerName);
protocol::Metadata reverseMetadata(const SvrSession& session, std::string_view routerName);

// The client's 5-tuple from a forward context TLV (IPv4 or IPv6); false without one.
bool takeForwardContext(const protocol::Metadata& metadata, SvrSession& session);

// "drop.metadata.<reason>" counter name of a failed metadata check.
std::string metadataFailureCounter(const Error& error);

} // namespace svr::svrd

// The first-packet pipeline: a frame punted by the fast path becomes a session, or a counted
// drop. parse → tenant/service/access policy/route (policy::PolicyEngine::decide) → NAT
// (destination to the route's target, source to the egress interface address with a port
// from its pool) → next-hop MAC from the kernel neighbour table → both directions installed
// together (same session_id; the reverse leaves through the ingress interface to the MAC the
// first packet came from) → the first packet rewritten and sent out of the egress
// interface's AF_XDP socket. Installing before sending means the reply always finds its
// session.
//
// SVR (docs/architecture.md): a service route to a peer makes this router the session's
// initiator on that hop (waypoint ports, forward metadata until reverse metadata arrives); a
// first packet to a local waypoint port (punt reason WAYPOINT) makes it the responder (cookie,
// HMAC, replay and policy checks, original addresses restored, reverse metadata until a
// forward packet without metadata arrives). A transit router is both. Packets of sessions
// still signalling are punted (SVR_SESSION_F_METADATA_PENDING) or carry the cookie (COOKIE).
//
// Unknown next-hop MAC: the session is held (with its packets, at most kMaxHeldFrames) while
// the kernel resolves a managed neighbour entry, retried from the event loop, and refused
// (counted) after kNeighbourWait. Kernel forwarding stays off: nothing of the session goes
// through the kernel, and bpf_fib_lookup (SVR_SESSION_F_USE_FIB) is not used because it
// reports "forwarding disabled" exactly in that setup.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "fastpath/punt_socket.hpp"
#include "svrd/neighbours.hpp"
#include "svrd/packet.hpp"
#include "svrd/router_state.hpp"

namespace svr::svrd {

inline constexpr std::size_t kMaxHeldFrames = 16;
// Sessions waiting for a next-hop MAC at once; more are refused (counted) so unresolvable
// next hops cannot grow svrd without bound.
inline constexpr std::size_t kMaxHeldSessions = 4096;
inline constexpr std::chrono::seconds kNeighbourWait{3};
// Largest IP packet an SVR hop carries: first packets that would exceed it with metadata are
// dropped (TCP SYNs get their MSS clamped so later segments fit).
inline constexpr std::size_t kPathMtu = 1500;
inline constexpr std::uint64_t kNeighbourCacheNs = 1'000'000'000ULL;

class Pipeline {
public:
    Pipeline(RouterState& state, NeighbourTable& neighbours) : state_(state), neighbours_(neighbours)
    {
    }

    // One punted frame that arrived on the socket of socketIfindex. What it sends is queued
    // on the egress socket: the event loop flushes the sockets after each batch.
    void handle(fastpath::PuntFrame frame, std::uint32_t socketIfindex);
    // Installs held sessions whose next hop resolved; refuses those that waited too long.
    void retryHeld(std::uint64_t nowNs);
    bool holding() const { return !held_.empty(); }
    // Drops every held session (reload, shutdown), releasing their NAT ports.
    void dropHeld(const char* why);

private:
    struct Frame {
        std::vector<std::uint8_t> bytes;
        ParsedPacket packet;
    };
    struct HeldSession {
        fastpath::SessionEntry forward;
        fastpath::SessionEntry reverse;
        SessionRecord record;
        std::uint32_t nextHopIfindex = 0;
        fastpath::IpAddress nextHop;
        std::uint64_t deadlineNs = 0;
        std::vector<Frame> frames;
    };

    void handleFrame(fastpath::PuntFrame& frame, std::uint32_t socketIfindex);
    bool entryInstalled(const svr_session_key& key) const;
    // inbound: set when the first packet came from an SVR peer (metadata verified, stripped).
    void startSession(Frame frame, std::uint32_t ingressIfindex,
                      std::shared_ptr<SvrSession> inbound);
    void acceptFromPeer(Frame frame, std::uint32_t ingressIfindex);
    // An IPv4 packet with DF too big for its session's translation to IPv6: ICMP
    // fragmentation needed back to its sender (SVR_PUNT_XLATE_TOO_BIG).
    void answerTooBig(const Frame& frame, const svr_session_key& key);
    void continueSvrSession(Frame frame, const SessionRecord& record,
                            const svr_session_key& key);
    // Verifies the metadata at the front of the frame's L4 payload with the peer's keys and
    // strips it (the frame is re-parsed). A failure is counted and returns nothing.
    std::optional<protocol::OpenedMetadata> openAndStrip(Frame& frame, PeerCrypto& crypto);
    void install(HeldSession& session, const fastpath::MacAddress& nextHopMac);
    void sendWithSession(const Frame& frame, const svr_session_value& value);
    // Rewrites the frame with the session direction's value and sends it, adding the metadata
    // its SVR hop still signals.
    void emit(const Frame& frame, const svr_session_value& value, const SessionRecord& record,
              bool forwardDirection);
    void syncPendingFlags(const SessionRecord& record);
    void releaseNat(const SessionRecord& record);
    HeldSession* heldByKey(const svr_session_key& key);

    // A resolved MAC is reused for kNeighbourCacheNs instead of asking the kernel per first
    // packet; the kernel keeps the managed entry fresh, so the copy is at most that stale.
    std::optional<fastpath::MacAddress> nextHopMac(std::uint32_t ifindex,
                                                   const fastpath::IpAddress& address,
                                                   std::uint64_t nowNs);
    struct CachedMac {
        fastpath::MacAddress mac{};
        std::uint64_t expiresNs = 0;
    };
    struct NextHopKey {
        std::uint32_t ifindex = 0;
        fastpath::IpAddress address;
        bool operator==(const NextHopKey&) const = default;
    };
    struct NextHopKeyHash {
        std::size_t operator()(const NextHopKey& key) const;
    };

    RouterState& state_;
    NeighbourTable& neighbours_;
    std::vector<HeldSession> held_;
    std::unordered_map<NextHopKey, CachedMac, NextHopKeyHash> macCache_;
};

} // namespace svr::svrd

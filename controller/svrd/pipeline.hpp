// The first-packet pipeline: a frame punted by the fast path becomes a session, or a counted
// drop. parse → tenant/service/access policy/route (policy::PolicyEngine::decide) → NAT
// (destination to the route's target, source to the egress interface address with a port
// from its pool) → next-hop MAC from the kernel neighbour table → both directions installed
// together (same session_id; the reverse leaves through the ingress interface to the MAC the
// first packet came from) → the first packet rewritten and sent out of the egress
// interface's AF_XDP socket. Installing before sending means the reply always finds its
// session.
//
// Unknown next-hop MAC: the session is held (with its packets, at most kMaxHeldFrames) while
// the kernel resolves a managed neighbour entry, retried from the event loop, and refused
// (counted) after kNeighbourWait. Kernel forwarding stays off: nothing of the session goes
// through the kernel, and bpf_fib_lookup (SVR_SESSION_F_USE_FIB) is not used because it
// reports "forwarding disabled" exactly in that setup.
#pragma once

#include <chrono>
#include <cstdint>
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
inline constexpr std::chrono::seconds kNeighbourWait{3};
inline constexpr std::uint64_t kNeighbourCacheNs = 1'000'000'000ULL;

class Pipeline {
public:
    Pipeline(RouterState& state, NeighbourTable& neighbours) : state_(state), neighbours_(neighbours)
    {
    }

    // One punted frame that arrived on the socket of socketIfindex.
    void handle(const fastpath::PuntFrame& frame, std::uint32_t socketIfindex);
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

    void handleFrame(const fastpath::PuntFrame& frame, std::uint32_t socketIfindex);
    void startSession(Frame frame, std::uint32_t ingressIfindex);
    void install(HeldSession& session, const fastpath::MacAddress& nextHopMac);
    void sendWithSession(const Frame& frame, const svr_session_value& value);
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

    RouterState& state_;
    NeighbourTable& neighbours_;
    std::vector<HeldSession> held_;
    std::unordered_map<std::string, CachedMac> macCache_;
};

} // namespace svr::svrd

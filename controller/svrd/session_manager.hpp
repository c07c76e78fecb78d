// svrd's view of the sessions it installed: both directions of each session (by id), the
// source-NAT port each holds, and the aging rules. The kernel's session table stays the
// source of truth: after a restart the index is rebuilt from it (adopt()), and aging reads
// the data path's last_seen_ns and tcp_state from it in batches.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/model.hpp"
#include "fastpath/session.hpp"
#include "policy/port_allocator.hpp"

namespace svr::svrd {

struct NatLease {
    config::IpAddress address;
    std::uint16_t port = 0; // host order; the ICMP identifier for echo sessions
};

// Waypoint ports this router allocated for a session it sends to an SVR peer.
struct WaypointLease {
    config::IpAddress localWaypoint;
    config::IpAddress peerWaypoint;
    policy::WaypointPorts ports;
};

struct SvrSession; // svrd/fabric.hpp

struct SessionRecord {
    std::uint64_t id = 0;
    // RFC 4122 session UUID (logs, the REST API): new for a session opened here, the SVR
    // metadata's for one from a peer; all zero for a session re-adopted after a restart.
    std::array<std::uint8_t, 16> uuid{};
    svr_session_key forward{};
    svr_session_key reverse{};
    std::optional<NatLease> nat;
    std::optional<WaypointLease> waypoint;
    // Set for a session that crosses an SVR hop and svrd created (not re-adopted): its
    // metadata and signalling state, shared by every copy of the record.
    std::shared_ptr<SvrSession> svr;
    std::uint32_t notEstablishedTimeoutSeconds = 10; // TCP until the handshake completed
};

// Quick expiry after a TCP RST, or a FIN seen in both directions.
inline constexpr std::chrono::seconds kTcpClosingTimeout{10};

enum class ExpiryCause : std::uint8_t { idle, tcpClosed };

struct ExpiredSession {
    std::uint64_t id = 0;
    ExpiryCause cause = ExpiryCause::idle;
    std::vector<svr_session_key> keys; // every entry of the session found in the table
};

// The aging rule, a pure function of one table snapshot: entries grouped by session_id; a
// session expires when now - (latest last_seen_ns of its entries) reaches its timeout:
//  - TCP with an RST, or a FIN in both directions: kTcpClosingTimeout;
//  - TCP with SVR_TCP_SEEN_ACK in both directions: idle_timeout_s of the entries;
//  - TCP otherwise: notEstablishedTimeouts[id] (10 s when absent);
//  - UDP and ICMP: idle_timeout_s.
// "Both directions" means every entry of the id, so half a pair (a crash mid-install) ages
// like a session. A timeout of 0 (a static session added with svrctl) never idles out.
std::vector<ExpiredSession> findExpired(const std::vector<fastpath::SessionEntry>& entries,
                                        std::uint64_t nowNs,
                                        const std::unordered_map<std::uint64_t, std::uint32_t>&
                                            notEstablishedTimeouts);

// When one session expires by the aging rule above, from its entries (all of one
// session_id): the deadline (latest last_seen_ns + its timeout) and the cause it would have.
// Nothing for a static session (timeout 0). tcpOpen: a TCP session without RST or FIN in
// both directions, whose timeout may still shrink to kTcpClosingTimeout.
struct SessionAge {
    std::uint64_t deadlineNs = 0;
    ExpiryCause cause = ExpiryCause::idle;
    bool tcpOpen = false;
};
std::optional<SessionAge> sessionAge(const std::vector<fastpath::SessionEntry>& group,
                                     std::uint32_t notEstablishedTimeoutSeconds);

// Deadline-driven aging: when each session's entries are next read. A session is checked
// at its deadline (two lookups), not on every full-table scan; a TCP session not yet closed
// is also checked every kTcpClosingTimeout, so a FIN or RST seen by the fast path still
// ends it kTcpClosingTimeout after its last packet. Several checks of one id are harmless.
class AgingSchedule {
public:
    void schedule(std::uint64_t id, std::uint64_t atNs) { due_.push({atNs, id}); }
    // Room for this many scheduled checks without growing (growth copies every one).
    void reserve(std::size_t checks)
    {
        std::vector<Check> storage;
        storage.reserve(checks);
        while (!due_.empty()) {
            storage.push_back(due_.top());
            due_.pop();
        }
        due_ = decltype(due_)(std::greater<>{}, std::move(storage));
    }
    // Removes and returns the ids whose check is due at nowNs, at most `limit` (the earliest).
    std::vector<std::uint64_t> takeDue(std::uint64_t nowNs,
                                       std::size_t limit = static_cast<std::size_t>(-1))
    {
        std::vector<std::uint64_t> ids;
        while (!due_.empty() && due_.top().first <= nowNs && ids.size() < limit) {
            ids.push_back(due_.top().second);
            due_.pop();
        }
        return ids;
    }
    std::size_t size() const { return due_.size(); }

private:
    using Check = std::pair<std::uint64_t, std::uint64_t>; // deadline ns, session id
    std::priority_queue<Check, std::vector<Check>, std::greater<>> due_;
};

// Source-NAT ports per translated address (policy::PortPool per address, the interface's
// nat-ports range), with reserve() for sessions re-adopted after a restart.
class NatPools {
public:
    void addAddress(const config::IpAddress& address, config::PortRange range);
    bool hasAddress(const config::IpAddress& address) const;
    Result<std::uint16_t> allocate(const config::IpAddress& address);
    Status reserve(const config::IpAddress& address, std::uint16_t port);
    Status release(const config::IpAddress& address, std::uint16_t port);
    const policy::PortPool* pool(const config::IpAddress& address) const;

private:
    std::map<config::IpAddress, policy::PortPool> pools_;
};

// The in-memory index: sessions by id and by key (both directions).
class SessionIndex {
public:
    void add(const SessionRecord& record);
    // Removes the session; returns it (for its NAT lease) if it was known.
    std::optional<SessionRecord> remove(std::uint64_t id);
    const SessionRecord* find(std::uint64_t id) const;
    const SessionRecord* findByKey(const svr_session_key& key) const;
    std::size_t size() const { return sessions_.size(); }
    // Buckets for this many sessions up front: a rehash relinks every node, milliseconds at
    // ten thousand sessions, during which no first packet is handled.
    void reserve(std::size_t sessions)
    {
        sessions_.reserve(sessions);
        idByKey_.reserve(2 * sessions);
    }
    const std::unordered_map<std::uint64_t, SessionRecord>& sessions() const { return sessions_; }
    std::unordered_map<std::uint64_t, std::uint32_t> notEstablishedTimeouts() const;
    // The highest id of svrd's own range (hand-installed sessions sit above it); 0 if none.
    std::uint64_t highestOwnId() const;

private:
    std::unordered_map<std::uint64_t, SessionRecord> sessions_;
    // Hashed on the key's bytes: looked up twice per punted frame, once per session added.
    struct KeyHash {
        std::size_t operator()(const svr_session_key& key) const;
    };
    struct KeyEqual {
        bool operator()(const svr_session_key& a, const svr_session_key& b) const;
    };
    std::unordered_map<svr_session_key, std::uint64_t, KeyHash, KeyEqual> idByKey_;
};

std::string keyBytes(const svr_session_key& key);
config::IpAddress toConfigAddress(std::uint8_t family, const std::uint8_t* bytes);
fastpath::IpAddress toFastpathAddress(const config::IpAddress& address);
config::IpAddress toConfigAddress(const fastpath::IpAddress& address);

// Groups a table snapshot into pairs (entries sharing a session_id), for adoption.
std::map<std::uint64_t, std::vector<fastpath::SessionEntry>>
groupBySession(const std::vector<fastpath::SessionEntry>& entries);

} // namespace svr::svrd

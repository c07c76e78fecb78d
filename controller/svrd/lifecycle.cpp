#include "svrd/lifecycle.hpp"

#include <netinet/in.h>

#include <unordered_map>
#include <unordered_set>

#include "fastpath/maps.hpp"
#include "fastpath/netdev.hpp"
#include "fastpath/session.hpp"
#include "svrd/log.hpp"

namespace svr::svrd {
namespace {

// Deletes expired sessions (both directions in one batch), counts and logs them; entries:
// their values, for the per-class counters.
Result<std::size_t> finishExpired(RouterState& state,
                                  const std::vector<fastpath::SessionEntry>& entries,
                                  const std::vector<ExpiredSession>& expired);

std::optional<config::Protocol> protocolOf(std::uint8_t proto)
{
    switch (proto) {
    case IPPROTO_TCP: return config::Protocol::tcp;
    case IPPROTO_UDP: return config::Protocol::udp;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: return config::Protocol::icmp;
    default: return std::nullopt;
    }
}

// A session key addressed to one of our waypoints: the session came from an SVR peer.
bool arrivedFromPeer(const RouterState& state, const svr_session_key& key)
{
    return state.isLocalWaypoint(toConfigAddress(key.family, key.dst_addr));
}

policy::Decision decideFor(const RouterState& state, const svr_session_key& key)
{
    policy::Decision refused;
    refused.drop = policy::DropReason::noService;
    const auto protocol = protocolOf(key.proto);
    const auto port = state.ports.find(key.ingress_ifindex);
    if (!protocol || port == state.ports.end()) {
        return refused;
    }
    const config::Family family = toConfigAddress(key.family, key.src_addr).family;
    const auto routeUsable = [&state, family](const config::ServiceRoute& route) {
        return state.routeUsable(route, family);
    };
    return state.policy->decide(
        policy::FirstPacket{.ingressInterface = port->second.name,
                            .source = toConfigAddress(key.family, key.src_addr),
                            .destination = toConfigAddress(key.family, key.dst_addr),
                            .protocol = *protocol,
                            .destinationPort = ntohs(key.dst_port),
                            .tenantName = std::nullopt},
        routeUsable);
}

} // namespace

Status eraseSessions(RouterState& state, const std::vector<std::uint64_t>& ids)
{
    std::vector<svr_session_key> keys;
    for (const std::uint64_t id : ids) {
        if (const SessionRecord* record = state.sessions.find(id)) {
            keys.push_back(record->forward);
            keys.push_back(record->reverse);
        }
    }
    if (state.flowExport && !keys.empty()) { // final counters, read just before the removal
        std::vector<fastpath::SessionEntry> entries;
        for (const auto& key : keys) {
            auto value = fastpath::SessionTable(state.maps.sessions).lookup(key);
            if (value && value->has_value()) {
                entries.push_back(fastpath::SessionEntry{key, **value, std::nullopt});
            }
        }
        state.flowExport->removed(*state.config, state.sessions, entries);
    }
    if (!keys.empty()) {
        auto erased = fastpath::SessionTable(state.maps.sessions).eraseBatch(keys);
        if (!erased) {
            return erased.error();
        }
    }
    for (const std::uint64_t id : ids) {
        if (auto record = state.sessions.remove(id)) {
            state.releaseLeases(*record);
        }
    }
    return {};
}

namespace {

// A forward direction translating to one of our waypoints holds waypoint ports we allocated.
void adoptWaypointLease(RouterState& state, SessionRecord& record,
                        const svr_session_value& forward)
{
    const std::uint8_t family = fastpath::rewrittenFamily(record.forward, forward);
    const config::IpAddress newSource = toConfigAddress(family, forward.new_src_addr);
    if (!state.fabric || !(forward.flags & SVR_SESSION_F_REWRITE_SRC) ||
        !state.isLocalWaypoint(newSource)) {
        return;
    }
    WaypointLease lease{newSource, toConfigAddress(family, forward.new_dst_addr),
                        {ntohs(forward.new_src_port), ntohs(forward.new_dst_port)}};
    if (Status reserved =
            state.fabric->ports().reserve(lease.localWaypoint, lease.peerWaypoint, lease.ports);
        !reserved) {
        logInfo("session {}: waypoint ports {}/{} not reserved: {}", record.id,
                lease.ports.local, lease.ports.remote, reserved.error().describe());
        return;
    }
    record.waypoint = lease;
}

} // namespace

bool sessionPermitted(const RouterState& state, const svr_session_key& forward)
{
    return decideFor(state, forward).permitted();
}

bool sessionPermitted(const RouterState& state, const SessionRecord& record)
{
    if (record.svr && record.svr->upstream) {
        // From a peer: the original tuple and the tenant its metadata named.
        const SvrSession& svr = *record.svr;
        const auto protocol = protocolOf(svr.proto);
        const auto port = state.ports.find(record.forward.ingress_ifindex);
        if (!protocol || port == state.ports.end()) {
            return false;
        }
        const config::IpAddress source = toConfigAddress(svr.source);
        return state.policy
            ->decide(policy::FirstPacket{.ingressInterface = port->second.name,
                                         .source = source,
                                         .destination = toConfigAddress(svr.destination),
                                         .protocol = *protocol,
                                         .destinationPort = svr.destinationPort,
                                         .tenantName = svr.tenant},
                     [&state, &source](const config::ServiceRoute& route) {
                         return state.routeUsable(route, source.family);
                     })
            .permitted();
    }
    if (!record.svr && arrivedFromPeer(state, record.forward)) {
        return true; // re-adopted from a peer: its metadata is gone, nothing to judge it by
    }
    return sessionPermitted(state, record.forward);
}

Result<std::size_t> adoptSessions(RouterState& state)
{
    auto entries = fastpath::SessionTable(state.maps.sessions).list();
    if (!entries) {
        return entries.error();
    }
    std::size_t adopted = 0;
    for (const auto& [id, group] : groupBySession(*entries)) {
        if (group.size() != 2) {
            continue; // not a pair svrd installed; aging still applies to it
        }
        SessionRecord record;
        record.id = id;
        std::size_t forwardIndex = 0;
        bool decided = false;
        for (std::size_t i = 0; i < 2 && !decided; ++i) {
            const svr_session_value& value = group[i].value;
            const config::IpAddress newSource = toConfigAddress(
                fastpath::rewrittenFamily(group[i].key, value), value.new_src_addr);
            if ((value.flags & SVR_SESSION_F_REWRITE_SRC) && state.nat.hasAddress(newSource)) {
                forwardIndex = i;
                record.nat = NatLease{newSource, ntohs(value.new_src_port)};
                decided = true;
            }
        }
        for (std::size_t i = 0; i < 2 && !decided; ++i) {
            const policy::Decision decision = decideFor(state, group[i].key);
            if (decision.permitted()) {
                forwardIndex = i;
                decided = true;
            }
        }
        for (std::size_t i = 0; i < 2 && !decided; ++i) {
            if (arrivedFromPeer(state, group[i].key) &&
                !state.isLocalWaypoint(
                    toConfigAddress(fastpath::rewrittenFamily(group[i].key, group[i].value),
                                    group[i].value.new_src_addr))) {
                forwardIndex = i; // from a peer to a server (not our reverse of a peer hop)
                decided = true;
            }
        }
        record.forward = group[forwardIndex].key;
        record.reverse = group[1 - forwardIndex].key;
        adoptWaypointLease(state, record, group[forwardIndex].value);
        for (const auto& entry : group) {
            if (entry.value.flags & SVR_SESSION_F_METADATA_PENDING) {
                // The signalling state died with the previous svrd: the session continues
                // without metadata (the peer re-signals if it lost the session).
                svr_session_value value = entry.value;
                value.flags = static_cast<std::uint16_t>(value.flags &
                                                         ~SVR_SESSION_F_METADATA_PENDING);
                (void)fastpath::SessionTable(state.maps.sessions)
                    .insert(entry.key, value, fastpath::InsertMode::CreateOrReplace);
            }
        }
        const policy::Decision decision = decideFor(state, record.forward);
        if (decision.permitted()) {
            record.notEstablishedTimeoutSeconds = static_cast<std::uint32_t>(
                policy::idleTimeout(*decision.service, config::Protocol::tcp, false).count());
        }
        if (record.nat) {
            if (Status reserved = state.nat.reserve(record.nat->address, record.nat->port);
                !reserved) {
                logInfo("session {}: NAT port {} of {} not reserved: {}", id, record.nat->port,
                        record.nat->address.toString(), reserved.error().describe());
                record.nat.reset();
            }
        }
        state.sessions.add(record);
        state.aging.schedule(record.id, 0); // checked on the first tick
        ++adopted;
    }
    state.nextSessionId = std::max(state.nextSessionId, state.sessions.highestOwnId() + 1);
    state.counters.add("sessions.adopted", adopted);
    return adopted;
}

Result<std::size_t> expireSessions(RouterState& state, std::uint64_t nowNs)
{
    fastpath::SessionTable table(state.maps.sessions);
    auto entries = table.list();
    if (!entries) {
        return entries.error();
    }
    // Sessions svrd knows whose entries are all gone (deleted behind its back): forget them and
    // give their ports back.
    std::unordered_set<std::uint64_t> present;
    for (const auto& entry : *entries) {
        present.insert(entry.value.session_id);
    }
    std::vector<std::uint64_t> vanished;
    for (const auto& [id, record] : state.sessions.sessions()) {
        if (!present.contains(id)) {
            vanished.push_back(id);
        }
    }
    for (const std::uint64_t id : vanished) {
        if (auto record = state.sessions.remove(id)) {
            state.releaseLeases(*record);
        }
    }
    state.counters.add("sessions.stale-removed", vanished.size());
    const auto expired = findExpired(*entries, nowNs, state.sessions.notEstablishedTimeouts());
    if (state.flowExport) { // before the expired sessions leave the index
        state.flowExport->scanned(*state.config, state.sessions, *entries, expired, nowNs);
    }
    return finishExpired(state, *entries, expired);
}

namespace {

constexpr std::uint64_t kNsPerSecond = 1'000'000'000ULL;
constexpr std::uint64_t kAgingRetryNs = kNsPerSecond; // after a failed lookup

} // namespace

void scheduleFirstAgingCheck(RouterState& state, const SessionRecord& record,
                             std::uint32_t idleTimeoutSeconds, std::uint64_t nowNs)
{
    std::uint64_t seconds = idleTimeoutSeconds;
    if (record.forward.proto == IPPROTO_TCP) {
        seconds = std::min<std::uint64_t>(record.notEstablishedTimeoutSeconds,
                                          static_cast<std::uint64_t>(kTcpClosingTimeout.count()));
    }
    if (seconds == 0) {
        // Never idles out; still checked now and then, so a vanished one is forgotten.
        seconds = static_cast<std::uint64_t>(kTcpClosingTimeout.count());
    }
    state.aging.schedule(record.id, nowNs + seconds * kNsPerSecond);
}

Result<std::size_t> ageDueSessions(RouterState& state, std::uint64_t nowNs, std::size_t maxChecks)
{
    if (state.flowExport) {
        // With IPFIX the full scan runs every tick and ends sessions with their final records;
        // checks here would race it. Drained, so the schedule does not grow (after a reload
        // that drops IPFIX those sessions age by the 30 s full scan).
        (void)state.aging.takeDue(nowNs, maxChecks);
        return std::size_t{0};
    }
    fastpath::SessionTable table(state.maps.sessions);
    std::vector<fastpath::SessionEntry> expiredEntries;
    std::vector<ExpiredSession> expired;
    std::size_t vanished = 0;
    for (const std::uint64_t id : state.aging.takeDue(nowNs, maxChecks)) {
        const SessionRecord* record = state.sessions.find(id);
        if (record == nullptr) {
            continue; // already gone (expired by a scan, deleted, refused by policy)
        }
        std::vector<fastpath::SessionEntry> group;
        bool lookupFailed = false;
        for (const svr_session_key* key : {&record->forward, &record->reverse}) {
            auto value = table.lookup(*key);
            if (!value) {
                lookupFailed = true;
            } else if (value->has_value()) {
                group.push_back(fastpath::SessionEntry{*key, **value, std::nullopt});
            }
        }
        if (lookupFailed) {
            state.aging.schedule(id, nowNs + kAgingRetryNs);
            continue;
        }
        if (group.empty()) { // deleted behind svrd's back: forget it, give its ports back
            if (auto removed = state.sessions.remove(id)) {
                state.releaseLeases(*removed);
            }
            ++vanished;
            continue;
        }
        const auto age = sessionAge(group, record->notEstablishedTimeoutSeconds);
        const std::uint64_t closingNs =
            static_cast<std::uint64_t>(kTcpClosingTimeout.count()) * kNsPerSecond;
        if (!age) {
            state.aging.schedule(id, nowNs + closingNs); // static: only to notice it vanish
            continue;
        }
        if (nowNs >= age->deadlineNs) {
            ExpiredSession session{.id = id, .cause = age->cause, .keys = {}};
            for (const auto& entry : group) {
                session.keys.push_back(entry.key);
                expiredEntries.push_back(entry);
            }
            expired.push_back(std::move(session));
            continue;
        }
        state.aging.schedule(id, age->tcpOpen ? std::min(age->deadlineNs, nowNs + closingNs)
                                              : age->deadlineNs);
    }
    state.counters.add("sessions.stale-removed", vanished);
    return finishExpired(state, expiredEntries, expired);
}

namespace {

Result<std::size_t> finishExpired(RouterState& state,
                                  const std::vector<fastpath::SessionEntry>& entries,
                                  const std::vector<ExpiredSession>& expired)
{
    if (expired.empty()) {
        return std::size_t{0};
    }
    std::vector<svr_session_key> keys;
    for (const auto& session : expired) {
        keys.insert(keys.end(), session.keys.begin(), session.keys.end());
    }
    auto erased = fastpath::SessionTable(state.maps.sessions).eraseBatch(keys);
    if (!erased) {
        return erased.error();
    }
    std::unordered_map<std::uint64_t, const svr_session_value*> valueOf; // for the class counters
    for (const auto& entry : entries) {
        valueOf.emplace(entry.value.session_id, &entry.value);
    }
    for (const auto& session : expired) {
        if (const auto found = valueOf.find(session.id); found != valueOf.end()) {
            state.sessionClasses.expired(*state.config, *found->second);
        }
        std::string uuid;
        if (auto record = state.sessions.remove(session.id)) {
            state.releaseLeases(*record);
            if (record->uuid != decltype(record->uuid){}) {
                uuid = formatUuid(protocol::SessionUuid{record->uuid});
            }
        }
        const char* cause = session.cause == ExpiryCause::tcpClosed ? "tcp-closed" : "idle";
        state.counters.add(std::string("sessions.expired.") + cause);
        logEvent("session.expired", {{"session", session.id}, {"uuid", uuid}, {"cause", cause}});
    }
    state.counters.add("sessions.expired", expired.size());
    return expired.size();
}

} // namespace

Result<std::size_t> removeUnpermittedSessions(RouterState& state)
{
    std::vector<std::uint64_t> refused;
    for (const auto& [id, record] : state.sessions.sessions()) {
        if (!sessionPermitted(state, record)) {
            refused.push_back(id);
        }
    }
    if (Status erased = eraseSessions(state, refused); !erased) {
        return erased.error();
    }
    for (const std::uint64_t id : refused) {
        logEvent("session.removed", {{"session", id}, {"cause", "no-longer-permitted"}});
    }
    state.counters.add("sessions.removed-by-policy", refused.size());
    return refused.size();
}

void recordForwarded(RouterState& state, const svr_session_key& key, std::size_t frameBytes,
                     std::uint8_t tcpFlags)
{
    fastpath::SessionTable table(state.maps.sessions);
    auto value = table.lookup(key);
    if (!value || !value->has_value()) {
        return;
    }
    svr_session_value updated = **value;
    updated.packets += 1;
    updated.bytes += frameBytes;
    updated.last_seen_ns = fastpath::monotonicNowNs();
    if (key.proto == IPPROTO_TCP) {
        constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;
        if (tcpFlags & kSyn) {
            updated.tcp_state |= SVR_TCP_SEEN_SYN;
        } else if (tcpFlags & kAck) {
            updated.tcp_state |= SVR_TCP_SEEN_ACK;
        }
        if (tcpFlags & kFin) {
            updated.tcp_state |= SVR_TCP_SEEN_FIN;
        }
        if (tcpFlags & kRst) {
            updated.tcp_state |= SVR_TCP_SEEN_RST;
        }
    }
    if (Status written = table.insert(key, updated, fastpath::InsertMode::CreateOrReplace);
        !written) {
        state.counters.add("session-update-failed");
    }
}

} // namespace svr::svrd

#include "svrd/lifecycle.hpp"

#include <netinet/in.h>

#include "fastpath/maps.hpp"
#include "fastpath/netdev.hpp"
#include "svrd/log.hpp"

namespace svr::svrd {
namespace {

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

policy::Decision decideFor(const RouterState& state, const svr_session_key& key)
{
    policy::Decision refused;
    refused.drop = policy::DropReason::noService;
    const auto protocol = protocolOf(key.proto);
    const auto port = state.ports.find(key.ingress_ifindex);
    if (!protocol || port == state.ports.end()) {
        return refused;
    }
    const auto routeUsable = [&state](const config::ServiceRoute& route) {
        const auto* nextHop = std::get_if<config::NextHop>(&route.target);
        return nextHop != nullptr && state.portByName(nextHop->interface) != nullptr;
    };
    return state.policy->decide(
        policy::FirstPacket{.ingressInterface = port->second.name,
                            .source = toConfigAddress(key.family, key.src_addr),
                            .destination = toConfigAddress(key.family, key.dst_addr),
                            .protocol = *protocol,
                            .destinationPort = ntohs(key.dst_port)},
        routeUsable);
}

Status eraseSessions(RouterState& state, const std::vector<std::uint64_t>& ids)
{
    std::vector<svr_session_key> keys;
    for (const std::uint64_t id : ids) {
        if (const SessionRecord* record = state.sessions.find(id)) {
            keys.push_back(record->forward);
            keys.push_back(record->reverse);
        }
    }
    if (!keys.empty()) {
        auto erased = fastpath::SessionTable(state.maps.sessions).eraseBatch(keys);
        if (!erased) {
            return erased.error();
        }
    }
    for (const std::uint64_t id : ids) {
        if (auto record = state.sessions.remove(id); record && record->nat) {
            (void)state.nat.release(record->nat->address, record->nat->port);
        }
    }
    return {};
}

} // namespace

bool sessionPermitted(const RouterState& state, const svr_session_key& forward)
{
    return decideFor(state, forward).permitted();
}

Result<std::size_t> adoptSessions(RouterState& state)
{
    auto entries = fastpath::SessionTable(state.maps.sessions).listBatch();
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
            const config::IpAddress newSource =
                toConfigAddress(group[i].key.family, value.new_src_addr);
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
        record.forward = group[forwardIndex].key;
        record.reverse = group[1 - forwardIndex].key;
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
        ++adopted;
    }
    state.nextSessionId = std::max(state.nextSessionId, state.sessions.maxId() + 1);
    state.counters.add("sessions.adopted", adopted);
    return adopted;
}

Result<std::size_t> expireSessions(RouterState& state, std::uint64_t nowNs)
{
    fastpath::SessionTable table(state.maps.sessions);
    auto entries = table.listBatch();
    if (!entries) {
        return entries.error();
    }
    const auto expired = findExpired(*entries, nowNs, state.sessions.notEstablishedTimeouts());
    if (expired.empty()) {
        return std::size_t{0};
    }
    std::vector<svr_session_key> keys;
    for (const auto& session : expired) {
        keys.insert(keys.end(), session.keys.begin(), session.keys.end());
    }
    auto erased = table.eraseBatch(keys);
    if (!erased) {
        return erased.error();
    }
    for (const auto& session : expired) {
        if (auto record = state.sessions.remove(session.id); record && record->nat) {
            (void)state.nat.release(record->nat->address, record->nat->port);
        }
        const char* cause = session.cause == ExpiryCause::tcpClosed ? "tcp-closed" : "idle";
        state.counters.add(std::string("sessions.expired.") + cause);
        logInfo("session {} expired ({})", session.id, cause);
    }
    state.counters.add("sessions.expired", expired.size());
    return expired.size();
}

Result<std::size_t> removeUnpermittedSessions(RouterState& state)
{
    std::vector<std::uint64_t> refused;
    for (const auto& [id, record] : state.sessions.sessions()) {
        if (!sessionPermitted(state, record.forward)) {
            refused.push_back(id);
        }
    }
    if (Status erased = eraseSessions(state, refused); !erased) {
        return erased.error();
    }
    for (const std::uint64_t id : refused) {
        logInfo("session {} removed: no longer permitted", id);
    }
    state.counters.add("sessions.removed-by-policy", refused.size());
    return refused.size();
}

} // namespace svr::svrd

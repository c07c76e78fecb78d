#include "svrd/pipeline.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "fastpath/maps.hpp"
#include "svrd/log.hpp"

namespace svr::svrd {
namespace {

std::optional<config::Protocol> policyProtocol(std::uint8_t proto)
{
    switch (proto) {
    case IPPROTO_TCP: return config::Protocol::tcp;
    case IPPROTO_UDP: return config::Protocol::udp;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: return config::Protocol::icmp;
    default: return std::nullopt;
    }
}

template <typename T>
std::uint32_t idOf(const std::vector<T>& items, const T* item)
{
    if (item == nullptr || items.empty()) {
        return 0;
    }
    return static_cast<std::uint32_t>(item - items.data()) + 1; // 0: none
}

std::string puntReasonName(std::uint16_t reason)
{
    switch (reason) {
    case SVR_PUNT_MISS: return "miss";
    case SVR_PUNT_COOKIE: return "cookie";
    case SVR_PUNT_METADATA_PENDING: return "metadata-pending";
    case SVR_PUNT_SESSION_ACTION: return "session-action";
    case SVR_PUNT_FRAGMENT: return "fragment";
    case SVR_PUNT_WAYPOINT: return "waypoint";
    case SVR_PUNT_ICMP_ERROR: return "icmp-error";
    default: return "unknown";
    }
}

} // namespace

Pipeline::HeldSession* Pipeline::heldByKey(const svr_session_key& key)
{
    for (auto& session : held_) {
        if (std::memcmp(&session.forward.key, &key, sizeof(key)) == 0) {
            return &session;
        }
    }
    return nullptr;
}

std::optional<fastpath::MacAddress> Pipeline::nextHopMac(std::uint32_t ifindex,
                                                         const fastpath::IpAddress& address,
                                                         std::uint64_t nowNs)
{
    std::string cacheKey(reinterpret_cast<const char*>(&ifindex), sizeof(ifindex));
    cacheKey.append(reinterpret_cast<const char*>(address.bytes.data()), address.bytes.size());
    if (const auto cached = macCache_.find(cacheKey);
        cached != macCache_.end() && cached->second.expiresNs > nowNs) {
        return cached->second.mac;
    }
    auto mac = neighbours_.lookup(ifindex, address);
    if (!mac) {
        logInfo("neighbour lookup of {}: {}", fastpath::formatIpAddress(address),
                mac.error().describe());
        return std::nullopt;
    }
    if (!mac->has_value()) {
        return std::nullopt;
    }
    if (macCache_.size() > 65536) {
        macCache_.clear(); // bounded: many next hops only cost lookups
    }
    macCache_[cacheKey] = CachedMac{**mac, nowNs + kNeighbourCacheNs};
    return **mac;
}

void Pipeline::handle(const fastpath::PuntFrame& punted, std::uint32_t socketIfindex)
{
    const std::uint64_t startNs = fastpath::monotonicNowNs();
    handleFrame(punted, socketIfindex);
    state_.firstPacketLatency.add(fastpath::monotonicNowNs() - startNs);
}

void Pipeline::handleFrame(const fastpath::PuntFrame& punted, std::uint32_t socketIfindex)
{
    Counters& counters = state_.counters;
    counters.add("punt.received");
    // The socket's interface is the truth: meta naming another one is stale or forged.
    if (punted.hasMeta && punted.meta.ingress_ifindex != socketIfindex) {
        counters.add("punt.meta-ifindex-mismatch");
    }
    const std::uint32_t ingressIfindex = socketIfindex;
    const std::uint16_t reason =
        punted.hasMeta ? punted.meta.reason : static_cast<std::uint16_t>(SVR_PUNT_MISS);
    if (reason != SVR_PUNT_MISS && reason != SVR_PUNT_SESSION_ACTION) {
        // Waypoint, cookie and fragment handling belong to the SVR peer issue.
        counters.add("drop.punt-reason." + puntReasonName(reason));
        return;
    }
    ParseOutcome parsed = parseFrame(punted.data);
    if (!parsed.packet) {
        counters.add(std::string("drop.parse.") + std::string(parseFailureName(parsed.failure)));
        return;
    }
    Frame frame{punted.data, *parsed.packet};
    const svr_session_key key = sessionKey(frame.packet, ingressIfindex);

    if (const SessionRecord* existing = state_.sessions.findByKey(key)) {
        // Punted before the session was visible to the fast path: send it like the session.
        auto value = fastpath::SessionTable(state_.maps.sessions).lookup(key);
        if (value && value->has_value() && (*value)->action == SVR_ACTION_FORWARD &&
            frame.packet.ttl > 1) {
            counters.add("punt.existing-session");
            sendWithSession(frame, **value);
        } else {
            counters.add("drop.existing-session-unusable");
        }
        (void)existing;
        return;
    }
    if (HeldSession* held = heldByKey(key)) {
        if (held->frames.size() < kMaxHeldFrames) {
            held->frames.push_back(std::move(frame));
        } else {
            counters.add("drop.held-queue-full");
        }
        return;
    }
    startSession(std::move(frame), ingressIfindex);
}

void Pipeline::startSession(Frame frame, std::uint32_t ingressIfindex)
{
    Counters& counters = state_.counters;
    const ParsedPacket& packet = frame.packet;
    if (packet.ttl <= 1) {
        counters.add("drop.ttl-expired");
        return;
    }
    if (packet.isIcmp() && !packet.isEchoRequest()) {
        counters.add("drop.icmp-not-echo-request");
        return;
    }
    if (packet.proto == IPPROTO_TCP && !packet.isTcpSyn()) {
        counters.add("drop.tcp-not-syn");
        return;
    }
    const Port* ingress = state_.portByIfindex(ingressIfindex);
    if (ingress == nullptr) {
        counters.add("drop.unknown-interface");
        return;
    }
    const auto protocol = policyProtocol(packet.proto);
    if (!protocol) {
        counters.add("drop.parse.unsupported-protocol");
        return;
    }
    const config::IpAddress source = toConfigAddress(packet.source);
    const config::IpAddress destination = toConfigAddress(packet.destination);
    const auto routeUsable = [this](const config::ServiceRoute& route) {
        const auto* nextHop = std::get_if<config::NextHop>(&route.target);
        return nextHop != nullptr && state_.portByName(nextHop->interface) != nullptr;
    };
    const policy::Decision decision = state_.policy->decide(
        policy::FirstPacket{.ingressInterface = ingress->name,
                            .source = source,
                            .destination = destination,
                            .protocol = *protocol,
                            .destinationPort = packet.destinationPort},
        routeUsable);
    if (!decision.permitted()) {
        counters.add(std::string("drop.policy.") +
                     std::string(policy::dropReasonName(*decision.drop)));
        return;
    }
    const auto& nextHopConfig = std::get<config::NextHop>(decision.route->target);
    const Port* egress = state_.portByName(nextHopConfig.interface);
    const config::Family family = source.family;
    if ((nextHopConfig.targetAddress && nextHopConfig.targetAddress->family != family) ||
        (nextHopConfig.gateway && nextHopConfig.gateway->family != family)) {
        counters.add("drop.route-family-mismatch");
        return;
    }
    const config::IpAddress newDestination = nextHopConfig.targetAddress.value_or(destination);
    const config::IpAddress nextHopAddress = nextHopConfig.gateway.value_or(newDestination);

    SessionRecord record;
    record.id = state_.nextSessionId;
    fastpath::SessionSpec spec{
        .ingressIfindex = ingressIfindex,
        .vlanId = packet.vlanId,
        .proto = packet.proto,
        .source = packet.source,
        .destination = packet.destination,
        .sourcePort = packet.sourcePort,
        .destinationPort = packet.isIcmp() ? std::uint16_t{0} : packet.destinationPort,
        .newSource = std::nullopt,
        .newSourcePort = std::nullopt,
        .newDestination = std::nullopt,
        .newDestinationPort = std::nullopt,
        .nextHop = fastpath::NextHop{.egressIfindex = egress->ifindex,
                                     .srcMac = egress->mac,
                                     .dstMac = {},
                                     .useFib = false,
                                     .egressVlan = 0},
        .dscp = SVR_DSCP_KEEP,
        .action = SVR_ACTION_FORWARD,
        .sessionId = record.id,
        .idleTimeoutSeconds = static_cast<std::uint32_t>(
            policy::idleTimeout(*decision.service, *protocol, true).count()),
        .createdNs = fastpath::monotonicNowNs(),
    };
    if (nextHopConfig.targetAddress) {
        spec.newDestination = toFastpathAddress(*nextHopConfig.targetAddress);
    }
    if (nextHopConfig.sourceNat) {
        const config::Interface* egressConfig = state_.config->findInterface(egress->name);
        const auto natAddress =
            egressConfig != nullptr ? interfaceAddress(*egressConfig, family) : std::nullopt;
        if (!natAddress) {
            counters.add("drop.nat-no-address");
            return;
        }
        auto port = state_.nat.allocate(*natAddress);
        if (!port) {
            counters.add("drop.nat-ports-exhausted");
            return;
        }
        record.nat = NatLease{*natAddress, *port};
        spec.newSource = toFastpathAddress(*natAddress);
        spec.newSourcePort = *port;
    }
    auto forward = fastpath::buildForwardSession(spec);
    if (!forward) {
        counters.add("drop.session-invalid");
        logInfo("cannot build a session: {}", forward.error().describe());
        releaseNat(record);
        return;
    }
    forward->value.tenant_id = idOf(state_.config->tenants, decision.tenant);
    forward->value.service_id = idOf(state_.config->services, decision.service);
    const fastpath::SessionEntry reverse = fastpath::buildReverseSession(
        *forward, fastpath::NextHop{.egressIfindex = ingressIfindex,
                                    .srcMac = ingress->mac,
                                    .dstMac = packet.srcMac,
                                    .useFib = false,
                                    .egressVlan = packet.vlanId});
    record.forward = forward->key;
    record.reverse = reverse.key;
    record.notEstablishedTimeoutSeconds = static_cast<std::uint32_t>(
        policy::idleTimeout(*decision.service, config::Protocol::tcp, false).count());
    ++state_.nextSessionId;

    HeldSession session{.forward = *forward,
                        .reverse = reverse,
                        .record = record,
                        .nextHopIfindex = egress->ifindex,
                        .nextHop = toFastpathAddress(nextHopAddress),
                        .deadlineNs = spec.createdNs +
                                      static_cast<std::uint64_t>(kNeighbourWait.count()) *
                                          1'000'000'000ULL,
                        .frames = {}};
    session.frames.push_back(std::move(frame));
    if (const auto mac = nextHopMac(session.nextHopIfindex, session.nextHop, spec.createdNs)) {
        install(session, *mac);
        return;
    }
    if (Status managed = neighbours_.manage(session.nextHopIfindex, session.nextHop); !managed) {
        logInfo("{}", managed.error().describe());
    }
    counters.add("sessions.held-for-neighbour");
    held_.push_back(std::move(session));
}

void Pipeline::install(HeldSession& session, const fastpath::MacAddress& nextHopMac)
{
    Counters& counters = state_.counters;
    std::memcpy(session.forward.value.dst_mac, nextHopMac.data(), nextHopMac.size());
    fastpath::SessionTable table(state_.maps.sessions);
    if (Status inserted = table.insert(session.forward.key, session.forward.value); !inserted) {
        counters.add("drop.install-failed");
        logInfo("install session {}: {}", session.record.id, inserted.error().describe());
        releaseNat(session.record);
        return;
    }
    if (Status inserted = table.insert(session.reverse.key, session.reverse.value); !inserted) {
        (void)table.erase(session.forward.key); // both directions or neither
        counters.add("drop.install-failed");
        logInfo("install reverse of session {}: {}", session.record.id,
                inserted.error().describe());
        releaseNat(session.record);
        return;
    }
    state_.sessions.add(session.record);
    counters.add("sessions.created");
    for (const Frame& frame : session.frames) {
        sendWithSession(frame, session.forward.value);
    }
}

void Pipeline::sendWithSession(const Frame& frame, const svr_session_value& value)
{
    Port* egress = state_.portByIfindex(value.egress_ifindex);
    if (egress == nullptr || egress->sockets.empty()) {
        state_.counters.add("tx.no-socket");
        return;
    }
    const std::vector<std::uint8_t> out = rewriteFrame(frame.bytes, frame.packet, value);
    if (Status sent = egress->sockets.front()->transmit(out); !sent) {
        state_.counters.add("tx.failed");
        return;
    }
    state_.counters.add("tx.packets");
}

void Pipeline::releaseNat(const SessionRecord& record)
{
    if (record.nat) {
        (void)state_.nat.release(record.nat->address, record.nat->port);
    }
}

void Pipeline::retryHeld(std::uint64_t nowNs)
{
    std::vector<HeldSession> waiting;
    for (auto& session : held_) {
        if (const auto mac = nextHopMac(session.nextHopIfindex, session.nextHop, nowNs)) {
            install(session, *mac);
        } else if (nowNs >= session.deadlineNs) {
            state_.counters.add("drop.neighbour-unresolved");
            logInfo("next hop {} unresolved: session {} refused",
                    fastpath::formatIpAddress(session.nextHop), session.record.id);
            releaseNat(session.record);
        } else {
            waiting.push_back(std::move(session));
        }
    }
    held_ = std::move(waiting);
}

void Pipeline::dropHeld(const char* why)
{
    for (const auto& session : held_) {
        state_.counters.add(std::string("drop.held-") + why);
        releaseNat(session.record);
    }
    held_.clear();
}

} // namespace svr::svrd

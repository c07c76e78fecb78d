#include "svrd/pipeline.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "protocol/packet.hpp"

#include "fastpath/maps.hpp"
#include "fastpath/netdev.hpp"
#include "svrd/lifecycle.hpp"
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

std::uint64_t wallClockSeconds()
{
    return static_cast<std::uint64_t>(::time(nullptr)); // HMAC time slots are wall clock
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
    case SVR_PUNT_XLATE_CHECKSUM: return "xlate-checksum";
    case SVR_PUNT_XLATE_TOO_BIG: return "xlate-too-big";
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

std::size_t Pipeline::NextHopKeyHash::operator()(const NextHopKey& key) const
{
    // FNV-1a over the interface and the address.
    std::uint64_t hash = 14695981039346656037ULL;
    const auto mix = [&hash](std::uint8_t byte) { hash = (hash ^ byte) * 1099511628211ULL; };
    for (std::size_t i = 0; i < sizeof(key.ifindex); ++i) {
        mix(static_cast<std::uint8_t>(key.ifindex >> (8 * i)));
    }
    mix(key.address.family);
    for (const std::uint8_t byte : key.address.bytes) {
        mix(byte);
    }
    return static_cast<std::size_t>(hash);
}

std::optional<fastpath::MacAddress> Pipeline::nextHopMac(std::uint32_t ifindex,
                                                         const fastpath::IpAddress& address,
                                                         std::uint64_t nowNs)
{
    const NextHopKey cacheKey{ifindex, address};
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

void Pipeline::handle(fastpath::PuntFrame punted, std::uint32_t socketIfindex)
{
    const std::uint64_t startNs = fastpath::monotonicNowNs();
    handleFrame(punted, socketIfindex);
    state_.firstPacketLatency.add(fastpath::monotonicNowNs() - startNs);
}

void Pipeline::handleFrame(fastpath::PuntFrame& punted, std::uint32_t socketIfindex)
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
    switch (reason) {
    case SVR_PUNT_MISS:
    case SVR_PUNT_SESSION_ACTION:
    case SVR_PUNT_WAYPOINT:
    case SVR_PUNT_METADATA_PENDING:
    case SVR_PUNT_XLATE_CHECKSUM: // svrd sums the translated packet (rewriteFrame)
    case SVR_PUNT_XLATE_TOO_BIG:
    case SVR_PUNT_COOKIE: break;
    default:
        // Fragments and ICMP errors about no session start nothing.
        counters.add("drop.punt-reason." + puntReasonName(reason));
        return;
    }
    ParseOutcome parsed = parseFrame(punted.data);
    if (!parsed.packet) {
        counters.add(std::string("drop.parse.") + std::string(parseFailureName(parsed.failure)));
        return;
    }
    Frame frame{std::move(punted.data), *parsed.packet};
    const svr_session_key key = sessionKey(frame.packet, ingressIfindex);
    if (reason == SVR_PUNT_XLATE_TOO_BIG) {
        answerTooBig(frame, key);
        return;
    }

    const SessionRecord* existing = state_.sessions.findByKey(key);
    if (existing != nullptr && !entryInstalled(key)) {
        // Its entry left the table behind svrd's back (svrctl session delete): forget the
        // session and its ports, and take the packet as a first packet.
        fastpath::SessionTable table(state_.maps.sessions);
        (void)table.erase(existing->forward);
        (void)table.erase(existing->reverse);
        if (auto removed = state_.sessions.remove(existing->id)) {
            state_.releaseLeases(*removed);
        }
        counters.add("sessions.stale-removed");
        existing = nullptr;
    }
    if (existing != nullptr) {
        if (existing->svr) {
            continueSvrSession(std::move(frame), *existing, key);
            return;
        }
        // Punted before the session was visible to the fast path: send it like the session.
        auto value = fastpath::SessionTable(state_.maps.sessions).lookup(key);
        if (value && value->has_value() && (*value)->action == SVR_ACTION_FORWARD &&
            frame.packet.ttl > 1) {
            counters.add("punt.existing-session");
            sendWithSession(frame, **value);
        } else {
            counters.add("drop.existing-session-unusable");
        }
        return;
    }
    if (reason == SVR_PUNT_METADATA_PENDING || reason == SVR_PUNT_COOKIE ||
        reason == SVR_PUNT_XLATE_CHECKSUM) {
        counters.add("drop.signalling-unknown-session"); // an entry svrd did not install
        return;
    }
    if (HeldSession* held = heldByKey(key)) {
        if (reason == SVR_PUNT_WAYPOINT) {
            counters.add("drop.held-peer-retransmission"); // the held first packet goes
        } else if (held->frames.size() < kMaxHeldFrames) {
            held->frames.push_back(std::move(frame));
        } else {
            counters.add("drop.held-queue-full");
        }
        return;
    }
    if (reason == SVR_PUNT_WAYPOINT) {
        acceptFromPeer(std::move(frame), ingressIfindex);
        return;
    }
    startSession(std::move(frame), ingressIfindex, nullptr);
}

bool Pipeline::entryInstalled(const svr_session_key& key) const
{
    auto value = fastpath::SessionTable(state_.maps.sessions).lookup(key);
    return !value || value->has_value(); // a failed lookup proves nothing: keep the session
}

std::optional<protocol::OpenedMetadata> Pipeline::openAndStrip(Frame& frame, PeerCrypto& crypto)
{
    Counters& counters = state_.counters;
    auto layout = protocol::parsePacket(frame.bytes, frame.packet.l3Offset);
    if (!layout) {
        counters.add(metadataFailureCounter(layout.error()));
        return std::nullopt;
    }
    auto opened = crypto.sealer.open(crypto.ring, protocol::l4Payload(frame.bytes, *layout),
                                     wallClockSeconds());
    if (!opened) {
        counters.add(metadataFailureCounter(opened.error()));
        return std::nullopt;
    }
    frame.bytes.resize(layout->end); // L2 padding would be taken for payload
    if (Status stripped = protocol::stripMetadata(frame.bytes, opened->stripPrefix,
                                                  opened->stripSuffix, frame.packet.l3Offset);
        !stripped) {
        counters.add(metadataFailureCounter(stripped.error()));
        return std::nullopt;
    }
    ParseOutcome reparsed = parseFrame(frame.bytes);
    if (!reparsed.packet) {
        counters.add("drop.metadata.strip-left-bad-packet");
        return std::nullopt;
    }
    frame.packet = *reparsed.packet;
    return std::move(*opened);
}

void Pipeline::acceptFromPeer(Frame frame, std::uint32_t ingressIfindex)
{
    Counters& counters = state_.counters;
    const Port* ingress = state_.portByIfindex(ingressIfindex);
    const config::Adjacency* adjacency =
        ingress != nullptr && state_.fabric
            ? state_.fabric->adjacencyFrom(ingress->name, toConfigAddress(frame.packet.source))
            : nullptr;
    PeerCrypto* crypto = adjacency != nullptr ? state_.fabric->peer(adjacency->peer) : nullptr;
    if (crypto == nullptr) {
        counters.add("drop.metadata.unknown-peer");
        return;
    }
    if (frame.packet.ttl <= 1) {
        counters.add("drop.ttl-expired");
        return;
    }
    const auto opened = openAndStrip(frame, *crypto);
    if (!opened) {
        return;
    }
    const protocol::Metadata& metadata = opened->metadata;
    auto session = std::make_shared<SvrSession>();
    if (!takeForwardContext(metadata, *session)) {
        counters.add("drop.metadata.no-forward-context");
        return;
    }
    if (Status admitted = crypto->replay.admitFirstPacket(metadata, wallClockSeconds());
        !admitted) {
        counters.add(metadataFailureCounter(admitted.error()));
        return;
    }
    if (const auto* router = metadata.find<protocol::SourceRouterName>();
        router != nullptr && router->value != adjacency->peer) {
        counters.add("drop.metadata.source-router-mismatch");
        return;
    }
    if (session->proto != frame.packet.proto) {
        counters.add("drop.metadata.context-mismatch");
        return;
    }
    session->uuid = *metadata.find<protocol::SessionUuid>(); // admitFirstPacket required it
    if (const auto* tenant = metadata.find<protocol::TenantName>()) {
        session->tenant = tenant->value;
    }
    session->payloadEncrypted = metadata.find<protocol::SessionEncrypted>() != nullptr;
    session->upstream = SvrHop{.peer = adjacency->peer,
                               .localWaypoint = toConfigAddress(frame.packet.destination),
                               .peerWaypoint = toConfigAddress(frame.packet.source),
                               .ports = {.local = frame.packet.destinationPort,
                                         .remote = frame.packet.sourcePort},
                               .signalling = true};
    counters.add("metadata.accepted");
    startSession(std::move(frame), ingressIfindex, std::move(session));
}

void Pipeline::answerTooBig(const Frame& frame, const svr_session_key& key)
{
    Counters& counters = state_.counters;
    const SessionRecord* record = state_.sessions.findByKey(key);
    fastpath::SessionTable table(state_.maps.sessions);
    if (record == nullptr || frame.packet.family != SVR_FAMILY_IPV4) {
        counters.add("drop.xlate-too-big.unknown-session");
        return;
    }
    const bool forward = std::memcmp(&key, &record->forward, sizeof(key)) == 0;
    auto value = table.lookup(key);
    auto back = table.lookup(forward ? record->reverse : record->forward);
    if (!value || !value->has_value() || !back || !back->has_value()) {
        counters.add("drop.xlate-too-big.unknown-session");
        return;
    }
    // The largest IPv4 packet that still fits once translated: the egress MTU (svrd's path
    // MTU at most) less the 20 bytes IPv6 adds.
    std::uint32_t mtu = kPathMtu;
    if (const Port* egress = state_.portByIfindex((*value)->egress_ifindex)) {
        if (auto egressMtu = fastpath::interfaceMtu(egress->name); egressMtu) {
            mtu = std::min<std::uint32_t>(mtu, *egressMtu);
        }
    }
    const Port* sender = state_.portByIfindex((**back).egress_ifindex);
    const config::Interface* senderConfig =
        sender != nullptr ? state_.config->findInterface(sender->name) : nullptr;
    const auto routerAddress = senderConfig != nullptr
                                   ? interfaceAddress(*senderConfig, config::Family::v4)
                                   : std::nullopt;
    if (sender == nullptr || sender->sockets.empty() || !routerAddress || mtu <= 68 + 20) {
        counters.add("drop.xlate-too-big.no-reply");
        return;
    }
    const std::vector<std::uint8_t> reply =
        fragmentationNeeded(frame.bytes, frame.packet, **back, toFastpathAddress(*routerAddress),
                            static_cast<std::uint16_t>(mtu - 20));
    if (Status sent = sender->sockets.front()->queue(reply); !sent) {
        counters.add("tx.failed");
        return;
    }
    counters.add("icmp.fragmentation-needed-sent");
}

void Pipeline::startSession(Frame frame, std::uint32_t ingressIfindex,
                            std::shared_ptr<SvrSession> inbound)
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
    // The session as the client opened it: the packet, or the forward context of a peer.
    const fastpath::IpAddress originalSource = inbound ? inbound->source : packet.source;
    const fastpath::IpAddress originalDestination =
        inbound ? inbound->destination : packet.destination;
    const std::uint16_t originalSourcePort = inbound ? inbound->sourcePort : packet.sourcePort;
    const std::uint16_t originalDestinationPort =
        inbound ? inbound->destinationPort : packet.destinationPort;
    const config::IpAddress source = toConfigAddress(originalSource);
    const config::IpAddress destination = toConfigAddress(originalDestination);
    const config::Family family = source.family;
    const auto routeUsable = [this, family](const config::ServiceRoute& route) {
        return state_.routeUsable(route, family);
    };
    std::optional<std::string_view> tenantName;
    if (inbound) {
        tenantName = inbound->tenant; // zero trust: the peer's tenant, checked again here
    }
    const policy::Decision decision = state_.policy->decide(
        policy::FirstPacket{.ingressInterface = ingress->name,
                            .source = source,
                            .destination = destination,
                            .protocol = *protocol,
                            .destinationPort = originalDestinationPort,
                            .tenantName = tenantName},
        routeUsable);
    if (!decision.permitted()) {
        counters.add(std::string("drop.policy.") +
                     std::string(policy::dropReasonName(*decision.drop)));
        return;
    }

    SessionRecord record;
    record.id = state_.nextSessionId;
    record.uuid = inbound ? inbound->uuid.value : newSessionUuid().value;
    record.svr = inbound;
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
        .nextHop = {},
        .dscp = SVR_DSCP_KEEP,
        .action = SVR_ACTION_FORWARD,
        .sessionId = record.id,
        .idleTimeoutSeconds = static_cast<std::uint32_t>(
            policy::idleTimeout(*decision.service, *protocol, true).count()),
        .createdNs = fastpath::monotonicNowNs(),
    };
    const Port* egress = nullptr;
    config::IpAddress nextHopAddress;
    if (const auto* peerTarget = std::get_if<config::PeerTarget>(&decision.route->target)) {
        if (packet.isIcmp()) {
            counters.add("drop.peer-route-icmp-unsupported"); // needs UDP conversion
            return;
        }
        if (inbound && inbound->upstream && inbound->upstream->peer == peerTarget->peer) {
            counters.add("drop.peer-route-loop");
            return;
        }
        const config::Adjacency* path = state_.peerPathFor(peerTarget->peer);
        const auto localWaypoint =
            path != nullptr ? state_.fabric->localWaypoint(path->interface) : std::nullopt;
        if (path == nullptr || !localWaypoint) {
            counters.add("drop.policy.no-usable-route");
            return;
        }
        auto ports = state_.fabric->ports().allocate(*localWaypoint, path->peerWaypoint);
        if (!ports) {
            counters.add("drop.waypoint-ports-exhausted");
            return;
        }
        record.waypoint = WaypointLease{*localWaypoint, path->peerWaypoint, *ports};
        if (!record.svr) {
            record.svr = std::make_shared<SvrSession>();
            record.svr->uuid = protocol::SessionUuid{record.uuid};
            record.svr->tenant = decision.tenant != nullptr ? decision.tenant->name : "";
            record.svr->source = originalSource;
            record.svr->destination = originalDestination;
            record.svr->sourcePort = originalSourcePort;
            record.svr->destinationPort = originalDestinationPort;
            record.svr->proto = packet.proto;
        }
        if (!inbound && decision.service->payloadPolicy) {
            // The first router decides; the metadata tells the others (TLV 11).
            record.svr->payloadEncrypted = true;
            record.svr->payloadPolicy = *decision.service->payloadPolicy;
        }
        record.svr->service = decision.service->name;
        record.svr->downstream = SvrHop{.peer = path->peer,
                                        .localWaypoint = *localWaypoint,
                                        .peerWaypoint = path->peerWaypoint,
                                        .ports = *ports,
                                        .signalling = true};
        spec.newSource = toFastpathAddress(*localWaypoint);
        spec.newSourcePort = ports->local;
        spec.newDestination = toFastpathAddress(path->peerWaypoint);
        spec.newDestinationPort = ports->remote;
        egress = state_.portByName(path->interface);
        nextHopAddress = path->peerWaypoint;
    } else {
        const auto& nextHopConfig = std::get<config::NextHop>(decision.route->target);
        egress = state_.portByName(nextHopConfig.interface);
        if ((nextHopConfig.targetAddress && nextHopConfig.targetAddress->family != family) ||
            (nextHopConfig.gateway && nextHopConfig.gateway->family != family)) {
            counters.add("drop.route-family-mismatch");
            return;
        }
        const config::IpAddress newDestination =
            nextHopConfig.targetAddress.value_or(destination);
        nextHopAddress = nextHopConfig.gateway.value_or(newDestination);
        if (nextHopConfig.targetAddress || inbound) {
            spec.newDestination = toFastpathAddress(newDestination);
        }
        if (inbound) {
            // The egress router restores what the client sent.
            spec.newDestinationPort = originalDestinationPort;
            spec.newSource = originalSource;
            spec.newSourcePort = originalSourcePort;
            record.svr->service = decision.service->name;
            if (record.svr->payloadEncrypted) {
                if (!decision.service->payloadPolicy ||
                    state_.fabric->payloadCipher(*decision.service->payloadPolicy) == nullptr) {
                    counters.add("drop.payload-encryption-unconfigured");
                    return;
                }
                record.svr->payloadPolicy = *decision.service->payloadPolicy;
            }
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
    }
    spec.nextHop = fastpath::NextHop{.egressIfindex = egress->ifindex,
                                     .srcMac = egress->mac,
                                     .dstMac = {},
                                     .useFib = false,
                                     .egressVlan = 0};
    auto forward = fastpath::buildForwardSession(spec);
    if (!forward) {
        counters.add("drop.session-invalid");
        logInfo("cannot build a session: {}", forward.error().describe());
        state_.releaseLeases(record);
        return;
    }
    forward->value.tenant_id = idOf(state_.config->tenants, decision.tenant);
    forward->value.service_id = idOf(state_.config->services, decision.service);
    fastpath::SessionEntry reverse = fastpath::buildReverseSession(
        *forward, fastpath::NextHop{.egressIfindex = ingressIfindex,
                                    .srcMac = ingress->mac,
                                    .dstMac = packet.srcMac,
                                    .useFib = false,
                                    .egressVlan = packet.vlanId});
    if (record.svr) {
        const bool edge = !record.svr->upstream || !record.svr->downstream;
        if (record.svr->payloadEncrypted && edge) {
            // Every packet needs the payload cipher: svrd forwards this session.
            forward->value.action = SVR_ACTION_PUNT;
            reverse.value.action = SVR_ACTION_PUNT;
        }
        if (record.svr->forwardPending()) {
            forward->value.flags |= SVR_SESSION_F_METADATA_PENDING;
        }
        if (record.svr->reversePending()) {
            reverse.value.flags |= SVR_SESSION_F_METADATA_PENDING;
        }
    }
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
    if (held_.size() >= kMaxHeldSessions) {
        counters.add("drop.held-sessions-full");
        state_.releaseLeases(session.record);
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
    // The first packets leave through svrd, not the fast path: counted here, the session's
    // counters (svrctl, IPFIX records) hold every packet of the direction.
    for (const Frame& frame : session.frames) {
        ++session.forward.value.packets;
        session.forward.value.bytes += frame.bytes.size();
    }
    // Two updates, not one BPF_MAP_UPDATE_BATCH: the batch takes no BPF_NOEXIST, and
    // create-only is what keeps a colliding key from overwriting another session.
    fastpath::SessionTable table(state_.maps.sessions);
    if (Status inserted = table.insert(session.forward.key, session.forward.value); !inserted) {
        counters.add("drop.install-failed");
        logInfo("install session {}: {}", session.record.id, inserted.error().describe());
        state_.releaseLeases(session.record);
        return;
    }
    if (Status inserted = table.insert(session.reverse.key, session.reverse.value); !inserted) {
        (void)table.erase(session.forward.key); // both directions or neither
        counters.add("drop.install-failed");
        logInfo("install reverse of session {}: {}", session.record.id,
                inserted.error().describe());
        state_.releaseLeases(session.record);
        return;
    }
    state_.sessions.add(session.record);
    scheduleFirstAgingCheck(state_, session.record, session.forward.value.idle_timeout_s,
                            fastpath::monotonicNowNs());
    counters.add("sessions.created");
    state_.sessionClasses.created(*state_.config, session.forward.value);
    const SvrSession* svr = session.record.svr.get();
    logEvent("session.created",
             {{"session", session.record.id},
              {"uuid", formatUuid(protocol::SessionUuid{session.record.uuid})},
              {"service", svr != nullptr ? svr->service : std::string()},
              {"from_peer", svr != nullptr && svr->upstream ? svr->upstream->peer : std::string()},
              {"to_peer",
               svr != nullptr && svr->downstream ? svr->downstream->peer : std::string()}});
    for (const Frame& frame : session.frames) {
        emit(frame, session.forward.value, session.record, true);
    }
}

void Pipeline::continueSvrSession(Frame frame, const SessionRecord& record,
                                  const svr_session_key& key)
{
    Counters& counters = state_.counters;
    SvrSession& svr = *record.svr;
    const bool forwardDirection = std::memcmp(&key, &record.forward, sizeof(key)) == 0;
    auto value = fastpath::SessionTable(state_.maps.sessions).lookup(key);
    if (!value || !value->has_value() ||
        ((*value)->action != SVR_ACTION_FORWARD && (*value)->action != SVR_ACTION_PUNT)) {
        counters.add("drop.existing-session-unusable");
        return;
    }
    if (frame.packet.ttl <= 1) {
        counters.add("drop.ttl-expired");
        return;
    }
    if ((*value)->action == SVR_ACTION_PUNT) {
        // svrd forwards every packet of this entry: it counts them and keeps it from aging.
        recordForwarded(state_, key, frame.bytes.size(), frame.packet.tcpFlags);
    }
    auto layout = protocol::parsePacket(frame.bytes, frame.packet.l3Offset);
    const auto payload = layout ? protocol::l4Payload(frame.bytes, *layout)
                                : std::span<const std::uint8_t>{};
    const bool carriesMetadata =
        payload.size() >= protocol::kCookie.size() &&
        std::equal(protocol::kCookie.begin(), protocol::kCookie.end(), payload.begin());
    SvrHop* from = forwardDirection ? (svr.upstream ? &*svr.upstream : nullptr)
                                    : (svr.downstream ? &*svr.downstream : nullptr);
    if (carriesMetadata) {
        PeerCrypto* crypto = from != nullptr ? state_.fabric->peer(from->peer) : nullptr;
        if (crypto == nullptr) {
            // From a client or server, not a peer: a payload that happens to start with the
            // cookie. Forwarding it unmarked would make the next router take it for metadata.
            counters.add("drop.metadata.unexpected");
            return;
        }
        const auto opened = openAndStrip(frame, *crypto);
        if (!opened) {
            return;
        }
        const auto* uuid = opened->metadata.find<protocol::SessionUuid>();
        if (uuid == nullptr || *uuid != svr.uuid) {
            counters.add("drop.metadata.session-mismatch");
            return;
        }
        // Forward metadata again: the peer has not seen our reverse metadata yet. Reverse
        // metadata: the peer acknowledges ours, stop adding it.
        from->signalling = forwardDirection;
        counters.add(forwardDirection ? "metadata.forward-repeated" : "metadata.reverse-received");
    } else if (forwardDirection && from != nullptr && from->signalling) {
        from->signalling = false; // a forward packet without metadata: our reverse arrived
        counters.add("metadata.handshake-completed");
    }
    emit(frame, **value, record, forwardDirection);
    syncPendingFlags(record);
}

void Pipeline::syncPendingFlags(const SessionRecord& record)
{
    fastpath::SessionTable table(state_.maps.sessions);
    const std::pair<const svr_session_key*, bool> directions[] = {
        {&record.forward, record.svr->forwardPending()},
        {&record.reverse, record.svr->reversePending()}};
    for (const auto& [key, pending] : directions) {
        auto value = table.lookup(*key);
        if (!value || !value->has_value()) {
            continue;
        }
        svr_session_value updated = **value;
        const bool flagged = (updated.flags & SVR_SESSION_F_METADATA_PENDING) != 0;
        if (flagged == pending) {
            continue;
        }
        updated.flags = static_cast<std::uint16_t>(
            pending ? (updated.flags | SVR_SESSION_F_METADATA_PENDING)
                    : (updated.flags & ~SVR_SESSION_F_METADATA_PENDING));
        if (Status written = table.insert(*key, updated, fastpath::InsertMode::CreateOrReplace);
            !written) {
            state_.counters.add("session-update-failed");
        }
    }
}

void Pipeline::emit(const Frame& frame, const svr_session_value& value,
                    const SessionRecord& record, bool forwardDirection)
{
    Counters& counters = state_.counters;
    const SvrSession* svr = record.svr.get();
    const SvrHop* to = nullptr;
    if (svr != nullptr) {
        const auto& hop = forwardDirection ? svr->downstream : svr->upstream;
        if (hop && hop->signalling) {
            to = &*hop;
        }
    }
    // Payload encryption runs between the edge routers: the first encrypts forward payloads
    // and decrypts reverse ones, the last does the opposite; routers between pass it on.
    const bool firstRouter = svr != nullptr && svr->downstream && !svr->upstream;
    const bool lastRouter = svr != nullptr && svr->upstream && !svr->downstream;
    const bool payloadCrypto = svr != nullptr && svr->payloadEncrypted && (firstRouter || lastRouter);
    if (to == nullptr && !payloadCrypto) {
        sendWithSession(frame, value);
        return;
    }
    Port* egress = state_.portByIfindex(value.egress_ifindex);
    if (egress == nullptr || egress->sockets.empty()) {
        counters.add("tx.no-socket");
        return;
    }
    std::vector<std::uint8_t> out = rewriteFrame(frame.bytes, frame.packet, value);
    const ParseOutcome rewritten = parseFrame(out);
    if (!rewritten.packet) {
        counters.add("drop.rewrite-unparsable");
        return;
    }
    const std::size_t l3Offset = rewritten.packet->l3Offset;
    if (payloadCrypto) {
        protocol::PayloadCipher* cipher = state_.fabric->payloadCipher(svr->payloadPolicy);
        if (cipher == nullptr) {
            counters.add("drop.payload-cipher-missing");
            return;
        }
        const bool encrypt = forwardDirection == firstRouter;
        Status transformed = transformL4Payload(
            out, l3Offset,
            [cipher, encrypt](std::span<const std::uint8_t> in, std::vector<std::uint8_t>& result) {
                return encrypt ? cipher->seal(in, result) : cipher->open(in, result);
            });
        if (!transformed) {
            counters.add(encrypt ? "drop.payload-encrypt-failed"
                                 : metadataFailureCounter(transformed.error()) + ".payload");
            return;
        }
    }
    if (to != nullptr) {
        PeerCrypto* crypto = state_.fabric->peer(to->peer);
        auto layout = protocol::parsePacket(out, l3Offset);
        if (crypto == nullptr || !layout) {
            counters.add("drop.metadata-insert-failed");
            return;
        }
        out.resize(layout->end);
        const protocol::Metadata metadata =
            forwardDirection ? forwardMetadata(*svr, state_.fabric->routerName())
                             : reverseMetadata(*svr, state_.fabric->routerName());
        auto sealed = crypto->sealer.seal(crypto->ring, metadata,
                                          protocol::l4Payload(out, *layout), wallClockSeconds());
        if (!sealed) {
            counters.add("drop.metadata-seal-failed");
            logInfo("seal metadata for {}: {}", to->peer, sealed.error().describe());
            return;
        }
        // Encrypted sessions keep room for the payload's growth in every later TCP segment.
        const std::size_t mssReserve =
            svr->payloadEncrypted ? protocol::PayloadCipher::kMaxGrowth : 0;
        auto inserted = protocol::insertMetadata(
            out, sealed->prefix, sealed->tag,
            protocol::InsertOptions{.l3Offset = l3Offset, .pathMtu = kPathMtu,
                                    .mssReserve = mssReserve});
        if (!inserted || inserted->kind != protocol::InsertOutcome::Kind::Inserted) {
            counters.add("drop.metadata-exceeds-mtu");
            return;
        }
        counters.add(forwardDirection ? "metadata.forward-sent" : "metadata.reverse-sent");
    }
    if (Status sent = egress->sockets.front()->queue(out); !sent) {
        counters.add("tx.failed");
        return;
    }
    counters.add("tx.packets");
}

void Pipeline::sendWithSession(const Frame& frame, const svr_session_value& value)
{
    Port* egress = state_.portByIfindex(value.egress_ifindex);
    if (egress == nullptr || egress->sockets.empty()) {
        state_.counters.add("tx.no-socket");
        return;
    }
    const std::vector<std::uint8_t> out = rewriteFrame(frame.bytes, frame.packet, value);
    if (Status sent = egress->sockets.front()->queue(out); !sent) {
        state_.counters.add("tx.failed");
        return;
    }
    state_.counters.add("tx.packets");
}

void Pipeline::releaseNat(const SessionRecord& record)
{
    state_.releaseLeases(record);
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

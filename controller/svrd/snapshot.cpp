#include "svrd/snapshot.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include <fmt/format.h>

#include "common/unique_fd.hpp"
#include "fastpath/maps.hpp"
#include "svrd/lifecycle.hpp"
#include "svrd/log.hpp"

namespace svr::svrd {
namespace {

const char* protocolName(config::Protocol protocol)
{
    switch (protocol) {
    case config::Protocol::tcp: return "tcp";
    case config::Protocol::udp: return "udp";
    case config::Protocol::icmp: return "icmp";
    }
    return "unknown";
}

std::string transportText(const config::Transport& transport)
{
    std::string text = protocolName(transport.protocol);
    for (std::size_t i = 0; i < transport.ports.size(); ++i) {
        const config::PortRange& range = transport.ports[i];
        text += i == 0 ? " " : ",";
        text += range.first == range.last ? fmt::format("{}", range.first)
                                          : fmt::format("{}-{}", range.first, range.last);
    }
    return text;
}

std::string routeTarget(const config::ServiceRoute& route)
{
    if (const auto* peer = std::get_if<config::PeerTarget>(&route.target)) {
        return "peer " + peer->peer;
    }
    const auto& hop = std::get<config::NextHop>(route.target);
    std::string text = "via " + hop.interface;
    if (hop.gateway) {
        text += " gateway " + hop.gateway->toString();
    }
    if (hop.targetAddress) {
        text += " to " + hop.targetAddress->toString();
    }
    if (hop.sourceNat) {
        text += " source-nat";
    }
    return text;
}

} // namespace

std::string Snapshot::tenantOf(std::uint32_t tenantId) const
{
    return tenantId >= 1 && tenantId <= tenantNames.size() ? tenantNames[tenantId - 1]
                                                           : std::string();
}

std::string Snapshot::serviceOf(std::uint32_t serviceId) const
{
    return serviceId >= 1 && serviceId <= serviceNames.size() ? serviceNames[serviceId - 1]
                                                              : std::string();
}

std::string Snapshot::interfaceOf(std::uint32_t ifindex) const
{
    if (ifindex == SVR_LOCAL_ZONE) {
        return "local";
    }
    for (const auto& interface : interfaces) {
        if (interface.ifindex == ifindex) {
            return interface.name;
        }
    }
    return fmt::format("if{}", ifindex);
}

bool interfaceOperUp(const std::string& name)
{
    UniqueFd socket(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq request{};
    if (!socket.valid() || name.size() >= sizeof(request.ifr_name)) {
        return false;
    }
    std::memcpy(request.ifr_name, name.data(), name.size());
    if (::ioctl(socket.get(), SIOCGIFFLAGS, &request) != 0) {
        return false;
    }
    const auto wanted = IFF_UP | IFF_RUNNING;
    return (request.ifr_flags & wanted) == wanted;
}

std::shared_ptr<const Snapshot> takeSnapshot(const RouterState& state, const std::string& router,
                                             std::uint64_t nowNs)
{
    auto snapshot = std::make_shared<Snapshot>();
    snapshot->router = router;
    snapshot->takenNs = nowNs;
    snapshot->sessionsIndexed = state.sessions.size();
    snapshot->counters = state.counters.all();
    snapshot->sessionClasses = state.sessionClasses.all();

    fastpath::StatsTable stats(state.maps.stats, state.maps.ifaces);
    for (const auto& [ifindex, port] : state.ports) {
        InterfaceSnapshot interface {
            .name = port.name, .ifindex = ifindex, .operUp = interfaceOperUp(port.name), .stats = {}
        };
        if (auto read = stats.read(ifindex)) {
            interface.stats = *read;
        }
        snapshot->interfaces.push_back(std::move(interface));
    }

    const LatencyHistogram& histogram = state.firstPacketLatency.histogram();
    const auto cumulative = histogram.cumulativeCounts();
    for (std::size_t i = 0; i < LatencyHistogram::kUpperBoundsNs.size(); ++i) {
        snapshot->firstPacketLatency.upperBoundsSeconds.push_back(
            static_cast<double>(LatencyHistogram::kUpperBoundsNs[i]) / 1e9);
        snapshot->firstPacketLatency.cumulativeCounts.push_back(cumulative[i]);
    }
    snapshot->firstPacketLatency.count = histogram.count();
    snapshot->firstPacketLatency.sumSeconds = static_cast<double>(histogram.sumNs()) / 1e9;

    if (!state.config) {
        return snapshot;
    }
    const config::Config& config = *state.config;
    for (const auto& tenant : config.tenants) {
        snapshot->tenantNames.push_back(tenant.name);
    }
    for (const auto& service : config.services) {
        snapshot->serviceNames.push_back(service.name);
        ServiceSnapshot one{.name = service.name,
                            .description = service.description,
                            .addresses = {},
                            .transports = {},
                            .routes = {}};
        for (const auto& prefix : service.addresses) {
            one.addresses.push_back(prefix.toString());
        }
        for (const auto& transport : service.transports) {
            one.transports.push_back(transportText(transport));
        }
        for (const auto& route : config.serviceRoutes) {
            if (route.service == service.name) {
                one.routes.push_back(ServiceRouteSnapshot{
                    .name = route.name, .priority = route.priority, .target = routeTarget(route)});
            }
        }
        snapshot->services.push_back(std::move(one));
    }
    for (const auto& peer : config.peers) {
        PeerSnapshot one{.name = peer.name, .keyGeneration = peer.keyGeneration, .paths = {}};
        for (const auto& interface : config.interfaces) {
            for (const auto& adjacency : interface.adjacencies) {
                if (adjacency.peer != peer.name) {
                    continue;
                }
                bool up = false;
                for (const auto& attached : snapshot->interfaces) {
                    up = up || (attached.name == interface.name && attached.operUp);
                }
                one.paths.push_back(
                    PeerPathSnapshot{.interface = interface.name,
                                     .neighborhood = adjacency.neighborhood,
                                     .peerWaypoint = adjacency.peerWaypoint.toString(),
                                     .priority = adjacency.priority,
                                     .up = up});
            }
        }
        snapshot->peers.push_back(std::move(one));
    }
    return snapshot;
}

void SnapshotBoard::publish(std::shared_ptr<const Snapshot> snapshot)
{
    std::lock_guard lock(mutex_);
    latest_ = std::move(snapshot);
}

std::shared_ptr<const Snapshot> SnapshotBoard::latest() const
{
    std::lock_guard lock(mutex_);
    return latest_;
}

Result<std::size_t> deleteSession(RouterState& state, std::uint64_t sessionId)
{
    fastpath::SessionTable table(state.maps.sessions);
    const SessionRecord* record = state.sessions.find(sessionId);
    if (record == nullptr) {
        return table.eraseSession(sessionId); // not svrd's: a static session
    }
    std::size_t present = 0;
    for (const svr_session_key& key : {record->forward, record->reverse}) {
        auto value = table.lookup(key);
        present += value && value->has_value() ? 1 : 0;
    }
    if (Status erased = eraseSessions(state, {sessionId}); !erased) {
        return erased.error();
    }
    state.counters.add("sessions.deleted-by-operator");
    logInfo("session {} deleted by the operator ({} entries)", sessionId, present);
    return present; // 0: svrd's record was stale, the table had nothing left
}

} // namespace svr::svrd

#include "svrd/router_state.hpp"

#include <algorithm>

namespace svr::svrd {

std::uint64_t LatencySamples::quantile(double q) const
{
    if (samples_.empty()) {
        return 0;
    }
    std::vector<std::uint64_t> sorted = samples_;
    const auto index = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1));
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(index), sorted.end());
    return sorted[index];
}

std::array<std::uint64_t, LatencyHistogram::kUpperBoundsNs.size()>
LatencyHistogram::cumulativeCounts() const
{
    std::array<std::uint64_t, kUpperBoundsNs.size()> cumulative{};
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < cumulative.size(); ++i) {
        running += counts_[i];
        cumulative[i] = running;
    }
    return cumulative;
}

std::uint64_t LatencyHistogram::count() const
{
    std::uint64_t total = 0;
    for (const std::uint64_t one : counts_) {
        total += one;
    }
    return total;
}

std::string tenantName(const config::Config& config, std::uint32_t tenantId)
{
    return tenantId >= 1 && tenantId <= config.tenants.size() ? config.tenants[tenantId - 1].name
                                                               : std::string();
}

std::string serviceName(const config::Config& config, std::uint32_t serviceId)
{
    return serviceId >= 1 && serviceId <= config.services.size()
               ? config.services[serviceId - 1].name
               : std::string();
}

SessionClassCounters::Class SessionClassCounters::classOf(const config::Config& config,
                                                          const svr_session_value& value)
{
    return {tenantName(config, value.tenant_id), serviceName(config, value.service_id)};
}

const Port* RouterState::portByName(std::string_view name) const
{
    for (const auto& [ifindex, port] : ports) {
        if (port.name == name) {
            return &port;
        }
    }
    return nullptr;
}

Port* RouterState::portByIfindex(std::uint32_t ifindex)
{
    const auto found = ports.find(ifindex);
    return found == ports.end() ? nullptr : &found->second;
}

const config::Adjacency* RouterState::peerPathFor(std::string_view peer) const
{
    if (!fabric) {
        return nullptr;
    }
    return policy->selectPeerPath(peer, [this](const config::Adjacency& adjacency) {
        const auto local = fabric->localWaypoint(adjacency.interface);
        return local && local->family == adjacency.peerWaypoint.family &&
               portByName(adjacency.interface) != nullptr;
    });
}

bool RouterState::routeUsable(const config::ServiceRoute& route, config::Family) const
{
    if (const auto* nextHop = std::get_if<config::NextHop>(&route.target)) {
        return portByName(nextHop->interface) != nullptr;
    }
    // Sessions of either family cross waypoints of either family (translated).
    return peerPathFor(std::get<config::PeerTarget>(route.target).peer) != nullptr;
}

void RouterState::releaseLeases(const SessionRecord& record)
{
    if (record.nat) {
        (void)nat.release(record.nat->address, record.nat->port);
    }
    if (record.waypoint && fabric) {
        (void)fabric->ports().release(record.waypoint->localWaypoint,
                                      record.waypoint->peerWaypoint, record.waypoint->ports);
    }
}

bool RouterState::isLocalWaypoint(const config::IpAddress& address) const
{
    for (const auto& interface : config->interfaces) {
        if (interface.waypoint && interface.waypoint->address == address) {
            return true;
        }
    }
    return false;
}

std::optional<config::IpAddress> interfaceAddress(const config::Interface& interface,
                                                  config::Family family)
{
    for (const auto& prefix : interface.addresses) {
        if (prefix.family() == family) {
            return prefix.address;
        }
    }
    return std::nullopt;
}

NatPools natPoolsOf(const config::Config& config)
{
    NatPools pools;
    for (const auto& route : config.serviceRoutes) {
        const auto* nextHop = std::get_if<config::NextHop>(&route.target);
        if (nextHop == nullptr || !nextHop->sourceNat) {
            continue;
        }
        const config::Interface* interface = config.findInterface(nextHop->interface);
        if (interface == nullptr) {
            continue;
        }
        for (const auto& prefix : interface->addresses) {
            pools.addAddress(prefix.address, interface->natPorts);
        }
    }
    return pools;
}

} // namespace svr::svrd

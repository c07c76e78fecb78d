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

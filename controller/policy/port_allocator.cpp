#include "policy/port_allocator.hpp"

#include <algorithm>

#include <string>

namespace svr::policy {

using config::IpAddress;
using config::PortRange;

namespace {

bool parityMatches(std::uint16_t port, Parity parity)
{
    switch (parity) {
    case Parity::any:
        return true;
    case Parity::even:
        return port % 2 == 0;
    case Parity::odd:
        return port % 2 == 1;
    }
    return false;
}

std::string describe(PortRange range)
{
    return std::to_string(range.first) + "-" + std::to_string(range.last);
}

} // namespace

PortPool::PortPool(PortRange range, Parity parity)
    : range_(range), parity_(parity), inUse_(range.last >= range.first ? range.size() : 0)
{
    if (range.last < range.first) {
        return; // an empty pool: every allocation reports exhaustion
    }
    for (std::uint32_t port = range.first; port <= range.last; ++port) {
        if (parityMatches(static_cast<std::uint16_t>(port), parity)) {
            free_.push_back(static_cast<std::uint16_t>(port));
        }
    }
    capacity_ = available_ = free_.size();
}

bool PortPool::inPool(std::uint16_t port) const
{
    return !inUse_.empty() && range_.contains(port) && parityMatches(port, parity_);
}

bool PortPool::inUse(std::uint16_t port) const
{
    return inPool(port) && inUse_[port - range_.first];
}

Result<std::uint16_t> PortPool::allocate()
{
    while (!free_.empty()) {
        const std::uint16_t port = free_.front();
        free_.pop_front();
        if (inUse_[port - range_.first]) {
            continue; // stale entry of a reserved port
        }
        inUse_[port - range_.first] = true;
        --available_;
        return port;
    }
    return Error{std::make_error_code(std::errc::resource_unavailable_try_again),
                 "port range " + describe(range_) + " exhausted"};
}

Status PortPool::reserve(std::uint16_t port)
{
    if (!inPool(port)) {
        return Error::invalid("port " + std::to_string(port) + " is not in range " +
                              describe(range_));
    }
    if (inUse_[port - range_.first]) {
        return Error::invalid("port " + std::to_string(port) + " is already in use");
    }
    inUse_[port - range_.first] = true;
    --available_;
    return {};
}

Status PortPool::release(std::uint16_t port)
{
    if (!inPool(port)) {
        return Error::invalid("port " + std::to_string(port) + " is not in range " +
                              describe(range_));
    }
    if (!inUse_[port - range_.first]) {
        return Error::invalid("port " + std::to_string(port) + " is not in use");
    }
    inUse_[port - range_.first] = false;
    ++available_;
    free_.push_back(port);
    return {};
}

PeerPathPorts::PeerPathPorts(PortRange localRange, std::optional<PortRange> peerRange)
    : localRange_(localRange),
      remoteRange_(peerRange.value_or(config::kDefaultWaypointPorts)),
      localParity_(peerRange ? Parity::any : Parity::even),
      remoteParity_(peerRange ? Parity::any : Parity::odd)
{
    for (std::uint32_t port = localRange_.first; port <= localRange_.last; ++port) {
        if (parityMatches(static_cast<std::uint16_t>(port), localParity_)) {
            locals_.push_back(static_cast<std::uint16_t>(port));
        }
    }
    for (std::uint32_t port = remoteRange_.first; port <= remoteRange_.last; ++port) {
        if (parityMatches(static_cast<std::uint16_t>(port), remoteParity_)) {
            remotes_.push_back(static_cast<std::uint16_t>(port));
        }
    }
}

bool PeerPathPorts::valid(WaypointPorts ports) const
{
    return localRange_.contains(ports.local) && parityMatches(ports.local, localParity_) &&
           remoteRange_.contains(ports.remote) && parityMatches(ports.remote, remoteParity_);
}

Result<WaypointPorts> PeerPathPorts::allocate()
{
    // Pairs taken ahead of the cursor (re-adopted sessions) are skipped; a bounded probe keeps
    // one allocation cheap even then.
    constexpr std::uint64_t kMaxProbes = 4096;
    const std::uint64_t space = capacity();
    for (std::uint64_t probe = 0; probe < std::min(space, kMaxProbes) && used_.size() < space;
         ++probe) {
        const std::uint64_t index = cursor_++ % space;
        const WaypointPorts ports{locals_[index % locals_.size()],
                                  remotes_[(index / locals_.size()) % remotes_.size()]};
        if (used_.insert(key(ports)).second) {
            return ports;
        }
    }
    return Error{std::make_error_code(std::errc::resource_unavailable_try_again),
                 "waypoint ports " + describe(localRange_) + " x " + describe(remoteRange_) +
                     " exhausted"};
}

Status PeerPathPorts::reserve(WaypointPorts ports)
{
    if (!valid(ports)) {
        return Error::invalid("waypoint ports " + std::to_string(ports.local) + "/" +
                              std::to_string(ports.remote) + " are not in " +
                              describe(localRange_) + " x " + describe(remoteRange_));
    }
    if (!used_.insert(key(ports)).second) {
        return Error::invalid("waypoint ports " + std::to_string(ports.local) + "/" +
                              std::to_string(ports.remote) + " are already in use");
    }
    return {};
}

Status PeerPathPorts::release(WaypointPorts ports)
{
    if (used_.erase(key(ports)) == 0) {
        return Error::invalid("waypoint ports " + std::to_string(ports.local) + "/" +
                              std::to_string(ports.remote) + " are not in use");
    }
    return {};
}

WaypointPortAllocator::WaypointPortAllocator(const config::Config& config)
{
    for (const auto& interface : config.interfaces) {
        if (!interface.waypoint) {
            continue;
        }
        for (const auto& adjacency : interface.adjacencies) {
            paths_.try_emplace(PathKey{interface.waypoint->address, adjacency.peerWaypoint},
                               interface.waypoint->ports, adjacency.peerPorts);
        }
    }
}

Result<PeerPathPorts*> WaypointPortAllocator::find(const IpAddress& localWaypoint,
                                                   const IpAddress& peerWaypoint)
{
    const auto it = paths_.find(PathKey{localWaypoint, peerWaypoint});
    if (it == paths_.end()) {
        return Error::invalid("no peer path " + localWaypoint.toString() + " -> " +
                              peerWaypoint.toString());
    }
    return &it->second;
}

Result<WaypointPorts> WaypointPortAllocator::allocate(const IpAddress& localWaypoint,
                                                      const IpAddress& peerWaypoint)
{
    auto path = find(localWaypoint, peerWaypoint);
    return path ? (*path)->allocate() : Result<WaypointPorts>(path.error());
}

Status WaypointPortAllocator::release(const IpAddress& localWaypoint,
                                      const IpAddress& peerWaypoint, WaypointPorts ports)
{
    auto path = find(localWaypoint, peerWaypoint);
    return path ? (*path)->release(ports) : Status(path.error());
}

Status WaypointPortAllocator::reserve(const IpAddress& localWaypoint,
                                      const IpAddress& peerWaypoint, WaypointPorts ports)
{
    auto path = find(localWaypoint, peerWaypoint);
    return path ? (*path)->reserve(ports) : Status(path.error());
}

const PeerPathPorts* WaypointPortAllocator::path(const IpAddress& localWaypoint,
                                                 const IpAddress& peerWaypoint) const
{
    const auto it = paths_.find(PathKey{localWaypoint, peerWaypoint});
    return it == paths_.end() ? nullptr : &it->second;
}

NatPortAllocator::NatPortAllocator(const config::Config& config)
{
    for (const auto& route : config.serviceRoutes) {
        const auto* nextHop = std::get_if<config::NextHop>(&route.target);
        if (nextHop == nullptr || !nextHop->sourceNat) {
            continue;
        }
        if (const auto* interface = config.findInterface(nextHop->interface)) {
            for (const auto& address : interface->addresses) {
                pools_.try_emplace(address.address, interface->natPorts, Parity::any);
            }
        }
    }
}

Result<std::uint16_t> NatPortAllocator::allocate(const IpAddress& natAddress)
{
    const auto it = pools_.find(natAddress);
    if (it == pools_.end()) {
        return Error::invalid("no source-NAT ports for " + natAddress.toString());
    }
    return it->second.allocate();
}

Status NatPortAllocator::release(const IpAddress& natAddress, std::uint16_t port)
{
    const auto it = pools_.find(natAddress);
    if (it == pools_.end()) {
        return Error::invalid("no source-NAT ports for " + natAddress.toString());
    }
    return it->second.release(port);
}

const PortPool* NatPortAllocator::pool(const IpAddress& natAddress) const
{
    const auto it = pools_.find(natAddress);
    return it == pools_.end() ? nullptr : &it->second;
}

} // namespace svr::policy

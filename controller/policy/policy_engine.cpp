#include "policy/policy_engine.hpp"

#include <algorithm>

namespace svr::policy {

using config::AccessPolicy;
using config::IpAddress;
using config::IpPrefix;
using config::Permission;
using config::Protocol;
using config::Service;
using config::Tenant;

std::string_view dropReasonName(DropReason reason)
{
    switch (reason) {
    case DropReason::noService:
        return "no-service";
    case DropReason::noMatchingPolicy:
        return "no-matching-policy";
    case DropReason::deniedByPolicy:
        return "denied-by-policy";
    case DropReason::noUsableRoute:
        return "no-usable-route";
    }
    return "unknown";
}

bool tenantCovers(std::string_view ancestor, std::string_view tenant)
{
    if (ancestor.empty() || tenant.size() < ancestor.size()) {
        return false;
    }
    if (tenant.size() == ancestor.size()) {
        return tenant == ancestor;
    }
    return tenant.ends_with(ancestor) && tenant[tenant.size() - ancestor.size() - 1] == '.';
}

std::chrono::seconds idleTimeout(const Service& service, Protocol protocol, bool tcpEstablished)
{
    switch (protocol) {
    case Protocol::tcp:
        return tcpEstablished ? service.timeouts.tcp : service.timeouts.tcpNotEstablished;
    case Protocol::udp:
        return service.timeouts.udp;
    case Protocol::icmp:
        return service.timeouts.icmp;
    }
    return service.timeouts.udp;
}

namespace {

bool transportMatches(const Service& service, Protocol protocol, std::uint16_t port)
{
    if (service.transports.empty()) {
        return true;
    }
    for (const auto& transport : service.transports) {
        if (transport.protocol != protocol) {
            continue;
        }
        if (transport.ports.empty() || protocol == Protocol::icmp) {
            return true;
        }
        for (const auto& range : transport.ports) {
            if (range.contains(port)) {
                return true;
            }
        }
    }
    return false;
}

bool policyMatches(const AccessPolicy& policy, const Tenant* tenant, const IpAddress& source)
{
    if (const auto* prefix = std::get_if<IpPrefix>(&policy.source)) {
        return prefix->contains(source);
    }
    return tenant != nullptr && tenantCovers(std::get<std::string>(policy.source), tenant->name);
}

} // namespace

PolicyEngine::PolicyEngine(std::shared_ptr<const config::Config> config)
    : config_(std::move(config))
{
    for (const auto& tenant : config_->tenants) {
        for (const auto& prefix : tenant.sourcePrefixes) {
            tenantsBySource_.at(prefix) = &tenant;
        }
    }
    for (const auto& interface : config_->interfaces) {
        if (interface.tenant) {
            interfaceTenants_.emplace(interface.name, config_->findTenant(*interface.tenant));
        }
        for (const auto& adjacency : interface.adjacencies) {
            pathsByPeer_[adjacency.peer].push_back(&adjacency);
        }
    }
    for (const auto& service : config_->services) {
        for (const auto& prefix : service.addresses) {
            servicesByDestination_.at(prefix).push_back(&service);
        }
    }
    for (const auto& route : config_->serviceRoutes) {
        routesByService_[route.service].push_back(&route);
    }
    // Stable: equal priorities keep configuration order.
    for (auto& [service, routes] : routesByService_) {
        std::stable_sort(routes.begin(), routes.end(), [](const auto* a, const auto* b) {
            return a->priority < b->priority;
        });
    }
    for (auto& [peer, paths] : pathsByPeer_) {
        std::stable_sort(paths.begin(), paths.end(), [](const auto* a, const auto* b) {
            return a->priority < b->priority;
        });
    }
}

const Tenant* PolicyEngine::classifyTenant(std::string_view ingressInterface,
                                           const IpAddress& source) const
{
    if (const auto it = interfaceTenants_.find(ingressInterface); it != interfaceTenants_.end()) {
        return it->second;
    }
    const auto* match = tenantsBySource_.longestMatch(source);
    return match != nullptr ? *match : nullptr;
}

const Service* PolicyEngine::matchService(const IpAddress& destination, Protocol protocol,
                                          std::uint16_t port) const
{
    const Service* found = nullptr;
    servicesByDestination_.forEachMatch(destination, [&](const auto& services) {
        for (const Service* service : services) {
            if (transportMatches(*service, protocol, port)) {
                found = service;
                return true;
            }
        }
        return false;
    });
    return found;
}

AccessDecision PolicyEngine::checkAccess(const Service& service, const Tenant* tenant,
                                         const IpAddress& source) const
{
    AccessDecision decision;
    for (const auto& policy : service.accessPolicies) {
        if (!policyMatches(policy, tenant, source)) {
            continue;
        }
        if (policy.permission == Permission::deny) {
            return AccessDecision{AccessVerdict::deniedByPolicy, &policy};
        }
        if (decision.verdict != AccessVerdict::allowed) {
            decision = AccessDecision{AccessVerdict::allowed, &policy};
        }
    }
    return decision;
}

const config::ServiceRoute* PolicyEngine::selectRoute(const Service& service,
                                                      const RouteUsable& usable) const
{
    const auto it = routesByService_.find(service.name);
    if (it == routesByService_.end()) {
        return nullptr;
    }
    for (const auto* route : it->second) {
        if (!usable || usable(*route)) {
            return route;
        }
    }
    return nullptr;
}

const config::Adjacency* PolicyEngine::selectPeerPath(std::string_view peer,
                                                      const AdjacencyUsable& usable) const
{
    const auto it = pathsByPeer_.find(peer);
    if (it == pathsByPeer_.end()) {
        return nullptr;
    }
    for (const auto* path : it->second) {
        if (!usable || usable(*path)) {
            return path;
        }
    }
    return nullptr;
}

Decision PolicyEngine::decide(const FirstPacket& packet, const RouteUsable& usable) const
{
    Decision decision;
    decision.tenant = packet.tenantName ? config_->findTenant(*packet.tenantName)
                                        : classifyTenant(packet.ingressInterface, packet.source);
    decision.service = matchService(packet.destination, packet.protocol, packet.destinationPort);
    if (decision.service == nullptr) {
        decision.drop = DropReason::noService;
        return decision;
    }
    const AccessDecision access = checkAccess(*decision.service, decision.tenant, packet.source);
    decision.rule = access.rule;
    switch (access.verdict) {
    case AccessVerdict::allowed:
        break;
    case AccessVerdict::noMatchingPolicy:
        decision.drop = DropReason::noMatchingPolicy;
        return decision;
    case AccessVerdict::deniedByPolicy:
        decision.drop = DropReason::deniedByPolicy;
        return decision;
    }
    decision.route = selectRoute(*decision.service, usable);
    if (decision.route == nullptr) {
        decision.drop = DropReason::noUsableRoute;
    }
    return decision;
}

} // namespace svr::policy

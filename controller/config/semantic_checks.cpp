#include "config/semantic_checks.hpp"

#include <map>
#include <set>

namespace svr::config {

namespace {

const std::string kBase = "/svr:config";

std::string singleQuoted(std::string_view value) { return "'" + std::string(value) + "'"; }
std::string familyName(Family family) { return family == Family::v4 ? "IPv4" : "IPv6"; }
std::string leafListEntry(const std::string& leaf, const IpPrefix& prefix)
{
    return leaf + "[.=" + singleQuoted(prefix.toString()) + "]";
}

class Checker {
public:
    explicit Checker(const Config& config) : config_(config) {}

    std::vector<Issue> run()
    {
        checkTenants();
        checkServices();
        checkInterfaces();
        checkServiceRoutes();
        return std::move(issues_);
    }

private:
    void report(std::string path, std::string message)
    {
        issues_.push_back(Issue{std::move(path), std::move(message)});
    }

    void requireNetwork(const IpPrefix& prefix, const std::string& path)
    {
        if (prefix.hasHostBits()) {
            report(path, prefix.toString() + " has host bits set; the network is " +
                             prefix.network().toString());
        }
    }

    void checkTenants()
    {
        std::map<IpPrefix, std::string> owners; // source prefix -> tenant
        for (const auto& tenant : config_.tenants) {
            const std::string path = kBase + "/tenants/tenant[name=" + singleQuoted(tenant.name) + "]";
            for (const auto& prefix : tenant.sourcePrefixes) {
                const std::string prefixPath = path + "/" + leafListEntry("source-prefix", prefix);
                requireNetwork(prefix, prefixPath);
                const auto [owner, inserted] = owners.emplace(prefix.network(), tenant.name);
                if (!inserted && owner->second != tenant.name) {
                    report(prefixPath, prefix.toString() + " is already a source prefix of tenant " +
                                           singleQuoted(owner->second));
                }
            }
        }
    }

    static bool transportsOverlap(const Service& first, const Service& second)
    {
        if (first.transports.empty() || second.transports.empty()) {
            return true; // a service without transports takes every protocol
        }
        for (const auto& a : first.transports) {
            for (const auto& b : second.transports) {
                if (a.protocol != b.protocol) {
                    continue;
                }
                if (a.ports.empty() || b.ports.empty()) {
                    return true;
                }
                for (const auto& rangeA : a.ports) {
                    for (const auto& rangeB : b.ports) {
                        if (rangeA.overlaps(rangeB)) {
                            return true;
                        }
                    }
                }
            }
        }
        return false;
    }

    void checkServices()
    {
        // Two services on the same prefix must split it by protocol or port, otherwise the
        // longest-prefix match would have to pick one arbitrarily.
        std::map<IpPrefix, std::vector<const Service*>> byPrefix;
        for (const auto& service : config_.services) {
            const std::string path =
                kBase + "/services/service[name=" + singleQuoted(service.name) + "]";
            for (const auto& prefix : service.addresses) {
                const std::string prefixPath = path + "/" + leafListEntry("address", prefix);
                requireNetwork(prefix, prefixPath);
                auto& sharing = byPrefix[prefix.network()];
                for (const Service* other : sharing) {
                    if (other != &service && transportsOverlap(*other, service)) {
                        report(prefixPath, "service " + singleQuoted(other->name) + " has the same prefix " +
                                               prefix.network().toString() +
                                               " with overlapping protocols or ports");
                    }
                }
                sharing.push_back(&service);
            }
            for (const auto& transport : service.transports) {
                checkPortRanges(transport, path);
            }
            for (const auto& policy : service.accessPolicies) {
                if (const auto* prefix = std::get_if<IpPrefix>(&policy.source)) {
                    requireNetwork(*prefix, path + "/access-policy[source=" +
                                                singleQuoted(prefix->toString()) + "]/source");
                }
            }
        }
    }

    void checkPortRanges(const Transport& transport, const std::string& servicePath)
    {
        const char* protocol = transport.protocol == Protocol::tcp   ? "tcp"
                               : transport.protocol == Protocol::udp ? "udp"
                                                                     : "icmp";
        for (std::size_t i = 0; i < transport.ports.size(); ++i) {
            for (std::size_t j = 0; j < i; ++j) {
                if (transport.ports[i].overlaps(transport.ports[j])) {
                    report(servicePath + "/transport[protocol=" + singleQuoted(protocol) +
                               "]/port-range[start='" + std::to_string(transport.ports[i].first) +
                               "']",
                           "overlaps the port range starting at " +
                               std::to_string(transport.ports[j].first));
                }
            }
        }
    }

    static std::string interfacePath(std::string_view name)
    {
        return kBase + "/router/interface[name=" + singleQuoted(name) + "]";
    }

    void checkInterfaces()
    {
        std::vector<std::pair<IpPrefix, std::string>> subnets; // subnet -> interface
        for (const auto& interface : config_.interfaces) {
            const std::string path = interfacePath(interface.name);
            for (const auto& address : interface.addresses) {
                const std::string addressPath = path + "/" + leafListEntry("address", address);
                const bool pointToPoint = address.length + 1U >= address.address.widthBits();
                if (!pointToPoint && !address.hasHostBits()) {
                    report(addressPath, address.toString() +
                                            " is a network, not an interface address "
                                            "(write the address with its subnet length)");
                }
                for (const auto& [subnet, owner] : subnets) {
                    if (subnet.overlaps(address)) {
                        report(addressPath, address.toString() + " overlaps " +
                                                subnet.toString() + " of interface " +
                                                singleQuoted(owner));
                    }
                }
                subnets.emplace_back(address, interface.name);
            }
            if (interface.waypoint) {
                checkWaypoint(interface, path);
            }
        }
    }

    void checkWaypoint(const Interface& interface, const std::string& path)
    {
        const Waypoint& waypoint = *interface.waypoint;
        bool own = false;
        for (const auto& address : interface.addresses) {
            own = own || address.address == waypoint.address;
        }
        if (!own) {
            report(path + "/waypoint/address",
                   waypoint.address.toString() + " is not an address of interface " +
                       singleQuoted(interface.name));
        }
        // Even local and odd remote ports: a range needs both parities.
        if (waypoint.ports.size() < 2) {
            report(path + "/waypoint/ports/max",
                   "a waypoint port range needs at least two ports (one even, one odd)");
        }
        // A source-NAT port equal to a waypoint port would let one session's reply key
        // capture a peer's first packet (or the other way round): the ranges must not meet.
        bool sourceNatHere = false;
        for (const auto& route : config_.serviceRoutes) {
            const auto* nextHop = std::get_if<NextHop>(&route.target);
            sourceNatHere = sourceNatHere ||
                            (nextHop != nullptr && nextHop->sourceNat &&
                             nextHop->interface == interface.name);
        }
        if (own && sourceNatHere && interface.natPorts.overlaps(waypoint.ports)) {
            report(path + "/nat-ports",
                   "source-NAT ports " + std::to_string(interface.natPorts.first) + "-" +
                       std::to_string(interface.natPorts.last) + " overlap the waypoint ports " +
                       std::to_string(waypoint.ports.first) + "-" +
                       std::to_string(waypoint.ports.last) +
                       " of the same address (set disjoint nat-ports and waypoint ports)");
        }
        for (const auto& adjacency : interface.adjacencies) {
            const std::string adjacencyPath =
                path + "/neighborhood[name=" + singleQuoted(adjacency.neighborhood) +
                "]/adjacency[peer-waypoint=" + singleQuoted(adjacency.peerWaypoint.toString()) +
                "]/peer-waypoint";
            if (adjacency.peerWaypoint.family != waypoint.address.family) {
                report(adjacencyPath, "the peer waypoint is " +
                                          familyName(adjacency.peerWaypoint.family) +
                                          " but the interface's waypoint is " +
                                          familyName(waypoint.address.family));
            } else if (adjacency.peerWaypoint == waypoint.address) {
                report(adjacencyPath, "the peer waypoint is this router's own waypoint");
            }
        }
    }

    void checkServiceRoutes()
    {
        std::map<std::pair<std::string, std::uint8_t>, std::string> priorities;
        for (const auto& route : config_.serviceRoutes) {
            const std::string path =
                kBase + "/service-routes/service-route[name=" + singleQuoted(route.name) + "]";
            const auto [previous, inserted] =
                priorities.emplace(std::pair{route.service, route.priority}, route.name);
            if (!inserted) {
                report(path + "/priority",
                       "route " + singleQuoted(previous->second) + " of service " +
                           singleQuoted(route.service) + " has the same priority " +
                           std::to_string(route.priority) + "; the choice would be arbitrary");
            }
            if (const auto* nextHop = std::get_if<NextHop>(&route.target)) {
                checkNextHop(route, *nextHop, path + "/next-hop");
            }
        }
    }

    void checkNextHop(const ServiceRoute& route, const NextHop& nextHop, const std::string& path)
    {
        const Interface* interface = config_.findInterface(nextHop.interface);
        const Service* service = config_.findService(route.service);
        if (interface == nullptr || service == nullptr) {
            return; // leafrefs: libyang has reported these
        }
        auto hasFamily = [&](Family family) {
            for (const auto& address : interface->addresses) {
                if (address.family() == family) {
                    return true;
                }
            }
            return false;
        };
        if (nextHop.gateway) {
            bool onLink = false;
            for (const auto& address : interface->addresses) {
                onLink = onLink || address.contains(*nextHop.gateway);
            }
            if (!onLink) {
                report(path + "/gateway", nextHop.gateway->toString() +
                                              " is not on a subnet of interface " +
                                              singleQuoted(interface->name));
            }
        }
        std::set<Family> serviceFamilies;
        for (const auto& prefix : service->addresses) {
            serviceFamilies.insert(prefix.family());
        }
        if (nextHop.targetAddress) {
            for (Family family : serviceFamilies) {
                if (family != nextHop.targetAddress->family) {
                    report(path + "/target-address",
                           "service " + singleQuoted(service->name) + " has " + familyName(family) +
                               " prefixes that an " +
                               familyName(nextHop.targetAddress->family) +
                               " target address cannot serve");
                }
            }
        }
        if (nextHop.sourceNat) {
            for (Family family : serviceFamilies) {
                if (!hasFamily(family)) {
                    report(path + "/source-nat",
                           "interface " + singleQuoted(interface->name) + " has no " +
                               familyName(family) + " address to translate " +
                               familyName(family) + " sources to");
                }
            }
        }
    }

    const Config& config_;
    std::vector<Issue> issues_;
};

} // namespace

std::vector<Issue> checkSemantics(const Config& config) { return Checker(config).run(); }

} // namespace svr::config

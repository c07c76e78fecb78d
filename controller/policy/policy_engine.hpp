// The decisions svrd makes for the first packet of a session, as pure functions of the
// configuration: tenant → service → access policy → service route. No I/O, no clock; built
// once per configuration and shared read-only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.hpp"
#include "policy/prefix_table.hpp"

namespace svr::policy {

// What svrd needs to know about a first packet.
struct FirstPacket {
    std::string_view ingressInterface;
    config::IpAddress source;
    config::IpAddress destination;
    config::Protocol protocol = config::Protocol::tcp;
    std::uint16_t destinationPort = 0; // ignored for icmp
    // Set for a session arriving from an SVR peer: the tenant its metadata names, which
    // replaces classification (a name this router does not know: no tenant).
    std::optional<std::string_view> tenantName;
};

// Why a first packet creates no session; svrd counts each.
enum class DropReason : std::uint8_t {
    noService,        // no service prefix, protocol and port match the destination
    noMatchingPolicy, // deny-all: no access policy of the service names the source
    deniedByPolicy,   // an access policy denies the source
    noUsableRoute,    // the service has no route, or none is usable now
};
std::string_view dropReasonName(DropReason reason);

enum class AccessVerdict : std::uint8_t { allowed, noMatchingPolicy, deniedByPolicy };

struct AccessDecision {
    AccessVerdict verdict = AccessVerdict::noMatchingPolicy;
    const config::AccessPolicy* rule = nullptr; // the deciding policy, if any
};

struct Decision {
    const config::Tenant* tenant = nullptr; // null: the source belongs to no tenant
    const config::Service* service = nullptr;
    const config::AccessPolicy* rule = nullptr;
    const config::ServiceRoute* route = nullptr;
    std::optional<DropReason> drop;

    bool permitted() const { return !drop.has_value(); }
};

// Whether a route or peer path can carry a new session now (interface up, BFD up...). The
// policy core knows nothing of link state; svrd supplies it.
using RouteUsable = std::function<bool(const config::ServiceRoute&)>;
using AdjacencyUsable = std::function<bool(const config::Adjacency&)>;

// "eng.corp" is covered by "eng.corp" and "corp", not by "rp" or "eng".
bool tenantCovers(std::string_view ancestor, std::string_view tenant);

// Idle timeout of a session of the service: by protocol, and for TCP shorter until the
// three-way handshake completed (service's session type, else the built-in defaults).
std::chrono::seconds idleTimeout(const config::Service& service, config::Protocol protocol,
                                 bool tcpEstablished);

class PolicyEngine {
public:
    explicit PolicyEngine(std::shared_ptr<const config::Config> config);

    // The ingress interface's tenant; without one, the tenant whose source prefix matches the
    // source address longest. An interface tenant wins over source prefixes (as in SSR, where
    // the network-interface tenant takes precedence over tenant members).
    const config::Tenant* classifyTenant(std::string_view ingressInterface,
                                         const config::IpAddress& source) const;

    // Longest destination prefix first; among the services on that prefix the first whose
    // protocol and port match; otherwise the next shorter prefix.
    const config::Service* matchService(const config::IpAddress& destination,
                                        config::Protocol protocol, std::uint16_t port) const;

    // Deny-all: allowed only if a policy names the tenant (or an ancestor of it) or a prefix
    // containing the source. A matching deny wins over every matching allow, whatever the
    // order or the specificity: a deny is never overridden by a broader or later allow, which
    // keeps a quarantine rule safe to add (zero trust).
    AccessDecision checkAccess(const config::Service& service, const config::Tenant* tenant,
                               const config::IpAddress& source) const;

    // The usable route with the lowest priority value (ties: configuration order).
    const config::ServiceRoute* selectRoute(const config::Service& service,
                                            const RouteUsable& usable = {}) const;

    // The usable peer path (adjacency) to a peer with the lowest priority value.
    const config::Adjacency* selectPeerPath(std::string_view peer,
                                            const AdjacencyUsable& usable = {}) const;

    // The whole first-packet decision.
    Decision decide(const FirstPacket& packet, const RouteUsable& usable = {}) const;

    const config::Config& config() const { return *config_; }

private:
    std::shared_ptr<const config::Config> config_;
    std::map<std::string, const config::Tenant*, std::less<>> interfaceTenants_;
    PrefixTable<const config::Tenant*> tenantsBySource_;
    PrefixTable<std::vector<const config::Service*>> servicesByDestination_;
    std::map<std::string, std::vector<const config::ServiceRoute*>, std::less<>> routesByService_;
    std::map<std::string, std::vector<const config::Adjacency*>, std::less<>> pathsByPeer_;
};

} // namespace svr::policy

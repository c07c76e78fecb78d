// Typed, validated configuration of one router: what schemas/svr.yang describes, after
// libyang and the semantic checks accepted it. Plain aggregates, copied freely; a running
// svrd swaps a whole Config on reload.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/ip.hpp"

namespace svr::config {

enum class Protocol : std::uint8_t { icmp = 1, tcp = 6, udp = 17 }; // icmp: ICMP or ICMPv6 echo

struct PortRange {
    std::uint16_t first = 0;
    std::uint16_t last = 0; // inclusive

    bool contains(std::uint16_t port) const { return port >= first && port <= last; }
    bool overlaps(const PortRange& other) const
    {
        return first <= other.last && other.first <= last;
    }
    std::uint32_t size() const { return std::uint32_t{last} - first + 1; }
    friend bool operator==(const PortRange&, const PortRange&) = default;
};

// Waypoint and NAT port range defaults of schemas/svr-types.yang (grouping port-range).
inline constexpr PortRange kDefaultWaypointPorts{16384, 65534};

struct Transport {
    Protocol protocol = Protocol::tcp;
    std::vector<PortRange> ports; // empty: every port (always empty for icmp)
};

enum class Permission : std::uint8_t { allow, deny };

struct AccessPolicy {
    std::variant<std::string, IpPrefix> source; // tenant name (covers descendants) or prefix
    Permission permission = Permission::allow;
};

// Same defaults as schemas/svr-types.yang grouping session-timeouts; used when a service
// names no session type.
struct SessionTimeouts {
    std::chrono::seconds tcp{1800};
    std::chrono::seconds tcpNotEstablished{10};
    std::chrono::seconds udp{180};
    std::chrono::seconds icmp{10};
};

struct Tenant {
    std::string name; // dotted: "eng.corp" is a child of "corp"
    std::string description;
    std::vector<IpPrefix> sourcePrefixes;
};

struct Service {
    std::string name;
    std::string description;
    std::vector<IpPrefix> addresses;
    std::vector<Transport> transports; // empty: every protocol and port
    std::vector<AccessPolicy> accessPolicies;
    std::optional<std::string> sessionType;
    SessionTimeouts timeouts; // resolved from sessionType, or the defaults
    std::optional<std::string> payloadPolicy;
};

struct NextHop {
    std::string interface;
    std::optional<IpAddress> gateway;       // absent: the destination is directly connected
    std::optional<IpAddress> targetAddress; // destination rewritten to this server
    bool sourceNat = false;
};

struct PeerTarget {
    std::string peer;
};

struct ServiceRoute {
    std::string name;
    std::string service;
    std::uint8_t priority = 100; // lower is preferred
    std::variant<NextHop, PeerTarget> target;
};

struct Adjacency {
    std::string interface;    // local interface (a waypoint) the peer is reached through
    std::string neighborhood;
    IpAddress peerWaypoint;
    std::string peer;
    std::uint8_t priority = 100; // lower is preferred
    std::optional<PortRange> peerPorts; // set: the peer narrowed its ports, no even/odd rule
};

struct Waypoint {
    IpAddress address;
    PortRange ports = kDefaultWaypointPorts;
};

struct Interface {
    std::string name;
    std::string description;
    std::optional<std::string> tenant;
    std::vector<IpPrefix> addresses; // host bits are the interface's address
    PortRange natPorts = kDefaultWaypointPorts;
    std::optional<Waypoint> waypoint;
    std::vector<Adjacency> adjacencies; // from every neighborhood of the interface
};

struct Peer {
    std::string name;
    std::uint32_t keyGeneration = 0;
};

using Key256 = std::array<std::uint8_t, 32>;

struct PeerKey {
    std::string peer;
    std::uint32_t generation = 0;
    Key256 hmacKey{};
    Key256 metadataKey{};
};

struct PayloadPolicy {
    std::string name;
    Key256 key{};
    std::uint32_t generation = 1;
};

struct DosLimits {
    std::uint32_t newSessionsPerSecond = 0; // per source address; 0 = no limit
    std::uint32_t burst = 64;
};

// svrd's HTTP endpoint (/metrics, /api/v1): schemas/svr.yang router/management/http.
struct HttpEndpoint {
    IpAddress address = IpAddress::v4(0x7f000001); // 127.0.0.1
    std::uint16_t port = 9464;
};

// IPFIX export of session records: schemas/svr.yang router/ipfix (docs/ipfix.md).
struct IpfixExport {
    IpAddress collector;
    std::uint16_t port = 4739;
    std::chrono::seconds activeTimeout{60};
    std::chrono::seconds templateRefresh{600};
    std::uint32_t templateRefreshMessages = 0; // 0: by time only
    std::uint32_t observationDomainId = 0;

    friend bool operator==(const IpfixExport&, const IpfixExport&) = default;
};

struct Config {
    std::string authority;
    std::string routerName;
    std::string routerDescription;
    std::vector<Tenant> tenants;
    std::vector<Service> services;
    std::vector<ServiceRoute> serviceRoutes;
    std::vector<Interface> interfaces;
    std::vector<Peer> peers;
    std::vector<PeerKey> peerKeys;
    std::vector<PayloadPolicy> payloadPolicies;
    DosLimits dos;
    std::optional<IpfixExport> ipfix; // absent: nothing exported
    HttpEndpoint http;

    const Interface* findInterface(std::string_view name) const;
    const Service* findService(std::string_view name) const;
    const Tenant* findTenant(std::string_view name) const;
    const Peer* findPeer(std::string_view name) const;
    const PeerKey* findPeerKey(std::string_view peer, std::uint32_t generation) const;
};

} // namespace svr::config

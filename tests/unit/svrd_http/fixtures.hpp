// A snapshot and session entries shaped like examples/single-router.json after some traffic.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fastpath/address.hpp"
#include "fastpath/session.hpp"
#include "svrd/snapshot.hpp"

namespace svr::svrd::testing {

inline fastpath::SessionEntry entry(std::uint64_t sessionId, std::uint32_t ingress, const char* src,
                                    const char* dst, std::uint16_t dport, std::uint32_t tenantId,
                                    std::uint32_t serviceId)
{
    fastpath::SessionEntry e;
    const auto source = *fastpath::parseIpAddress(src);
    const auto destination = *fastpath::parseIpAddress(dst);
    e.key.ingress_ifindex = ingress;
    e.key.family = source.family;
    e.key.proto = IPPROTO_TCP;
    std::memcpy(e.key.src_addr, source.bytes.data(), source.bytes.size());
    std::memcpy(e.key.dst_addr, destination.bytes.data(), destination.bytes.size());
    e.key.src_port = htons(40000);
    e.key.dst_port = htons(dport);
    std::memcpy(e.value.new_src_addr, source.bytes.data(), source.bytes.size());
    std::memcpy(e.value.new_dst_addr, destination.bytes.data(), destination.bytes.size());
    e.value.new_src_port = e.key.src_port;
    e.value.new_dst_port = e.key.dst_port;
    e.value.egress_ifindex = ingress == 2 ? 3 : 2;
    e.value.session_id = sessionId;
    e.value.tenant_id = tenantId;
    e.value.service_id = serviceId;
    e.value.packets = 10;
    e.value.bytes = 1000;
    e.value.created_ns = 1'000'000'000;
    e.value.last_seen_ns = 2'000'000'000;
    e.value.idle_timeout_s = 3600;
    e.value.dscp = SVR_DSCP_KEEP;
    return e;
}

// Session 1: clients -> web (both directions); session 2: clients -> internet (forward only);
// session 3: a static session without tenant or service.
inline std::vector<fastpath::SessionEntry> sampleSessions()
{
    return {entry(1, 2, "10.10.1.10", "10.10.2.10", 80, 1, 1),
            entry(1, 3, "10.10.2.10", "10.10.1.10", 40000, 1, 1),
            entry(2, 2, "10.10.1.10", "198.51.100.7", 8080, 1, 2),
            entry(3, 2, "fd00:10:1::10", "fd00:10:2::10", 22, 0, 0)};
}

inline std::shared_ptr<Snapshot> sampleSnapshot()
{
    auto s = std::make_shared<Snapshot>();
    s->router = "edge1";
    s->takenNs = 5'000'000'000;
    s->sessionsIndexed = 2;
    s->counters = {{"sessions.created", 2},
                   {"punt.received", 7},
                   {"drop.policy.no-matching-policy", 3},
                   {"drop.metadata.bad-hmac", 4},
                   {"drop.metadata.replay", 1}};
    InterfaceSnapshot lan{.name = "lan0", .ifindex = 2, .operUp = true, .stats = {}};
    lan.stats.verdict_packets[SVR_VERDICT_FORWARD] = 100;
    lan.stats.verdict_bytes[SVR_VERDICT_FORWARD] = 64000;
    lan.stats.verdict_packets[SVR_VERDICT_DROP] = 6;
    lan.stats.drop_packets[SVR_DROP_DOS_LIMIT] = 5;
    lan.stats.drop_packets[SVR_DROP_FIB] = 1;
    lan.stats.punt_packets[SVR_PUNT_MISS] = 7;
    InterfaceSnapshot srv{.name = "srv0", .ifindex = 3, .operUp = false, .stats = {}};
    s->interfaces = {lan, srv};
    s->tenantNames = {"clients"};
    s->serviceNames = {"web", "internet"};
    s->sessionClasses = {{{"clients", "web"}, {5, 4}}, {{"clients", "internet"}, {2, 0}}};
    s->peers = {PeerSnapshot{.name = "dc1",
                             .keyGeneration = 3,
                             .paths = {PeerPathSnapshot{.interface = "lan0",
                                                        .neighborhood = "mpls",
                                                        .peerWaypoint = "192.0.2.2",
                                                        .priority = 10,
                                                        .up = true},
                                       PeerPathSnapshot{.interface = "srv0",
                                                        .neighborhood = "inet",
                                                        .peerWaypoint = "2001:db8::2",
                                                        .priority = 20,
                                                        .up = false}}}};
    s->services = {ServiceSnapshot{.name = "web",
                                   .description = "HTTP",
                                   .addresses = {"10.10.2.10/32"},
                                   .transports = {"tcp 80,5201"},
                                   .routes = {{"web-local", 100, "via srv0"}}},
                   ServiceSnapshot{.name = "internet",
                                   .description = "",
                                   .addresses = {"0.0.0.0/0"},
                                   .transports = {},
                                   .routes = {{"internet-nat", 100, "via wan0 source-nat"}}}};
    s->firstPacketLatency = HistogramSnapshot{
        .upperBoundsSeconds = {0.00001, 0.0001, 0.001},
        .cumulativeCounts = {1, 5, 6},
        .count = 7,
        .sumSeconds = 0.0042,
    };
    return s;
}

} // namespace svr::svrd::testing

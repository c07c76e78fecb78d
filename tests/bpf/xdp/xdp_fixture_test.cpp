// Table-driven BPF_PROG_TEST_RUN fixtures for the XDP fast path: each case is an input frame,
// map contents, the expected action, the expected output frame (built by the packet builder
// with every checksum computed from scratch) and the expected counters.
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <gtest/gtest.h>

#include "packet_builder.hpp"
#include "svr_punt.h"
#include "xdp_harness.hpp"

namespace svr::test {
namespace {


// Client -> server through the router, which NATs the client (source) to kNat and the server
// (destination) to kServerNat.
const Ipv4Addr kClient4 = ipv4("10.0.0.1");
const Ipv4Addr kServer4 = ipv4("192.0.2.10");
const Ipv4Addr kNat4 = ipv4("198.51.100.1");
const Ipv4Addr kServerNat4 = ipv4("203.0.113.5");
const Ipv4Addr kTransit4 = ipv4("203.0.113.254"); // a router on the far side
const Ipv4Addr kRouterLocal4 = ipv4("10.0.0.254");
const Ipv6Addr kClient6 = ipv6("2001:db8:1::1");
const Ipv6Addr kServer6 = ipv6("2001:db8:2::10");
const Ipv6Addr kNat6 = ipv6("2001:db8:ff::1");
const Ipv6Addr kServerNat6 = ipv6("2001:db8:3::5");
const Ipv6Addr kTransit6 = ipv6("2001:db8:3::fe");
const Ipv6Addr kRouterLocal6 = ipv6("2001:db8:1::fe");

constexpr std::uint16_t kClientPort = 1000;
constexpr std::uint16_t kServerPort = 443;
constexpr std::uint16_t kNatPort = 40000;
constexpr std::uint16_t kServerNatPort = 8443;
constexpr std::uint16_t kEchoId = 0x1234;
constexpr std::uint16_t kNatEchoId = 0x9999;

constexpr std::uint32_t kTxIfindex = kLoopbackIfindex;
constexpr std::uint16_t kRewriteBoth = SVR_SESSION_F_REWRITE_SRC | SVR_SESSION_F_REWRITE_DST;

const Bytes kPayload = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0x05};
const Bytes kCookie = {0x4c, 0x48, 0xdb, 0xc6, 0xdd, 0xf6, 0x67, 0x0c, 0x10, 0x0c, 0x00, 0x00};

svr_session_key makeKey(std::uint8_t proto, std::span<const std::uint8_t> src, std::uint16_t sport,
                        std::span<const std::uint8_t> dst, std::uint16_t dport,
                        std::uint16_t vlan = 0)
{
    svr_session_key key{};
    key.ingress_ifindex = kLoopbackIfindex;
    key.vlan_id = vlan;
    key.family = src.size() == 4 ? SVR_FAMILY_IPV4 : SVR_FAMILY_IPV6;
    key.proto = proto;
    std::memcpy(key.src_addr, src.data(), src.size());
    std::memcpy(key.dst_addr, dst.data(), dst.size());
    key.src_port = htons(sport);
    key.dst_port = htons(dport);
    return key;
}

svr_session_value makeValue(std::span<const std::uint8_t> new_src, std::uint16_t new_sport,
                            std::span<const std::uint8_t> new_dst, std::uint16_t new_dport,
                            std::uint16_t flags = kRewriteBoth)
{
    svr_session_value value{};
    std::memcpy(value.new_src_addr, new_src.data(), new_src.size());
    std::memcpy(value.new_dst_addr, new_dst.data(), new_dst.size());
    value.new_src_port = htons(new_sport);
    value.new_dst_port = htons(new_dport);
    value.egress_ifindex = kTxIfindex;
    std::memcpy(value.dst_mac, kNextHopMac.data(), 6);
    std::memcpy(value.src_mac, kEgressMac.data(), 6);
    value.action = SVR_ACTION_FORWARD;
    value.dscp = SVR_DSCP_KEEP;
    value.flags = flags;
    value.idle_timeout_s = 30;
    value.session_id = 42;
    return value;
}

// Forward-direction session of the client's flow, NATed both ways.
svr_session_key clientKey4(std::uint8_t proto, std::uint16_t vlan = 0)
{
    return makeKey(proto, kClient4, kClientPort, kServer4, kServerPort, vlan);
}
svr_session_key clientKey6(std::uint8_t proto)
{
    return makeKey(proto, kClient6, kClientPort, kServer6, kServerPort);
}
svr_session_value natValue4()
{
    return makeValue(kNat4, kNatPort, kServerNat4, kServerNatPort);
}
svr_session_value natValue6()
{
    return makeValue(kNat6, kNatPort, kServerNat6, kServerNatPort);
}


using Setup = std::function<void(XdpProgram&)>;
using After = std::function<void(const XdpProgram&, const RunResult&)>;

struct Case {
    std::string name;
    Bytes input;
    Setup setup;
    int action = XDP_PASS;
    Bytes output; // expected output frame; empty: the input, unchanged
    svr_verdict verdict = SVR_VERDICT_PASS;
    unsigned reason = 0; // drop/pass/punt reason; unused for FORWARD
    bool punt_socket = false;
    After after;
};

// gtest prints parameters of failed cases: the name says it all.
void PrintTo(const Case& c, std::ostream* os)
{
    *os << c.name;
}

Setup session(svr_session_key key, svr_session_value value)
{
    return [key, value](XdpProgram& program) { program.addSession(key, value); };
}

// The forward session must now show one packet of `frame_len` bytes and `tcp_state`.
After sessionCounted(svr_session_key key, std::size_t frame_len, std::uint8_t tcp_state = 0)
{
    return [key, frame_len, tcp_state](const XdpProgram& program, const RunResult&) {
        const auto value = program.session(key);
        ASSERT_TRUE(value.has_value());
        EXPECT_EQ(value->packets, 1u);
        EXPECT_EQ(value->bytes, frame_len);
        EXPECT_NE(value->last_seen_ns, 0u);
        EXPECT_EQ(value->tcp_state, tcp_state);
        EXPECT_EQ(value->session_id, 42u); // controller fields untouched
    };
}

After sessionUntouched(svr_session_key key)
{
    return [key](const XdpProgram& program, const RunResult&) {
        const auto value = program.session(key);
        ASSERT_TRUE(value.has_value());
        EXPECT_EQ(value->packets, 0u);
        EXPECT_EQ(value->last_seen_ns, 0u);
    };
}

// ---------------------------------------------------------------------------------------
// Forwarding hits

Case tcpHit4()
{
    const auto key = clientKey4(IPPROTO_TCP);
    Case c{.name = "Ipv4TcpHitNatsBothWays"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4, .ttl = 64, .id = 7})
                  .tcp({.src_port = kClientPort, .dst_port = kServerPort, .seq = 1, .flags = kTcpSyn,
                        .options = {2, 4, 0x05, 0xb4}})
                  .payload(kPayload)
                  .build();
    c.setup = session(key, natValue4());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63, .id = 7})
                   .tcp({.src_port = kNatPort, .dst_port = kServerNatPort, .seq = 1, .flags = kTcpSyn,
                         .options = {2, 4, 0x05, 0xb4}})
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    c.after = sessionCounted(key, c.input.size(), SVR_TCP_SEEN_SYN);
    return c;
}

Case udpHit4()
{
    const auto key = clientKey4(IPPROTO_UDP);
    Case c{.name = "Ipv4UdpHitNatsBothWays"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4, .tos = 0x02})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    c.setup = session(key, natValue4());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63, .tos = 0x02})
                   .udp({.src_port = kNatPort, .dst_port = kServerNatPort})
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    c.after = sessionCounted(key, c.input.size());
    return c;
}

Case udpZeroChecksum4()
{
    const auto key = clientKey4(IPPROTO_UDP);
    Case c{.name = "Ipv4UdpZeroChecksumStaysZero"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort, .checksum = 0})
                  .payload(kPayload)
                  .build();
    c.setup = session(key, natValue4());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63})
                   .udp({.src_port = kNatPort, .dst_port = kServerNatPort, .checksum = 0})
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case tcpHit6()
{
    const auto key = clientKey6(IPPROTO_TCP);
    Case c{.name = "Ipv6TcpHitNatsBothWays"};
    c.input = fromClient()
                  .ipv6({.src = kClient6, .dst = kServer6, .hop_limit = 64, .flow_label = 0x12345})
                  .tcp({.src_port = kClientPort, .dst_port = kServerPort, .flags = kTcpAck | kTcpFin})
                  .payload(kPayload)
                  .build();
    c.setup = session(key, natValue6());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv6({.src = kNat6, .dst = kServerNat6, .hop_limit = 63, .flow_label = 0x12345})
                   .tcp({.src_port = kNatPort, .dst_port = kServerNatPort, .flags = kTcpAck | kTcpFin})
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    c.after = sessionCounted(key, c.input.size(), SVR_TCP_SEEN_ACK | SVR_TCP_SEEN_FIN);
    return c;
}

Case udpHit6()
{
    const auto key = clientKey6(IPPROTO_UDP);
    Case c{.name = "Ipv6UdpHitNatsBothWays"};
    c.input = fromClient()
                  .ipv6({.src = kClient6, .dst = kServer6})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    c.setup = session(key, natValue6());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv6({.src = kNat6, .dst = kServerNat6, .hop_limit = 63})
                   .udp({.src_port = kNatPort, .dst_port = kServerNatPort})
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    c.after = sessionCounted(key, c.input.size());
    return c;
}

Case udpHit6WithExtensions()
{
    const auto key = clientKey6(IPPROTO_UDP);
    Case c{.name = "Ipv6ExtensionHeadersFollowedToUdpHit"};
    auto build = [](const Ipv6Addr& src, const Ipv6Addr& dst, std::uint8_t hops, std::uint16_t sport,
                    std::uint16_t dport, const MacAddr& mac_dst, const MacAddr& mac_src) {
        return PacketBuilder()
            .eth(mac_dst, mac_src)
            .ipv6({.src = src, .dst = dst, .hop_limit = hops})
            .ipv6Extension({.type = kIpv6HopByHop, .body = {1, 4, 0, 0, 0, 0}})
            .ipv6Extension({.type = kIpv6Routing, .body = Bytes(14, 0)})
            .ipv6Extension({.type = kIpv6DestOptions})
            .udp({.src_port = sport, .dst_port = dport})
            .payload(kPayload)
            .build();
    };
    c.input = build(kClient6, kServer6, 64, kClientPort, kServerPort, kRouterMac, kClientMac);
    c.setup = session(key, natValue6());
    c.action = XDP_REDIRECT;
    c.output = build(kNat6, kServerNat6, 63, kNatPort, kServerNatPort, kNextHopMac, kEgressMac);
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case srcNatOnly4()
{
    const auto key = clientKey4(IPPROTO_UDP);
    Case c{.name = "Ipv4SourceNatOnlyKeepsDestination"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    c.setup = session(key, makeValue(kNat4, kNatPort, kServerNat4, kServerNatPort,
                                     SVR_SESSION_F_REWRITE_SRC));
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServer4, .ttl = 63})
                   .udp({.src_port = kNatPort, .dst_port = kServerPort})
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case ipv4Options()
{
    const auto key = clientKey4(IPPROTO_TCP);
    const Bytes options = {0x07, 0x07, 0x04, 0, 0, 0, 0, 0x01}; // record route, NOP
    Case c{.name = "Ipv4WithOptionsHit"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4, .options = options})
                  .tcp({.src_port = kClientPort, .dst_port = kServerPort, .flags = kTcpAck})
                  .payload(kPayload)
                  .build();
    c.setup = session(key, natValue4());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63, .options = options})
                   .tcp({.src_port = kNatPort, .dst_port = kServerNatPort, .flags = kTcpAck})
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    c.after = sessionCounted(key, c.input.size(), SVR_TCP_SEEN_ACK);
    return c;
}

Case otherProtocolHit4()
{
    const auto key = makeKey(50 /* ESP */, kClient4, 0, kServer4, 0);
    const Bytes esp = {0, 0, 0, 1, 0, 0, 0, 9, 0xaa, 0xbb, 0xcc, 0xdd};
    Case c{.name = "Ipv4EspHitRewritesAddressesOnly"};
    c.input = fromClient().ipv4({.src = kClient4, .dst = kServer4, .protocol = 50}).payload(esp).build();
    c.setup = session(key, natValue4());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63, .protocol = 50})
                   .payload(esp)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case rstMarksSession()
{
    const auto key = clientKey4(IPPROTO_TCP);
    Case c{.name = "TcpRstMarksSessionForExpiry"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .tcp({.src_port = kClientPort, .dst_port = kServerPort, .flags = kTcpRst | kTcpAck})
                  .build();
    auto value = natValue4();
    value.tcp_state = SVR_TCP_SEEN_SYN;
    c.setup = session(key, value);
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63})
                   .tcp({.src_port = kNatPort, .dst_port = kServerNatPort, .flags = kTcpRst | kTcpAck})
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    c.after = sessionCounted(key, c.input.size(),
                             SVR_TCP_SEEN_SYN | SVR_TCP_SEEN_ACK | SVR_TCP_SEEN_RST);
    return c;
}

// ---------------------------------------------------------------------------------------
// ICMP echo

Case echoHit4()
{
    const auto key = makeKey(IPPROTO_ICMP, kClient4, kEchoId, kServer4, 0);
    Case c{.name = "Ipv4EchoRequestHitRewritesIdentifier"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .icmp(icmpv4EchoRequest(kEchoId, 3))
                  .payload(kPayload)
                  .build();
    c.setup = session(key, makeValue(kNat4, kNatEchoId, kServerNat4, 0));
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63})
                   .icmp(icmpv4EchoRequest(kNatEchoId, 3))
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    c.after = sessionCounted(key, c.input.size());
    return c;
}

Case echoHit6()
{
    const auto key = makeKey(IPPROTO_ICMPV6, kClient6, kEchoId, kServer6, 0);
    Case c{.name = "Ipv6EchoRequestHitRewritesIdentifier"};
    c.input = fromClient()
                  .ipv6({.src = kClient6, .dst = kServer6})
                  .icmp(icmpv6EchoRequest(kEchoId, 3))
                  .payload(kPayload)
                  .build();
    c.setup = session(key, makeValue(kNat6, kNatEchoId, kServerNat6, 0));
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv6({.src = kNat6, .dst = kServerNat6, .hop_limit = 63})
                   .icmp(icmpv6EchoRequest(kNatEchoId, 3))
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    c.after = sessionCounted(key, c.input.size());
    return c;
}

Case echoReplyHit4()
{
    // Reply direction: keyed by the NATed identifier, restored to the client's.
    const auto key = makeKey(IPPROTO_ICMP, kServerNat4, kNatEchoId, kNat4, 0);
    Case c{.name = "Ipv4EchoReplyHitRestoresIdentifier"};
    c.input = fromClient()
                  .ipv4({.src = kServerNat4, .dst = kNat4})
                  .icmp(icmpv4EchoReply(kNatEchoId, 3))
                  .build();
    c.setup = session(key, makeValue(kServer4, kEchoId, kClient4, 0));
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kServer4, .dst = kClient4, .ttl = 63})
                   .icmp(icmpv4EchoReply(kEchoId, 3))
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

// ---------------------------------------------------------------------------------------
// ICMP errors about a session: the reverse session (server side -> client) translates them.

// The client's packet after NAT, as the far side quotes it.
Bytes natedPacket4(std::uint8_t proto)
{
    PacketBuilder b;
    b.ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63, .id = 99});
    if (proto == IPPROTO_UDP) {
        b.udp({.src_port = kNatPort, .dst_port = kServerNatPort});
    } else {
        b.tcp({.src_port = kNatPort, .dst_port = kServerNatPort, .seq = 5, .flags = kTcpSyn});
    }
    return b.payload(kPayload).build();
}
// The same packet as the client sent it: what the translated error must quote.
Bytes clientPacket4(std::uint8_t proto)
{
    PacketBuilder b;
    b.ipv4({.src = kClient4, .dst = kServer4, .ttl = 63, .id = 99});
    if (proto == IPPROTO_UDP) {
        b.udp({.src_port = kClientPort, .dst_port = kServerPort});
    } else {
        b.tcp({.src_port = kClientPort, .dst_port = kServerPort, .seq = 5, .flags = kTcpSyn});
    }
    return b.payload(kPayload).build();
}

// The quoted L4 checksum is not touched by the translation: copy it from the quoted original.
Bytes withL4ChecksumOf(Bytes quoted_inverse, const Bytes& quoted_original, std::size_t offset)
{
    quoted_inverse.at(offset) = quoted_original.at(offset);
    quoted_inverse.at(offset + 1) = quoted_original.at(offset + 1);
    return quoted_inverse;
}

svr_session_key reverseKey4(std::uint8_t proto)
{
    return makeKey(proto, kServerNat4, kServerNatPort, kNat4, kNatPort);
}
svr_session_value reverseValue4()
{
    return makeValue(kServer4, kServerPort, kClient4, kClientPort);
}

Case icmpErrorFromEndpoint4()
{
    Case c{.name = "Ipv4PortUnreachableFromServerTranslated"};
    const Bytes quoted_nat = quoted(natedPacket4(IPPROTO_UDP), 28);
    const Bytes quoted_client =
        withL4ChecksumOf(quoted(clientPacket4(IPPROTO_UDP), 28), quoted_nat, 26);
    c.input = fromClient()
                  .ipv4({.src = kServerNat4, .dst = kNat4})
                  .icmp(icmpv4DestUnreachable(3))
                  .payload(quoted_nat)
                  .build();
    c.setup = session(reverseKey4(IPPROTO_UDP), reverseValue4());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kServer4, .dst = kClient4, .ttl = 63})
                   .icmp(icmpv4DestUnreachable(3))
                   .payload(quoted_client)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case icmpErrorFromTransit4()
{
    Case c{.name = "Ipv4FragNeededFromTransitRouterKeepsItsSource"};
    const Bytes quoted_nat = quoted(natedPacket4(IPPROTO_TCP), 28);
    // 28 bytes quote only 8 of TCP: its checksum (offset 16) is not in the quote.
    c.input = fromClient()
                  .ipv4({.src = kTransit4, .dst = kNat4})
                  .icmp(icmpv4DestUnreachable(4, 1400))
                  .payload(quoted_nat)
                  .build();
    c.setup = session(reverseKey4(IPPROTO_TCP), reverseValue4());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kTransit4, .dst = kClient4, .ttl = 63})
                   .icmp(icmpv4DestUnreachable(4, 1400))
                   .payload(quoted(clientPacket4(IPPROTO_TCP), 28))
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case icmpErrorAboutEcho4()
{
    Case c{.name = "Ipv4TimeExceededAboutEchoTranslated"};
    const Bytes nated = PacketBuilder()
                            .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 1})
                            .icmp(icmpv4EchoRequest(kNatEchoId, 9))
                            .build();
    const Bytes original = PacketBuilder()
                               .ipv4({.src = kClient4, .dst = kServer4, .ttl = 1})
                               .icmp(icmpv4EchoRequest(kEchoId, 9))
                               .build();
    c.input = fromClient()
                  .ipv4({.src = kTransit4, .dst = kNat4})
                  .icmp(icmpv4TimeExceeded())
                  .payload(nated)
                  .build();
    // The echo reply session: keyed by the NATed identifier, restores the client's.
    c.setup = session(makeKey(IPPROTO_ICMP, kServerNat4, kNatEchoId, kNat4, 0),
                      makeValue(kServer4, kEchoId, kClient4, 0));
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kTransit4, .dst = kClient4, .ttl = 63})
                   .icmp(icmpv4TimeExceeded())
                   .payload(withL4ChecksumOf(original, nated, 22))
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Bytes natedPacket6(std::uint8_t proto)
{
    PacketBuilder b;
    b.ipv6({.src = kNat6, .dst = kServerNat6, .hop_limit = 63});
    if (proto == IPPROTO_UDP) {
        b.udp({.src_port = kNatPort, .dst_port = kServerNatPort});
    } else {
        b.tcp({.src_port = kNatPort, .dst_port = kServerNatPort, .flags = kTcpAck});
    }
    return b.payload(kPayload).build();
}
Bytes clientPacket6(std::uint8_t proto)
{
    PacketBuilder b;
    b.ipv6({.src = kClient6, .dst = kServer6, .hop_limit = 63});
    if (proto == IPPROTO_UDP) {
        b.udp({.src_port = kClientPort, .dst_port = kServerPort});
    } else {
        b.tcp({.src_port = kClientPort, .dst_port = kServerPort, .flags = kTcpAck});
    }
    return b.payload(kPayload).build();
}

Case packetTooBig6()
{
    Case c{.name = "Ipv6PacketTooBigFromServerTranslated"};
    const Bytes quoted_nat = natedPacket6(IPPROTO_TCP);
    const Bytes quoted_client = withL4ChecksumOf(clientPacket6(IPPROTO_TCP), quoted_nat, 40 + 16);
    c.input = fromClient()
                  .ipv6({.src = kServerNat6, .dst = kNat6})
                  .icmp(icmpv6PacketTooBig(1280))
                  .payload(quoted_nat)
                  .build();
    c.setup = session(makeKey(IPPROTO_TCP, kServerNat6, kServerNatPort, kNat6, kNatPort),
                      makeValue(kServer6, kServerPort, kClient6, kClientPort));
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv6({.src = kServer6, .dst = kClient6, .hop_limit = 63})
                   .icmp(icmpv6PacketTooBig(1280))
                   .payload(quoted_client)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case timeExceeded6()
{
    Case c{.name = "Ipv6TimeExceededFromTransitTranslated"};
    const Bytes quoted_nat = natedPacket6(IPPROTO_UDP);
    const Bytes quoted_client = withL4ChecksumOf(clientPacket6(IPPROTO_UDP), quoted_nat, 40 + 6);
    c.input = fromClient()
                  .ipv6({.src = kTransit6, .dst = kNat6})
                  .icmp(icmpv6TimeExceeded())
                  .payload(quoted_nat)
                  .build();
    c.setup = session(makeKey(IPPROTO_UDP, kServerNat6, kServerNatPort, kNat6, kNatPort),
                      makeValue(kServer6, kServerPort, kClient6, kClientPort));
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv6({.src = kTransit6, .dst = kClient6, .hop_limit = 63})
                   .icmp(icmpv6TimeExceeded())
                   .payload(quoted_client)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case icmpv6ErrorAboutEcho()
{
    Case c{.name = "Ipv6DestUnreachableAboutEchoTranslated"};
    const Bytes nated = PacketBuilder()
                            .ipv6({.src = kNat6, .dst = kServerNat6, .hop_limit = 20})
                            .icmp(icmpv6EchoRequest(kNatEchoId, 4))
                            .payload(kPayload)
                            .build();
    const Bytes original = PacketBuilder()
                               .ipv6({.src = kClient6, .dst = kServer6, .hop_limit = 20})
                               .icmp(icmpv6EchoRequest(kEchoId, 4))
                               .payload(kPayload)
                               .build();
    c.input = fromClient()
                  .ipv6({.src = kTransit6, .dst = kNat6})
                  .icmp(icmpv6DestUnreachable(3))
                  .payload(nated)
                  .build();
    c.setup = session(makeKey(IPPROTO_ICMPV6, kServerNat6, kNatEchoId, kNat6, 0),
                      makeValue(kServer6, kEchoId, kClient6, 0));
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv6({.src = kTransit6, .dst = kClient6, .hop_limit = 63})
                   .icmp(icmpv6DestUnreachable(3))
                   .payload(withL4ChecksumOf(original, nated, 40 + 2))
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case icmpErrorMiss(bool with_socket)
{
    Case c{.name = with_socket ? "Ipv4IcmpErrorWithoutSessionPuntedAsIcmpError"
                               : "Ipv4IcmpErrorWithoutSessionIsAMiss"};
    c.input = fromClient()
                  .ipv4({.src = kServerNat4, .dst = kNat4})
                  .icmp(icmpv4DestUnreachable(3))
                  .payload(quoted(natedPacket4(IPPROTO_UDP), 28))
                  .build();
    c.punt_socket = with_socket;
    c.action = with_socket ? XDP_REDIRECT : XDP_DROP;
    c.verdict = with_socket ? SVR_VERDICT_PUNT : SVR_VERDICT_DROP;
    c.reason = with_socket ? unsigned{SVR_PUNT_ICMP_ERROR} : unsigned{SVR_DROP_NO_PUNT_SOCKET};
    return c;
}

Case icmpErrorQuoteTruncated()
{
    Case c{.name = "IcmpErrorQuotingTooLittleDropped"};
    c.input = fromClient()
                  .ipv4({.src = kServerNat4, .dst = kNat4})
                  .icmp(icmpv4DestUnreachable(3))
                  .payload(quoted(natedPacket4(IPPROTO_UDP), 24))
                  .build();
    c.action = XDP_DROP;
    c.verdict = SVR_VERDICT_DROP;
    c.reason = SVR_DROP_ICMP_TRUNCATED;
    return c;
}

// ---------------------------------------------------------------------------------------
// VLANs

Case vlanRewrite()
{
    const auto key = clientKey4(IPPROTO_UDP, 100);
    Case c{.name = "VlanTaggedInRewrittenOutKeepsPriority"};
    c.input = fromClient()
                  .vlan({.vid = 100, .pcp = 5})
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    auto value = natValue4();
    value.egress_vlan = 200;
    c.setup = session(key, value);
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .vlan({.vid = 200, .pcp = 5})
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63})
                   .udp({.src_port = kNatPort, .dst_port = kServerNatPort})
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case vlanPop()
{
    const auto key = clientKey4(IPPROTO_UDP, 100);
    Case c{.name = "VlanTaggedInUntaggedOutPopsTag"};
    c.input = fromClient()
                  .vlan(100)
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    c.setup = session(key, natValue4());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63})
                   .udp({.src_port = kNatPort, .dst_port = kServerNatPort})
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case vlanPush()
{
    const auto key = clientKey6(IPPROTO_UDP);
    Case c{.name = "UntaggedInTaggedOutPushesTag"};
    c.input = fromClient()
                  .ipv6({.src = kClient6, .dst = kServer6})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    auto value = natValue6();
    value.egress_vlan = 300;
    c.setup = session(key, value);
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .vlan(300)
                   .ipv6({.src = kNat6, .dst = kServerNat6, .hop_limit = 63})
                   .udp({.src_port = kNatPort, .dst_port = kServerNatPort})
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case qinqRewrite()
{
    const auto key = clientKey4(IPPROTO_TCP, 10); // keyed by the outer VID
    Case c{.name = "DoubleTaggedOuterTagRewritten"};
    c.input = fromClient()
                  .vlan(10, kEtherTypeQinQ)
                  .vlan(20)
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .tcp({.src_port = kClientPort, .dst_port = kServerPort})
                  .build();
    auto value = natValue4();
    value.egress_vlan = 30;
    c.setup = session(key, value);
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .vlan(30, kEtherTypeQinQ)
                   .vlan(20)
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63})
                   .tcp({.src_port = kNatPort, .dst_port = kServerNatPort})
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case vlanKeyMismatch()
{
    Case c{.name = "SessionOfOtherVlanIsAMiss"};
    c.input = fromClient()
                  .vlan(101)
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .build();
    c.setup = session(clientKey4(IPPROTO_UDP, 100), natValue4());
    c.action = XDP_DROP;
    c.verdict = SVR_VERDICT_DROP;
    c.reason = SVR_DROP_NO_PUNT_SOCKET;
    return c;
}

// ---------------------------------------------------------------------------------------
// DSCP, TTL

Case dscpRewrite4()
{
    const auto key = clientKey4(IPPROTO_UDP);
    Case c{.name = "Ipv4DscpRewrittenEcnKept"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4, .tos = (10 << 2) | 1})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .build();
    auto value = natValue4();
    value.dscp = 46;
    c.setup = session(key, value);
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63, .tos = (46 << 2) | 1})
                   .udp({.src_port = kNatPort, .dst_port = kServerNatPort})
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case dscpRewrite6()
{
    const auto key = clientKey6(IPPROTO_TCP);
    Case c{.name = "Ipv6DscpRewrittenEcnKept"};
    c.input = fromClient()
                  .ipv6({.src = kClient6, .dst = kServer6, .traffic_class = (8 << 2) | 2, .flow_label = 0xabcde})
                  .tcp({.src_port = kClientPort, .dst_port = kServerPort})
                  .build();
    auto value = natValue6();
    value.dscp = 34;
    c.setup = session(key, value);
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv6({.src = kNat6, .dst = kServerNat6, .hop_limit = 63,
                          .traffic_class = (34 << 2) | 2, .flow_label = 0xabcde})
                   .tcp({.src_port = kNatPort, .dst_port = kServerNatPort})
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

Case ttlExpired4()
{
    const auto key = clientKey4(IPPROTO_UDP);
    Case c{.name = "Ipv4Ttl1PassedUnmodified"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4, .ttl = 1})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .build();
    c.setup = session(key, natValue4());
    c.verdict = SVR_VERDICT_PASS;
    c.reason = SVR_PASS_TTL_EXPIRED;
    c.after = sessionUntouched(key);
    return c;
}

Case hopLimitExpired6()
{
    const auto key = clientKey6(IPPROTO_UDP);
    Case c{.name = "Ipv6HopLimit1PassedUnmodified"};
    c.input = fromClient()
                  .ipv6({.src = kClient6, .dst = kServer6, .hop_limit = 1})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .build();
    c.setup = session(key, natValue6());
    c.verdict = SVR_VERDICT_PASS;
    c.reason = SVR_PASS_TTL_EXPIRED;
    return c;
}

// ---------------------------------------------------------------------------------------
// Session actions and punts on a hit

Case denyAction()
{
    const auto key = clientKey4(IPPROTO_TCP);
    Case c{.name = "DropActionDropsAndCounts"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .tcp({.src_port = kClientPort, .dst_port = kServerPort, .flags = kTcpSyn})
                  .build();
    auto value = natValue4();
    value.action = SVR_ACTION_DROP;
    c.setup = session(key, value);
    c.action = XDP_DROP;
    c.verdict = SVR_VERDICT_DROP;
    c.reason = SVR_DROP_SESSION_DENY;
    c.after = sessionCounted(key, c.input.size(), SVR_TCP_SEEN_SYN);
    return c;
}

Case passAction()
{
    const auto key = clientKey4(IPPROTO_UDP);
    Case c{.name = "PassActionRewritesThenPasses"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    auto value = makeValue(kNat4, kNatPort, kRouterLocal4, 22);
    value.action = SVR_ACTION_PASS;
    c.setup = session(key, value);
    c.action = XDP_PASS;
    c.output = fromClient()
                   .ipv4({.src = kNat4, .dst = kRouterLocal4})
                   .udp({.src_port = kNatPort, .dst_port = 22})
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_PASS;
    c.reason = SVR_PASS_SESSION_ACTION;
    c.after = sessionCounted(key, c.input.size());
    return c;
}

Case puntHit(std::string name, std::function<void(svr_session_value&)> change, const Bytes& payload,
             unsigned reason, bool with_socket)
{
    const auto key = clientKey4(IPPROTO_UDP);
    Case c{.name = std::move(name)};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(payload)
                  .build();
    auto value = natValue4();
    change(value);
    c.setup = session(key, value);
    c.punt_socket = with_socket;
    if (with_socket) {
        c.action = XDP_REDIRECT;
        c.verdict = SVR_VERDICT_PUNT;
        c.reason = reason;
    } else {
        c.action = XDP_DROP;
        c.verdict = SVR_VERDICT_DROP;
        c.reason = SVR_DROP_NO_PUNT_SOCKET;
    }
    c.after = sessionUntouched(key);
    return c;
}

Case cookieOnTcpHit()
{
    const auto key = clientKey4(IPPROTO_TCP);
    Case c{.name = "SvrCookieOnTcpHitPunted"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .tcp({.src_port = kClientPort, .dst_port = kServerPort, .options = {1, 1, 1, 1}})
                  .payload(kCookie)
                  .build();
    c.setup = session(key, natValue4());
    c.punt_socket = true;
    c.action = XDP_REDIRECT;
    c.verdict = SVR_VERDICT_PUNT;
    c.reason = SVR_PUNT_COOKIE;
    return c;
}

Case almostCookieForwarded()
{
    const auto key = clientKey4(IPPROTO_UDP);
    Bytes almost = kCookie;
    almost[7] ^= 1;
    Case c{.name = "PayloadThatIsNotTheCookieForwarded"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(almost)
                  .build();
    c.setup = session(key, natValue4());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63})
                   .udp({.src_port = kNatPort, .dst_port = kServerNatPort})
                   .payload(almost)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    return c;
}

// The fast lane's edges (svr_fast_lane): packets at them take the lane or the generic path,
// with the same result either way.
Case paddedFrame4()
{
    const auto key = clientKey4(IPPROTO_UDP);
    const Bytes padding(6, 0);
    Case c{.name = "Ipv4EthernetPaddingForwardedAsIs"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .build();
    c.input.insert(c.input.end(), padding.begin(), padding.end());
    c.setup = session(key, natValue4());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63})
                   .udp({.src_port = kNatPort, .dst_port = kServerNatPort})
                   .build();
    c.output.insert(c.output.end(), padding.begin(), padding.end());
    c.verdict = SVR_VERDICT_FORWARD;
    c.after = sessionCounted(key, c.input.size());
    return c;
}

Case ttl2Forwarded4()
{
    const auto key = clientKey4(IPPROTO_TCP);
    Case c{.name = "Ipv4Ttl2ForwardedWithTtl1"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4, .ttl = 2})
                  .tcp({.src_port = kClientPort, .dst_port = kServerPort, .flags = kTcpAck})
                  .payload(kPayload)
                  .build();
    c.setup = session(key, natValue4());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 1})
                   .tcp({.src_port = kNatPort, .dst_port = kServerNatPort, .flags = kTcpAck})
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    c.after = sessionCounted(key, c.input.size(), SVR_TCP_SEEN_ACK);
    return c;
}

// 240/4 is not multicast: the generic parser looks it up like any unicast address.
Case reservedDestination4()
{
    const Ipv4Addr reserved = ipv4("240.0.0.7");
    const auto key = makeKey(IPPROTO_UDP, kClient4, kClientPort, reserved, kServerPort);
    Case c{.name = "Ipv4ReservedDestinationHitForwarded"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = reserved})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    c.setup = session(key, natValue4());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63})
                   .udp({.src_port = kNatPort, .dst_port = kServerNatPort})
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    c.after = sessionCounted(key, c.input.size());
    return c;
}

Case hopLimit2Forwarded6()
{
    const auto key = clientKey6(IPPROTO_UDP);
    Case c{.name = "Ipv6HopLimit2ForwardedWithHopLimit1"};
    c.input = fromClient()
                  .ipv6({.src = kClient6, .dst = kServer6, .hop_limit = 2})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    c.setup = session(key, natValue6());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv6({.src = kNat6, .dst = kServerNat6, .hop_limit = 1})
                   .udp({.src_port = kNatPort, .dst_port = kServerNatPort})
                   .payload(kPayload)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    c.after = sessionCounted(key, c.input.size());
    return c;
}

// A link-local source is never routed, session or not.
Case linkLocalSourceWithSession6()
{
    const Ipv6Addr linkLocal = ipv6("fe80::1");
    const auto key = makeKey(IPPROTO_UDP, linkLocal, kClientPort, kServer6, kServerPort);
    Case c{.name = "Ipv6LinkLocalSourcePassedDespiteASession"};
    c.input = fromClient()
                  .ipv6({.src = linkLocal, .dst = kServer6})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .build();
    c.setup = session(key, natValue6());
    c.verdict = SVR_VERDICT_PASS;
    c.reason = SVR_PASS_NOT_UNICAST;
    c.after = sessionUntouched(key);
    return c;
}

// The cookie's first byte after TCP options, the rest not the cookie: forwarded.
Case almostCookieAfterTcpOptions()
{
    const auto key = clientKey4(IPPROTO_TCP);
    Bytes almost = kCookie;
    almost[1] ^= 1;
    Case c{.name = "TcpPayloadLikeTheCookieAfterOptionsForwarded"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .tcp({.src_port = kClientPort, .dst_port = kServerPort, .flags = kTcpAck | kTcpFin,
                        .options = {1, 1, 1, 1, 1, 1, 1, 0}})
                  .payload(almost)
                  .build();
    c.setup = session(key, natValue4());
    c.action = XDP_REDIRECT;
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63})
                   .tcp({.src_port = kNatPort, .dst_port = kServerNatPort, .flags = kTcpAck | kTcpFin,
                         .options = {1, 1, 1, 1, 1, 1, 1, 0}})
                   .payload(almost)
                   .build();
    c.verdict = SVR_VERDICT_FORWARD;
    c.after = sessionCounted(key, c.input.size(), SVR_TCP_SEEN_ACK | SVR_TCP_SEEN_FIN);
    return c;
}

Case missingTxPort()
{
    const auto key = clientKey4(IPPROTO_UDP);
    Case c{.name = "EgressNotInTxPortsDropped"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .build();
    auto value = natValue4();
    value.egress_ifindex = 4000; // never in tx_ports
    c.setup = session(key, value);
    c.action = XDP_DROP;
    // The frame was already rewritten when the redirect failed; only the verdict matters.
    c.output = toNextHop()
                   .ipv4({.src = kNat4, .dst = kServerNat4, .ttl = 63})
                   .udp({.src_port = kNatPort, .dst_port = kServerNatPort})
                   .build();
    c.verdict = SVR_VERDICT_DROP;
    c.reason = SVR_DROP_NO_TX_PORT;
    c.after = sessionUntouched(key);
    return c;
}

// ---------------------------------------------------------------------------------------
// Misses

Case missNoSocket()
{
    Case c{.name = "MissWithoutPuntSocketDropped"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .tcp({.src_port = kClientPort, .dst_port = kServerPort, .flags = kTcpSyn})
                  .build();
    c.action = XDP_DROP;
    c.verdict = SVR_VERDICT_DROP;
    c.reason = SVR_DROP_NO_PUNT_SOCKET;
    return c;
}

Case missPunted(bool v6)
{
    Case c{.name = v6 ? "Ipv6MissPuntedToSocket" : "Ipv4MissPuntedToSocket"};
    if (v6) {
        c.input = fromClient()
                      .vlan(77)
                      .ipv6({.src = kClient6, .dst = kServer6})
                      .udp({.src_port = kClientPort, .dst_port = kServerPort})
                      .build();
    } else {
        c.input = fromClient()
                      .vlan(77)
                      .ipv4({.src = kClient4, .dst = kServer4})
                      .udp({.src_port = kClientPort, .dst_port = kServerPort})
                      .build();
    }
    c.punt_socket = true;
    c.action = XDP_REDIRECT;
    c.verdict = SVR_VERDICT_PUNT;
    c.reason = SVR_PUNT_MISS;
    return c;
}

Case localAddress(bool v6)
{
    Case c{.name = v6 ? "Ipv6LocalAddressPassed" : "Ipv4LocalAddressPassed"};
    if (v6) {
        c.input = fromClient()
                      .ipv6({.src = kClient6, .dst = kRouterLocal6})
                      .tcp({.src_port = kClientPort, .dst_port = 22, .flags = kTcpSyn})
                      .build();
        c.setup = [](XdpProgram& p) { p.addLocal(SVR_FAMILY_IPV6, kRouterLocal6, 0); };
    } else {
        c.input = fromClient()
                      .ipv4({.src = kClient4, .dst = kRouterLocal4})
                      .udp({.src_port = 49152, .dst_port = 1280}) // BFD
                      .build();
        c.setup = [](XdpProgram& p) {
            p.addLocal(SVR_FAMILY_IPV4, kRouterLocal4, SVR_LOCAL_F_WAYPOINT, 16385, 65533);
        };
    }
    c.verdict = SVR_VERDICT_PASS;
    c.reason = SVR_PASS_LOCAL;
    return c;
}

Case waypointPort(bool with_socket)
{
    Case c{.name = with_socket ? "WaypointPortPunted" : "WaypointPortWithoutSocketDropped"};
    c.input = fromClient()
                  .ipv4({.src = kTransit4, .dst = kRouterLocal4})
                  .udp({.src_port = 16400, .dst_port = 16500})
                  .payload(kCookie)
                  .build();
    c.setup = [](XdpProgram& p) {
        p.addLocal(SVR_FAMILY_IPV4, kRouterLocal4, SVR_LOCAL_F_WAYPOINT, 16385, 65533);
    };
    c.punt_socket = with_socket;
    c.action = with_socket ? XDP_REDIRECT : XDP_DROP;
    c.verdict = with_socket ? SVR_VERDICT_PUNT : SVR_VERDICT_DROP;
    c.reason = with_socket ? unsigned{SVR_PUNT_WAYPOINT} : unsigned{SVR_DROP_NO_PUNT_SOCKET};
    return c;
}

// ---------------------------------------------------------------------------------------
// Fragments

Case fragment4(bool with_socket)
{
    Case c{.name = with_socket ? "Ipv4FragmentPunted" : "Ipv4FragmentWithoutSocketDropped"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4, .more_fragments = true})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    c.setup = session(clientKey4(IPPROTO_UDP), natValue4()); // a hit does not matter
    c.punt_socket = with_socket;
    c.action = with_socket ? XDP_REDIRECT : XDP_DROP;
    c.verdict = with_socket ? SVR_VERDICT_PUNT : SVR_VERDICT_DROP;
    c.reason = with_socket ? unsigned{SVR_PUNT_FRAGMENT} : unsigned{SVR_DROP_NO_PUNT_SOCKET};
    return c;
}

Case laterFragment4()
{
    Case c{.name = "Ipv4LaterFragmentPunted"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4, .fragment_offset = 100, .protocol = IPPROTO_UDP})
                  .payload(kPayload)
                  .build();
    c.punt_socket = true;
    c.action = XDP_REDIRECT;
    c.verdict = SVR_VERDICT_PUNT;
    c.reason = SVR_PUNT_FRAGMENT;
    return c;
}

Case fragment6(bool with_socket)
{
    Case c{.name = with_socket ? "Ipv6FragmentPunted" : "Ipv6FragmentWithoutSocketDropped"};
    c.input = fromClient()
                  .ipv6({.src = kClient6, .dst = kServer6})
                  .ipv6Extension({.type = kIpv6HopByHop})
                  .ipv6Fragment({.offset = 0, .more_fragments = true, .id = 77})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    c.punt_socket = with_socket;
    c.action = with_socket ? XDP_REDIRECT : XDP_DROP;
    c.verdict = with_socket ? SVR_VERDICT_PUNT : SVR_VERDICT_DROP;
    c.reason = with_socket ? unsigned{SVR_PUNT_FRAGMENT} : unsigned{SVR_DROP_NO_PUNT_SOCKET};
    return c;
}

// ---------------------------------------------------------------------------------------
// Not for the fast path

Case arp()
{
    Case c{.name = "ArpPassedAsNotIp"};
    const Bytes arp_body = {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1,
                            0, 0, 0, 0, 0, 0, 10, 0, 0, 254};
    c.input = PacketBuilder()
                  .eth(mac("ff:ff:ff:ff:ff:ff"), kClientMac, kEtherTypeArp)
                  .payload(arp_body)
                  .build();
    c.verdict = SVR_VERDICT_PASS;
    c.reason = SVR_PASS_NOT_IP;
    return c;
}

Case unconfigured()
{
    Case c{.name = "UnconfiguredInterfacePassed"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .build();
    c.setup = [](XdpProgram& p) { p.setIface(kLoopbackIfindex, 0); };
    c.verdict = SVR_VERDICT_PASS;
    c.reason = SVR_PASS_UNCONFIGURED;
    return c;
}

Case broadcastMac()
{
    Case c{.name = "BroadcastMacPassedAsNotUnicast"};
    c.input = PacketBuilder()
                  .eth(mac("ff:ff:ff:ff:ff:ff"), kClientMac)
                  .ipv4({.src = kClient4, .dst = ipv4("10.0.0.255")})
                  .udp({.src_port = 68, .dst_port = 67})
                  .build();
    c.verdict = SVR_VERDICT_PASS;
    c.reason = SVR_PASS_NOT_UNICAST;
    return c;
}

Case multicastIp4()
{
    Case c{.name = "Ipv4MulticastPassedAsNotUnicast"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = ipv4("239.1.2.3")})
                  .udp({.src_port = 5000, .dst_port = 5000})
                  .build();
    c.verdict = SVR_VERDICT_PASS;
    c.reason = SVR_PASS_NOT_UNICAST;
    return c;
}

Case neighbourSolicitation()
{
    Case c{.name = "Ipv6NeighbourSolicitationPassed"};
    Bytes target(kRouterLocal6.begin(), kRouterLocal6.end());
    c.input = fromClient()
                  .ipv6({.src = kClient6, .dst = kRouterLocal6, .hop_limit = 255})
                  .icmp({.type = 135, .code = 0})
                  .payload(target)
                  .build();
    c.verdict = SVR_VERDICT_PASS;
    c.reason = SVR_PASS_NOT_UNICAST;
    return c;
}

Case linkLocal6()
{
    Case c{.name = "Ipv6LinkLocalDestinationPassed"};
    c.input = fromClient()
                  .ipv6({.src = ipv6("fe80::1"), .dst = ipv6("fe80::2")})
                  .udp({.src_port = 546, .dst_port = 547})
                  .build();
    c.verdict = SVR_VERDICT_PASS;
    c.reason = SVR_PASS_NOT_UNICAST;
    return c;
}

// ---------------------------------------------------------------------------------------
// Malformed packets: dropped, counted by layer

Case malformed(std::string name, Bytes input, unsigned reason)
{
    Case c{.name = std::move(name)};
    c.input = std::move(input);
    c.action = XDP_DROP;
    c.verdict = SVR_VERDICT_DROP;
    c.reason = reason;
    return c;
}

Bytes udp4Frame()
{
    return fromClient()
        .ipv4({.src = kClient4, .dst = kServer4})
        .udp({.src_port = kClientPort, .dst_port = kServerPort})
        .payload(kPayload)
        .build();
}

// Malformed packets whose addresses and ports have a session: dropped all the same.
Case malformedHit(std::string name, Bytes input, unsigned reason, svr_session_key key)
{
    Case c = malformed(std::move(name), std::move(input), reason);
    c.setup = session(key, key.family == SVR_FAMILY_IPV4 ? natValue4() : natValue6());
    c.after = sessionUntouched(key);
    return c;
}

std::vector<Case> malformedCases()
{
    std::vector<Case> cases;
    cases.push_back(malformedHit("Ipv4TotalLengthBeyondFrameOfASession",
                                 fromClient().ipv4({.src = kClient4, .dst = kServer4, .total_length = 200}).udp({.src_port = kClientPort, .dst_port = kServerPort}).build(),
                                 SVR_DROP_IPV4_BAD_HEADER, clientKey4(IPPROTO_UDP)));
    cases.push_back(malformedHit("TcpDataOffsetBeyondFrameOfASession",
                                 fromClient().ipv4({.src = kClient4, .dst = kServer4}).tcp({.src_port = kClientPort, .dst_port = kServerPort, .data_offset = 15}).build(),
                                 SVR_DROP_TCP_TRUNCATED, clientKey4(IPPROTO_TCP)));
    cases.push_back(malformedHit("Ipv6PayloadLengthBeyondFrameOfASession",
                                 fromClient().ipv6({.src = kClient6, .dst = kServer6, .payload_length = 100}).udp({.src_port = kClientPort, .dst_port = kServerPort}).build(),
                                 SVR_DROP_IPV6_BAD_HEADER, clientKey6(IPPROTO_UDP)));
    cases.push_back(malformedHit("Ipv6TcpDataOffsetBelow5OfASession",
                                 fromClient().ipv6({.src = kClient6, .dst = kServer6}).tcp({.src_port = kClientPort, .dst_port = kServerPort, .data_offset = 4}).build(),
                                 SVR_DROP_TCP_TRUNCATED, clientKey6(IPPROTO_TCP)));
    cases.push_back(malformed("VlanTagTruncated",
                              truncated(fromClient().vlan(5).ipv4({.src = kClient4, .dst = kServer4}).build(), 16),
                              SVR_DROP_VLAN_TRUNCATED));
    cases.push_back(malformed("InnerVlanTagTruncated",
                              truncated(fromClient().vlan(5, kEtherTypeQinQ).vlan(6).ipv4({.src = kClient4, .dst = kServer4}).build(), 20),
                              SVR_DROP_VLAN_TRUNCATED));
    cases.push_back(malformed("Ipv4HeaderTruncated", truncated(udp4Frame(), 14 + 19), SVR_DROP_IPV4_TRUNCATED));
    cases.push_back(malformed("Ipv4IhlBelow5",
                              fromClient().ipv4({.src = kClient4, .dst = kServer4, .ihl = 4}).udp({.src_port = 1, .dst_port = 2}).build(),
                              SVR_DROP_IPV4_BAD_HEADER));
    cases.push_back(malformed("Ipv4BadVersion",
                              fromClient().ipv4({.src = kClient4, .dst = kServer4, .version = 6}).udp({.src_port = 1, .dst_port = 2}).build(),
                              SVR_DROP_IPV4_BAD_HEADER));
    cases.push_back(malformed("Ipv4TotalLengthBeyondFrame",
                              fromClient().ipv4({.src = kClient4, .dst = kServer4, .total_length = 200}).udp({.src_port = 1, .dst_port = 2}).build(),
                              SVR_DROP_IPV4_BAD_HEADER));
    cases.push_back(malformed("Ipv4TotalLengthBelowHeader",
                              fromClient().ipv4({.src = kClient4, .dst = kServer4, .total_length = 19}).udp({.src_port = 1, .dst_port = 2}).build(),
                              SVR_DROP_IPV4_BAD_HEADER));
    cases.push_back(malformed("Ipv4OptionsBeyondFrame",
                              truncated(fromClient().ipv4({.src = kClient4, .dst = kServer4, .options = Bytes(40, 1), .total_length = 40}).build(), 14 + 40),
                              SVR_DROP_IPV4_BAD_HEADER));
    cases.push_back(malformed("Ipv6HeaderTruncated",
                              truncated(fromClient().ipv6({.src = kClient6, .dst = kServer6}).udp({.src_port = 1, .dst_port = 2}).build(), 14 + 39),
                              SVR_DROP_IPV6_TRUNCATED));
    cases.push_back(malformed("Ipv6BadVersion",
                              fromClient().ipv6({.src = kClient6, .dst = kServer6, .version = 4}).udp({.src_port = 1, .dst_port = 2}).build(),
                              SVR_DROP_IPV6_BAD_HEADER));
    cases.push_back(malformed("Ipv6PayloadLengthBeyondFrame",
                              fromClient().ipv6({.src = kClient6, .dst = kServer6, .payload_length = 100}).udp({.src_port = 1, .dst_port = 2}).build(),
                              SVR_DROP_IPV6_BAD_HEADER));
    {
        PacketBuilder b = fromClient();
        b.ipv6({.src = kClient6, .dst = kServer6});
        for (int i = 0; i < 5; ++i) {
            b.ipv6Extension({.type = kIpv6DestOptions});
        }
        cases.push_back(malformed("Ipv6ExtensionChainTooLong",
                                  b.udp({.src_port = 1, .dst_port = 2}).build(), SVR_DROP_IPV6_EXT_LIMIT));
    }
    cases.push_back(malformed("Ipv6ExtensionHeaderTruncated",
                              truncated(fromClient().ipv6({.src = kClient6, .dst = kServer6, .payload_length = 1}).ipv6Extension({.type = kIpv6HopByHop}).build(), 14 + 41),
                              SVR_DROP_IPV6_TRUNCATED));
    cases.push_back(malformed("TcpHeaderTruncated",
                              truncated(fromClient().ipv4({.src = kClient4, .dst = kServer4, .total_length = 30}).tcp({.src_port = 1, .dst_port = 2}).build(), 14 + 30),
                              SVR_DROP_TCP_TRUNCATED));
    cases.push_back(malformed("TcpDataOffsetBelow5",
                              fromClient().ipv4({.src = kClient4, .dst = kServer4}).tcp({.src_port = 1, .dst_port = 2, .data_offset = 4}).build(),
                              SVR_DROP_TCP_TRUNCATED));
    cases.push_back(malformed("TcpDataOffsetBeyondFrame",
                              fromClient().ipv6({.src = kClient6, .dst = kServer6}).tcp({.src_port = 1, .dst_port = 2, .data_offset = 15}).build(),
                              SVR_DROP_TCP_TRUNCATED));
    cases.push_back(malformed("UdpHeaderTruncated",
                              truncated(fromClient().ipv6({.src = kClient6, .dst = kServer6, .payload_length = 6}).udp({.src_port = 1, .dst_port = 2}).build(), 14 + 46),
                              SVR_DROP_UDP_TRUNCATED));
    cases.push_back(malformed("IcmpHeaderTruncated",
                              truncated(fromClient().ipv4({.src = kClient4, .dst = kServer4, .total_length = 24}).icmp(icmpv4EchoRequest(1, 1)).build(), 14 + 24),
                              SVR_DROP_ICMP_TRUNCATED));
    cases.push_back(malformed("Icmpv6HeaderTruncated",
                              truncated(fromClient().ipv6({.src = kClient6, .dst = kServer6, .payload_length = 4}).icmp(icmpv6EchoRequest(1, 1)).build(), 14 + 44),
                              SVR_DROP_ICMP_TRUNCATED));
    return cases;
}

std::vector<Case> allCases()
{
    const Bytes no_cookie = kPayload;
    std::vector<Case> cases = {
        tcpHit4(), udpHit4(), udpZeroChecksum4(), tcpHit6(), udpHit6(), udpHit6WithExtensions(),
        srcNatOnly4(), ipv4Options(), otherProtocolHit4(), rstMarksSession(),
        echoHit4(), echoHit6(), echoReplyHit4(),
        icmpErrorFromEndpoint4(), icmpErrorFromTransit4(), icmpErrorAboutEcho4(),
        packetTooBig6(), timeExceeded6(), icmpv6ErrorAboutEcho(), icmpErrorMiss(false), icmpErrorMiss(true), icmpErrorQuoteTruncated(),
        vlanRewrite(), vlanPop(), vlanPush(), qinqRewrite(), vlanKeyMismatch(),
        dscpRewrite4(), dscpRewrite6(), ttlExpired4(), hopLimitExpired6(),
        denyAction(), passAction(),
        puntHit("PuntActionWithoutSocketDropped", [](svr_session_value& v) { v.action = SVR_ACTION_PUNT; },
                no_cookie, SVR_PUNT_SESSION_ACTION, false),
        puntHit("PuntActionPunted", [](svr_session_value& v) { v.action = SVR_ACTION_PUNT; },
                no_cookie, SVR_PUNT_SESSION_ACTION, true),
        puntHit("MetadataPendingPunted",
                [](svr_session_value& v) { v.flags |= SVR_SESSION_F_METADATA_PENDING; }, no_cookie,
                SVR_PUNT_METADATA_PENDING, true),
        puntHit("SvrCookieOnUdpHitPunted", [](svr_session_value&) {}, kCookie, SVR_PUNT_COOKIE, true),
        puntHit("SvrCookieWithoutSocketDropped", [](svr_session_value&) {}, kCookie, SVR_PUNT_COOKIE,
                false),
        cookieOnTcpHit(), almostCookieForwarded(), missingTxPort(),
        paddedFrame4(), ttl2Forwarded4(), reservedDestination4(), almostCookieAfterTcpOptions(),
        hopLimit2Forwarded6(), linkLocalSourceWithSession6(),
        missNoSocket(), missPunted(false), missPunted(true), localAddress(false), localAddress(true),
        waypointPort(true), waypointPort(false),
        fragment4(true), fragment4(false), laterFragment4(), fragment6(true), fragment6(false),
        arp(), unconfigured(), broadcastMac(), multicastIp4(), neighbourSolicitation(), linkLocal6(),
    };
    for (Case& c : malformedCases()) {
        cases.push_back(std::move(c));
    }
    return cases;
}

static_assert(kTxIfindex == kLoopbackIfindex); // XdpCaseTest's tx port

class XdpFixtureTest : public XdpCaseTest<Case> {};

TEST_P(XdpFixtureTest, Run)
{
    const Case& c = GetParam();
    if (c.punt_socket) {
        ASSERT_NO_FATAL_FAILURE(bindPuntSocket());
        if (IsSkipped()) {
            return;
        }
    }
    if (c.setup) {
        c.setup(*program_);
    }

    const RunResult result = program_->run(c.input);

    expectOutput(result, c.action, c.input, c.output,
                 c.verdict == SVR_VERDICT_FORWARD || !c.output.empty());
    expectCountedOnce(program_->stats(), c.verdict, c.reason, c.input.size());

    if (c.verdict == SVR_VERDICT_PUNT) {
        ASSERT_EQ(result.metadata.size(), sizeof(svr_punt_meta)) << hexDump(result.metadata);
        svr_punt_meta meta{};
        std::memcpy(&meta, result.metadata.data(), sizeof meta);
        EXPECT_EQ(meta.magic, SVR_PUNT_MAGIC);
        EXPECT_EQ(meta.ingress_ifindex, kLoopbackIfindex);
        EXPECT_EQ(meta.reason, c.reason);
        const bool tagged = c.input[12] == 0x81 && c.input[13] == 0x00;
        EXPECT_EQ(meta.vlan_id, tagged ? ((c.input[14] & 0x0f) << 8 | c.input[15]) : 0);
    } else {
        EXPECT_TRUE(result.metadata.empty());
    }
    if (c.after) {
        c.after(*program_, result);
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, XdpFixtureTest, ::testing::ValuesIn(allCases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------
// DoS guard: state across packets, so not a single-packet fixture.

Bytes newSessionFrom(const Ipv4Addr& src, std::uint16_t sport)
{
    return fromClient()
        .ipv4({.src = src, .dst = kServer4})
        .tcp({.src_port = sport, .dst_port = kServerPort, .flags = kTcpSyn})
        .build();
}

TEST(XdpDosGuard, BurstThenOverLimitDropped)
{
    constexpr std::uint32_t kBurst = 4;
    std::string error;
    auto program = XdpProgram::load({.dos_new_sessions_per_s = 1, .dos_burst = kBurst}, error);
    ASSERT_TRUE(program) << error;
    program->setIface(kLoopbackIfindex, SVR_IFACE_F_ROUTER);

    // Each new session passes the guard (then finds no punt socket) until the burst is used.
    for (std::uint32_t i = 0; i < kBurst; ++i) {
        EXPECT_EQ(program->run(newSessionFrom(kClient4, static_cast<std::uint16_t>(2000 + i))).action, XDP_DROP);
    }
    auto stats = program->stats();
    EXPECT_EQ(stats.drop_packets[SVR_DROP_NO_PUNT_SOCKET], kBurst);
    EXPECT_EQ(stats.drop_packets[SVR_DROP_DOS_LIMIT], 0u);

    EXPECT_EQ(program->run(newSessionFrom(kClient4, 3000)).action, XDP_DROP);
    stats = program->stats();
    EXPECT_EQ(stats.drop_packets[SVR_DROP_DOS_LIMIT], 1u);
    EXPECT_EQ(stats.drop_packets[SVR_DROP_NO_PUNT_SOCKET], kBurst);

    // Another source has its own bucket.
    program->run(newSessionFrom(ipv4("10.0.0.2"), 3000));
    stats = program->stats();
    EXPECT_EQ(stats.drop_packets[SVR_DROP_DOS_LIMIT], 1u);
    EXPECT_EQ(stats.drop_packets[SVR_DROP_NO_PUNT_SOCKET], kBurst + 1);
}

TEST(XdpDosGuard, WaypointFirstPacketsTakeTokens)
{
    std::string error;
    auto program = XdpProgram::load({.dos_new_sessions_per_s = 1, .dos_burst = 2}, error);
    ASSERT_TRUE(program) << error;
    program->setIface(kLoopbackIfindex, SVR_IFACE_F_ROUTER);
    program->addLocal(SVR_FAMILY_IPV4, kRouterLocal4, SVR_LOCAL_F_WAYPOINT, 16385, 65533);
    for (std::uint16_t i = 0; i < 3; ++i) {
        const Bytes first = fromClient()
                                .ipv4({.src = kTransit4, .dst = kRouterLocal4})
                                .udp({.src_port = static_cast<std::uint16_t>(16400 + 2 * i),
                                      .dst_port = 16501})
                                .payload(kCookie)
                                .build();
        EXPECT_EQ(program->run(first).action, XDP_DROP);
    }
    const auto stats = program->stats();
    EXPECT_EQ(stats.drop_packets[SVR_DROP_NO_PUNT_SOCKET], 2u); // the burst
    EXPECT_EQ(stats.drop_packets[SVR_DROP_DOS_LIMIT], 1u);
}

TEST(XdpDosGuard, FragmentsTakeTokens)
{
    std::string error;
    auto program = XdpProgram::load({.dos_new_sessions_per_s = 1, .dos_burst = 2}, error);
    ASSERT_TRUE(program) << error;
    program->setIface(kLoopbackIfindex, SVR_IFACE_F_ROUTER);
    const Bytes fragment = fromClient()
                               .ipv4({.src = kClient4, .dst = kServer4, .more_fragments = true})
                               .udp({.src_port = 4000, .dst_port = kServerPort})
                               .payload({1, 2, 3, 4, 5, 6, 7, 8})
                               .build();
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(program->run(fragment).action, XDP_DROP);
    }
    const auto stats = program->stats();
    EXPECT_EQ(stats.drop_packets[SVR_DROP_NO_PUNT_SOCKET], 2u) << "the burst reached the punt";
    EXPECT_EQ(stats.drop_packets[SVR_DROP_DOS_LIMIT], 1u);
}

TEST(XdpDosGuard, EstablishedSessionsAndLocalTrafficNeverLimited)
{
    std::string error;
    auto program = XdpProgram::load({.dos_new_sessions_per_s = 1, .dos_burst = 1}, error);
    ASSERT_TRUE(program) << error;
    program->setIface(kLoopbackIfindex, SVR_IFACE_F_ROUTER);
    program->addTxPort(kTxIfindex);
    program->addSession(clientKey4(IPPROTO_UDP), natValue4());
    program->addLocal(SVR_FAMILY_IPV4, kRouterLocal4, 0);

    const Bytes hit = udp4Frame();
    const Bytes local = fromClient()
                            .ipv4({.src = kClient4, .dst = kRouterLocal4})
                            .tcp({.src_port = 5555, .dst_port = 22, .flags = kTcpSyn})
                            .build();
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(program->run(hit).action, XDP_REDIRECT);
        EXPECT_EQ(program->run(local).action, XDP_PASS);
    }
    const auto stats = program->stats();
    EXPECT_EQ(stats.verdict_packets[SVR_VERDICT_FORWARD], 5u);
    EXPECT_EQ(stats.pass_packets[SVR_PASS_LOCAL], 5u);
    EXPECT_EQ(stats.drop_packets[SVR_DROP_DOS_LIMIT], 0u);
    EXPECT_EQ(program->session(clientKey4(IPPROTO_UDP))->packets, 5u);
}

TEST(XdpDosGuard, RateZeroMeansNoLimit)
{
    std::string error;
    auto program = XdpProgram::load({.dos_new_sessions_per_s = 0, .dos_burst = 1}, error);
    ASSERT_TRUE(program) << error;
    program->setIface(kLoopbackIfindex, SVR_IFACE_F_ROUTER);
    for (std::uint16_t i = 0; i < 20; ++i) {
        program->run(newSessionFrom(kClient4, static_cast<std::uint16_t>(4000 + i)));
    }
    const auto stats = program->stats();
    EXPECT_EQ(stats.drop_packets[SVR_DROP_DOS_LIMIT], 0u);
    EXPECT_EQ(stats.drop_packets[SVR_DROP_NO_PUNT_SOCKET], 20u);
}

// The ETH_TRUNCATED check cannot be reached through BPF_PROG_TEST_RUN: the kernel refuses
// frames shorter than an Ethernet header before the program runs. Pin that down, so the gap
// in coverage is a known one.
std::uint64_t coarseNowNs()
{
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(now.tv_nsec);
}

// last_seen_ns comes from a clock value every CPU reuses within one jiffy: it must still be
// CLOCK_MONOTONIC_COARSE (a tick behind at most) and move on with the jiffies.
TEST(XdpSessionClock, LastSeenFollowsTheCoarseClockAcrossJiffies)
{
    std::string error;
    auto program = XdpProgram::load({}, error);
    ASSERT_TRUE(program) << error;
    program->setIface(kLoopbackIfindex, SVR_IFACE_F_ROUTER);
    program->addTxPort(kTxIfindex);
    const auto key = clientKey4(IPPROTO_UDP);
    program->addSession(key, natValue4());
    const Bytes frame = fromClient()
                            .ipv4({.src = kClient4, .dst = kServer4})
                            .udp({.src_port = kClientPort, .dst_port = kServerPort})
                            .payload(kPayload)
                            .build();
    constexpr std::uint64_t kTwoTicksNs = 2 * 10'000'000ULL; // HZ >= 100
    std::uint64_t previous = 0;
    for (int round = 0; round < 3; ++round) {
        const std::uint64_t before = coarseNowNs();
        ASSERT_EQ(program->run(frame).action, XDP_REDIRECT);
        const std::uint64_t after = coarseNowNs();
        const std::uint64_t seen = program->session(key)->last_seen_ns;
        EXPECT_GE(seen + kTwoTicksNs, before) << "round " << round;
        EXPECT_LE(seen, after) << "round " << round;
        EXPECT_GT(seen, previous) << "round " << round << ": the clock did not move on";
        previous = seen;
        ::usleep(30'000); // several jiffies at any HZ
    }
}

TEST(XdpTestRun, KernelRefusesFramesShorterThanEthernet)
{
    std::string error;
    auto program = XdpProgram::load({}, error);
    ASSERT_TRUE(program) << error;
    program->setIface(kLoopbackIfindex, SVR_IFACE_F_ROUTER);
    EXPECT_THROW(program->run(Bytes(13, 0xab)), std::runtime_error);
    EXPECT_EQ(program->stats().verdict_packets[SVR_VERDICT_DROP], 0u);
}

TEST(XdpStats, CountsInTheIngressInterfacesStatsSlot)
{
    std::string error;
    auto program = XdpProgram::load({}, error);
    ASSERT_TRUE(program) << error;
    // BPF_PROG_TEST_RUN needs a real device, so ifindexes beyond SVR_MAX_IFINDEX are not
    // reachable here (TcEgressNetnsTest covers them); lo counts in the slot its entry names.
    constexpr std::uint32_t kSlot = 77;
    program->setIface(kLoopbackIfindex, 0, 0, 1, kSlot);
    program->run(udp4Frame());
    EXPECT_EQ(program->stats(0).verdict_packets[SVR_VERDICT_PASS], 0u);
    EXPECT_EQ(program->stats(kLoopbackIfindex).verdict_packets[SVR_VERDICT_PASS], 0u);
    EXPECT_EQ(program->stats(kSlot).pass_packets[SVR_PASS_UNCONFIGURED], 1u);
}

TEST(XdpStats, InterfaceWithoutAnEntryCountsInSlotZero)
{
    std::string error;
    auto program = XdpProgram::load({}, error);
    ASSERT_TRUE(program) << error;
    program->run(udp4Frame()); // lo has no ifaces entry: svr never attached it
    EXPECT_EQ(program->stats(0).pass_packets[SVR_PASS_UNCONFIGURED], 1u);
    EXPECT_EQ(program->stats(kLoopbackIfindex).verdict_packets[SVR_VERDICT_PASS], 0u);
}

// The program finds every entry the controller's SessionStore placed (the same hash, tag and
// two buckets on both sides), in a table filled to its record limit (half its slots), and
// misses a key that is not there even where other keys share its buckets.
TEST(XdpSessionTable, EveryEntryOfAFullTableIsFoundAndOnlyThose)
{
    std::string error;
    auto program = XdpProgram::load({}, error);
    ASSERT_TRUE(program) << error;
    program->setIface(kLoopbackIfindex, SVR_IFACE_F_ROUTER);
    program->addTxPort(kTxIfindex);
    const std::uint32_t capacity = program->sessionMaps().store().capacity();
    for (std::uint32_t n = 0; n < capacity; ++n) {
        svr_session_value value = natValue4();
        value.session_id = n + 1;
        program->addSession(makeKey(IPPROTO_UDP, kClient4, static_cast<std::uint16_t>(2000 + n),
                                    kServer4, kServerPort),
                            value);
    }
    ASSERT_EQ(program->sessionMaps().store().used(), capacity);
    for (std::uint32_t n = 0; n <= capacity; ++n) {
        const Bytes frame =
            fromClient()
                .ipv4({.src = kClient4, .dst = kServer4})
                .udp({.src_port = static_cast<std::uint16_t>(2000 + n), .dst_port = kServerPort})
                .payload(kPayload)
                .build();
        const RunResult result = program->run(frame);
        if (n < capacity) {
            ASSERT_EQ(result.action, XDP_REDIRECT) << "entry " << n;
        } else {
            EXPECT_EQ(result.action, XDP_DROP) << "a key not in the table (no punt socket)";
        }
    }
    EXPECT_EQ(program->stats().verdict_packets[SVR_VERDICT_FORWARD], capacity);
    EXPECT_EQ(program->stats().drop_packets[SVR_DROP_NO_PUNT_SOCKET], 1u);
    // Each entry counted its own packet.
    for (std::uint32_t n = 0; n < capacity; n += 97) {
        auto value = program->session(
            makeKey(IPPROTO_UDP, kClient4, static_cast<std::uint16_t>(2000 + n), kServer4,
                    kServerPort));
        ASSERT_TRUE(value);
        EXPECT_EQ(value->packets, 1u) << n;
        EXPECT_EQ(value->session_id, n + 1);
    }
}

TEST(XdpSessionTable, AfterHalfAFullTableIsErasedTheRestIsFoundAndOnlyThat)
{
    // Erasing every other entry of a full table empties slots between those of entries that
    // stay, in the same buckets: the rest are still found, the erased ones are not.
    std::string error;
    auto program = XdpProgram::load({}, error);
    ASSERT_TRUE(program) << error;
    program->setIface(kLoopbackIfindex, SVR_IFACE_F_ROUTER);
    program->addTxPort(kTxIfindex);
    auto& store = program->sessionMaps().store();
    const std::uint32_t capacity = store.capacity();
    auto keyOf = [](std::uint32_t n) {
        return makeKey(IPPROTO_UDP, kClient4, static_cast<std::uint16_t>(2000 + n), kServer4,
                       kServerPort);
    };
    for (std::uint32_t n = 0; n < capacity; ++n) {
        program->addSession(keyOf(n), natValue4());
    }
    for (std::uint32_t n = 0; n < capacity; n += 2) {
        ASSERT_TRUE(store.erase(keyOf(n))) << n;
    }
    std::uint32_t forwarded = 0;
    for (std::uint32_t n = 0; n < capacity; ++n) {
        const Bytes frame =
            fromClient()
                .ipv4({.src = kClient4, .dst = kServer4})
                .udp({.src_port = static_cast<std::uint16_t>(2000 + n), .dst_port = kServerPort})
                .payload(kPayload)
                .build();
        const RunResult result = program->run(frame);
        ASSERT_EQ(result.action, n % 2 == 0 ? XDP_DROP : XDP_REDIRECT) << "entry " << n;
        forwarded += result.action == XDP_REDIRECT ? 1 : 0;
    }
    EXPECT_EQ(forwarded, capacity / 2);
    EXPECT_EQ(program->stats().drop_packets[SVR_DROP_NO_PUNT_SOCKET], capacity - capacity / 2);
}

} // namespace
} // namespace svr::test

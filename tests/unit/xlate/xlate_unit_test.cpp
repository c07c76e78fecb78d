// Family translation in user space: buildForwardSession/buildReverseSession mark the entries
// (new_family) and rewriteFrame builds the translated frame svrd sends for first packets.
// Expected frames come from the packet builder, every checksum summed from scratch.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "fastpath/session.hpp"
#include "packet_builder.hpp"
#include "svrd/packet.hpp"

namespace {

using namespace svr::test;
namespace fp = svr::fastpath;
using svr::svrd::parseFrame;
using svr::svrd::rewriteFrame;

const MacAddr kClientMac = mac("02:00:00:00:00:01");
const MacAddr kRouterInMac = mac("02:00:00:00:01:01");
const MacAddr kRouterOutMac = mac("02:00:00:00:02:01");
const MacAddr kPeerMac = mac("02:00:00:00:02:02");

fp::IpAddress address(std::string_view text)
{
    auto parsed = fp::parseIpAddress(text);
    if (!parsed) {
        throw std::invalid_argument(std::string(text));
    }
    return *parsed;
}

template <std::size_t N>
bool sameBytes(const std::uint8_t* raw, const std::array<std::uint8_t, N>& expected)
{
    return std::memcmp(raw, expected.data(), N) == 0;
}

// An IPv4 client session leaving over IPv6 waypoints, as svrd's first router builds it.
fp::SessionSpec v4OverV6()
{
    fp::SessionSpec spec;
    spec.ingressIfindex = 3;
    spec.proto = IPPROTO_TCP;
    spec.source = address("10.1.1.10");
    spec.destination = address("10.2.1.10");
    spec.sourcePort = 40000;
    spec.destinationPort = 80;
    spec.newSource = address("2001:db8:2::1");
    spec.newSourcePort = 20001;
    spec.newDestination = address("2001:db8:2::2");
    spec.newDestinationPort = 30001;
    spec.nextHop = fp::NextHop{.egressIfindex = 5, .srcMac = {}, .dstMac = {}, .useFib = false,
                               .egressVlan = 0};
    return spec;
}

TEST(XlateSession, ForwardEntryMarksTheOtherFamily)
{
    auto forward = fp::buildForwardSession(v4OverV6());
    ASSERT_TRUE(forward.ok()) << forward.error().describe();
    EXPECT_EQ(forward->key.family, SVR_FAMILY_IPV4);
    EXPECT_EQ(forward->value.new_family, SVR_FAMILY_IPV6);
    EXPECT_TRUE(sameBytes(forward->value.new_src_addr, ipv6("2001:db8:2::1")));
    EXPECT_TRUE(sameBytes(forward->value.new_dst_addr, ipv6("2001:db8:2::2")));
    EXPECT_EQ(fp::rewrittenFamily(forward->key, forward->value), SVR_FAMILY_IPV6);
}

TEST(XlateSession, ReverseEntryIsKeyedInTheWaypointFamilyAndRestoresTheClients)
{
    auto forward = fp::buildForwardSession(v4OverV6());
    ASSERT_TRUE(forward.ok());
    const fp::SessionEntry reverse = fp::buildReverseSession(
        *forward, fp::NextHop{.egressIfindex = 3, .srcMac = {}, .dstMac = {}, .useFib = false,
                              .egressVlan = 0});
    EXPECT_EQ(reverse.key.family, SVR_FAMILY_IPV6);
    EXPECT_TRUE(sameBytes(reverse.key.src_addr, ipv6("2001:db8:2::2")));
    EXPECT_TRUE(sameBytes(reverse.key.dst_addr, ipv6("2001:db8:2::1")));
    EXPECT_EQ(ntohs(reverse.key.src_port), 30001);
    EXPECT_EQ(ntohs(reverse.key.dst_port), 20001);
    EXPECT_EQ(reverse.key.ingress_ifindex, 5u);
    EXPECT_EQ(reverse.value.new_family, SVR_FAMILY_IPV4);
    EXPECT_TRUE(sameBytes(reverse.value.new_src_addr, ipv4("10.2.1.10")));
    EXPECT_TRUE(sameBytes(reverse.value.new_dst_addr, ipv4("10.1.1.10")));
    const std::array<std::uint8_t, 12> zeros{};
    EXPECT_TRUE(sameBytes(reverse.value.new_src_addr + 4, zeros)); // IPv4 layout in 16 bytes
}

TEST(XlateSession, SameFamilyEntriesCarryNoMarker)
{
    fp::SessionSpec spec = v4OverV6();
    spec.newSource = address("192.0.2.1");
    spec.newDestination = address("192.0.2.2");
    auto forward = fp::buildForwardSession(spec);
    ASSERT_TRUE(forward.ok());
    EXPECT_EQ(forward->value.new_family, 0);
    EXPECT_EQ(fp::buildReverseSession(*forward, spec.nextHop).value.new_family, 0);
}

TEST(XlateSession, RefusesWhatTheFastPathCannotTranslate)
{
    fp::SessionSpec halfSource = v4OverV6();
    halfSource.newDestination.reset();
    EXPECT_FALSE(fp::buildForwardSession(halfSource).ok()) << "only one new address";
    fp::SessionSpec mixed = v4OverV6();
    mixed.newDestination = address("192.0.2.2");
    EXPECT_FALSE(fp::buildForwardSession(mixed).ok()) << "new addresses of two families";
    fp::SessionSpec icmp = v4OverV6();
    icmp.proto = IPPROTO_ICMP;
    icmp.destinationPort = 0;
    icmp.newDestinationPort.reset();
    EXPECT_FALSE(fp::buildForwardSession(icmp).ok()) << "ICMP";
    fp::SessionSpec fib = v4OverV6();
    fib.nextHop.useFib = true;
    EXPECT_FALSE(fp::buildForwardSession(fib).ok()) << "FIB next hop";
    fp::SessionSpec pass = v4OverV6();
    pass.action = SVR_ACTION_PASS;
    const auto refused = fp::buildForwardSession(pass);
    ASSERT_FALSE(refused.ok()) << "pass action";
    EXPECT_NE(refused.error().message.find("IPv4 and IPv6"), std::string::npos);
}

svr_session_value towards(std::span<const std::uint8_t> src, std::uint16_t sport,
                          std::span<const std::uint8_t> dst, std::uint16_t dport,
                          std::uint8_t family)
{
    svr_session_value value{};
    std::memcpy(value.new_src_addr, src.data(), src.size());
    std::memcpy(value.new_dst_addr, dst.data(), dst.size());
    value.new_src_port = htons(sport);
    value.new_dst_port = htons(dport);
    std::memcpy(value.dst_mac, kPeerMac.data(), 6);
    std::memcpy(value.src_mac, kRouterOutMac.data(), 6);
    value.flags = SVR_SESSION_F_REWRITE_SRC | SVR_SESSION_F_REWRITE_DST;
    value.new_family = family;
    return value;
}

Bytes rewritten(const Bytes& frame, const svr_session_value& value)
{
    const auto parsed = parseFrame(frame);
    if (!parsed.packet) {
        ADD_FAILURE() << "input does not parse";
        return {};
    }
    return rewriteFrame(frame, *parsed.packet, value);
}

const Bytes kSynOptions = {2, 4, 0x05, 0xb4, 1, 1, 4, 2}; // MSS 1460, NOP, NOP, SACK ok

TEST(XlateFrame, Ipv4TcpSynBecomesIpv6BetweenWaypoints)
{
    const Bytes frame = PacketBuilder()
                            .eth(kRouterInMac, kClientMac)
                            .ipv4({.src = ipv4("10.1.1.10"), .dst = ipv4("10.2.1.10"), .ttl = 64,
                                   .tos = 0x28, .id = 99, .dont_fragment = true})
                            .tcp({.src_port = 40000, .dst_port = 80, .seq = 7, .flags = kTcpSyn,
                                  .options = kSynOptions})
                            .build();
    const Bytes out = rewritten(
        frame, towards(ipv6("2001:db8:2::1"), 20001, ipv6("2001:db8:2::2"), 30001, SVR_FAMILY_IPV6));
    const Bytes expected = PacketBuilder()
                               .eth(kPeerMac, kRouterOutMac)
                               .ipv6({.src = ipv6("2001:db8:2::1"), .dst = ipv6("2001:db8:2::2"),
                                      .hop_limit = 63, .traffic_class = 0x28})
                               .tcp({.src_port = 20001, .dst_port = 30001, .seq = 7, .flags = kTcpSyn,
                                     .options = kSynOptions})
                               .build();
    EXPECT_EQ(out, expected) << hexDiff(expected, out);
    EXPECT_EQ(checksumErrors(out), "");
}

TEST(XlateFrame, Ipv6UdpBecomesIpv4WithDontFragment)
{
    const Bytes frame = PacketBuilder()
                            .eth(kRouterInMac, kClientMac)
                            .ipv6({.src = ipv6("fd00:1:1::10"), .dst = ipv6("fd00:2:1::11"),
                                   .hop_limit = 5, .traffic_class = 0xb9, .flow_label = 77})
                            .udp({.src_port = 5000, .dst_port = 7})
                            .payload(Bytes(333, 0x5a))
                            .build();
    const Bytes out = rewritten(
        frame, towards(ipv4("192.0.2.1"), 20002, ipv4("192.0.2.2"), 30002, SVR_FAMILY_IPV4));
    const Bytes expected = PacketBuilder()
                               .eth(kPeerMac, kRouterOutMac)
                               .ipv4({.src = ipv4("192.0.2.1"), .dst = ipv4("192.0.2.2"), .ttl = 4,
                                      .tos = 0xb9, .id = 0, .dont_fragment = true})
                               .udp({.src_port = 20002, .dst_port = 30002})
                               .payload(Bytes(333, 0x5a))
                               .build();
    EXPECT_EQ(out, expected) << hexDiff(expected, out);
    EXPECT_EQ(checksumErrors(out), "");
}

TEST(XlateFrame, Ipv4UdpWithoutChecksumGetsOneAsIpv6)
{
    const Bytes frame = PacketBuilder()
                            .eth(kRouterInMac, kClientMac)
                            .ipv4({.src = ipv4("10.1.1.10"), .dst = ipv4("10.2.1.11")})
                            .udp({.src_port = 5000, .dst_port = 7, .checksum = 0})
                            .payload(Bytes(20, 0x11))
                            .build();
    const Bytes out = rewritten(
        frame, towards(ipv6("2001:db8:2::1"), 20003, ipv6("2001:db8:2::2"), 30003, SVR_FAMILY_IPV6));
    const Bytes expected = PacketBuilder()
                               .eth(kPeerMac, kRouterOutMac)
                               .ipv6({.src = ipv6("2001:db8:2::1"), .dst = ipv6("2001:db8:2::2"), .hop_limit = 63})
                               .udp({.src_port = 20003, .dst_port = 30003})
                               .payload(Bytes(20, 0x11))
                               .build();
    EXPECT_EQ(out, expected) << hexDiff(expected, out);
    EXPECT_EQ(checksumErrors(out), "");
}

TEST(XlateFrame, Ipv4OptionsAreDroppedAndTheEgressTagWritten)
{
    const Bytes frame = PacketBuilder()
                            .eth(kRouterInMac, kClientMac)
                            .vlan(100)
                            .ipv4({.src = ipv4("10.1.1.10"), .dst = ipv4("10.2.1.10"),
                                   .options = {0x94, 0x04, 0x00, 0x00}})
                            .tcp({.src_port = 40000, .dst_port = 80, .flags = kTcpAck})
                            .payload(Bytes(10, 0x22))
                            .build();
    svr_session_value value =
        towards(ipv6("2001:db8:2::1"), 20004, ipv6("2001:db8:2::2"), 30004, SVR_FAMILY_IPV6);
    value.egress_vlan = 200;
    const Bytes out = rewritten(frame, value);
    const Bytes expected = PacketBuilder()
                               .eth(kPeerMac, kRouterOutMac)
                               .vlan(200)
                               .ipv6({.src = ipv6("2001:db8:2::1"), .dst = ipv6("2001:db8:2::2"), .hop_limit = 63})
                               .tcp({.src_port = 20004, .dst_port = 30004, .flags = kTcpAck})
                               .payload(Bytes(10, 0x22))
                               .build();
    EXPECT_EQ(out, expected) << hexDiff(expected, out);
    EXPECT_EQ(checksumErrors(out), "");
}

TEST(XlateFrame, FragmentationNeededQuotesThePacketBackToItsSender)
{
    const Bytes frame = PacketBuilder()
                            .eth(kRouterInMac, kClientMac)
                            .vlan(100)
                            .ipv4({.src = ipv4("10.1.1.10"), .dst = ipv4("10.2.1.10"),
                                   .dont_fragment = true})
                            .udp({.src_port = 5000, .dst_port = 5201})
                            .payload(Bytes(1460, 0x77))
                            .build();
    const Bytes ipPacket(frame.begin() + 18, frame.end());
    const auto parsed = parseFrame(frame);
    ASSERT_TRUE(parsed.packet);
    svr_session_value back{}; // the reverse entry: towards the client
    std::memcpy(back.dst_mac, kClientMac.data(), 6);
    std::memcpy(back.src_mac, kRouterInMac.data(), 6);
    back.egress_vlan = 100;
    const Bytes out = svr::svrd::fragmentationNeeded(frame, *parsed.packet, back,
                                                     address("10.1.1.1"), 1480);
    const Bytes expected = PacketBuilder()
                               .eth(kClientMac, kRouterInMac)
                               .vlan(100)
                               .ipv4({.src = ipv4("10.1.1.1"), .dst = ipv4("10.1.1.10"), .ttl = 64,
                                      .tos = 0xc0})
                               .icmp(icmpv4DestUnreachable(4, 1480))
                               .payload(quoted(ipPacket, 576 - 28))
                               .build();
    EXPECT_EQ(out, expected) << hexDiff(expected, out);
    EXPECT_EQ(checksumErrors(out), "");
}

} // namespace

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "packet_builder.hpp"
#include "svrd/packet.hpp"

namespace {

using namespace svr::test;
using svr::svrd::ParseFailure;
using svr::svrd::parseFrame;
using svr::svrd::rewriteFrame;
using svr::svrd::sessionKey;

const MacAddr kClientMac = mac("02:00:00:00:00:01");
const MacAddr kRouterInMac = mac("02:00:00:00:01:01");
const MacAddr kRouterOutMac = mac("02:00:00:00:02:01");
const MacAddr kServerMac = mac("02:00:00:00:02:02");

template <std::size_t N>
bool bytesEqual(const std::uint8_t* raw, const std::array<std::uint8_t, N>& expected)
{
    return std::memcmp(raw, expected.data(), N) == 0;
}

Bytes tcpSyn()
{
    return PacketBuilder()
        .eth(kRouterInMac, kClientMac)
        .ipv4({.src = ipv4("10.1.0.2"), .dst = ipv4("10.2.0.10"), .ttl = 64})
        .tcp({.src_port = 40000, .dst_port = 80, .seq = 7, .flags = kTcpSyn})
        .build();
}

// The session value a route with DNAT to 10.2.0.20:8080 and SNAT to 10.2.0.1:20001 gives.
svr_session_value natValueV4()
{
    svr_session_value value{};
    const auto src = ipv4("10.2.0.1");
    const auto dst = ipv4("10.2.0.20");
    std::memcpy(value.new_src_addr, src.data(), 4);
    std::memcpy(value.new_dst_addr, dst.data(), 4);
    value.new_src_port = htons(20001);
    value.new_dst_port = htons(8080);
    std::memcpy(value.dst_mac, kServerMac.data(), 6);
    std::memcpy(value.src_mac, kRouterOutMac.data(), 6);
    value.flags = SVR_SESSION_F_REWRITE_SRC | SVR_SESSION_F_REWRITE_DST;
    return value;
}

TEST(PacketParse, Ipv4TcpSynGivesTheFastPathKey)
{
    const Bytes frame = tcpSyn();
    const auto parsed = parseFrame(frame);
    ASSERT_TRUE(parsed.packet);
    const auto& packet = *parsed.packet;
    EXPECT_EQ(packet.family, SVR_FAMILY_IPV4);
    EXPECT_EQ(packet.proto, IPPROTO_TCP);
    EXPECT_TRUE(packet.isTcpSyn());
    EXPECT_EQ(packet.ttl, 64);
    EXPECT_EQ(packet.srcMac, kClientMac);
    const svr_session_key key = sessionKey(packet, 7);
    EXPECT_EQ(key.ingress_ifindex, 7U);
    EXPECT_EQ(key.vlan_id, 0);
    EXPECT_EQ(key.family, SVR_FAMILY_IPV4);
    EXPECT_EQ(key.proto, IPPROTO_TCP);
    EXPECT_TRUE(bytesEqual(key.src_addr, ipv4("10.1.0.2")));
    EXPECT_TRUE(bytesEqual(key.dst_addr, ipv4("10.2.0.10")));
    EXPECT_EQ(key.src_addr[4], 0); // IPv4 uses bytes 0..3 only
    EXPECT_EQ(ntohs(key.src_port), 40000);
    EXPECT_EQ(ntohs(key.dst_port), 80);
}

TEST(PacketParse, SynAckAndAckAreNotSessionOpeners)
{
    for (const std::uint8_t flags : {std::uint8_t(kTcpSyn | kTcpAck), kTcpAck, kTcpRst}) {
        const Bytes frame = PacketBuilder()
                                .eth(kRouterInMac, kClientMac)
                                .ipv4({.src = ipv4("10.1.0.2"), .dst = ipv4("10.2.0.10")})
                                .tcp({.src_port = 1, .dst_port = 2, .flags = flags})
                                .build();
        const auto parsed = parseFrame(frame);
        ASSERT_TRUE(parsed.packet);
        EXPECT_FALSE(parsed.packet->isTcpSyn()) << int(flags);
    }
}

TEST(PacketParse, Ipv6UdpKey)
{
    const Bytes frame = PacketBuilder()
                            .eth(kRouterInMac, kClientMac)
                            .ipv6({.src = ipv6("fd00:1::2"), .dst = ipv6("fd00:2::10"), .hop_limit = 5})
                            .udp({.src_port = 5353, .dst_port = 53})
                            .payload({1, 2, 3})
                            .build();
    const auto parsed = parseFrame(frame);
    ASSERT_TRUE(parsed.packet);
    const svr_session_key key = sessionKey(*parsed.packet, 3);
    EXPECT_EQ(key.family, SVR_FAMILY_IPV6);
    EXPECT_EQ(key.proto, IPPROTO_UDP);
    EXPECT_TRUE(bytesEqual(key.src_addr, ipv6("fd00:1::2")));
    EXPECT_TRUE(bytesEqual(key.dst_addr, ipv6("fd00:2::10")));
    EXPECT_EQ(ntohs(key.src_port), 5353);
    EXPECT_EQ(ntohs(key.dst_port), 53);
    EXPECT_EQ(parsed.packet->ttl, 5);
}

TEST(PacketParse, IcmpEchoKeysTheIdentifierAsSourcePort)
{
    const Bytes v4 = PacketBuilder()
                         .eth(kRouterInMac, kClientMac)
                         .ipv4({.src = ipv4("10.1.0.2"), .dst = ipv4("10.2.0.10")})
                         .icmp(icmpv4EchoRequest(0x1234, 9))
                         .build();
    const auto parsed4 = parseFrame(v4);
    ASSERT_TRUE(parsed4.packet);
    EXPECT_TRUE(parsed4.packet->isEchoRequest());
    const svr_session_key key4 = sessionKey(*parsed4.packet, 1);
    EXPECT_EQ(ntohs(key4.src_port), 0x1234);
    EXPECT_EQ(key4.dst_port, 0);

    const Bytes v6 = PacketBuilder()
                         .eth(kRouterInMac, kClientMac)
                         .ipv6({.src = ipv6("fd00:1::2"), .dst = ipv6("fd00:2::10")})
                         .icmp(icmpv6EchoRequest(0x4321, 1))
                         .build();
    const auto parsed6 = parseFrame(v6);
    ASSERT_TRUE(parsed6.packet);
    EXPECT_EQ(parsed6.packet->proto, IPPROTO_ICMPV6);
    EXPECT_TRUE(parsed6.packet->isEchoRequest());
    EXPECT_EQ(ntohs(sessionKey(*parsed6.packet, 1).src_port), 0x4321);

    const Bytes reply = PacketBuilder()
                            .eth(kRouterInMac, kClientMac)
                            .ipv4({.src = ipv4("10.1.0.2"), .dst = ipv4("10.2.0.10")})
                            .icmp(icmpv4EchoReply(1, 1))
                            .build();
    const auto parsedReply = parseFrame(reply);
    ASSERT_TRUE(parsedReply.packet);
    EXPECT_FALSE(parsedReply.packet->isEchoRequest());
    EXPECT_TRUE(parsedReply.packet->isEchoReply());
}

TEST(PacketParse, VlanTagGivesTheKeyItsVid)
{
    const Bytes frame = PacketBuilder()
                            .eth(kRouterInMac, kClientMac)
                            .vlan(100)
                            .ipv4({.src = ipv4("10.1.0.2"), .dst = ipv4("10.2.0.10")})
                            .udp({.src_port = 1, .dst_port = 2})
                            .build();
    const auto parsed = parseFrame(frame);
    ASSERT_TRUE(parsed.packet);
    EXPECT_TRUE(parsed.packet->vlanTagged);
    EXPECT_EQ(sessionKey(*parsed.packet, 1).vlan_id, 100);
}

TEST(PacketParse, EveryTruncationIsAFailureNeverACrash)
{
    for (const Bytes& frame :
         {tcpSyn(),
          PacketBuilder()
              .eth(kRouterInMac, kClientMac)
              .ipv6({.src = ipv6("fd00:1::2"), .dst = ipv6("fd00:2::10")})
              .udp({.src_port = 1, .dst_port = 2})
              .payload({1, 2, 3, 4})
              .build()}) {
        for (std::size_t length = 0; length < frame.size(); ++length) {
            const auto parsed = parseFrame(truncated(frame, length));
            EXPECT_FALSE(parsed.packet) << "accepted a frame cut at " << length;
        }
        EXPECT_TRUE(parseFrame(frame).packet);
    }
}

TEST(PacketParse, MalformedAndUnsupportedAreNamed)
{
    const Bytes badIhl = PacketBuilder()
                             .eth(kRouterInMac, kClientMac)
                             .ipv4({.src = ipv4("10.1.0.2"), .dst = ipv4("10.2.0.10"), .ihl = 4})
                             .udp({.src_port = 1, .dst_port = 2})
                             .build();
    EXPECT_EQ(parseFrame(badIhl).failure, ParseFailure::badIpHeader);

    const Bytes fragment = PacketBuilder()
                               .eth(kRouterInMac, kClientMac)
                               .ipv4({.src = ipv4("10.1.0.2"), .dst = ipv4("10.2.0.10"),
                                      .more_fragments = true})
                               .udp({.src_port = 1, .dst_port = 2})
                               .build();
    EXPECT_EQ(parseFrame(fragment).failure, ParseFailure::fragment);

    const Bytes fragment6 = PacketBuilder()
                                .eth(kRouterInMac, kClientMac)
                                .ipv6({.src = ipv6("fd00:1::2"), .dst = ipv6("fd00:2::10")})
                                .ipv6Fragment({.offset = 0, .more_fragments = true, .id = 1})
                                .udp({.src_port = 1, .dst_port = 2})
                                .build();
    EXPECT_EQ(parseFrame(fragment6).failure, ParseFailure::fragment);

    const Bytes arp = PacketBuilder().eth(kRouterInMac, kClientMac, kEtherTypeArp).payload(Bytes(28, 0)).build();
    EXPECT_EQ(parseFrame(arp).failure, ParseFailure::notIp);

    const Bytes gre = PacketBuilder()
                          .eth(kRouterInMac, kClientMac)
                          .ipv4({.src = ipv4("10.1.0.2"), .dst = ipv4("10.2.0.10"), .protocol = 47})
                          .payload(Bytes(8, 0))
                          .build();
    EXPECT_EQ(parseFrame(gre).failure, ParseFailure::unsupportedProtocol);

    Bytes shortTcp = tcpSyn();
    shortTcp[14 + 20 + 12] = 0x40; // data offset 4 words (< 5)
    EXPECT_EQ(parseFrame(shortTcp).failure, ParseFailure::truncated);
}

TEST(PacketRewrite, Ipv4TcpNatMatchesAnIndependentlyBuiltFrame)
{
    const Bytes frame = tcpSyn();
    const auto parsed = parseFrame(frame);
    ASSERT_TRUE(parsed.packet);
    const Bytes out = rewriteFrame(frame, *parsed.packet, natValueV4());
    const Bytes expected = PacketBuilder()
                               .eth(kServerMac, kRouterOutMac)
                               .ipv4({.src = ipv4("10.2.0.1"), .dst = ipv4("10.2.0.20"), .ttl = 63})
                               .tcp({.src_port = 20001, .dst_port = 8080, .seq = 7, .flags = kTcpSyn})
                               .build();
    EXPECT_EQ(out, expected) << hexDiff(expected, out);
    EXPECT_EQ(checksumErrors(out), "");
}

TEST(PacketRewrite, WithoutNatOnlyTtlMacsAndChecksumsChange)
{
    const Bytes frame = PacketBuilder()
                            .eth(kRouterInMac, kClientMac)
                            .ipv6({.src = ipv6("fd00:1::2"), .dst = ipv6("fd00:2::10"), .hop_limit = 9})
                            .udp({.src_port = 5000, .dst_port = 5201})
                            .payload(Bytes(100, 0x5a))
                            .build();
    const auto parsed = parseFrame(frame);
    ASSERT_TRUE(parsed.packet);
    svr_session_value value{};
    std::memcpy(value.new_src_addr, ipv6("fd00:1::2").data(), 16);
    std::memcpy(value.new_dst_addr, ipv6("fd00:2::10").data(), 16);
    value.new_src_port = htons(5000);
    value.new_dst_port = htons(5201);
    std::memcpy(value.dst_mac, kServerMac.data(), 6);
    std::memcpy(value.src_mac, kRouterOutMac.data(), 6);
    const Bytes out = rewriteFrame(frame, *parsed.packet, value);
    const Bytes expected = PacketBuilder()
                               .eth(kServerMac, kRouterOutMac)
                               .ipv6({.src = ipv6("fd00:1::2"), .dst = ipv6("fd00:2::10"), .hop_limit = 8})
                               .udp({.src_port = 5000, .dst_port = 5201})
                               .payload(Bytes(100, 0x5a))
                               .build();
    EXPECT_EQ(out, expected) << hexDiff(expected, out);
    EXPECT_EQ(checksumErrors(out), "");
}

TEST(PacketRewrite, IcmpEchoIdentifierIsTranslated)
{
    for (const bool v6 : {false, true}) {
        PacketBuilder in;
        in.eth(kRouterInMac, kClientMac);
        if (v6) {
            in.ipv6({.src = ipv6("fd00:1::2"), .dst = ipv6("fd00:2::10")}).icmp(icmpv6EchoRequest(0x1111, 3));
        } else {
            in.ipv4({.src = ipv4("10.1.0.2"), .dst = ipv4("10.2.0.10")}).icmp(icmpv4EchoRequest(0x1111, 3));
        }
        in.payload(Bytes(56, 0x61));
        const Bytes frame = in.build();
        const auto parsed = parseFrame(frame);
        ASSERT_TRUE(parsed.packet);
        svr_session_value value{};
        if (v6) {
            std::memcpy(value.new_src_addr, ipv6("2001:db8::1").data(), 16);
            std::memcpy(value.new_dst_addr, ipv6("fd00:2::10").data(), 16);
        } else {
            std::memcpy(value.new_src_addr, ipv4("203.0.113.1").data(), 4);
            std::memcpy(value.new_dst_addr, ipv4("10.2.0.10").data(), 4);
        }
        value.new_src_port = htons(20000);
        std::memcpy(value.dst_mac, kServerMac.data(), 6);
        std::memcpy(value.src_mac, kRouterOutMac.data(), 6);
        const Bytes out = rewriteFrame(frame, *parsed.packet, value);
        PacketBuilder want;
        want.eth(kServerMac, kRouterOutMac);
        if (v6) {
            want.ipv6({.src = ipv6("2001:db8::1"), .dst = ipv6("fd00:2::10"), .hop_limit = 63})
                .icmp(icmpv6EchoRequest(20000, 3));
        } else {
            want.ipv4({.src = ipv4("203.0.113.1"), .dst = ipv4("10.2.0.10"), .ttl = 63})
                .icmp(icmpv4EchoRequest(20000, 3));
        }
        want.payload(Bytes(56, 0x61));
        const Bytes expected = want.build();
        EXPECT_EQ(out, expected) << (v6 ? "v6\n" : "v4\n") << hexDiff(expected, out);
        EXPECT_EQ(checksumErrors(out), "");
    }
}

TEST(PacketRewrite, Ipv4UdpWithoutChecksumStaysWithout)
{
    const Bytes frame = PacketBuilder()
                            .eth(kRouterInMac, kClientMac)
                            .ipv4({.src = ipv4("10.1.0.2"), .dst = ipv4("10.2.0.10")})
                            .udp({.src_port = 1000, .dst_port = 7, .checksum = 0})
                            .payload({1, 2, 3})
                            .build();
    const auto parsed = parseFrame(frame);
    ASSERT_TRUE(parsed.packet);
    svr_session_value value = natValueV4();
    const Bytes out = rewriteFrame(frame, *parsed.packet, value);
    EXPECT_EQ(out[14 + 20 + 6], 0);
    EXPECT_EQ(out[14 + 20 + 7], 0);
    EXPECT_EQ(checksumErrors(out), "");
}

TEST(PacketRewrite, VlanPoppedOrPushedAndPaddingDropped)
{
    Bytes tagged = PacketBuilder()
                       .eth(kRouterInMac, kClientMac)
                       .vlan(10)
                       .ipv4({.src = ipv4("10.1.0.2"), .dst = ipv4("10.2.0.10")})
                       .tcp({.src_port = 40000, .dst_port = 80, .seq = 7, .flags = kTcpSyn})
                       .build();
    tagged.resize(tagged.size() + 6, 0); // Ethernet padding after the IP packet
    const auto parsed = parseFrame(tagged);
    ASSERT_TRUE(parsed.packet);
    svr_session_value value = natValueV4();
    const Bytes untagged = rewriteFrame(tagged, *parsed.packet, value);
    const Bytes expectedUntagged = PacketBuilder()
                                       .eth(kServerMac, kRouterOutMac)
                                       .ipv4({.src = ipv4("10.2.0.1"), .dst = ipv4("10.2.0.20"), .ttl = 63})
                                       .tcp({.src_port = 20001, .dst_port = 8080, .seq = 7, .flags = kTcpSyn})
                                       .build();
    EXPECT_EQ(untagged, expectedUntagged) << hexDiff(expectedUntagged, untagged);

    value.egress_vlan = 20;
    const Bytes retagged = rewriteFrame(tagged, *parsed.packet, value);
    const Bytes expectedTagged = PacketBuilder()
                                     .eth(kServerMac, kRouterOutMac)
                                     .vlan(20)
                                     .ipv4({.src = ipv4("10.2.0.1"), .dst = ipv4("10.2.0.20"), .ttl = 63})
                                     .tcp({.src_port = 20001, .dst_port = 8080, .seq = 7, .flags = kTcpSyn})
                                     .build();
    EXPECT_EQ(retagged, expectedTagged) << hexDiff(expectedTagged, retagged);
    EXPECT_EQ(checksumErrors(retagged), "");
}

TEST(PacketRewrite, Ipv4OptionsAreKeptAndCovered)
{
    const Bytes frame = PacketBuilder()
                            .eth(kRouterInMac, kClientMac)
                            .ipv4({.src = ipv4("10.1.0.2"), .dst = ipv4("10.2.0.10"),
                                   .options = Bytes{0x94, 0x04, 0x00, 0x00}}) // router alert
                            .udp({.src_port = 1000, .dst_port = 7})
                            .payload({9, 9})
                            .build();
    const auto parsed = parseFrame(frame);
    ASSERT_TRUE(parsed.packet);
    EXPECT_EQ(parsed.packet->l4Offset, 14U + 24U);
    const Bytes out = rewriteFrame(frame, *parsed.packet, natValueV4());
    EXPECT_EQ(checksumErrors(out), "");
    EXPECT_EQ(out[14 + 20], 0x94);
}

} // namespace

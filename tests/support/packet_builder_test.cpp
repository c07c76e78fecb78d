// The packet builder is the reference the fixture tests compare against: check it against
// known-good bytes and its own independent checksum verifier.
#include "packet_builder.hpp"

#include <gtest/gtest.h>

namespace svr::test {
namespace {

const MacAddr kDst = mac("02:00:00:00:00:02");
const MacAddr kSrc = mac("02:00:00:00:00:01");

TEST(PacketBuilder, Ipv4HeaderChecksumMatchesKnownValue)
{
    // RFC 1071 style worked example: 45 00 00 73 00 00 40 00 40 11 [b8 61] c0 a8 00 01 c0 a8 00 c7
    const Bytes frame = PacketBuilder()
                            .eth(kDst, kSrc)
                            .ipv4({.src = ipv4("192.168.0.1"),
                                   .dst = ipv4("192.168.0.199"),
                                   .ttl = 64,
                                   .dont_fragment = true})
                            .udp({.src_port = 1, .dst_port = 2})
                            .payload(Bytes(0x73 - 28, 0))
                            .build();
    ASSERT_EQ(frame.size(), 14u + 0x73);
    EXPECT_EQ(frame[14 + 2], 0x00);
    EXPECT_EQ(frame[14 + 3], 0x73);
    EXPECT_EQ(frame[14 + 10], 0xb8);
    EXPECT_EQ(frame[14 + 11], 0x61);
    EXPECT_EQ(checksumErrors(frame), "");
}

TEST(PacketBuilder, DetectsCorruptedL4Checksums)
{
    for (int proto = 0; proto < 3; ++proto) {
        PacketBuilder builder;
        builder.eth(kDst, kSrc).ipv6({.src = ipv6("2001:db8::1"), .dst = ipv6("2001:db8::2")});
        if (proto == 0) {
            builder.tcp({.src_port = 1000, .dst_port = 80, .flags = kTcpSyn});
        } else if (proto == 1) {
            builder.udp({.src_port = 1000, .dst_port = 53});
        } else {
            builder.icmp(icmpv6EchoRequest(7, 1));
        }
        Bytes frame = builder.payload({1, 2, 3}).build();
        EXPECT_EQ(checksumErrors(frame), "") << proto;
        frame.back() ^= 0x40;
        EXPECT_NE(checksumErrors(frame), "") << proto;
    }
}

TEST(PacketBuilder, VlanTagsAndEtherTypes)
{
    const Bytes frame = PacketBuilder()
                            .eth(kDst, kSrc)
                            .vlan(100, kEtherTypeQinQ)
                            .vlan(200)
                            .ipv4({.src = ipv4("10.0.0.1"), .dst = ipv4("10.0.0.2")})
                            .udp({.src_port = 1, .dst_port = 2})
                            .build();
    const Bytes head(frame.begin() + 12, frame.begin() + 22);
    EXPECT_EQ(head, (Bytes{0x88, 0xa8, 0x00, 100, 0x81, 0x00, 0x00, 200, 0x08, 0x00}));
    EXPECT_EQ(checksumErrors(frame), "");
}

TEST(PacketBuilder, Ipv6ExtensionChainLinksNextHeaders)
{
    const Bytes frame = PacketBuilder()
                            .eth(kDst, kSrc)
                            .ipv6({.src = ipv6("2001:db8::1"), .dst = ipv6("2001:db8::2")})
                            .ipv6Extension({.type = kIpv6HopByHop})
                            .ipv6Extension({.type = kIpv6DestOptions, .body = Bytes(10, 0)})
                            .udp({.src_port = 5, .dst_port = 6})
                            .build();
    const std::size_t ip = 14;
    EXPECT_EQ(frame[ip + 6], kIpv6HopByHop);
    EXPECT_EQ(frame[ip + 40], kIpv6DestOptions);
    EXPECT_EQ(frame[ip + 41], 0);
    EXPECT_EQ(frame[ip + 48], 17);
    EXPECT_EQ(frame[ip + 49], 1); // 16 bytes
    EXPECT_EQ(frame.size(), 14u + 40 + 8 + 16 + 8);
    EXPECT_EQ(frame[ip + 5], 8 + 16 + 8);
    EXPECT_EQ(checksumErrors(frame), "");
}

TEST(PacketBuilder, OverridesBuildMalformedHeaders)
{
    const Bytes frame = PacketBuilder()
                            .eth(kDst, kSrc)
                            .ipv4({.src = ipv4("10.0.0.1"),
                                   .dst = ipv4("10.0.0.2"),
                                   .version = 5,
                                   .ihl = 4,
                                   .total_length = 999})
                            .tcp({.src_port = 1, .dst_port = 2, .data_offset = 3})
                            .build();
    EXPECT_EQ(frame[14], 0x54);
    EXPECT_EQ(frame[16] << 8 | frame[17], 999);
    EXPECT_EQ(frame[14 + 20 + 12], 0x30);
}

TEST(PacketBuilder, IcmpErrorQuotesAnotherPacket)
{
    const Bytes inner = PacketBuilder()
                            .ipv4({.src = ipv4("10.0.0.1"), .dst = ipv4("10.0.0.2")})
                            .udp({.src_port = 1000, .dst_port = 53})
                            .payload(Bytes(40, 7))
                            .build();
    const Bytes frame = PacketBuilder()
                            .eth(kDst, kSrc)
                            .ipv4({.src = ipv4("10.0.0.2"), .dst = ipv4("10.0.0.1")})
                            .icmp(icmpv4DestUnreachable(3))
                            .payload(quoted(inner, 28))
                            .build();
    EXPECT_EQ(frame.size(), 14u + 20 + 8 + 28);
    EXPECT_EQ(checksumErrors(frame), "");
    Bytes broken = frame;
    broken[14 + 28 + 12] ^= 1; // quoted source address: quoted header sum and ICMP sum break
    EXPECT_NE(checksumErrors(broken), "");
}

TEST(PacketBuilder, HexDiffMarksDifferingLines)
{
    const Bytes a(20, 0);
    Bytes b = a;
    b[17] = 1;
    const std::string diff = hexDiff(a, b);
    EXPECT_NE(diff.find("0010 ! "), std::string::npos) << diff;
    EXPECT_NE(diff.find("0000   "), std::string::npos) << diff;
}

} // namespace
} // namespace svr::test

// Packet surgery: insert/strip for UDP/TCP over IPv4/IPv6 with checksums verified by the
// test's own RFC 1071 code, TCP SYN MSS clamping, the UDP MTU rule, L2 offsets.
#include <gtest/gtest.h>

#include "protocol/packet.hpp"
#include "test_support.hpp"

namespace svr::protocol {
namespace {

using test::Bytes;
using test::hex;

const Bytes kTag = hex("00112233445566778899aabbccddeeff");

struct Case {
    const char* name;
    int ipVersion;
    std::uint8_t protocol;
    std::uint8_t tcpFlags;
    std::size_t payloadSize;
};

class Surgery : public ::testing::TestWithParam<Case> {};

TEST_P(Surgery, InsertThenStripRestoresPacketWithValidChecksums)
{
    const auto& c = GetParam();
    Bytes payload(c.payloadSize);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        payload[i] = static_cast<std::uint8_t>(i * 7 + 1);
    }
    const Bytes original = test::buildPacket(
        {.ipVersion = c.ipVersion, .protocol = c.protocol, .payload = payload, .tcpFlags = c.tcpFlags});
    ASSERT_TRUE(test::checksumsValid(original));
    Bytes packet = original;
    auto outcome = insertMetadata(packet, test::kVector81, kTag);
    ASSERT_TRUE(outcome) << outcome.error().describe();
    ASSERT_EQ(outcome->kind, InsertOutcome::Kind::Inserted);
    EXPECT_EQ(packet.size(), original.size() + test::kVector81.size() + kTag.size());
    EXPECT_TRUE(test::checksumsValid(packet));

    auto layout = parsePacket(packet);
    ASSERT_TRUE(layout);
    const auto l4 = l4Payload(packet, *layout);
    ASSERT_EQ(l4.size(), test::kVector81.size() + payload.size() + kTag.size());
    EXPECT_TRUE(std::equal(test::kVector81.begin(), test::kVector81.end(), l4.begin()));
    EXPECT_TRUE(std::equal(payload.begin(), payload.end(), l4.begin() + 76));
    EXPECT_TRUE(std::equal(kTag.begin(), kTag.end(), l4.end() - 16));
    EXPECT_EQ(layout->tcpSyn, c.protocol == kIpProtoTcp && (c.tcpFlags & 0x02));

    ASSERT_TRUE(stripMetadata(packet, test::kVector81.size(), kTag.size()));
    EXPECT_EQ(packet, original);
}

INSTANTIATE_TEST_SUITE_P(Packets, Surgery,
                         ::testing::Values(Case{"udp4", 4, 17, 0, 40}, Case{"udp4_empty", 4, 17, 0, 0},
                                           Case{"udp4_odd", 4, 17, 0, 33}, Case{"udp6", 6, 17, 0, 40},
                                           Case{"tcp4_syn", 4, 6, 0x02, 0}, Case{"tcp4_synack", 4, 6, 0x12, 0},
                                           Case{"tcp4_data", 4, 6, 0x18, 100}, Case{"tcp6_syn", 6, 6, 0x02, 0},
                                           Case{"tcp6_data", 6, 6, 0x18, 1}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(SurgeryTcp, SynMssClampedSoMetadataFits)
{
    Bytes packet = test::buildPacket({.ipVersion = 4, .protocol = 6, .payload = {}, .tcpFlags = 0x02, .mss = 1460});
    auto outcome = insertMetadata(packet, test::kVector81, kTag, {.pathMtu = 1500});
    ASSERT_TRUE(outcome);
    ASSERT_TRUE(outcome->clampedMss);
    // 1500 - 20 (IPv4) - 20 (TCP) - 76 (metadata) - 16 (tag)
    EXPECT_EQ(*outcome->clampedMss, 1368);
    auto layout = parsePacket(packet);
    ASSERT_TRUE(layout);
    EXPECT_EQ((packet[layout->l4Offset + 22] << 8) | packet[layout->l4Offset + 23], 1368);
    EXPECT_TRUE(test::checksumsValid(packet));
}

TEST(SurgeryTcp, Ipv6SynClampAccountsForTheLargerHeaderAndReserve)
{
    Bytes packet = test::buildPacket({.ipVersion = 6, .protocol = 6, .payload = {}, .tcpFlags = 0x02, .mss = 1440});
    auto outcome = insertMetadata(packet, test::kVector81, kTag, {.pathMtu = 1500, .mssReserve = 32});
    ASSERT_TRUE(outcome);
    ASSERT_TRUE(outcome->clampedMss);
    EXPECT_EQ(*outcome->clampedMss, 1500 - 40 - 20 - 76 - 16 - 32);
    EXPECT_TRUE(test::checksumsValid(packet));
}

TEST(SurgeryTcp, SmallMssLeftAlone)
{
    Bytes packet = test::buildPacket({.ipVersion = 4, .protocol = 6, .payload = {}, .tcpFlags = 0x02, .mss = 536});
    auto outcome = insertMetadata(packet, test::kVector81, kTag);
    ASSERT_TRUE(outcome);
    EXPECT_FALSE(outcome->clampedMss);
}

TEST(SurgeryTcp, RetransmittedSynGetsTheSameTreatment)
{
    const Bytes syn = test::buildPacket({.ipVersion = 4, .protocol = 6, .payload = {}, .tcpFlags = 0x02, .mss = 1460});
    Bytes first = syn;
    Bytes retransmission = syn;
    ASSERT_TRUE(insertMetadata(first, test::kVector81, kTag));
    ASSERT_TRUE(insertMetadata(retransmission, test::kVector81, kTag));
    EXPECT_EQ(first, retransmission);
    ASSERT_TRUE(stripMetadata(retransmission, test::kVector81.size(), kTag.size()));
    auto layout = parsePacket(retransmission);
    ASSERT_TRUE(layout);
    EXPECT_TRUE(layout->tcpSyn);
    EXPECT_EQ(layout->payloadSize(), 0u);
    EXPECT_TRUE(test::checksumsValid(retransmission));
}

TEST(SurgeryTcp, DataSegmentsAreNotClamped)
{
    Bytes packet = test::buildPacket({.ipVersion = 4, .protocol = 6, .payload = Bytes(10, 1), .tcpFlags = 0x18, .mss = 0});
    auto outcome = insertMetadata(packet, test::kVector81, kTag);
    ASSERT_TRUE(outcome);
    EXPECT_FALSE(outcome->clampedMss);
}

TEST(SurgeryMtu, UdpOverPathMtuIsRefusedWithSenderMtu)
{
    const Bytes original = test::buildPacket({.ipVersion = 4, .protocol = 17, .payload = Bytes(1472, 0xab)});
    ASSERT_EQ(original.size(), 1500u);
    Bytes packet = original;
    auto outcome = insertMetadata(packet, test::kVector81, kTag, {.pathMtu = 1500});
    ASSERT_TRUE(outcome);
    EXPECT_EQ(outcome->kind, InsertOutcome::Kind::NeedsFragmentation);
    EXPECT_EQ(outcome->senderMtu, 1500u - 76u - 16u);
    EXPECT_EQ(packet, original); // untouched
}

TEST(SurgeryMtu, UdpExactlyAtPathMtuIsInserted)
{
    Bytes packet = test::buildPacket({.ipVersion = 6, .protocol = 17, .payload = Bytes(1500 - 40 - 8 - 92, 1)});
    auto outcome = insertMetadata(packet, test::kVector81, kTag, {.pathMtu = 1500});
    ASSERT_TRUE(outcome);
    EXPECT_EQ(outcome->kind, InsertOutcome::Kind::Inserted);
    EXPECT_EQ(packet.size(), 1500u);
    EXPECT_TRUE(test::checksumsValid(packet));
}

TEST(SurgeryMtu, TcpDataOverPathMtuIsRefusedToo)
{
    Bytes packet = test::buildPacket({.ipVersion = 4, .protocol = 6, .payload = Bytes(1460, 2), .tcpFlags = 0x18});
    auto outcome = insertMetadata(packet, test::kVector81, kTag, {.pathMtu = 1500});
    ASSERT_TRUE(outcome);
    EXPECT_EQ(outcome->kind, InsertOutcome::Kind::NeedsFragmentation);
}

TEST(SurgeryL2, EthernetOffsetAndPaddingHandled)
{
    const Bytes ethernet = hex("02000000000102000000000208 00");
    Bytes ip = test::buildPacket({.ipVersion = 4, .protocol = 17, .payload = Bytes(4, 9)});
    Bytes frame = test::concat({ethernet, ip, Bytes(6, 0)}); // 6 bytes of Ethernet padding
    ASSERT_TRUE(insertMetadata(frame, test::kVector81, kTag, {.l3Offset = 14}));
    EXPECT_EQ(frame.size(), 14 + ip.size() + 92);
    EXPECT_TRUE(test::checksumsValid(frame, 14));
    ASSERT_TRUE(stripMetadata(frame, 76, 16, 14));
    EXPECT_EQ(frame, test::concat({ethernet, ip}));
}

TEST(SurgeryIpv6, ExtensionHeadersAreWalked)
{
    Bytes packet = test::buildPacket({.ipVersion = 6, .protocol = 17, .payload = Bytes(8, 3)});
    // Insert an 8-byte destination-options header between IPv6 and UDP.
    const Bytes options{17, 0, 1, 4, 0, 0, 0, 0};
    packet[6] = 60;
    packet.insert(packet.begin() + 40, options.begin(), options.end());
    const std::size_t payloadLength = packet.size() - 40;
    packet[4] = static_cast<std::uint8_t>(payloadLength >> 8);
    packet[5] = static_cast<std::uint8_t>(payloadLength);
    auto layout = parsePacket(packet);
    ASSERT_TRUE(layout) << layout.error().describe();
    EXPECT_EQ(layout->l4Offset, 48u);
    EXPECT_EQ(layout->l4Protocol, kIpProtoUdp);
    EXPECT_EQ(layout->payloadSize(), 8u);
    ASSERT_TRUE(insertMetadata(packet, test::kVector84, {}));
    auto after = parsePacket(packet);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->payloadSize(), 20u);
}

TEST(SurgeryStrip, FalsePositiveMarkerStripsTwelveBytes)
{
    const Bytes payload = test::concat({Bytes(kCookie.begin(), kCookie.end()), hex("01020304")});
    const Bytes original = test::buildPacket({.ipVersion = 4, .protocol = 17, .payload = payload});
    Bytes packet = original;
    ASSERT_TRUE(insertMetadata(packet, kFalsePositiveMarker, {}));
    ASSERT_TRUE(stripMetadata(packet, kFalsePositiveMarker.size(), 0));
    EXPECT_EQ(packet, original);
}

TEST(Checksum, LibraryFoldMatchesReferenceOnRandomData)
{
    Bytes data(1001);
    std::uint32_t seed = 12345;
    for (auto& b : data) {
        seed = seed * 1103515245 + 12345;
        b = static_cast<std::uint8_t>(seed >> 16);
    }
    for (std::size_t length : {0u, 1u, 2u, 63u, 64u, 1000u, 1001u}) {
        const Bytes slice(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(length));
        EXPECT_EQ(onesComplementFold(onesComplementAdd(0, slice)), test::referenceChecksum(slice)) << length;
    }
}

} // namespace
} // namespace svr::protocol

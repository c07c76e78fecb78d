// Codec: the digest's §8 vectors byte-exact in both directions, every TLV type round-trips,
// unknown TLVs carried through, section rules.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace svr::protocol {
namespace {

using test::Bytes;
using test::hex;

TEST(CodecVectors, Vector81DecodesToNamedFields)
{
    auto decoded = decode(test::kVector81);
    ASSERT_TRUE(decoded) << decoded.error().describe();
    EXPECT_EQ(decoded->length, 76u);
    EXPECT_EQ(decoded->metadata, test::vector81Metadata());
    const auto* context = decoded->metadata.find<ForwardContextV4>();
    ASSERT_NE(context, nullptr);
    EXPECT_EQ(context->sourcePort, 40000);
    EXPECT_EQ(context->destinationPort, 53);
    EXPECT_EQ(context->protocol, 17);
}

TEST(CodecVectors, Vector81EncodesByteExact)
{
    auto encoded = encode(test::vector81Metadata());
    ASSERT_TRUE(encoded);
    EXPECT_EQ(*encoded, test::kVector81);
}

TEST(CodecVectors, Vector84IsFalsePositiveMarker)
{
    auto decoded = decode(test::kVector84);
    ASSERT_TRUE(decoded);
    EXPECT_TRUE(decoded->metadata.isFalsePositiveMarker());
    EXPECT_EQ(decoded->length, 12u);
    auto encoded = encode(Metadata{});
    ASSERT_TRUE(encoded);
    EXPECT_EQ(*encoded, test::kVector84);
    EXPECT_TRUE(std::equal(kFalsePositiveMarker.begin(), kFalsePositiveMarker.end(), test::kVector84.begin()));
}

TEST(CodecVectors, DecodeStopsAtMetadataEnd)
{
    Bytes packet = test::concat({test::kVector81, hex("abcd0100000100000000000003777777")});
    auto decoded = decode(packet);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->length, test::kVector81.size());
}

TEST(CodecRoundTrip, EveryTlvTypeRoundTripsExactly)
{
    const Metadata original = test::everyTlv();
    auto encoded = encode(original);
    ASSERT_TRUE(encoded) << encoded.error().describe();
    auto decoded = decode(*encoded);
    ASSERT_TRUE(decoded) << decoded.error().describe();
    EXPECT_EQ(decoded->metadata, original);
    EXPECT_EQ(decoded->length, encoded->size());
    auto again = encode(decoded->metadata);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *encoded);
}

TEST(CodecRoundTrip, EveryVariantAlternativeIsCovered)
{
    const Metadata m = test::everyTlv();
    std::vector<bool> seen(std::variant_size_v<Tlv>, false);
    for (const auto* section : {&m.headerTlvs, &m.payloadTlvs}) {
        for (const auto& value : *section) {
            seen[value.index()] = true;
        }
    }
    for (std::size_t i = 0; i < seen.size(); ++i) {
        EXPECT_TRUE(seen[i]) << "variant alternative " << i << " has no round-trip case";
    }
}

TEST(CodecRoundTrip, MulticastIpv6Context)
{
    Metadata m;
    MulticastGroupContext group{.family = 6, .flags = 1, .protocol = 17};
    group.source[0] = 0x20;
    group.group[0] = 0xff;
    group.group[15] = 0x1;
    m.payloadTlvs.push_back(group);
    auto encoded = encode(m);
    ASSERT_TRUE(encoded);
    EXPECT_EQ(encoded->size(), 12u + 4 + 35);
    auto decoded = decode(*encoded);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->metadata, m);
}

TEST(CodecUnknown, UnknownTlvsAreSkippedAndCarriedThrough)
{
    const Bytes tlvs = test::concat({test::rawTlv(0x0209, hex("0102030405")), test::rawTlv(7, hex("626c7565")),
                                     test::rawTlv(0x0209, hex("ff"))});
    const Bytes wire = test::rawMetadata({}, tlvs);
    auto decoded = decode(wire);
    ASSERT_TRUE(decoded);
    ASSERT_EQ(decoded->metadata.payloadTlvs.size(), 3u);
    EXPECT_EQ(std::get<UnknownTlv>(decoded->metadata.payloadTlvs[0]).value, hex("0102030405"));
    EXPECT_EQ(std::get<TenantName>(decoded->metadata.payloadTlvs[1]).value, "blue");
    auto encoded = encode(decoded->metadata);
    ASSERT_TRUE(encoded);
    EXPECT_EQ(*encoded, wire);
}

TEST(CodecTlv46, LengthSelectsHealthCheckOrKey)
{
    auto health = decode(test::rawMetadata(test::rawTlv(46, {2}), {}));
    ASSERT_TRUE(health);
    EXPECT_EQ(std::get<SessionHealthCheck>(health->metadata.headerTlvs[0]).value, 2);
    auto key = decode(test::rawMetadata({}, test::rawTlv(46, Bytes(32, 1))));
    ASSERT_TRUE(key);
    EXPECT_EQ(std::get<SecurityEncryptionKey>(key->metadata.payloadTlvs[0]).blob, Bytes(32, 1));
    // Both in one block: different alternatives, so not a duplicate.
    auto both = decode(test::rawMetadata(test::rawTlv(46, {1}), test::rawTlv(46, Bytes(16, 2))));
    EXPECT_TRUE(both);
}

TEST(CodecTlv46, OneByteKeyCannotBeEncoded)
{
    Metadata m;
    m.payloadTlvs.push_back(SecurityEncryptionKey{{1}});
    auto encoded = encode(m);
    ASSERT_FALSE(encoded);
    EXPECT_EQ(encoded.error().code, Errc::FixedLengthMismatch);
}

TEST(CodecSections, CiphertextModeKeepsPayloadOpaque)
{
    auto decoded = decode(test::kVector81, PayloadSection::Ciphertext);
    ASSERT_TRUE(decoded);
    ASSERT_TRUE(decoded->metadata.payloadCiphertext);
    EXPECT_EQ(decoded->metadata.payloadCiphertext->size(), 56u);
    EXPECT_TRUE(decoded->metadata.payloadTlvs.empty());
    auto encoded = encode(decoded->metadata);
    ASSERT_TRUE(encoded);
    EXPECT_EQ(*encoded, test::kVector81);
}

TEST(CodecSections, ControlMessageKeepsUnassignedReason)
{
    auto decoded = decode(test::rawMetadata(test::rawTlv(24, {5}), {}));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(std::get<ControlMessage>(decoded->metadata.headerTlvs[0]).value, 5);
}

TEST(CodecSections, ParseHeaderReadsOnlyTheFixedPart)
{
    auto view = parseHeader(test::kVector81);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->version, 1);
    EXPECT_EQ(view->headerLength, 20u);
    EXPECT_EQ(view->payloadLength, 56u);
    EXPECT_EQ(view->totalLength(), 76u);
}

TEST(CodecNames, EveryKnownTypeHasAName)
{
    for (std::uint16_t type : {1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 24, 25, 26, 28,
                               35, 42, 46, 50, 51}) {
        EXPECT_NE(tlvName(type), "unknown") << type;
    }
    EXPECT_EQ(tlvName(9), "unknown");
}

} // namespace
} // namespace svr::protocol

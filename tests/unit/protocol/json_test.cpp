// JSON view (svrctl metadata decode/encode) and capture-file decoding.
#include <gtest/gtest.h>

#include "protocol/inspect.hpp"
#include "protocol/json.hpp"
#include "protocol/pcap.hpp"
#include "protocol/security.hpp"
#include "test_support.hpp"

namespace svr::protocol {
namespace {

using test::Bytes;
using test::concat;
using test::hex;
using Json = nlohmann::ordered_json;

Bytes reencode(const Json& document)
{
    auto parsed = metadataFromJson(document);
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().describe());
    if (!parsed) {
        return {};
    }
    auto encoded = encode(parsed->metadata);
    EXPECT_TRUE(encoded);
    Bytes out = *encoded;
    out.insert(out.end(), parsed->trailing.begin(), parsed->trailing.end());
    return out;
}

TEST(JsonView, Vector81HasNamedFields)
{
    auto json = describeMetadata(test::kVector81, false);
    ASSERT_TRUE(json);
    EXPECT_EQ((*json)["version"], 1);
    EXPECT_EQ((*json)["header_length"], 20);
    EXPECT_EQ((*json)["payload_length"], 56);
    EXPECT_EQ((*json)["header_tlvs"][0]["name"], "security_id");
    EXPECT_EQ((*json)["header_tlvs"][0]["value"], 1);
    const auto& context = (*json)["payload_tlvs"][0];
    EXPECT_EQ(context["name"], "forward_context_ipv4");
    EXPECT_EQ(context["source"], "192.168.1.10");
    EXPECT_EQ(context["destination"], "8.8.8.8");
    EXPECT_EQ(context["source_port"], 40000);
    EXPECT_EQ(context["destination_port"], 53);
    EXPECT_EQ(context["protocol"], 17);
    EXPECT_EQ((*json)["payload_tlvs"][1]["value"], "blue");
    EXPECT_EQ((*json)["payload_tlvs"][2]["value"], "dns-svc");
    EXPECT_EQ((*json)["payload_tlvs"][3]["value"], "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
}

TEST(JsonView, EncodeOfDecodeIsIdentityForVectors)
{
    for (const Bytes& vector : {test::kVector81, test::kVector84, concat({test::kVector81, hex("abcdef")})}) {
        auto json = describeMetadata(vector, false);
        ASSERT_TRUE(json);
        EXPECT_EQ(reencode(*json), vector);
    }
}

TEST(JsonView, EveryTlvTypeSurvivesJson)
{
    auto wire = encode(test::everyTlv());
    ASSERT_TRUE(wire);
    auto json = describeMetadata(*wire, false);
    ASSERT_TRUE(json);
    EXPECT_EQ(reencode(*json), *wire);
    // And through text, as svrctl does.
    EXPECT_EQ(reencode(Json::parse(json->dump())), *wire);
}

TEST(JsonView, EncryptedSectionShownAsCiphertextAndRoundTrips)
{
    KeyRing ring;
    ASSERT_TRUE(ring.install(3, PeerKeys{SecretKey::random(32), SecretKey::random(32)}));
    auto sealer = MetadataSealer::create({});
    ASSERT_TRUE(sealer);
    Metadata m = test::vector81Metadata();
    auto sealed = sealer->seal(ring, m, {}, 100);
    ASSERT_TRUE(sealed);
    for (bool forced : {false, true}) {
        auto json = describeMetadata(sealed->prefix, forced);
        ASSERT_TRUE(json);
        EXPECT_TRUE(json->contains("payload_ciphertext_hex"));
        EXPECT_EQ((*json)["header_tlvs"][0]["value"], 3);
        EXPECT_EQ(reencode(*json), sealed->prefix);
    }
}

TEST(JsonView, BadHeaderIsAnError)
{
    auto json = describeMetadata(hex("4c48dbc6ddf6670c200c0000"), false);
    ASSERT_FALSE(json);
    EXPECT_EQ(json.error().code, Errc::UnsupportedVersion);
}

TEST(JsonErrors, PathNamesTheBadField)
{
    auto document = Json::parse(R"({"payload_tlvs":[{"type":7,"value":"blue"},
        {"type":2,"source":"300.1.1.1","destination":"8.8.8.8","source_port":1,"destination_port":2,"protocol":17}]})");
    auto parsed = metadataFromJson(document);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().message, "payload_tlvs[1].source: expected an IPv4 address");

    auto port = metadataFromJson(Json::parse(
        R"({"payload_tlvs":[{"type":4,"source":"1.1.1.1","destination":"8.8.8.8","source_port":70000,"destination_port":2,"protocol":17}]})"));
    ASSERT_FALSE(port);
    EXPECT_EQ(port.error().message, "payload_tlvs[0].source_port: out of range");

    auto uuid = metadataFromJson(Json::parse(R"({"header_tlvs":[{"type":6,"value":"nope"}]})"));
    ASSERT_FALSE(uuid);
    EXPECT_EQ(uuid.error().message, "header_tlvs[0].value: expected a UUID");

    auto version = metadataFromJson(Json::parse(R"({"version":2})"));
    ASSERT_FALSE(version);
    EXPECT_EQ(version.error().message, "metadata.version: only version 1 is defined");
}

TEST(JsonErrors, InvalidNameIsRejectedAtEncode)
{
    auto parsed = metadataFromJson(Json::parse(R"({"payload_tlvs":[{"type":7,"value":""}]})"));
    ASSERT_TRUE(parsed);
    auto encoded = encode(parsed->metadata);
    ASSERT_FALSE(encoded);
    EXPECT_EQ(encoded.error().code, Errc::EmptyName);
}

// ---- capture files, written here byte by byte ----

Bytes le32(std::uint32_t v) { return {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 24)}; }
Bytes le16(std::uint16_t v) { return {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8)}; }

Bytes classicPcap(std::uint32_t linkType, const std::vector<Bytes>& frames)
{
    Bytes file = concat({le32(0xa1b2c3d4), le16(2), le16(4), le32(0), le32(0), le32(65535), le32(linkType)});
    for (const auto& frame : frames) {
        file = concat({file, le32(1), le32(0), le32(static_cast<std::uint32_t>(frame.size())),
                       le32(static_cast<std::uint32_t>(frame.size())), frame});
    }
    return file;
}

Bytes pcapng(std::uint32_t linkType, const std::vector<Bytes>& frames)
{
    Bytes file = concat({le32(0x0a0d0d0a), le32(28), le32(0x1a2b3c4d), le16(1), le16(0), le32(0xffffffff),
                         le32(0xffffffff), le32(28)});
    file = concat({file, le32(1), le32(20), le16(static_cast<std::uint16_t>(linkType)), le16(0), le32(0), le32(20)});
    for (const auto& frame : frames) {
        Bytes padded = frame;
        padded.resize((frame.size() + 3) / 4 * 4, 0);
        const auto length = static_cast<std::uint32_t>(32 + padded.size());
        file = concat({file, le32(6), le32(length), le32(0), le32(0), le32(0),
                       le32(static_cast<std::uint32_t>(frame.size())), le32(static_cast<std::uint32_t>(frame.size())),
                       padded, le32(length)});
    }
    return file;
}

const Bytes kEthernet = hex("0200000000010200000000020800");

std::vector<Bytes> sampleFrames(const Bytes& l2)
{
    const Bytes withMetadata = test::buildPacket(
        {.ipVersion = 4, .protocol = 17, .payload = concat({test::kVector81, hex("abcd0100")})});
    const Bytes plain = test::buildPacket({.ipVersion = 4, .protocol = 17, .payload = hex("abcd0100")});
    return {concat({l2, plain}), concat({l2, withMetadata})};
}

void expectOneEntry(const Result<Json>& result)
{
    ASSERT_TRUE(result) << result.error().describe();
    ASSERT_EQ(result->size(), 1u);
    const auto& entry = (*result)[0];
    EXPECT_EQ(entry["frame"], 2);
    EXPECT_EQ(entry["source"], "192.168.1.10");
    EXPECT_EQ(entry["destination"], "10.0.0.2");
    EXPECT_EQ(entry["protocol"], "udp");
    EXPECT_EQ(entry["destination_port"], 53);
    EXPECT_EQ(entry["metadata"]["payload_tlvs"][2]["value"], "dns-svc");
    EXPECT_EQ(entry["metadata"]["trailing_hex"], "abcd0100");
    EXPECT_EQ(reencode(entry["metadata"]), concat({test::kVector81, hex("abcd0100")}));
}

TEST(Capture, ClassicPcapEthernet) { expectOneEntry(describeCapture(classicPcap(1, sampleFrames(kEthernet)), false)); }

TEST(Capture, ClassicPcapRawIp) { expectOneEntry(describeCapture(classicPcap(101, sampleFrames({})), false)); }

TEST(Capture, ClassicPcapLinuxCooked)
{
    const Bytes sll = hex("00000001000600000000000000000800");
    expectOneEntry(describeCapture(classicPcap(113, sampleFrames(sll)), false));
}

TEST(Capture, PcapngEthernet) { expectOneEntry(describeCapture(pcapng(1, sampleFrames(kEthernet)), false)); }

TEST(Capture, VlanTaggedEthernet)
{
    const Bytes tagged = hex("02000000000102000000000281000064 0800");
    expectOneEntry(describeCapture(classicPcap(1, sampleFrames(tagged)), false));
}

TEST(Capture, BadMetadataReportedPerFrame)
{
    const Bytes bad = test::buildPacket({.ipVersion = 4, .protocol = 17, .payload = hex("4c48dbc6ddf6670c300c0000")});
    auto result = describeCapture(classicPcap(101, {bad}), false);
    ASSERT_TRUE(result);
    ASSERT_EQ(result->size(), 1u);
    EXPECT_EQ((*result)[0]["error"], "unsupported version");
}

TEST(Capture, UnsupportedLinkType)
{
    auto result = describeCapture(classicPcap(147, sampleFrames({})), false);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Errc::PcapUnsupportedLinkType);
}

} // namespace
} // namespace svr::protocol

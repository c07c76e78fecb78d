// Malformed inputs: each case returns its own Errc value and nothing crashes or reads out of
// bounds (this binary also runs under ASan+UBSan in ci/test). The last test checks that the
// table really covers distinct error values, at least 30 of them.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "protocol/packet.hpp"
#include "protocol/pcap.hpp"
#include "protocol/security.hpp"
#include "test_support.hpp"

namespace svr::protocol {
namespace {

using test::Bytes;
using test::concat;
using test::hex;
using test::rawMetadata;
using test::rawTlv;

constexpr std::uint64_t kNow = 1'790'000'000;
const Bytes kHmacKey(32, 0x10);
const Bytes kAesKey(32, 0x11);
const Bytes kSecurityId1 = rawTlv(16, hex("00000001"));

Status decodeStatus(const Bytes& input)
{
    auto decoded = decode(input);
    return decoded ? Status{} : Status{decoded.error()};
}

Status encodeStatus(const Metadata& m)
{
    auto encoded = encode(m);
    return encoded ? Status{} : Status{encoded.error()};
}

// Appends a valid tag (docs/protocol.md §5.1) so the case reaches the checks after the HMAC.
Bytes signedWith(const Bytes& hmacKey, const Bytes& signedBytes)
{
    auto hmac = HmacSha256::create(SecretKey(hmacKey));
    Bytes slot(8);
    bytes::store64(slot.data(), kNow / 10);
    auto tag = hmac->tag({slot, signedBytes});
    return concat({signedBytes, Bytes(tag->begin(), tag->end())});
}

Status openStatus(const Bytes& l4Payload, bool encrypt = true)
{
    KeyRing ring;
    EXPECT_TRUE(ring.install(1, PeerKeys{SecretKey(kHmacKey), SecretKey(kAesKey)}));
    auto sealer = MetadataSealer::create({.encryptMetadata = encrypt});
    auto opened = sealer->open(ring, l4Payload, kNow);
    return opened ? Status{} : Status{opened.error()};
}

Status parseStatus(const Bytes& packet)
{
    auto layout = parsePacket(packet);
    return layout ? Status{} : Status{layout.error()};
}

Bytes udp4(const Bytes& payload = {}) { return test::buildPacket({.ipVersion = 4, .protocol = 17, .payload = payload}); }
Bytes udp6(const Bytes& payload = {}) { return test::buildPacket({.ipVersion = 6, .protocol = 17, .payload = payload}); }

struct MalformedCase {
    const char* name;
    Errc expected;
    std::function<Status()> run;
};

const std::vector<MalformedCase>& cases()
{
    static const std::vector<MalformedCase> table = {
        // ---- header ----
        {"short_header", Errc::TruncatedHeader, [] { return decodeStatus(hex("4c48dbc6ddf6670c100c00")); }},
        {"bad_cookie", Errc::BadCookie, [] { return decodeStatus(hex("4c48dbc6ddf6670d100c0000")); }},
        {"bad_version", Errc::UnsupportedVersion, [] { return decodeStatus(rawMetadata({}, {}, 2)); }},
        {"header_length_below_12", Errc::HeaderLengthTooSmall,
         [] { return decodeStatus(hex("4c48dbc6ddf6670c100b0000")); }},
        {"header_length_past_end", Errc::HeaderLengthPastEnd,
         [] { return decodeStatus(hex("4c48dbc6ddf6670c10140000")); }},
        {"payload_length_past_end", Errc::PayloadLengthPastEnd,
         [] { return decodeStatus(hex("4c48dbc6ddf6670c100c000a0007")); }},
        // ---- TLV walk ----
        {"tlv_header_truncated", Errc::TlvHeaderTruncated, [] { return decodeStatus(rawMetadata(hex("001000"), {})); }},
        {"tlv_overruns_section", Errc::TlvOverrunsSection,
         [] { return decodeStatus(rawMetadata({}, hex("0007000562"))); }},
        {"tlv_overruns_into_payload_section", Errc::TlvOverrunsSection,
         [] { return decodeStatus(rawMetadata(hex("00100008"), hex("0000000100000001"))); }},
        {"forward_context_wrong_length", Errc::FixedLengthMismatch,
         [] { return decodeStatus(rawMetadata({}, rawTlv(2, Bytes(12, 1)))); }},
        {"flag_with_value", Errc::FlagHasValue, [] { return decodeStatus(rawMetadata({}, rawTlv(11, {1}))); }},
        {"empty_tenant", Errc::EmptyName, [] { return decodeStatus(rawMetadata({}, rawTlv(7, {}))); }},
        {"bad_utf8_service", Errc::InvalidUtf8,
         [] { return decodeStatus(rawMetadata({}, rawTlv(10, {'d', 'n', 's', 0xc0, 0xaf}))); }},
        {"empty_key_blob", Errc::EmptyValue, [] { return decodeStatus(rawMetadata({}, rawTlv(46, {}))); }},
        {"modify_request_one_byte", Errc::ModifyRequestTooShort,
         [] { return decodeStatus(rawMetadata({}, rawTlv(28, {0x80}))); }},
        {"multicast_bad_family", Errc::BadMulticastFamily,
         [] { return decodeStatus(rawMetadata({}, rawTlv(50, concat({{5, 0}, Bytes(9, 0)})))); }},
        {"multicast_v4_with_v6_length", Errc::MulticastLengthMismatch,
         [] { return decodeStatus(rawMetadata({}, rawTlv(50, concat({{4, 0}, Bytes(33, 0)})))); }},
        {"egress_list_truncated", Errc::EgressListTruncated,
         [] { return decodeStatus(rawMetadata({}, rawTlv(51, hex("000203616263")))); }},
        {"egress_list_trailing", Errc::EgressListTrailingBytes,
         [] { return decodeStatus(rawMetadata({}, rawTlv(51, hex("00010361626300")))); }},
        {"duplicate_tenant", Errc::DuplicateTlv,
         [] { return decodeStatus(rawMetadata({}, concat({rawTlv(7, {'a'}), rawTlv(7, {'b'})}))); }},
        {"security_id_in_payload_section", Errc::TlvInWrongSection,
         [] { return decodeStatus(rawMetadata({}, kSecurityId1)); }},
        // ---- encoding ----
        {"encode_header_too_large", Errc::HeaderTooLarge,
         [] {
             Metadata m;
             m.headerTlvs.push_back(UnknownTlv{99, Bytes(4090, 0)});
             return encodeStatus(m);
         }},
        {"encode_payload_too_large", Errc::PayloadTooLarge,
         [] {
             Metadata m;
             m.payloadTlvs.push_back(UnknownTlv{99, Bytes(40000, 0)});
             m.payloadTlvs.push_back(UnknownTlv{98, Bytes(40000, 0)});
             return encodeStatus(m);
         }},
        {"encode_value_too_large", Errc::ValueTooLarge,
         [] {
             Metadata m;
             m.payloadTlvs.push_back(UnknownTlv{99, Bytes(70000, 0)});
             return encodeStatus(m);
         }},
        {"encode_color_out_of_range", Errc::FieldOutOfRange,
         [] {
             Metadata m;
             m.headerTlvs.push_back(PathMetrics{.txColor = 16});
             return encodeStatus(m);
         }},
        // ---- security ----
        {"signed_without_security_id", Errc::MissingSecurityId,
         [] { return openStatus(signedWith(kHmacKey, rawMetadata(rawTlv(24, {1}), rawTlv(7, {'a'})))); }},
        {"unknown_key_generation", Errc::UnknownKeyGeneration,
         [] {
             return openStatus(signedWith(kHmacKey, rawMetadata(rawTlv(16, hex("00000009")), rawTlv(7, {'a'}))));
         }},
        {"expired_key_generation", Errc::KeyGenerationExpired,
         []() -> Status {
             KeyRing ring;
             EXPECT_TRUE(ring.install(1, PeerKeys{SecretKey(kHmacKey), SecretKey(kAesKey)}));
             EXPECT_TRUE(ring.rotate(2, PeerKeys{SecretKey(Bytes(32, 1)), SecretKey(kAesKey)}, kNow - 100, 30));
             auto sealer = MetadataSealer::create({.encryptMetadata = false});
             auto opened = sealer->open(ring, signedWith(kHmacKey, rawMetadata(kSecurityId1, rawTlv(7, {'a'}))), kNow);
             return opened ? Status{} : Status{opened.error()};
         }},
        {"missing_tag", Errc::MissingTag,
         [] { return openStatus(concat({rawMetadata(kSecurityId1, rawTlv(7, {'a'})), Bytes(15, 0)})); }},
        {"wrong_hmac", Errc::HmacMismatch,
         [] {
             Bytes packet = signedWith(kHmacKey, rawMetadata(kSecurityId1, rawTlv(7, {'a'})));
             packet.back() ^= 1;
             return openStatus(packet, false);
         }},
        {"truncated_ciphertext", Errc::CiphertextTruncated,
         [] { return openStatus(signedWith(kHmacKey, rawMetadata(kSecurityId1, Bytes(17, 0x33)))); }},
        {"bad_padding", Errc::BadPadding,
         [] {
             // IV + one block whose decryption ends in 0x00: never valid PKCS#7.
             auto aes = Aes256Cbc::create(SecretKey(kAesKey));
             const Bytes iv(16, 0);
             Bytes block;
             EXPECT_TRUE(aes->encrypt(std::span<const std::uint8_t, 16>(iv.data(), 16), Bytes(16, 0), block,
                                      Padding::None));
             return openStatus(signedWith(kHmacKey, rawMetadata(kSecurityId1, concat({iv, block}))));
         }},
        {"replayed_first_packet", Errc::ReplayedFirstPacket,
         []() -> Status {
             ReplayGuard guard(16, 30);
             Metadata m = test::vector81Metadata();
             EXPECT_TRUE(guard.admitFirstPacket(m, kNow));
             return guard.admitFirstPacket(m, kNow + 1);
         }},
        {"replay_cache_full", Errc::ReplayCacheFull,
         []() -> Status {
             ReplayGuard guard(1, 30);
             EXPECT_TRUE(guard.admit(SessionUuid{{1}}, kNow));
             return guard.admit(SessionUuid{{2}}, kNow);
         }},
        {"first_packet_without_uuid", Errc::MissingSessionUuid,
         []() -> Status {
             ReplayGuard guard(16, 30);
             Metadata m;
             m.payloadTlvs.push_back(ForwardContextV4{});
             return guard.admitFirstPacket(m, kNow);
         }},
        {"aes_key_wrong_size", Errc::CryptoFailure,
         []() -> Status {
             KeyRing ring;
             return ring.install(1, PeerKeys{SecretKey(kHmacKey), SecretKey(Bytes(16, 1))});
         }},
        // ---- packets ----
        {"packet_truncated", Errc::PacketTruncated, [] { return parseStatus(hex("4500001c")); }},
        {"not_ip", Errc::NotIpPacket, [] { return parseStatus(Bytes(40, 0x55)); }},
        {"ipv4_ihl_below_5", Errc::BadIpHeaderLength,
         [] {
             Bytes p = udp4();
             p[0] = 0x44;
             return parseStatus(p);
         }},
        {"ipv4_total_length_past_buffer", Errc::IpLengthMismatch,
         [] {
             Bytes p = udp4();
             p[3] += 1;
             return parseStatus(p);
         }},
        {"ipv4_fragment", Errc::IpFragment,
         [] {
             Bytes p = udp4();
             p[6] = 0x20; // MF
             return parseStatus(p);
         }},
        {"ipv6_extension_loop", Errc::Ipv6ExtensionChainTooLong,
         [] {
             Bytes p = udp6();
             p[6] = 60;
             Bytes chain;
             for (int i = 0; i < 9; ++i) {
                 chain.insert(chain.end(), {60, 0, 1, 4, 0, 0, 0, 0});
             }
             p.insert(p.begin() + 40, chain.begin(), chain.end());
             const std::size_t length = p.size() - 40;
             p[4] = static_cast<std::uint8_t>(length >> 8);
             p[5] = static_cast<std::uint8_t>(length);
             return parseStatus(p);
         }},
        {"icmp_not_supported", Errc::UnsupportedL4Protocol,
         [] {
             Bytes p = udp4(Bytes(8, 0));
             p[9] = 1;
             return parseStatus(p);
         }},
        {"udp_header_truncated", Errc::L4HeaderTruncated,
         [] {
             Bytes p = udp4();
             p.resize(24);
             p[3] = 24;
             return parseStatus(p);
         }},
        {"tcp_data_offset_past_segment", Errc::BadTcpDataOffset,
         [] {
             Bytes p = test::buildPacket({.ipVersion = 4, .protocol = 6, .payload = {}, .tcpFlags = 0x02});
             p[20 + 12] = 0xf0;
             return parseStatus(p);
         }},
        {"udp_length_mismatch", Errc::UdpLengthMismatch,
         [] {
             Bytes p = udp4(Bytes(4, 0));
             p[20 + 5] -= 1;
             return parseStatus(p);
         }},
        {"strip_without_cookie", Errc::NoMetadataInPacket,
         []() -> Status {
             Bytes p = udp4(Bytes(20, 0));
             return stripMetadata(p, 12, 0);
         }},
        {"insert_past_65535", Errc::PacketTooLarge,
         []() -> Status {
             Bytes p = udp4(Bytes(65000, 0));
             auto outcome = insertMetadata(p, Bytes(600, 0), {}, {.pathMtu = 70000});
             return outcome ? Status{} : Status{outcome.error()};
         }},
        // ---- capture files ----
        {"pcap_bad_magic", Errc::PcapBadMagic,
         []() -> Status {
             auto r = pcap::parse(hex("00112233445566778899aabbccddeeff00112233445566778899"));
             return r ? Status{} : Status{r.error()};
         }},
        {"pcap_truncated_record", Errc::PcapTruncated,
         []() -> Status {
             auto r = pcap::parse(hex("d4c3b2a1020004000000000000000000ffff000001000000"
                                      "00000000000000002000000020000000aabb"));
             return r ? Status{} : Status{r.error()};
         }},
    };
    return table;
}

class Malformed : public ::testing::TestWithParam<std::size_t> {};

TEST_P(Malformed, ReturnsItsOwnErrorValue)
{
    const auto& c = cases()[GetParam()];
    const Status status = c.run();
    ASSERT_FALSE(status) << c.name << " was accepted";
    EXPECT_EQ(status.error().code, make_error_code(c.expected))
        << c.name << ": got " << status.error().code.message() << ", want " << errcName(c.expected);
}

INSTANTIATE_TEST_SUITE_P(Inputs, Malformed, ::testing::Range<std::size_t>(0, cases().size()),
                         [](const auto& info) { return std::string(cases()[info.param].name); });

TEST(MalformedTable, AtLeastThirtyDistinctErrorValues)
{
    std::set<Errc> distinct;
    for (const auto& c : cases()) {
        distinct.insert(c.expected);
    }
    EXPECT_GE(distinct.size(), 30u);
    // Only one Errc is exercised twice (two ways a TLV can overrun); everything else is unique.
    EXPECT_EQ(distinct.size(), cases().size() - 1);
}

TEST(MalformedTable, ErrorValuesHaveDistinctNames)
{
    std::set<std::string> names;
    for (int value = static_cast<int>(Errc::TruncatedHeader); value <= static_cast<int>(Errc::PcapUnsupportedLinkType);
         ++value) {
        names.insert(std::string(errcName(static_cast<Errc>(value))));
    }
    EXPECT_EQ(names.size(), static_cast<std::size_t>(Errc::PcapUnsupportedLinkType));
}

TEST(MalformedTruncation, EveryPrefixOfValidInputsIsRejectedCleanly)
{
    // Each proper prefix of a valid block must fail with an error value, never crash.
    Metadata m = test::vector81Metadata();
    m.payloadTlvs.push_back(MulticastEgressList{{"edge-b", "edge-c"}});
    m.payloadTlvs.push_back(PathMetrics{});
    auto encoded = encode(m);
    ASSERT_TRUE(encoded);
    for (std::size_t length = 0; length < encoded->size(); ++length) {
        Bytes prefix(encoded->begin(), encoded->begin() + static_cast<std::ptrdiff_t>(length));
        EXPECT_FALSE(decode(prefix)) << length;
    }
}

} // namespace
} // namespace svr::protocol

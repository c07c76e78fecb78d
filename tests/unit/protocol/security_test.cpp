// Security: seal/open, what the HMAC covers, time slots, key generations and rotation,
// replay protection, adaptive and end-to-end payload encryption, keys never in messages.
#include <gtest/gtest.h>

#include "protocol/packet.hpp"
#include "protocol/security.hpp"
#include "test_support.hpp"

namespace svr::protocol {
namespace {

using test::Bytes;
using test::hex;

constexpr std::uint64_t kNow = 1'790'000'000; // seconds; slot 179'000'000 with 10 s slots

PeerKeys keys(std::uint8_t seed)
{
    return PeerKeys{SecretKey(Bytes(32, seed)), SecretKey(Bytes(32, static_cast<std::uint8_t>(seed + 1)))};
}

struct Peer {
    KeyRing ring;
    MetadataSealer sealer;
};

Peer makePeer(bool encrypt = true, std::uint32_t generation = 1, std::uint8_t seed = 0x10)
{
    KeyRing ring;
    EXPECT_TRUE(ring.install(generation, keys(seed)));
    auto sealer = MetadataSealer::create(PeerSecurityPolicy{.encryptMetadata = encrypt});
    EXPECT_TRUE(sealer);
    return Peer{std::move(ring), std::move(*sealer)};
}

Bytes wire(const SealedMetadata& sealed, const Bytes& payload)
{
    return test::concat({sealed.prefix, payload, Bytes(sealed.tag.begin(), sealed.tag.end())});
}

Metadata firstPacketMetadata()
{
    Metadata m = test::vector81Metadata();
    m.headerTlvs.clear(); // the sealer writes the Security ID
    return m;
}

const Bytes kDnsQuery = hex("abcd01000001000000000000037777770765786d706c6503636f6d0000010001");

TEST(Seal, EncryptedRoundTrip)
{
    Peer sender = makePeer();
    Peer receiver = makePeer();
    auto sealed = sender.sealer.seal(sender.ring, firstPacketMetadata(), kDnsQuery, kNow);
    ASSERT_TRUE(sealed) << sealed.error().describe();
    const Bytes packet = wire(*sealed, kDnsQuery);
    auto opened = receiver.sealer.open(receiver.ring, packet, kNow);
    ASSERT_TRUE(opened) << opened.error().describe();
    EXPECT_EQ(opened->generation, 1u);
    EXPECT_EQ(opened->stripPrefix, sealed->prefix.size());
    EXPECT_EQ(opened->stripSuffix, kTagSize);
    EXPECT_EQ(opened->metadata.payloadTlvs, firstPacketMetadata().payloadTlvs);
    ASSERT_EQ(opened->metadata.headerTlvs.size(), 1u);
    EXPECT_EQ(std::get<SecurityId>(opened->metadata.headerTlvs[0]).value, 1u);
}

TEST(Seal, EncryptedSectionIsIvPlusWholeBlocksAndHidesNames)
{
    Peer sender = makePeer();
    auto sealed = sender.sealer.seal(sender.ring, firstPacketMetadata(), {}, kNow);
    ASSERT_TRUE(sealed);
    auto view = parseHeader(sealed->prefix);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->headerLength, 20u);
    // 56 bytes of TLVs -> 64 with PKCS#7, plus the 16-byte IV.
    EXPECT_EQ(view->payloadLength, 16u + 64u);
    const std::string asText(sealed->prefix.begin(), sealed->prefix.end());
    EXPECT_EQ(asText.find("dns-svc"), std::string::npos);
    auto again = sender.sealer.seal(sender.ring, firstPacketMetadata(), {}, kNow);
    ASSERT_TRUE(again);
    EXPECT_NE(again->prefix, sealed->prefix); // fresh IV per packet
}

TEST(Seal, ClearModeMatchesVector81)
{
    Peer sender = makePeer(false);
    auto sealed = sender.sealer.seal(sender.ring, firstPacketMetadata(), {}, kNow);
    ASSERT_TRUE(sealed);
    EXPECT_EQ(sealed->prefix, test::kVector81);
}

TEST(Seal, TagIsDocumentedHmacOverSlotMetadataAndPayload)
{
    Peer sender = makePeer(false);
    auto sealed = sender.sealer.seal(sender.ring, firstPacketMetadata(), kDnsQuery, kNow);
    ASSERT_TRUE(sealed);
    // docs/protocol.md: HMAC-SHA256(key, be64(floor(t/slot)) || metadata || original payload)[0..16)
    auto hmac = HmacSha256::create(SecretKey(Bytes(32, 0x10)));
    ASSERT_TRUE(hmac);
    Bytes slot(8);
    bytes::store64(slot.data(), kNow / 10);
    auto digest = hmac->compute({test::concat({slot, sealed->prefix, kDnsQuery})});
    ASSERT_TRUE(digest);
    EXPECT_TRUE(std::equal(sealed->tag.begin(), sealed->tag.end(), digest->begin()));
}

TEST(Seal, ReplacesCallerSecurityIdWithCurrentGeneration)
{
    Peer sender = makePeer(false, 42);
    Metadata m = firstPacketMetadata();
    m.headerTlvs.push_back(SecurityId{7});
    auto sealed = sender.sealer.seal(sender.ring, m, {}, kNow);
    ASSERT_TRUE(sealed);
    auto decoded = decode(sealed->prefix);
    ASSERT_TRUE(decoded);
    ASSERT_EQ(decoded->metadata.headerTlvs.size(), 1u);
    EXPECT_EQ(std::get<SecurityId>(decoded->metadata.headerTlvs[0]).value, 42u);
}

TEST(Open, EveryCoveredByteIsProtected)
{
    Peer sender = makePeer();
    Peer receiver = makePeer();
    auto sealed = sender.sealer.seal(sender.ring, firstPacketMetadata(), kDnsQuery, kNow);
    ASSERT_TRUE(sealed);
    const Bytes packet = wire(*sealed, kDnsQuery);
    // Flip one bit anywhere after the 12-byte header's length fields (those fail earlier
    // with a length error); the result must never verify.
    for (std::size_t i = 0; i < packet.size(); ++i) {
        Bytes tampered = packet;
        tampered[i] ^= 0x01;
        auto opened = receiver.sealer.open(receiver.ring, tampered, kNow);
        EXPECT_FALSE(opened) << "byte " << i;
    }
}

TEST(Open, TimeSlotWindowIsPlusMinusOneSlot)
{
    Peer sender = makePeer();
    Peer receiver = makePeer();
    auto sealed = sender.sealer.seal(sender.ring, firstPacketMetadata(), {}, kNow);
    ASSERT_TRUE(sealed);
    const Bytes packet = wire(*sealed, {});
    EXPECT_TRUE(receiver.sealer.open(receiver.ring, packet, kNow - 10));
    EXPECT_TRUE(receiver.sealer.open(receiver.ring, packet, kNow + 10));
    auto late = receiver.sealer.open(receiver.ring, packet, kNow + 20);
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code, Errc::HmacMismatch);
    auto early = receiver.sealer.open(receiver.ring, packet, kNow - 20);
    ASSERT_FALSE(early);
    EXPECT_EQ(early.error().code, Errc::HmacMismatch);
}

TEST(Open, FalsePositiveMarkerIsUnsigned)
{
    Peer receiver = makePeer();
    const Bytes packet = test::concat({test::kVector84, test::kVector84, hex("0102")});
    auto opened = receiver.sealer.open(receiver.ring, packet, kNow);
    ASSERT_TRUE(opened);
    EXPECT_TRUE(opened->falsePositiveMarker);
    EXPECT_EQ(opened->stripPrefix, 12u);
    EXPECT_EQ(opened->stripSuffix, 0u);
}

TEST(Open, WrongPeerKeyFailsHmac)
{
    Peer sender = makePeer(true, 1, 0x10);
    Peer receiver = makePeer(true, 1, 0x20);
    auto sealed = sender.sealer.seal(sender.ring, firstPacketMetadata(), {}, kNow);
    ASSERT_TRUE(sealed);
    auto opened = receiver.sealer.open(receiver.ring, wire(*sealed, {}), kNow);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, Errc::HmacMismatch);
}

TEST(KeyRotation, OldGenerationValidDuringOverlapOnly)
{
    Peer sender = makePeer(true, 1, 0x10);
    Peer receiver = makePeer(true, 1, 0x10);
    auto old = sender.sealer.seal(sender.ring, firstPacketMetadata(), {}, kNow);
    ASSERT_TRUE(old);

    ASSERT_TRUE(receiver.ring.rotate(2, keys(0x30), kNow, 30));
    ASSERT_TRUE(sender.ring.rotate(2, keys(0x30), kNow, 30));
    EXPECT_EQ(sender.ring.current(), 2u);

    // In flight under generation 1: still accepted inside the overlap.
    EXPECT_TRUE(receiver.sealer.open(receiver.ring, wire(*old, {}), kNow + 5));
    // New packets carry generation 2.
    auto fresh = sender.sealer.seal(sender.ring, firstPacketMetadata(), {}, kNow + 5);
    ASSERT_TRUE(fresh);
    auto opened = receiver.sealer.open(receiver.ring, wire(*fresh, {}), kNow + 5);
    ASSERT_TRUE(opened);
    EXPECT_EQ(opened->generation, 2u);

    // After the overlap generation 1 is refused, with its own error value.
    auto resealedOld = [&] {
        Peer oldSender = makePeer(true, 1, 0x10);
        return oldSender.sealer.seal(oldSender.ring, firstPacketMetadata(), {}, kNow + 31);
    }();
    ASSERT_TRUE(resealedOld);
    auto expired = receiver.sealer.open(receiver.ring, wire(*resealedOld, {}), kNow + 31);
    ASSERT_FALSE(expired);
    EXPECT_EQ(expired.error().code, Errc::KeyGenerationExpired);

    receiver.ring.prune(kNow + 31);
    auto unknown = receiver.sealer.open(receiver.ring, wire(*resealedOld, {}), kNow + 31);
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, Errc::UnknownKeyGeneration);
}

TEST(KeyRotation, SealWithoutKeysFails)
{
    KeyRing empty;
    auto sealer = MetadataSealer::create({});
    ASSERT_TRUE(sealer);
    auto sealed = sealer->seal(empty, firstPacketMetadata(), {}, kNow);
    ASSERT_FALSE(sealed);
    EXPECT_EQ(sealed.error().code, Errc::UnknownKeyGeneration);
}

TEST(Replay, ReplayedFirstPacketNeverCreatesASecondSession)
{
    Peer sender = makePeer();
    Peer receiver = makePeer();
    ReplayGuard guard = ReplayGuard::forPolicy(receiver.sealer.policy());
    auto sealed = sender.sealer.seal(sender.ring, firstPacketMetadata(), kDnsQuery, kNow);
    ASSERT_TRUE(sealed);
    const Bytes packet = wire(*sealed, kDnsQuery);

    int sessionsCreated = 0;
    auto receive = [&](std::uint64_t now) -> Status {
        auto opened = receiver.sealer.open(receiver.ring, packet, now);
        if (!opened) {
            return opened.error();
        }
        if (auto st = guard.admitFirstPacket(opened->metadata, now); !st) {
            return st;
        }
        ++sessionsCreated;
        return {};
    };
    EXPECT_TRUE(receive(kNow));
    auto replay = receive(kNow + 1);
    ASSERT_FALSE(replay);
    EXPECT_EQ(replay.error().code, Errc::ReplayedFirstPacket);
    auto lateReplay = receive(kNow + 19); // still inside the HMAC window: the cache catches it
    ASSERT_FALSE(lateReplay);
    EXPECT_EQ(lateReplay.error().code, Errc::ReplayedFirstPacket);
    auto afterWindow = receive(kNow + 40); // HMAC window over: the tag no longer verifies
    ASSERT_FALSE(afterWindow);
    EXPECT_EQ(afterWindow.error().code, Errc::HmacMismatch);
    EXPECT_EQ(sessionsCreated, 1);
}

TEST(Replay, RetentionCoversTheWholeHmacWindow)
{
    const PeerSecurityPolicy policy{};
    ReplayGuard guard = ReplayGuard::forPolicy(policy);
    const SessionUuid id{{9}};
    ASSERT_TRUE(guard.admit(id, kNow));
    // A packet sealed at slot s verifies until the receiver's slot s+1 ends, and the receiver
    // may have first seen it as early as slot s-1: 3 slots.
    EXPECT_FALSE(guard.admit(id, kNow + 3 * policy.timeSlotSeconds - 1));
    EXPECT_TRUE(guard.admit(id, kNow + 3 * policy.timeSlotSeconds));
}

TEST(Replay, FullCacheFailsClosedThenRecovers)
{
    ReplayGuard guard(2, 30);
    ASSERT_TRUE(guard.admit(SessionUuid{{1}}, kNow));
    ASSERT_TRUE(guard.admit(SessionUuid{{2}}, kNow));
    auto full = guard.admit(SessionUuid{{3}}, kNow);
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error().code, Errc::ReplayCacheFull);
    EXPECT_TRUE(guard.admit(SessionUuid{{3}}, kNow + 30)); // the old entries expired
    EXPECT_EQ(guard.size(), 1u);
}

TEST(Replay, NonFirstPacketsAreNotChecked)
{
    ReplayGuard guard(4, 30);
    Metadata reverse;
    reverse.payloadTlvs.push_back(ReverseContextV4{});
    reverse.payloadTlvs.push_back(DisableForwardMetadata{});
    EXPECT_TRUE(guard.admitFirstPacket(reverse, kNow));
    EXPECT_TRUE(guard.admitFirstPacket(reverse, kNow));
    EXPECT_EQ(guard.size(), 0u);
}

TEST(KeysNeverInMessages, ErrorsCarryNoKeyBytes)
{
    Peer sender = makePeer(true, 1, 0x41); // 'A' * 32 as HMAC key, 'B' * 32 as AES key
    Peer receiver = makePeer(true, 1, 0x61);
    auto sealed = sender.sealer.seal(sender.ring, firstPacketMetadata(), {}, kNow);
    ASSERT_TRUE(sealed);
    auto opened = receiver.sealer.open(receiver.ring, wire(*sealed, {}), kNow);
    ASSERT_FALSE(opened);
    const std::string message = opened.error().describe();
    EXPECT_EQ(message.find("AAAA"), std::string::npos);
    EXPECT_EQ(message.find("aaaa"), std::string::npos);
    EXPECT_EQ(message.find("4141"), std::string::npos);
    EXPECT_NE(message.find("HMAC mismatch"), std::string::npos);
}

TEST(AdaptiveEncryption, DetectsTlsDtlsAndIpsec)
{
    EXPECT_TRUE(payloadAlreadyProtected(6, 50000, 443, hex("160301020001")));  // TLS handshake
    EXPECT_TRUE(payloadAlreadyProtected(6, 443, 50000, hex("1703030100aa")));  // TLS application data
    EXPECT_TRUE(payloadAlreadyProtected(17, 5000, 5001, hex("16fefd0000")));   // DTLS 1.2
    EXPECT_TRUE(payloadAlreadyProtected(50, 0, 0, hex("00000001")));           // ESP
    EXPECT_TRUE(payloadAlreadyProtected(17, 4500, 4500, hex("0000000100")));   // ESP-in-UDP
    EXPECT_TRUE(payloadAlreadyProtected(17, 500, 500, hex("0102")));           // IKE
    EXPECT_FALSE(payloadAlreadyProtected(17, 40000, 53, kDnsQuery));           // DNS
    EXPECT_FALSE(payloadAlreadyProtected(6, 50000, 80, Bytes{'G', 'E', 'T', ' ', '/'}));
    EXPECT_FALSE(payloadAlreadyProtected(6, 50000, 443, hex("1603")));         // too short to tell
}

TEST(PayloadEncryption, EndToEndRoundTripWithFreshIv)
{
    const SecretKey serviceKey = SecretKey::random(32);
    auto cipher = PayloadCipher::create(serviceKey);
    ASSERT_TRUE(cipher);
    Bytes first;
    Bytes second;
    ASSERT_TRUE(cipher->seal(kDnsQuery, first));
    ASSERT_TRUE(cipher->seal(kDnsQuery, second));
    EXPECT_EQ(first.size(), PayloadCipher::sealedSize(kDnsQuery.size()));
    EXPECT_NE(first, second);
    Bytes plain;
    ASSERT_TRUE(cipher->open(first, plain));
    EXPECT_EQ(plain, kDnsQuery);
    auto other = PayloadCipher::create(SecretKey::random(32));
    ASSERT_TRUE(other);
    Bytes wrong;
    const auto st = other->open(first, wrong);
    ASSERT_FALSE(st) << "a wrong key fails authentication";
    EXPECT_EQ(st.error().code, Errc::HmacMismatch);
}

// Encrypt-then-MAC: any changed byte (IV, ciphertext or tag) is refused before decryption, so
// a router between the edges can neither alter a payload nor probe the padding.
TEST(PayloadEncryption, EveryTamperedByteIsRefused)
{
    auto cipher = PayloadCipher::create(SecretKey::random(32));
    ASSERT_TRUE(cipher);
    Bytes sealed;
    ASSERT_TRUE(cipher->seal(kDnsQuery, sealed));
    for (std::size_t i = 0; i < sealed.size(); ++i) {
        Bytes tampered = sealed;
        tampered[i] ^= 0x40;
        Bytes plain;
        const auto st = cipher->open(tampered, plain);
        ASSERT_FALSE(st) << "byte " << i;
        EXPECT_EQ(st.error().code, Errc::HmacMismatch) << "byte " << i;
        EXPECT_TRUE(plain.empty());
    }
    Bytes plain;
    EXPECT_EQ(cipher->open(std::span(sealed).first(sealed.size() - 1), plain).error().code,
              Errc::CiphertextTruncated);
    EXPECT_EQ(PayloadCipher::sealedSize(0), 16U + 16U + 16U);
    EXPECT_EQ(PayloadCipher::sealedSize(16), 16U + 32U + 16U);
}

TEST(EndToEnd, SealInsertParseOpenStripRestoresThePacket)
{
    Peer sender = makePeer();
    Peer receiver = makePeer();
    const Bytes original = test::buildPacket({.ipVersion = 4, .protocol = 17, .payload = kDnsQuery});
    auto layout = parsePacket(original);
    ASSERT_TRUE(layout);
    auto sealed = sender.sealer.seal(sender.ring, firstPacketMetadata(), l4Payload(original, *layout), kNow);
    ASSERT_TRUE(sealed);
    Bytes packet = original;
    auto inserted = insertMetadata(packet, sealed->prefix, sealed->tag);
    ASSERT_TRUE(inserted);
    ASSERT_EQ(inserted->kind, InsertOutcome::Kind::Inserted);
    EXPECT_TRUE(test::checksumsValid(packet));

    auto received = parsePacket(packet);
    ASSERT_TRUE(received);
    auto opened = receiver.sealer.open(receiver.ring, l4Payload(packet, *received), kNow);
    ASSERT_TRUE(opened) << opened.error().describe();
    ASSERT_TRUE(stripMetadata(packet, opened->stripPrefix, opened->stripSuffix));
    EXPECT_EQ(packet, original);
}

} // namespace
} // namespace svr::protocol

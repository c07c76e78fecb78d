// Known-answer tests through our wrappers: RFC 4231 HMAC-SHA256 and NIST SP 800-38A F.2.5/F.2.6
// AES-256-CBC; SecretKey hygiene; IVs never repeat.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>
#include <type_traits>

#include "protocol/crypto.hpp"
#include "protocol/security.hpp"
#include "test_support.hpp"

namespace svr::protocol {
namespace {

using test::Bytes;
using test::hex;

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

struct HmacCase {
    const char* name;
    Bytes key;
    Bytes data;
    std::string expected; // hex; 32 bytes, or 16 for the truncation case
};

class Rfc4231 : public ::testing::TestWithParam<HmacCase> {};

TEST_P(Rfc4231, MatchesPublishedMac)
{
    const auto& c = GetParam();
    auto hmac = HmacSha256::create(SecretKey(c.key));
    ASSERT_TRUE(hmac);
    const Bytes expected = hex(c.expected);
    if (expected.size() == kTagSize) {
        auto tag = hmac->tag({c.data});
        ASSERT_TRUE(tag);
        EXPECT_EQ(Bytes(tag->begin(), tag->end()), expected);
    } else {
        auto digest = hmac->compute({c.data});
        ASSERT_TRUE(digest);
        EXPECT_EQ(Bytes(digest->begin(), digest->end()), expected);
        // The same key object gives the same answer again (state reset between packets) and
        // split input gives the same MAC as one piece.
        const std::span<const std::uint8_t> all(c.data);
        auto split = hmac->compute({all.first(all.size() / 2), all.subspan(all.size() / 2)});
        ASSERT_TRUE(split);
        EXPECT_EQ(*split, *digest);
    }
}

INSTANTIATE_TEST_SUITE_P(
    HmacSha256, Rfc4231,
    ::testing::Values(
        HmacCase{"case1", Bytes(20, 0x0b), text("Hi There"),
                 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        HmacCase{"case2", text("Jefe"), text("what do ya want for nothing?"),
                 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        HmacCase{"case3", Bytes(20, 0xaa), Bytes(50, 0xdd),
                 "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        HmacCase{"case4", hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), Bytes(50, 0xcd),
                 "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        HmacCase{"case5_truncated128", Bytes(20, 0x0c), text("Test With Truncation"),
                 "a3b6167473100ee06e0c796c2955552b"},
        HmacCase{"case6", Bytes(131, 0xaa), text("Test Using Larger Than Block-Size Key - Hash Key First"),
                 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        HmacCase{"case7", Bytes(131, 0xaa),
                 text("This is a test using a larger than block-size key and a larger than block-size data. The "
                      "key needs to be hashed before being used by the HMAC algorithm."),
                 "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"}),
    [](const auto& info) { return std::string(info.param.name); });

// NIST SP 800-38A, F.2.5 (encrypt) and F.2.6 (decrypt), CBC-AES256.
const Bytes kNistKey = hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
const Bytes kNistIv = hex("000102030405060708090a0b0c0d0e0f");
const Bytes kNistPlain = hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                             "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
const Bytes kNistCipher = hex("f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
                              "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b");

std::span<const std::uint8_t, kAesBlock> iv(const Bytes& b) { return std::span<const std::uint8_t, kAesBlock>(b.data(), kAesBlock); }

TEST(Aes256CbcNist, F25Encrypt)
{
    auto aes = Aes256Cbc::create(SecretKey(kNistKey));
    ASSERT_TRUE(aes);
    Bytes out;
    ASSERT_TRUE(aes->encrypt(iv(kNistIv), kNistPlain, out, Padding::None));
    EXPECT_EQ(out, kNistCipher);
    // The same keyed object again: only the IV is reset between packets.
    out.clear();
    ASSERT_TRUE(aes->encrypt(iv(kNistIv), kNistPlain, out, Padding::None));
    EXPECT_EQ(out, kNistCipher);
}

TEST(Aes256CbcNist, F26Decrypt)
{
    auto aes = Aes256Cbc::create(SecretKey(kNistKey));
    ASSERT_TRUE(aes);
    Bytes out;
    ASSERT_TRUE(aes->decrypt(iv(kNistIv), kNistCipher, out, Padding::None));
    EXPECT_EQ(out, kNistPlain);
}

TEST(Aes256CbcPkcs7, FullBlockGetsAWholePaddingBlock)
{
    auto aes = Aes256Cbc::create(SecretKey(kNistKey));
    ASSERT_TRUE(aes);
    Bytes out;
    const std::span<const std::uint8_t> first(kNistPlain.data(), 16);
    ASSERT_TRUE(aes->encrypt(iv(kNistIv), first, out));
    ASSERT_EQ(out.size(), 32u);
    EXPECT_TRUE(std::equal(out.begin(), out.begin() + 16, kNistCipher.begin())); // CBC block 1 unchanged
    Bytes back;
    ASSERT_TRUE(aes->decrypt(iv(kNistIv), out, back));
    EXPECT_EQ(back, Bytes(first.begin(), first.end()));
}

TEST(Aes256CbcPkcs7, RoundTripsEveryLengthUpTo48)
{
    auto aes = Aes256Cbc::create(SecretKey::random(32));
    ASSERT_TRUE(aes);
    for (std::size_t length = 0; length <= 48; ++length) {
        Bytes plain(length, static_cast<std::uint8_t>(length));
        Bytes sealed;
        ASSERT_TRUE(aes->encrypt(iv(kNistIv), plain, sealed));
        EXPECT_EQ(sealed.size(), (length / 16 + 1) * 16);
        Bytes back;
        ASSERT_TRUE(aes->decrypt(iv(kNistIv), sealed, back));
        EXPECT_EQ(back, plain);
    }
}

TEST(Aes256CbcPkcs7, WrongKeySizeIsCryptoFailure)
{
    auto aes = Aes256Cbc::create(SecretKey(Bytes(16, 1)));
    ASSERT_FALSE(aes);
    EXPECT_EQ(aes.error().code, Errc::CryptoFailure);
}

TEST(IvSourceTest, IvsAreFreshAcrossPoolRefills)
{
    IvSource source;
    std::set<Bytes> seen;
    for (int i = 0; i < 600; ++i) { // more than two 256-IV pools
        std::array<std::uint8_t, kAesBlock> iv{};
        ASSERT_TRUE(source.next(iv));
        seen.insert(Bytes(iv.begin(), iv.end()));
    }
    EXPECT_EQ(seen.size(), 600u);
}

// A copy of an IV batch would hand out the same IVs twice; so would a copy of what owns one.
static_assert(!std::is_copy_constructible_v<IvSource>);
static_assert(!std::is_copy_assignable_v<IvSource>);
static_assert(std::is_nothrow_move_constructible_v<IvSource>);
static_assert(!std::is_copy_constructible_v<MetadataSealer>);
static_assert(!std::is_copy_constructible_v<PayloadCipher>);

TEST(IvSourceTest, MovedFromSourceRefillsInsteadOfReplaying)
{
    std::set<Bytes> seen;
    auto draw = [&seen](IvSource& source, int count) {
        for (int i = 0; i < count; ++i) {
            std::array<std::uint8_t, kAesBlock> iv{};
            ASSERT_TRUE(source.next(iv));
            EXPECT_TRUE(seen.insert(Bytes(iv.begin(), iv.end())).second) << "IV repeated";
        }
    };
    IvSource original;
    draw(original, 1); // the batch is filled and partly used
    IvSource constructed = std::move(original);
    draw(constructed, 300);
    draw(original, 300); // NOLINT(bugprone-use-after-move): a moved-from source must refill
    IvSource assigned;
    draw(assigned, 1);
    assigned = std::move(constructed);
    draw(assigned, 300);
    draw(constructed, 300); // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(seen.size(), 1202u);
}

constexpr int kSealsPerSealer = 600; // more than two 256-IV batches each

TEST(SealerIvs, TwoPayloadCiphersNeverRepeatAnIv)
{
    const SecretKey key = SecretKey::random(32);
    auto first = PayloadCipher::create(key);
    auto second = PayloadCipher::create(key);
    ASSERT_TRUE(first);
    ASSERT_TRUE(second);
    const Bytes payload(40, 0x5a);
    std::set<Bytes> ivs;
    for (int i = 0; i < kSealsPerSealer; ++i) {
        for (PayloadCipher* cipher : {&*first, &*second}) {
            Bytes sealed;
            ASSERT_TRUE(cipher->seal(payload, sealed));
            ASSERT_EQ(sealed.size(), PayloadCipher::sealedSize(payload.size()));
            ivs.insert(Bytes(sealed.begin(), sealed.begin() + kAesBlock)); // IV(16) || ciphertext
        }
    }
    EXPECT_EQ(ivs.size(), 2u * kSealsPerSealer);
}

TEST(SealerIvs, TwoMetadataSealersNeverRepeatAnIv)
{
    constexpr std::uint64_t now = 1'790'000'000;
    KeyRing ring;
    ASSERT_TRUE(ring.install(1, PeerKeys{SecretKey::random(32), SecretKey::random(32)}));
    const Metadata metadata; // no payload TLVs: the encrypted section is IV || one padding block
    const Bytes payload(20, 0x11);
    // The IV follows the header TLVs; a clear sealer gives the header length.
    auto clear = MetadataSealer::create({.encryptMetadata = false});
    ASSERT_TRUE(clear);
    auto header = clear->seal(ring, metadata, payload, now);
    ASSERT_TRUE(header);
    const std::size_t ivOffset = header->prefix.size();

    auto first = MetadataSealer::create({.encryptMetadata = true});
    auto second = MetadataSealer::create({.encryptMetadata = true});
    ASSERT_TRUE(first);
    ASSERT_TRUE(second);
    std::set<Bytes> ivs;
    for (int i = 0; i < kSealsPerSealer; ++i) {
        for (MetadataSealer* sealer : {&*first, &*second}) {
            auto sealed = sealer->seal(ring, metadata, payload, now);
            ASSERT_TRUE(sealed);
            ASSERT_EQ(sealed->prefix.size(), ivOffset + 2 * kAesBlock);
            const auto iv = sealed->prefix.begin() + static_cast<std::ptrdiff_t>(ivOffset);
            ivs.insert(Bytes(iv, iv + kAesBlock));
        }
    }
    EXPECT_EQ(ivs.size(), 2u * kSealsPerSealer);
}

TEST(SecretKeyHygiene, ConstantTimeCompareAndNoKeyBytesInErrors)
{
    const SecretKey a(Bytes(32, 0x41));
    const SecretKey b(Bytes(32, 0x41));
    const SecretKey c(Bytes(32, 0x42));
    EXPECT_TRUE(a.equalsConstantTime(b));
    EXPECT_FALSE(a.equalsConstantTime(c));
    SecretKey moved = SecretKey(Bytes(32, 0x43));
    SecretKey target = std::move(moved);
    EXPECT_EQ(target.size(), 32u);
    EXPECT_TRUE(moved.empty()); // NOLINT(bugprone-use-after-move): the moved-from key is wiped
    static_assert(!std::is_invocable_v<decltype([](std::ostream& os, const auto& k) -> decltype(os << k) { return os << k; }),
                                       std::ostream&, const SecretKey&>,
                  "SecretKey must not be printable");
}

TEST(SecretKeyHygiene, RandomKeysDiffer)
{
    const auto a = SecretKey::random(32);
    const auto b = SecretKey::random(32);
    EXPECT_EQ(a.size(), 32u);
    EXPECT_FALSE(a.equalsConstantTime(b));
}

} // namespace
} // namespace svr::protocol

#include "protocol/crypto.hpp"

#include <algorithm>
#include <stdexcept>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "protocol/errors.hpp"

namespace svr::protocol {

SecretKey& SecretKey::operator=(const SecretKey& other)
{
    if (this != &other) {
        wipe();
        bytes_ = other.bytes_;
    }
    return *this;
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept
{
    if (this != &other) {
        wipe();
        bytes_ = std::move(other.bytes_);
        other.wipe();
    }
    return *this;
}

void SecretKey::wipe() noexcept
{
    if (!bytes_.empty()) {
        OPENSSL_cleanse(bytes_.data(), bytes_.size());
    }
    bytes_.clear();
}

SecretKey SecretKey::random(std::size_t size)
{
    std::vector<std::uint8_t> buffer(size);
    if (RAND_bytes(buffer.data(), static_cast<int>(size)) != 1) {
        throw std::runtime_error("RAND_bytes failed"); // no entropy: a broken host, not bad input
    }
    SecretKey key(buffer);
    OPENSSL_cleanse(buffer.data(), buffer.size());
    return key;
}

bool SecretKey::equalsConstantTime(const SecretKey& other) const
{
    return equalConstantTime(bytes_, other.bytes_);
}

bool equalConstantTime(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b)
{
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Status fillRandom(std::span<std::uint8_t> out)
{
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
        return protocolError(Errc::CryptoFailure);
    }
    return {};
}

// ---- HMAC ----

struct HmacSha256::State {
    EVP_MAC* mac = nullptr;
    EVP_MAC_CTX* ctx = nullptr;
    ~State()
    {
        EVP_MAC_CTX_free(ctx);
        EVP_MAC_free(mac);
    }
};

HmacSha256::HmacSha256(std::unique_ptr<State> state) : state_(std::move(state)) {}
HmacSha256::HmacSha256(HmacSha256&&) noexcept = default;
HmacSha256& HmacSha256::operator=(HmacSha256&&) noexcept = default;
HmacSha256::~HmacSha256() = default;

Result<HmacSha256> HmacSha256::create(const SecretKey& key)
{
    auto state = std::make_unique<State>();
    state->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (state->mac == nullptr) {
        return protocolError(Errc::CryptoFailure);
    }
    state->ctx = EVP_MAC_CTX_new(state->mac);
    if (state->ctx == nullptr) {
        return protocolError(Errc::CryptoFailure);
    }
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    // An empty key is legal HMAC; OpenSSL needs a non-null pointer for it.
    static const std::uint8_t kEmpty = 0;
    const auto bytes = key.reveal();
    if (EVP_MAC_init(state->ctx, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(), params) != 1) {
        return protocolError(Errc::CryptoFailure);
    }
    return HmacSha256(std::move(state));
}

Result<Digest> HmacSha256::compute(std::initializer_list<std::span<const std::uint8_t>> parts)
{
    // A null key re-initialises from the precomputed key state.
    if (EVP_MAC_init(state_->ctx, nullptr, 0, nullptr) != 1) {
        return protocolError(Errc::CryptoFailure);
    }
    for (const auto& part : parts) {
        if (!part.empty() && EVP_MAC_update(state_->ctx, part.data(), part.size()) != 1) {
            return protocolError(Errc::CryptoFailure);
        }
    }
    Digest digest{};
    std::size_t length = 0;
    if (EVP_MAC_final(state_->ctx, digest.data(), &length, digest.size()) != 1 || length != digest.size()) {
        return protocolError(Errc::CryptoFailure);
    }
    return digest;
}

Result<Tag> HmacSha256::tag(std::initializer_list<std::span<const std::uint8_t>> parts)
{
    auto digest = compute(parts);
    if (!digest) {
        return digest.error();
    }
    Tag tag{};
    std::copy_n(digest->begin(), tag.size(), tag.begin());
    return tag;
}

// ---- AES-256-CBC ----

struct Aes256Cbc::State {
    EVP_CIPHER* cipher = nullptr;
    EVP_CIPHER_CTX* encryptCtx = nullptr;
    EVP_CIPHER_CTX* decryptCtx = nullptr;
    ~State()
    {
        EVP_CIPHER_CTX_free(encryptCtx);
        EVP_CIPHER_CTX_free(decryptCtx);
        EVP_CIPHER_free(cipher);
    }
};

Aes256Cbc::Aes256Cbc(std::unique_ptr<State> state) : state_(std::move(state)) {}
Aes256Cbc::Aes256Cbc(Aes256Cbc&&) noexcept = default;
Aes256Cbc& Aes256Cbc::operator=(Aes256Cbc&&) noexcept = default;
Aes256Cbc::~Aes256Cbc() = default;

Result<Aes256Cbc> Aes256Cbc::create(const SecretKey& key)
{
    if (key.size() != kAes256KeySize) {
        return protocolError(Errc::CryptoFailure);
    }
    auto state = std::make_unique<State>();
    state->cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
    state->encryptCtx = EVP_CIPHER_CTX_new();
    state->decryptCtx = EVP_CIPHER_CTX_new();
    if (state->cipher == nullptr || state->encryptCtx == nullptr || state->decryptCtx == nullptr ||
        EVP_EncryptInit_ex2(state->encryptCtx, state->cipher, key.reveal().data(), nullptr, nullptr) != 1 ||
        EVP_DecryptInit_ex2(state->decryptCtx, state->cipher, key.reveal().data(), nullptr, nullptr) != 1) {
        return protocolError(Errc::CryptoFailure);
    }
    return Aes256Cbc(std::move(state));
}

Status Aes256Cbc::encrypt(std::span<const std::uint8_t, kAesBlock> iv, std::span<const std::uint8_t> plaintext,
                          std::vector<std::uint8_t>& out, Padding padding)
{
    if (padding == Padding::None && plaintext.size() % kAesBlock != 0) {
        return protocolError(Errc::CryptoFailure);
    }
    EVP_CIPHER_CTX* ctx = state_->encryptCtx;
    // Null cipher and key: keep the key schedule, set only the IV.
    if (EVP_EncryptInit_ex2(ctx, nullptr, nullptr, iv.data(), nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, padding == Padding::Pkcs7 ? 1 : 0) != 1) {
        return protocolError(Errc::CryptoFailure);
    }
    const std::size_t start = out.size();
    out.resize(start + plaintext.size() + kAesBlock);
    int written = 0;
    int finalWritten = 0;
    if (EVP_EncryptUpdate(ctx, out.data() + start, &written, plaintext.data(), static_cast<int>(plaintext.size())) !=
            1 ||
        EVP_EncryptFinal_ex(ctx, out.data() + start + written, &finalWritten) != 1) {
        out.resize(start);
        return protocolError(Errc::CryptoFailure);
    }
    out.resize(start + static_cast<std::size_t>(written + finalWritten));
    return {};
}

Status Aes256Cbc::decrypt(std::span<const std::uint8_t, kAesBlock> iv, std::span<const std::uint8_t> ciphertext,
                          std::vector<std::uint8_t>& out, Padding padding)
{
    if (ciphertext.empty() || ciphertext.size() % kAesBlock != 0) {
        return protocolError(Errc::CiphertextTruncated);
    }
    EVP_CIPHER_CTX* ctx = state_->decryptCtx;
    if (EVP_DecryptInit_ex2(ctx, nullptr, nullptr, iv.data(), nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, padding == Padding::Pkcs7 ? 1 : 0) != 1) {
        return protocolError(Errc::CryptoFailure);
    }
    const std::size_t start = out.size();
    out.resize(start + ciphertext.size() + kAesBlock);
    int written = 0;
    int finalWritten = 0;
    if (EVP_DecryptUpdate(ctx, out.data() + start, &written, ciphertext.data(), static_cast<int>(ciphertext.size())) !=
        1) {
        out.resize(start);
        return protocolError(Errc::CryptoFailure);
    }
    if (EVP_DecryptFinal_ex(ctx, out.data() + start + written, &finalWritten) != 1) {
        out.resize(start);
        return protocolError(Errc::BadPadding);
    }
    out.resize(start + static_cast<std::size_t>(written + finalWritten));
    return {};
}

IvSource::IvSource(IvSource&& other) noexcept { takeFrom(other); }

IvSource& IvSource::operator=(IvSource&& other) noexcept
{
    if (this != &other) {
        discard();
        takeFrom(other);
    }
    return *this;
}

IvSource::~IvSource() { discard(); }

void IvSource::discard() noexcept
{
    OPENSSL_cleanse(pool_.data(), pool_.size());
    used_ = kPoolSize;
}

void IvSource::takeFrom(IvSource& other) noexcept
{
    pool_ = other.pool_;
    used_ = other.used_;
    other.discard();
}

Status IvSource::next(std::span<std::uint8_t, kAesBlock> iv)
{
    if (used_ + kAesBlock > pool_.size()) {
        if (auto st = fillRandom(pool_); !st) {
            return st;
        }
        used_ = 0;
    }
    std::copy_n(pool_.begin() + static_cast<std::ptrdiff_t>(used_), kAesBlock, iv.begin());
    used_ += kAesBlock;
    return {};
}

} // namespace svr::protocol

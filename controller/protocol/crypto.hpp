// Thin RAII wrappers over OpenSSL EVP for the two primitives SVR uses: HMAC-SHA256 and
// AES-256-CBC. Objects keep their OpenSSL context between packets (keying is the expensive
// part), so one object serves one thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <span>
#include <vector>

#include "common/result.hpp"

namespace svr::protocol {

// Key bytes: zeroed on destruction, never formatted (no operator<<, no fmt formatter), never
// part of an error message. Compare with equalsConstantTime only.
class SecretKey {
public:
    SecretKey() = default;
    explicit SecretKey(std::span<const std::uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
    SecretKey(const SecretKey&) = default;
    SecretKey(SecretKey&& other) noexcept : bytes_(std::move(other.bytes_)) { other.wipe(); }
    SecretKey& operator=(const SecretKey& other);
    SecretKey& operator=(SecretKey&& other) noexcept;
    ~SecretKey() { wipe(); }

    static SecretKey random(std::size_t size);
    std::span<const std::uint8_t> reveal() const { return bytes_; } // for crypto calls only
    std::size_t size() const { return bytes_.size(); }
    bool empty() const { return bytes_.empty(); }
    bool equalsConstantTime(const SecretKey& other) const;

private:
    void wipe() noexcept;
    std::vector<std::uint8_t> bytes_;
};
std::ostream& operator<<(std::ostream&, const SecretKey&) = delete;

inline constexpr std::size_t kTagSize = 16; // HMAC-SHA256 truncated to 128 bits
inline constexpr std::size_t kAesBlock = 16;
inline constexpr std::size_t kAes256KeySize = 32;
using Tag = std::array<std::uint8_t, kTagSize>;
using Digest = std::array<std::uint8_t, 32>;

bool equalConstantTime(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);
Status fillRandom(std::span<std::uint8_t> out);

// HMAC-SHA256 keyed once; each compute() reuses the precomputed inner/outer state.
class HmacSha256 {
public:
    static Result<HmacSha256> create(const SecretKey& key);
    HmacSha256(HmacSha256&&) noexcept;
    HmacSha256& operator=(HmacSha256&&) noexcept;
    ~HmacSha256();

    // Full 32-byte MAC over the concatenation of parts.
    Result<Digest> compute(std::initializer_list<std::span<const std::uint8_t>> parts);
    // The SVR tag: first 16 bytes.
    Result<Tag> tag(std::initializer_list<std::span<const std::uint8_t>> parts);

private:
    struct State;
    explicit HmacSha256(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

enum class Padding { Pkcs7, None };

// AES-256-CBC keyed once (the key schedule is the expensive part); each call only sets the IV.
class Aes256Cbc {
public:
    // CryptoFailure unless the key is 32 bytes.
    static Result<Aes256Cbc> create(const SecretKey& key);
    Aes256Cbc(Aes256Cbc&&) noexcept;
    Aes256Cbc& operator=(Aes256Cbc&&) noexcept;
    ~Aes256Cbc();

    // Appends the ciphertext (no IV) to out.
    Status encrypt(std::span<const std::uint8_t, kAesBlock> iv, std::span<const std::uint8_t> plaintext,
                   std::vector<std::uint8_t>& out, Padding padding = Padding::Pkcs7);
    // Appends the plaintext to out. Errc::CiphertextTruncated, Errc::BadPadding on bad input.
    Status decrypt(std::span<const std::uint8_t, kAesBlock> iv, std::span<const std::uint8_t> ciphertext,
                   std::vector<std::uint8_t>& out, Padding padding = Padding::Pkcs7);

private:
    struct State;
    explicit Aes256Cbc(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

// Per-packet IVs from OpenSSL's DRBG, fetched in 4 KiB batches: one RAND_bytes call serves
// 256 packets. One per thread. Not copyable: a copy would hand out the same IVs twice. A
// moved-from source is empty and refills from the DRBG. CBC needs IVs nobody can predict, so
// the batch is cleansed when it is given up.
class IvSource {
public:
    IvSource() = default;
    IvSource(const IvSource&) = delete;
    IvSource& operator=(const IvSource&) = delete;
    IvSource(IvSource&& other) noexcept;
    IvSource& operator=(IvSource&& other) noexcept;
    ~IvSource();

    Status next(std::span<std::uint8_t, kAesBlock> iv);

private:
    static constexpr std::size_t kPoolSize = 4096;
    void discard() noexcept;
    void takeFrom(IvSource& other) noexcept;

    std::array<std::uint8_t, kPoolSize> pool_{};
    std::size_t used_ = kPoolSize; // kPoolSize: empty
};

} // namespace svr::protocol

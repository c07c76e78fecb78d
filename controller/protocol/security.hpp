// SVR metadata security: per-peer key generations, time-slotted HMAC-SHA256/128 signing,
// AES-256-CBC encryption of the payload-TLV section, first-packet replay protection and
// end-to-end payload encryption. The exact byte coverage is in docs/protocol.md §5.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "protocol/crypto.hpp"
#include "protocol/metadata.hpp"

namespace svr::protocol {

// What a peer pair agreed on (adjacency / interface inter-router-security).
struct PeerSecurityPolicy {
    bool encryptMetadata = true;       // payload-TLV section under AES-256-CBC
    std::uint32_t timeSlotSeconds = 10; // time-based HMAC slot; receiver accepts slot -1, 0, +1
};

// Keys of one generation: HMAC key (any length, 32 recommended) and, when metadata is
// encrypted, a 32-byte AES key.
struct PeerKeys {
    SecretKey hmacKey;
    SecretKey metadataKey;
};

// Key generations of one peer, selected by the Security ID TLV. rotate() makes the new
// generation current at once and keeps the previous ones valid until now + overlap.
// Not thread-safe: each forwarding thread owns its rings.
class KeyRing {
public:
    struct Generation {
        PeerKeys keys;
        HmacSha256 hmac;
        std::optional<Aes256Cbc> metadataCipher; // keyed with keys.metadataKey when it is set
        std::optional<std::uint64_t> retiresAt; // seconds; unset while current or not retired
    };

    // First generation (or forced replacement): current, no overlap with anything older.
    Status install(std::uint32_t generation, PeerKeys keys);
    // New current generation; older live generations stay valid for overlapSeconds.
    Status rotate(std::uint32_t generation, PeerKeys keys, std::uint64_t nowSeconds, std::uint64_t overlapSeconds);
    // Forgets generations whose overlap has passed.
    void prune(std::uint64_t nowSeconds);

    std::optional<std::uint32_t> current() const { return current_; }
    // UnknownKeyGeneration, KeyGenerationExpired.
    Result<Generation*> lookup(std::uint32_t generation, std::uint64_t nowSeconds);

private:
    std::map<std::uint32_t, Generation> generations_;
    std::optional<std::uint32_t> current_;
};

// The bytes a sender puts into a packet: prefix right after the L4 header, tag at the very end
// of the L4 payload.
struct SealedMetadata {
    std::vector<std::uint8_t> prefix;
    Tag tag{};
};

// A verified metadata block. stripPrefix bytes leave the front of the L4 payload and
// stripSuffix bytes its end (0 for the unsigned false-positive marker).
struct OpenedMetadata {
    Metadata metadata;
    std::size_t stripPrefix = 0;
    std::size_t stripSuffix = 0;
    std::optional<std::uint32_t> generation;
    bool falsePositiveMarker = false;
};

// Signs/encrypts outgoing and verifies/decrypts incoming metadata for one peer.
// Not thread-safe (keeps cipher contexts): one per forwarding thread and peer.
class MetadataSealer {
public:
    static Result<MetadataSealer> create(PeerSecurityPolicy policy);

    // Encodes metadata with TLV 16 = ring's current generation as the first header TLV (any
    // Security ID in metadata.headerTlvs is replaced), encrypts the payload section if the
    // policy says so and signs prefix || originalPayload for the current time slot.
    Status seal(KeyRing& ring, const Metadata& metadata, std::span<const std::uint8_t> originalPayload,
                std::uint64_t nowSeconds, SealedMetadata& out);
    Result<SealedMetadata> seal(KeyRing& ring, const Metadata& metadata,
                                std::span<const std::uint8_t> originalPayload, std::uint64_t nowSeconds);

    // l4Payload: everything after the UDP/TCP header. Checks in order: cookie and lengths,
    // Security ID and key generation, HMAC (constant time), then decryption and decoding.
    Result<OpenedMetadata> open(KeyRing& ring, std::span<const std::uint8_t> l4Payload, std::uint64_t nowSeconds);

    const PeerSecurityPolicy& policy() const { return policy_; }

private:
    explicit MetadataSealer(PeerSecurityPolicy policy) : policy_(policy) {}
    PeerSecurityPolicy policy_;
    IvSource ivs_;
    std::vector<std::uint8_t> scratch_;
};

// First-packet replay protection: remembers each admitted session UUID for retentionSeconds
// (3 HMAC time slots, the longest a signed first packet can verify). Capacity-bounded; when
// full of live entries it refuses (fails closed) instead of forgetting one.
class ReplayGuard {
public:
    ReplayGuard(std::size_t capacity, std::uint64_t retentionSeconds)
        : capacity_(capacity), retentionSeconds_(retentionSeconds)
    {
    }
    static ReplayGuard forPolicy(const PeerSecurityPolicy& policy, std::size_t capacity = 1 << 20)
    {
        return ReplayGuard(capacity, 3ULL * policy.timeSlotSeconds);
    }

    // Ok for a UUID not seen inside the window; ReplayedFirstPacket otherwise (the caller maps
    // the packet to the existing session and never creates a second one); ReplayCacheFull.
    Status admit(const SessionUuid& uuid, std::uint64_t nowSeconds);
    // Applies admit() when metadata opens a session (carries a forward context);
    // MissingSessionUuid when such metadata has no TLV 6.
    Status admitFirstPacket(const Metadata& metadata, std::uint64_t nowSeconds);
    std::size_t size() const { return expiry_.size(); }

private:
    struct UuidHash {
        std::size_t operator()(const std::array<std::uint8_t, 16>& id) const noexcept;
    };
    void expire(std::uint64_t nowSeconds);
    std::size_t capacity_;
    std::uint64_t retentionSeconds_;
    std::unordered_map<std::array<std::uint8_t, 16>, std::uint64_t, UuidHash> expiry_;
    std::deque<std::pair<std::uint64_t, std::array<std::uint8_t, 16>>> order_;
};

// Adaptive encryption: true when the L4 payload is already protected (TLS/DTLS record, IPsec
// ESP/AH, IKE/NAT-T on UDP 500/4500) and must not be encrypted a second time.
bool payloadAlreadyProtected(std::uint8_t ipProtocol, std::uint16_t sourcePort, std::uint16_t destinationPort,
                             std::span<const std::uint8_t> payload);

// End-to-end per-service payload encryption, encrypt-then-MAC:
//   IV(16) || AES-256-CBC-PKCS#7(payload) || HMAC-SHA256(IV || ciphertext)[0..16)
// with an AES key and an HMAC key derived from the service's 32-byte payload key
// (HMAC-SHA256(key, label)), so the routers between the two edges can neither read nor alter
// a payload undetected, and no padding check runs on unauthenticated bytes.
// One per service key and thread.
class PayloadCipher {
public:
    static Result<PayloadCipher> create(const SecretKey& serviceKey);
    Status seal(std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out);
    // CiphertextTruncated, HmacMismatch (checked first, in constant time), BadPadding.
    Status open(std::span<const std::uint8_t> sealed, std::vector<std::uint8_t>& out);
    static std::size_t sealedSize(std::size_t payloadSize)
    {
        return kAesBlock + (payloadSize / kAesBlock + 1) * kAesBlock + kTagSize;
    }
    // The most a payload grows.
    static constexpr std::size_t kMaxGrowth = 2 * kAesBlock + kTagSize;

private:
    PayloadCipher(Aes256Cbc aes, HmacSha256 mac) : aes_(std::move(aes)), mac_(std::move(mac)) {}
    Aes256Cbc aes_;
    HmacSha256 mac_;
    IvSource ivs_;
};

} // namespace svr::protocol

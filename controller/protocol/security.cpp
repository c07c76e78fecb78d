#include "protocol/security.hpp"

#include <openssl/crypto.h>

#include <cstring>

#include "protocol/bytes.hpp"
#include "protocol/errors.hpp"

namespace svr::protocol {
namespace {

std::array<std::uint8_t, 8> slotBytes(std::uint64_t slot)
{
    std::array<std::uint8_t, 8> out{};
    bytes::store64(out.data(), slot);
    return out;
}

// Reads TLV 16 from the clear header section without decoding anything else: the key must
// be chosen before the HMAC is checked, and nothing is decoded before the HMAC passes.
Result<std::uint32_t> peekSecurityId(std::span<const std::uint8_t> headerTlvs)
{
    std::size_t at = 0;
    while (at < headerTlvs.size()) {
        if (headerTlvs.size() - at < kTlvHeaderLength) {
            return protocolError(Errc::TlvHeaderTruncated);
        }
        const std::uint16_t type = bytes::load16(headerTlvs.data() + at);
        const std::size_t length = bytes::load16(headerTlvs.data() + at + 2);
        at += kTlvHeaderLength;
        if (headerTlvs.size() - at < length) {
            return protocolError(Errc::TlvOverrunsSection);
        }
        if (type == tlv::SecurityId) {
            if (length != 4) {
                return protocolError(Errc::FixedLengthMismatch);
            }
            return bytes::load32(headerTlvs.data() + at);
        }
        at += length;
    }
    return protocolError(Errc::MissingSecurityId);
}

} // namespace

// ---- KeyRing ----

Status KeyRing::install(std::uint32_t generation, PeerKeys keys)
{
    auto hmac = HmacSha256::create(keys.hmacKey);
    if (!hmac) {
        return hmac.error();
    }
    std::optional<Aes256Cbc> cipher;
    if (!keys.metadataKey.empty()) {
        auto keyed = Aes256Cbc::create(keys.metadataKey);
        if (!keyed) {
            return keyed.error();
        }
        cipher.emplace(std::move(*keyed));
    }
    generations_.erase(generation);
    generations_.emplace(generation, Generation{std::move(keys), std::move(*hmac), std::move(cipher), std::nullopt});
    current_ = generation;
    return {};
}

Status KeyRing::rotate(std::uint32_t generation, PeerKeys keys, std::uint64_t nowSeconds,
                       std::uint64_t overlapSeconds)
{
    for (auto& [id, entry] : generations_) {
        if (id != generation && !entry.retiresAt) {
            entry.retiresAt = nowSeconds + overlapSeconds;
        }
    }
    return install(generation, std::move(keys));
}

void KeyRing::prune(std::uint64_t nowSeconds)
{
    std::erase_if(generations_, [&](const auto& item) {
        return item.second.retiresAt && *item.second.retiresAt <= nowSeconds;
    });
}

Result<KeyRing::Generation*> KeyRing::lookup(std::uint32_t generation, std::uint64_t nowSeconds)
{
    auto it = generations_.find(generation);
    if (it == generations_.end()) {
        return protocolError(Errc::UnknownKeyGeneration);
    }
    if (it->second.retiresAt && *it->second.retiresAt <= nowSeconds) {
        return protocolError(Errc::KeyGenerationExpired);
    }
    return &it->second;
}

// ---- MetadataSealer ----

Result<MetadataSealer> MetadataSealer::create(PeerSecurityPolicy policy)
{
    if (policy.timeSlotSeconds == 0) {
        return protocolError(Errc::FieldOutOfRange);
    }
    return MetadataSealer(policy);
}

Status MetadataSealer::seal(KeyRing& ring, const Metadata& metadata, std::span<const std::uint8_t> originalPayload,
                            std::uint64_t nowSeconds, SealedMetadata& out)
{
    if (!ring.current()) {
        return protocolError(Errc::UnknownKeyGeneration);
    }
    const std::uint32_t generationId = *ring.current();
    auto generation = ring.lookup(generationId, nowSeconds);
    if (!generation) {
        return generation.error();
    }
    auto& prefix = out.prefix;
    prefix.clear();
    prefix.resize(kBaseHeaderLength);
    const Tlv securityId = SecurityId{.value = generationId};
    if (auto st = encodeTlvSection(std::span(&securityId, 1), prefix); !st) {
        return st;
    }
    for (const auto& value : metadata.headerTlvs) {
        if (std::holds_alternative<SecurityId>(value)) {
            continue;
        }
        if (auto st = encodeTlvSection(std::span(&value, 1), prefix); !st) {
            return st;
        }
    }
    const std::size_t headerLength = prefix.size();

    scratch_.clear();
    if (metadata.payloadCiphertext) {
        scratch_.assign(metadata.payloadCiphertext->begin(), metadata.payloadCiphertext->end());
    } else if (auto st = encodeTlvSection(metadata.payloadTlvs, scratch_); !st) {
        return st;
    }
    if (policy_.encryptMetadata && !metadata.payloadCiphertext) {
        auto& cipher = (*generation)->metadataCipher;
        if (!cipher) {
            return protocolError(Errc::CryptoFailure);
        }
        std::array<std::uint8_t, kAesBlock> iv{};
        if (auto st = ivs_.next(iv); !st) {
            return st;
        }
        prefix.insert(prefix.end(), iv.begin(), iv.end());
        if (auto st = cipher->encrypt(iv, scratch_, prefix); !st) {
            return st;
        }
    } else {
        prefix.insert(prefix.end(), scratch_.begin(), scratch_.end());
    }
    if (auto st = writeHeader(std::span<std::uint8_t, kBaseHeaderLength>(prefix.data(), kBaseHeaderLength),
                              headerLength, prefix.size() - headerLength);
        !st) {
        return st;
    }
    const auto slot = slotBytes(nowSeconds / policy_.timeSlotSeconds);
    auto tag = (*generation)->hmac.tag({slot, prefix, originalPayload});
    if (!tag) {
        return tag.error();
    }
    out.tag = *tag;
    return {};
}

Result<SealedMetadata> MetadataSealer::seal(KeyRing& ring, const Metadata& metadata,
                                            std::span<const std::uint8_t> originalPayload, std::uint64_t nowSeconds)
{
    SealedMetadata sealed;
    if (auto st = seal(ring, metadata, originalPayload, nowSeconds, sealed); !st) {
        return st.error();
    }
    return sealed;
}

Result<OpenedMetadata> MetadataSealer::open(KeyRing& ring, std::span<const std::uint8_t> l4Payload,
                                            std::uint64_t nowSeconds)
{
    // 1. cookie, version, lengths
    auto header = parseHeader(l4Payload);
    if (!header) {
        return header.error();
    }
    OpenedMetadata opened;
    if (header->headerLength == kBaseHeaderLength && header->payloadLength == 0) {
        // The false-positive marker is unsigned: it only hides a cookie in the original payload.
        opened.falsePositiveMarker = true;
        opened.stripPrefix = kBaseHeaderLength;
        return opened;
    }
    if (l4Payload.size() - header->totalLength() < kTagSize) {
        return protocolError(Errc::MissingTag);
    }
    // 2. key generation, HMAC
    const auto headerTlvs = l4Payload.subspan(kBaseHeaderLength, header->headerLength - kBaseHeaderLength);
    auto generationId = peekSecurityId(headerTlvs);
    if (!generationId) {
        return generationId.error();
    }
    auto generation = ring.lookup(*generationId, nowSeconds);
    if (!generation) {
        return generation.error();
    }
    const auto signedBytes = l4Payload.first(l4Payload.size() - kTagSize);
    const auto receivedTag = l4Payload.last(kTagSize);
    const std::uint64_t slot = nowSeconds / policy_.timeSlotSeconds;
    bool verified = false;
    for (const std::uint64_t candidate : {slot, slot - 1, slot + 1}) {
        if (candidate == UINT64_MAX && slot == 0) {
            continue;
        }
        auto tag = (*generation)->hmac.tag({slotBytes(candidate), signedBytes});
        if (!tag) {
            return tag.error();
        }
        if (equalConstantTime(*tag, receivedTag)) {
            verified = true;
            break;
        }
    }
    if (!verified) {
        return protocolError(Errc::HmacMismatch);
    }
    // 3. decrypt and decode
    std::uint64_t seen = 0;
    if (auto st = decodeTlvSection(headerTlvs, opened.metadata.headerTlvs, true, seen); !st) {
        return st.error();
    }
    const auto section = l4Payload.subspan(header->headerLength, header->payloadLength);
    if (policy_.encryptMetadata) {
        if (section.size() < 2 * kAesBlock || section.size() % kAesBlock != 0) {
            return protocolError(Errc::CiphertextTruncated);
        }
        auto& cipher = (*generation)->metadataCipher;
        if (!cipher) {
            return protocolError(Errc::CryptoFailure);
        }
        scratch_.clear();
        if (auto st = cipher->decrypt(section.first<kAesBlock>(), section.subspan(kAesBlock), scratch_); !st) {
            return st.error();
        }
        if (auto st = decodeTlvSection(scratch_, opened.metadata.payloadTlvs, false, seen); !st) {
            return st.error();
        }
    } else if (auto st = decodeTlvSection(section, opened.metadata.payloadTlvs, false, seen); !st) {
        return st.error();
    }
    opened.stripPrefix = header->totalLength();
    opened.stripSuffix = kTagSize;
    opened.generation = *generationId;
    return opened;
}

// ---- ReplayGuard ----

std::size_t ReplayGuard::UuidHash::operator()(const std::array<std::uint8_t, 16>& id) const noexcept
{
    // UUIDs are random; their first 8 bytes mixed with the rest are a good enough hash.
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    std::memcpy(&a, id.data(), 8);
    std::memcpy(&b, id.data() + 8, 8);
    return static_cast<std::size_t>(a ^ (b * 0x9e3779b97f4a7c15ULL));
}

void ReplayGuard::expire(std::uint64_t nowSeconds)
{
    while (!order_.empty() && order_.front().first <= nowSeconds) {
        auto it = expiry_.find(order_.front().second);
        if (it != expiry_.end() && it->second == order_.front().first) {
            expiry_.erase(it);
        }
        order_.pop_front();
    }
}

Status ReplayGuard::admit(const SessionUuid& uuid, std::uint64_t nowSeconds)
{
    expire(nowSeconds);
    if (auto it = expiry_.find(uuid.value); it != expiry_.end()) {
        return protocolError(Errc::ReplayedFirstPacket);
    }
    if (expiry_.size() >= capacity_) {
        return protocolError(Errc::ReplayCacheFull);
    }
    const std::uint64_t until = nowSeconds + retentionSeconds_;
    expiry_.emplace(uuid.value, until);
    order_.emplace_back(until, uuid.value);
    return {};
}

Status ReplayGuard::admitFirstPacket(const Metadata& metadata, std::uint64_t nowSeconds)
{
    if (!metadata.find<ForwardContextV4>() && !metadata.find<ForwardContextV6>()) {
        return {};
    }
    const auto* uuid = metadata.find<SessionUuid>();
    if (uuid == nullptr) {
        return protocolError(Errc::MissingSessionUuid);
    }
    return admit(*uuid, nowSeconds);
}

// ---- payload encryption ----

bool payloadAlreadyProtected(std::uint8_t ipProtocol, std::uint16_t sourcePort, std::uint16_t destinationPort,
                             std::span<const std::uint8_t> payload)
{
    constexpr std::uint8_t kEsp = 50, kAh = 51, kUdp = 17;
    if (ipProtocol == kEsp || ipProtocol == kAh) {
        return true;
    }
    if (ipProtocol == kUdp && (sourcePort == 500 || destinationPort == 500 || sourcePort == 4500 ||
                               destinationPort == 4500)) {
        return true; // IKE and ESP-in-UDP (RFC 3948)
    }
    // TLS record: type 20..23, version 3.x; DTLS: type 20..23, version 0xfeXX.
    if (payload.size() >= 5 && payload[0] >= 20 && payload[0] <= 23) {
        const bool tls = payload[1] == 3 && payload[2] <= 4;
        const bool dtls = payload[1] == 0xfe && payload[2] >= 0xfc;
        return tls || dtls;
    }
    return false;
}

namespace {

Result<SecretKey> deriveKey(const SecretKey& key, std::string_view label)
{
    auto kdf = HmacSha256::create(key);
    if (!kdf) {
        return kdf.error();
    }
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(label.data());
    auto derived = kdf->compute({std::span<const std::uint8_t>(bytes, label.size())});
    if (!derived) {
        return derived.error();
    }
    SecretKey out(*derived);
    OPENSSL_cleanse(derived->data(), derived->size());
    return out;
}

} // namespace

Result<PayloadCipher> PayloadCipher::create(const SecretKey& serviceKey)
{
    auto encryptionKey = deriveKey(serviceKey, "svr payload encryption v1");
    auto authenticationKey = deriveKey(serviceKey, "svr payload authentication v1");
    if (!encryptionKey || !authenticationKey) {
        return protocolError(Errc::CryptoFailure);
    }
    auto aes = Aes256Cbc::create(*encryptionKey);
    if (!aes) {
        return aes.error();
    }
    auto mac = HmacSha256::create(*authenticationKey);
    if (!mac) {
        return mac.error();
    }
    return PayloadCipher(std::move(*aes), std::move(*mac));
}

Status PayloadCipher::seal(std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out)
{
    std::array<std::uint8_t, kAesBlock> iv{};
    if (auto st = ivs_.next(iv); !st) {
        return st;
    }
    const std::size_t start = out.size();
    out.insert(out.end(), iv.begin(), iv.end());
    if (auto st = aes_.encrypt(iv, payload, out); !st) {
        return st;
    }
    auto tag = mac_.tag({std::span<const std::uint8_t>(out).subspan(start)});
    if (!tag) {
        return tag.error();
    }
    out.insert(out.end(), tag->begin(), tag->end());
    return {};
}

Status PayloadCipher::open(std::span<const std::uint8_t> sealed, std::vector<std::uint8_t>& out)
{
    if (sealed.size() < 2 * kAesBlock + kTagSize || (sealed.size() - kTagSize) % kAesBlock != 0) {
        return protocolError(Errc::CiphertextTruncated);
    }
    const auto authenticated = sealed.first(sealed.size() - kTagSize);
    auto tag = mac_.tag({authenticated});
    if (!tag) {
        return tag.error();
    }
    if (!equalConstantTime(*tag, sealed.last(kTagSize))) {
        return protocolError(Errc::HmacMismatch);
    }
    return aes_.decrypt(authenticated.first<kAesBlock>(), authenticated.subspan(kAesBlock), out);
}

} // namespace svr::protocol

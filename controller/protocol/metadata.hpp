// SVR metadata (draft-menon-svr §10, as rebuilt in ../shared/reference/svr-protocol.md §3-4):
// typed TLV values and the metadata block they live in. Wire layout and every choice the draft
// leaves open: docs/protocol.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.hpp"

namespace svr::protocol {

// 0x4C48DBC6DDF6670C in network byte order.
inline constexpr std::array<std::uint8_t, 8> kCookie{0x4c, 0x48, 0xdb, 0xc6, 0xdd, 0xf6, 0x67, 0x0c};
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kBaseHeaderLength = 12;
inline constexpr std::size_t kMaxHeaderLength = 0xfff;
inline constexpr std::size_t kMaxPayloadLength = 0xffff;
inline constexpr std::size_t kTlvHeaderLength = 4;

using Ipv4Address = std::array<std::uint8_t, 4>;
using Ipv6Address = std::array<std::uint8_t, 16>;

namespace tlv {
enum Type : std::uint16_t {
    Fragment = 1,
    ForwardContextV4 = 2,
    ForwardContextV6 = 3,
    ReverseContextV4 = 4,
    ReverseContextV6 = 5,
    SessionUuid = 6,
    TenantName = 7,
    GlobalInterfaceId = 8,
    ServiceName = 10,
    SessionEncrypted = 11,
    TcpSynPacket = 12,
    SessionCount = 13,
    SourceRouterName = 14,
    SecurityPolicy = 15,
    SecurityId = 16,
    DestinationRouterName = 17,
    DisableForwardMetadata = 18,
    PeerPathwayId = 19,
    IcmpErrorLocationV4 = 20,
    IcmpErrorLocationV6 = 21,
    ControlMessage = 24,
    SourceNatV4 = 25,
    PathMetrics = 26,
    ModifyRequest = 28,
    ApplicationName = 35,
    RemainingSessionTime = 42,
    HealthCheckOrKey = 46, // "Session Health Check" (length 1) or "Security Encryption Key"
    MulticastGroupContext = 50,
    MulticastEgressList = 51,
};
} // namespace tlv

// TLV 1: per-fragment reassembly data, header section only.
struct FragmentTlv {
    std::uint32_t extendedId = 0;
    std::uint16_t originalId = 0;
    std::uint8_t flags = 0;           // top 3 bits of the flags/offset word: 0x4 reserved, 0x2 DF, 0x1 MF
    std::uint16_t fragmentOffset = 0; // 13 bits, 8-byte units
    std::uint16_t largestSeenFragment = 0;
    bool operator==(const FragmentTlv&) const = default;
};

// TLV 2/3 (forward) and 4/5 (reverse): the original 5-tuple.
template <std::uint16_t kTypeValue, typename Address>
struct ContextTlv {
    static constexpr std::uint16_t kType = kTypeValue;
    Address source{};
    Address destination{};
    std::uint16_t sourcePort = 0;
    std::uint16_t destinationPort = 0;
    std::uint8_t protocol = 0;
    bool operator==(const ContextTlv&) const = default;
};
using ForwardContextV4 = ContextTlv<tlv::ForwardContextV4, Ipv4Address>;
using ForwardContextV6 = ContextTlv<tlv::ForwardContextV6, Ipv6Address>;
using ReverseContextV4 = ContextTlv<tlv::ReverseContextV4, Ipv4Address>;
using ReverseContextV6 = ContextTlv<tlv::ReverseContextV6, Ipv6Address>;

// Names: non-empty, well-formed UTF-8, no terminator on the wire.
template <std::uint16_t kTypeValue>
struct NameTlv {
    static constexpr std::uint16_t kType = kTypeValue;
    std::string value;
    bool operator==(const NameTlv&) const = default;
};
using TenantName = NameTlv<tlv::TenantName>;
using ServiceName = NameTlv<tlv::ServiceName>;
using SourceRouterName = NameTlv<tlv::SourceRouterName>;
using SecurityPolicyName = NameTlv<tlv::SecurityPolicy>;
using DestinationRouterName = NameTlv<tlv::DestinationRouterName>;
using PeerPathwayId = NameTlv<tlv::PeerPathwayId>;
using ApplicationName = NameTlv<tlv::ApplicationName>;

// Zero-length flags.
template <std::uint16_t kTypeValue>
struct FlagTlv {
    static constexpr std::uint16_t kType = kTypeValue;
    bool operator==(const FlagTlv&) const = default;
};
using SessionEncrypted = FlagTlv<tlv::SessionEncrypted>;
using TcpSynPacket = FlagTlv<tlv::TcpSynPacket>;
using DisableForwardMetadata = FlagTlv<tlv::DisableForwardMetadata>;

// Fixed-width big-endian integers.
template <std::uint16_t kTypeValue, typename Integer>
struct IntegerTlv {
    static constexpr std::uint16_t kType = kTypeValue;
    Integer value = 0;
    bool operator==(const IntegerTlv&) const = default;
};
using GlobalInterfaceId = IntegerTlv<tlv::GlobalInterfaceId, std::uint32_t>;
using SessionCount = IntegerTlv<tlv::SessionCount, std::uint64_t>;
using SecurityId = IntegerTlv<tlv::SecurityId, std::uint32_t>;
using ControlMessage = IntegerTlv<tlv::ControlMessage, std::uint8_t>; // reason, unknown codes kept
using RemainingSessionTime = IntegerTlv<tlv::RemainingSessionTime, std::uint32_t>; // seconds
using SessionHealthCheck = IntegerTlv<tlv::HealthCheckOrKey, std::uint8_t>;      // length-1 form of 46

// Addresses.
template <std::uint16_t kTypeValue, typename Address>
struct AddressTlv {
    static constexpr std::uint16_t kType = kTypeValue;
    Address value{};
    bool operator==(const AddressTlv&) const = default;
};
using IcmpErrorLocationV4 = AddressTlv<tlv::IcmpErrorLocationV4, Ipv4Address>;
using IcmpErrorLocationV6 = AddressTlv<tlv::IcmpErrorLocationV6, Ipv6Address>;
using SourceNatV4 = AddressTlv<tlv::SourceNatV4, Ipv4Address>;

// TLV 6.
struct SessionUuid {
    std::array<std::uint8_t, 16> value{};
    bool operator==(const SessionUuid&) const = default;
};

namespace control_reason {
inline constexpr std::uint8_t Unknown = 0, KeepAlive = 1, EnableMetadata = 2, DisableMetadata = 3,
                              DeleteSession = 6, HealthCheckStateExists = 8;
}

// TLV 26: alternate-marking colour and millisecond stamps.
struct PathMetrics {
    std::uint8_t txColor = 0;  // 4 bits
    std::uint32_t txTimeMs = 0; // 28 bits
    std::uint8_t rxColor = 0;  // 4 bits
    std::uint32_t rxTimeMs = 0; // 28 bits
    bool drop = false;
    std::uint16_t previousRxColorCount = 0; // 15 bits
    bool operator==(const PathMetrics&) const = default;
};

// TLV 28: F/D bits and a 12-bit sequence; bytes after the word are kept as they came.
struct ModifyRequest {
    std::uint16_t word = 0; // F 0x8000, D 0x4000, reserved 0x3000, sequence 0x0fff
    std::vector<std::uint8_t> trailing;
    bool operator==(const ModifyRequest&) const = default;
};

// TLV 46 in its key form (any length other than 1): an opaque, usually wrapped, key blob.
struct SecurityEncryptionKey {
    std::vector<std::uint8_t> blob;
    bool operator==(const SecurityEncryptionKey&) const = default;
};

// TLV 50: (S,G) of a multicast flow; addresses are 4 or 16 bytes by family.
struct MulticastGroupContext {
    std::uint8_t family = 4; // 4 or 6
    std::uint8_t flags = 0;
    Ipv6Address source{};    // IPv4 uses the first 4 bytes
    Ipv6Address group{};
    std::uint8_t protocol = 0;
    bool operator==(const MulticastGroupContext&) const = default;
};

// TLV 51.
struct MulticastEgressList {
    std::vector<std::string> routers; // each 1..255 bytes of UTF-8
    bool operator==(const MulticastEgressList&) const = default;
};

// Any other type: skipped by the decoder's semantics, carried through byte for byte.
struct UnknownTlv {
    std::uint16_t type = 0;
    std::vector<std::uint8_t> value;
    bool operator==(const UnknownTlv&) const = default;
};

using Tlv = std::variant<FragmentTlv, ForwardContextV4, ForwardContextV6, ReverseContextV4, ReverseContextV6,
                         SessionUuid, TenantName, GlobalInterfaceId, ServiceName, SessionEncrypted, TcpSynPacket,
                         SessionCount, SourceRouterName, SecurityPolicyName, SecurityId, DestinationRouterName,
                         DisableForwardMetadata, PeerPathwayId, IcmpErrorLocationV4, IcmpErrorLocationV6,
                         ControlMessage, SourceNatV4, PathMetrics, ModifyRequest, ApplicationName,
                         RemainingSessionTime, SessionHealthCheck, SecurityEncryptionKey, MulticastGroupContext,
                         MulticastEgressList, UnknownTlv>;

std::uint16_t tlvType(const Tlv& value);
std::string_view tlvName(std::uint16_t type); // stable snake_case name, "unknown" otherwise

// One metadata block. When the payload-TLV section is encrypted and not (yet) decrypted,
// payloadCiphertext holds the section as on the wire and payloadTlvs is empty.
struct Metadata {
    std::vector<Tlv> headerTlvs;
    std::vector<Tlv> payloadTlvs;
    std::optional<std::vector<std::uint8_t>> payloadCiphertext;
    bool operator==(const Metadata&) const = default;

    // No TLVs at all: the 12-byte false-positive marker.
    bool isFalsePositiveMarker() const
    {
        return headerTlvs.empty() && payloadTlvs.empty() && !payloadCiphertext;
    }
    template <typename T>
    const T* find() const
    {
        for (const auto* section : {&headerTlvs, &payloadTlvs}) {
            for (const auto& value : *section) {
                if (const auto* found = std::get_if<T>(&value)) {
                    return found;
                }
            }
        }
        return nullptr;
    }
};

// The three fields of the fixed header, read without touching the TLVs.
struct HeaderView {
    std::uint8_t version = 0;
    std::size_t headerLength = 0;  // base + header TLVs
    std::size_t payloadLength = 0; // payload-TLV section
    std::size_t totalLength() const { return headerLength + payloadLength; }
};

enum class PayloadSection {
    Clear,      // payload TLVs in clear: decode them
    Ciphertext, // keep the section as opaque bytes
};

struct Decoded {
    Metadata metadata;
    std::size_t length = 0; // bytes of metadata consumed from the input
};

bool startsWithCookie(std::span<const std::uint8_t> bytes);
// Cookie, version and both lengths checked against the input; nothing else read.
Result<HeaderView> parseHeader(std::span<const std::uint8_t> bytes);
// Decodes one metadata block at the start of bytes; bytes after it are left alone.
Result<Decoded> decode(std::span<const std::uint8_t> bytes, PayloadSection payload = PayloadSection::Clear);
// Decodes only a TLV section (used after decrypting the payload section). seenMask tracks
// singleton TLVs across both sections of one block: start at 0, pass the same mask to both.
Status decodeTlvSection(std::span<const std::uint8_t> section, std::vector<Tlv>& out, bool headerSection,
                        std::uint64_t& seenMask);

// Appends the wire form. Fails on values that do not fit their fields.
Status encodeTo(const Metadata& metadata, std::vector<std::uint8_t>& out);
Result<std::vector<std::uint8_t>> encode(const Metadata& metadata);
Status encodeTlvSection(std::span<const Tlv> tlvs, std::vector<std::uint8_t>& out);
// Writes the 12-byte fixed header.
Status writeHeader(std::span<std::uint8_t, kBaseHeaderLength> out, std::size_t headerLength,
                   std::size_t payloadLength);

// The 12-byte marker prepended when an original payload happens to start with the cookie.
inline constexpr std::array<std::uint8_t, 12> kFalsePositiveMarker{0x4c, 0x48, 0xdb, 0xc6, 0xdd, 0xf6,
                                                                  0x67, 0x0c, 0x10, 0x0c, 0x00, 0x00};

} // namespace svr::protocol

// Metadata encode/decode. Every read is bounded by the span it reads from; every failure is
// one Errc value. The wire format is documented in docs/protocol.md.
#include <cstring>

#include "protocol/bytes.hpp"
#include "protocol/errors.hpp"
#include "protocol/metadata.hpp"

namespace svr::protocol {
namespace {

using bytes::load16;
using bytes::load32;
using bytes::load64;
using Bytes = std::span<const std::uint8_t>;

static_assert(std::variant_size_v<Tlv> <= 64, "duplicate detection uses a 64-bit mask");

Status fail(Errc e) { return protocolError(e); }

Status expectLength(Bytes value, std::size_t length)
{
    return value.size() == length ? Status{} : fail(Errc::FixedLengthMismatch);
}

Status readName(Bytes value, std::string& out)
{
    if (value.empty()) {
        return fail(Errc::EmptyName);
    }
    if (!bytes::isValidUtf8(value)) {
        return fail(Errc::InvalidUtf8);
    }
    out.assign(reinterpret_cast<const char*>(value.data()), value.size());
    return {};
}

template <typename Address>
void readAddress(const std::uint8_t* p, Address& out)
{
    std::memcpy(out.data(), p, out.size());
}

// Decodes one TLV value into out; type is already known.
Status decodeValue(std::uint16_t type, Bytes value, Tlv& out)
{
    const std::uint8_t* p = value.data();
    auto context = [&]<typename T>(T tuple) -> Status {
        constexpr std::size_t addressSize = sizeof(tuple.source);
        if (auto st = expectLength(value, 2 * addressSize + 5); !st) {
            return st;
        }
        readAddress(p, tuple.source);
        readAddress(p + addressSize, tuple.destination);
        tuple.sourcePort = load16(p + 2 * addressSize);
        tuple.destinationPort = load16(p + 2 * addressSize + 2);
        tuple.protocol = p[2 * addressSize + 4];
        out = tuple;
        return {};
    };
    auto name = [&]<typename T>(T tlvValue) -> Status {
        if (auto st = readName(value, tlvValue.value); !st) {
            return st;
        }
        out = std::move(tlvValue);
        return {};
    };
    auto flag = [&]<typename T>(T tlvValue) -> Status {
        if (!value.empty()) {
            return fail(Errc::FlagHasValue);
        }
        out = tlvValue;
        return {};
    };
    auto integer = [&]<typename T>(T tlvValue) -> Status {
        using Integer = decltype(tlvValue.value);
        if (auto st = expectLength(value, sizeof(Integer)); !st) {
            return st;
        }
        if constexpr (sizeof(Integer) == 1) {
            tlvValue.value = p[0];
        } else if constexpr (sizeof(Integer) == 4) {
            tlvValue.value = load32(p);
        } else {
            tlvValue.value = load64(p);
        }
        out = tlvValue;
        return {};
    };
    auto address = [&]<typename T>(T tlvValue) -> Status {
        if (auto st = expectLength(value, tlvValue.value.size()); !st) {
            return st;
        }
        readAddress(p, tlvValue.value);
        out = tlvValue;
        return {};
    };

    switch (type) {
    case tlv::Fragment: {
        if (auto st = expectLength(value, 10); !st) {
            return st;
        }
        const std::uint16_t flagsOffset = load16(p + 6);
        out = FragmentTlv{.extendedId = load32(p),
                          .originalId = load16(p + 4),
                          .flags = static_cast<std::uint8_t>(flagsOffset >> 13),
                          .fragmentOffset = static_cast<std::uint16_t>(flagsOffset & 0x1fff),
                          .largestSeenFragment = load16(p + 8)};
        return {};
    }
    case tlv::ForwardContextV4: return context(ForwardContextV4{});
    case tlv::ForwardContextV6: return context(ForwardContextV6{});
    case tlv::ReverseContextV4: return context(ReverseContextV4{});
    case tlv::ReverseContextV6: return context(ReverseContextV6{});
    case tlv::SessionUuid: {
        if (auto st = expectLength(value, 16); !st) {
            return st;
        }
        SessionUuid uuid;
        readAddress(p, uuid.value);
        out = uuid;
        return {};
    }
    case tlv::TenantName: return name(TenantName{});
    case tlv::GlobalInterfaceId: return integer(GlobalInterfaceId{});
    case tlv::ServiceName: return name(ServiceName{});
    case tlv::SessionEncrypted: return flag(SessionEncrypted{});
    case tlv::TcpSynPacket: return flag(TcpSynPacket{});
    case tlv::SessionCount: return integer(SessionCount{});
    case tlv::SourceRouterName: return name(SourceRouterName{});
    case tlv::SecurityPolicy: return name(SecurityPolicyName{});
    case tlv::SecurityId: return integer(SecurityId{});
    case tlv::DestinationRouterName: return name(DestinationRouterName{});
    case tlv::DisableForwardMetadata: return flag(DisableForwardMetadata{});
    case tlv::PeerPathwayId: return name(PeerPathwayId{});
    case tlv::IcmpErrorLocationV4: return address(IcmpErrorLocationV4{});
    case tlv::IcmpErrorLocationV6: return address(IcmpErrorLocationV6{});
    case tlv::ControlMessage: return integer(ControlMessage{});
    case tlv::SourceNatV4: return address(SourceNatV4{});
    case tlv::PathMetrics: {
        if (auto st = expectLength(value, 10); !st) {
            return st;
        }
        const std::uint32_t tx = load32(p);
        const std::uint32_t rx = load32(p + 4);
        const std::uint16_t last = load16(p + 8);
        out = PathMetrics{.txColor = static_cast<std::uint8_t>(tx >> 28),
                          .txTimeMs = tx & 0x0fffffff,
                          .rxColor = static_cast<std::uint8_t>(rx >> 28),
                          .rxTimeMs = rx & 0x0fffffff,
                          .drop = (last & 0x8000) != 0,
                          .previousRxColorCount = static_cast<std::uint16_t>(last & 0x7fff)};
        return {};
    }
    case tlv::ModifyRequest: {
        if (value.empty()) {
            return fail(Errc::EmptyValue);
        }
        if (value.size() < 2) {
            return fail(Errc::ModifyRequestTooShort);
        }
        out = ModifyRequest{.word = load16(p), .trailing = {value.begin() + 2, value.end()}};
        return {};
    }
    case tlv::ApplicationName: return name(ApplicationName{});
    case tlv::RemainingSessionTime: return integer(RemainingSessionTime{});
    case tlv::HealthCheckOrKey:
        // The draft gives 46 two meanings; the length decides (docs/protocol.md).
        if (value.size() == 1) {
            out = SessionHealthCheck{.value = p[0]};
            return {};
        }
        if (value.empty()) {
            return fail(Errc::EmptyValue);
        }
        out = SecurityEncryptionKey{.blob = {value.begin(), value.end()}};
        return {};
    case tlv::MulticastGroupContext: {
        if (value.empty()) {
            return fail(Errc::EmptyValue);
        }
        MulticastGroupContext group{.family = p[0]};
        std::size_t addressSize = 0;
        if (group.family == 4) {
            addressSize = 4;
        } else if (group.family == 6) {
            addressSize = 16;
        } else {
            return fail(Errc::BadMulticastFamily);
        }
        if (value.size() != 3 + 2 * addressSize) {
            return fail(Errc::MulticastLengthMismatch);
        }
        group.flags = p[1];
        std::memcpy(group.source.data(), p + 2, addressSize);
        std::memcpy(group.group.data(), p + 2 + addressSize, addressSize);
        group.protocol = p[2 + 2 * addressSize];
        out = group;
        return {};
    }
    case tlv::MulticastEgressList: {
        if (value.size() < 2) {
            return fail(value.empty() ? Errc::EmptyValue : Errc::EgressListTruncated);
        }
        const std::size_t count = load16(p);
        MulticastEgressList list;
        std::size_t at = 2;
        for (std::size_t i = 0; i < count; ++i) {
            if (at >= value.size() || value.size() - at - 1 < p[at]) {
                return fail(Errc::EgressListTruncated);
            }
            const std::size_t length = p[at];
            std::string router;
            if (auto st = readName(value.subspan(at + 1, length), router); !st) {
                return st;
            }
            list.routers.push_back(std::move(router));
            at += 1 + length;
        }
        if (at != value.size()) {
            return fail(Errc::EgressListTrailingBytes);
        }
        out = std::move(list);
        return {};
    }
    default:
        out = UnknownTlv{.type = type, .value = {value.begin(), value.end()}};
        return {};
    }
}

Status decodeSection(Bytes section, std::vector<Tlv>& out, bool headerSection, std::uint64_t& seen)
{
    std::size_t at = 0;
    while (at < section.size()) {
        if (section.size() - at < kTlvHeaderLength) {
            return fail(Errc::TlvHeaderTruncated);
        }
        const std::uint16_t type = load16(section.data() + at);
        const std::size_t length = load16(section.data() + at + 2);
        at += kTlvHeaderLength;
        if (section.size() - at < length) {
            return fail(Errc::TlvOverrunsSection);
        }
        Tlv value;
        if (auto st = decodeValue(type, section.subspan(at, length), value); !st) {
            return st;
        }
        at += length;
        if (!headerSection && (type == tlv::Fragment || type == tlv::SecurityId)) {
            return fail(Errc::TlvInWrongSection);
        }
        if (!std::holds_alternative<UnknownTlv>(value)) {
            const std::uint64_t bit = std::uint64_t{1} << value.index();
            if (seen & bit) {
                return fail(Errc::DuplicateTlv);
            }
            seen |= bit;
        }
        out.push_back(std::move(value));
    }
    return {};
}

// ---- encoding ----

void appendTlvHeader(std::vector<std::uint8_t>& out, std::uint16_t type, std::size_t length)
{
    bytes::append16(out, type);
    bytes::append16(out, static_cast<std::uint16_t>(length));
}

template <typename Address>
void appendAddress(std::vector<std::uint8_t>& out, const Address& address)
{
    out.insert(out.end(), address.begin(), address.end());
}

Status checkName(std::string_view name)
{
    if (name.empty()) {
        return fail(Errc::EmptyName);
    }
    if (name.size() > 0xffff) {
        return fail(Errc::ValueTooLarge);
    }
    if (!bytes::isValidUtf8({reinterpret_cast<const std::uint8_t*>(name.data()), name.size()})) {
        return fail(Errc::InvalidUtf8);
    }
    return {};
}

struct Encoder {
    std::vector<std::uint8_t>& out;

    Status operator()(const FragmentTlv& v)
    {
        if (v.flags > 7 || v.fragmentOffset > 0x1fff) {
            return fail(Errc::FieldOutOfRange);
        }
        appendTlvHeader(out, tlv::Fragment, 10);
        bytes::append32(out, v.extendedId);
        bytes::append16(out, v.originalId);
        bytes::append16(out, static_cast<std::uint16_t>((v.flags << 13) | v.fragmentOffset));
        bytes::append16(out, v.largestSeenFragment);
        return {};
    }
    template <std::uint16_t T, typename A>
    Status operator()(const ContextTlv<T, A>& v)
    {
        appendTlvHeader(out, T, 2 * v.source.size() + 5);
        appendAddress(out, v.source);
        appendAddress(out, v.destination);
        bytes::append16(out, v.sourcePort);
        bytes::append16(out, v.destinationPort);
        out.push_back(v.protocol);
        return {};
    }
    template <std::uint16_t T>
    Status operator()(const NameTlv<T>& v)
    {
        if (auto st = checkName(v.value); !st) {
            return st;
        }
        appendTlvHeader(out, T, v.value.size());
        out.insert(out.end(), v.value.begin(), v.value.end());
        return {};
    }
    template <std::uint16_t T>
    Status operator()(const FlagTlv<T>&)
    {
        appendTlvHeader(out, T, 0);
        return {};
    }
    template <std::uint16_t T, typename I>
    Status operator()(const IntegerTlv<T, I>& v)
    {
        appendTlvHeader(out, T, sizeof(I));
        if constexpr (sizeof(I) == 1) {
            out.push_back(v.value);
        } else if constexpr (sizeof(I) == 4) {
            bytes::append32(out, v.value);
        } else {
            bytes::append64(out, v.value);
        }
        return {};
    }
    template <std::uint16_t T, typename A>
    Status operator()(const AddressTlv<T, A>& v)
    {
        appendTlvHeader(out, T, v.value.size());
        appendAddress(out, v.value);
        return {};
    }
    Status operator()(const SessionUuid& v)
    {
        appendTlvHeader(out, tlv::SessionUuid, 16);
        appendAddress(out, v.value);
        return {};
    }
    Status operator()(const PathMetrics& v)
    {
        if (v.txColor > 0xf || v.rxColor > 0xf || v.txTimeMs > 0x0fffffff || v.rxTimeMs > 0x0fffffff ||
            v.previousRxColorCount > 0x7fff) {
            return fail(Errc::FieldOutOfRange);
        }
        appendTlvHeader(out, tlv::PathMetrics, 10);
        bytes::append32(out, (std::uint32_t{v.txColor} << 28) | v.txTimeMs);
        bytes::append32(out, (std::uint32_t{v.rxColor} << 28) | v.rxTimeMs);
        bytes::append16(out, static_cast<std::uint16_t>((v.drop ? 0x8000 : 0) | v.previousRxColorCount));
        return {};
    }
    Status operator()(const ModifyRequest& v)
    {
        if (v.trailing.size() > 0xffff - 2) {
            return fail(Errc::ValueTooLarge);
        }
        appendTlvHeader(out, tlv::ModifyRequest, 2 + v.trailing.size());
        bytes::append16(out, v.word);
        out.insert(out.end(), v.trailing.begin(), v.trailing.end());
        return {};
    }
    Status operator()(const SecurityEncryptionKey& v)
    {
        if (v.blob.empty()) {
            return fail(Errc::EmptyValue);
        }
        if (v.blob.size() == 1) {
            return fail(Errc::FixedLengthMismatch); // would read back as a health check
        }
        if (v.blob.size() > 0xffff) {
            return fail(Errc::ValueTooLarge);
        }
        appendTlvHeader(out, tlv::HealthCheckOrKey, v.blob.size());
        out.insert(out.end(), v.blob.begin(), v.blob.end());
        return {};
    }
    Status operator()(const MulticastGroupContext& v)
    {
        std::size_t addressSize = 0;
        if (v.family == 4) {
            addressSize = 4;
        } else if (v.family == 6) {
            addressSize = 16;
        } else {
            return fail(Errc::BadMulticastFamily);
        }
        appendTlvHeader(out, tlv::MulticastGroupContext, 3 + 2 * addressSize);
        out.push_back(v.family);
        out.push_back(v.flags);
        out.insert(out.end(), v.source.begin(), v.source.begin() + static_cast<std::ptrdiff_t>(addressSize));
        out.insert(out.end(), v.group.begin(), v.group.begin() + static_cast<std::ptrdiff_t>(addressSize));
        out.push_back(v.protocol);
        return {};
    }
    Status operator()(const MulticastEgressList& v)
    {
        std::size_t length = 2;
        for (const auto& router : v.routers) {
            if (auto st = checkName(router); !st) {
                return st;
            }
            if (router.size() > 0xff) {
                return fail(Errc::FieldOutOfRange);
            }
            length += 1 + router.size();
        }
        if (length > 0xffff || v.routers.size() > 0xffff) {
            return fail(Errc::ValueTooLarge);
        }
        appendTlvHeader(out, tlv::MulticastEgressList, length);
        bytes::append16(out, static_cast<std::uint16_t>(v.routers.size()));
        for (const auto& router : v.routers) {
            out.push_back(static_cast<std::uint8_t>(router.size()));
            out.insert(out.end(), router.begin(), router.end());
        }
        return {};
    }
    Status operator()(const UnknownTlv& v)
    {
        if (v.value.size() > 0xffff) {
            return fail(Errc::ValueTooLarge);
        }
        appendTlvHeader(out, v.type, v.value.size());
        out.insert(out.end(), v.value.begin(), v.value.end());
        return {};
    }
};

} // namespace

std::uint16_t tlvType(const Tlv& value)
{
    return std::visit(
        []<typename T>(const T& v) -> std::uint16_t {
            if constexpr (std::is_same_v<T, FragmentTlv>) {
                return tlv::Fragment;
            } else if constexpr (std::is_same_v<T, SessionUuid>) {
                return tlv::SessionUuid;
            } else if constexpr (std::is_same_v<T, PathMetrics>) {
                return tlv::PathMetrics;
            } else if constexpr (std::is_same_v<T, ModifyRequest>) {
                return tlv::ModifyRequest;
            } else if constexpr (std::is_same_v<T, SecurityEncryptionKey>) {
                return tlv::HealthCheckOrKey;
            } else if constexpr (std::is_same_v<T, MulticastGroupContext>) {
                return tlv::MulticastGroupContext;
            } else if constexpr (std::is_same_v<T, MulticastEgressList>) {
                return tlv::MulticastEgressList;
            } else if constexpr (std::is_same_v<T, UnknownTlv>) {
                return v.type;
            } else {
                return T::kType;
            }
        },
        value);
}

std::string_view tlvName(std::uint16_t type)
{
    switch (type) {
    case tlv::Fragment: return "fragment";
    case tlv::ForwardContextV4: return "forward_context_ipv4";
    case tlv::ForwardContextV6: return "forward_context_ipv6";
    case tlv::ReverseContextV4: return "reverse_context_ipv4";
    case tlv::ReverseContextV6: return "reverse_context_ipv6";
    case tlv::SessionUuid: return "session_uuid";
    case tlv::TenantName: return "tenant_name";
    case tlv::GlobalInterfaceId: return "global_interface_id";
    case tlv::ServiceName: return "service_name";
    case tlv::SessionEncrypted: return "session_encrypted";
    case tlv::TcpSynPacket: return "tcp_syn_packet";
    case tlv::SessionCount: return "session_count";
    case tlv::SourceRouterName: return "source_router_name";
    case tlv::SecurityPolicy: return "security_policy";
    case tlv::SecurityId: return "security_id";
    case tlv::DestinationRouterName: return "destination_router_name";
    case tlv::DisableForwardMetadata: return "disable_forward_metadata";
    case tlv::PeerPathwayId: return "peer_pathway_id";
    case tlv::IcmpErrorLocationV4: return "icmp_error_location_ipv4";
    case tlv::IcmpErrorLocationV6: return "icmp_error_location_ipv6";
    case tlv::ControlMessage: return "control_message";
    case tlv::SourceNatV4: return "source_nat_ipv4";
    case tlv::PathMetrics: return "path_metrics";
    case tlv::ModifyRequest: return "modify_request";
    case tlv::ApplicationName: return "application_name";
    case tlv::RemainingSessionTime: return "remaining_session_time";
    case tlv::HealthCheckOrKey: return "session_health_check_or_key";
    case tlv::MulticastGroupContext: return "multicast_group_context";
    case tlv::MulticastEgressList: return "multicast_egress_list";
    default: return "unknown";
    }
}

bool startsWithCookie(std::span<const std::uint8_t> data)
{
    return data.size() >= kCookie.size() && std::memcmp(data.data(), kCookie.data(), kCookie.size()) == 0;
}

Result<HeaderView> parseHeader(std::span<const std::uint8_t> data)
{
    if (data.size() < kBaseHeaderLength) {
        return protocolError(Errc::TruncatedHeader);
    }
    if (!startsWithCookie(data)) {
        return protocolError(Errc::BadCookie);
    }
    HeaderView view;
    const std::uint16_t versionAndLength = load16(data.data() + 8);
    view.version = static_cast<std::uint8_t>(versionAndLength >> 12);
    view.headerLength = versionAndLength & 0x0fff;
    view.payloadLength = load16(data.data() + 10);
    if (view.version != kVersion) {
        return protocolError(Errc::UnsupportedVersion);
    }
    if (view.headerLength < kBaseHeaderLength) {
        return protocolError(Errc::HeaderLengthTooSmall);
    }
    if (view.headerLength > data.size()) {
        return protocolError(Errc::HeaderLengthPastEnd);
    }
    if (view.payloadLength > data.size() - view.headerLength) {
        return protocolError(Errc::PayloadLengthPastEnd);
    }
    return view;
}

Status decodeTlvSection(std::span<const std::uint8_t> section, std::vector<Tlv>& out, bool headerSection,
                        std::uint64_t& seenMask)
{
    return decodeSection(section, out, headerSection, seenMask);
}

Result<Decoded> decode(std::span<const std::uint8_t> data, PayloadSection payload)
{
    auto header = parseHeader(data);
    if (!header) {
        return header.error();
    }
    Decoded decoded;
    decoded.length = header->totalLength();
    std::uint64_t seen = 0;
    const auto headerTlvs = data.subspan(kBaseHeaderLength, header->headerLength - kBaseHeaderLength);
    const auto payloadTlvs = data.subspan(header->headerLength, header->payloadLength);
    if (auto st = decodeSection(headerTlvs, decoded.metadata.headerTlvs, true, seen); !st) {
        return st.error();
    }
    if (payload == PayloadSection::Ciphertext) {
        decoded.metadata.payloadCiphertext.emplace(payloadTlvs.begin(), payloadTlvs.end());
    } else if (auto st = decodeSection(payloadTlvs, decoded.metadata.payloadTlvs, false, seen); !st) {
        return st.error();
    }
    return decoded;
}

Status encodeTlvSection(std::span<const Tlv> tlvs, std::vector<std::uint8_t>& out)
{
    Encoder encoder{out};
    for (const auto& value : tlvs) {
        if (auto st = std::visit(encoder, value); !st) {
            return st;
        }
    }
    return {};
}

Status writeHeader(std::span<std::uint8_t, kBaseHeaderLength> out, std::size_t headerLength,
                   std::size_t payloadLength)
{
    if (headerLength > kMaxHeaderLength) {
        return fail(Errc::HeaderTooLarge);
    }
    if (payloadLength > kMaxPayloadLength) {
        return fail(Errc::PayloadTooLarge);
    }
    std::memcpy(out.data(), kCookie.data(), kCookie.size());
    bytes::store16(out.data() + 8, static_cast<std::uint16_t>((kVersion << 12) | headerLength));
    bytes::store16(out.data() + 10, static_cast<std::uint16_t>(payloadLength));
    return {};
}

Status encodeTo(const Metadata& metadata, std::vector<std::uint8_t>& out)
{
    const std::size_t start = out.size();
    out.resize(start + kBaseHeaderLength);
    if (auto st = encodeTlvSection(metadata.headerTlvs, out); !st) {
        out.resize(start);
        return st;
    }
    const std::size_t headerLength = out.size() - start;
    if (metadata.payloadCiphertext) {
        out.insert(out.end(), metadata.payloadCiphertext->begin(), metadata.payloadCiphertext->end());
    } else if (auto st = encodeTlvSection(metadata.payloadTlvs, out); !st) {
        out.resize(start);
        return st;
    }
    const std::size_t payloadLength = out.size() - start - headerLength;
    if (auto st = writeHeader(std::span<std::uint8_t, kBaseHeaderLength>(out.data() + start, kBaseHeaderLength),
                              headerLength, payloadLength);
        !st) {
        out.resize(start);
        return st;
    }
    return {};
}

Result<std::vector<std::uint8_t>> encode(const Metadata& metadata)
{
    std::vector<std::uint8_t> out;
    out.reserve(128);
    if (auto st = encodeTo(metadata, out); !st) {
        return st.error();
    }
    return out;
}

} // namespace svr::protocol

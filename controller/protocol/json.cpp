#include "protocol/json.hpp"

#include <arpa/inet.h>

#include <cstdio>

#include "protocol/bytes.hpp"

namespace svr::protocol {
namespace {

using json = nlohmann::ordered_json;

std::string formatAddress(std::span<const std::uint8_t> address)
{
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(address.size() == 4 ? AF_INET : AF_INET6, address.data(), text, sizeof(text));
    return text;
}

std::string formatUuid(const std::array<std::uint8_t, 16>& id)
{
    const std::string hex = bytes::toHex(id);
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
           hex.substr(20);
}

std::string_view controlReasonName(std::uint8_t reason)
{
    switch (reason) {
    case control_reason::Unknown: return "unknown";
    case control_reason::KeepAlive: return "keep_alive";
    case control_reason::EnableMetadata: return "enable_svr_metadata";
    case control_reason::DisableMetadata: return "disable_svr_metadata";
    case control_reason::DeleteSession: return "delete_session";
    case control_reason::HealthCheckStateExists: return "session_health_check_state_exists";
    default: return "unassigned";
    }
}

template <typename Address>
json contextJson(const Address& source, const Address& destination, std::uint16_t sourcePort,
                 std::uint16_t destinationPort, std::uint8_t protocol)
{
    return json{{"source", formatAddress(source)},
                {"destination", formatAddress(destination)},
                {"source_port", sourcePort},
                {"destination_port", destinationPort},
                {"protocol", protocol}};
}

// ---- parsing helpers: each returns an Error naming path.field ----

struct Field {
    const json& object;
    const std::string& path;

    Error error(std::string_view field, std::string_view what) const
    {
        return Error::invalid(path + "." + std::string(field) + ": " + std::string(what));
    }
    const json* get(std::string_view field) const
    {
        auto it = object.find(field);
        return it == object.end() ? nullptr : &*it;
    }
    template <typename Integer>
    Result<Integer> integer(std::string_view field) const
    {
        const json* value = get(field);
        if (value == nullptr || !value->is_number_unsigned()) {
            if (value != nullptr && value->is_number_integer() && value->get<std::int64_t>() >= 0) {
                // fine: non-negative integer stored as signed
            } else {
                return error(field, "expected an unsigned integer");
            }
        }
        const auto number = value->get<std::uint64_t>();
        if (number > std::numeric_limits<Integer>::max()) {
            return error(field, "out of range");
        }
        return static_cast<Integer>(number);
    }
    Result<std::string> string(std::string_view field) const
    {
        const json* value = get(field);
        if (value == nullptr || !value->is_string()) {
            return error(field, "expected a string");
        }
        return value->get<std::string>();
    }
    Result<bool> boolean(std::string_view field) const
    {
        const json* value = get(field);
        if (value == nullptr || !value->is_boolean()) {
            return error(field, "expected true or false");
        }
        return value->get<bool>();
    }
    Result<std::vector<std::uint8_t>> hex(std::string_view field) const
    {
        auto text = string(field);
        if (!text) {
            return text.error();
        }
        auto data = bytes::fromHex(*text);
        if (!data) {
            return error(field, "expected hex bytes");
        }
        return std::move(*data);
    }
    template <typename Address>
    Result<Address> address(std::string_view field) const
    {
        auto text = string(field);
        if (!text) {
            return text.error();
        }
        Address out{};
        if (inet_pton(out.size() == 4 ? AF_INET : AF_INET6, text->c_str(), out.data()) != 1) {
            return error(field, out.size() == 4 ? "expected an IPv4 address" : "expected an IPv6 address");
        }
        return out;
    }
};

#define SVR_TRY(var, expr)                                                                                             \
    auto var##Result = (expr);                                                                                         \
    if (!var##Result) {                                                                                                \
        return var##Result.error();                                                                                    \
    }                                                                                                                  \
    auto var = std::move(*var##Result)

template <typename T>
Result<Tlv> contextFromJson(const Field& f)
{
    using Address = decltype(T{}.source);
    SVR_TRY(source, f.address<Address>("source"));
    SVR_TRY(destination, f.address<Address>("destination"));
    SVR_TRY(sourcePort, f.integer<std::uint16_t>("source_port"));
    SVR_TRY(destinationPort, f.integer<std::uint16_t>("destination_port"));
    SVR_TRY(protocol, f.integer<std::uint8_t>("protocol"));
    return Tlv{T{source, destination, sourcePort, destinationPort, protocol}};
}

template <typename T>
Result<Tlv> nameFromJson(const Field& f)
{
    SVR_TRY(value, f.string("value"));
    return Tlv{T{std::move(value)}};
}

template <typename T>
Result<Tlv> integerFromJson(const Field& f, std::string_view field = "value")
{
    SVR_TRY(value, f.integer<decltype(T{}.value)>(field));
    return Tlv{T{value}};
}

template <typename T>
Result<Tlv> addressFromJson(const Field& f)
{
    SVR_TRY(value, f.address<decltype(T{}.value)>("address"));
    return Tlv{T{value}};
}

} // namespace

json tlvToJson(const Tlv& value)
{
    const std::uint16_t type = tlvType(value);
    json out{{"type", type}, {"name", tlvName(type)}};
    std::visit(
        [&]<typename T>(const T& v) {
            if constexpr (std::is_same_v<T, FragmentTlv>) {
                out["extended_id"] = v.extendedId;
                out["original_id"] = v.originalId;
                out["flags"] = v.flags;
                out["dont_fragment"] = (v.flags & 0x2) != 0;
                out["more_fragments"] = (v.flags & 0x1) != 0;
                out["fragment_offset"] = v.fragmentOffset;
                out["largest_seen_fragment"] = v.largestSeenFragment;
            } else if constexpr (requires { v.sourcePort; }) {
                out.update(contextJson(v.source, v.destination, v.sourcePort, v.destinationPort, v.protocol));
            } else if constexpr (std::is_same_v<T, SessionUuid>) {
                out["value"] = formatUuid(v.value);
            } else if constexpr (std::is_same_v<T, ControlMessage>) {
                out["reason"] = v.value;
                out["reason_name"] = controlReasonName(v.value);
            } else if constexpr (std::is_same_v<T, SessionHealthCheck>) {
                out["name"] = "session_health_check";
                out["value"] = v.value;
            } else if constexpr (requires { v.value.size(); v.value.data(); } && !std::is_same_v<T, UnknownTlv> &&
                                 !requires { v.value.c_str(); }) {
                out["address"] = formatAddress(v.value);
            } else if constexpr (requires { v.value.c_str(); }) {
                out["value"] = v.value;
            } else if constexpr (requires { T::kType; v.value + 0; }) {
                out["value"] = v.value;
            } else if constexpr (std::is_same_v<T, PathMetrics>) {
                out["tx_color"] = v.txColor;
                out["tx_time_ms"] = v.txTimeMs;
                out["rx_color"] = v.rxColor;
                out["rx_time_ms"] = v.rxTimeMs;
                out["drop"] = v.drop;
                out["previous_rx_color_count"] = v.previousRxColorCount;
            } else if constexpr (std::is_same_v<T, ModifyRequest>) {
                out["word"] = v.word;
                out["f"] = (v.word & 0x8000) != 0;
                out["d"] = (v.word & 0x4000) != 0;
                out["sequence"] = v.word & 0x0fff;
                out["trailing_hex"] = bytes::toHex(v.trailing);
            } else if constexpr (std::is_same_v<T, SecurityEncryptionKey>) {
                out["name"] = "security_encryption_key";
                out["length"] = v.blob.size();
                out["blob_hex"] = bytes::toHex(v.blob); // the wrapped key exactly as on the wire
            } else if constexpr (std::is_same_v<T, MulticastGroupContext>) {
                const std::size_t size = v.family == 6 ? 16 : 4;
                out["family"] = v.family;
                out["flags"] = v.flags;
                out["source"] = formatAddress(std::span(v.source).first(size));
                out["group"] = formatAddress(std::span(v.group).first(size));
                out["protocol"] = v.protocol;
            } else if constexpr (std::is_same_v<T, MulticastEgressList>) {
                out["routers"] = v.routers;
            } else if constexpr (std::is_same_v<T, UnknownTlv>) {
                out["value_hex"] = bytes::toHex(v.value);
            } else {
                static_assert(requires { T::kType; }, "every TLV has a JSON form");
            }
        },
        value);
    return out;
}

Result<Tlv> tlvFromJson(const json& object, const std::string& path)
{
    if (!object.is_object()) {
        return Error::invalid(path + ": expected an object");
    }
    const Field f{object, path};
    SVR_TRY(type, f.integer<std::uint16_t>("type"));
    switch (type) {
    case tlv::Fragment: {
        SVR_TRY(extendedId, f.integer<std::uint32_t>("extended_id"));
        SVR_TRY(originalId, f.integer<std::uint16_t>("original_id"));
        SVR_TRY(flags, f.integer<std::uint8_t>("flags"));
        SVR_TRY(offset, f.integer<std::uint16_t>("fragment_offset"));
        SVR_TRY(largest, f.integer<std::uint16_t>("largest_seen_fragment"));
        if (flags > 7) {
            return f.error("flags", "3 bits");
        }
        if (offset > 0x1fff) {
            return f.error("fragment_offset", "13 bits");
        }
        return Tlv{FragmentTlv{extendedId, originalId, flags, offset, largest}};
    }
    case tlv::ForwardContextV4: return contextFromJson<ForwardContextV4>(f);
    case tlv::ForwardContextV6: return contextFromJson<ForwardContextV6>(f);
    case tlv::ReverseContextV4: return contextFromJson<ReverseContextV4>(f);
    case tlv::ReverseContextV6: return contextFromJson<ReverseContextV6>(f);
    case tlv::SessionUuid: {
        SVR_TRY(text, f.string("value"));
        std::string compact;
        for (char c : text) {
            if (c != '-') {
                compact.push_back(c);
            }
        }
        const auto data = bytes::fromHex(compact);
        if (!data || data->size() != 16) {
            return f.error("value", "expected a UUID");
        }
        SessionUuid uuid;
        std::copy(data->begin(), data->end(), uuid.value.begin());
        return Tlv{uuid};
    }
    case tlv::TenantName: return nameFromJson<TenantName>(f);
    case tlv::GlobalInterfaceId: return integerFromJson<GlobalInterfaceId>(f);
    case tlv::ServiceName: return nameFromJson<ServiceName>(f);
    case tlv::SessionEncrypted: return Tlv{SessionEncrypted{}};
    case tlv::TcpSynPacket: return Tlv{TcpSynPacket{}};
    case tlv::SessionCount: return integerFromJson<SessionCount>(f);
    case tlv::SourceRouterName: return nameFromJson<SourceRouterName>(f);
    case tlv::SecurityPolicy: return nameFromJson<SecurityPolicyName>(f);
    case tlv::SecurityId: return integerFromJson<SecurityId>(f);
    case tlv::DestinationRouterName: return nameFromJson<DestinationRouterName>(f);
    case tlv::DisableForwardMetadata: return Tlv{DisableForwardMetadata{}};
    case tlv::PeerPathwayId: return nameFromJson<PeerPathwayId>(f);
    case tlv::IcmpErrorLocationV4: return addressFromJson<IcmpErrorLocationV4>(f);
    case tlv::IcmpErrorLocationV6: return addressFromJson<IcmpErrorLocationV6>(f);
    case tlv::ControlMessage: return integerFromJson<ControlMessage>(f, "reason");
    case tlv::SourceNatV4: return addressFromJson<SourceNatV4>(f);
    case tlv::PathMetrics: {
        SVR_TRY(txColor, f.integer<std::uint8_t>("tx_color"));
        SVR_TRY(txTime, f.integer<std::uint32_t>("tx_time_ms"));
        SVR_TRY(rxColor, f.integer<std::uint8_t>("rx_color"));
        SVR_TRY(rxTime, f.integer<std::uint32_t>("rx_time_ms"));
        SVR_TRY(drop, f.boolean("drop"));
        SVR_TRY(previous, f.integer<std::uint16_t>("previous_rx_color_count"));
        return Tlv{PathMetrics{txColor, txTime, rxColor, rxTime, drop, previous}};
    }
    case tlv::ModifyRequest: {
        SVR_TRY(word, f.integer<std::uint16_t>("word"));
        std::vector<std::uint8_t> trailing;
        if (f.get("trailing_hex") != nullptr) {
            SVR_TRY(parsed, f.hex("trailing_hex"));
            trailing = std::move(parsed);
        }
        return Tlv{ModifyRequest{word, std::move(trailing)}};
    }
    case tlv::ApplicationName: return nameFromJson<ApplicationName>(f);
    case tlv::RemainingSessionTime: return integerFromJson<RemainingSessionTime>(f);
    case tlv::HealthCheckOrKey:
        if (f.get("blob_hex") != nullptr) {
            SVR_TRY(blob, f.hex("blob_hex"));
            return Tlv{SecurityEncryptionKey{std::move(blob)}};
        }
        return integerFromJson<SessionHealthCheck>(f);
    case tlv::MulticastGroupContext: {
        SVR_TRY(family, f.integer<std::uint8_t>("family"));
        SVR_TRY(flags, f.integer<std::uint8_t>("flags"));
        SVR_TRY(protocol, f.integer<std::uint8_t>("protocol"));
        MulticastGroupContext group{.family = family, .flags = flags, .protocol = protocol};
        if (family == 4) {
            SVR_TRY(source, f.address<Ipv4Address>("source"));
            SVR_TRY(destination, f.address<Ipv4Address>("group"));
            std::copy(source.begin(), source.end(), group.source.begin());
            std::copy(destination.begin(), destination.end(), group.group.begin());
        } else if (family == 6) {
            SVR_TRY(source, f.address<Ipv6Address>("source"));
            SVR_TRY(destination, f.address<Ipv6Address>("group"));
            group.source = source;
            group.group = destination;
        } else {
            return f.error("family", "expected 4 or 6");
        }
        return Tlv{group};
    }
    case tlv::MulticastEgressList: {
        const json* routers = f.get("routers");
        if (routers == nullptr || !routers->is_array()) {
            return f.error("routers", "expected an array of names");
        }
        MulticastEgressList list;
        for (const auto& router : *routers) {
            if (!router.is_string()) {
                return f.error("routers", "expected an array of names");
            }
            list.routers.push_back(router.get<std::string>());
        }
        return Tlv{std::move(list)};
    }
    default: {
        SVR_TRY(value, f.hex("value_hex"));
        return Tlv{UnknownTlv{type, std::move(value)}};
    }
    }
}

json metadataToJson(const Metadata& metadata, std::span<const std::uint8_t> trailing)
{
    json out;
    out["cookie"] = bytes::toHex(kCookie);
    out["version"] = kVersion;
    auto encoded = encode(metadata);
    if (encoded) {
        const auto view = parseHeader(*encoded);
        if (view) {
            out["header_length"] = view->headerLength;
            out["payload_length"] = view->payloadLength;
        }
    }
    out["false_positive_marker"] = metadata.isFalsePositiveMarker();
    out["header_tlvs"] = json::array();
    for (const auto& value : metadata.headerTlvs) {
        out["header_tlvs"].push_back(tlvToJson(value));
    }
    if (metadata.payloadCiphertext) {
        out["payload_ciphertext_hex"] = bytes::toHex(*metadata.payloadCiphertext);
    } else {
        out["payload_tlvs"] = json::array();
        for (const auto& value : metadata.payloadTlvs) {
            out["payload_tlvs"].push_back(tlvToJson(value));
        }
    }
    if (!trailing.empty()) {
        out["trailing_hex"] = bytes::toHex(trailing);
    }
    return out;
}

Result<MetadataWithTrailing> metadataFromJson(const json& document)
{
    if (!document.is_object()) {
        return Error::invalid("metadata: expected a JSON object");
    }
    const std::string root = "metadata";
    const Field f{document, root};
    if (const json* version = f.get("version"); version != nullptr && *version != kVersion) {
        return f.error("version", "only version 1 is defined");
    }
    MetadataWithTrailing out;
    auto section = [&](const char* name, std::vector<Tlv>& tlvs) -> Status {
        const json* array = f.get(name);
        if (array == nullptr) {
            return {};
        }
        if (!array->is_array()) {
            return f.error(name, "expected an array of TLVs");
        }
        for (std::size_t i = 0; i < array->size(); ++i) {
            auto value = tlvFromJson((*array)[i], std::string(name) + "[" + std::to_string(i) + "]");
            if (!value) {
                return value.error();
            }
            tlvs.push_back(std::move(*value));
        }
        return {};
    };
    if (auto st = section("header_tlvs", out.metadata.headerTlvs); !st) {
        return st.error();
    }
    if (f.get("payload_ciphertext_hex") != nullptr) {
        SVR_TRY(ciphertext, f.hex("payload_ciphertext_hex"));
        out.metadata.payloadCiphertext = std::move(ciphertext);
    } else if (auto st = section("payload_tlvs", out.metadata.payloadTlvs); !st) {
        return st.error();
    }
    if (f.get("trailing_hex") != nullptr) {
        SVR_TRY(trailing, f.hex("trailing_hex"));
        out.trailing = std::move(trailing);
    }
    return out;
}

} // namespace svr::protocol

// JSON view of SVR metadata for svrctl and interop checks: named fields for the header and
// every TLV. toJson/fromJson round-trip exactly (encode(fromJson(toJson(m))) == encode(m)).
#pragma once

#include <cstdint>
#include <span>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "protocol/metadata.hpp"

namespace svr::protocol {

nlohmann::ordered_json tlvToJson(const Tlv& value);
// Errors name the JSON path, e.g. "payload_tlvs[1].source: expected an IPv4 address".
Result<Tlv> tlvFromJson(const nlohmann::ordered_json& object, const std::string& path);

// Whole block; trailing holds the bytes after the metadata (original payload, maybe a tag).
nlohmann::ordered_json metadataToJson(const Metadata& metadata, std::span<const std::uint8_t> trailing = {});
struct MetadataWithTrailing {
    Metadata metadata;
    std::vector<std::uint8_t> trailing;
};
Result<MetadataWithTrailing> metadataFromJson(const nlohmann::ordered_json& document);

} // namespace svr::protocol

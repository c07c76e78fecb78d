// What `svrctl metadata decode` shows: metadata found in raw bytes or in a capture file, as
// JSON. Kept in the library so it is unit-tested without running the CLI.
#pragma once

#include <cstdint>
#include <span>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace svr::protocol {

// l4Payload starts with the cookie. The payload-TLV section is decoded as TLVs unless
// payloadEncrypted; when clear decoding fails only because of that section, it is shown
// as ciphertext ("payload_ciphertext_hex"). Bytes after the block go to "trailing_hex".
Result<nlohmann::ordered_json> describeMetadata(std::span<const std::uint8_t> l4Payload, bool payloadEncrypted);

// One entry per UDP/TCP packet whose payload starts with the cookie: frame number, the
// addresses and ports, and "metadata" (or "error" naming the rejection).
Result<nlohmann::ordered_json> describeCapture(std::span<const std::uint8_t> captureFile, bool payloadEncrypted);

} // namespace svr::protocol

// Big-endian loads/stores and hex helpers shared by the protocol code. Callers check bounds
// (every span they pass is already long enough); these only move bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace svr::protocol::bytes {

inline std::uint16_t load16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
inline std::uint32_t load32(const std::uint8_t* p)
{
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
inline std::uint64_t load64(const std::uint8_t* p) { return (std::uint64_t{load32(p)} << 32) | load32(p + 4); }

inline void store16(std::uint8_t* p, std::uint16_t v)
{
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
inline void store32(std::uint8_t* p, std::uint32_t v)
{
    store16(p, static_cast<std::uint16_t>(v >> 16));
    store16(p + 2, static_cast<std::uint16_t>(v));
}
inline void store64(std::uint8_t* p, std::uint64_t v)
{
    store32(p, static_cast<std::uint32_t>(v >> 32));
    store32(p + 4, static_cast<std::uint32_t>(v));
}

inline void append16(std::vector<std::uint8_t>& out, std::uint16_t v)
{
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}
inline void append32(std::vector<std::uint8_t>& out, std::uint32_t v)
{
    append16(out, static_cast<std::uint16_t>(v >> 16));
    append16(out, static_cast<std::uint16_t>(v));
}
inline void append64(std::vector<std::uint8_t>& out, std::uint64_t v)
{
    append32(out, static_cast<std::uint32_t>(v >> 32));
    append32(out, static_cast<std::uint32_t>(v));
}

std::string toHex(std::span<const std::uint8_t> data);
// Accepts upper/lower case with optional whitespace, ':' separators and a leading "0x".
std::optional<std::vector<std::uint8_t>> fromHex(std::string_view text);
// RFC 3629 well-formedness: no overlongs, no surrogates, nothing above U+10FFFF.
bool isValidUtf8(std::span<const std::uint8_t> text);

} // namespace svr::protocol::bytes

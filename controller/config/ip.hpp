// IP addresses and prefixes as plain values (network byte order bytes), shared by the
// configuration model and the policy core. IPv4 uses the first 4 bytes.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace svr::config {

enum class Family : std::uint8_t { v4 = 4, v6 = 6 };

struct IpAddress {
    Family family = Family::v4;
    std::array<std::uint8_t, 16> bytes{}; // network order; bytes past the family's width are 0

    static std::optional<IpAddress> parse(std::string_view text);
    static IpAddress v4(std::uint32_t hostOrder);

    static constexpr unsigned widthBits(Family family) { return family == Family::v4 ? 32 : 128; }
    unsigned widthBits() const { return widthBits(family); }
    bool bit(unsigned index) const { return (bytes[index / 8] >> (7 - index % 8)) & 1U; }
    std::string toString() const;

    friend bool operator==(const IpAddress&, const IpAddress&) = default;
    friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

struct IpPrefix {
    IpAddress address; // as written: for an interface address the host bits are the address
    std::uint8_t length = 0;

    // "10.0.1.0/24", "fd00::/64"
    static std::optional<IpPrefix> parse(std::string_view text);

    Family family() const { return address.family; }
    bool contains(const IpAddress& candidate) const;
    bool overlaps(const IpPrefix& other) const;
    bool hasHostBits() const;
    IpPrefix network() const; // host bits cleared
    std::string toString() const;

    friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
    friend auto operator<=>(const IpPrefix&, const IpPrefix&) = default;
};

} // namespace svr::config

// Text forms of the contract's addresses, MACs and protocols. Addresses use the contract's
// 16-byte network-order form (IPv4 in bytes 0..3, the rest zero) so they drop straight into
// svr_session_key / svr_addr_key.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "fastpath/abi.hpp"

namespace svr::fastpath {

using MacAddress = std::array<std::uint8_t, 6>;

struct IpAddress {
    std::uint8_t family = 0; // SVR_FAMILY_IPV4 / SVR_FAMILY_IPV6
    std::array<std::uint8_t, SVR_ADDR_LEN> bytes{};

    bool operator==(const IpAddress&) const = default;
};

Result<IpAddress> parseIpAddress(std::string_view text);
std::string formatIpAddress(std::uint8_t family, const std::uint8_t* bytes);
inline std::string formatIpAddress(const IpAddress& address)
{
    return formatIpAddress(address.family, address.bytes.data());
}

// "aa:bb:cc:dd:ee:ff" (also accepts '-' separators), case-insensitive.
Result<MacAddress> parseMac(std::string_view text);
std::string formatMac(const std::uint8_t* mac);

// "tcp", "udp", "icmp" (ICMPv6 for an IPv6 family) or a number 0..255.
Result<std::uint8_t> parseProtocol(std::string_view text, std::uint8_t family);
std::string formatProtocol(std::uint8_t proto);

// A port 0..65535 given on the command line, in host order.
Result<std::uint16_t> parsePort(std::string_view text);

svr_addr_key makeAddrKey(const IpAddress& address);

} // namespace svr::fastpath

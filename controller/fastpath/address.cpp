#include "fastpath/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace svr::fastpath {

Result<IpAddress> parseIpAddress(std::string_view text)
{
    const std::string copy(text); // inet_pton needs a terminated string
    IpAddress address;
    if (inet_pton(AF_INET, copy.c_str(), address.bytes.data()) == 1) {
        address.family = SVR_FAMILY_IPV4;
        return address;
    }
    if (inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) == 1) {
        address.family = SVR_FAMILY_IPV6;
        return address;
    }
    return Error::invalid(fmt::format("'{}' is not an IPv4 or IPv6 address", text));
}

std::string formatIpAddress(std::uint8_t family, const std::uint8_t* bytes)
{
    char buffer[INET6_ADDRSTRLEN] = {};
    const int af = family == SVR_FAMILY_IPV4 ? AF_INET : family == SVR_FAMILY_IPV6 ? AF_INET6 : 0;
    if (af == 0 || inet_ntop(af, bytes, buffer, sizeof(buffer)) == nullptr) {
        return fmt::format("<family {}>", family);
    }
    return buffer;
}

Result<MacAddress> parseMac(std::string_view text)
{
    MacAddress mac{};
    const auto bad = [&] { return Error::invalid(fmt::format("'{}' is not a MAC address", text)); };
    if (text.size() != 17) {
        return bad();
    }
    for (std::size_t i = 0; i < mac.size(); ++i) {
        const std::size_t at = i * 3;
        if (i > 0 && text[at - 1] != ':' && text[at - 1] != '-') {
            return bad();
        }
        const auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + 2, mac[i], 16);
        if (ec != std::errc() || end != text.data() + at + 2) {
            return bad();
        }
    }
    return mac;
}

std::string formatMac(const std::uint8_t* mac)
{
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                       mac[4], mac[5]);
}

Result<std::uint8_t> parseProtocol(std::string_view text, std::uint8_t family)
{
    if (text == "tcp") {
        return std::uint8_t{IPPROTO_TCP};
    }
    if (text == "udp") {
        return std::uint8_t{IPPROTO_UDP};
    }
    if (text == "icmp" || text == "icmpv6" || text == "icmp6") {
        return static_cast<std::uint8_t>(family == SVR_FAMILY_IPV6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value > 255 || text.empty()) {
        return Error::invalid(
            fmt::format("'{}' is not a protocol (tcp, udp, icmp or 0..255)", text));
    }
    return static_cast<std::uint8_t>(value);
}

std::string formatProtocol(std::uint8_t proto)
{
    switch (proto) {
    case IPPROTO_TCP:
        return "tcp";
    case IPPROTO_UDP:
        return "udp";
    case IPPROTO_ICMP:
        return "icmp";
    case IPPROTO_ICMPV6:
        return "icmpv6";
    default:
        return std::to_string(proto);
    }
}

Result<std::uint16_t> parsePort(std::string_view text)
{
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 65535) {
        return Error::invalid(fmt::format("'{}' is not a port (0..65535)", text));
    }
    return static_cast<std::uint16_t>(value);
}

svr_addr_key makeAddrKey(const IpAddress& address)
{
    svr_addr_key key{};
    key.family = address.family;
    std::memcpy(key.addr, address.bytes.data(), sizeof(key.addr));
    return key;
}

} // namespace svr::fastpath

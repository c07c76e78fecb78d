#include "config/ip.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace svr::config {

std::optional<IpAddress> IpAddress::parse(std::string_view text)
{
    // inet_pton needs a terminated string; the longest textual IPv6 address is 45 characters.
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) {
        return std::nullopt;
    }
    std::string terminated(text);
    IpAddress address;
    if (::inet_pton(AF_INET, terminated.c_str(), address.bytes.data()) == 1) {
        address.family = Family::v4;
        return address;
    }
    if (::inet_pton(AF_INET6, terminated.c_str(), address.bytes.data()) == 1) {
        address.family = Family::v6;
        return address;
    }
    return std::nullopt;
}

IpAddress IpAddress::v4(std::uint32_t hostOrder)
{
    IpAddress address;
    address.family = Family::v4;
    address.bytes[0] = static_cast<std::uint8_t>(hostOrder >> 24);
    address.bytes[1] = static_cast<std::uint8_t>(hostOrder >> 16);
    address.bytes[2] = static_cast<std::uint8_t>(hostOrder >> 8);
    address.bytes[3] = static_cast<std::uint8_t>(hostOrder);
    return address;
}

std::string IpAddress::toString() const
{
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(family == Family::v4 ? AF_INET : AF_INET6, bytes.data(), text, sizeof(text));
    return text;
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text)
{
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        return std::nullopt;
    }
    auto address = IpAddress::parse(text.substr(0, slash));
    if (!address) {
        return std::nullopt;
    }
    const auto lengthText = text.substr(slash + 1);
    unsigned length = 0;
    const auto [end, ec] =
        std::from_chars(lengthText.data(), lengthText.data() + lengthText.size(), length);
    if (ec != std::errc() || end != lengthText.data() + lengthText.size() || lengthText.empty() ||
        length > address->widthBits()) {
        return std::nullopt;
    }
    return IpPrefix{*address, static_cast<std::uint8_t>(length)};
}

bool IpPrefix::contains(const IpAddress& candidate) const
{
    if (candidate.family != address.family) {
        return false;
    }
    const unsigned fullBytes = length / 8;
    for (unsigned i = 0; i < fullBytes; ++i) {
        if (candidate.bytes[i] != address.bytes[i]) {
            return false;
        }
    }
    const unsigned restBits = length % 8;
    if (restBits == 0) {
        return true;
    }
    const auto mask = static_cast<std::uint8_t>(0xFFU << (8 - restBits));
    return (candidate.bytes[fullBytes] & mask) == (address.bytes[fullBytes] & mask);
}

bool IpPrefix::overlaps(const IpPrefix& other) const
{
    if (other.family() != family()) {
        return false;
    }
    return length <= other.length ? contains(other.address) : other.contains(address);
}

IpPrefix IpPrefix::network() const
{
    IpPrefix cleared{IpAddress{address.family, {}}, length};
    const unsigned fullBytes = length / 8;
    for (unsigned i = 0; i < fullBytes; ++i) {
        cleared.address.bytes[i] = address.bytes[i];
    }
    if (const unsigned restBits = length % 8; restBits != 0) {
        cleared.address.bytes[fullBytes] =
            address.bytes[fullBytes] & static_cast<std::uint8_t>(0xFFU << (8 - restBits));
    }
    return cleared;
}

bool IpPrefix::hasHostBits() const { return network().address != address; }

std::string IpPrefix::toString() const
{
    return address.toString() + "/" + std::to_string(length);
}

} // namespace svr::config

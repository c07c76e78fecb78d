#include "fastpath/netdev.hpp"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "common/unique_fd.hpp"

namespace svr::fastpath {
namespace {

Result<ifreq> makeRequest(const std::string& name)
{
    ifreq request{};
    if (name.empty() || name.size() >= sizeof(request.ifr_name)) {
        return Error::invalid(fmt::format("'{}' is not a valid interface name", name));
    }
    std::memcpy(request.ifr_name, name.data(), name.size());
    return request;
}

} // namespace

Result<std::uint32_t> interfaceIndex(const std::string& name)
{
    const unsigned index = if_nametoindex(name.c_str());
    if (index == 0) {
        return Error::fromErrno(errno, fmt::format("interface '{}'", name));
    }
    return static_cast<std::uint32_t>(index);
}

std::string interfaceName(std::uint32_t ifindex)
{
    char buffer[IF_NAMESIZE] = {};
    if (if_indextoname(ifindex, buffer) == nullptr) {
        return fmt::format("if{}", ifindex);
    }
    return buffer;
}

Result<MacAddress> interfaceMac(const std::string& name)
{
    auto request = makeRequest(name);
    if (!request) {
        return request.error();
    }
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock.valid() || ::ioctl(sock.get(), SIOCGIFHWADDR, &*request) != 0) {
        return Error::fromErrno(errno, fmt::format("MAC address of interface '{}'", name));
    }
    MacAddress mac{};
    std::memcpy(mac.data(), request->ifr_hwaddr.sa_data, mac.size());
    return mac;
}

Result<std::uint32_t> interfaceMtu(const std::string& name)
{
    auto request = makeRequest(name);
    if (!request) {
        return request.error();
    }
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock.valid() || ::ioctl(sock.get(), SIOCGIFMTU, &*request) != 0) {
        return Error::fromErrno(errno, fmt::format("MTU of interface '{}'", name));
    }
    return static_cast<std::uint32_t>(request->ifr_mtu);
}

std::uint32_t interfaceRxQueues(const std::string& name)
{
    auto request = makeRequest(name);
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!request || !sock.valid()) {
        return 1;
    }
    ethtool_channels channels{};
    channels.cmd = ETHTOOL_GCHANNELS;
    request->ifr_data = reinterpret_cast<char*>(&channels);
    if (::ioctl(sock.get(), SIOCETHTOOL, &*request) != 0) {
        return 1;
    }
    return std::max<std::uint32_t>({1, channels.rx_count, channels.combined_count});
}

} // namespace svr::fastpath

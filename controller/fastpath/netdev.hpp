// Network devices of the CALLING process's network namespace (ioctl/netlink based, never
// /sys/class/net, which shows the namespace that mounted sysfs, not ours).
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "fastpath/address.hpp"

namespace svr::fastpath {

Result<std::uint32_t> interfaceIndex(const std::string& name);
// The name, or "if<N>" when the ifindex no longer exists.
std::string interfaceName(std::uint32_t ifindex);
Result<MacAddress> interfaceMac(const std::string& name);
Result<std::uint32_t> interfaceMtu(const std::string& name);
// RX queues of the device (ethtool channels); 1 when the driver does not report channels.
std::uint32_t interfaceRxQueues(const std::string& name);

} // namespace svr::fastpath

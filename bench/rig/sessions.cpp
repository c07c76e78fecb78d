#include "sessions.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.hpp"
#include "fastpath/abi.hpp"
#include "fastpath/maps.hpp"
#include "fastpath/session.hpp"
#include "programs.hpp"

namespace svr::bench {
namespace {

Result<fastpath::MacAddress> interfaceMac(const std::string& name)
{
    UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock.valid()) {
        return Error::fromErrno(errno, "socket for SIOCGIFHWADDR");
    }
    ifreq request{};
    std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (ioctl(sock.get(), SIOCGIFHWADDR, &request)) {
        return Error::fromErrno(errno, "MAC address of " + name);
    }
    fastpath::MacAddress mac{};
    std::memcpy(mac.data(), request.ifr_hwaddr.sa_data, mac.size());
    return mac;
}

fastpath::IpAddress ipv4(std::uint32_t hostOrder)
{
    fastpath::IpAddress address;
    address.family = SVR_FAMILY_IPV4;
    std::uint32_t networkOrder = htonl(hostOrder);
    std::memcpy(address.bytes.data(), &networkOrder, sizeof(networkOrder));
    return address;
}

} // namespace

Result<std::uint64_t> installSessions(const SessionPlan& plan)
{
    const FlowSet& flows = plan.flowSet;
    if (flows.flows == 0 || flows.portsPerAddr == 0) {
        return Error::invalid("flows and ports per address must be at least 1");
    }
    auto ingress = interfaceIndex(plan.ingress);
    if (!ingress) {
        return ingress.error();
    }
    auto egress = interfaceIndex(plan.egress);
    if (!egress) {
        return egress.error();
    }
    auto egressMac = interfaceMac(plan.egress);
    if (!egressMac) {
        return egressMac.error();
    }
    auto ingressMac = interfaceMac(plan.ingress);
    if (!ingressMac) {
        return ingressMac.error();
    }
    fastpath::NextHop back;
    back.egressIfindex = *ingress;
    back.srcMac = *ingressMac;
    back.dstMac = plan.reverseNextHopMac;
    // The table is three maps beside each other (svr_session.h): open the router's pins.
    const std::string pinRoot = plan.sessionMapPin.substr(0, plan.sessionMapPin.rfind('/'));
    auto maps = fastpath::PinnedMaps::open(pinRoot);
    if (!maps) {
        return maps.error();
    }
    fastpath::SessionTable table(maps->fds().sessions);

    // The same session the operator's `svrctl session add` builds, one per flow.
    fastpath::SessionSpec spec;
    spec.ingressIfindex = *ingress;
    spec.proto = IPPROTO_UDP;
    spec.destination = ipv4(flows.dstAddr);
    spec.destinationPort = flows.dstPort;
    spec.newDestination = ipv4(plan.newDstAddr);
    spec.nextHop.egressIfindex = *egress;
    spec.nextHop.srcMac = *egressMac;
    spec.nextHop.dstMac = plan.nextHopMac;
    spec.createdNs = fastpath::monotonicNowNs();

    std::uint64_t written = 0;
    auto write = [&](const fastpath::SessionEntry& entry) -> Status {
        if (Status inserted = table.insert(entry.key, entry.value); !inserted) {
            return Error{inserted.error().code, "write session " + std::to_string(written) +
                                                    " into " + pinRoot + ": " +
                                                    inserted.error().message};
        }
        ++written;
        return {};
    };

    for (std::uint32_t flow = 0; flow < flows.flows; ++flow) {
        std::uint32_t addrIndex = flow / flows.portsPerAddr;
        spec.source = ipv4(flows.firstSrcAddr + addrIndex);
        spec.newSource = ipv4(plan.newSrcAddr + addrIndex);
        spec.sourcePort = static_cast<std::uint16_t>(flows.firstSrcPort + flow % flows.portsPerAddr);
        spec.sessionId = flow + 1;
        auto entry = fastpath::buildForwardSession(spec);
        if (!entry) {
            return entry.error();
        }
        if (Status added = write(*entry); !added) {
            return added.error();
        }
        if (plan.reverse) {
            if (Status added = write(fastpath::buildReverseSession(*entry, back)); !added) {
                return added.error();
            }
        }
    }
    return written;
}

} // namespace svr::bench

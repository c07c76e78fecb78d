#include "svrd/neighbours.hpp"

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace svr::svrd {
namespace {

struct NeighbourRequest {
    nlmsghdr header;
    ndmsg neighbour;
    char attributes[64];
};

void addAttribute(NeighbourRequest& request, std::uint16_t type, const void* data,
                  std::size_t length)
{
    auto* attribute = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&request) +
                                                NLMSG_ALIGN(request.header.nlmsg_len));
    attribute->rta_type = type;
    attribute->rta_len = static_cast<unsigned short>(RTA_LENGTH(length));
    std::memcpy(RTA_DATA(attribute), data, length);
    request.header.nlmsg_len = NLMSG_ALIGN(request.header.nlmsg_len) + RTA_ALIGN(attribute->rta_len);
}

NeighbourRequest makeRequest(std::uint16_t type, std::uint16_t flags, std::uint32_t ifindex,
                             const fastpath::IpAddress& address)
{
    NeighbourRequest request{};
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(ndmsg));
    request.header.nlmsg_type = type;
    request.header.nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
    request.neighbour.ndm_family =
        address.family == SVR_FAMILY_IPV4 ? AF_INET : AF_INET6;
    request.neighbour.ndm_ifindex = static_cast<int>(ifindex);
    addAttribute(request, NDA_DST, address.bytes.data(),
                 address.family == SVR_FAMILY_IPV4 ? 4 : 16);
    return request;
}

constexpr std::uint16_t kUsableStates =
    NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT;

} // namespace

Result<NeighbourTable> NeighbourTable::open()
{
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd.valid()) {
        return Error::fromErrno(errno, "open rtnetlink socket");
    }
    // The kernel answers at once; a bound wait keeps a stuck kernel from stalling the loop.
    timeval timeout{0, 200000};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
        return Error::fromErrno(errno, "bind rtnetlink socket");
    }
    return NeighbourTable(std::move(fd));
}

Result<std::size_t> NeighbourTable::request(void* message, std::size_t length,
                                            std::uint8_t* reply, std::size_t replyCapacity)
{
    auto* header = static_cast<nlmsghdr*>(message);
    header->nlmsg_seq = ++sequence_;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd_.get(), message, length, 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof(kernel)) < 0) {
        return Error::fromErrno(errno, "rtnetlink send");
    }
    for (;;) {
        const ssize_t received = ::recv(fd_.get(), reply, replyCapacity, 0);
        if (received < 0) {
            return Error::fromErrno(errno, "rtnetlink receive");
        }
        const auto* answer = reinterpret_cast<const nlmsghdr*>(reply);
        if (static_cast<std::size_t>(received) >= sizeof(nlmsghdr) &&
            answer->nlmsg_seq == sequence_) {
            return static_cast<std::size_t>(received);
        }
        // An answer to an earlier request that timed out: skip it.
    }
}

Result<std::optional<fastpath::MacAddress>> NeighbourTable::lookup(
    std::uint32_t ifindex, const fastpath::IpAddress& address)
{
    NeighbourRequest query = makeRequest(RTM_GETNEIGH, 0, ifindex, address);
    alignas(nlmsghdr) std::uint8_t reply[1024];
    auto length = request(&query, query.header.nlmsg_len, reply, sizeof(reply));
    if (!length) {
        return length.error();
    }
    const auto* answer = reinterpret_cast<const nlmsghdr*>(reply);
    if (answer->nlmsg_type == NLMSG_ERROR) {
        const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(answer));
        if (error->error == -ENOENT || error->error == 0) {
            return std::optional<fastpath::MacAddress>{};
        }
        return Error::fromErrno(-error->error, "rtnetlink neighbour lookup");
    }
    if (answer->nlmsg_type != RTM_NEWNEIGH || !NLMSG_OK(answer, *length)) {
        return std::optional<fastpath::MacAddress>{};
    }
    const auto* neighbour = static_cast<const ndmsg*>(NLMSG_DATA(answer));
    if (!(neighbour->ndm_state & kUsableStates)) {
        return std::optional<fastpath::MacAddress>{};
    }
    int remaining = static_cast<int>(answer->nlmsg_len - NLMSG_LENGTH(sizeof(ndmsg)));
    for (auto* attribute = reinterpret_cast<const rtattr*>(
             reinterpret_cast<const char*>(neighbour) + NLMSG_ALIGN(sizeof(ndmsg)));
         RTA_OK(attribute, remaining); attribute = RTA_NEXT(attribute, remaining)) {
        if (attribute->rta_type == NDA_LLADDR && RTA_PAYLOAD(attribute) == 6) {
            fastpath::MacAddress mac{};
            std::memcpy(mac.data(), RTA_DATA(attribute), mac.size());
            return std::optional<fastpath::MacAddress>{mac};
        }
    }
    return std::optional<fastpath::MacAddress>{};
}

Status NeighbourTable::manage(std::uint32_t ifindex, const fastpath::IpAddress& address)
{
    NeighbourRequest create =
        makeRequest(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK, ifindex, address);
    const std::uint32_t managed = NTF_EXT_MANAGED;
    addAttribute(create, NDA_FLAGS_EXT, &managed, sizeof(managed));
    alignas(nlmsghdr) std::uint8_t reply[1024];
    auto length = request(&create, create.header.nlmsg_len, reply, sizeof(reply));
    if (!length) {
        return length.error();
    }
    const auto* answer = reinterpret_cast<const nlmsghdr*>(reply);
    if (answer->nlmsg_type == NLMSG_ERROR) {
        const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(answer));
        if (error->error != 0) {
            return Error::fromErrno(-error->error,
                                    fmt::format("add managed neighbour {} on ifindex {}",
                                                fastpath::formatIpAddress(address), ifindex));
        }
    }
    return {};
}

} // namespace svr::svrd

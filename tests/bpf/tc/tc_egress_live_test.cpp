// TC egress program on a real clsact egress hook: in a private network namespace, svr_tc is
// attached to one end of a veth pair (tc0, the "router interface"), the test's own sockets
// send through the kernel stack, and a packet socket on the peer (tc1) captures what left.
// This covers what test-run cannot: the real hook, skbs the stack builds (TCP clones its
// skbs, so the DSCP write must not touch TCP's retained copy), and socket-set ECN bits.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <functional>
#include <optional>

#include "packet_builder.hpp"
#include "tc_test_support.hpp"

namespace svr::test::tc {
namespace {

constexpr std::uint8_t kDscpEf = 46;
constexpr std::uint8_t kDscpCs6 = 48;
constexpr std::size_t kEthLen = 14;

const char* const kRouterMac = "02:00:00:00:00:01";
const char* const kPeerMac = "02:00:00:00:00:02";
const Ipv4Addr kRouterV4 = ipv4("192.0.2.1");
const Ipv4Addr kPeerV4 = ipv4("192.0.2.2");
const Ipv6Addr kRouterV6 = ipv6("2001:db8::1");
const Ipv6Addr kPeerV6 = ipv6("2001:db8::2");

// The program on one device's clsact egress hook; detached on destruction.
class EgressAttachment {
public:
    EgressAttachment(int ifindex, int prog_fd)
    {
        hook_.sz = sizeof(hook_);
        hook_.ifindex = ifindex;
        hook_.attach_point = BPF_TC_EGRESS;
        error_ = bpf_tc_hook_create(&hook_);
        if (error_ != 0 && error_ != -EEXIST) {
            return;
        }
        created_ = error_ == 0;
        bpf_tc_opts opts{};
        opts.sz = sizeof(opts);
        opts.prog_fd = prog_fd;
        error_ = bpf_tc_attach(&hook_, &opts);
    }
    EgressAttachment(const EgressAttachment&) = delete;
    EgressAttachment& operator=(const EgressAttachment&) = delete;
    ~EgressAttachment()
    {
        if (created_) {
            bpf_tc_hook_destroy(&hook_); // removes the qdisc and with it the filter
        }
    }
    int error() const { return error_; }

private:
    bpf_tc_hook hook_{};
    bool created_ = false;
    int error_ = 0;
};

sockaddr_in v4Sockaddr(const Ipv4Addr& addr, std::uint16_t port)
{
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    std::memcpy(&sa.sin_addr, addr.data(), addr.size());
    return sa;
}

sockaddr_in6 v6Sockaddr(const Ipv6Addr& addr, std::uint16_t port)
{
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    std::memcpy(&sa.sin6_addr, addr.data(), addr.size());
    return sa;
}

// Offsets in an untagged frame.
std::uint8_t ipVersion(const Bytes& frame) { return frame[kEthLen] >> 4; }
std::size_t l4Offset(const Bytes& frame)
{
    return ipVersion(frame) == 4 ? kEthLen + (frame[kEthLen] & 0x0f) * 4u : kEthLen + 40;
}
std::uint8_t l4Proto(const Bytes& frame)
{
    return ipVersion(frame) == 4 ? frame[kEthLen + 9] : frame[kEthLen + 6];
}
std::uint16_t dstPort(const Bytes& frame)
{
    const std::size_t l4 = l4Offset(frame);
    return static_cast<std::uint16_t>(frame[l4 + 2] << 8 | frame[l4 + 3]);
}
// IPv4 TOS or IPv6 traffic class.
std::uint8_t dsField(const Bytes& frame)
{
    if (ipVersion(frame) == 4) {
        return frame[kEthLen + 1];
    }
    return static_cast<std::uint8_t>((frame[kEthLen] & 0x0f) << 4 | frame[kEthLen + 1] >> 4);
}

class TcEgressLiveTest : public testing::Test {
protected:
    void SetUp() override
    {
        const int err = loadTcSkeleton(skel_);
        // The bpf and netns tiers run as root: a missing privilege is a failure, not a skip.
        ASSERT_EQ(err, 0) << "svr_tc__load: " << std::strerror(-err)
                          << " (needs CAP_BPF and CAP_NET_ADMIN: run as root)";

        netns_ = std::make_unique<PrivateNetns>();
        ASSERT_TRUE(netns_->entered()) << "unshare(CLONE_NEWNET): " << std::strerror(errno);
        ASSERT_TRUE(runIp({"link", "add", "tc0", "address", kRouterMac, "type", "veth", "peer",
                           "name", "tc1", "address", kPeerMac}));
        ASSERT_TRUE(runIp({"addr", "add", "192.0.2.1/24", "dev", "tc0"}));
        ASSERT_TRUE(runIp({"addr", "add", "2001:db8::1/64", "dev", "tc0", "nodad"}));
        ASSERT_TRUE(runIp({"link", "set", "tc0", "up"}));
        ASSERT_TRUE(runIp({"link", "set", "tc1", "up"}));
        // The peer answers nothing (no addresses): permanent neighbours let packets leave.
        ASSERT_TRUE(runIp({"neigh", "add", "192.0.2.2", "lladdr", kPeerMac, "dev", "tc0", "nud",
                           "permanent"}));
        ASSERT_TRUE(runIp({"neigh", "add", "2001:db8::2", "lladdr", kPeerMac, "dev", "tc0",
                           "nud", "permanent"}));
        router_ifindex_ = if_nametoindex("tc0");
        ASSERT_NE(router_ifindex_, 0u);
        setStatsSlot(*skel_, router_ifindex_, kStatsSlot);

        capture_ = UniqueFd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
        ASSERT_TRUE(capture_.valid()) << std::strerror(errno);
        sockaddr_ll bound{};
        bound.sll_family = AF_PACKET;
        bound.sll_protocol = htons(ETH_P_ALL);
        bound.sll_ifindex = static_cast<int>(if_nametoindex("tc1"));
        ASSERT_EQ(::bind(capture_.get(), reinterpret_cast<sockaddr*>(&bound), sizeof(bound)), 0)
            << std::strerror(errno);
        timeval timeout{.tv_sec = 0, .tv_usec = 200'000};
        ASSERT_EQ(::setsockopt(capture_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout,
                               sizeof(timeout)),
                  0);

        attachment_ = std::make_unique<EgressAttachment>(
            static_cast<int>(router_ifindex_), bpf_program__fd(skel_->progs.svr_tc_egress));
        ASSERT_EQ(attachment_->error(), 0) << std::strerror(-attachment_->error());
    }

    void TearDown() override
    {
        // Leave the namespace last: the hook and the sockets belong to it.
        attachment_.reset();
        capture_.reset();
        netns_.reset();
    }

    // The first untagged IP frame on tc1 with this L4 protocol and destination port.
    std::optional<Bytes> captureFrame(std::uint8_t proto, std::uint16_t dst_port)
    {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
        Bytes frame(2048);
        while (std::chrono::steady_clock::now() < deadline) {
            const ssize_t n = ::recv(capture_.get(), frame.data(), frame.size(), 0);
            if (n < static_cast<ssize_t>(kEthLen + 40)) {
                continue; // timeout, or too short to be what we wait for
            }
            Bytes got(frame.begin(), frame.begin() + n);
            const std::uint16_t ether_type = static_cast<std::uint16_t>(got[12] << 8 | got[13]);
            if (ether_type != kEtherTypeIpv4 && ether_type != kEtherTypeIpv6) {
                continue;
            }
            if (got.size() >= l4Offset(got) + 4 && l4Proto(got) == proto &&
                dstPort(got) == dst_port) {
                return got;
            }
        }
        return std::nullopt;
    }

    void sendUdp4(std::uint16_t src_port, std::uint16_t dst_port, int tos)
    {
        UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        ASSERT_TRUE(sock.valid());
        ASSERT_EQ(::setsockopt(sock.get(), IPPROTO_IP, IP_TOS, &tos, sizeof(tos)), 0);
        const sockaddr_in local = v4Sockaddr(kRouterV4, src_port);
        ASSERT_EQ(::bind(sock.get(), reinterpret_cast<const sockaddr*>(&local), sizeof(local)), 0)
            << std::strerror(errno);
        const sockaddr_in peer = v4Sockaddr(kPeerV4, dst_port);
        const char payload[] = "svr tc egress";
        ASSERT_EQ(::sendto(sock.get(), payload, sizeof(payload), 0,
                           reinterpret_cast<const sockaddr*>(&peer), sizeof(peer)),
                  static_cast<ssize_t>(sizeof(payload)))
            << std::strerror(errno);
    }

    svr_session_key v4Key(std::uint8_t proto, std::uint16_t src_port, std::uint16_t dst_port)
    {
        return sessionKey(SVR_FAMILY_IPV4, proto, kRouterV4, kPeerV4, src_port, dst_port);
    }

    std::unique_ptr<PrivateNetns> netns_;
    TcSkeleton skel_;
    std::uint32_t router_ifindex_ = 0;
    static constexpr std::uint32_t kStatsSlot = 9; // tc0's, as attach would give it
    UniqueFd capture_;
    std::unique_ptr<EgressAttachment> attachment_;
};

TEST_F(TcEgressLiveTest, Ipv4UdpFromTheRouterIsMarkedKeepingEcn)
{
    const svr_session_key key = v4Key(IPPROTO_UDP, 4000, 5000);
    addSession(*skel_, key, sessionValue(kDscpEf));

    sendUdp4(4000, 5000, /*tos=*/0x02); // ECT(0) set by the application
    const std::optional<Bytes> frame = captureFrame(IPPROTO_UDP, 5000);
    ASSERT_TRUE(frame) << "nothing left tc0";

    EXPECT_EQ(dsField(*frame), kDscpEf << 2 | 0x02);
    EXPECT_EQ(internetChecksum(std::span(*frame).subspan(kEthLen, 20)), 0)
        << "IPv4 header checksum\n"
        << hexDump(*frame);
    const svr_session_value value = readSession(*skel_, key);
    EXPECT_EQ(value.packets, 1u);
    EXPECT_EQ(value.bytes, frame->size());
    const svr_stats counted = readStats(*skel_, kStatsSlot);
    EXPECT_EQ(counted.tc_dscp_marked, 1u);
    EXPECT_GE(counted.tc_local_packets, 1u);
    EXPECT_GE(counted.tc_local_bytes, frame->size());
}

TEST_F(TcEgressLiveTest, Ipv6UdpFromTheRouterIsMarkedKeepingEcn)
{
    const svr_session_key key =
        sessionKey(SVR_FAMILY_IPV6, IPPROTO_UDP, kRouterV6, kPeerV6, 4000, 5000);
    addSession(*skel_, key, sessionValue(kDscpEf));

    UniqueFd sock(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(sock.valid());
    const int traffic_class = 0x01; // ECT(1)
    ASSERT_EQ(::setsockopt(sock.get(), IPPROTO_IPV6, IPV6_TCLASS, &traffic_class,
                           sizeof(traffic_class)),
              0);
    const sockaddr_in6 local = v6Sockaddr(kRouterV6, 4000);
    ASSERT_EQ(::bind(sock.get(), reinterpret_cast<const sockaddr*>(&local), sizeof(local)), 0)
        << std::strerror(errno);
    const sockaddr_in6 peer = v6Sockaddr(kPeerV6, 5000);
    const char payload[] = "svr tc egress v6";
    ASSERT_EQ(::sendto(sock.get(), payload, sizeof(payload), 0,
                       reinterpret_cast<const sockaddr*>(&peer), sizeof(peer)),
              static_cast<ssize_t>(sizeof(payload)));

    const std::optional<Bytes> frame = captureFrame(IPPROTO_UDP, 5000);
    ASSERT_TRUE(frame) << "nothing left tc0";
    EXPECT_EQ(dsField(*frame), kDscpEf << 2 | 0x01);
    EXPECT_EQ(readSession(*skel_, key).packets, 1u);
    EXPECT_EQ(readStats(*skel_, kStatsSlot).tc_dscp_marked, 1u);
}

TEST_F(TcEgressLiveTest, TcpSynFromTheRouterIsMarkedAndRecorded)
{
    const svr_session_key key = v4Key(IPPROTO_TCP, 40000, 179);
    addSession(*skel_, key, sessionValue(kDscpCs6));

    UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(sock.valid());
    const sockaddr_in local = v4Sockaddr(kRouterV4, 40000);
    ASSERT_EQ(::bind(sock.get(), reinterpret_cast<const sockaddr*>(&local), sizeof(local)), 0)
        << std::strerror(errno);
    const sockaddr_in peer = v4Sockaddr(kPeerV4, 179);
    ASSERT_EQ(::connect(sock.get(), reinterpret_cast<const sockaddr*>(&peer), sizeof(peer)), -1);
    ASSERT_EQ(errno, EINPROGRESS);

    const std::optional<Bytes> frame = captureFrame(IPPROTO_TCP, 179);
    ASSERT_TRUE(frame) << "no SYN left tc0";
    EXPECT_EQ(dsField(*frame), kDscpCs6 << 2);
    EXPECT_EQ(internetChecksum(std::span(*frame).subspan(kEthLen, 20)), 0)
        << "IPv4 header checksum\n"
        << hexDump(*frame);
    const svr_session_value value = readSession(*skel_, key);
    EXPECT_GE(value.packets, 1u); // SYN retransmits may have followed
    EXPECT_EQ(value.tcp_state, SVR_TCP_SEEN_SYN);
    EXPECT_GE(readStats(*skel_, kStatsSlot).tc_dscp_marked, 1u);
}

TEST_F(TcEgressLiveTest, TrafficWithoutSessionLeavesUnchanged)
{
    addSession(*skel_, v4Key(IPPROTO_UDP, 4000, 5000), sessionValue(kDscpEf));

    sendUdp4(4000, 5001, /*tos=*/0x28); // AF11, set by the application
    const std::optional<Bytes> frame = captureFrame(IPPROTO_UDP, 5001);
    ASSERT_TRUE(frame) << "nothing left tc0";

    EXPECT_EQ(dsField(*frame), 0x28);
    EXPECT_EQ(readSession(*skel_, v4Key(IPPROTO_UDP, 4000, 5000)).packets, 0u);
    const svr_stats counted = readStats(*skel_, kStatsSlot);
    EXPECT_EQ(counted.tc_dscp_marked, 0u);
    EXPECT_GE(counted.tc_local_packets, 1u);
}

} // namespace
} // namespace svr::test::tc

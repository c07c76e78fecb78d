// Sessions with SVR_SESSION_F_USE_FIB: bpf_fib_lookup answers from the routing table of the
// test's own network namespace (created with unshare, left again in TearDown), where a dummy
// device carries routes, neighbours, a blackhole and a small MTU.
#include <fcntl.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>

#include "packet_builder.hpp"
#include "xdp_harness.hpp"

namespace svr::test {
namespace {

const char* const kDevice = "svrfib0";

const Ipv4Addr kClient4 = ipv4("10.0.0.1");
const Ipv4Addr kServer4 = ipv4("192.0.2.10");
const Ipv4Addr kNat4 = ipv4("198.51.100.1");
const Ipv4Addr kRouted4 = ipv4("203.0.113.5");     // via a gateway with a neighbour entry
const Ipv4Addr kUnresolved4 = ipv4("198.18.0.5");  // via a gateway without one
const Ipv4Addr kBlackholed4 = ipv4("198.18.1.5");
const Ipv4Addr kSmallMtu4 = ipv4("198.18.2.5");    // route with a locked mtu 1280 (an unlocked one is not used for forwarding)
const Ipv6Addr kClient6 = ipv6("2001:db8:1::1");
const Ipv6Addr kServer6 = ipv6("2001:db8:2::10");
const Ipv6Addr kNat6 = ipv6("2001:db8:ff::1");
const Ipv6Addr kRouted6 = ipv6("2001:db8:3::5");   // on-link, neighbour entry
constexpr std::uint16_t kClientPort = 1000;
constexpr std::uint16_t kServerPort = 443;
constexpr std::uint16_t kNatPort = 40000;

bool run(const std::string& command)
{
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

bool writeSysctl(const std::string& path, const char* value)
{
    std::ofstream file(path);
    file << value;
    return static_cast<bool>(file.flush());
}

svr_session_key makeKey(std::span<const std::uint8_t> src, std::span<const std::uint8_t> dst)
{
    svr_session_key key{};
    key.ingress_ifindex = kLoopbackIfindex;
    key.family = src.size() == 4 ? SVR_FAMILY_IPV4 : SVR_FAMILY_IPV6;
    key.proto = IPPROTO_UDP;
    std::memcpy(key.src_addr, src.data(), src.size());
    std::memcpy(key.dst_addr, dst.data(), dst.size());
    key.src_port = htons(kClientPort);
    key.dst_port = htons(kServerPort);
    return key;
}

svr_session_value fibValue(std::span<const std::uint8_t> new_src, std::span<const std::uint8_t> new_dst)
{
    svr_session_value value{};
    std::memcpy(value.new_src_addr, new_src.data(), new_src.size());
    std::memcpy(value.new_dst_addr, new_dst.data(), new_dst.size());
    value.new_src_port = htons(kNatPort);
    value.new_dst_port = htons(kServerPort);
    value.action = SVR_ACTION_FORWARD;
    value.dscp = SVR_DSCP_KEEP;
    value.flags = SVR_SESSION_F_USE_FIB | SVR_SESSION_F_REWRITE_SRC | SVR_SESSION_F_REWRITE_DST;
    // Cached next hop deliberately wrong: with USE_FIB it must be ignored.
    value.egress_ifindex = 4000;
    return value;
}

Bytes udp4(const MacAddr& dst_mac, const MacAddr& src_mac, const Ipv4Addr& src, const Ipv4Addr& dst,
           std::uint16_t sport, std::uint8_t ttl, std::size_t payload = 16)
{
    return PacketBuilder()
        .eth(dst_mac, src_mac)
        .ipv4({.src = src, .dst = dst, .ttl = ttl})
        .udp({.src_port = sport, .dst_port = kServerPort})
        .payload(Bytes(payload, 0x5a))
        .build();
}

class XdpFibTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        original_netns_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        ASSERT_GE(original_netns_, 0);
        ASSERT_EQ(unshare(CLONE_NEWNET), 0) << std::strerror(errno);
        const std::string dev = kDevice;
        ASSERT_TRUE(run("ip link set lo up"));
        ASSERT_TRUE(run("ip link add " + dev + " address 02:00:00:00:00:cc type veth peer name svrfib1"));
        ASSERT_TRUE(run("ip link set svrfib1 up"));
        ASSERT_TRUE(run("ip link set " + dev + " up"));
        ASSERT_TRUE(run("ip addr add 192.0.2.1/24 dev " + dev));
        ASSERT_TRUE(run("ip -6 addr add 2001:db8:3::1/64 dev " + dev + " nodad"));
        ASSERT_TRUE(run("ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:bb nud permanent dev " + dev));
        ASSERT_TRUE(run("ip -6 neigh add 2001:db8:3::5 lladdr 02:00:00:00:00:bb nud permanent dev " + dev));
        ASSERT_TRUE(run("ip route add 203.0.113.0/24 via 192.0.2.2 dev " + dev));
        ASSERT_TRUE(run("ip route add 198.18.0.0/24 via 192.0.2.3 dev " + dev));
        ASSERT_TRUE(run("ip route add blackhole 198.18.1.0/24"));
        ASSERT_TRUE(run("ip route add 198.18.2.0/24 via 192.0.2.2 dev " + dev + " mtu lock 1280"));
        ASSERT_TRUE(writeSysctl("/proc/sys/net/ipv4/conf/all/forwarding", "1"));
        ASSERT_TRUE(writeSysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1"));
        device_ifindex_ = if_nametoindex(kDevice);
        ASSERT_NE(device_ifindex_, 0u);

        std::string error;
        program_ = XdpProgram::load({}, error);
        ASSERT_TRUE(program_) << error;
        program_->setIface(kLoopbackIfindex, SVR_IFACE_F_ROUTER);
        program_->addTxPort(device_ifindex_); // written from inside this namespace
    }

    void TearDown() override
    {
        program_.reset();
        if (original_netns_ >= 0) {
            EXPECT_EQ(setns(original_netns_, CLONE_NEWNET), 0) << std::strerror(errno);
            close(original_netns_);
        }
    }

    int original_netns_ = -1;
    unsigned device_ifindex_ = 0;
    std::unique_ptr<XdpProgram> program_;
};

TEST_F(XdpFibTest, SuccessTakesMacsAndEgressFromTheFib)
{
    const auto key = makeKey(kClient4, kServer4);
    program_->addSession(key, fibValue(kNat4, kRouted4));
    const auto result = program_->run(udp4(kRouterMac, kClientMac, kClient4, kServer4, kClientPort, 64));
    EXPECT_EQ(result.action, XDP_REDIRECT);
    const Bytes expected = udp4(kNextHopMac, kEgressMac, kNat4, kRouted4, kNatPort, 63);
    EXPECT_EQ(result.frame, expected) << hexDiff(expected, result.frame);
    EXPECT_EQ(program_->stats().verdict_packets[SVR_VERDICT_FORWARD], 1u);
    EXPECT_EQ(program_->session(key)->packets, 1u);
}

TEST_F(XdpFibTest, Ipv6SuccessTakesMacsFromTheFib)
{
    const auto key = makeKey(kClient6, kServer6);
    program_->addSession(key, fibValue(kNat6, kRouted6));
    auto frame = [](const MacAddr& d, const MacAddr& s, const Ipv6Addr& src, const Ipv6Addr& dst,
                    std::uint16_t sport, std::uint8_t hops) {
        return PacketBuilder()
            .eth(d, s)
            .ipv6({.src = src, .dst = dst, .hop_limit = hops})
            .udp({.src_port = sport, .dst_port = kServerPort})
            .payload({1, 2, 3})
            .build();
    };
    const auto result = program_->run(frame(kRouterMac, kClientMac, kClient6, kServer6, kClientPort, 9));
    EXPECT_EQ(result.action, XDP_REDIRECT);
    const Bytes expected = frame(kNextHopMac, kEgressMac, kNat6, kRouted6, kNatPort, 8);
    EXPECT_EQ(result.frame, expected) << hexDiff(expected, result.frame);
}

TEST_F(XdpFibTest, NoNeighbourRewritesWithoutTtlDecrementAndPasses)
{
    const auto key = makeKey(kClient4, kServer4);
    program_->addSession(key, fibValue(kNat4, kUnresolved4));
    const auto result = program_->run(udp4(kRouterMac, kClientMac, kClient4, kServer4, kClientPort, 64));
    EXPECT_EQ(result.action, XDP_PASS);
    // Addresses translated, MACs and TTL left for the kernel's own forwarding.
    const Bytes expected = udp4(kRouterMac, kClientMac, kNat4, kUnresolved4, kNatPort, 64);
    EXPECT_EQ(result.frame, expected) << hexDiff(expected, result.frame);
    EXPECT_EQ(program_->stats().pass_packets[SVR_PASS_NO_NEIGH], 1u);
    EXPECT_EQ(program_->session(key)->packets, 1u);
}

TEST_F(XdpFibTest, BlackholeDropped)
{
    program_->addSession(makeKey(kClient4, kServer4), fibValue(kNat4, kBlackholed4));
    const Bytes input = udp4(kRouterMac, kClientMac, kClient4, kServer4, kClientPort, 64);
    const auto result = program_->run(input);
    EXPECT_EQ(result.action, XDP_DROP);
    EXPECT_EQ(result.frame, input);
    EXPECT_EQ(program_->stats().drop_packets[SVR_DROP_FIB], 1u);
}

TEST_F(XdpFibTest, TooBigWithoutDontFragmentTranslatedThenPassedForTheKernelToFragment)
{
    const auto key = makeKey(kClient4, kServer4);
    program_->addSession(key, fibValue(kNat4, kSmallMtu4));
    const auto result = program_->run(udp4(kRouterMac, kClientMac, kClient4, kServer4, kClientPort, 64, 1400));
    EXPECT_EQ(result.action, XDP_PASS);
    // Passed untranslated, the kernel would fragment and forward it past the session's NAT.
    const Bytes expected = udp4(kRouterMac, kClientMac, kNat4, kSmallMtu4, kNatPort, 64, 1400);
    EXPECT_EQ(result.frame, expected) << hexDiff(expected, result.frame);
    EXPECT_EQ(program_->stats().pass_packets[SVR_PASS_FRAG_NEEDED], 1u);
    EXPECT_EQ(program_->session(key)->packets, 1u);
}

TEST_F(XdpFibTest, TooBigWithDontFragmentPassedUnmodified)
{
    const auto key = makeKey(kClient4, kServer4);
    program_->addSession(key, fibValue(kNat4, kSmallMtu4));
    const Bytes input = PacketBuilder()
                            .eth(kRouterMac, kClientMac)
                            .ipv4({.src = kClient4, .dst = kServer4, .ttl = 64, .dont_fragment = true})
                            .udp({.src_port = kClientPort, .dst_port = kServerPort})
                            .payload(Bytes(1400, 0x5a))
                            .build();
    const auto result = program_->run(input);
    EXPECT_EQ(result.action, XDP_PASS);
    // As received: the kernel's Fragmentation Needed goes to the client and quotes its packet.
    EXPECT_EQ(result.frame, input);
    EXPECT_EQ(program_->stats().pass_packets[SVR_PASS_FRAG_NEEDED], 1u);
    EXPECT_EQ(program_->session(key)->packets, 0u);

    // The same route takes a packet that fits.
    const auto small = program_->run(udp4(kRouterMac, kClientMac, kClient4, kServer4, kClientPort, 64, 100));
    EXPECT_EQ(small.action, XDP_REDIRECT);
}

} // namespace
} // namespace svr::test

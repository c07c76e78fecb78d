// Family translation in the XDP fast path (session entries with new_family): IPv4 sessions
// over IPv6 waypoints and the reverse. Expected frames are built by the packet builder, every
// checksum summed from scratch; the refused cases show their counters.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <gtest/gtest.h>

#include "packet_builder.hpp"
#include "svr_punt.h"
#include "xdp_harness.hpp"

namespace svr::test {
namespace {


// The client's session (one family) and the waypoints it crosses the WAN with (the other).
const Ipv4Addr kClient4 = ipv4("10.1.1.10");
const Ipv4Addr kServer4 = ipv4("10.2.1.10");
const Ipv6Addr kWaypointA6 = ipv6("2001:db8:2::1");
const Ipv6Addr kWaypointB6 = ipv6("2001:db8:2::2");
const Ipv6Addr kClient6 = ipv6("fd00:1:1::10");
const Ipv6Addr kServer6 = ipv6("fd00:2:1::10");
const Ipv4Addr kWaypointA4 = ipv4("192.0.2.1");
const Ipv4Addr kWaypointB4 = ipv4("192.0.2.2");

constexpr std::uint16_t kClientPort = 40123;
constexpr std::uint16_t kServerPort = 80;
constexpr std::uint16_t kLocalWaypointPort = 20001;
constexpr std::uint16_t kPeerWaypointPort = 30001;
constexpr std::uint16_t kRewriteBoth = SVR_SESSION_F_REWRITE_SRC | SVR_SESSION_F_REWRITE_DST;

const Bytes kPayload = {'G', 'E', 'T', ' ', '/', 0x00, 0xff, 0x10, 0x01, 0x7f, 0x80};

svr_session_key makeKey(std::uint8_t proto, std::span<const std::uint8_t> src,
                        std::span<const std::uint8_t> dst, std::uint16_t vlan = 0)
{
    svr_session_key key{};
    key.ingress_ifindex = kLoopbackIfindex;
    key.vlan_id = vlan;
    key.family = src.size() == 4 ? SVR_FAMILY_IPV4 : SVR_FAMILY_IPV6;
    key.proto = proto;
    std::memcpy(key.src_addr, src.data(), src.size());
    std::memcpy(key.dst_addr, dst.data(), dst.size());
    key.src_port = htons(kClientPort);
    key.dst_port = htons(proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6 ? 0 : kServerPort);
    return key;
}

// The entry that sends the client's packet out between the waypoints, in their family.
svr_session_value xlateValue(std::span<const std::uint8_t> new_src, std::span<const std::uint8_t> new_dst)
{
    svr_session_value value{};
    std::memcpy(value.new_src_addr, new_src.data(), new_src.size());
    std::memcpy(value.new_dst_addr, new_dst.data(), new_dst.size());
    value.new_src_port = htons(kLocalWaypointPort);
    value.new_dst_port = htons(kPeerWaypointPort);
    value.egress_ifindex = kLoopbackIfindex;
    std::memcpy(value.dst_mac, kNextHopMac.data(), 6);
    std::memcpy(value.src_mac, kEgressMac.data(), 6);
    value.action = SVR_ACTION_FORWARD;
    value.dscp = SVR_DSCP_KEEP;
    value.flags = kRewriteBoth;
    value.new_family = new_src.size() == 4 ? SVR_FAMILY_IPV4 : SVR_FAMILY_IPV6;
    value.idle_timeout_s = 30;
    value.session_id = 77;
    return value;
}


struct XlateCase {
    std::string name;
    Bytes input;
    svr_session_key key{};
    svr_session_value value{};
    int action = XDP_REDIRECT;
    Bytes output; // expected output; empty: the input unchanged
    svr_verdict verdict = SVR_VERDICT_FORWARD;
    unsigned reason = 0;
    bool punt_socket = false;
    std::uint8_t tcp_state = 0; // expected on the entry after a forward
};

void PrintTo(const XlateCase& c, std::ostream* os)
{
    *os << c.name;
}

const Bytes kSynOptions = {2, 4, 0x05, 0xb4, 1, 3, 3, 7}; // MSS 1460, NOP, window scale

XlateCase tcp4to6()
{
    XlateCase c{.name = "Ipv4TcpSessionOverIpv6Waypoints"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4, .ttl = 64, .tos = 0x29, .id = 0x4242,
                         .dont_fragment = true})
                  .tcp({.src_port = kClientPort, .dst_port = kServerPort, .seq = 0x01020304,
                        .ack = 0x0a0b0c0d, .flags = kTcpAck | kTcpPsh, .window = 501,
                        .options = kSynOptions})
                  .payload(kPayload)
                  .build();
    c.key = makeKey(IPPROTO_TCP, kClient4, kServer4);
    c.value = xlateValue(kWaypointA6, kWaypointB6);
    c.output = toNextHop()
                   .ipv6({.src = kWaypointA6, .dst = kWaypointB6, .hop_limit = 63, .traffic_class = 0x29})
                   .tcp({.src_port = kLocalWaypointPort, .dst_port = kPeerWaypointPort,
                         .seq = 0x01020304, .ack = 0x0a0b0c0d, .flags = kTcpAck | kTcpPsh,
                         .window = 501, .options = kSynOptions})
                   .payload(kPayload)
                   .build();
    c.tcp_state = SVR_TCP_SEEN_ACK;
    return c;
}

XlateCase udp4to6()
{
    XlateCase c{.name = "Ipv4UdpSessionOverIpv6Waypoints"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4, .ttl = 9, .tos = 0x02})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    c.key = makeKey(IPPROTO_UDP, kClient4, kServer4);
    c.value = xlateValue(kWaypointA6, kWaypointB6);
    c.output = toNextHop()
                   .ipv6({.src = kWaypointA6, .dst = kWaypointB6, .hop_limit = 8, .traffic_class = 0x02})
                   .udp({.src_port = kLocalWaypointPort, .dst_port = kPeerWaypointPort})
                   .payload(kPayload)
                   .build();
    return c;
}

XlateCase tcp6to4()
{
    XlateCase c{.name = "Ipv6TcpSessionOverIpv4Waypoints"};
    c.input = fromClient()
                  .ipv6({.src = kClient6, .dst = kServer6, .hop_limit = 64, .traffic_class = 0xb8,
                         .flow_label = 0x12345})
                  .tcp({.src_port = kClientPort, .dst_port = kServerPort, .seq = 7, .flags = kTcpSyn,
                        .options = kSynOptions})
                  .payload(kPayload)
                  .build();
    c.key = makeKey(IPPROTO_TCP, kClient6, kServer6);
    c.value = xlateValue(kWaypointA4, kWaypointB4);
    c.output = toNextHop()
                   .ipv4({.src = kWaypointA4, .dst = kWaypointB4, .ttl = 63, .tos = 0xb8, .id = 0,
                          .dont_fragment = true})
                   .tcp({.src_port = kLocalWaypointPort, .dst_port = kPeerWaypointPort, .seq = 7,
                         .flags = kTcpSyn, .options = kSynOptions})
                   .payload(kPayload)
                   .build();
    c.tcp_state = SVR_TCP_SEEN_SYN;
    return c;
}

XlateCase udp6to4()
{
    XlateCase c{.name = "Ipv6UdpSessionOverIpv4Waypoints"};
    c.input = fromClient()
                  .ipv6({.src = kClient6, .dst = kServer6, .hop_limit = 2})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(Bytes(301, 0xa5)) // odd length: the sum pads the last byte
                  .build();
    c.key = makeKey(IPPROTO_UDP, kClient6, kServer6);
    c.value = xlateValue(kWaypointA4, kWaypointB4);
    c.output = toNextHop()
                   .ipv4({.src = kWaypointA4, .dst = kWaypointB4, .ttl = 1, .dont_fragment = true})
                   .udp({.src_port = kLocalWaypointPort, .dst_port = kPeerWaypointPort})
                   .payload(Bytes(301, 0xa5))
                   .build();
    return c;
}

// The waypoints' packet arriving at the peer, restored to the client's family (reverse of
// the above: the peer's entry has the client's addresses as new addresses).
XlateCase udp6to4Restores()
{
    XlateCase c{.name = "Ipv6WaypointPacketRestoredToIpv4Session"};
    c.input = fromClient()
                  .ipv6({.src = kWaypointA6, .dst = kWaypointB6, .hop_limit = 63})
                  .udp({.src_port = kLocalWaypointPort, .dst_port = kPeerWaypointPort})
                  .payload(kPayload)
                  .build();
    c.key = makeKey(IPPROTO_UDP, kWaypointA6, kWaypointB6);
    c.key.src_port = htons(kLocalWaypointPort);
    c.key.dst_port = htons(kPeerWaypointPort);
    c.value = xlateValue(kClient4, kServer4);
    c.value.new_src_port = htons(kClientPort);
    c.value.new_dst_port = htons(kServerPort);
    c.output = toNextHop()
                   .ipv4({.src = kClient4, .dst = kServer4, .ttl = 62, .dont_fragment = true})
                   .udp({.src_port = kClientPort, .dst_port = kServerPort})
                   .payload(kPayload)
                   .build();
    return c;
}

XlateCase vlan4to6()
{
    XlateCase c{.name = "VlanTaggedIpv4TranslatedKeepsPriority"};
    c.input = fromClient()
                  .vlan({.vid = 100, .pcp = 5})
                  .ipv4({.src = kClient4, .dst = kServer4})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    c.key = makeKey(IPPROTO_UDP, kClient4, kServer4, 100);
    c.value = xlateValue(kWaypointA6, kWaypointB6);
    c.value.egress_vlan = 200;
    c.output = toNextHop()
                   .vlan({.vid = 200, .pcp = 5})
                   .ipv6({.src = kWaypointA6, .dst = kWaypointB6, .hop_limit = 63})
                   .udp({.src_port = kLocalWaypointPort, .dst_port = kPeerWaypointPort})
                   .payload(kPayload)
                   .build();
    return c;
}

XlateCase qinq6to4Pop()
{
    XlateCase c{.name = "QinQIpv6TranslatedOuterTagPopped"};
    c.input = fromClient()
                  .vlan(10, kEtherTypeQinQ)
                  .vlan(20)
                  .ipv6({.src = kClient6, .dst = kServer6})
                  .tcp({.src_port = kClientPort, .dst_port = kServerPort, .flags = kTcpAck | kTcpFin})
                  .build();
    c.key = makeKey(IPPROTO_TCP, kClient6, kServer6, 10);
    c.value = xlateValue(kWaypointA4, kWaypointB4);
    c.output = toNextHop()
                   .vlan(20)
                   .ipv4({.src = kWaypointA4, .dst = kWaypointB4, .ttl = 63, .dont_fragment = true})
                   .tcp({.src_port = kLocalWaypointPort, .dst_port = kPeerWaypointPort,
                         .flags = kTcpAck | kTcpFin})
                   .build();
    c.tcp_state = SVR_TCP_SEEN_ACK | SVR_TCP_SEEN_FIN;
    return c;
}

XlateCase untagged6to4Push()
{
    XlateCase c{.name = "UntaggedIpv6TranslatedTagPushed"};
    c.input = fromClient()
                  .ipv6({.src = kClient6, .dst = kServer6})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    c.key = makeKey(IPPROTO_UDP, kClient6, kServer6);
    c.value = xlateValue(kWaypointA4, kWaypointB4);
    c.value.egress_vlan = 300;
    c.output = toNextHop()
                   .vlan(300)
                   .ipv4({.src = kWaypointA4, .dst = kWaypointB4, .ttl = 63, .dont_fragment = true})
                   .udp({.src_port = kLocalWaypointPort, .dst_port = kPeerWaypointPort})
                   .payload(kPayload)
                   .build();
    return c;
}

XlateCase dscp4to6()
{
    XlateCase c{.name = "Ipv4TranslatedDscpRewrittenEcnKept"};
    c.input = fromClient()
                  .ipv4({.src = kClient4, .dst = kServer4, .tos = 0x03})
                  .udp({.src_port = kClientPort, .dst_port = kServerPort})
                  .payload(kPayload)
                  .build();
    c.key = makeKey(IPPROTO_UDP, kClient4, kServer4);
    c.value = xlateValue(kWaypointA6, kWaypointB6);
    c.value.dscp = 46;
    c.output = toNextHop()
                   .ipv6({.src = kWaypointA6, .dst = kWaypointB6, .hop_limit = 63,
                          .traffic_class = (46 << 2) | 0x03})
                   .udp({.src_port = kLocalWaypointPort, .dst_port = kPeerWaypointPort})
                   .payload(kPayload)
                   .build();
    return c;
}

// Refusals: the frame leaves untouched, counted by its reason.
XlateCase refused(std::string name, Bytes input, svr_session_key key, svr_session_value value,
                  svr_verdict verdict, unsigned reason, int action = XDP_DROP)
{
    XlateCase c{.name = std::move(name)};
    c.input = std::move(input);
    c.key = key;
    c.value = value;
    c.action = action;
    c.verdict = verdict;
    c.reason = reason;
    return c;
}

std::vector<XlateCase> refusedCases()
{
    std::vector<XlateCase> cases;
    const auto v4Udp = makeKey(IPPROTO_UDP, kClient4, kServer4);
    const auto v6Udp = makeKey(IPPROTO_UDP, kClient6, kServer6);
    const auto to6 = xlateValue(kWaypointA6, kWaypointB6);
    const auto to4 = xlateValue(kWaypointA4, kWaypointB4);
    cases.push_back(refused(
        "Ipv4OptionsNotTranslated",
        fromClient()
            .ipv4({.src = kClient4, .dst = kServer4, .options = {0x94, 0x04, 0x00, 0x00}}) // router alert
            .udp({.src_port = kClientPort, .dst_port = kServerPort})
            .payload(kPayload)
            .build(),
        v4Udp, to6, SVR_VERDICT_DROP, SVR_DROP_XLATE_UNSUPPORTED));
    cases.push_back(refused(
        "Ipv6ExtensionHeadersNotTranslated",
        fromClient()
            .ipv6({.src = kClient6, .dst = kServer6})
            .ipv6Extension({.type = kIpv6DestOptions, .body = {}})
            .udp({.src_port = kClientPort, .dst_port = kServerPort})
            .payload(kPayload)
            .build(),
        v6Udp, to4, SVR_VERDICT_DROP, SVR_DROP_XLATE_UNSUPPORTED));
    auto echoKey = makeKey(IPPROTO_ICMP, kClient4, kServer4);
    echoKey.src_port = htons(0x1234);
    cases.push_back(refused("IcmpEchoNotTranslated",
                            fromClient()
                                .ipv4({.src = kClient4, .dst = kServer4})
                                .icmp(icmpv4EchoRequest(0x1234, 1))
                                .build(),
                            echoKey, to6, SVR_VERDICT_DROP, SVR_DROP_XLATE_UNSUPPORTED));
    {
        // An ICMP error about the session is looked up with the session's reverse key.
        const Bytes quotedPacket = PacketBuilder()
                                       .ipv4({.src = kServer4, .dst = kClient4})
                                       .udp({.src_port = kServerPort, .dst_port = kClientPort})
                                       .payload(kPayload)
                                       .build();
        cases.push_back(refused("IcmpErrorAboutTranslatedSessionNotTranslated",
                                fromClient()
                                    .ipv4({.src = kClient4, .dst = kServer4})
                                    .icmp(icmpv4DestUnreachable(3))
                                    .payload(quoted(quotedPacket, 28))
                                    .build(),
                                v4Udp, to6, SVR_VERDICT_DROP, SVR_DROP_XLATE_UNSUPPORTED));
    }
    auto fib = to6;
    fib.flags |= SVR_SESSION_F_USE_FIB;
    cases.push_back(refused("TranslationWithFibNextHopRefused",
                            fromClient()
                                .ipv4({.src = kClient4, .dst = kServer4})
                                .udp({.src_port = kClientPort, .dst_port = kServerPort})
                                .build(),
                            v4Udp, fib, SVR_VERDICT_DROP, SVR_DROP_XLATE_UNSUPPORTED));
    auto pass = to6;
    pass.action = SVR_ACTION_PASS;
    cases.push_back(refused("TranslationWithPassActionRefused",
                            fromClient()
                                .ipv4({.src = kClient4, .dst = kServer4})
                                .udp({.src_port = kClientPort, .dst_port = kServerPort})
                                .build(),
                            v4Udp, pass, SVR_VERDICT_DROP, SVR_DROP_XLATE_UNSUPPORTED));
    const Bytes zeroChecksum = fromClient()
                                   .ipv4({.src = kClient4, .dst = kServer4})
                                   .udp({.src_port = kClientPort, .dst_port = kServerPort, .checksum = 0})
                                   .payload(kPayload)
                                   .build();
    auto punted = refused("Ipv4UdpZeroChecksumPuntedForTranslation", zeroChecksum, v4Udp, to6,
                          SVR_VERDICT_PUNT, SVR_PUNT_XLATE_CHECKSUM, XDP_REDIRECT);
    punted.punt_socket = true;
    cases.push_back(punted);
    cases.push_back(refused("Ipv4UdpZeroChecksumWithoutSocketDropped", zeroChecksum, v4Udp, to6,
                            SVR_VERDICT_DROP, SVR_DROP_NO_PUNT_SOCKET));
    auto fragment = refused("Ipv4FragmentOfTranslatedSessionPunted",
                            fromClient()
                                .ipv4({.src = kClient4, .dst = kServer4, .more_fragments = true})
                                .udp({.src_port = kClientPort, .dst_port = kServerPort})
                                .payload(kPayload)
                                .build(),
                            v4Udp, to6, SVR_VERDICT_PUNT, SVR_PUNT_FRAGMENT, XDP_REDIRECT);
    fragment.punt_socket = true;
    cases.push_back(fragment);
    cases.push_back(refused("TranslatedTtlExpiredPassedToKernel",
                            fromClient()
                                .ipv4({.src = kClient4, .dst = kServer4, .ttl = 1})
                                .udp({.src_port = kClientPort, .dst_port = kServerPort})
                                .build(),
                            v4Udp, to6, SVR_VERDICT_PASS, SVR_PASS_TTL_EXPIRED, XDP_PASS));
    return cases;
}

std::vector<XlateCase> allCases()
{
    std::vector<XlateCase> cases = {tcp4to6(), udp4to6(),      tcp6to4(),        udp6to4(),
                                    udp6to4Restores(), vlan4to6(), qinq6to4Pop(), untagged6to4Push(),
                                    dscp4to6()};
    for (XlateCase& c : refusedCases()) {
        cases.push_back(std::move(c));
    }
    return cases;
}

class XdpXlateTest : public XdpCaseTest<XlateCase> {};

TEST_P(XdpXlateTest, Run)
{
    const XlateCase& c = GetParam();
    if (c.punt_socket) {
        ASSERT_NO_FATAL_FAILURE(bindPuntSocket());
        if (IsSkipped()) {
            return;
        }
    }
    program_->addSession(c.key, c.value);

    const RunResult result = program_->run(c.input);

    expectOutput(result, c.action, c.input, c.output, !c.output.empty());
    expectCountedOnce(program_->stats(), c.verdict, c.reason, c.input.size());
    const auto entry = program_->session(c.key);
    ASSERT_TRUE(entry.has_value());
    if (c.verdict == SVR_VERDICT_FORWARD) {
        EXPECT_EQ(entry->packets, 1u);
        EXPECT_EQ(entry->bytes, c.input.size()); // as received
        EXPECT_EQ(entry->tcp_state, c.tcp_state);
    } else {
        EXPECT_EQ(entry->packets, 0u); // refused packets are not the session's
    }
}

INSTANTIATE_TEST_SUITE_P(Xlate, XdpXlateTest, ::testing::ValuesIn(allCases()),
                         [](const ::testing::TestParamInfo<XlateCase>& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------
// MTU: IPv4 -> IPv6 grows the packet by 20 bytes. In the test's own network namespace
// (unshare, left again in TearDown) a veth with MTU 1280 is the egress interface.

bool run(const std::string& command)
{
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

class XdpXlateMtuTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        original_netns_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        ASSERT_GE(original_netns_, 0);
        ASSERT_EQ(unshare(CLONE_NEWNET), 0) << std::strerror(errno);
        ASSERT_TRUE(run("ip link set lo up"));
        ASSERT_TRUE(run("ip link add svrxl0 mtu 1280 type veth peer name svrxl1"));
        ASSERT_TRUE(run("ip link set svrxl0 up"));
        egress_ = if_nametoindex("svrxl0");
        ASSERT_NE(egress_, 0u);
        std::string error;
        program_ = XdpProgram::load({}, error);
        ASSERT_TRUE(program_) << error;
        program_->setIface(kLoopbackIfindex, SVR_IFACE_F_ROUTER);
        program_->addTxPort(egress_); // written from inside this namespace
        auto value = xlateValue(kWaypointA6, kWaypointB6);
        value.egress_ifindex = egress_;
        program_->addSession(makeKey(IPPROTO_UDP, kClient4, kServer4), value);
    }

    void TearDown() override
    {
        program_.reset();
        if (original_netns_ >= 0) {
            EXPECT_EQ(setns(original_netns_, CLONE_NEWNET), 0) << std::strerror(errno);
            close(original_netns_);
        }
    }

    // An IPv4 UDP packet of `ip_length` bytes from the client.
    static Bytes clientPacket(std::size_t ip_length, bool dont_fragment = false)
    {
        return fromClient()
            .ipv4({.src = kClient4, .dst = kServer4, .dont_fragment = dont_fragment})
            .udp({.src_port = kClientPort, .dst_port = kServerPort})
            .payload(Bytes(ip_length - 28, 0x33))
            .build();
    }

    int original_netns_ = -1;
    unsigned egress_ = 0;
    std::unique_ptr<XdpProgram> program_;
};

TEST_F(XdpXlateMtuTest, TranslatedPacketThatFitsIsForwarded)
{
    const auto result = program_->run(clientPacket(1260)); // 1280 as IPv6
    EXPECT_EQ(result.action, XDP_REDIRECT);
    EXPECT_EQ(result.frame.size(), 14u + 1280u);
    EXPECT_EQ(program_->stats().verdict_packets[SVR_VERDICT_FORWARD], 1u);
}

TEST_F(XdpXlateMtuTest, TranslatedPacketWithDontFragmentOverTheMtuPuntedForIcmp)
{
    std::string why;
    bool kernel_lacks_af_xdp = false;
    auto socket = openPuntSocket(why, kernel_lacks_af_xdp); // on this namespace's lo
    if (!socket && kernel_lacks_af_xdp) {
        GTEST_SKIP() << why;
    }
    ASSERT_TRUE(socket) << why;
    program_->addPuntSocket(0, socket->fd());
    const Bytes input = clientPacket(1261, true);
    const auto result = program_->run(input);
    EXPECT_EQ(result.action, XDP_REDIRECT);
    EXPECT_EQ(result.frame, input); // svrd answers from the untranslated packet
    ASSERT_EQ(result.metadata.size(), sizeof(svr_punt_meta));
    svr_punt_meta meta{};
    std::memcpy(&meta, result.metadata.data(), sizeof meta);
    EXPECT_EQ(meta.reason, SVR_PUNT_XLATE_TOO_BIG);
    const svr_stats stats = program_->stats();
    EXPECT_EQ(stats.verdict_packets[SVR_VERDICT_PUNT], 1u);
    EXPECT_EQ(stats.punt_packets[SVR_PUNT_XLATE_TOO_BIG], 1u);
}

TEST_F(XdpXlateMtuTest, TranslatedPacketWithDontFragmentOverTheMtuTakesDosTokens)
{
    program_.reset();
    std::string error;
    program_ = XdpProgram::load({.dos_new_sessions_per_s = 1, .dos_burst = 1}, error);
    ASSERT_TRUE(program_) << error;
    program_->setIface(kLoopbackIfindex, SVR_IFACE_F_ROUTER);
    auto value = xlateValue(kWaypointA6, kWaypointB6);
    value.egress_ifindex = egress_;
    program_->addSession(makeKey(IPPROTO_UDP, kClient4, kServer4), value);
    (void)program_->run(clientPacket(1261, true)); // the burst's token (no socket: dropped)
    const auto result = program_->run(clientPacket(1261, true));
    EXPECT_EQ(result.action, XDP_DROP);
    const svr_stats stats = program_->stats();
    EXPECT_EQ(stats.drop_packets[SVR_DROP_NO_PUNT_SOCKET], 1u);
    EXPECT_EQ(stats.drop_packets[SVR_DROP_DOS_LIMIT], 1u);
}

TEST_F(XdpXlateMtuTest, TranslatedPacketOverTheMtuDroppedAndCounted)
{
    const Bytes input = clientPacket(1261); // 1281 as IPv6
    const auto result = program_->run(input);
    EXPECT_EQ(result.action, XDP_DROP);
    EXPECT_EQ(result.frame, input); // refused before anything was rewritten
    const svr_stats stats = program_->stats();
    EXPECT_EQ(stats.verdict_packets[SVR_VERDICT_DROP], 1u);
    EXPECT_EQ(stats.drop_packets[SVR_DROP_XLATE_TOO_BIG], 1u);
}

} // namespace
} // namespace svr::test

// TC egress program (bpf/tc/svr_tc.bpf.c) through BPF_PROG_TEST_RUN.
//
// Every case loads the skeleton with its maps unpinned (tests never touch /sys/fs/bpf), runs
// frames from the shared packet builder and checks the verdict (always TC_ACT_OK), the output
// frame byte for byte, the session entry and the per-CPU stats.
//
// What test-run does on this kernel (checked by the cases below, not assumed): the skb's
// device is loopback unless __sk_buff.ifindex names another device of the caller's network
// namespace, so skb->ifindex is 1 by default and an unknown ifindex is ENODEV. The kernel
// refuses frames shorter than an Ethernet header, and untagged IP frames cut inside their IP
// header, before the program runs (cut headers are tested behind a VLAN tag instead). The skb
// is always linear (a __sk_buff.data_end to ask for paged data is EINVAL), so the program's
// pull of paged headers is not reachable here. VLAN TX offload tags come from a shim.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <time.h>

#include <ostream>

#include "packet_builder.hpp"
#include "svr_test_tc_vlan_shim.skel.h"
#include "tc_test_support.hpp"

namespace svr::test::tc {
namespace {

constexpr std::uint32_t kLoopbackIfindex = 1;
constexpr std::uint8_t kProtoGre = 47;
constexpr std::uint8_t kDscpEf = 46;
constexpr std::uint8_t kDscpAf41 = 34;
constexpr std::size_t kIpv4Offset = 14;
constexpr std::size_t kIpv4ChecksumOffset = kIpv4Offset + 10;
// The parser's bound on IPv6 extension headers (SVR_TC_MAX_IPV6_EXT_HEADERS in svr_tc.bpf.c).
constexpr int kProgramIpv6ExtensionLimit = 4;

const MacAddr kGatewayMac = mac("02:00:00:00:00:02");
const MacAddr kRouterMac = mac("02:00:00:00:00:01");
const Ipv4Addr kRouterV4 = ipv4("192.0.2.1");
const Ipv4Addr kPeerV4 = ipv4("198.51.100.7");
const Ipv6Addr kRouterV6 = ipv6("2001:db8::1");
const Ipv6Addr kPeerV6 = ipv6("2001:db8:1::7");

struct VlanShimDeleter {
    void operator()(svr_test_tc_vlan_shim* skel) const { svr_test_tc_vlan_shim__destroy(skel); }
};
using VlanShimSkeleton = std::unique_ptr<svr_test_tc_vlan_shim, VlanShimDeleter>;

struct RunResult {
    int error = 0; // bpf_prog_test_run_opts return value (-errno)
    std::uint32_t verdict = 0;
    Bytes frame;
    __sk_buff ctx_out{};
};

svr_session_key v4Key(std::uint8_t proto, std::uint16_t src_port, std::uint16_t dst_port,
                      std::uint16_t vlan = 0)
{
    return sessionKey(SVR_FAMILY_IPV4, proto, kRouterV4, kPeerV4, src_port, dst_port, vlan);
}

svr_session_key v6Key(std::uint8_t proto, std::uint16_t src_port, std::uint16_t dst_port,
                      std::uint16_t vlan = 0)
{
    return sessionKey(SVR_FAMILY_IPV6, proto, kRouterV6, kPeerV6, src_port, dst_port, vlan);
}

PacketBuilder v4Frame(std::uint8_t tos = 0)
{
    PacketBuilder builder;
    builder.eth(kGatewayMac, kRouterMac).ipv4({.src = kRouterV4, .dst = kPeerV4, .tos = tos});
    return builder;
}

Bytes v4Tcp(std::uint8_t tos, std::uint8_t flags = kTcpAck)
{
    return v4Frame(tos)
        .tcp({.src_port = 22, .dst_port = 50000, .seq = 1, .ack = 2, .flags = flags})
        .payload(Bytes(24, 0x5a))
        .build();
}

std::uint64_t monotonicNs()
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(now.tv_nsec);
}

class TcEgressTest : public testing::Test {
protected:
    void SetUp() override
    {
        const int err = loadTcSkeleton(skel_);
        // The bpf and netns tiers run as root: a missing privilege is a failure, not a skip.
        ASSERT_EQ(err, 0) << "svr_tc__load: " << std::strerror(-err)
                          << " (needs CAP_BPF and CAP_NET_ADMIN: run as root)";
        // lo is a router interface counting in a slot of its own number, as the cases read.
        setStatsSlot(*skel_, kLoopbackIfindex, kLoopbackIfindex);
    }

    RunResult run(const Bytes& frame, const __sk_buff& ctx_in = {}, std::uint32_t repeat = 1)
    {
        return runProgram(bpf_program__fd(skel_->progs.svr_tc_egress), frame, ctx_in, repeat);
    }

    static RunResult runProgram(int prog_fd, const Bytes& frame, const __sk_buff& ctx_in = {},
                                std::uint32_t repeat = 1)
    {
        RunResult result;
        result.frame.resize(frame.size() + 256);
        __sk_buff ctx = ctx_in;
        bpf_test_run_opts opts{};
        opts.sz = sizeof(opts);
        opts.data_in = frame.data();
        opts.data_size_in = static_cast<std::uint32_t>(frame.size());
        opts.data_out = result.frame.data();
        opts.data_size_out = static_cast<std::uint32_t>(result.frame.size());
        opts.ctx_in = &ctx;
        opts.ctx_size_in = sizeof(ctx);
        opts.ctx_out = &result.ctx_out;
        opts.ctx_size_out = sizeof(result.ctx_out);
        opts.repeat = repeat;
        result.error = bpf_prog_test_run_opts(prog_fd, &opts);
        result.verdict = opts.retval;
        result.frame.resize(opts.data_size_out);
        return result;
    }

    // Runs a frame that must come back as it went in (the verdict is always TC_ACT_OK).
    void expectUnchanged(const Bytes& frame, const __sk_buff& ctx_in = {})
    {
        RunResult result = run(frame, ctx_in);
        ASSERT_EQ(result.error, 0) << std::strerror(-result.error);
        EXPECT_EQ(result.verdict, static_cast<std::uint32_t>(TC_ACT_OK));
        EXPECT_EQ(result.frame, frame) << hexDiff(frame, result.frame);
    }

    void expectRewritten(const Bytes& in, const Bytes& expected)
    {
        RunResult result = run(in);
        ASSERT_EQ(result.error, 0) << std::strerror(-result.error);
        EXPECT_EQ(result.verdict, static_cast<std::uint32_t>(TC_ACT_OK));
        EXPECT_EQ(result.frame, expected) << hexDiff(expected, result.frame);
        EXPECT_EQ(checksumErrors(result.frame), "");
    }

    void addSession(const svr_session_key& key, const svr_session_value& value)
    {
        tc::addSession(*skel_, key, value);
    }
    svr_session_value session(const svr_session_key& key) { return readSession(*skel_, key); }
    svr_stats stats(std::uint32_t slot) { return readStats(*skel_, slot); }

    // tc_local_packets over every slot, to prove a packet was counted exactly once.
    std::uint64_t tcPacketsAllSlots()
    {
        std::uint64_t packets = 0;
        for (std::uint32_t slot = 0; slot < SVR_MAX_STATS_SLOTS; ++slot) {
            packets += stats(slot).tc_local_packets;
        }
        return packets;
    }

    void expectAccounted(const Bytes& frame, std::uint64_t dscp_marked,
                         std::uint32_t slot = kLoopbackIfindex)
    {
        svr_stats counted = stats(slot);
        EXPECT_EQ(counted.tc_local_packets, 1u);
        EXPECT_EQ(counted.tc_local_bytes, frame.size());
        EXPECT_EQ(counted.tc_dscp_marked, dscp_marked);
        // TC never touches the XDP verdict counters.
        for (std::uint64_t packets : counted.verdict_packets) {
            EXPECT_EQ(packets, 0u);
        }
    }

    TcSkeleton skel_;
};

// IPv4 DSCP rewrite: the exact frame, with the checksum of the expected frame computed from
// scratch by the builder (the program updates it incrementally).
TEST_F(TcEgressTest, Ipv4TcpHitRewritesDscpKeepingEcn)
{
    const svr_session_key key = v4Key(IPPROTO_TCP, 22, 50000);
    addSession(key, sessionValue(kDscpEf));
    const Bytes in = v4Tcp(/*tos=*/0x01); // DSCP 0, ECN ECT(1)
    const Bytes expected = v4Tcp(kDscpEf << 2 | 0x01);

    expectRewritten(in, expected);
    expectAccounted(in, 1);
    EXPECT_EQ(session(key).packets, 1u);
}

TEST_F(TcEgressTest, Ipv4RewriteChecksumMatchesFullRecomputation)
{
    addSession(v4Key(IPPROTO_UDP, 5000, 53), sessionValue(kDscpAf41));
    // Options make IHL 6 and a high TTL/ID exercise carries in the one's-complement sum.
    auto frame = [](std::uint8_t tos) {
        return PacketBuilder()
            .eth(kGatewayMac, kRouterMac)
            .ipv4({.src = kRouterV4,
                   .dst = kPeerV4,
                   .ttl = 255,
                   .tos = tos,
                   .id = 0xffff,
                   .dont_fragment = true,
                   .options = {0x94, 0x04, 0x00, 0x00}})
            .udp({.src_port = 5000, .dst_port = 53})
            .payload(Bytes(12, 0xff))
            .build();
    };
    const Bytes in = frame(0xfe); // DSCP 63, ECN CE
    RunResult result = run(in);
    ASSERT_EQ(result.error, 0);

    Bytes ip_header(result.frame.begin() + kIpv4Offset, result.frame.begin() + kIpv4Offset + 24);
    EXPECT_EQ(result.frame[kIpv4Offset + 1], kDscpAf41 << 2 | 0x02);
    EXPECT_EQ(internetChecksum(ip_header), 0) << "header sum with checksum must fold to 0";
    ip_header[10] = ip_header[11] = 0;
    const std::uint16_t recomputed = internetChecksum(ip_header);
    EXPECT_EQ((result.frame[kIpv4ChecksumOffset] << 8) | result.frame[kIpv4ChecksumOffset + 1],
              recomputed);
    EXPECT_EQ(result.frame, frame(kDscpAf41 << 2 | 0x02))
        << hexDiff(frame(kDscpAf41 << 2 | 0x02), result.frame);
}

TEST_F(TcEgressTest, Ipv6UdpHitRewritesTrafficClassKeepingEcnAndFlowLabel)
{
    const svr_session_key key = v6Key(IPPROTO_UDP, 3784, 3785);
    addSession(key, sessionValue(kDscpEf));
    auto frame = [](std::uint8_t traffic_class) {
        return PacketBuilder()
            .eth(kGatewayMac, kRouterMac)
            .ipv6({.src = kRouterV6,
                   .dst = kPeerV6,
                   .traffic_class = traffic_class,
                   .flow_label = 0xfedcb})
            .udp({.src_port = 3784, .dst_port = 3785})
            .payload(Bytes(20, 0x11))
            .build();
    };
    const Bytes in = frame(0x03 << 2 | 0x03); // DSCP 3, ECN CE: bits on both sides of the nibble
    const Bytes expected = frame(kDscpEf << 2 | 0x03);

    expectRewritten(in, expected);
    expectAccounted(in, 1);
    EXPECT_EQ(session(key).packets, 1u);
}

TEST_F(TcEgressTest, HitWithDscpKeepLeavesFrameUnchanged)
{
    const svr_session_key key = v4Key(IPPROTO_TCP, 22, 50000);
    addSession(key, sessionValue(SVR_DSCP_KEEP));
    const Bytes in = v4Tcp(kDscpAf41 << 2);

    expectUnchanged(in);
    expectAccounted(in, 0);
    EXPECT_EQ(session(key).packets, 1u);
    EXPECT_EQ(session(key).bytes, in.size());
}

TEST_F(TcEgressTest, HitWithDscpAlreadySetIsNotCountedAsMarked)
{
    const svr_session_key key = v4Key(IPPROTO_TCP, 22, 50000);
    addSession(key, sessionValue(kDscpEf));
    const Bytes in = v4Tcp(kDscpEf << 2 | 0x02);

    expectUnchanged(in);
    expectAccounted(in, 0);
    EXPECT_EQ(session(key).packets, 1u);
}

TEST_F(TcEgressTest, DscpOutsideRangeIsTreatedAsKeep)
{
    const svr_session_key key = v4Key(IPPROTO_TCP, 22, 50000);
    addSession(key, sessionValue(64));
    const Bytes in = v4Tcp(0);

    expectUnchanged(in);
    expectAccounted(in, 0);
    EXPECT_EQ(session(key).packets, 1u);
}

TEST_F(TcEgressTest, MissOnlyAccounts)
{
    // The same flow from a forwarded (non-local) zone and another port: neither matches.
    svr_session_key forwarded = v4Key(IPPROTO_TCP, 22, 50000);
    forwarded.ingress_ifindex = 3;
    const svr_session_key other_port = v4Key(IPPROTO_TCP, 22, 50001);
    addSession(forwarded, sessionValue(kDscpEf));
    addSession(other_port, sessionValue(kDscpEf));
    const Bytes in = v4Tcp(0);

    expectUnchanged(in);
    expectAccounted(in, 0);
    EXPECT_EQ(session(forwarded).packets, 0u);
    EXPECT_EQ(session(other_port).packets, 0u);
    EXPECT_EQ(session(other_port).last_seen_ns, 0u);
}

TEST_F(TcEgressTest, SingleVlanTagKeysOnItsVid)
{
    const svr_session_key key = v4Key(IPPROTO_UDP, 1000, 2000, /*vlan=*/100);
    addSession(key, sessionValue(kDscpEf));
    addSession(v4Key(IPPROTO_UDP, 1000, 2000, /*vlan=*/0), sessionValue(kDscpAf41));
    auto frame = [](std::uint8_t tos) {
        return PacketBuilder()
            .eth(kGatewayMac, kRouterMac)
            .vlan(100)
            .ipv4({.src = kRouterV4, .dst = kPeerV4, .tos = tos})
            .udp({.src_port = 1000, .dst_port = 2000})
            .build();
    };

    expectRewritten(frame(0), frame(kDscpEf << 2));
    expectAccounted(frame(0), 1);
    EXPECT_EQ(session(key).packets, 1u);
    EXPECT_EQ(session(v4Key(IPPROTO_UDP, 1000, 2000, 0)).packets, 0u);
}

TEST_F(TcEgressTest, DoubleVlanTagKeysOnOuterVid)
{
    const svr_session_key outer = v6Key(IPPROTO_TCP, 179, 40000, /*vlan=*/300);
    const svr_session_key inner = v6Key(IPPROTO_TCP, 179, 40000, /*vlan=*/100);
    addSession(outer, sessionValue(kDscpAf41));
    addSession(inner, sessionValue(kDscpEf));
    auto frame = [](std::uint8_t traffic_class) {
        return PacketBuilder()
            .eth(kGatewayMac, kRouterMac)
            .vlan(300, kEtherTypeQinQ)
            .vlan(100)
            .ipv6({.src = kRouterV6, .dst = kPeerV6, .traffic_class = traffic_class})
            .tcp({.src_port = 179, .dst_port = 40000})
            .build();
    };

    expectRewritten(frame(0), frame(kDscpAf41 << 2));
    expectAccounted(frame(0), 1);
    EXPECT_EQ(session(outer).packets, 1u);
    EXPECT_EQ(session(inner).packets, 0u);
}

TEST_F(TcEgressTest, UntaggedFrameDoesNotMatchTaggedSession)
{
    const svr_session_key tagged = v4Key(IPPROTO_TCP, 22, 50000, /*vlan=*/100);
    addSession(tagged, sessionValue(kDscpEf));
    const Bytes in = v4Tcp(0);

    expectUnchanged(in);
    EXPECT_EQ(session(tagged).packets, 0u);
}

TEST_F(TcEgressTest, ThreeVlanTagsAreLeftAlone)
{
    addSession(v4Key(IPPROTO_UDP, 1000, 2000, /*vlan=*/300), sessionValue(kDscpEf));
    const Bytes in = PacketBuilder()
                         .eth(kGatewayMac, kRouterMac)
                         .vlan(300, kEtherTypeQinQ)
                         .vlan(200, kEtherTypeQinQ)
                         .vlan(100)
                         .ipv4({.src = kRouterV4, .dst = kPeerV4})
                         .udp({.src_port = 1000, .dst_port = 2000})
                         .build();

    expectUnchanged(in);
    expectAccounted(in, 0);
    EXPECT_EQ(session(v4Key(IPPROTO_UDP, 1000, 2000, 300)).packets, 0u);
}

TEST_F(TcEgressTest, Ipv4EchoRequestKeysOnIdentifier)
{
    const svr_session_key key = v4Key(IPPROTO_ICMP, /*identifier=*/0x4242, 0);
    addSession(key, sessionValue(kDscpEf));
    auto frame = [](std::uint8_t tos) {
        return v4Frame(tos).icmp(icmpv4EchoRequest(0x4242, 7)).payload(Bytes(32, 0x61)).build();
    };

    expectRewritten(frame(0), frame(kDscpEf << 2));
    EXPECT_EQ(session(key).packets, 1u);
}

TEST_F(TcEgressTest, Ipv6EchoReplyKeysOnIdentifier)
{
    const svr_session_key key = v6Key(IPPROTO_ICMPV6, /*identifier=*/0x0101, 0);
    addSession(key, sessionValue(SVR_DSCP_KEEP));
    const Bytes in = PacketBuilder()
                         .eth(kGatewayMac, kRouterMac)
                         .ipv6({.src = kRouterV6, .dst = kPeerV6})
                         .icmp(icmpv6EchoReply(0x0101, 1))
                         .build();

    expectUnchanged(in);
    EXPECT_EQ(session(key).packets, 1u);
    EXPECT_EQ(session(key).bytes, in.size());
}

TEST_F(TcEgressTest, IcmpErrorIsNotLookedUp)
{
    // An ICMP error has no echo identifier; a ports-0 session must not catch it.
    const svr_session_key key = v4Key(IPPROTO_ICMP, 0, 0);
    addSession(key, sessionValue(kDscpEf));
    const Bytes in = v4Frame().icmp(icmpv4DestUnreachable(3)).payload(Bytes(28, 0)).build();

    expectUnchanged(in);
    expectAccounted(in, 0);
    EXPECT_EQ(session(key).packets, 0u);
}

TEST_F(TcEgressTest, OtherProtocolKeysWithZeroPorts)
{
    const svr_session_key key = v4Key(kProtoGre, 0, 0);
    addSession(key, sessionValue(kDscpEf));
    auto frame = [](std::uint8_t tos) {
        return PacketBuilder()
            .eth(kGatewayMac, kRouterMac)
            .ipv4({.src = kRouterV4, .dst = kPeerV4, .tos = tos, .protocol = kProtoGre})
            .payload({0x00, 0x00, 0x08, 0x00})
            .build();
    };

    expectRewritten(frame(0), frame(kDscpEf << 2));
    EXPECT_EQ(session(key).packets, 1u);
}

TEST_F(TcEgressTest, Ipv4FragmentIsNotLookedUp)
{
    const svr_session_key key = v4Key(IPPROTO_UDP, 1000, 2000);
    addSession(key, sessionValue(kDscpEf));
    const Bytes in = PacketBuilder()
                         .eth(kGatewayMac, kRouterMac)
                         .ipv4({.src = kRouterV4, .dst = kPeerV4, .more_fragments = true})
                         .udp({.src_port = 1000, .dst_port = 2000})
                         .payload(Bytes(64, 1))
                         .build();

    expectUnchanged(in);
    expectAccounted(in, 0);
    EXPECT_EQ(session(key).packets, 0u);
}

TEST_F(TcEgressTest, Ipv6FragmentIsNotLookedUp)
{
    const svr_session_key key = v6Key(IPPROTO_UDP, 1000, 2000);
    addSession(key, sessionValue(kDscpEf));
    const Bytes in = PacketBuilder()
                         .eth(kGatewayMac, kRouterMac)
                         .ipv6({.src = kRouterV6, .dst = kPeerV6})
                         .ipv6Fragment({.offset = 0, .more_fragments = true, .id = 9})
                         .udp({.src_port = 1000, .dst_port = 2000})
                         .payload(Bytes(64, 1))
                         .build();

    expectUnchanged(in);
    EXPECT_EQ(session(key).packets, 0u);
}

TEST_F(TcEgressTest, Ipv6ExtensionHeadersAreFollowed)
{
    const svr_session_key key = v6Key(IPPROTO_TCP, 443, 50000);
    addSession(key, sessionValue(kDscpEf));
    auto frame = [](std::uint8_t traffic_class) {
        return PacketBuilder()
            .eth(kGatewayMac, kRouterMac)
            .ipv6({.src = kRouterV6, .dst = kPeerV6, .traffic_class = traffic_class})
            .ipv6Extension({.type = kIpv6HopByHop, .body = {}})
            .ipv6Extension({.type = kIpv6DestOptions, .body = Bytes(14, 0)})
            .tcp({.src_port = 443, .dst_port = 50000, .flags = kTcpSyn})
            .build();
    };

    expectRewritten(frame(0), frame(kDscpEf << 2));
    EXPECT_EQ(session(key).packets, 1u);
    EXPECT_EQ(session(key).tcp_state, SVR_TCP_SEEN_SYN);
}

TEST_F(TcEgressTest, NonIpFrameIsOnlyAccounted)
{
    const Bytes arp = PacketBuilder()
                          .eth(kGatewayMac, kRouterMac, kEtherTypeArp)
                          .payload(Bytes(28, 0x01))
                          .build();

    expectUnchanged(arp);
    expectAccounted(arp, 0);
}

TEST_F(TcEgressTest, SessionCountersAddUpOverRepeatedRuns)
{
    const svr_session_key key = v4Key(IPPROTO_TCP, 22, 50000);
    addSession(key, sessionValue(kDscpEf));
    const Bytes in = v4Tcp(0);
    const std::uint64_t before = monotonicNs();

    // test-run repeats the program on one skb: the first run rewrites the DSCP, the later
    // runs already see it set and do not count it again.
    RunResult result = run(in, {}, /*repeat=*/5);
    const std::uint64_t after = monotonicNs();
    ASSERT_EQ(result.error, 0);
    EXPECT_EQ(result.frame, v4Tcp(kDscpEf << 2)) << hexDiff(v4Tcp(kDscpEf << 2), result.frame);

    const svr_session_value value = session(key);
    EXPECT_EQ(value.packets, 5u);
    EXPECT_EQ(value.bytes, 5 * in.size());
    EXPECT_GE(value.last_seen_ns, before);
    EXPECT_LE(value.last_seen_ns, after);
    const svr_stats counted = stats(kLoopbackIfindex);
    EXPECT_EQ(counted.tc_local_packets, 5u);
    EXPECT_EQ(counted.tc_local_bytes, 5 * in.size());
    EXPECT_EQ(counted.tc_dscp_marked, 1u);
}

TEST_F(TcEgressTest, KernelForwardedPacketIsCountedApartAndNotTakenForALocalSession)
{
    // The same tuple as a local session: a packet that arrived on an interface (the kernel
    // forwards it) is not the router's own traffic, so it neither marks nor counts there.
    const svr_session_key key = v4Key(IPPROTO_TCP, 22, 50000);
    addSession(key, sessionValue(kDscpEf));
    const Bytes in = v4Tcp(0);
    __sk_buff ctx{};
    ctx.ingress_ifindex = 7;

    expectUnchanged(in, ctx);
    const svr_stats counted = stats(kLoopbackIfindex);
    EXPECT_EQ(counted.tc_forwarded_packets, 1u);
    EXPECT_EQ(counted.tc_forwarded_bytes, in.size());
    EXPECT_EQ(counted.tc_local_packets, 0u);
    EXPECT_EQ(counted.tc_dscp_marked, 0u);
    EXPECT_EQ(session(key).packets, 0u);
}

TEST_F(TcEgressTest, HitLeavesControllerFieldsAlone)
{
    const svr_session_key key = v4Key(IPPROTO_TCP, 22, 50000);
    const svr_session_value installed = sessionValue(kDscpEf);
    addSession(key, installed);
    ASSERT_EQ(run(v4Tcp(0)).error, 0);

    svr_session_value value = session(key);
    EXPECT_NE(value.last_seen_ns, 0u);
    // Blank what the data path owns; everything else must be as installed.
    value.last_seen_ns = 0;
    value.packets = 0;
    value.bytes = 0;
    value.tcp_state = 0;
    EXPECT_EQ(std::memcmp(&value, &installed, sizeof(value)), 0);
}

TEST_F(TcEgressTest, TcpStateBitsFollowTheFlags)
{
    const svr_session_key key = v4Key(IPPROTO_TCP, 22, 50000);
    addSession(key, sessionValue(SVR_DSCP_KEEP));
    struct Step {
        std::uint8_t flags;
        std::uint8_t state_after;
    };
    const Step steps[] = {
        {kTcpSyn, SVR_TCP_SEEN_SYN},
        {kTcpSyn | kTcpAck, SVR_TCP_SEEN_SYN}, // SYN-ACK: not yet an established handshake
        {kTcpAck, SVR_TCP_SEEN_SYN | SVR_TCP_SEEN_ACK},
        {kTcpAck | kTcpPsh, SVR_TCP_SEEN_SYN | SVR_TCP_SEEN_ACK},
        {kTcpFin | kTcpAck, SVR_TCP_SEEN_SYN | SVR_TCP_SEEN_ACK | SVR_TCP_SEEN_FIN},
        {kTcpRst, SVR_TCP_SEEN_SYN | SVR_TCP_SEEN_ACK | SVR_TCP_SEEN_FIN | SVR_TCP_SEEN_RST},
    };
    std::uint64_t packets = 0;
    for (const Step& step : steps) {
        SCOPED_TRACE("tcp flags " + std::to_string(step.flags));
        ASSERT_EQ(run(v4Tcp(0, step.flags)).error, 0);
        const svr_session_value value = session(key);
        EXPECT_EQ(value.tcp_state, step.state_after);
        EXPECT_EQ(value.packets, ++packets);
    }
}

TEST_F(TcEgressTest, TcpStateBitsAreOnlyOredIn)
{
    const svr_session_key key = v4Key(IPPROTO_TCP, 22, 50000);
    svr_session_value installed = sessionValue(SVR_DSCP_KEEP);
    installed.tcp_state = SVR_TCP_SEEN_FIN;
    addSession(key, installed);

    ASSERT_EQ(run(v4Tcp(0, kTcpRst | kTcpAck)).error, 0);
    EXPECT_EQ(session(key).tcp_state, SVR_TCP_SEEN_FIN | SVR_TCP_SEEN_RST | SVR_TCP_SEEN_ACK);
    ASSERT_EQ(run(v4Tcp(0, kTcpSyn)).error, 0);
    EXPECT_EQ(session(key).tcp_state,
              SVR_TCP_SEEN_FIN | SVR_TCP_SEEN_RST | SVR_TCP_SEEN_ACK | SVR_TCP_SEEN_SYN);
}

TEST_F(TcEgressTest, UdpSessionHasNoTcpState)
{
    const svr_session_key key = v4Key(IPPROTO_UDP, 1000, 2000);
    addSession(key, sessionValue(SVR_DSCP_KEEP));
    ASSERT_EQ(run(v4Frame().udp({.src_port = 1000, .dst_port = 2000}).build()).error, 0);
    EXPECT_EQ(session(key).tcp_state, 0u);
    EXPECT_EQ(session(key).packets, 1u);
}

TEST_F(TcEgressTest, DefaultDeviceIsLoopbackAndItsSlotCounts)
{
    const Bytes in = v4Tcp(0);
    RunResult result = run(in);
    ASSERT_EQ(result.error, 0);
    EXPECT_EQ(result.ctx_out.ifindex, kLoopbackIfindex);

    expectAccounted(in, 0, kLoopbackIfindex);
    EXPECT_EQ(tcPacketsAllSlots(), 1u);
}

// Tags the stack keeps out of the frame (VLAN TX offload) reach the program as
// skb->vlan_tci; test-run cannot set it, so a shim pushes them and tail-calls the program.
class TcEgressOffloadedVlanTest : public TcEgressTest {
protected:
    void SetUp() override
    {
        TcEgressTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) {
            return;
        }
        shim_.reset(svr_test_tc_vlan_shim__open_and_load());
        ASSERT_TRUE(shim_) << "vlan shim: " << std::strerror(errno);
        const std::uint32_t slot = 0;
        const int tc_fd = bpf_program__fd(skel_->progs.svr_tc_egress);
        ASSERT_EQ(bpf_map__update_elem(shim_->maps.next, &slot, sizeof(slot), &tc_fd,
                                       sizeof(tc_fd), BPF_ANY),
                  0);
    }

    // Pushes `vids` (first one ends up innermost) as offloaded tags, then runs svr_tc_egress.
    RunResult runWithOffloadedTags(const Bytes& frame, std::initializer_list<std::uint16_t> vids)
    {
        std::size_t i = 0;
        for (std::uint16_t vid : vids) {
            shim_->bss->push_vids[i++] = vid;
        }
        RunResult result = runProgram(bpf_program__fd(shim_->progs.push_offloaded_tags), frame);
        EXPECT_EQ(result.error, 0) << std::strerror(-result.error);
        EXPECT_EQ(result.verdict, static_cast<std::uint32_t>(TC_ACT_OK))
            << "0x5f: the shim's push or tail call failed";
        return result;
    }

    VlanShimSkeleton shim_;
};

TEST_F(TcEgressOffloadedVlanTest, OffloadedTagIsTheVid)
{
    const svr_session_key tagged = v4Key(IPPROTO_UDP, 1000, 2000, /*vlan=*/100);
    const svr_session_key untagged = v4Key(IPPROTO_UDP, 1000, 2000, /*vlan=*/0);
    addSession(tagged, sessionValue(kDscpEf));
    addSession(untagged, sessionValue(kDscpAf41));
    auto frame = [](std::uint8_t tos) {
        return v4Frame(tos).udp({.src_port = 1000, .dst_port = 2000}).build();
    };

    // The offloaded tag is not part of the frame test-run hands back.
    RunResult result = runWithOffloadedTags(frame(0), {100});
    EXPECT_EQ(result.frame, frame(kDscpEf << 2)) << hexDiff(frame(kDscpEf << 2), result.frame);
    EXPECT_EQ(session(tagged).packets, 1u);
    EXPECT_EQ(session(tagged).bytes, frame(0).size());
    EXPECT_EQ(session(untagged).packets, 0u);
    expectAccounted(frame(0), 1);
}

TEST_F(TcEgressOffloadedVlanTest, OffloadedTagIsOuterToTheTagInTheFrame)
{
    const svr_session_key outer = v6Key(IPPROTO_TCP, 22, 50000, /*vlan=*/300);
    const svr_session_key inner = v6Key(IPPROTO_TCP, 22, 50000, /*vlan=*/200);
    addSession(outer, sessionValue(kDscpEf));
    addSession(inner, sessionValue(kDscpAf41));
    auto frame = [](std::uint8_t traffic_class) {
        return PacketBuilder()
            .eth(kGatewayMac, kRouterMac)
            .vlan(200)
            .ipv6({.src = kRouterV6, .dst = kPeerV6, .traffic_class = traffic_class})
            .tcp({.src_port = 22, .dst_port = 50000, .flags = kTcpSyn})
            .build();
    };

    // Two pushes onto the untagged frame: 200 moves into the frame, 300 stays offloaded.
    const Bytes untagged = PacketBuilder()
                               .eth(kGatewayMac, kRouterMac)
                               .ipv6({.src = kRouterV6, .dst = kPeerV6})
                               .tcp({.src_port = 22, .dst_port = 50000, .flags = kTcpSyn})
                               .build();
    RunResult result = runWithOffloadedTags(untagged, {200, 300});
    EXPECT_EQ(result.frame, frame(kDscpEf << 2)) << hexDiff(frame(kDscpEf << 2), result.frame);
    EXPECT_EQ(session(outer).packets, 1u);
    EXPECT_EQ(session(outer).tcp_state, SVR_TCP_SEEN_SYN);
    EXPECT_EQ(session(inner).packets, 0u);
}

TEST_F(TcEgressOffloadedVlanTest, OffloadedTagPlusTwoInFrameTagsIsLeftAlone)
{
    addSession(v4Key(IPPROTO_UDP, 1000, 2000, /*vlan=*/100), sessionValue(kDscpEf));
    addSession(v4Key(IPPROTO_UDP, 1000, 2000, /*vlan=*/300), sessionValue(kDscpEf));
    const Bytes in = PacketBuilder()
                         .eth(kGatewayMac, kRouterMac)
                         .vlan(300, kEtherTypeQinQ)
                         .vlan(200)
                         .ipv4({.src = kRouterV4, .dst = kPeerV4})
                         .udp({.src_port = 1000, .dst_port = 2000})
                         .build();

    RunResult result = runWithOffloadedTags(in, {100});
    EXPECT_EQ(result.frame, in) << hexDiff(in, result.frame);
    EXPECT_EQ(session(v4Key(IPPROTO_UDP, 1000, 2000, 100)).packets, 0u);
    EXPECT_EQ(session(v4Key(IPPROTO_UDP, 1000, 2000, 300)).packets, 0u);
    expectAccounted(in, 0);
}

// Devices with chosen ifindexes exist only in a private namespace, so these cases enter one.
class TcEgressNetnsTest : public TcEgressTest {
protected:
    void SetUp() override
    {
        TcEgressTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) {
            return;
        }
        netns_ = std::make_unique<PrivateNetns>();
        ASSERT_TRUE(netns_->entered()) << "unshare(CLONE_NEWNET): " << std::strerror(errno);
        // A veth pair: two devices whose ifindexes the test picks (one past SVR_MAX_IFINDEX).
        ASSERT_TRUE(runIp({"link", "add", "tc0", "index", std::to_string(kLargeIfindex), "type",
                           "veth", "peer", "name", "tc1", "index",
                           std::to_string(kSmallIfindex)}));
    }
    void TearDown() override { netns_.reset(); }

    static constexpr std::uint32_t kSmallIfindex = 7;
    static constexpr std::uint32_t kLargeIfindex = SVR_MAX_IFINDEX + 904;
    static_assert(kLargeIfindex >= SVR_MAX_IFINDEX);
    std::unique_ptr<PrivateNetns> netns_;
};

TEST_F(TcEgressNetnsTest, CountsInTheEgressInterfacesStatsSlot)
{
    constexpr std::uint32_t kSlot = 42;
    setStatsSlot(*skel_, kSmallIfindex, kSlot);
    const Bytes in = v4Tcp(0);
    __sk_buff ctx{};
    ctx.ifindex = kSmallIfindex;
    RunResult result = run(in, ctx);
    ASSERT_EQ(result.error, 0);
    EXPECT_EQ(result.ctx_out.ifindex, kSmallIfindex);

    expectAccounted(in, 0, kSlot);
    EXPECT_EQ(tcPacketsAllSlots(), 1u);
}

TEST_F(TcEgressNetnsTest, InterfaceWithoutAStatsSlotCountsInSlotZero)
{
    const Bytes in = v4Tcp(0);
    __sk_buff ctx{};
    ctx.ifindex = kSmallIfindex; // no ifaces entry: svr never attached it
    RunResult result = run(in, ctx);
    ASSERT_EQ(result.error, 0);

    expectAccounted(in, 0, /*slot=*/0);
    EXPECT_EQ(tcPacketsAllSlots(), 1u);
}

TEST_F(TcEgressNetnsTest, IfindexPastTheTableSharesSlotZero)
{
    const svr_session_key key = v4Key(IPPROTO_TCP, 22, 50000);
    addSession(key, sessionValue(kDscpEf));
    const Bytes in = v4Tcp(0);
    __sk_buff ctx{};
    ctx.ifindex = kLargeIfindex;
    RunResult result = run(in, ctx);
    ASSERT_EQ(result.error, 0);
    EXPECT_EQ(result.ctx_out.ifindex, kLargeIfindex);
    EXPECT_EQ(result.frame, v4Tcp(kDscpEf << 2));

    expectAccounted(in, 1, /*slot=*/0);
    EXPECT_EQ(tcPacketsAllSlots(), 1u);
    EXPECT_EQ(session(key).packets, 1u);
}

TEST_F(TcEgressNetnsTest, UnknownIfindexIsRefusedByTheKernel)
{
    __sk_buff ctx{};
    ctx.ifindex = kSmallIfindex + 1;
    EXPECT_EQ(run(v4Tcp(0), ctx).error, -ENODEV);
    EXPECT_EQ(tcPacketsAllSlots(), 0u);
}

// Tripwire for the tagged variants below: if the kernel starts accepting these, run them
// untagged too.
TEST_F(TcEgressTest, KernelRefusesUntaggedFramesCutInsideTheIpHeader)
{
    EXPECT_EQ(run(truncated(v4Tcp(0), kIpv4Offset + 19)).error, -EINVAL);
    EXPECT_EQ(run(truncated(PacketBuilder()
                                .eth(kGatewayMac, kRouterMac)
                                .ipv6({.src = kRouterV6, .dst = kPeerV6})
                                .build(),
                            14 + 39))
                  .error,
              -EINVAL);
    EXPECT_EQ(run(Bytes(13, 0)).error, -EINVAL) << "shorter than an Ethernet header";
    EXPECT_EQ(tcPacketsAllSlots(), 0u);
}

// Malformed or cut frames: each would hit a DSCP-rewriting session if it were parsed, so an
// unchanged frame and an untouched session prove the program left it alone.
struct MalformedCase {
    const char* name;
    Bytes frame;
};

void PrintTo(const MalformedCase& c, std::ostream* out)
{
    *out << c.name << "\n" << hexDump(c.frame);
}

Bytes cutAt(Bytes frame, std::size_t length)
{
    return truncated(std::move(frame), length);
}

std::vector<MalformedCase> malformedCases()
{
    const Bytes tcp = v4Tcp(0);
    const Bytes udp6 = PacketBuilder()
                           .eth(kGatewayMac, kRouterMac)
                           .ipv6({.src = kRouterV6, .dst = kPeerV6})
                           .udp({.src_port = 1000, .dst_port = 2000})
                           .build();
    const Bytes tagged_tcp = PacketBuilder()
                                 .eth(kGatewayMac, kRouterMac)
                                 .vlan(5)
                                 .ipv4({.src = kRouterV4, .dst = kPeerV4})
                                 .tcp({.src_port = 22, .dst_port = 50000})
                                 .build();
    const Bytes tagged_udp6 = PacketBuilder()
                                  .eth(kGatewayMac, kRouterMac)
                                  .vlan(5)
                                  .ipv6({.src = kRouterV6, .dst = kPeerV6})
                                  .udp({.src_port = 1000, .dst_port = 2000})
                                  .build();
    auto v4With = [](Ipv4Header header) {
        header.src = kRouterV4;
        header.dst = kPeerV4;
        return PacketBuilder()
            .eth(kGatewayMac, kRouterMac)
            .ipv4(header)
            .tcp({.src_port = 22, .dst_port = 50000, .seq = 1, .ack = 2})
            .payload(Bytes(24, 0x5a))
            .build();
    };
    Bytes too_many_extensions;
    {
        PacketBuilder builder;
        builder.eth(kGatewayMac, kRouterMac).ipv6({.src = kRouterV6, .dst = kPeerV6});
        for (int i = 0; i < kProgramIpv6ExtensionLimit + 1; ++i) {
            builder.ipv6Extension({.type = kIpv6DestOptions});
        }
        too_many_extensions = builder.udp({.src_port = 1000, .dst_port = 2000}).build();
    }
    return {
        {"VlanTagCut", cutAt(PacketBuilder().eth(kGatewayMac, kRouterMac).vlan(5).ipv4({}).build(),
                             16)},
        // Behind a tag: test-run itself refuses an untagged frame cut inside its IP header.
        {"Ipv4HeaderCut", cutAt(tagged_tcp, kIpv4Offset + 4 + 19)},
        // Read with IHL 4, the TCP header would start at the destination address, giving
        // ports 0xc633/0x6407 and (from the ACK number) data offset 5: a session matches.
        {"Ipv4IhlBelowFive",
         PacketBuilder()
             .eth(kGatewayMac, kRouterMac)
             .ipv4({.src = kRouterV4, .dst = kPeerV4, .ihl = 4})
             .tcp({.src_port = 22, .dst_port = 50000, .seq = 1, .ack = 0x50000000})
             .build()},
        {"Ipv4IhlPastFrame", cutAt(v4With({.options = Bytes(40, 1)}), kIpv4Offset + 56)},
        {"Ipv4WrongVersion", v4With({.version = 6})},
        {"TcpHeaderCut", cutAt(tcp, kIpv4Offset + 20 + 19)},
        {"TcpDataOffsetBelowFive",
         v4Frame().tcp({.src_port = 22, .dst_port = 50000, .data_offset = 4}).build()},
        {"Ipv6HeaderCut", cutAt(tagged_udp6, 14 + 4 + 39)},
        {"Ipv6WrongVersion",
         PacketBuilder()
             .eth(kGatewayMac, kRouterMac)
             .ipv6({.src = kRouterV6, .dst = kPeerV6, .version = 4})
             .udp({.src_port = 1000, .dst_port = 2000})
             .build()},
        {"Ipv6ExtensionHeaderCut",
         cutAt(PacketBuilder()
                   .eth(kGatewayMac, kRouterMac)
                   .ipv6({.src = kRouterV6, .dst = kPeerV6})
                   .ipv6Extension({.type = kIpv6HopByHop})
                   .udp({.src_port = 1000, .dst_port = 2000})
                   .build(),
               14 + 40 + 1)},
        {"Ipv6TooManyExtensionHeaders", too_many_extensions},
        {"UdpHeaderCut", cutAt(udp6, 14 + 40 + 7)},
        {"IcmpHeaderCut", cutAt(v4Frame().icmp(icmpv4EchoRequest(0x4242, 1)).build(),
                                kIpv4Offset + 20 + 7)},
    };
}

class TcEgressMalformedTest : public TcEgressTest,
                              public testing::WithParamInterface<MalformedCase> {};

TEST_P(TcEgressMalformedTest, IsLeftAloneAndCounted)
{
    const svr_session_key sessions[] = {
        v4Key(IPPROTO_TCP, 22, 50000),    v6Key(IPPROTO_UDP, 1000, 2000),
        v4Key(IPPROTO_ICMP, 0x4242, 0),   v4Key(IPPROTO_TCP, 22, 50000, 5),
        v4Key(IPPROTO_UDP, 0, 0, 5),      v6Key(IPPROTO_UDP, 1000, 2000, 5),
        v4Key(IPPROTO_TCP, 0xc633, 0x6407),
        v6Key(kIpv6DestOptions, 0, 0), // what a parser that gave up on the chain would use
    };
    for (const svr_session_key& key : sessions) {
        addSession(key, sessionValue(kDscpEf));
    }
    const Bytes& frame = GetParam().frame;

    expectUnchanged(frame);
    expectAccounted(frame, 0);
    for (const svr_session_key& key : sessions) {
        EXPECT_EQ(session(key).packets, 0u);
    }
}

INSTANTIATE_TEST_SUITE_P(Frames, TcEgressMalformedTest, testing::ValuesIn(malformedCases()),
                         [](const testing::TestParamInfo<MalformedCase>& info) {
                             return std::string(info.param.name);
                         });

} // namespace
} // namespace svr::test::tc

// The rig's BPF programs through BPF_PROG_TEST_RUN: the generator must write every header
// field (live frames come back with stale headers) with checksums that verify, step
// through its flows in order and pace; the sink must count by slot and drop.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

// The contract first: the skeletons refer to its structs.
#include "bench_rig.h"

#include "bench_gen.skel.h"
#include "bench_sink.skel.h"

namespace {

struct GenDeleter {
    void operator()(bench_gen* s) const { bench_gen__destroy(s); }
};
struct SinkDeleter {
    void operator()(bench_sink* s) const { bench_sink__destroy(s); }
};

constexpr std::array<std::uint8_t, 6> kDstMac{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
constexpr std::array<std::uint8_t, 6> kSrcMac{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
constexpr std::uint32_t kFirstSrc = 0x0afb0001; // 10.251.0.1
constexpr std::uint32_t kDst = 0x0afc0001;      // 10.252.0.1
constexpr std::size_t kHeaders = sizeof(ethhdr) + sizeof(iphdr) + sizeof(udphdr);

// RFC 1071 sum over bytes, independent of the BPF program's arithmetic.
std::uint32_t sum16(const std::uint8_t* bytes, std::size_t length, std::uint32_t sum = 0)
{
    for (std::size_t i = 0; i + 1 < length; i += 2) {
        sum += static_cast<std::uint32_t>(bytes[i] << 8 | bytes[i + 1]);
    }
    if (length % 2) {
        sum += static_cast<std::uint32_t>(bytes[length - 1] << 8);
    }
    return sum;
}

std::uint16_t fold(std::uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(sum);
}

struct RunResult {
    std::uint32_t verdict = 0;
    std::vector<std::uint8_t> out;
};

RunResult runOnce(int programFd, std::vector<std::uint8_t> frame)
{
    RunResult run;
    run.out.resize(frame.size());
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_out = run.out.data(),
                .data_size_in = static_cast<std::uint32_t>(frame.size()),
                .data_size_out = static_cast<std::uint32_t>(run.out.size()), .repeat = 1);
    int err = bpf_prog_test_run_opts(programFd, &opts);
    EXPECT_EQ(err, 0) << "BPF_PROG_TEST_RUN failed: " << strerror(errno);
    run.verdict = opts.retval;
    run.out.resize(opts.data_size_out);
    return run;
}

class GeneratorTest : public ::testing::Test {
protected:
    void load(std::uint32_t flows, std::uint32_t portsPerAddr)
    {
        skeleton_.reset(bench_gen__open());
        ASSERT_TRUE(skeleton_) << "open bench_gen: " << strerror(errno);
        auto& cfg = skeleton_->rodata->cfg;
        std::memcpy(cfg.dst_mac, kDstMac.data(), 6);
        std::memcpy(cfg.src_mac, kSrcMac.data(), 6);
        cfg.first_src_addr = htonl(kFirstSrc);
        cfg.dst_addr = htonl(kDst);
        cfg.first_src_port = 10000;
        cfg.dst_port = 9;
        cfg.flows = flows;
        cfg.ports_per_addr = portsPerAddr;
        cfg.ttl = 64;
        ASSERT_EQ(bench_gen__load(skeleton_.get()), 0) << "load bench_gen";
    }
    int fd() const { return bpf_program__fd(skeleton_->progs.bench_gen); }

    // A recycled frame: every header byte stale (0xa5), payload zero as the tool sends it.
    static std::vector<std::uint8_t> staleFrame(std::size_t length)
    {
        std::vector<std::uint8_t> frame(length, 0);
        std::memset(frame.data(), 0xa5, std::min(length, kHeaders));
        return frame;
    }

    std::unique_ptr<bench_gen, GenDeleter> skeleton_;
};

TEST_F(GeneratorTest, WritesEveryHeaderFieldWithValidChecksums)
{
    load(1, 1);
    RunResult run = runOnce(fd(), staleFrame(60));
    ASSERT_EQ(run.verdict, static_cast<std::uint32_t>(XDP_TX));
    ASSERT_EQ(run.out.size(), 60u);
    const std::uint8_t* p = run.out.data();
    EXPECT_EQ(std::memcmp(p, kDstMac.data(), 6), 0);
    EXPECT_EQ(std::memcmp(p + 6, kSrcMac.data(), 6), 0);
    EXPECT_EQ(p[12] << 8 | p[13], ETH_P_IP);

    const std::uint8_t* ip = p + sizeof(ethhdr);
    EXPECT_EQ(ip[0], 0x45);                   // version 4, IHL 5
    EXPECT_EQ(ip[1], 0);                      // TOS
    EXPECT_EQ(ip[2] << 8 | ip[3], 60 - 14);   // total length
    EXPECT_EQ(ip[6] << 8 | ip[7], 0);         // no fragment bits
    EXPECT_EQ(ip[8], 64);                     // TTL
    EXPECT_EQ(ip[9], IPPROTO_UDP);
    std::uint32_t src, dst;
    std::memcpy(&src, ip + 12, 4);
    std::memcpy(&dst, ip + 16, 4);
    EXPECT_EQ(ntohl(src), kFirstSrc);
    EXPECT_EQ(ntohl(dst), kDst);
    EXPECT_EQ(fold(sum16(ip, 20)), 0xffff) << "IPv4 header checksum does not verify";

    const std::uint8_t* udp = ip + sizeof(iphdr);
    const std::size_t udpLength = 60 - 14 - 20;
    EXPECT_EQ(udp[0] << 8 | udp[1], 10000);
    EXPECT_EQ(udp[2] << 8 | udp[3], 9);
    EXPECT_EQ(static_cast<std::size_t>(udp[4] << 8 | udp[5]), udpLength);
    std::uint32_t pseudo = sum16(ip + 12, 8) + IPPROTO_UDP + static_cast<std::uint32_t>(udpLength);
    EXPECT_NE(udp[6] << 8 | udp[7], 0) << "UDP checksum left out";
    EXPECT_EQ(fold(sum16(udp, udpLength, pseudo)), 0xffff) << "UDP checksum does not verify";
}

TEST_F(GeneratorTest, StampedFramesCarryTheSendTimeInsideAValidUdpChecksum)
{
    load(1, 1);
    skeleton_->bss->stamp_latency = 1;
    timespec before{};
    clock_gettime(CLOCK_MONOTONIC, &before);
    RunResult run = runOnce(fd(), staleFrame(60));
    ASSERT_EQ(run.verdict, static_cast<std::uint32_t>(XDP_TX));
    std::uint64_t stamp;
    std::memcpy(&stamp, run.out.data() + kHeaders, sizeof(stamp));
    const std::uint64_t beforeNs =
        static_cast<std::uint64_t>(before.tv_sec) * 1'000'000'000 + before.tv_nsec;
    EXPECT_GE(stamp, beforeNs);
    EXPECT_LT(stamp - beforeNs, 1'000'000'000u);
    const std::uint8_t* ip = run.out.data() + sizeof(ethhdr);
    std::uint32_t pseudo = sum16(ip + 12, 8) + IPPROTO_UDP + 26;
    EXPECT_EQ(fold(sum16(ip + 20, 26, pseudo)), 0xffff) << "UDP checksum does not cover the stamp";
}

TEST_F(GeneratorTest, KeepsLengthFieldsRightForLargeFrames)
{
    load(1, 1);
    RunResult run = runOnce(fd(), staleFrame(1514));
    ASSERT_EQ(run.verdict, static_cast<std::uint32_t>(XDP_TX));
    const std::uint8_t* ip = run.out.data() + sizeof(ethhdr);
    EXPECT_EQ(ip[2] << 8 | ip[3], 1500);
    EXPECT_EQ(fold(sum16(ip, 20)), 0xffff);
    const std::uint8_t* udp = ip + sizeof(iphdr);
    std::uint32_t pseudo = sum16(ip + 12, 8) + IPPROTO_UDP + 1480;
    EXPECT_EQ(fold(sum16(udp, 1480, pseudo)), 0xffff);
}

TEST_F(GeneratorTest, StepsSourcePortThenSourceAddressAndWraps)
{
    load(5, 2);
    const std::array<std::pair<std::uint32_t, std::uint16_t>, 6> expected{{
        {kFirstSrc, 10000}, {kFirstSrc, 10001}, {kFirstSrc + 1, 10000},
        {kFirstSrc + 1, 10001}, {kFirstSrc + 2, 10000}, {kFirstSrc, 10000}}};
    for (const auto& [address, port] : expected) {
        RunResult run = runOnce(fd(), staleFrame(60));
        ASSERT_EQ(run.verdict, static_cast<std::uint32_t>(XDP_TX));
        std::uint32_t src;
        std::memcpy(&src, run.out.data() + 14 + 12, 4);
        EXPECT_EQ(ntohl(src), address);
        EXPECT_EQ(run.out[34] << 8 | run.out[35], port);
    }
    EXPECT_EQ(skeleton_->bss->frames_built, expected.size());
}

TEST_F(GeneratorTest, PacingDropsFramesBeforeTheirTime)
{
    load(1, 1);
    skeleton_->bss->tx_interval_ns16 = 16ull * 3'600'000'000'000; // one frame an hour
    EXPECT_EQ(runOnce(fd(), staleFrame(60)).verdict, static_cast<std::uint32_t>(XDP_TX));
    EXPECT_EQ(runOnce(fd(), staleFrame(60)).verdict, static_cast<std::uint32_t>(XDP_DROP));
    EXPECT_EQ(skeleton_->bss->frames_built, 1u);
}

TEST_F(GeneratorTest, AbortsAndCountsFramesTooShortForTheHeaders)
{
    load(1, 1);
    EXPECT_EQ(runOnce(fd(), staleFrame(kHeaders - 1)).verdict,
              static_cast<std::uint32_t>(XDP_ABORTED));
    EXPECT_EQ(skeleton_->bss->frames_too_short, 1u);
    EXPECT_EQ(skeleton_->bss->frames_built, 0u);
}

class SinkTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        skeleton_.reset(bench_sink__open());
        ASSERT_TRUE(skeleton_) << "open bench_sink: " << strerror(errno);
        skeleton_->rodata->original_dst = htonl(kDst);
        ASSERT_EQ(bench_sink__load(skeleton_.get()), 0) << "load bench_sink";
    }

    std::uint64_t packets(std::uint32_t slot)
    {
        int cpus = libbpf_num_possible_cpus();
        std::vector<bench_sink_count> perCpu(static_cast<std::size_t>(cpus));
        EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skeleton_->maps.sink_counters), &slot,
                                      perCpu.data()),
                  0);
        std::uint64_t total = 0;
        for (const auto& c : perCpu) {
            total += c.packets;
        }
        return total;
    }

    static std::vector<std::uint8_t> udpFrame(std::uint32_t dst)
    {
        std::vector<std::uint8_t> frame(60, 0);
        frame[12] = 0x08; // IPv4
        frame[14] = 0x45;
        frame[14 + 9] = IPPROTO_UDP;
        std::uint32_t be = htonl(dst);
        std::memcpy(frame.data() + 14 + 16, &be, 4);
        return frame;
    }

    std::unique_ptr<bench_sink, SinkDeleter> skeleton_;
};

TEST_F(SinkTest, CountsUntouchedNatedAndOtherFramesApartAndDropsThem)
{
    int fd = bpf_program__fd(skeleton_->progs.bench_sink);
    EXPECT_EQ(runOnce(fd, udpFrame(kDst)).verdict, static_cast<std::uint32_t>(XDP_DROP));
    EXPECT_EQ(runOnce(fd, udpFrame(0x0afa0201)).verdict, static_cast<std::uint32_t>(XDP_DROP));
    EXPECT_EQ(runOnce(fd, udpFrame(0x0afa0201)).verdict, static_cast<std::uint32_t>(XDP_DROP));
    std::vector<std::uint8_t> arp(60, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    EXPECT_EQ(runOnce(fd, arp).verdict, static_cast<std::uint32_t>(XDP_DROP));
    EXPECT_EQ(packets(BENCH_SINK_UDP4_ORIGINAL_DST), 1u);
    EXPECT_EQ(packets(BENCH_SINK_UDP4_REWRITTEN_DST), 2u);
    EXPECT_EQ(packets(BENCH_SINK_OTHER), 1u);
}

TEST_F(SinkTest, HistogramsTheLatencyOfStampedFramesOnly)
{
    int fd = bpf_program__fd(skeleton_->progs.bench_sink);
    EXPECT_EQ(runOnce(fd, udpFrame(kDst)).verdict, static_cast<std::uint32_t>(XDP_DROP));

    std::vector<std::uint8_t> stamped = udpFrame(kDst);
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    std::uint64_t stamp =
        static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec - 5000;
    std::memcpy(stamped.data() + kHeaders, &stamp, sizeof(stamp));
    EXPECT_EQ(runOnce(fd, stamped).verdict, static_cast<std::uint32_t>(XDP_DROP));

    int cpus = libbpf_num_possible_cpus();
    std::vector<std::uint64_t> perCpu(static_cast<std::size_t>(cpus));
    std::uint64_t samples = 0;
    std::uint32_t lowestSlot = BENCH_LATENCY_SLOTS;
    for (std::uint32_t slot = 0; slot < BENCH_LATENCY_SLOTS; ++slot) {
        ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(skeleton_->maps.sink_latency), &slot,
                                      perCpu.data()),
                  0);
        for (std::uint64_t count : perCpu) {
            samples += count;
            if (count) {
                lowestSlot = std::min(lowestSlot, slot);
            }
        }
    }
    EXPECT_EQ(samples, 1u) << "only the stamped frame has a latency";
    // 5000 ns = 0b1001110001000: highest bit 12, next two bits 00 -> slot 4 * 12 + 0.
    EXPECT_GE(lowestSlot, 48u);
    EXPECT_LT(lowestSlot, 4u * 30) << "latency beyond a second: stamp misread";
}

TEST_F(GeneratorTest, ReflectingSinkSendsTheFrameBackSwappedWithValidChecksums)
{
    load(1, 1);
    const RunResult generated = runOnce(fd(), staleFrame(60));
    ASSERT_EQ(generated.verdict, static_cast<std::uint32_t>(XDP_TX));
    const std::vector<std::uint8_t>& in = generated.out;

    std::unique_ptr<bench_sink, SinkDeleter> sink(bench_sink__open());
    ASSERT_TRUE(sink) << "open bench_sink: " << strerror(errno);
    sink->rodata->original_dst = htonl(kDst);
    sink->rodata->reflect = 1;
    ASSERT_EQ(bench_sink__load(sink.get()), 0) << "load bench_sink";
    const RunResult reflected = runOnce(bpf_program__fd(sink->progs.bench_sink), in);
    ASSERT_EQ(reflected.verdict, static_cast<std::uint32_t>(XDP_TX));

    // Expected: MACs, addresses and ports swapped, every other byte as it came.
    std::vector<std::uint8_t> expected = in;
    std::swap_ranges(expected.begin(), expected.begin() + 6, expected.begin() + 6);
    std::swap_ranges(expected.begin() + 26, expected.begin() + 30, expected.begin() + 30);
    std::swap_ranges(expected.begin() + 34, expected.begin() + 36, expected.begin() + 36);
    EXPECT_EQ(reflected.out, expected);
    const std::uint8_t* ip = reflected.out.data() + sizeof(ethhdr);
    EXPECT_EQ(fold(sum16(ip, 20)), 0xffff) << "IPv4 header checksum does not verify";
    const std::uint8_t* udp = ip + sizeof(iphdr);
    const std::size_t udpLength = 60 - 14 - 20;
    std::uint32_t pseudo = sum16(ip + 12, 8) + IPPROTO_UDP + static_cast<std::uint32_t>(udpLength);
    EXPECT_EQ(fold(sum16(udp, udpLength, pseudo)), 0xffff) << "UDP checksum does not verify";

    // Counted like any arrival; anything but IPv4 UDP is still dropped.
    std::vector<std::uint8_t> arp(60, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    EXPECT_EQ(runOnce(bpf_program__fd(sink->progs.bench_sink), arp).verdict,
              static_cast<std::uint32_t>(XDP_DROP));
}

TEST_F(SinkTest, PassProgramPasses)
{
    EXPECT_EQ(runOnce(bpf_program__fd(skeleton_->progs.bench_pass), udpFrame(kDst)).verdict,
              static_cast<std::uint32_t>(XDP_PASS));
}

} // namespace

#include "traffic.hpp"

#include <arpa/inet.h>
#include <time.h>

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_gen.skel.h"
#include "common/unique_fd.hpp"
#include "programs.hpp"

namespace svr::bench {
namespace {

struct GenDeleter {
    void operator()(bench_gen* skeleton) const { bench_gen__destroy(skeleton); }
};
using GenSkeleton = std::unique_ptr<bench_gen, GenDeleter>;
struct LinkDeleter {
    void operator()(bpf_link* link) const { bpf_link__destroy(link); }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

// Every XDP test run adds its program to the kernel's XDP dispatcher and removes it again,
// and each change waits for an RCU grace period: ~25 ms per run on this kernel, whatever
// the repeat count. While the program is attached somewhere the dispatcher only counts
// references, so it is attached (generic mode, through a link that dies with this process)
// to the namespace's loopback, which carries nothing in the generator's namespace.
Result<LinkPtr> holdInXdpDispatcher(const bpf_program* program)
{
    auto loopback = interfaceIndex("lo");
    if (!loopback) {
        return loopback.error();
    }
    LinkPtr link(bpf_program__attach_xdp(program, static_cast<int>(*loopback)));
    if (!link) {
        return Error::fromErrno(errno, "attach the generator to lo (keeps test runs fast)");
    }
    return link;
}

constexpr std::uint32_t kFcsBytes = 4;
constexpr std::uint32_t kMinFrameSize = 64;
constexpr std::uint32_t kMaxFrameSize = 1518;
// Program runs per test run: far more than any measurement needs; the run ends by signal.
constexpr std::uint32_t kRunsPerCall = 1u << 30;

std::int64_t monotonicNs()
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

struct CpuTimes {
    std::uint64_t busy = 0;
    bool valid = false;
};

// Busy jiffies of one CPU from /proc/stat: user+nice+system+irq+softirq.
CpuTimes readCpuTimes(int cpu)
{
    std::ifstream stat("/proc/stat");
    std::string line;
    std::string wanted = "cpu" + std::to_string(cpu);
    while (std::getline(stat, line)) {
        std::istringstream fields(line);
        std::string name;
        fields >> name;
        if (name != wanted) {
            continue;
        }
        std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
        fields >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
        return CpuTimes{user + nice + system + irq + softirq, static_cast<bool>(fields)};
    }
    return {};
}

// CPU time of one thread, from /proc/<tid>/schedstat (ns on CPU). Without
// CONFIG_IRQ_TIME_ACCOUNTING this includes softirqs served in the thread's context.
std::optional<std::uint64_t> readThreadCpuNs(int tid)
{
    std::ifstream schedstat("/proc/" + std::to_string(tid) + "/schedstat");
    std::uint64_t onCpuNs = 0;
    if (schedstat >> onCpuNs) {
        return onCpuNs;
    }
    return std::nullopt;
}

struct Snapshot {
    std::int64_t ns = 0;
    std::uint64_t sent = 0;
    std::array<bench_sink_count, BENCH_SINK_SLOTS> sink{};
    CpuTimes cpu;
    std::optional<std::uint64_t> threadNs;
    std::vector<std::uint64_t> latency;
};

// The smallest slot edge at or above `share` of the samples.
double percentileNs(const std::vector<std::uint64_t>& histogram, std::uint64_t total, double share)
{
    auto wanted = static_cast<std::uint64_t>(std::ceil(share * static_cast<double>(total)));
    std::uint64_t seen = 0;
    for (std::uint32_t slot = 0; slot < histogram.size(); ++slot) {
        seen += histogram[slot];
        if (seen >= wanted && seen > 0) {
            return latencySlotUpperNs(slot);
        }
    }
    return -1;
}

Result<GenSkeleton> loadGenerator(const FlowSet& flows)
{
    GenSkeleton skeleton(bench_gen__open());
    if (!skeleton) {
        return Error::fromErrno(errno, "open bench_gen");
    }
    auto& cfg = skeleton->rodata->cfg;
    std::copy(flows.dstMac.begin(), flows.dstMac.end(), cfg.dst_mac);
    std::copy(flows.srcMac.begin(), flows.srcMac.end(), cfg.src_mac);
    cfg.first_src_addr = htonl(flows.firstSrcAddr);
    cfg.dst_addr = htonl(flows.dstAddr);
    cfg.first_src_port = flows.firstSrcPort;
    cfg.dst_port = flows.dstPort;
    cfg.flows = flows.flows;
    cfg.ports_per_addr = flows.portsPerAddr;
    cfg.ttl = 64;
    if (int err = bench_gen__load(skeleton.get()); err) {
        return Error::fromErrno(err, "load bench_gen");
    }
    return skeleton;
}

Status validate(const SendPlan& plan)
{
    const FlowSet& f = plan.flowSet;
    if (f.flows == 0) {
        return Error::invalid("flows must be at least 1");
    }
    if (f.portsPerAddr == 0 || f.firstSrcPort + std::uint64_t{f.portsPerAddr} - 1 > 65535) {
        return Error::invalid("source ports overflow: first port + ports per address > 65536");
    }
    if (plan.frameSize < kMinFrameSize || plan.frameSize > kMaxFrameSize) {
        return Error::invalid("frame size must be 64..1518 bytes");
    }
    if (plan.seconds <= 0 || plan.warmupSeconds < 0 || plan.ratePps < 0) {
        return Error::invalid("durations and rate must be positive");
    }
    return {};
}

} // namespace

Result<std::array<bench_sink_count, BENCH_SINK_SLOTS>> readSinkCounters(const std::string& pin)
{
    UniqueFd map(bpf_obj_get(pin.c_str()));
    if (!map.valid()) {
        return Error::fromErrno(errno, "open sink counters " + pin);
    }
    int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) {
        return Error::fromErrno(cpus, "count possible CPUs");
    }
    std::array<bench_sink_count, BENCH_SINK_SLOTS> total{};
    std::vector<bench_sink_count> perCpu(static_cast<std::size_t>(cpus));
    for (std::uint32_t slot = 0; slot < BENCH_SINK_SLOTS; ++slot) {
        if (bpf_map_lookup_elem(map.get(), &slot, perCpu.data())) {
            return Error::fromErrno(errno, "read sink counters " + pin);
        }
        for (const auto& count : perCpu) {
            total[slot].packets += count.packets;
            total[slot].bytes += count.bytes;
        }
    }
    return total;
}

double latencySlotUpperNs(std::uint32_t slot)
{
    if (slot < 4) {
        return slot + 1;
    }
    std::uint32_t msb = slot / 4;
    std::uint32_t quarter = slot % 4;
    return std::ldexp(static_cast<double>(5 + quarter), static_cast<int>(msb) - 2);
}

Result<std::vector<std::uint64_t>> readSinkLatency(const std::string& pin)
{
    UniqueFd map(bpf_obj_get(pin.c_str()));
    if (!map.valid()) {
        return Error::fromErrno(errno, "open sink latency " + pin);
    }
    int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) {
        return Error::fromErrno(cpus, "count possible CPUs");
    }
    std::vector<std::uint64_t> histogram(BENCH_LATENCY_SLOTS, 0);
    std::vector<std::uint64_t> perCpu(static_cast<std::size_t>(cpus));
    for (std::uint32_t slot = 0; slot < BENCH_LATENCY_SLOTS; ++slot) {
        if (bpf_map_lookup_elem(map.get(), &slot, perCpu.data())) {
            return Error::fromErrno(errno, "read sink latency " + pin);
        }
        for (std::uint64_t count : perCpu) {
            histogram[slot] += count;
        }
    }
    return histogram;
}

Result<SendResult> sendAndMeasure(const SendPlan& plan)
{
    if (auto valid = validate(plan); !valid) {
        return valid.error();
    }
    auto ifindex = interfaceIndex(plan.interface);
    if (!ifindex) {
        return ifindex.error();
    }
    auto generator = loadGenerator(plan.flowSet);
    if (!generator) {
        return generator.error();
    }
    const bpf_program* program = (*generator)->progs.bench_gen;
    auto dispatcherAnchor = holdInXdpDispatcher(program);
    if (!dispatcherAnchor) {
        return dispatcherAnchor.error();
    }
    auto* bss = (*generator)->bss;
    bss->stamp_latency = plan.stampLatency ? 1 : 0;
    bss->tx_interval_ns16 =
        plan.ratePps > 0 ? static_cast<std::uint64_t>(std::llround(16e9 / plan.ratePps)) : 0;

    // The generator writes every header; the payload must start (and stays) zero.
    std::vector<std::uint8_t> frame(plan.frameSize - kFcsBytes, 0);
    xdp_md context{};
    context.data_end = static_cast<std::uint32_t>(frame.size());
    context.ingress_ifindex = *ifindex;
    std::uint32_t runsPerCall = plan.runsPerCall ? plan.runsPerCall : kRunsPerCall;
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame.data(),
                .data_size_in = static_cast<std::uint32_t>(frame.size()), .ctx_in = &context,
                .ctx_size_in = sizeof(context), .repeat = static_cast<int>(runsPerCall),
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

    auto snapshot = [&]() -> Result<Snapshot> {
        Snapshot s;
        auto sink = readSinkCounters(sinkCountersPin(plan.sinkPinDir));
        if (!sink) {
            return sink.error();
        }
        s.sink = *sink;
        if (plan.stampLatency) {
            auto latency = readSinkLatency(sinkLatencyPin(plan.sinkPinDir));
            if (!latency) {
                return latency.error();
            }
            s.latency = std::move(*latency);
        }
        if (plan.routerCpu) {
            s.cpu = readCpuTimes(*plan.routerCpu);
        }
        if (plan.routerThread) {
            s.threadNs = readThreadCpuNs(*plan.routerThread);
            if (!s.threadNs) {
                return Error::invalid("no schedstat for thread " +
                                      std::to_string(*plan.routerThread));
            }
        }
        s.sent = bss->frames_built;
        s.ns = monotonicNs();
        return s;
    };

    // One test run sends for the whole warm-up and window: every run syscall takes the
    // kernel's global XDP dispatcher mutex, which other processes' test runs hold across RCU
    // grace periods, and builds a fresh page pool. A second thread takes the snapshots and
    // ends the run with a signal (the live-frame loop returns EINTR on a pending signal).
    struct sigaction onStop{};
    onStop.sa_handler = [](int) {};
    sigemptyset(&onStop.sa_mask);
    onStop.sa_flags = 0; // no SA_RESTART: the run must return
    if (sigaction(SIGUSR1, &onStop, nullptr)) {
        return Error::fromErrno(errno, "install the stop signal handler");
    }

    const auto start = std::chrono::steady_clock::now();
    const auto windowStart =
        start + std::chrono::nanoseconds(static_cast<std::int64_t>(plan.warmupSeconds * 1e9));
    const auto end =
        windowStart + std::chrono::nanoseconds(static_cast<std::int64_t>(plan.seconds * 1e9));
    std::mutex lock;
    std::condition_variable wake;
    bool senderFailed = false;
    bool measurerReady = false;
    std::atomic<bool> stopping{false};
    std::atomic<bool> senderDone{false};
    std::optional<Result<Snapshot>> first, last;
    const pthread_t sender = pthread_self();

    std::thread measurer([&] {
        // Above the sender's real-time priority, or it would wait for the sender to yield.
        int policy = 0;
        sched_param param{};
        if (pthread_getschedparam(pthread_self(), &policy, &param) == 0 &&
            (policy == SCHED_FIFO || policy == SCHED_RR) &&
            param.sched_priority < sched_get_priority_max(policy)) {
            param.sched_priority += 1;
            pthread_setschedparam(pthread_self(), policy, &param);
        }
        {
            std::lock_guard guard(lock);
            measurerReady = true;
        }
        wake.notify_all();
        auto waitUntil = [&](std::chrono::steady_clock::time_point deadline) {
            std::unique_lock guard(lock);
            return !wake.wait_until(guard, deadline, [&] { return senderFailed; });
        };
        if (waitUntil(windowStart)) {
            first = snapshot();
            if (waitUntil(end)) {
                last = snapshot();
            }
        }
        stopping = true;
        while (!senderDone) {
            pthread_kill(sender, SIGUSR1);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    });

    {
        // Until the measurer runs above us, a same-priority sender would starve it.
        std::unique_lock guard(lock);
        wake.wait(guard, [&] { return measurerReady; });
    }
    std::optional<Error> sendError;
    while (!stopping) {
        if (bpf_prog_test_run_opts(bpf_program__fd(program), &run) && errno != EINTR) {
            sendError = Error::fromErrno(errno, "live-frame test run on " + plan.interface);
        } else if (bss->frames_too_short) {
            sendError = Error::invalid("generator frames too short for Ethernet+IPv4+UDP");
        }
        if (sendError) {
            std::lock_guard guard(lock);
            senderFailed = true;
            wake.notify_all();
            break;
        }
    }
    senderDone = true;
    measurer.join();
    if (sendError) {
        return *sendError;
    }
    if (!first || !last) {
        return Error::invalid("the measured window never ended");
    }
    if (!*first) {
        return first->error();
    }
    if (!*last) {
        return last->error();
    }

    const Snapshot& a = first->value();
    const Snapshot& b = last->value();
    SendResult result;
    result.seconds = static_cast<double>(b.ns - a.ns) / 1e9;
    result.sent = b.sent - a.sent;
    const auto delta = [&](int slot) { return b.sink[slot].packets - a.sink[slot].packets; };
    result.deliveredOriginalDst = delta(BENCH_SINK_UDP4_ORIGINAL_DST);
    result.deliveredRewrittenDst = delta(BENCH_SINK_UDP4_REWRITTEN_DST);
    result.delivered = result.deliveredOriginalDst + result.deliveredRewrittenDst;
    result.otherAtSink = delta(BENCH_SINK_OTHER);
    if (a.cpu.valid && b.cpu.valid) {
        long ticks = sysconf(_SC_CLK_TCK);
        result.routerCpuBusySeconds =
            static_cast<double>(b.cpu.busy - a.cpu.busy) / static_cast<double>(ticks);
    }
    if (plan.stampLatency) {
        std::vector<std::uint64_t> window(BENCH_LATENCY_SLOTS);
        for (std::uint32_t slot = 0; slot < BENCH_LATENCY_SLOTS; ++slot) {
            window[slot] = b.latency[slot] - a.latency[slot];
            result.latencySamples += window[slot];
            if (window[slot]) {
                result.latencyMaxNs = latencySlotUpperNs(slot);
            }
        }
        result.latencyP50Ns = percentileNs(window, result.latencySamples, 0.50);
        result.latencyP99Ns = percentileNs(window, result.latencySamples, 0.99);
    }
    if (a.threadNs && b.threadNs) {
        result.routerThreadCpuSeconds = static_cast<double>(*b.threadNs - *a.threadNs) / 1e9;
    }
    return result;
}

Result<std::array<std::uint8_t, 6>> parseMac(const std::string& text)
{
    std::array<unsigned, 6> parts{};
    char trailing = 0;
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x%c", &parts[0], &parts[1], &parts[2],
                    &parts[3], &parts[4], &parts[5], &trailing) != 6 ||
        std::any_of(parts.begin(), parts.end(), [](unsigned p) { return p > 0xff; })) {
        return Error::invalid("not a MAC address: " + text);
    }
    std::array<std::uint8_t, 6> mac{};
    std::transform(parts.begin(), parts.end(), mac.begin(),
                   [](unsigned p) { return static_cast<std::uint8_t>(p); });
    return mac;
}

Result<std::uint32_t> parseIpv4(const std::string& text)
{
    in_addr address{};
    if (inet_pton(AF_INET, text.c_str(), &address) != 1) {
        return Error::invalid("not an IPv4 address: " + text);
    }
    return ntohl(address.s_addr);
}

} // namespace svr::bench

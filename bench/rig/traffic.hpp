// Sending paced live frames and measuring what the sink received.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench_rig.h"
#include "common/result.hpp"

namespace svr::bench {

struct FlowSet {
    std::array<std::uint8_t, 6> srcMac{};
    std::array<std::uint8_t, 6> dstMac{};
    std::uint32_t firstSrcAddr = 0; // host order
    std::uint32_t dstAddr = 0;      // host order
    std::uint16_t firstSrcPort = 10000;
    std::uint16_t dstPort = 9;
    std::uint32_t flows = 1;
    std::uint32_t portsPerAddr = 16384;
};

struct SendPlan {
    std::string interface;    // the generator's veth, in the calling namespace
    FlowSet flowSet;
    std::uint32_t frameSize = 64; // on the wire with FCS, as pktgen counts; the buffer is 4 less
    double ratePps = 0;       // 0: as fast as the generator goes
    std::uint32_t runsPerCall = 0; // generator runs per test-run syscall; 0: default
    double warmupSeconds = 0.5;
    double seconds = 2.0;     // the measured window, after the warm-up
    std::string sinkPinDir;   // where `svr-bench-gen sink` pinned the sink's maps
    bool stampLatency = false; // stamp frames and report the sink's latency percentiles
    std::optional<int> routerCpu;    // CPU whose busy share is reported (others' load shows)
    std::optional<int> routerThread; // the router's NAPI thread: its CPU time per packet
};

struct SendResult {
    double seconds = 0;          // measured window
    std::uint64_t sent = 0;      // frames the generator XDP_TXed in the window
    std::uint64_t delivered = 0; // IPv4/UDP frames counted at the sink in the window
    std::uint64_t deliveredOriginalDst = 0;  // of which still to the generator's destination
    std::uint64_t deliveredRewrittenDst = 0; // of which NATed to another destination
    std::uint64_t otherAtSink = 0;
    double routerCpuBusySeconds = -1;    // -1: not measured
    double routerThreadCpuSeconds = -1;  // -1: not measured
    std::uint64_t latencySamples = 0;
    double latencyP50Ns = -1; // upper edge of the histogram slot; -1: not measured
    double latencyP99Ns = -1;
    double latencyMaxNs = -1;
};

// The sink's counters, summed over CPUs.
Result<std::array<bench_sink_count, BENCH_SINK_SLOTS>> readSinkCounters(const std::string& pin);

// The sink's latency histogram (bench_rig.h), summed over CPUs.
Result<std::vector<std::uint64_t>> readSinkLatency(const std::string& pin);

// Upper edge in ns of a latency histogram slot.
double latencySlotUpperNs(std::uint32_t slot);

// Sends the plan's frames for warm-up + window, paced in batches, and measures the window.
Result<SendResult> sendAndMeasure(const SendPlan& plan);

Result<std::array<std::uint8_t, 6>> parseMac(const std::string& text);
Result<std::uint32_t> parseIpv4(const std::string& text); // host order

} // namespace svr::bench

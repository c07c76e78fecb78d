// svr-bench-gen: the benchmark rig's one tool. Attaches the sink, pass and bare-redirect
// XDP programs, installs benchmark sessions in bulk, and sends paced live-frame traffic
// while measuring what the sink received (never what was sent). Results are one JSON
// object per line on stdout; errors go to stderr with exit code 1.
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "programs.hpp"
#include "sessions.hpp"
#include "traffic.hpp"

namespace {

using svr::Status;

int report(const svr::Error& error)
{
    std::cerr << "svr-bench-gen: " << error.describe() << "\n";
    return 1;
}

int reportStatus(const Status& status)
{
    return status ? 0 : report(status.error());
}

// Flow options shared by `send` and `sessions`, parsed into a FlowSet.
struct FlowOptions {
    std::string srcMac = "02:00:00:00:00:01";
    std::string dstMac = "02:00:00:00:00:02";
    std::string srcAddr = "10.251.0.1";
    std::string dstAddr = "10.252.0.1";
    std::uint16_t srcPort = 10000;
    std::uint16_t dstPort = 9;
    std::uint32_t flows = 1;
    std::uint32_t portsPerAddr = 16384;

    void add(CLI::App& command)
    {
        command.add_option("--src-mac", srcMac, "generator's MAC");
        command.add_option("--dst-mac", dstMac, "router ingress MAC");
        command.add_option("--src", srcAddr, "first source address of the flows");
        command.add_option("--dst", dstAddr, "destination address of every flow");
        command.add_option("--sport", srcPort, "first source port");
        command.add_option("--dport", dstPort, "destination port");
        command.add_option("--flows", flows, "number of flows")->check(CLI::Range(1u, 16777216u));
        command.add_option("--ports-per-addr", portsPerAddr,
                           "source ports per source address before the address steps")
            ->check(CLI::Range(1u, 65535u));
    }

    svr::Result<svr::bench::FlowSet> parse() const
    {
        svr::bench::FlowSet set;
        auto src = svr::bench::parseMac(srcMac);
        auto dst = svr::bench::parseMac(dstMac);
        auto from = svr::bench::parseIpv4(srcAddr);
        auto to = svr::bench::parseIpv4(dstAddr);
        for (const svr::Error* error : {src ? nullptr : &src.error(), dst ? nullptr : &dst.error(),
                                        from ? nullptr : &from.error(), to ? nullptr : &to.error()}) {
            if (error) {
                return *error;
            }
        }
        set.srcMac = *src;
        set.dstMac = *dst;
        set.firstSrcAddr = *from;
        set.dstAddr = *to;
        set.firstSrcPort = srcPort;
        set.dstPort = dstPort;
        set.flows = flows;
        set.portsPerAddr = portsPerAddr;
        return set;
    }
};

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"svr-bench-gen - traffic generator, sink and baselines of the svr benchmark"};
    app.require_subcommand(1);
    int exitCode = 0;

    std::string interface, pinDir, originalDst;
    auto* sink = app.add_subcommand("sink", "attach the counting, dropping sink");
    sink->add_option("--interface", interface, "sink interface")->required();
    sink->add_option("--pin-dir", pinDir, "bpffs directory for its maps")->required();
    sink->add_option("--original-dst", originalDst,
                     "the generator's destination: frames still addressed to it were not DNATed")
        ->required();
    bool reflect = false;
    sink->add_flag("--reflect", reflect,
                   "echo IPv4 UDP frames back (addresses and ports swapped) instead of dropping");
    sink->callback([&] {
        auto dst = svr::bench::parseIpv4(originalDst);
        exitCode = dst ? reportStatus(svr::bench::attachSink(interface, pinDir, *dst, reflect))
                       : report(dst.error());
    });

    auto* pass = app.add_subcommand("pass", "attach an XDP_PASS program");
    pass->add_option("--interface", interface, "interface")->required();
    pass->callback([&] { exitCode = reportStatus(svr::bench::attachPass(interface)); });

    std::string ingress, egress;
    auto* redirect = app.add_subcommand("redirect", "attach the bare DEVMAP redirect (run in the router's netns)");
    redirect->add_option("--in", ingress, "ingress interface")->required();
    redirect->add_option("--out", egress, "egress interface")->required();
    redirect->callback(
        [&] { exitCode = reportStatus(svr::bench::attachRedirect(ingress, egress)); });

    auto* detach = app.add_subcommand("detach", "remove the native XDP program of an interface");
    detach->add_option("--interface", interface, "interface")->required();
    detach->callback([&] { exitCode = reportStatus(svr::bench::detach(interface)); });

    auto* counters = app.add_subcommand("counters", "print the sink's counters");
    counters->add_option("--pin-dir", pinDir, "the sink's bpffs directory")->required();
    counters->callback([&] {
        auto read = svr::bench::readSinkCounters(svr::bench::sinkCountersPin(pinDir));
        if (!read) {
            exitCode = report(read.error());
            return;
        }
        const auto& c = *read;
        std::cout << nlohmann::json{
                         {"udp4_original_dst_packets", c[BENCH_SINK_UDP4_ORIGINAL_DST].packets},
                         {"udp4_rewritten_dst_packets", c[BENCH_SINK_UDP4_REWRITTEN_DST].packets},
                         {"other_packets", c[BENCH_SINK_OTHER].packets}}
                  << std::endl;
    });

    FlowOptions sendFlows;
    svr::bench::SendPlan plan;
    int routerCpu = -1;
    int routerThread = -1;
    auto* send = app.add_subcommand("send", "send paced live frames and measure the sink");
    send->add_option("--interface", plan.interface, "generator interface")->required();
    send->add_option("--sink-pin-dir", plan.sinkPinDir, "the sink's bpffs directory")->required();
    send->add_flag("--latency", plan.stampLatency,
                   "stamp frames with their send time; report latency percentiles at the sink");
    send->add_option("--size", plan.frameSize, "frame size with FCS (64..1518)");
    send->add_option("--rate", plan.ratePps, "target packets per second; 0 = unpaced");
    send->add_option("--runs-per-call", plan.runsPerCall, "generator runs per test-run syscall")
        ->check(CLI::Range(2u, 1u << 30));
    send->add_option("--warmup", plan.warmupSeconds, "seconds sent before the window");
    send->add_option("--seconds", plan.seconds, "measured window in seconds");
    send->add_option("--router-cpu", routerCpu, "CPU whose busy share is reported");
    send->add_option("--router-thread", routerThread,
                     "thread id of the router's NAPI thread: CPU time per packet");
    sendFlows.add(*send);
    send->callback([&] {
        auto flowSet = sendFlows.parse();
        if (!flowSet) {
            exitCode = report(flowSet.error());
            return;
        }
        plan.flowSet = *flowSet;
        if (routerCpu >= 0) {
            plan.routerCpu = routerCpu;
        }
        if (routerThread > 0) {
            plan.routerThread = routerThread;
        }
        auto result = svr::bench::sendAndMeasure(plan);
        if (!result) {
            exitCode = report(result.error());
            return;
        }
        nlohmann::json out{{"seconds", result->seconds},
                           {"sent", result->sent},
                           {"delivered", result->delivered},
                           {"delivered_original_dst", result->deliveredOriginalDst},
                           {"delivered_rewritten_dst", result->deliveredRewrittenDst},
                           {"other_at_sink", result->otherAtSink},
                           {"sent_pps", result->sent / result->seconds},
                           {"delivered_pps", result->delivered / result->seconds},
                           {"loss", result->sent ? 1.0 - static_cast<double>(result->delivered) /
                                                            static_cast<double>(result->sent)
                                                 : 0.0}};
        if (result->routerCpuBusySeconds >= 0) {
            out["router_core_busy"] = result->routerCpuBusySeconds / result->seconds;
        }
        if (plan.stampLatency) {
            out["latency_samples"] = result->latencySamples;
            out["latency_p50_ns"] = result->latencyP50Ns;
            out["latency_p99_ns"] = result->latencyP99Ns;
            out["latency_max_ns"] = result->latencyMaxNs;
        }
        if (result->routerThreadCpuSeconds >= 0) {
            out["router_thread_busy"] = result->routerThreadCpuSeconds / result->seconds;
            out["router_ns_per_packet"] =
                result->delivered ? result->routerThreadCpuSeconds * 1e9 / result->delivered : 0.0;
        }
        std::cout << out << std::endl;
    });

    FlowOptions sessionFlows;
    svr::bench::SessionPlan sessionPlan;
    std::string newSrc, newDst, nextHopMac, reverseNextHopMac;
    auto* sessions = app.add_subcommand(
        "sessions", "install one NAT session per flow into a pinned svr session map (router netns)");
    sessions->add_option("--map", sessionPlan.sessionMapPin, "/sys/fs/bpf/svr/<router>/sessions")
        ->required();
    sessions->add_option("--in-interface", sessionPlan.ingress, "ingress interface")->required();
    sessions->add_option("--out-interface", sessionPlan.egress, "egress interface")->required();
    sessions->add_option("--new-src", newSrc,
                         "SNAT address of the first source address (1:1 from there, ports kept)")
        ->required();
    sessions->add_option("--new-dst", newDst, "DNAT address")->required();
    sessions->add_option("--next-hop-mac", nextHopMac, "next hop's MAC")->required();
    sessions->add_option("--reverse-next-hop-mac", reverseNextHopMac,
                         "also install the reply direction, towards this MAC");
    sessionFlows.add(*sessions);
    sessions->callback([&] {
        auto flowSet = sessionFlows.parse();
        auto from = svr::bench::parseIpv4(newSrc);
        auto to = svr::bench::parseIpv4(newDst);
        auto mac = svr::bench::parseMac(nextHopMac);
        if (!flowSet || !from || !to || !mac) {
            exitCode = report(!flowSet ? flowSet.error()
                              : !from  ? from.error()
                              : !to    ? to.error()
                                       : mac.error());
            return;
        }
        sessionPlan.flowSet = *flowSet;
        sessionPlan.newSrcAddr = *from;
        sessionPlan.newDstAddr = *to;
        sessionPlan.nextHopMac = *mac;
        if (!reverseNextHopMac.empty()) {
            auto back = svr::bench::parseMac(reverseNextHopMac);
            if (!back) {
                exitCode = report(back.error());
                return;
            }
            sessionPlan.reverse = true;
            sessionPlan.reverseNextHopMac = *back;
        }
        auto written = svr::bench::installSessions(sessionPlan);
        if (!written) {
            exitCode = report(written.error());
            return;
        }
        std::cout << nlohmann::json{{"sessions", *written}} << std::endl;
    });

    CLI11_PARSE(app, argc, argv);
    return exitCode;
}

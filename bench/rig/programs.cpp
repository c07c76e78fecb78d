#include "programs.hpp"

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <system_error>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_redirect.skel.h"
#include "bench_sink.skel.h"

namespace svr::bench {
namespace {

template <typename Skeleton, void (*Destroy)(Skeleton*)>
struct SkeletonDeleter {
    void operator()(Skeleton* skeleton) const { Destroy(skeleton); }
};
using SinkSkeleton = std::unique_ptr<bench_sink, SkeletonDeleter<bench_sink, bench_sink__destroy>>;
using RedirectSkeleton =
    std::unique_ptr<bench_redirect, SkeletonDeleter<bench_redirect, bench_redirect__destroy>>;

Status attachProgram(std::uint32_t ifindex, const bpf_program* program, const std::string& what)
{
    int err = bpf_xdp_attach(static_cast<int>(ifindex), bpf_program__fd(program),
                             XDP_FLAGS_DRV_MODE, nullptr);
    if (err) {
        return Error::fromErrno(err, "attach " + what + " (native XDP)");
    }
    return {};
}

Result<SinkSkeleton> loadSink(std::uint32_t originalDst = 0, bool reflect = false)
{
    SinkSkeleton skeleton(bench_sink__open());
    if (!skeleton) {
        return Error::fromErrno(errno, "open bench_sink");
    }
    skeleton->rodata->original_dst = htonl(originalDst);
    skeleton->rodata->reflect = reflect ? 1 : 0;
    if (int err = bench_sink__load(skeleton.get()); err) {
        return Error::fromErrno(err, "load bench_sink");
    }
    return skeleton;
}

} // namespace

Result<std::uint32_t> interfaceIndex(const std::string& name)
{
    unsigned index = if_nametoindex(name.c_str());
    if (index == 0) {
        return Error::fromErrno(errno, "interface " + name);
    }
    return static_cast<std::uint32_t>(index);
}

std::string sinkCountersPin(const std::string& pinDir)
{
    return pinDir + "/sink_counters";
}

std::string sinkLatencyPin(const std::string& pinDir)
{
    return pinDir + "/sink_latency";
}

Status attachSink(const std::string& interface, const std::string& pinDir,
                  std::uint32_t originalDst, bool reflect)
{
    auto ifindex = interfaceIndex(interface);
    if (!ifindex) {
        return ifindex.error();
    }
    auto skeleton = loadSink(originalDst, reflect);
    if (!skeleton) {
        return skeleton.error();
    }
    std::error_code ec;
    std::filesystem::create_directories(pinDir, ec);
    if (ec) {
        return Error{ec, "create " + pinDir};
    }
    bpf_map* counters = (*skeleton)->maps.sink_counters;
    bpf_map* latency = (*skeleton)->maps.sink_latency;
    if (int err = bpf_map__pin(counters, sinkCountersPin(pinDir).c_str()); err) {
        return Error::fromErrno(err, "pin sink counters under " + pinDir);
    }
    if (int err = bpf_map__pin(latency, sinkLatencyPin(pinDir).c_str()); err) {
        bpf_map__unpin(counters, nullptr);
        return Error::fromErrno(err, "pin sink latency under " + pinDir);
    }
    auto attached = attachProgram(*ifindex, (*skeleton)->progs.bench_sink, "sink on " + interface);
    if (!attached) {
        bpf_map__unpin(counters, nullptr);
        bpf_map__unpin(latency, nullptr);
    }
    return attached;
}

Status attachPass(const std::string& interface)
{
    auto ifindex = interfaceIndex(interface);
    if (!ifindex) {
        return ifindex.error();
    }
    auto skeleton = loadSink();
    if (!skeleton) {
        return skeleton.error();
    }
    return attachProgram(*ifindex, (*skeleton)->progs.bench_pass, "pass on " + interface);
}

Status attachRedirect(const std::string& ingress, const std::string& egress)
{
    auto ingressIndex = interfaceIndex(ingress);
    if (!ingressIndex) {
        return ingressIndex.error();
    }
    auto egressIndex = interfaceIndex(egress);
    if (!egressIndex) {
        return egressIndex.error();
    }
    RedirectSkeleton skeleton(bench_redirect__open_and_load());
    if (!skeleton) {
        return Error::fromErrno(errno, "load bench_redirect");
    }
    std::uint32_t slot = 0;
    std::uint32_t target = *egressIndex;
    if (bpf_map_update_elem(bpf_map__fd(skeleton->maps.tx_port), &slot, &target, BPF_ANY)) {
        return Error::fromErrno(errno, "DEVMAP entry for " + egress);
    }
    return attachProgram(*ingressIndex, skeleton->progs.bench_redirect,
                         "redirect " + ingress + " -> " + egress);
}

Status detach(const std::string& interface)
{
    auto ifindex = interfaceIndex(interface);
    if (!ifindex) {
        return ifindex.error();
    }
    if (int err = bpf_xdp_detach(static_cast<int>(*ifindex), XDP_FLAGS_DRV_MODE, nullptr); err) {
        return Error::fromErrno(err, "detach XDP from " + interface);
    }
    return {};
}

} // namespace svr::bench

// Helpers shared by the TC egress tests: the skeleton loaded with unpinned maps, map reads,
// and a private network namespace for cases that need devices of their own.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "fastpath/abi.hpp"
#include "fastpath/maps.hpp"
#include "svr_tc.skel.h"

extern "C" char** environ;

namespace svr::test::tc {

struct TcSkeletonDeleter {
    void operator()(svr_tc* skel) const { svr_tc__destroy(skel); }
};
using TcSkeleton = std::unique_ptr<svr_tc, TcSkeletonDeleter>;

// Opens and loads svr_tc with every map unpinned (tests never touch /sys/fs/bpf) and small
// tables (the defaults preallocate a million sessions). Returns 0 or -errno.
inline int loadTcSkeleton(TcSkeleton& skel)
{
    skel.reset(svr_tc__open());
    if (!skel) {
        return -errno;
    }
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, skel->obj)
    {
        if (int err = bpf_map__set_pin_path(map, nullptr); err != 0) {
            return err;
        }
    }
    if (int err = bpf_map__set_max_entries(skel->maps.sessions, 64); err != 0) {
        return err;
    }
    if (int err = bpf_map__set_max_entries(skel->maps.session_index,
                                           svr::fastpath::sessionBucketsFor(64));
        err != 0) {
        return err;
    }
    if (int err = bpf_map__set_max_entries(skel->maps.dos_buckets, 64); err != 0) {
        return err;
    }
    return svr_tc__load(skel.get());
}

inline svr_session_key sessionKey(std::uint8_t family, std::uint8_t proto,
                                  std::span<const std::uint8_t> src,
                                  std::span<const std::uint8_t> dst, std::uint16_t src_port,
                                  std::uint16_t dst_port, std::uint16_t vlan = 0)
{
    svr_session_key key{};
    key.ingress_ifindex = SVR_LOCAL_ZONE;
    key.vlan_id = vlan;
    key.family = family;
    key.proto = proto;
    std::memcpy(key.src_addr, src.data(), src.size());
    std::memcpy(key.dst_addr, dst.data(), dst.size());
    key.src_port = htons(src_port);
    key.dst_port = htons(dst_port);
    return key;
}

// A value as the controller installs it; only dscp matters to TC, the rest must survive.
inline svr_session_value sessionValue(std::uint8_t dscp)
{
    svr_session_value value{};
    value.action = SVR_ACTION_FORWARD;
    value.dscp = dscp;
    value.flags = SVR_SESSION_F_REWRITE_SRC;
    value.new_src_port = htons(40000);
    value.egress_ifindex = 7;
    value.idle_timeout_s = 30;
    value.tenant_id = 11;
    value.service_id = 12;
    value.session_id = 0x1122334455667788ULL;
    value.created_ns = 1000;
    return value;
}

// The skeleton's session table, mapped (the first call initialises its seed).
inline std::unique_ptr<svr::fastpath::SessionMaps> sessionMaps(svr_tc& skel)
{
    auto maps = svr::fastpath::SessionMaps::open(bpf_map__fd(skel.maps.sessions),
                                                 bpf_map__fd(skel.maps.session_index),
                                                 bpf_map__fd(skel.maps.session_info));
    EXPECT_TRUE(maps) << maps.error().message;
    return maps ? std::move(*maps) : nullptr;
}

inline void addSession(svr_tc& skel, const svr_session_key& key, const svr_session_value& value)
{
    auto maps = sessionMaps(skel);
    ASSERT_NE(maps, nullptr);
    const auto inserted = maps->store().insert(key, value, svr::fastpath::InsertMode::CreateOnly);
    ASSERT_TRUE(inserted) << inserted.error().message;
}

inline svr_session_value readSession(svr_tc& skel, const svr_session_key& key)
{
    auto maps = sessionMaps(skel);
    auto value = maps ? maps->store().lookup(key) : std::nullopt;
    EXPECT_TRUE(value.has_value());
    return value.value_or(svr_session_value{});
}

// A router interface whose counters go to stats[slot], as attach gives it one.
inline void setStatsSlot(svr_tc& skel, std::uint32_t ifindex, std::uint32_t slot)
{
    svr_iface iface{};
    iface.flags = SVR_IFACE_F_ROUTER;
    iface.punt_queue_count = 1;
    iface.stats_slot = slot;
    ASSERT_EQ(bpf_map__update_elem(skel.maps.ifaces, &ifindex, sizeof(ifindex), &iface,
                                   sizeof(iface), BPF_ANY),
              0);
}

// stats[slot] summed over the CPUs.
inline svr_stats readStats(svr_tc& skel, std::uint32_t slot)
{
    static_assert(sizeof(svr_stats) % sizeof(std::uint64_t) == 0);
    constexpr std::size_t kCounters = sizeof(svr_stats) / sizeof(std::uint64_t);
    const int cpus = libbpf_num_possible_cpus();
    std::vector<std::uint64_t> per_cpu(kCounters * static_cast<std::size_t>(cpus));
    EXPECT_EQ(bpf_map__lookup_elem(skel.maps.stats, &slot, sizeof(slot), per_cpu.data(),
                                   per_cpu.size() * sizeof(std::uint64_t), 0),
              0);
    std::vector<std::uint64_t> total(kCounters);
    for (std::size_t i = 0; i < per_cpu.size(); ++i) {
        total[i % kCounters] += per_cpu[i];
    }
    svr_stats sum{};
    std::memcpy(&sum, total.data(), sizeof(sum));
    return sum;
}

// Runs `ip` with the given arguments in the calling thread's network namespace.
inline testing::AssertionResult runIp(std::vector<std::string> args)
{
    args.insert(args.begin(), "ip");
    std::vector<char*> argv;
    for (auto& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (int err = posix_spawnp(&pid, "ip", nullptr, nullptr, argv.data(), environ); err != 0) {
        return testing::AssertionFailure() << "spawn ip: " << std::strerror(err);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string command;
        for (const auto& arg : args) {
            command += arg + " ";
        }
        return testing::AssertionFailure() << command << "failed, status " << status;
    }
    return testing::AssertionSuccess();
}

// Moves the calling thread into a fresh, anonymous network namespace and back on
// destruction. Nothing to clean up by name: the kernel removes the namespace and its
// devices with the last reference, even when the test process dies.
class PrivateNetns {
public:
    PrivateNetns() : original_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC))
    {
        if (original_.valid() && ::unshare(CLONE_NEWNET) == 0) {
            entered_ = true;
        }
    }
    PrivateNetns(const PrivateNetns&) = delete;
    PrivateNetns& operator=(const PrivateNetns&) = delete;
    ~PrivateNetns()
    {
        if (entered_ && ::setns(original_.get(), CLONE_NEWNET) != 0) {
            std::abort(); // later tests would run in the wrong namespace
        }
    }
    bool entered() const { return entered_; }

private:
    UniqueFd original_;
    bool entered_ = false;
};

} // namespace svr::test::tc

#include "xdp_harness.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xdp/xsk.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "svr_common.h"
#include "svr_config.h" // the skeleton names struct svr_xdp_config without including it
#include "svr_xdp.skel.h"

#include <gtest/gtest.h>

namespace svr::test {

namespace {

std::string describe(const char* what, int err)
{
    return std::string(what) + ": " + std::strerror(err < 0 ? -err : err);
}

// Map setup failing is a broken test environment, not a test outcome: throw.
void check(int rc, const char* what)
{
    if (rc != 0) {
        throw std::runtime_error(describe(what, rc == -1 ? errno : rc));
    }
}

} // namespace

struct PuntSocket::Rings {
    xsk_ring_prod fill{};
    xsk_ring_cons completion{};
    xsk_ring_cons rx{};
};

std::unique_ptr<PuntSocket> PuntSocket::create(std::string& error, int& error_code)
{
    error_code = 0;
    std::unique_ptr<PuntSocket> sock(new PuntSocket());
    sock->rings_ = std::make_unique<Rings>();
    sock->umem_size_ = 64 * 4096;
    void* area = mmap(nullptr, sock->umem_size_, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
        error_code = errno;
        error = describe("mmap umem", error_code);
        return nullptr;
    }
    sock->umem_area_ = area;
    int rc = xsk_umem__create(&sock->umem_, area, sock->umem_size_, &sock->rings_->fill,
                              &sock->rings_->completion, nullptr);
    if (rc != 0) {
        error_code = -rc;
        error = describe("xsk_umem__create", rc);
        return nullptr;
    }
    xsk_socket_config config{};
    config.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS;
    config.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS;
    config.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD; // never attach to lo
    config.bind_flags = XDP_COPY;
    // One socket per queue: another test process may hold lo's queue 0 for a moment.
    for (int attempt = 0; attempt < 100; ++attempt) {
        rc = xsk_socket__create(&sock->socket_, "lo", 0, sock->umem_, &sock->rings_->rx,
                                nullptr, &config);
        if (rc != -EBUSY) {
            break;
        }
        usleep(20 * 1000);
    }
    if (rc != 0) {
        error_code = -rc;
        error = describe("xsk_socket__create on lo", rc);
        return nullptr;
    }
    return sock;
}

PuntSocket::~PuntSocket()
{
    if (socket_) {
        xsk_socket__delete(socket_);
    }
    if (umem_) {
        xsk_umem__delete(umem_);
    }
    if (umem_area_) {
        munmap(umem_area_, umem_size_);
    }
}

int PuntSocket::fd() const
{
    return xsk_socket__fd(socket_);
}

std::unique_ptr<XdpProgram> XdpProgram::load(const XdpConfig& config, std::string& error)
{
    std::unique_ptr<XdpProgram> program(new XdpProgram());
    program->skel_ = svr_xdp__open();
    if (!program->skel_) {
        error = describe("svr_xdp__open", errno);
        return nullptr;
    }
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, program->skel_->obj)
    {
        if (int rc = bpf_map__set_pin_path(map, nullptr); rc != 0) {
            error = describe("bpf_map__set_pin_path", rc);
            return nullptr;
        }
    }
    // Small tables, as the loader sizes them before load: a preallocated million-entry
    // session table would make every test pay for ~200 MB.
    const std::pair<bpf_map*, std::uint32_t> sizes[] = {
        {program->skel_->maps.sessions, 1024},
        {program->skel_->maps.session_index, svr::fastpath::sessionBucketsFor(1024)},
        {program->skel_->maps.dos_buckets, 1024}};
    for (const auto& [sized, entries] : sizes) {
        if (int rc = bpf_map__set_max_entries(sized, entries); rc != 0) {
            error = describe("bpf_map__set_max_entries", rc);
            return nullptr;
        }
    }
    program->skel_->rodata->svr_xdp_cfg.dos_new_sessions_per_s = config.dos_new_sessions_per_s;
    program->skel_->rodata->svr_xdp_cfg.dos_burst = config.dos_burst;
    if (int rc = svr_xdp__load(program->skel_); rc != 0) {
        error = describe("svr_xdp__load (verifier log above)", rc);
        return nullptr;
    }
    auto sessions = svr::fastpath::SessionMaps::open(
        bpf_map__fd(program->skel_->maps.sessions), bpf_map__fd(program->skel_->maps.session_index),
        bpf_map__fd(program->skel_->maps.session_info));
    if (!sessions) {
        error = sessions.error().message;
        return nullptr;
    }
    program->sessions_ = std::move(*sessions);
    return program;
}

XdpProgram::~XdpProgram()
{
    svr_xdp__destroy(skel_);
}

void XdpProgram::setIface(std::uint32_t ifindex, std::uint32_t flags, std::uint32_t punt_base,
                          std::uint32_t punt_count, std::optional<std::uint32_t> stats_slot)
{
    svr_iface iface{};
    iface.flags = flags;
    iface.punt_queue_base = punt_base;
    iface.punt_queue_count = punt_count;
    iface.stats_slot = stats_slot.value_or(ifindex < SVR_MAX_STATS_SLOTS ? ifindex : 0);
    check(bpf_map__update_elem(skel_->maps.ifaces, &ifindex, sizeof ifindex, &iface,
                               sizeof iface, BPF_ANY),
          "ifaces update");
}

void XdpProgram::addSession(const svr_session_key& key, const svr_session_value& value)
{
    const auto inserted = sessions_->store().insert(key, value,
                                                    svr::fastpath::InsertMode::CreateOrReplace);
    ASSERT_TRUE(inserted) << inserted.error().message;
}

std::optional<svr_session_value> XdpProgram::session(const svr_session_key& key) const
{
    return sessions_->store().lookup(key);
}

void XdpProgram::addLocal(std::uint8_t family, std::span<const std::uint8_t> addr,
                          std::uint32_t flags, std::uint16_t port_min, std::uint16_t port_max)
{
    svr_addr_key key{};
    key.family = family;
    std::memcpy(key.addr, addr.data(), std::min<std::size_t>(addr.size(), sizeof key.addr));
    svr_local_addr local{};
    local.flags = flags;
    local.waypoint_port_min = port_min;
    local.waypoint_port_max = port_max;
    check(bpf_map__update_elem(skel_->maps.local_addrs, &key, sizeof key, &local, sizeof local,
                               BPF_ANY),
          "local_addrs update");
}

void XdpProgram::addTxPort(std::uint32_t ifindex)
{
    check(bpf_map__update_elem(skel_->maps.tx_ports, &ifindex, sizeof ifindex, &ifindex,
                               sizeof ifindex, BPF_ANY),
          "tx_ports update");
}

void XdpProgram::addPuntSocket(std::uint32_t index, int xsk_fd)
{
    const std::uint32_t fd = static_cast<std::uint32_t>(xsk_fd);
    check(bpf_map__update_elem(skel_->maps.xsks, &index, sizeof index, &fd, sizeof fd, BPF_ANY),
          "xsks update");
}

RunResult XdpProgram::run(const Bytes& frame, std::uint32_t ifindex, std::uint32_t rx_queue) const
{
    Bytes out(frame.size() + 512);
    xdp_md md{};
    md.ingress_ifindex = ifindex;
    md.rx_queue_index = rx_queue;
    md.data_end = static_cast<std::uint32_t>(frame.size()); // the kernel insists on it
    bpf_test_run_opts opts{};
    opts.sz = sizeof opts;
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<std::uint32_t>(frame.size());
    opts.data_out = out.data();
    opts.data_size_out = static_cast<std::uint32_t>(out.size());
    opts.ctx_in = &md;
    opts.ctx_size_in = sizeof md;
    opts.ctx_out = &md;
    opts.ctx_size_out = sizeof md;
    opts.repeat = 1;
    check(bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.svr_xdp_ingress), &opts),
          "bpf_prog_test_run_opts");
    // The output starts at data_meta; ctx_out.data is the offset of the frame within it.
    out.resize(opts.data_size_out);
    RunResult result;
    result.action = static_cast<int>(opts.retval);
    const std::size_t meta_len = std::min<std::size_t>(md.data, out.size());
    result.metadata.assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(meta_len));
    result.frame.assign(out.begin() + static_cast<std::ptrdiff_t>(meta_len), out.end());
    return result;
}

svr_stats XdpProgram::stats(std::uint32_t slot) const
{
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) {
        throw std::runtime_error("libbpf_num_possible_cpus failed");
    }
    std::vector<svr_stats> per_cpu(static_cast<std::size_t>(cpus));
    check(bpf_map__lookup_elem(skel_->maps.stats, &slot, sizeof slot, per_cpu.data(),
                               per_cpu.size() * sizeof(svr_stats), 0),
          "stats lookup");
    svr_stats total{};
    auto* sum = reinterpret_cast<std::uint64_t*>(&total);
    for (const svr_stats& cpu : per_cpu) {
        const auto* counters = reinterpret_cast<const std::uint64_t*>(&cpu);
        for (std::size_t i = 0; i < sizeof(svr_stats) / sizeof(std::uint64_t); ++i) {
            sum[i] += counters[i];
        }
    }
    return total;
}

PacketBuilder fromClient()
{
    PacketBuilder builder;
    builder.eth(kRouterMac, kClientMac);
    return builder;
}

PacketBuilder toNextHop()
{
    PacketBuilder builder;
    builder.eth(kNextHopMac, kEgressMac);
    return builder;
}

std::unique_ptr<PuntSocket> openPuntSocket(std::string& why, bool& kernel_lacks_af_xdp)
{
    std::string error;
    int error_code = 0;
    auto socket = PuntSocket::create(error, error_code);
    kernel_lacks_af_xdp = !socket && (error_code == EAFNOSUPPORT || error_code == EOPNOTSUPP ||
                                      error_code == EPROTONOSUPPORT);
    if (!socket) {
        why = kernel_lacks_af_xdp ? "kernel lacks AF_XDP (CONFIG_XDP_SOCKETS): " + error
                                  : "cannot bind an AF_XDP copy-mode socket to lo: " + error;
    }
    return socket;
}

std::uint64_t reasonCount(const svr_stats& stats, svr_verdict verdict, unsigned reason)
{
    switch (verdict) {
    case SVR_VERDICT_DROP: return reason < SVR_DROP_REASON_MAX ? stats.drop_packets[reason] : 0;
    case SVR_VERDICT_PASS: return reason < SVR_PASS_REASON_MAX ? stats.pass_packets[reason] : 0;
    case SVR_VERDICT_PUNT: return reason < SVR_PUNT_REASON_MAX ? stats.punt_packets[reason] : 0;
    default: return 0;
    }
}

std::uint64_t allReasons(const svr_stats& stats)
{
    std::uint64_t total = 0;
    for (auto n : stats.drop_packets) {
        total += n;
    }
    for (auto n : stats.pass_packets) {
        total += n;
    }
    for (auto n : stats.punt_packets) {
        total += n;
    }
    return total;
}

std::string describe(const svr_stats& stats)
{
    std::string out;
    auto add = [&out](const char* what, std::size_t i, std::uint64_t n) {
        if (n != 0) {
            out += std::string(what) + "[" + std::to_string(i) + "]=" + std::to_string(n) + " ";
        }
    };
    for (std::size_t i = 0; i < SVR_VERDICT_MAX; ++i) {
        add("verdict", i, stats.verdict_packets[i]);
    }
    for (std::size_t i = 0; i < SVR_DROP_REASON_MAX; ++i) {
        add("drop", i, stats.drop_packets[i]);
    }
    for (std::size_t i = 0; i < SVR_PASS_REASON_MAX; ++i) {
        add("pass", i, stats.pass_packets[i]);
    }
    for (std::size_t i = 0; i < SVR_PUNT_REASON_MAX; ++i) {
        add("punt", i, stats.punt_packets[i]);
    }
    return out;
}

void expectCountedOnce(const svr_stats& stats, svr_verdict verdict, unsigned reason,
                       std::size_t frame_bytes)
{
    SCOPED_TRACE("counters: " + describe(stats));
    for (unsigned v = 0; v < SVR_VERDICT_MAX; ++v) {
        EXPECT_EQ(stats.verdict_packets[v], v == verdict ? 1u : 0u) << "verdict " << v;
        EXPECT_EQ(stats.verdict_bytes[v], v == verdict ? frame_bytes : 0u) << "verdict " << v;
    }
    if (verdict == SVR_VERDICT_FORWARD) {
        EXPECT_EQ(allReasons(stats), 0u);
    } else {
        EXPECT_EQ(reasonCount(stats, verdict, reason), 1u) << "reason " << reason;
        EXPECT_EQ(allReasons(stats), 1u);
    }
}

void expectOutput(const RunResult& result, int action, const Bytes& input, const Bytes& output,
                  bool rewritten)
{
    EXPECT_EQ(result.action, action);
    const Bytes& expected = output.empty() ? input : output;
    EXPECT_EQ(result.frame, expected) << "expected vs actual:\n" << hexDiff(expected, result.frame);
    if (rewritten) {
        EXPECT_EQ(checksumErrors(result.frame), "") << hexDump(result.frame);
    }
}

} // namespace svr::test

// Test harness for the XDP program: the skeleton loaded with every map unpinned (tests never
// touch /sys/fs/bpf), map setup helpers, BPF_PROG_TEST_RUN, per-CPU stats summing, and an
// AF_XDP socket on lo so that punts can complete.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fastpath/maps.hpp"
#include "packet_builder.hpp"
#include "svr_iface.h"
#include "svr_session.h"
#include "svr_stats.h"

struct svr_xdp;
struct xsk_socket;
struct xsk_umem;

namespace svr::test {

// lo: a real device with one rx queue, valid as BPF_PROG_TEST_RUN ingress and as a
// tx_ports/xsks target. Nothing is ever attached to it.
inline constexpr std::uint32_t kLoopbackIfindex = 1;

struct RunResult {
    int action = -1; // XDP_*
    Bytes frame;     // output frame (metadata stripped)
    Bytes metadata;  // XDP metadata in front of the frame (punts)
};

// The fixtures' link layer: frames come from the client to the router's MAC and leave from
// the egress interface's MAC to the next hop.
inline const MacAddr kRouterMac = mac("02:00:00:00:00:aa");
inline const MacAddr kClientMac = mac("02:00:00:00:00:01");
inline const MacAddr kNextHopMac = mac("02:00:00:00:00:bb");
inline const MacAddr kEgressMac = mac("02:00:00:00:00:cc");
PacketBuilder fromClient();
PacketBuilder toNextHop();

// A bound AF_XDP socket on lo queue 0 in copy mode, without loading any XDP program.
class PuntSocket {
public:
    // On failure error_code is the positive errno, so callers can tell "no AF_XDP" from bugs.
    static std::unique_ptr<PuntSocket> create(std::string& error, int& error_code);
    ~PuntSocket();
    PuntSocket(const PuntSocket&) = delete;
    PuntSocket& operator=(const PuntSocket&) = delete;
    int fd() const;

private:
    PuntSocket() = default;
    void* umem_area_ = nullptr;
    std::size_t umem_size_ = 0;
    xsk_umem* umem_ = nullptr;
    xsk_socket* socket_ = nullptr;
    struct Rings;
    std::unique_ptr<Rings> rings_;
};

// An AF_XDP socket for the punt cases, or null with `why` set; `kernel_lacks_af_xdp` when the
// kernel has no AF_XDP at all, the one reason such a case may skip.
std::unique_ptr<PuntSocket> openPuntSocket(std::string& why, bool& kernel_lacks_af_xdp);

// Packets counted under a verdict's reason (0 for FORWARD, which has none).
std::uint64_t reasonCount(const svr_stats& stats, svr_verdict verdict, unsigned reason);
// Every reason counter summed.
std::uint64_t allReasons(const svr_stats& stats);
// The non-zero counters, for failure messages.
std::string describe(const svr_stats& stats);

// The program counted exactly one packet of frame_bytes: under `verdict`, and once more under
// `reason` unless it forwarded.
void expectCountedOnce(const svr_stats& stats, svr_verdict verdict, unsigned reason,
                       std::size_t frame_bytes);
// The action, and the frame out: `output`, or the input unchanged when `output` is empty;
// checksums recomputed independently when `rewritten`.
void expectOutput(const RunResult& result, int action, const Bytes& input, const Bytes& output,
                  bool rewritten);

struct XdpConfig {
    std::uint32_t dos_new_sessions_per_s = 0;
    std::uint32_t dos_burst = 0;
};

class XdpProgram {
public:
    // Opens, unpins every map, sets the rodata config and loads. Empty + error on failure.
    static std::unique_ptr<XdpProgram> load(const XdpConfig& config, std::string& error);
    ~XdpProgram();
    XdpProgram(const XdpProgram&) = delete;
    XdpProgram& operator=(const XdpProgram&) = delete;

    // The interface counts in stats slot `stats_slot`; by default the slot of its own number,
    // so that stats(ifindex) reads it.
    void setIface(std::uint32_t ifindex, std::uint32_t flags, std::uint32_t punt_base = 0,
                  std::uint32_t punt_count = 1,
                  std::optional<std::uint32_t> stats_slot = std::nullopt);
    void addSession(const svr_session_key& key, const svr_session_value& value);
    std::optional<svr_session_value> session(const svr_session_key& key) const;
    // The session table as the programs see it (record numbers, buckets, seed).
    svr::fastpath::SessionMaps& sessionMaps() const { return *sessions_; }
    void addLocal(std::uint8_t family, std::span<const std::uint8_t> addr, std::uint32_t flags,
                  std::uint16_t port_min = 0, std::uint16_t port_max = 0);
    void addTxPort(std::uint32_t ifindex);
    void addPuntSocket(std::uint32_t index, int xsk_fd);

    RunResult run(const Bytes& frame, std::uint32_t ifindex = kLoopbackIfindex,
                  std::uint32_t rx_queue = 0) const;
    svr_stats stats(std::uint32_t slot = kLoopbackIfindex) const;

private:
    XdpProgram() = default;
    svr_xdp* skel_ = nullptr;
    std::unique_ptr<svr::fastpath::SessionMaps> sessions_;
};

// Base of the table-driven fixtures: the program loaded with lo as its router interface and
// tx port, and a punt socket bound on demand.
template <typename Case>
class XdpCaseTest : public ::testing::TestWithParam<Case> {
protected:
    void SetUp() override
    {
        std::string error;
        program_ = XdpProgram::load({}, error);
        ASSERT_TRUE(program_) << error;
        program_->setIface(kLoopbackIfindex, SVR_IFACE_F_ROUTER, 0, 1);
        program_->addTxPort(kLoopbackIfindex);
    }

    // Binds the punt socket into xsks slot 0; skips the case only when the kernel has no
    // AF_XDP. The caller returns when this->IsSkipped().
    void bindPuntSocket()
    {
        std::string why;
        bool kernel_lacks_af_xdp = false;
        socket_ = openPuntSocket(why, kernel_lacks_af_xdp);
        if (!socket_) {
            if (kernel_lacks_af_xdp) {
                GTEST_SKIP() << why;
            }
            FAIL() << why;
        }
        program_->addPuntSocket(0, socket_->fd());
    }

    std::unique_ptr<XdpProgram> program_;
    std::unique_ptr<PuntSocket> socket_;
};

} // namespace svr::test

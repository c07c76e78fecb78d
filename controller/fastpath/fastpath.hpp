// The fast path of one router: the XDP ingress and TC egress programs sharing maps pinned
// under /sys/fs/bpf/svr/<router>/. Opening again (a restarted controller) reuses the pinned
// maps, so installed sessions keep forwarding. Destroying a FastPath leaves the programs
// attached (the kernel keeps forwarding); only detach()/detachAll() remove them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "fastpath/maps.hpp"

namespace svr::fastpath {

struct FastPathOptions {
    std::string router;
    std::string pinRoot;              // empty: defaultPinRoot(router)
    std::uint32_t maxSessions = 131072;
    std::uint32_t dosRatePerSecond = 0; // new sessions per source per second; 0 = no limit
    std::uint32_t dosBurst = 0;
};

// Rejects bad options naming the field; fills the default pin root.
Result<FastPathOptions> validateOptions(FastPathOptions options);

enum class XdpMode {
    Native,  // driver mode; falls back to generic with a warning when the driver has none
    Generic, // skb mode
};
Result<XdpMode> parseXdpMode(const std::string& text);

struct AttachedInterface {
    std::uint32_t ifindex = 0;
    std::string name;
    svr_iface iface{};
    std::uint32_t xdpProgramId = 0; // 0: no svr program attached (any more)
    std::string xdpMode;            // "native", "generic" or "none"
};

class FastPath {
public:
    static Result<std::unique_ptr<FastPath>> open(const FastPathOptions& options);
    ~FastPath();
    FastPath(const FastPath&) = delete;
    FastPath& operator=(const FastPath&) = delete;

    // Attaches XDP and TC egress to ifname, marks it a router interface, adds it to
    // tx_ports and gives it punt slots in xsks. Replaces an svr program already there;
    // refuses a foreign XDP program. On failure nothing of this attach remains.
    Status attach(const std::string& ifname, XdpMode mode = XdpMode::Native);
    Status detach(const std::string& ifname);
    Status detachAll();

    MapFds maps() const;
    const FastPathOptions& options() const { return options_; }
    // True when the maps were already pinned (sessions of an earlier run were adopted).
    bool adopted() const { return adopted_; }

    struct Impl;

private:
    explicit FastPath(std::unique_ptr<Impl> impl, FastPathOptions options, bool adopted);
    std::unique_ptr<Impl> impl_;
    FastPathOptions options_;
    bool adopted_ = false;
};

// Management without loading programs (svrctl): works on the pinned maps of a router.
Status detachInterface(const MapFds& maps, std::uint32_t ifindex);
Status detachAllInterfaces(const MapFds& maps);
Result<std::vector<AttachedInterface>> attachedInterfaces(const MapFds& maps);
// Removes the pinned maps and the pin directory (after detaching everything).
Status unpinMaps(const std::string& pinRoot);

// flock() on the pin directory: one loader at a time per router.
class PinLock {
public:
    static Result<PinLock> acquire(const std::string& pinRoot, bool create);

private:
    UniqueFd fd_;
};

} // namespace svr::fastpath

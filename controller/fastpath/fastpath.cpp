#include "fastpath/fastpath.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <functional>

#include <fmt/format.h>

#include "fastpath/netdev.hpp"
#include "fastpath/skeleton.hpp"
#include "svr_tc.skel.h"
#include "svr_xdp.skel.h"

namespace svr::fastpath {
namespace {

constexpr const char* kXdpProgramName = "svr_xdp_ingress";
// svr's own TC filter slot on clsact egress; other filters on the hook are left alone.
constexpr std::uint32_t kTcHandle = 0x5356; // "SV"
constexpr std::uint32_t kTcPriority = 1;

// Undo steps of a partial attach, run in reverse unless dismissed.
class Rollback {
public:
    Rollback() = default;
    Rollback(const Rollback&) = delete;
    Rollback& operator=(const Rollback&) = delete;
    ~Rollback()
    {
        for (auto step = steps_.rbegin(); step != steps_.rend(); ++step) {
            (*step)();
        }
    }
    void add(std::function<void()> step) { steps_.push_back(std::move(step)); }
    void dismiss() { steps_.clear(); }

private:
    std::vector<std::function<void()>> steps_;
};

Status makeDirectories(const std::string& path)
{
    std::size_t at = 1;
    while (at != std::string::npos) {
        at = path.find('/', at + 1);
        const std::string prefix = path.substr(0, at);
        if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
            return Error::fromErrno(errno, fmt::format("create directory {}", prefix));
        }
    }
    return {};
}

Status requireBpffs(const std::string& pinRoot)
{
    struct statfs info{};
    if (::statfs(pinRoot.c_str(), &info) != 0 || info.f_type != BPF_FS_MAGIC) {
        return Error::invalid(fmt::format(
            "{} is not on a bpffs (mount it: mount -t bpf bpf /sys/fs/bpf; note that `ip netns "
            "exec` hides it, use nsenter --net=/run/netns/NS)",
            pinRoot));
    }
    return {};
}

// The name of a loaded program, or "" if it is gone.
std::string programName(std::uint32_t id)
{
    UniqueFd fd(bpf_prog_get_fd_by_id(id));
    if (!fd.valid()) {
        return {};
    }
    bpf_prog_info info{};
    __u32 length = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0) {
        return {};
    }
    return info.name;
}

struct XdpState {
    std::uint32_t nativeId = 0;
    std::uint32_t genericId = 0;
};

Result<XdpState> queryXdp(std::uint32_t ifindex)
{
    bpf_xdp_query_opts query{};
    query.sz = sizeof(query);
    if (const int rc = bpf_xdp_query(static_cast<int>(ifindex), 0, &query); rc != 0) {
        return Error::fromErrno(-rc, fmt::format("query XDP on ifindex {}", ifindex));
    }
    return XdpState{query.drv_prog_id, query.skb_prog_id};
}

std::uint32_t modeFlags(XdpMode mode)
{
    return mode == XdpMode::Native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

// Detaches program `id` in `mode` only if it is still the one attached.
void detachXdpProgram(std::uint32_t ifindex, std::uint32_t id, XdpMode mode)
{
    UniqueFd old(bpf_prog_get_fd_by_id(id));
    bpf_xdp_attach_opts opts{};
    opts.sz = sizeof(opts);
    opts.old_prog_fd = old.get();
    const std::uint32_t flags = modeFlags(mode) | (old.valid() ? XDP_FLAGS_REPLACE : 0);
    bpf_xdp_detach(static_cast<int>(ifindex), flags, &opts);
}

Status attachXdpInMode(std::uint32_t ifindex, int progFd, XdpMode mode, std::uint32_t existingId)
{
    bpf_xdp_attach_opts opts{};
    opts.sz = sizeof(opts);
    std::uint32_t flags = modeFlags(mode);
    UniqueFd old;
    if (existingId != 0) {
        old.reset(bpf_prog_get_fd_by_id(existingId));
        if (old.valid()) {
            opts.old_prog_fd = old.get(); // atomic replace: no window without a program
            flags |= XDP_FLAGS_REPLACE;
        }
    } else {
        flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
    }
    if (const int rc = bpf_xdp_attach(static_cast<int>(ifindex), progFd, flags, &opts); rc != 0) {
        return Error::fromErrno(-rc, fmt::format("attach XDP ({}) to ifindex {}",
                                                 mode == XdpMode::Native ? "native" : "generic",
                                                 ifindex));
    }
    return {};
}

// Attaches in `mode` (native falls back to generic); returns the mode used.
Result<XdpMode> attachXdp(std::uint32_t ifindex, const std::string& ifname, int progFd,
                          XdpMode mode)
{
    auto state = queryXdp(ifindex);
    if (!state) {
        return state.error();
    }
    for (const std::uint32_t id : {state->nativeId, state->genericId}) {
        if (id == 0) {
            continue;
        }
        if (const std::string name = programName(id); name != kXdpProgramName) {
            return Error{std::make_error_code(std::errc::device_or_resource_busy),
                         fmt::format("interface {} already runs XDP program '{}' (id {}), not "
                                     "svr: detach it first",
                                     ifname, name, id)};
        }
    }
    // The kernel allows one mode at a time: an svr program in the other mode goes first.
    const auto clearOtherMode = [&](XdpMode wanted) {
        if (wanted == XdpMode::Native && state->genericId != 0) {
            detachXdpProgram(ifindex, state->genericId, XdpMode::Generic);
            state->genericId = 0;
        } else if (wanted == XdpMode::Generic && state->nativeId != 0) {
            detachXdpProgram(ifindex, state->nativeId, XdpMode::Native);
            state->nativeId = 0;
        }
    };
    XdpMode used = mode;
    clearOtherMode(mode);
    Status attached = attachXdpInMode(
        ifindex, progFd, mode, mode == XdpMode::Native ? state->nativeId : state->genericId);
    if (!attached && mode == XdpMode::Native &&
        (attached.error().code == std::errc::operation_not_supported ||
         attached.error().code == std::errc::invalid_argument)) {
        fmt::print(stderr, "svr: warning: native XDP unsupported on {} ({}); using generic mode\n",
                   ifname, attached.error().describe());
        used = XdpMode::Generic;
        clearOtherMode(used);
        attached = attachXdpInMode(ifindex, progFd, used, state->genericId);
    }
    if (!attached) {
        return attached.error();
    }
    return used;
}

bpf_tc_hook egressHook(std::uint32_t ifindex)
{
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = static_cast<int>(ifindex);
    hook.attach_point = BPF_TC_EGRESS;
    return hook;
}

bpf_tc_opts svrFilterSlot()
{
    bpf_tc_opts opts{};
    opts.sz = sizeof(opts);
    opts.handle = kTcHandle;
    opts.priority = kTcPriority;
    return opts;
}

void detachTc(std::uint32_t ifindex)
{
    bpf_tc_hook hook = egressHook(ifindex);
    bpf_tc_opts opts = svrFilterSlot();
    bpf_tc_detach(&hook, &opts); // ENOENT: nothing of ours there
}

// First free run of `count` xsks slots not used by another router interface.
Result<std::uint32_t> allocatePuntSlots(const Ifaces& ifaces, std::uint32_t ifindex,
                                        std::uint32_t count, std::uint32_t capacity)
{
    auto used = ifaces.routerInterfaces();
    if (!used) {
        return used.error();
    }
    for (std::uint32_t base = 0; base + count <= capacity; ++base) {
        bool free = true;
        for (const auto& [otherIndex, other] : *used) {
            const bool overlaps = base < other.punt_queue_base + other.punt_queue_count &&
                                  other.punt_queue_base < base + count;
            if (otherIndex != ifindex && overlaps) {
                free = false;
                base = other.punt_queue_base + other.punt_queue_count - 1;
                break;
            }
        }
        if (free) {
            return base;
        }
    }
    return Error{std::make_error_code(std::errc::no_space_on_device),
                 fmt::format("no {} free punt slots left in xsks (capacity {})", count, capacity)};
}

// The lowest stats slot no other router interface holds (slot 0 is the shared one).
Result<std::uint32_t> allocateStatsSlot(const Ifaces& ifaces, std::uint32_t ifindex,
                                        std::uint32_t capacity)
{
    auto used = ifaces.routerInterfaces();
    if (!used) {
        return used.error();
    }
    const std::uint32_t slots = std::min<std::uint32_t>(capacity, SVR_MAX_STATS_SLOTS);
    for (std::uint32_t slot = 1; slot < slots; ++slot) {
        const bool taken = std::any_of(used->begin(), used->end(), [&](const auto& other) {
            return other.first != ifindex && other.second.stats_slot == slot;
        });
        if (!taken) {
            return slot;
        }
    }
    return Error{std::make_error_code(std::errc::no_space_on_device),
                 fmt::format("no free slot left in the stats map: {} router interfaces at most",
                             slots - 1)};
}

std::string xdpModeName(std::uint32_t ifindex, std::uint32_t* programId)
{
    auto state = queryXdp(ifindex);
    *programId = 0;
    if (!state) {
        return "none";
    }
    if (state->nativeId != 0 && programName(state->nativeId) == kXdpProgramName) {
        *programId = state->nativeId;
        return "native";
    }
    if (state->genericId != 0 && programName(state->genericId) == kXdpProgramName) {
        *programId = state->genericId;
        return "generic";
    }
    return "none";
}

// libbpf warnings to stderr, without the kernel's note about the clsact qdisc that
// bpf_tc_hook_create reports when it already exists (an expected EEXIST).
int printLibbpf(enum libbpf_print_level level, const char* format, va_list args)
{
    if (level == LIBBPF_DEBUG) {
        return 0;
    }
    char line[1024];
    std::vsnprintf(line, sizeof(line), format, args);
    if (std::strstr(line, "Exclusivity flag on") != nullptr) {
        return 0;
    }
    return std::fputs(line, stderr);
}

constexpr int kSessionMaps = 3;

bool isSessionMap(const char* name)
{
    return std::strcmp(name, "sessions") == 0 || std::strcmp(name, "session_index") == 0 ||
           std::strcmp(name, "session_info") == 0;
}

} // namespace

struct FastPath::Impl {
    Skeleton<svr_xdp> xdp;
    Skeleton<svr_tc> tc;
    std::unique_ptr<SessionMaps> sessions;
};

Result<FastPathOptions> validateOptions(FastPathOptions options)
{
    if (Status name = validateRouterName(options.router); !name) {
        return Error::invalid("options.router: " + name.error().message);
    }
    if (options.pinRoot.empty()) {
        options.pinRoot = defaultPinRoot(options.router);
    }
    if (options.pinRoot.front() != '/' || options.pinRoot.size() < 2 ||
        options.pinRoot.back() == '/') {
        return Error::invalid(fmt::format(
            "options.pin_root '{}': an absolute directory path without a trailing '/'",
            options.pinRoot));
    }
    constexpr std::uint32_t kMinSessions = 2; // one session = two directions
    if (options.maxSessions < kMinSessions) {
        return Error::invalid(fmt::format("options.max_sessions {} must be at least {}",
                                          options.maxSessions, kMinSessions));
    }
    if (options.dosRatePerSecond != 0 && options.dosBurst == 0) {
        return Error::invalid("options.dos_burst must be at least 1 when dos_rate is set");
    }
    return options;
}

Result<XdpMode> parseXdpMode(const std::string& text)
{
    if (text == "native" || text == "drv") {
        return XdpMode::Native;
    }
    if (text == "generic" || text == "skb") {
        return XdpMode::Generic;
    }
    return Error::invalid(fmt::format("XDP mode '{}': use native or generic", text));
}

Result<PinLock> PinLock::acquire(const std::string& pinRoot, bool create)
{
    if (create) {
        if (Status made = makeDirectories(pinRoot); !made) {
            return made.error();
        }
    }
    PinLock lock;
    lock.fd_.reset(::open(pinRoot.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!lock.fd_.valid()) {
        return Error::fromErrno(errno, fmt::format("open {}", pinRoot));
    }
    if (::flock(lock.fd_.get(), LOCK_EX) != 0) {
        return Error::fromErrno(errno, fmt::format("lock {}", pinRoot));
    }
    return lock;
}

FastPath::FastPath(std::unique_ptr<Impl> impl, FastPathOptions options, bool adopted)
    : impl_(std::move(impl)), options_(std::move(options)), adopted_(adopted)
{
}

FastPath::~FastPath() = default;

Result<std::unique_ptr<FastPath>> FastPath::open(const FastPathOptions& requested)
{
    auto validated = validateOptions(requested);
    if (!validated) {
        return validated.error();
    }
    const FastPathOptions& options = *validated;
    auto lock = PinLock::acquire(options.pinRoot, true);
    if (!lock) {
        return lock.error();
    }
    if (Status bpffs = requireBpffs(options.pinRoot); !bpffs) {
        return bpffs.error();
    }

    static const bool logging = [] {
        libbpf_set_print(printLibbpf);
        return true;
    }();
    (void)logging;
    auto impl = std::make_unique<Impl>();
    bpf_object_open_opts openOpts{};
    openOpts.sz = sizeof(openOpts);
    openOpts.pin_root_path = options.pinRoot.c_str();
    auto xdp = Skeleton<svr_xdp>::open(&openOpts, "svr_xdp");
    if (!xdp) {
        return xdp.error();
    }
    impl->xdp = std::move(*xdp);

    int pinnedSessionMaps = 0;
    for (const MapLayout& layout : expectedMapLayouts()) {
        bpf_map* map = bpf_object__find_map_by_name(impl->xdp->obj, layout.name);
        if (map == nullptr) {
            return Error::invalid(fmt::format("svr_xdp has no map '{}'", layout.name));
        }
        if (bpf_map__type(map) != layout.type || bpf_map__key_size(map) != layout.keySize ||
            bpf_map__value_size(map) != layout.valueSize) {
            return Error::invalid(fmt::format(
                "svr_xdp map '{}' does not match bpf/include (rebuild: the contract changed)",
                layout.name));
        }
        const std::string path = options.pinRoot + "/" + layout.name;
        UniqueFd pinnedFd(bpf_obj_get(path.c_str()));
        if (!pinnedFd.valid()) {
            continue; // created and pinned by load
        }
        if (Status same = checkMapLayout(pinnedFd.get(), layout, path); !same) {
            return same.error();
        }
        bpf_map_info info{};
        __u32 length = sizeof(info);
        if (bpf_obj_get_info_by_fd(pinnedFd.get(), &info, &length) == 0) {
            // Adopt the existing size: a resize would need a new map and lose the sessions.
            bpf_map__set_max_entries(map, info.max_entries);
            if (layout.type == BPF_MAP_TYPE_DEVMAP_HASH &&
                info.map_flags == (bpf_map__map_flags(map) | BPF_F_RDONLY_PROG)) {
                // The kernel adds BPF_F_RDONLY_PROG to a devmap it creates, and libbpf 1.1
                // compares flags literally when it reuses a pin.
                bpf_map__set_map_flags(map, info.map_flags);
            }
        }
        pinnedSessionMaps += isSessionMap(layout.name) ? 1 : 0;
    }
    // The records, their index and its seed belong together: never adopt part of them.
    if (pinnedSessionMaps != 0 && pinnedSessionMaps != kSessionMaps) {
        return Error::invalid(fmt::format(
            "{} holds {} of the {} session table maps (sessions, session_index, session_info): "
            "detach with --unpin and attach again",
            options.pinRoot, pinnedSessionMaps, kSessionMaps));
    }
    const bool adopted = pinnedSessionMaps == kSessionMaps;
    if (!adopted) {
        if (const int rc = bpf_map__set_max_entries(impl->xdp->maps.sessions, options.maxSessions);
            rc != 0) {
            return Error::fromErrno(-rc, "size the sessions map");
        }
        if (const int rc = bpf_map__set_max_entries(impl->xdp->maps.session_index,
                                                    sessionBucketsFor(options.maxSessions));
            rc != 0) {
            return Error::fromErrno(-rc, "size the session_index map");
        }
    }
    impl->xdp->rodata->svr_xdp_cfg.dos_new_sessions_per_s = options.dosRatePerSecond;
    impl->xdp->rodata->svr_xdp_cfg.dos_burst = options.dosBurst;
    if (Status loaded = impl->xdp.load("svr_xdp"); !loaded) {
        return loaded.error();
    }

    // TC shares the XDP object's maps (pinned or not) by fd.
    auto tc = Skeleton<svr_tc>::open(nullptr, "svr_tc");
    if (!tc) {
        return tc.error();
    }
    impl->tc = std::move(*tc);
    for (const MapLayout& layout : expectedMapLayouts()) {
        bpf_map* map = bpf_object__find_map_by_name(impl->tc->obj, layout.name);
        if (map == nullptr) {
            continue; // TC may use fewer maps
        }
        bpf_map__set_pin_path(map, nullptr);
        const bpf_map* shared = bpf_object__find_map_by_name(impl->xdp->obj, layout.name);
        if (const int rc = bpf_map__reuse_fd(map, bpf_map__fd(shared)); rc != 0) {
            return Error::fromErrno(-rc, fmt::format("share map '{}' with svr_tc", layout.name));
        }
    }
    if (Status loaded = impl->tc.load("svr_tc"); !loaded) {
        return loaded.error();
    }
    const auto& m = impl->xdp->maps;
    auto sessions = SessionMaps::open(bpf_map__fd(m.sessions), bpf_map__fd(m.session_index),
                                      bpf_map__fd(m.session_info));
    if (!sessions) {
        return sessions.error();
    }
    impl->sessions = std::move(*sessions);
    return std::unique_ptr<FastPath>(new FastPath(std::move(impl), options, adopted));
}

MapFds FastPath::maps() const
{
    const auto& m = impl_->xdp->maps;
    return MapFds{impl_->sessions.get(), bpf_map__fd(m.ifaces),   bpf_map__fd(m.local_addrs),
                  bpf_map__fd(m.stats),    bpf_map__fd(m.tx_ports), bpf_map__fd(m.xsks),
                  bpf_map__fd(m.dos_buckets)};
}

Status FastPath::attach(const std::string& ifname, XdpMode mode)
{
    auto lock = PinLock::acquire(options_.pinRoot, false);
    if (!lock) {
        return lock.error();
    }
    auto index = interfaceIndex(ifname);
    if (!index) {
        return index.error();
    }
    const std::uint32_t ifindex = *index;
    if (ifindex >= SVR_MAX_IFINDEX) {
        return Error::invalid(fmt::format("interface {} has ifindex {}, beyond the {} slots of "
                                          "the ifaces map",
                                          ifname, ifindex, SVR_MAX_IFINDEX));
    }
    const MapFds fds = maps();
    Ifaces ifaces(fds.ifaces);
    TxPorts txPorts(fds.txPorts);
    Rollback rollback;

    auto previous = ifaces.get(ifindex);
    if (!previous) {
        return previous.error();
    }
    svr_iface iface = *previous;
    if (!(iface.flags & SVR_IFACE_F_ROUTER) || iface.punt_queue_count == 0) {
        // Keep an interface's slots across re-attaches: bound punt sockets stay valid.
        const std::uint32_t queues = interfaceRxQueues(ifname);
        auto base = allocatePuntSlots(ifaces, ifindex, queues,
                                      bpf_map__max_entries(impl_->xdp->maps.xsks));
        if (!base) {
            return base.error();
        }
        iface.punt_queue_base = *base;
        iface.punt_queue_count = queues;
    }
    if (!(iface.flags & SVR_IFACE_F_ROUTER) || iface.stats_slot == 0) {
        // Counters stay with an interface across re-attaches; a new one starts from zero.
        auto slot = allocateStatsSlot(ifaces, ifindex,
                                      bpf_map__max_entries(impl_->xdp->maps.stats));
        if (!slot) {
            return slot.error();
        }
        if (Status cleared = StatsTable(fds.stats, fds.ifaces).clearSlot(*slot); !cleared) {
            return cleared;
        }
        iface.stats_slot = *slot;
    }
    iface.flags |= SVR_IFACE_F_ROUTER;
    if (Status set = ifaces.set(ifindex, iface); !set) {
        return set;
    }
    rollback.add([&ifaces, ifindex, old = *previous] { (void)ifaces.set(ifindex, old); });

    auto wasTxPort = txPorts.contains(ifindex);
    if (!wasTxPort) {
        return wasTxPort.error();
    }
    if (Status added = txPorts.add(ifindex); !added) {
        return added;
    }
    if (!*wasTxPort) {
        rollback.add([&txPorts, ifindex] { (void)txPorts.remove(ifindex); });
    }

    bpf_tc_hook hook = egressHook(ifindex);
    if (const int rc = bpf_tc_hook_create(&hook); rc != 0 && rc != -EEXIST) {
        return Error::fromErrno(-rc, fmt::format("create clsact qdisc on {}", ifname));
    }
    bpf_tc_opts tcOpts = svrFilterSlot();
    tcOpts.prog_fd = bpf_program__fd(impl_->tc->progs.svr_tc_egress);
    tcOpts.flags = BPF_TC_F_REPLACE;
    if (const int rc = bpf_tc_attach(&hook, &tcOpts); rc != 0) {
        return Error::fromErrno(-rc, fmt::format("attach TC egress to {}", ifname));
    }
    rollback.add([ifindex] { detachTc(ifindex); });

    auto used = attachXdp(ifindex, ifname,
                          bpf_program__fd(impl_->xdp->progs.svr_xdp_ingress), mode);
    if (!used) {
        return used.error();
    }
    rollback.dismiss();
    return {};
}

Status FastPath::detach(const std::string& ifname)
{
    auto lock = PinLock::acquire(options_.pinRoot, false);
    if (!lock) {
        return lock.error();
    }
    auto index = interfaceIndex(ifname);
    if (!index) {
        return index.error();
    }
    return detachInterface(maps(), *index);
}

Status FastPath::detachAll()
{
    auto lock = PinLock::acquire(options_.pinRoot, false);
    if (!lock) {
        return lock.error();
    }
    return detachAllInterfaces(maps());
}

Status detachInterface(const MapFds& maps, std::uint32_t ifindex)
{
    std::uint32_t programId = 0;
    const std::string mode = xdpModeName(ifindex, &programId);
    if (programId != 0) {
        detachXdpProgram(ifindex, programId,
                         mode == "native" ? XdpMode::Native : XdpMode::Generic);
    }
    detachTc(ifindex);
    Ifaces ifaces(maps.ifaces);
    if (ifindex > 0 && ifindex < SVR_MAX_IFINDEX) {
        auto iface = ifaces.get(ifindex);
        if (!iface) {
            return iface.error();
        }
        Xsks xsks(maps.xsks);
        for (std::uint32_t slot = 0; slot < iface->punt_queue_count; ++slot) {
            (void)xsks.remove(iface->punt_queue_base + slot);
        }
        if (Status cleared = ifaces.clear(ifindex); !cleared) {
            return cleared;
        }
    }
    auto removed = TxPorts(maps.txPorts).remove(ifindex);
    if (!removed) {
        return removed.error();
    }
    return {};
}

Status detachAllInterfaces(const MapFds& maps)
{
    auto attached = Ifaces(maps.ifaces).routerInterfaces();
    if (!attached) {
        return attached.error();
    }
    for (const auto& [ifindex, iface] : *attached) {
        if (Status detached = detachInterface(maps, ifindex); !detached) {
            return detached;
        }
    }
    return {};
}

Result<std::vector<AttachedInterface>> attachedInterfaces(const MapFds& maps)
{
    auto attached = Ifaces(maps.ifaces).routerInterfaces();
    if (!attached) {
        return attached.error();
    }
    std::vector<AttachedInterface> result;
    for (const auto& [ifindex, iface] : *attached) {
        AttachedInterface one;
        one.ifindex = ifindex;
        one.name = interfaceName(ifindex);
        one.iface = iface;
        one.xdpMode = xdpModeName(ifindex, &one.xdpProgramId);
        result.push_back(std::move(one));
    }
    return result;
}

Status unpinMaps(const std::string& pinRoot)
{
    for (const MapLayout& layout : expectedMapLayouts()) {
        const std::string path = pinRoot + "/" + layout.name;
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
            return Error::fromErrno(errno, fmt::format("unpin {}", path));
        }
    }
    if (::rmdir(pinRoot.c_str()) != 0 && errno != ENOENT) {
        return Error::fromErrno(errno, fmt::format("remove {}", pinRoot));
    }
    return {};
}

} // namespace svr::fastpath

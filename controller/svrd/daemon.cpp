#include "svrd/daemon.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "config/loader.hpp"
#include "fastpath/maps.hpp"
#include "fastpath/netdev.hpp"
#include "svrd/http_server.hpp"
#include "svrd/lifecycle.hpp"
#include "svrd/log.hpp"
#include "svrd/pipeline.hpp"
#include "svrd/snapshot.hpp"
#include "svrd/systemd_notify.hpp"

namespace svr::svrd {
namespace {

constexpr std::uint64_t kTickNs = 1'000'000'000ULL;
constexpr int kHeldRetryMs = 10;
constexpr std::size_t kFramesPerPoll = 256;
constexpr int kDrainRounds = 8; // then the lock goes to the other loops and the timers
// Without IPFIX, sessions age by their deadlines (ageDueSessions); a full table scan still
// runs this often for entries svrd has no record of (svrctl sessions, half pairs).
constexpr std::uint64_t kFullScanEveryTicks = 30;
// Deadline checks run in slices (two lookups each, under the lock the loops wait for): at
// most this many every kAgingSliceNs, 200k checks/s, above the new-session rate svrd reaches.
constexpr std::size_t kAgingChecksPerSlice = 20'000;
constexpr std::uint64_t kAgingSliceNs = 100'000'000ULL;

// One event loop per punt socket (interface, rx queue): its thread owns the socket's RX
// ring and fill ring, receives and copies frames without the lock, then handles the batch
// under the state lock with its own Pipeline (held sessions, MAC cache). First design: one
// mutex (Daemon::stateMutex_) guards the whole decision + install step, the shared state
// (session index, NAT and waypoint allocators, policy, fabric, counters) and every socket's
// TX ring (a first packet leaves through the egress interface's socket, which another loop
// may own). Sharding by flow would let loops run the decision in parallel; see
// docs/architecture.md.
struct QueueLoop {
    std::uint32_t ifindex = 0;
    std::uint32_t queue = 0;
    fastpath::PuntSocket* socket = nullptr;
    std::unique_ptr<Pipeline> pipeline;
    std::string receivedCounter; // punt.received.<interface>.q<queue>
    std::thread thread;
};

class Daemon {
public:
    Daemon(DaemonOptions options, NeighbourTable neighbours)
        : options_(std::move(options)), neighbours_(std::move(neighbours))
    {
    }
    ~Daemon() { stopLoops(); }

    Status start(config::Config config);
    int loop(int signalFd);

private:
    Status applyConfig(config::Config config);
    Status attachPort(const config::Interface& interface);
    Status syncLocalAddresses();
    void reload();
    // Returns the status document; the caller writes it once the state lock is released
    // (file I/O under the lock stalled every event loop for ~0.3 ms a second).
    std::string tick(std::uint64_t nowNs);
    std::string statusText() const;
    void writeStatus(const std::string& text) const;
    Status startHttp();
    // Sends the first packets the pipelines queued; true while a device still pushes back.
    // Under stateMutex_.
    bool flushTransmits();
    // One thread per punt socket of every attached port; loops of sockets that survived a
    // reload keep their Pipeline.
    Status startLoops();
    // Stops and joins every loop thread (the loops stay, for startLoops).
    void stopLoops();
    void runQueue(QueueLoop& loop);
    // Reads loop's RX ring until a frame is there (true) or untilNs passes (false).
    bool spinForFrame(QueueLoop& loop, std::uint64_t untilNs);
    void dropHeld(const char* why);

    DaemonOptions options_;
    RouterState state_;
    NeighbourTable neighbours_;
    std::unique_ptr<fastpath::FastPath> fastPath_;
    std::set<std::string> localAddresses_; // text form, what we wrote to local_addrs
    SnapshotBoard snapshots_;
    std::unique_ptr<LoopRequests> httpRequests_;
    std::mutex stateMutex_;
    std::vector<std::unique_ptr<QueueLoop>> loops_;
    UniqueFd stopEvent_; // readable while the loops must stop
    std::atomic<bool> stopping_{false};
    std::uint64_t ticks_ = 0;
    std::unique_ptr<HttpServer> http_; // declared last: its thread stops before the maps close
};

Status Daemon::attachPort(const config::Interface& interface)
{
    if (Status attached = fastPath_->attach(interface.name, options_.xdpMode); !attached) {
        return Error{attached.error().code,
                     fmt::format("attach to interface {}: {}", interface.name,
                                 attached.error().message)};
    }
    auto ifindex = fastpath::interfaceIndex(interface.name);
    if (!ifindex) {
        return ifindex.error();
    }
    auto mac = fastpath::interfaceMac(interface.name);
    if (!mac) {
        return mac.error();
    }
    auto iface = fastpath::Ifaces(state_.maps.ifaces).get(*ifindex);
    if (!iface) {
        return iface.error();
    }
    Port port;
    port.name = interface.name;
    port.ifindex = *ifindex;
    port.mac = *mac;
    for (std::uint32_t queue = 0; queue < std::max<std::uint32_t>(iface->punt_queue_count, 1);
         ++queue) {
        auto socket = fastpath::PuntSocket::open(state_.maps, interface.name, queue);
        if (!socket) {
            return Error{socket.error().code,
                         fmt::format("punt socket on {} queue {}: {}", interface.name, queue,
                                     socket.error().message)};
        }
        port.sockets.push_back(std::move(*socket));
    }
    logInfo("interface {} (ifindex {}) attached, {} punt queue(s)", port.name, port.ifindex,
            port.sockets.size());
    state_.ports[port.ifindex] = std::move(port);
    return {};
}

Status Daemon::syncLocalAddresses()
{
    fastpath::LocalAddrs local(state_.maps.localAddrs);
    std::set<std::string> wanted;
    for (const auto& interface : state_.config->interfaces) {
        std::vector<config::IpAddress> addresses;
        for (const auto& prefix : interface.addresses) {
            addresses.push_back(prefix.address);
        }
        if (interface.waypoint) {
            addresses.push_back(interface.waypoint->address);
        }
        for (const auto& configured : addresses) {
            svr_local_addr value{};
            if (interface.waypoint && interface.waypoint->address == configured) {
                // First packets from peers arrive on these ports (punt reason WAYPOINT).
                value.flags = SVR_LOCAL_F_WAYPOINT;
                value.waypoint_port_min = interface.waypoint->ports.first;
                value.waypoint_port_max = interface.waypoint->ports.last;
            }
            const fastpath::IpAddress address = toFastpathAddress(configured);
            if (Status added = local.add(address, value); !added) {
                return added.error();
            }
            wanted.insert(fastpath::formatIpAddress(address));
        }
    }
    for (const auto& stale : localAddresses_) {
        if (!wanted.contains(stale)) {
            if (auto address = fastpath::parseIpAddress(stale)) {
                (void)local.remove(*address);
            }
        }
    }
    localAddresses_ = std::move(wanted);
    return {};
}

Status Daemon::applyConfig(config::Config config)
{
    auto shared = std::make_shared<const config::Config>(std::move(config));
    auto fabric = Fabric::build(*shared);
    if (!fabric) {
        return fabric.error(); // nothing changed yet
    }
    // Interfaces: attach the new ones first, so a failure leaves the running configuration
    // whole (the ones attached just now are detached again); then detach the removed ones.
    std::vector<std::string> attachedNow;
    for (const auto& interface : shared->interfaces) {
        if (state_.portByName(interface.name) != nullptr) {
            continue;
        }
        if (Status attached = attachPort(interface); !attached) {
            // (At start-up nothing is rolled back: interfaces a previous svrd attached keep
            // forwarding while this one exits.)
            for (const auto& name : state_.config ? attachedNow : std::vector<std::string>{}) {
                for (auto it = state_.ports.begin(); it != state_.ports.end(); ++it) {
                    if (it->second.name == name) {
                        state_.ports.erase(it);
                        break;
                    }
                }
                (void)fastPath_->detach(name);
            }
            return attached;
        }
        attachedNow.push_back(interface.name);
    }
    for (auto it = state_.ports.begin(); it != state_.ports.end();) {
        if (shared->findInterface(it->second.name) == nullptr) {
            logInfo("interface {} no longer configured: detaching", it->second.name);
            const std::string name = it->second.name;
            it = state_.ports.erase(it); // closes its punt sockets first
            (void)fastPath_->detach(name);
        } else {
            ++it;
        }
    }
    state_.config = shared;
    state_.policy = std::make_unique<policy::PolicyEngine>(shared);
    if (Status synced = syncLocalAddresses(); !synced) {
        return synced;
    }
    // An unreachable collector is logged, not fatal: forwarding matters more than records.
    if (Status exporting = configureFlowExport(state_.flowExport, shared->ipfix); !exporting) {
        logEvent(LogLevel::warning, "ipfix.unavailable",
                 {{"error", exporting.error().describe()}});
    }
    // NAT pools of the new configuration, holding the ports of the sessions that stay.
    state_.nat = natPoolsOf(*shared);
    for (const auto& [id, record] : state_.sessions.sessions()) {
        if (record.nat && state_.nat.hasAddress(record.nat->address)) {
            (void)state_.nat.reserve(record.nat->address, record.nat->port);
        }
    }
    // Waypoint ports likewise; the replay memory outlives the reload.
    if (state_.fabric) {
        (*fabric)->inheritReplayGuards(*state_.fabric);
    }
    state_.fabric = std::move(*fabric);
    for (const auto& [id, record] : state_.sessions.sessions()) {
        if (record.waypoint) {
            (void)state_.fabric->ports().reserve(record.waypoint->localWaypoint,
                                                 record.waypoint->peerWaypoint,
                                                 record.waypoint->ports);
        }
    }
    return {};
}

Status Daemon::start(config::Config config)
{
    const std::string router = options_.router.empty() ? config.routerName : options_.router;
    setLogRouter(router);
    fastpath::FastPathOptions fastPathOptions;
    fastPathOptions.router = router;
    fastPathOptions.dosRatePerSecond = config.dos.newSessionsPerSecond;
    fastPathOptions.dosBurst = config.dos.burst;
    auto fastPath = fastpath::FastPath::open(fastPathOptions);
    if (!fastPath) {
        return fastPath.error();
    }
    fastPath_ = std::move(*fastPath);
    state_.maps = fastPath_->maps();
    if (auto capacity = fastpath::SessionTable(state_.maps.sessions).capacity()) {
        state_.sessions.reserve(*capacity / 2); // two entries per session
        state_.aging.reserve(*capacity / 2);
    }
    options_.router = router;
    if (options_.statusFile.empty()) {
        options_.statusFile = "/run/svr/" + router + "/svrd-status.json";
    }
    logInfo("router {}: fast path {} ({})", router,
            fastPath_->adopted() ? "re-adopted" : "loaded", fastPath_->options().pinRoot);
    if (Status applied = applyConfig(std::move(config)); !applied) {
        return applied;
    }
    if (fastPath_->adopted()) {
        auto adopted = adoptSessions(state_);
        if (!adopted) {
            return adopted.error();
        }
        logInfo("re-adopted {} session(s) from the pinned session table", *adopted);
        auto removed = removeUnpermittedSessions(state_);
        if (!removed) {
            logInfo("policy re-check after adoption: {}", removed.error().describe());
        }
    }
    if (Status http = startHttp(); !http) {
        return http;
    }
    return startLoops();
}

// /metrics and /api/v1 on their own thread; the listen address is read once, at start.
Status Daemon::startHttp()
{
    auto requests = LoopRequests::create();
    if (!requests) {
        return requests.error();
    }
    httpRequests_ = std::move(*requests);
    std::string address = state_.config->http.address.toString();
    std::uint16_t port = state_.config->http.port;
    if (!options_.httpListen.empty()) {
        auto listen = parseListen(options_.httpListen);
        if (!listen) {
            return Error{listen.error().code, "--http-listen " + listen.error().message};
        }
        std::tie(address, port) = *listen;
    }
    snapshots_.publish(takeSnapshot(state_, options_.router, fastpath::monotonicNowNs()));
    fastpath::SessionMaps* const sessionMaps = state_.maps.sessions;
    LoopRequests* requestsToLoop = httpRequests_.get();
    auto server = HttpServer::start(
        address, port,
        ApiBackend{
            .snapshot = [this] { return snapshots_.latest(); },
            .sessions = [sessionMaps] { return fastpath::SessionTable(sessionMaps).list(); },
            .deleteSession =
                [requestsToLoop](std::uint64_t id) {
                    return requestsToLoop->deleteSession(id, kLoopAnswerTimeout);
                },
        });
    if (!server) {
        return server.error();
    }
    http_ = std::move(*server);
    logInfo("http endpoint: /metrics and /api/v1 on {}:{}",
            address.find(':') == std::string::npos ? address : "[" + address + "]", http_->port());
    return {};
}

void Daemon::reload()
{
    const ReloadNotification reloading;
    logInfo("SIGHUP: reloading {}", options_.configFile);
    auto loaded = config::loadConfigFile(options_.configFile);
    if (!loaded) {
        state_.counters.add("config.reload-rejected");
        logInfo("reload rejected, keeping the running configuration: {}",
                loaded.error().describe());
        return;
    }
    dropHeld("reload");
    if (Status applied = applyConfig(std::move(*loaded)); !applied) {
        state_.counters.add("config.reload-failed");
        logInfo("reload failed, the running configuration stays: {}",
                applied.error().describe());
        return;
    }
    state_.counters.add("config.reloaded");
    auto removed = removeUnpermittedSessions(state_);
    if (!removed) {
        logInfo("policy re-check: {}", removed.error().describe());
        return;
    }
    logInfo("configuration reloaded; {} session(s) no longer permitted removed", *removed);
}

std::string Daemon::tick(std::uint64_t nowNs)
{
    const bool fullScan = state_.flowExport != nullptr || ++ticks_ % kFullScanEveryTicks == 0;
    if (fullScan) {
        if (auto expired = expireSessions(state_, nowNs); !expired) {
            logInfo("expiry scan: {}", expired.error().describe());
        }
    }
    systemdNotifier().tick(state_.sessions.size());
    snapshots_.publish(takeSnapshot(state_, options_.router, nowNs));
    return statusText();
}

std::string Daemon::statusText() const
{
    nlohmann::json status;
    status["router"] = options_.router;
    status["config"] = options_.configFile;
    status["sessions_active"] = state_.sessions.size();
    status["counters"] = state_.counters.all();
    const LatencySamples& latency = state_.firstPacketLatency;
    status["first_packet_latency_us"] = {
        {"samples", latency.count()},
        {"p50", static_cast<double>(latency.quantile(0.5)) / 1000.0},
        {"p99", static_cast<double>(latency.quantile(0.99)) / 1000.0},
    };
    return status.dump(2) + "\n";
}

void Daemon::writeStatus(const std::string& text) const
{
    std::error_code error;
    const std::filesystem::path path(options_.statusFile);
    std::filesystem::create_directories(path.parent_path(), error);
    const std::filesystem::path temporary = path.string() + ".tmp";
    {
        std::ofstream out(temporary);
        out << text;
        if (!out) {
            return;
        }
    }
    std::filesystem::rename(temporary, path, error); // readers never see half a file
}

void Daemon::dropHeld(const char* why)
{
    for (auto& loop : loops_) {
        loop->pipeline->dropHeld(why);
    }
}

Status Daemon::startLoops()
{
    if (!stopEvent_.valid()) {
        stopEvent_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!stopEvent_.valid()) {
            return Error::fromErrno(errno, "eventfd for the event loops");
        }
    }
    std::vector<std::unique_ptr<QueueLoop>> loops;
    for (auto& [ifindex, port] : state_.ports) {
        for (std::uint32_t queue = 0; queue < port.sockets.size(); ++queue) {
            fastpath::PuntSocket* socket = port.sockets[queue].get();
            std::unique_ptr<QueueLoop> loop;
            for (auto& existing : loops_) {
                if (existing && existing->socket == socket && existing->ifindex == ifindex) {
                    loop = std::move(existing); // keeps its held sessions
                }
            }
            if (!loop) {
                loop = std::make_unique<QueueLoop>();
                loop->ifindex = ifindex;
                loop->queue = queue;
                loop->socket = socket;
                loop->pipeline = std::make_unique<Pipeline>(state_, neighbours_);
                loop->receivedCounter = fmt::format("punt.received.{}.q{}", port.name, queue);
            }
            loops.push_back(std::move(loop));
        }
    }
    for (auto& gone : loops_) {
        if (gone) {
            gone->pipeline->dropHeld("reload"); // its socket closed with its interface
        }
    }
    loops_ = std::move(loops);
    stopping_ = false;
    for (auto& loop : loops_) {
        QueueLoop* running = loop.get();
        loop->thread = std::thread([this, running] { runQueue(*running); });
    }
    return {};
}

void Daemon::stopLoops()
{
    stopping_ = true;
    if (stopEvent_.valid()) {
        const std::uint64_t one = 1;
        (void)!::write(stopEvent_.get(), &one, sizeof(one));
    }
    for (auto& loop : loops_) {
        if (loop->thread.joinable()) {
            loop->thread.join();
        }
    }
    if (stopEvent_.valid()) {
        std::uint64_t drained = 0;
        (void)!::read(stopEvent_.get(), &drained, sizeof(drained));
    }
}

void Daemon::runQueue(QueueLoop& loop)
{
    bool retrySoon = false; // held sessions or a device that pushed back
    std::vector<fastpath::PuntFrame> batch;
    const std::uint64_t busyPollNs = std::uint64_t{options_.busyPollUs} * 1000;
    std::uint64_t lastFrameNs = 0;
    while (!stopping_) {
        pollfd fds[2] = {{loop.socket->fd(), POLLIN, 0}, {stopEvent_.get(), POLLIN, 0}};
        int ready = 0;
        if (busyPollNs != 0 && spinForFrame(loop, lastFrameNs + busyPollNs)) {
            fds[0].revents = POLLIN;
            ready = 1;
        } else {
            ready = ::poll(fds, 2, retrySoon ? kHeldRetryMs : -1);
        }
        if (ready < 0 && errno != EINTR) {
            logInfo("poll queue {} of ifindex {}: {}", loop.queue, loop.ifindex,
                    std::strerror(errno));
            return;
        }
        if (stopping_) {
            return;
        }
        // Drain the ring (bounded) before taking the lock: a full RX ring makes the kernel
        // drop punts, and copying frames out needs nothing shared.
        batch.clear();
        bool receiveFailed = false;
        if (ready > 0 && (fds[0].revents & POLLIN)) {
            for (int round = 0; round < kDrainRounds; ++round) {
                auto frames = loop.socket->receive(0, kFramesPerPoll);
                if (!frames) {
                    receiveFailed = true;
                    break;
                }
                const std::size_t received = frames->size();
                for (auto& frame : *frames) {
                    batch.push_back(std::move(frame));
                }
                if (received < kFramesPerPoll) {
                    break;
                }
            }
        }
        const LogBatch logs; // the batch's log lines leave in one write, after the unlock
        const std::lock_guard lock(stateMutex_);
        if (receiveFailed) {
            state_.counters.add("punt.receive-errors");
        }
        if (!batch.empty()) {
            state_.counters.add(loop.receivedCounter, batch.size());
            lastFrameNs = fastpath::monotonicNowNs();
        }
        for (auto& frame : batch) {
            loop.pipeline->handle(std::move(frame), loop.ifindex);
        }
        if (loop.pipeline->holding()) {
            loop.pipeline->retryHeld(fastpath::monotonicNowNs());
        }
        const bool backlog = flushTransmits();
        retrySoon = backlog || loop.pipeline->holding();
    }
}

// A spin-wait hint to the CPU: less power, and the core's other hyperthread runs meanwhile.
void cpuRelax()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

bool Daemon::spinForFrame(QueueLoop& loop, std::uint64_t untilNs)
{
    while (!stopping_) {
        if (loop.socket->rxReady()) {
            return true;
        }
        if (fastpath::monotonicNowNs() >= untilNs) {
            return false;
        }
        cpuRelax();
    }
    return false;
}

int Daemon::loop(int signalFd)
{
    std::uint64_t nextTick = fastpath::monotonicNowNs() + kTickNs;
    std::uint64_t nextAging = fastpath::monotonicNowNs() + kAgingSliceNs;
    {
        const std::lock_guard lock(stateMutex_);
        writeStatus(statusText());
        logEvent("daemon.running",
                 {{"sessions", state_.sessions.size()},
                  {"event_loops", loops_.size()},
                  {"busy_poll_us", options_.busyPollUs}});
        systemdNotifier().ready(state_.sessions.size());
    }
    for (;;) {
        pollfd fds[2] = {{signalFd, POLLIN, 0}, {httpRequests_->fd(), POLLIN, 0}};
        const std::uint64_t now = fastpath::monotonicNowNs();
        const std::uint64_t wakeAt = std::min(nextTick, nextAging);
        const int timeoutMs =
            now >= wakeAt ? 0 : static_cast<int>((wakeAt - now) / 1'000'000 + 1);
        const int ready = ::poll(fds, 2, timeoutMs);
        if (ready < 0 && errno != EINTR) {
            logInfo("poll: {}", std::strerror(errno));
            stopLoops();
            return 1;
        }
        if (ready > 0 && (fds[0].revents & POLLIN)) {
            signalfd_siginfo info{};
            if (::read(signalFd, &info, sizeof(info)) == sizeof(info)) {
                // Every loop joined first: a reload may close sockets they own.
                stopLoops();
                const std::lock_guard lock(stateMutex_);
                flushTransmits(); // before the sockets may close
                if (info.ssi_signo == SIGHUP) {
                    reload();
                    if (Status started = startLoops(); !started) {
                        logInfo("restart the event loops: {}", started.error().describe());
                        return 1;
                    }
                    continue;
                }
                logInfo("signal {}: stopping; the fast path keeps forwarding", info.ssi_signo);
                systemdNotifier().stopping();
                dropHeld("shutdown");
                writeStatus(statusText());
                return 0;
            }
        }
        std::string status;
        {
            const LogBatch logs;
            const std::lock_guard lock(stateMutex_);
            if (ready > 0 && (fds[1].revents & POLLIN)) {
                httpRequests_->serve(
                    [this](std::uint64_t id) { return deleteSession(state_, id); });
            }
            const std::uint64_t after = fastpath::monotonicNowNs();
            if (after >= nextAging) {
                if (auto aged = ageDueSessions(state_, after, kAgingChecksPerSlice); !aged) {
                    logInfo("aging: {}", aged.error().describe());
                }
                nextAging = after + kAgingSliceNs;
            }
            if (after >= nextTick) {
                status = tick(after);
                nextTick = after + kTickNs;
            }
        }
        if (!status.empty()) {
            writeStatus(status);
        }
    }
}

bool Daemon::flushTransmits()
{
    bool backlog = false;
    for (auto& [ifindex, port] : state_.ports) {
        for (auto& socket : port.sockets) {
            if (!socket->txPending()) {
                continue;
            }
            if (Status flushed = socket->flush(); !flushed) {
                state_.counters.add("tx.kick-errors");
            }
            backlog = backlog || socket->txPending();
        }
    }
    return backlog;
}

std::terminate_handler previousTerminate = nullptr;

// Log lines a batch still holds are written before the process dies.
[[noreturn]] void flushLogsAndTerminate()
{
    flushLogBatch();
    if (previousTerminate != nullptr) {
        previousTerminate();
    }
    std::abort();
}

} // namespace

int runDaemon(const DaemonOptions& options)
{
    previousTerminate = std::set_terminate(flushLogsAndTerminate);
    // Signals arrive through the signalfd only; block them before anything can be interrupted.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    if (::sigprocmask(SIG_BLOCK, &signals, nullptr) != 0) {
        logInfo("block signals: {}", std::strerror(errno));
        return 1;
    }
    UniqueFd signalFd(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signalFd.valid()) {
        logInfo("signalfd: {}", std::strerror(errno));
        return 1;
    }
    auto config = config::loadConfigFile(options.configFile);
    if (!config) {
        logInfo("{}: {}", options.configFile, config.error().describe());
        return 1;
    }
    auto neighbours = NeighbourTable::open();
    if (!neighbours) {
        logInfo("{}", neighbours.error().describe());
        return 1;
    }
    Daemon daemon(options, std::move(*neighbours));
    if (Status started = daemon.start(std::move(*config)); !started) {
        logInfo("cannot start: {}", started.error().describe());
        return 1;
    }
    return daemon.loop(signalFd.get());
}

} // namespace svr::svrd

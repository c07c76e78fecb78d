#include "svrd/daemon.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

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
constexpr int kDrainRounds = 8; // then the other sockets and the timers get their turn

class Daemon {
public:
    Daemon(DaemonOptions options, NeighbourTable neighbours)
        : options_(std::move(options)), neighbours_(std::move(neighbours)),
          pipeline_(state_, neighbours_)
    {
    }

    Status start(config::Config config);
    int loop(int signalFd);

private:
    Status applyConfig(config::Config config);
    Status attachPort(const config::Interface& interface);
    Status syncLocalAddresses();
    void reload();
    void tick(std::uint64_t nowNs);
    void writeStatus() const;
    Status startHttp();
    // Sends the first packets the pipeline queued; true while a device still pushes back.
    bool flushTransmits();

    DaemonOptions options_;
    RouterState state_;
    NeighbourTable neighbours_;
    Pipeline pipeline_;
    std::unique_ptr<fastpath::FastPath> fastPath_;
    std::set<std::string> localAddresses_; // text form, what we wrote to local_addrs
    SnapshotBoard snapshots_;
    std::unique_ptr<LoopRequests> httpRequests_;
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
    return startHttp();
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
    const int sessionsFd = state_.maps.sessions;
    LoopRequests* requestsToLoop = httpRequests_.get();
    auto server = HttpServer::start(
        address, port,
        ApiBackend{
            .snapshot = [this] { return snapshots_.latest(); },
            .sessions = [sessionsFd] { return fastpath::SessionTable(sessionsFd).listBatch(); },
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
    pipeline_.dropHeld("reload");
    if (Status applied = applyConfig(std::move(*loaded)); !applied) {
        state_.counters.add("config.reload-failed");
        logInfo("reload failed, the running configuration stays: {}",
                applied.error().describe());
    } else {
        state_.counters.add("config.reloaded");
    }
    auto removed = removeUnpermittedSessions(state_);
    if (!removed) {
        logInfo("policy re-check: {}", removed.error().describe());
        return;
    }
    logInfo("configuration reloaded; {} session(s) no longer permitted removed", *removed);
}

void Daemon::tick(std::uint64_t nowNs)
{
    if (auto expired = expireSessions(state_, nowNs); !expired) {
        logInfo("expiry scan: {}", expired.error().describe());
    }
    writeStatus();
    systemdNotifier().tick(state_.sessions.size());
    snapshots_.publish(takeSnapshot(state_, options_.router, nowNs));
}

void Daemon::writeStatus() const
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
    std::error_code error;
    const std::filesystem::path path(options_.statusFile);
    std::filesystem::create_directories(path.parent_path(), error);
    const std::filesystem::path temporary = path.string() + ".tmp";
    {
        std::ofstream out(temporary);
        out << status.dump(2) << "\n";
        if (!out) {
            return;
        }
    }
    std::filesystem::rename(temporary, path, error); // readers never see half a file
}

int Daemon::loop(int signalFd)
{
    std::uint64_t nextTick = fastpath::monotonicNowNs() + kTickNs;
    writeStatus();
    logEvent("daemon.running", {{"sessions", state_.sessions.size()}});
    systemdNotifier().ready(state_.sessions.size());
    std::vector<pollfd> fds;
    std::vector<std::pair<fastpath::PuntSocket*, std::uint32_t>> sockets;
    bool txBacklog = false; // a device pushed back: queued first packets wait for a kick
    for (;;) {
        fds.clear();
        sockets.clear();
        fds.push_back(pollfd{signalFd, POLLIN, 0});
        for (auto& [ifindex, port] : state_.ports) {
            for (auto& socket : port.sockets) {
                fds.push_back(pollfd{socket->fd(), POLLIN, 0});
                sockets.emplace_back(socket.get(), ifindex);
            }
        }
        const std::size_t requestsIndex = fds.size();
        fds.push_back(pollfd{httpRequests_->fd(), POLLIN, 0});
        const std::uint64_t now = fastpath::monotonicNowNs();
        int timeoutMs = now >= nextTick ? 0 : static_cast<int>((nextTick - now) / 1'000'000 + 1);
        if (pipeline_.holding() || txBacklog) {
            timeoutMs = std::min(timeoutMs, kHeldRetryMs);
        }
        const int ready = ::poll(fds.data(), fds.size(), timeoutMs);
        if (ready < 0 && errno != EINTR) {
            logInfo("poll: {}", std::strerror(errno));
            return 1;
        }
        if (ready > 0 && (fds[0].revents & POLLIN)) {
            signalfd_siginfo info{};
            if (::read(signalFd, &info, sizeof(info)) == sizeof(info)) {
                if (info.ssi_signo == SIGHUP) {
                    flushTransmits(); // before the sockets may close
                    reload();
                    continue; // the set of sockets may have changed
                }
                logInfo("signal {}: stopping; the fast path keeps forwarding", info.ssi_signo);
                flushTransmits();
                systemdNotifier().stopping();
                pipeline_.dropHeld("shutdown");
                writeStatus();
                return 0;
            }
        }
        if (ready > 0 && (fds[requestsIndex].revents & POLLIN)) {
            httpRequests_->serve(
                [this](std::uint64_t id) { return deleteSession(state_, id); });
        }
        // Every ready socket is drained (bounded), its frames handled in order; the first
        // packets they produce are queued and leave in one kick per socket (flushTransmits).
        for (std::size_t i = 1; ready > 0 && i < requestsIndex; ++i) {
            if (!(fds[i].revents & POLLIN)) {
                continue;
            }
            auto [socket, ifindex] = sockets[i - 1];
            // Drain the ring (bounded): a full RX ring makes the kernel drop punts.
            for (int round = 0; round < kDrainRounds; ++round) {
                auto frames = socket->receive(0, kFramesPerPoll);
                if (!frames) {
                    state_.counters.add("punt.receive-errors");
                    break;
                }
                for (auto& frame : *frames) {
                    pipeline_.handle(std::move(frame), ifindex);
                }
                if (frames->size() < kFramesPerPoll) {
                    break;
                }
            }
        }
        const std::uint64_t after = fastpath::monotonicNowNs();
        if (pipeline_.holding()) {
            pipeline_.retryHeld(after);
        }
        txBacklog = flushTransmits();
        if (after >= nextTick) {
            tick(after);
            nextTick = after + kTickNs;
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

} // namespace

int runDaemon(const DaemonOptions& options)
{
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

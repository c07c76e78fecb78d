// svrctl fastpath attach|detach|status, session add|list|delete, stats: manage the fast path
// of a router in the CALLING process's network namespace (run them with
// `nsenter --net=/run/netns/NS -- svrctl ...`). Everything but attach works on the pinned
// maps alone, so these commands never disturb a running svrd.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "fastpath/address.hpp"
#include "fastpath/fastpath.hpp"
#include "fastpath/format.hpp"
#include "fastpath/maps.hpp"
#include "fastpath/netdev.hpp"
#include "fastpath/session.hpp"

namespace svr::ctl {
namespace {

namespace fp = svr::fastpath;

int fail(const std::string& message)
{
    fmt::print(stderr, "svrctl: error: {}\n", message);
    return 1;
}

int fail(const Error& error)
{
    return fail(error.describe());
}

// The pinned maps of a running router, or an error naming what is missing.
Result<fp::PinnedMaps> openRouter(const std::string& router)
{
    if (Status valid = fp::validateRouterName(router); !valid) {
        return valid.error();
    }
    const std::string pinRoot = fp::defaultPinRoot(router);
    auto maps = fp::PinnedMaps::open(pinRoot);
    if (!maps) {
        if (maps.error().code == std::errc::no_such_file_or_directory) {
            return Error{maps.error().code,
                         fmt::format("router {} is not attached: no maps under {}", router,
                                     pinRoot)};
        }
        return maps.error();
    }
    return maps;
}

std::string nameOf(std::uint32_t ifindex)
{
    return ifindex == SVR_LOCAL_ZONE ? std::string("local") : fp::interfaceName(ifindex);
}

// ---------------------------------------------------------------- fastpath attach

struct AttachArgs {
    std::string router;
    std::vector<std::string> interfaces;
    std::string mode = "native";
    std::uint32_t maxSessions = fp::FastPathOptions{}.maxSessions;
    bool maxSessionsGiven = false;
    std::uint32_t dosRate = 0;
    std::uint32_t dosBurst = 0;
};

int runAttach(const AttachArgs& args)
{
    auto mode = fp::parseXdpMode(args.mode);
    if (!mode) {
        return fail(mode.error());
    }
    fp::FastPathOptions options;
    options.router = args.router;
    options.maxSessions = args.maxSessions;
    options.dosRatePerSecond = args.dosRate;
    options.dosBurst = args.dosRate != 0 && args.dosBurst == 0 ? args.dosRate : args.dosBurst;
    auto fastPath = fp::FastPath::open(options);
    if (!fastPath) {
        return fail(fastPath.error());
    }
    fp::FastPath& path = **fastPath;
    if (path.adopted()) {
        fp::SessionTable table(path.maps().sessions);
        auto sessions = table.list();
        fmt::print("reusing pinned maps under {} ({} session entries kept)\n",
                   path.options().pinRoot, sessions ? sessions->size() : 0);
        auto capacity = table.capacity();
        if (args.maxSessionsGiven && capacity && *capacity != args.maxSessions) {
            fmt::print("note: the pinned session table keeps {} entries, not {} (detach --unpin "
                       "to resize; that drops the sessions)\n",
                       *capacity, args.maxSessions);
        }
    }
    auto before = fp::attachedInterfaces(path.maps());
    std::vector<std::string> attachedNow;
    for (const std::string& ifname : args.interfaces) {
        if (Status attached = path.attach(ifname, *mode); !attached) {
            // All or nothing per command: undo interfaces this command attached first.
            for (const std::string& undo : attachedNow) {
                bool wasAttached = false;
                for (const auto& old : before ? *before : std::vector<fp::AttachedInterface>{}) {
                    wasAttached = wasAttached || old.name == undo;
                }
                if (!wasAttached) {
                    (void)path.detach(undo);
                }
            }
            return fail(attached.error());
        }
        attachedNow.push_back(ifname);
    }
    auto now = fp::attachedInterfaces(path.maps());
    if (!now) {
        return fail(now.error());
    }
    for (const fp::AttachedInterface& one : *now) {
        fmt::print("attached {} ifindex {}: xdp {} (prog id {}), tc egress, punt slots {}..{}, "
                   "stats slot {}\n",
                   one.name, one.ifindex, one.xdpMode, one.xdpProgramId,
                   one.iface.punt_queue_base,
                   one.iface.punt_queue_base + one.iface.punt_queue_count - 1,
                   one.iface.stats_slot);
    }
    return 0;
}

// ---------------------------------------------------------------- fastpath detach

struct DetachArgs {
    std::string router;
    std::vector<std::string> interfaces;
    bool unpin = false;
};

int runDetach(const DetachArgs& args)
{
    auto maps = openRouter(args.router);
    if (!maps) {
        return fail(maps.error());
    }
    auto lock = fp::PinLock::acquire(maps->pinRoot(), false);
    if (!lock) {
        return fail(lock.error());
    }
    if (!args.interfaces.empty() && !args.unpin) {
        for (const std::string& ifname : args.interfaces) {
            auto ifindex = fp::interfaceIndex(ifname);
            if (!ifindex) {
                return fail(ifindex.error());
            }
            if (Status detached = fp::detachInterface(maps->fds(), *ifindex); !detached) {
                return fail(detached.error());
            }
            fmt::print("detached {}\n", ifname);
        }
        return 0;
    }
    auto attached = fp::attachedInterfaces(maps->fds());
    if (Status detached = fp::detachAllInterfaces(maps->fds()); !detached) {
        return fail(detached.error());
    }
    for (const auto& one : attached ? *attached : std::vector<fp::AttachedInterface>{}) {
        fmt::print("detached {}\n", one.name);
    }
    if (args.unpin) {
        const std::string pinRoot = maps->pinRoot();
        if (Status unpinned = fp::unpinMaps(pinRoot); !unpinned) {
            return fail(unpinned.error());
        }
        fmt::print("unpinned {}\n", pinRoot);
    }
    return 0;
}

// ---------------------------------------------------------------- fastpath status

int runStatus(const std::string& router, bool json)
{
    auto maps = openRouter(router);
    if (!maps) {
        return fail(maps.error());
    }
    auto sessions = fp::SessionTable(maps->fds().sessions).list();
    auto attached = fp::attachedInterfaces(maps->fds());
    if (!sessions || !attached) {
        return fail(!sessions ? sessions.error() : attached.error());
    }
    auto capacity = fp::SessionTable(maps->fds().sessions).capacity();
    const std::uint32_t maxEntries = capacity ? *capacity : 0;
    if (json) {
        nlohmann::json interfaces = nlohmann::json::array();
        for (const auto& one : *attached) {
            interfaces.push_back({{"name", one.name},
                                  {"ifindex", one.ifindex},
                                  {"xdp_mode", one.xdpMode},
                                  {"xdp_program_id", one.xdpProgramId},
                                  {"punt_queue_base", one.iface.punt_queue_base},
                                  {"punt_queue_count", one.iface.punt_queue_count},
                                  {"stats_slot", one.iface.stats_slot}});
        }
        const nlohmann::json status = {
            {"router", router},
            {"pin_root", maps->pinRoot()},
            {"sessions", {{"entries", sessions->size()}, {"max_entries", maxEntries}}},
            {"interfaces", interfaces}};
        fmt::print("{}\n", status.dump(2));
        return 0;
    }
    fmt::print("router {}: maps under {}\n", router, maps->pinRoot());
    fmt::print("sessions: {} entries of {}\n", sessions->size(), maxEntries);
    if (attached->empty()) {
        fmt::print("interfaces: none attached\n");
    }
    for (const auto& one : *attached) {
        fmt::print("interface {} ifindex {}: xdp {} (prog id {}), punt slots {}..{}, stats slot "
                   "{}\n",
                   one.name, one.ifindex, one.xdpMode, one.xdpProgramId, one.iface.punt_queue_base,
                   one.iface.punt_queue_base + one.iface.punt_queue_count - 1,
                   one.iface.stats_slot);
    }
    return 0;
}

// ---------------------------------------------------------------- session add

struct AddArgs {
    std::string router;
    std::string inInterface;
    std::string proto;
    std::string src;
    std::string dst;
    std::string sport;
    std::string dport;
    std::string newSrc;
    std::string newSport;
    std::string newDst;
    std::string newDport;
    std::string outInterface;
    std::string nextHopMac;
    bool fib = false;
    std::uint16_t egressVlan = 0;
    std::uint16_t vlan = 0;
    int dscp = -1;
    std::uint64_t sessionId = 0;
    std::uint32_t idleTimeout = 0;
    bool reverse = false;
    std::string reverseNextHopMac;
    bool reverseFib = false;
};

// Parses an optional text argument with parse(); empty means "not given".
template <typename T, typename Parse>
Result<std::optional<T>> optionalArg(const std::string& text, Parse parse, const char* option)
{
    if (text.empty()) {
        return std::optional<T>{};
    }
    auto parsed = parse(text);
    if (!parsed) {
        return Error::invalid(fmt::format("{}: {}", option, parsed.error().message));
    }
    return std::optional<T>{*parsed};
}

Result<fp::NextHop> nextHopVia(const std::string& ifname, const std::string& mac, bool fib,
                               std::uint16_t vlan, const char* macOption, const char* fibOption)
{
    if (fib == !mac.empty()) {
        return Error::invalid(fmt::format("give exactly one of {} and {}", macOption, fibOption));
    }
    fp::NextHop hop;
    auto ifindex = fp::interfaceIndex(ifname);
    if (!ifindex) {
        return ifindex.error();
    }
    hop.egressIfindex = *ifindex;
    hop.useFib = fib;
    hop.egressVlan = vlan;
    auto ownMac = fp::interfaceMac(ifname);
    if (!ownMac) {
        return ownMac.error();
    }
    hop.srcMac = *ownMac;
    if (!fib) {
        auto dstMac = fp::parseMac(mac);
        if (!dstMac) {
            return Error::invalid(fmt::format("{}: {}", macOption, dstMac.error().message));
        }
        hop.dstMac = *dstMac;
    }
    return hop;
}

Result<fp::SessionSpec> specFrom(const AddArgs& args)
{
    fp::SessionSpec spec;
    auto ingress = fp::interfaceIndex(args.inInterface);
    if (!ingress) {
        return ingress.error();
    }
    spec.ingressIfindex = *ingress;
    spec.vlanId = args.vlan;
    auto src = fp::parseIpAddress(args.src);
    auto dst = fp::parseIpAddress(args.dst);
    if (!src || !dst) {
        return Error::invalid(fmt::format("{}: {}", !src ? "--src" : "--dst",
                                          (!src ? src : dst).error().message));
    }
    spec.source = *src;
    spec.destination = *dst;
    auto proto = fp::parseProtocol(args.proto, spec.source.family);
    if (!proto) {
        return Error::invalid("--proto: " + proto.error().message);
    }
    spec.proto = *proto;
    auto sport = optionalArg<std::uint16_t>(args.sport, fp::parsePort, "--sport");
    auto dport = optionalArg<std::uint16_t>(args.dport, fp::parsePort, "--dport");
    auto newSport = optionalArg<std::uint16_t>(args.newSport, fp::parsePort, "--new-sport");
    auto newDport = optionalArg<std::uint16_t>(args.newDport, fp::parsePort, "--new-dport");
    auto newSrc = optionalArg<fp::IpAddress>(args.newSrc, fp::parseIpAddress, "--new-src");
    auto newDst = optionalArg<fp::IpAddress>(args.newDst, fp::parseIpAddress, "--new-dst");
    for (const auto* port : {&sport, &dport, &newSport, &newDport}) {
        if (!*port) {
            return port->error();
        }
    }
    for (const auto* address : {&newSrc, &newDst}) {
        if (!*address) {
            return address->error();
        }
    }
    spec.sourcePort = sport->value_or(0);
    spec.destinationPort = dport->value_or(0);
    spec.newSourcePort = *newSport;
    spec.newDestinationPort = *newDport;
    spec.newSource = *newSrc;
    spec.newDestination = *newDst;
    auto hop = nextHopVia(args.outInterface, args.nextHopMac, args.fib, args.egressVlan,
                          "--next-hop-mac", "--fib");
    if (!hop) {
        return hop.error();
    }
    spec.nextHop = *hop;
    if (args.dscp > 63) {
        return Error::invalid(fmt::format("--dscp {}: use 0..63", args.dscp));
    }
    spec.dscp = args.dscp < 0 ? SVR_DSCP_KEEP : static_cast<std::uint8_t>(args.dscp);
    spec.sessionId = args.sessionId;
    spec.idleTimeoutSeconds = args.idleTimeout;
    spec.createdNs = fp::monotonicNowNs();
    return spec;
}

int runSessionAdd(const AddArgs& args)
{
    auto maps = openRouter(args.router);
    if (!maps) {
        return fail(maps.error());
    }
    auto spec = specFrom(args);
    if (!spec) {
        return fail(spec.error());
    }
    // Packets only arrive through, and leave by, interfaces svr is attached to.
    fp::Ifaces ifaces(maps->fds().ifaces);
    for (const auto& [ifname, ifindex, needed] :
         {std::tuple{args.inInterface, spec->ingressIfindex, true},
          std::tuple{args.outInterface, spec->nextHop.egressIfindex, !args.fib}}) {
        auto iface = ifaces.get(ifindex);
        if (needed && (!iface || !(iface->flags & SVR_IFACE_F_ROUTER))) {
            return fail(fmt::format("interface {} is not attached to router {} (svrctl fastpath "
                                    "attach --router {} --interface {})",
                                    ifname, args.router, args.router, ifname));
        }
    }
    fp::SessionTable table(maps->fds().sessions);
    if (spec->sessionId == 0) {
        auto existing = table.list();
        if (!existing) {
            return fail(existing.error());
        }
        // The next free id of the hand-installed range, never one svrd may take.
        std::uint64_t highest = SVR_SESSION_ID_MANUAL_BASE - 1;
        for (const auto& entry : *existing) {
            highest = std::max<std::uint64_t>(highest, entry.value.session_id);
        }
        spec->sessionId = highest + 1;
    }
    auto forward = fp::buildForwardSession(*spec);
    if (!forward) {
        return fail(forward.error());
    }
    std::optional<fp::SessionEntry> reverse;
    if (args.reverse) {
        auto back = nextHopVia(args.inInterface, args.reverseNextHopMac, args.reverseFib,
                               args.vlan, "--reverse-next-hop-mac", "--reverse-fib");
        if (!back) {
            return fail(back.error());
        }
        reverse = fp::buildReverseSession(*forward, *back);
    } else if (!args.reverseNextHopMac.empty() || args.reverseFib) {
        return fail("--reverse-next-hop-mac and --reverse-fib need --reverse");
    }
    if (Status inserted = table.insert(forward->key, forward->value); !inserted) {
        return fail(inserted.error());
    }
    if (reverse) {
        if (Status inserted = table.insert(reverse->key, reverse->value); !inserted) {
            (void)table.erase(forward->key); // both directions or none
            return fail(Error{inserted.error().code, "reverse direction: " +
                                                         inserted.error().message});
        }
    }
    fmt::print("session {} added ({} entries)\n", spec->sessionId, reverse ? 2 : 1);
    return 0;
}

// ---------------------------------------------------------------- session list / delete

int runSessionList(const std::string& router, bool json)
{
    auto maps = openRouter(router);
    if (!maps) {
        return fail(maps.error());
    }
    auto entries = fp::SessionTable(maps->fds().sessions).list();
    if (!entries) {
        return fail(entries.error());
    }
    const std::uint64_t now = fp::monotonicNowNs();
    if (json) {
        fmt::print("{}\n", fp::sessionsToJson(*entries, now, nameOf).dump(2));
    } else {
        fmt::print("{}", fp::formatSessionTable(*entries, now, nameOf));
    }
    return 0;
}

int runSessionDelete(const std::string& router, bool bySessionId, std::uint64_t sessionId,
                     bool all)
{
    if (bySessionId == all) {
        return fail("give exactly one of --session-id and --all");
    }
    auto maps = openRouter(router);
    if (!maps) {
        return fail(maps.error());
    }
    fp::SessionTable table(maps->fds().sessions);
    auto deleted = all ? table.clear() : table.eraseSession(sessionId);
    if (!deleted) {
        return fail(deleted.error());
    }
    if (!all && *deleted == 0) {
        return fail(fmt::format("no session with id {}", sessionId));
    }
    fmt::print("deleted {} entries\n", *deleted);
    return 0;
}

// ---------------------------------------------------------------- stats

int runStats(const std::string& router, const std::string& ifname, bool json)
{
    auto maps = openRouter(router);
    if (!maps) {
        return fail(maps.error());
    }
    fp::StatsTable stats(maps->fds().stats, maps->fds().ifaces);
    std::vector<std::pair<std::string, std::uint32_t>> wanted;
    if (!ifname.empty()) {
        auto ifindex = fp::interfaceIndex(ifname);
        if (!ifindex) {
            return fail(ifindex.error());
        }
        wanted.emplace_back(ifname, *ifindex);
    } else {
        auto attached = fp::attachedInterfaces(maps->fds());
        if (!attached) {
            return fail(attached.error());
        }
        for (const auto& one : *attached) {
            wanted.emplace_back(one.name, one.ifindex);
        }
    }
    nlohmann::json out = nlohmann::json::object();
    std::string text;
    if (ifname.empty()) {
        auto total = stats.total();
        if (!total) {
            return fail(total.error());
        }
        out["total"] = fp::statsToJson(*total);
        text += "total:\n" + fp::formatStats(*total);
    }
    out["interfaces"] = nlohmann::json::object();
    for (const auto& [name, ifindex] : wanted) {
        auto one = stats.read(ifindex);
        if (!one) {
            return fail(one.error());
        }
        out["interfaces"][name] = fp::statsToJson(*one);
        text += fmt::format("{} (ifindex {}):\n", name, ifindex) + fp::formatStats(*one);
    }
    fmt::print("{}", json ? out.dump(2) + "\n" : text);
    return 0;
}

} // namespace

void registerSessionCommands(CLI::App& app)
{
    // ---- fastpath
    CLI::App* fastpath = app.add_subcommand("fastpath", "attach, detach and inspect the XDP/TC "
                                                        "fast path (in this network namespace)");
    fastpath->require_subcommand(1);

    auto attach = std::make_shared<AttachArgs>();
    CLI::App* attachCmd = fastpath->add_subcommand("attach", "load, pin and attach the fast path");
    attachCmd->add_option("--router", attach->router, "router name (maps under "
                                                      "/sys/fs/bpf/svr/ROUTER)")
        ->required();
    attachCmd->add_option("--interface", attach->interfaces, "router interface (repeatable)")
        ->required();
    attachCmd->add_option("--mode", attach->mode, "XDP mode: native (falls back to generic) or "
                                                  "generic")
        ->check(CLI::IsMember({"native", "generic"}));
    CLI::Option* maxSessions =
        attachCmd->add_option("--max-sessions", attach->maxSessions,
                              "session table size in entries (one per direction)");
    attachCmd->add_option("--dos-rate", attach->dosRate,
                          "new sessions per second per source (0: no limit)");
    attachCmd->add_option("--dos-burst", attach->dosBurst, "DoS bucket depth (default: rate)");
    attachCmd->callback([attach, maxSessions] {
        attach->maxSessionsGiven = maxSessions->count() > 0;
        exitCode() = runAttach(*attach);
    });

    auto detach = std::make_shared<DetachArgs>();
    CLI::App* detachCmd =
        fastpath->add_subcommand("detach", "detach the fast path (every interface by default)");
    detachCmd->add_option("--router", detach->router, "router name")->required();
    detachCmd->add_option("--interface", detach->interfaces, "only this interface (repeatable)");
    detachCmd->add_flag("--unpin", detach->unpin,
                        "also detach every interface and remove the pinned maps (drops all "
                        "sessions)");
    detachCmd->callback([detach] { exitCode() = runDetach(*detach); });

    auto statusRouter = std::make_shared<std::string>();
    auto statusJson = std::make_shared<bool>(false);
    CLI::App* statusCmd = fastpath->add_subcommand("status", "attached interfaces and map use");
    statusCmd->add_option("--router", *statusRouter, "router name")->required();
    statusCmd->add_flag("--json", *statusJson, "JSON output");
    statusCmd->callback(
        [statusRouter, statusJson] { exitCode() = runStatus(*statusRouter, *statusJson); });

    // ---- session
    CLI::App* session = app.add_subcommand("session", "add, list and delete fast-path sessions");
    session->require_subcommand(1);

    auto add = std::make_shared<AddArgs>();
    CLI::App* addCmd = session->add_subcommand("add", "install a session (both directions with "
                                                      "--reverse)");
    addCmd->add_option("--router", add->router, "router name")->required();
    addCmd->add_option("--in-interface", add->inInterface, "interface the packets arrive on")
        ->required();
    addCmd->add_option("--proto", add->proto, "tcp, udp or icmp")->required();
    addCmd->add_option("--src", add->src, "source address as received")->required();
    addCmd->add_option("--dst", add->dst, "destination address as received")->required();
    addCmd->add_option("--sport", add->sport, "source port (ICMP echo: identifier)");
    addCmd->add_option("--dport", add->dport, "destination port");
    addCmd->add_option("--new-src", add->newSrc, "rewrite the source address (SNAT)");
    addCmd->add_option("--new-sport", add->newSport, "rewrite the source port");
    addCmd->add_option("--new-dst", add->newDst, "rewrite the destination address (DNAT)");
    addCmd->add_option("--new-dport", add->newDport, "rewrite the destination port");
    addCmd->add_option("--out-interface", add->outInterface, "egress interface")->required();
    addCmd->add_option("--next-hop-mac", add->nextHopMac, "next hop MAC address");
    addCmd->add_flag("--fib", add->fib, "next hop from the kernel FIB (bpf_fib_lookup)");
    addCmd->add_option("--egress-vlan", add->egressVlan, "send with this VLAN id (0: untagged)")
        ->check(CLI::Range(0, 4094));
    addCmd->add_option("--vlan", add->vlan, "match packets received with this VLAN id")
        ->check(CLI::Range(0, 4094));
    addCmd->add_option("--dscp", add->dscp, "rewrite DSCP to 0..63 (default: keep)")
        ->check(CLI::Range(0, 63));
    addCmd->add_option("--session-id", add->sessionId,
                       "session id (default: the next one from 2^63 up; svrd's own are below)");
    addCmd->add_option("--idle-timeout", add->idleTimeout,
                       "idle timeout in seconds for aging (0: the controller's default)");
    addCmd->add_flag("--reverse", add->reverse, "install the reply direction too");
    addCmd->add_option("--reverse-next-hop-mac", add->reverseNextHopMac,
                       "next hop MAC of the reply direction (out of --in-interface)");
    addCmd->add_flag("--reverse-fib", add->reverseFib, "reply direction next hop from the FIB");
    addCmd->callback([add] { exitCode() = runSessionAdd(*add); });

    auto listRouter = std::make_shared<std::string>();
    auto listJson = std::make_shared<bool>(false);
    CLI::App* listCmd = session->add_subcommand("list", "list sessions with their counters");
    listCmd->add_option("--router", *listRouter, "router name")->required();
    listCmd->add_flag("--json", *listJson, "JSON output");
    listCmd->callback([listRouter, listJson] { exitCode() = runSessionList(*listRouter, *listJson); });

    auto deleteRouter = std::make_shared<std::string>();
    auto deleteId = std::make_shared<std::uint64_t>(0);
    auto deleteAll = std::make_shared<bool>(false);
    CLI::App* deleteCmd = session->add_subcommand("delete", "delete sessions (both directions)");
    deleteCmd->add_option("--router", *deleteRouter, "router name")->required();
    CLI::Option* idOption =
        deleteCmd->add_option("--session-id", *deleteId, "delete this session id");
    deleteCmd->add_flag("--all", *deleteAll, "delete every session");
    deleteCmd->callback([deleteRouter, deleteId, deleteAll, idOption] {
        exitCode() = runSessionDelete(*deleteRouter, idOption->count() > 0, *deleteId, *deleteAll);
    });

    // ---- stats
    auto statsRouter = std::make_shared<std::string>();
    auto statsInterface = std::make_shared<std::string>();
    auto statsJson = std::make_shared<bool>(false);
    CLI::App* statsCmd = app.add_subcommand("stats", "fast-path counters: verdicts and reasons");
    statsCmd->add_option("--router", *statsRouter, "router name")->required();
    statsCmd->add_option("--interface", *statsInterface, "only this interface");
    statsCmd->add_flag("--json", *statsJson, "JSON output");
    statsCmd->callback([statsRouter, statsInterface, statsJson] {
        exitCode() = runStats(*statsRouter, *statsInterface, *statsJson);
    });
}

} // namespace svr::ctl

// svrctl show sessions|peers|services|stats and delete session: the operator's view of a
// running router through svrd's local REST API (svrd/http_server.hpp), human tables by
// default, --json for scripts. When svrd is down, what the pinned maps hold still works
// (show sessions, show stats, delete session, with --router), without tenant and service
// names; show peers and show services need svrd and say so.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "fastpath/address.hpp"
#include "fastpath/fastpath.hpp"
#include "fastpath/format.hpp"
#include "fastpath/maps.hpp"
#include "fastpath/netdev.hpp"

namespace svr::ctl {
namespace {

namespace fp = svr::fastpath;
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Json = nlohmann::json;

constexpr const char* kDefaultApi = "http://127.0.0.1:9464";
constexpr auto kRequestTimeout = std::chrono::seconds(5);

int fail(const std::string& message)
{
    fmt::print(stderr, "svrctl: error: {}\n", message);
    return 1;
}

// ------------------------------------------------------------------ HTTP client

struct ApiUrl {
    std::string host; // without brackets
    std::string port;
};

Result<ApiUrl> parseApiUrl(const std::string& url)
{
    constexpr std::string_view scheme = "http://";
    if (!url.starts_with(scheme)) {
        return Error::invalid(fmt::format("--api {}: only http://HOST[:PORT] is supported", url));
    }
    std::string rest = url.substr(scheme.size());
    if (const auto slash = rest.find('/'); slash != std::string::npos) {
        if (rest.substr(slash) != "/") {
            return Error::invalid(fmt::format("--api {}: give no path", url));
        }
        rest.resize(slash);
    }
    ApiUrl parsed{rest, "9464"};
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        if (close == std::string::npos) {
            return Error::invalid(fmt::format("--api {}: missing ']'", url));
        }
        parsed.host = rest.substr(1, close - 1);
        if (close + 1 < rest.size()) {
            if (rest[close + 1] != ':') {
                return Error::invalid(fmt::format("--api {}: expected :PORT after ']'", url));
            }
            parsed.port = rest.substr(close + 2);
        }
    } else if (const auto colon = rest.find(':'); colon != std::string::npos) {
        parsed.host = rest.substr(0, colon);
        parsed.port = rest.substr(colon + 1);
    }
    if (parsed.host.empty() || parsed.port.empty()) {
        return Error::invalid(fmt::format("--api {}: expected http://HOST[:PORT]", url));
    }
    unsigned port = 0;
    const auto [end, error] =
        std::from_chars(parsed.port.data(), parsed.port.data() + parsed.port.size(), port);
    if (error != std::errc{} || end != parsed.port.data() + parsed.port.size() || port == 0 ||
        port > 65535) {
        return Error::invalid(fmt::format("--api {}: port must be 1..65535", url));
    }
    return parsed;
}

struct Reply {
    unsigned status = 0;
    std::string body;
};

// One request; an Error only when no HTTP answer came (svrd down, timeout, bad URL).
Result<Reply> request(const std::string& url, http::verb verb, const std::string& target)
{
    auto api = parseApiUrl(url);
    if (!api) {
        return api.error();
    }
    asio::io_context io;
    beast::tcp_stream stream(io);
    http::request<http::empty_body> req{verb, target, 11};
    req.set(http::field::host, api->host);
    req.set(http::field::user_agent, "svrctl");
    beast::flat_buffer buffer;
    // A full session table is a large answer: no body limit (Beast's default is 8 MB).
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    beast::error_code failure;
    const char* stage = "resolve";

    tcp::resolver resolver(io);
    stream.expires_after(kRequestTimeout);
    resolver.async_resolve(
        api->host, api->port, [&](beast::error_code error, tcp::resolver::results_type results) {
            if (error) {
                failure = error;
                return;
            }
            stage = "connect";
            stream.async_connect(
                results, [&](beast::error_code connectError, const tcp::endpoint&) {
                    if (connectError) {
                        failure = connectError;
                        return;
                    }
                    stage = "send";
                    http::async_write(stream, req, [&](beast::error_code writeError, std::size_t) {
                        if (writeError) {
                            failure = writeError;
                            return;
                        }
                        stage = "receive";
                        http::async_read(
                            stream, buffer, parser,
                            [&](beast::error_code readError, std::size_t) { failure = readError; });
                    });
                });
        });
    io.run();
    if (failure) {
        return Error{
            std::make_error_code(std::errc::not_connected), // never invalid_argument: bad --api
            fmt::format("svrd not reachable at {} ({} failed: {})", url, stage, failure.message())};
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    auto res = parser.release();
    return Reply{res.result_int(), std::move(res.body())};
}

// The JSON body of a 2xx answer; an HTTP error becomes an Error with svrd's message.
Result<Json> apiJson(const Reply& reply)
{
    Json body = Json::parse(reply.body, nullptr, false);
    if (reply.status / 100 != 2) {
        const std::string message =
            body.is_object() && body.contains("error") && body["error"].is_string()
                ? body["error"].get<std::string>()
                : reply.body;
        return Error::invalid(fmt::format("svrd answered {}: {}", reply.status, message));
    }
    if (body.is_discarded()) {
        return Error::invalid("svrd answered with malformed JSON");
    }
    return body;
}

std::string queryEscape(const std::string& value)
{
    std::string out;
    for (const unsigned char c : value) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

// ------------------------------------------------------------------ the pinned maps

Result<fp::PinnedMaps> openRouter(const std::string& router)
{
    if (Status valid = fp::validateRouterName(router); !valid) {
        return valid.error();
    }
    auto maps = fp::PinnedMaps::open(fp::defaultPinRoot(router));
    if (!maps && maps.error().code == std::errc::no_such_file_or_directory) {
        return Error{maps.error().code, fmt::format("router {} is not attached: no maps under {}",
                                                    router, fp::defaultPinRoot(router))};
    }
    return maps;
}

std::string nameOf(std::uint32_t ifindex)
{
    return ifindex == SVR_LOCAL_ZONE ? std::string("local") : fp::interfaceName(ifindex);
}

// Says why the maps are read directly, or why they cannot be. Returns false to give up.
bool explainFallback(const Error& unreachable, const std::string& router, const char* what)
{
    if (unreachable.code == std::errc::invalid_argument) {
        fmt::print(stderr, "svrctl: error: {}\n", unreachable.message); // a bad --api
        return false;
    }
    if (router.empty()) {
        fmt::print(stderr,
                   "svrctl: error: {}\n  give --router NAME to read {} from the pinned "
                   "maps without svrd\n",
                   unreachable.message, what);
        return false;
    }
    fmt::print(stderr,
               "svrctl: {}\n  reading {} from the pinned maps of router {} "
               "(no tenant or service names without svrd)\n",
               unreachable.message, what, router);
    return true;
}

// ------------------------------------------------------------------ rendering

// A member of an object answered by svrd; null when it is missing (an older or newer svrd).
const Json& field(const Json& object, const std::string& key)
{
    static const Json missing;
    if (!object.is_object()) {
        return missing;
    }
    const auto found = object.find(key);
    return found == object.end() ? missing : *found;
}

template <typename T> T number(const Json& value)
{
    return value.is_number() ? value.get<T>() : T{};
}

std::string text(const Json& value)
{
    if (value.is_string()) {
        return value.get<std::string>();
    }
    if (value.is_null()) {
        return "?";
    }
    return value.dump();
}

// Seconds as svrctl session list shows them ("1.5s", "2m03s").
std::string durationText(const Json& seconds)
{
    const double value = number<double>(seconds);
    return value >= 0 && value < 1e9 ? fp::formatDuration(static_cast<std::uint64_t>(value * 1e9))
                                     : "?";
}

std::string endpointText(const Json& s, const char* address, const char* port, bool withPort)
{
    const std::string host = text(field(s, address));
    if (!withPort) {
        return host;
    }
    // By the address, not the entry's family: a translating entry mixes both.
    return host.find(':') != std::string::npos
               ? fmt::format("[{}]:{}", host, text(field(s, port)))
               : fmt::format("{}:{}", host, text(field(s, port)));
}

std::string orDash(const Json& value)
{
    const std::string t = text(value);
    return t.empty() ? "-" : t;
}

std::string sessionTable(const Json& sessions)
{
    std::string out =
        fmt::format("{:>8} {:<12} {:<12} {:<8} {:<6} {:<24} {:<24}    {:<24} "
                    "{:<24} {:<8} {:>10} {:>12} {:>8} {:>8}\n",
                    "ID", "TENANT", "SERVICE", "IN-IF", "PROTO", "SRC", "DST", "NEW-SRC", "NEW-DST",
                    "OUT-IF", "PACKETS", "BYTES", "AGE", "IDLE");
    for (const Json& s : sessions) {
        const bool icmp = field(s, "proto") == "icmp" || field(s, "proto") == "icmpv6";
        out += fmt::format(
            "{:>8} {:<12} {:<12} {:<8} {:<6} {:<24} {:<24} -> {:<24} {:<24} {:<8} {:>10} {:>12} "
            "{:>8} {:>8}\n",
            text(field(s, "session_id")), orDash(field(s, "tenant")), orDash(field(s, "service")),
            text(field(s, "in_interface")), text(field(s, "proto")),
            endpointText(s, "src", "sport", true), endpointText(s, "dst", "dport", !icmp),
            endpointText(s, "new_src", "new_sport", true),
            endpointText(s, "new_dst", "new_dport", !icmp), text(field(s, "out_interface")),
            text(field(s, "packets")), text(field(s, "bytes")), durationText(field(s, "age_s")),
            durationText(field(s, "idle_s")));
    }
    out += fmt::format("{} entries (one per direction)\n", sessions.size());
    return out;
}

std::string peerTable(const Json& peers)
{
    std::string out =
        fmt::format("{:<16} {:>6} {:<12} {:<14} {:<40} {:>4} {:<5}\n", "PEER", "KEYGEN",
                    "INTERFACE", "NEIGHBORHOOD", "PEER-WAYPOINT", "PRIO", "PATH");
    for (const Json& peer : peers) {
        if (field(peer, "paths").empty()) {
            out += fmt::format("{:<16} {:>6} {:<12} {:<14} {:<40} {:>4} {:<5}\n",
                               text(field(peer, "name")), text(field(peer, "key_generation")), "-",
                               "-", "-", "-", "-");
        }
        for (const Json& path : field(peer, "paths")) {
            out += fmt::format("{:<16} {:>6} {:<12} {:<14} {:<40} {:>4} {:<5}\n",
                               text(field(peer, "name")), text(field(peer, "key_generation")),
                               text(field(path, "interface")), text(field(path, "neighborhood")),
                               text(field(path, "peer_waypoint")), text(field(path, "priority")),
                               field(path, "up") == true ? "up" : "down");
        }
    }
    if (peers.empty()) {
        out += "no peers configured\n";
    }
    return out;
}

std::string joined(const Json& list, const char* separator)
{
    std::string out;
    for (const Json& item : list) {
        out += (out.empty() ? "" : separator) + text(item);
    }
    return out.empty() ? "-" : out;
}

std::string serviceTable(const Json& services)
{
    std::string out =
        fmt::format("{:<16} {:>7} {:>9} {:>9}  {:<34} {:<20} {}\n", "SERVICE", "ACTIVE", "CREATED",
                    "EXPIRED", "ADDRESSES", "TRANSPORTS", "ROUTES");
    for (const Json& service : services) {
        std::string routes;
        for (const Json& route : field(service, "routes")) {
            routes +=
                (routes.empty() ? "" : "; ") +
                fmt::format("{} {}", text(field(route, "name")), text(field(route, "target")));
        }
        out += fmt::format(
            "{:<16} {:>7} {:>9} {:>9}  {:<34} {:<20} {}\n", text(field(service, "name")),
            text(field(service, "sessions_active")), text(field(service, "sessions_created")),
            text(field(service, "sessions_expired")), joined(field(service, "addresses"), ","),
            joined(field(service, "transports"), "; "), routes.empty() ? "-" : routes);
    }
    return out;
}

// The fast-path part of one interface ({"verdicts", "drop", "pass", "punt", "tc"}).
std::string fastpathStatsText(const Json& stats)
{
    std::string out;
    for (unsigned verdict = 0; verdict < SVR_VERDICT_MAX; ++verdict) {
        const Json& counts = field(field(stats, "verdicts"), fp::verdictName(verdict));
        out += fmt::format("  {:<28} {:>14} packets {:>16} bytes\n", fp::verdictName(verdict),
                           text(field(counts, "packets")), text(field(counts, "bytes")));
    }
    for (const char* kind : {"drop", "pass", "punt"}) {
        for (const auto& [reason, count] : field(stats, kind).items()) {
            if (count.is_number() && count.get<std::uint64_t>() != 0) {
                out += fmt::format("  {:<28} {:>14} packets\n", fmt::format("{} {}", kind, reason),
                                   text(count));
            }
        }
    }
    return out;
}

std::string statsText(const Json& stats)
{
    std::string out = fmt::format("router {}", text(field(stats, "router")));
    if (stats.contains("sessions_indexed")) {
        out += fmt::format(": {} session(s) installed by svrd",
                           text(field(stats, "sessions_indexed")));
    }
    out += "\n";
    for (const auto& [name, interface] : field(stats, "interfaces").items()) {
        out +=
            fmt::format("interface {} (ifindex {}){}:\n", name, text(field(interface, "ifindex")),
                        interface.contains("oper_up")
                            ? (field(interface, "oper_up") == true ? ", up" : ", DOWN")
                            : "");
        out += fastpathStatsText(field(interface, "fastpath"));
    }
    if (stats.contains("counters")) {
        out += "svrd counters:\n";
        for (const auto& [name, value] : field(stats, "counters").items()) {
            out += fmt::format("  {:<44} {:>14}\n", name, text(value));
        }
    }
    if (stats.contains("first_packet_latency")) {
        const Json& latency = field(stats, "first_packet_latency");
        const auto count = number<std::uint64_t>(field(latency, "count"));
        out += fmt::format("first packets handled: {}", count);
        if (count != 0) {
            out += fmt::format(", mean {:.1f} us", number<double>(field(latency, "sum_seconds")) /
                                                       static_cast<double>(count) * 1e6);
        }
        out += "\n";
    }
    return out;
}

// The table's last column is padded like the others: no trailing blanks in the output.
std::string withoutTrailingBlanks(const std::string& text)
{
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t newline = text.find('\n', start);
        const std::size_t end = newline == std::string::npos ? text.size() : newline;
        std::string_view line(text.data() + start, end - start);
        while (!line.empty() && line.back() == ' ') {
            line.remove_suffix(1);
        }
        out += line;
        if (newline != std::string::npos) {
            out += '\n';
        }
        start = end + 1;
    }
    return out;
}

void print(const Json& body, bool json, const std::string& human)
{
    fmt::print("{}", json ? body.dump(2) + "\n" : withoutTrailingBlanks(human));
}

// ------------------------------------------------------------------ commands

struct CommonArgs {
    std::string api = kDefaultApi;
    std::string router;
    bool json = false;
};

struct SessionFilter {
    std::string tenant;
    std::string service;
    std::string address;
};

int showSessionsFromMaps(const CommonArgs& args, const SessionFilter& filter)
{
    if (!filter.tenant.empty() || !filter.service.empty()) {
        return fail("--tenant and --service need svrd: the names live in its configuration "
                    "(--address works from the maps)");
    }
    std::optional<fp::IpAddress> address;
    if (!filter.address.empty()) {
        auto parsed = fp::parseIpAddress(filter.address);
        if (!parsed) {
            return fail("--address: " + parsed.error().message);
        }
        address = *parsed;
    }
    auto maps = openRouter(args.router);
    if (!maps) {
        return fail(maps.error().describe());
    }
    auto entries = fp::SessionTable(maps->fds().sessions).list();
    if (!entries) {
        return fail(entries.error().describe());
    }
    std::sort(entries->begin(), entries->end(), [](const auto& a, const auto& b) {
        return std::tie(a.value.session_id, a.key.ingress_ifindex) <
               std::tie(b.value.session_id, b.key.ingress_ifindex);
    });
    const std::uint64_t now = fp::monotonicNowNs();
    Json list = Json::array();
    for (const auto& entry : *entries) {
        Json one = fp::sessionToJson(entry, now, nameOf);
        if (address) {
            const std::string wanted = fp::formatIpAddress(*address);
            if (one["src"] != wanted && one["dst"] != wanted && one["new_src"] != wanted &&
                one["new_dst"] != wanted) {
                continue;
            }
        }
        one["tenant"] = nullptr; // unknown without svrd
        one["service"] = nullptr;
        list.push_back(std::move(one));
    }
    print(list, args.json, sessionTable(list));
    return 0;
}

int showSessions(const CommonArgs& args, const SessionFilter& filter)
{
    std::string target = "/api/v1/sessions";
    std::string separator = "?";
    for (const auto& [key, value] :
         {std::pair{"tenant", filter.tenant}, std::pair{"service", filter.service},
          std::pair{"address", filter.address}}) {
        if (!value.empty()) {
            target += separator + key + "=" + queryEscape(value);
            separator = "&";
        }
    }
    auto reply = request(args.api, http::verb::get, target);
    if (!reply) {
        if (!explainFallback(reply.error(), args.router, "the session table")) {
            return 1;
        }
        return showSessionsFromMaps(args, filter);
    }
    auto body = apiJson(*reply);
    if (!body) {
        return fail(body.error().message);
    }
    print(*body, args.json, sessionTable(*body));
    return 0;
}

int showStatsFromMaps(const CommonArgs& args)
{
    auto maps = openRouter(args.router);
    if (!maps) {
        return fail(maps.error().describe());
    }
    auto attached = fp::attachedInterfaces(maps->fds());
    if (!attached) {
        return fail(attached.error().describe());
    }
    fp::StatsTable stats(maps->fds().stats, maps->fds().ifaces);
    Json out{{"router", args.router}, {"interfaces", Json::object()}};
    for (const auto& one : *attached) {
        auto read = stats.read(one.ifindex);
        if (!read) {
            return fail(read.error().describe());
        }
        out["interfaces"][one.name] = {{"ifindex", one.ifindex},
                                       {"fastpath", fp::statsToJson(*read)}};
    }
    print(out, args.json, statsText(out));
    return 0;
}

int showStats(const CommonArgs& args)
{
    auto reply = request(args.api, http::verb::get, "/api/v1/stats");
    if (!reply) {
        if (!explainFallback(reply.error(), args.router, "the fast-path counters")) {
            return 1;
        }
        return showStatsFromMaps(args);
    }
    auto body = apiJson(*reply);
    if (!body) {
        return fail(body.error().message);
    }
    print(*body, args.json, statsText(*body));
    return 0;
}

// show peers / show services: svrd's configuration and state only.
int showFromDaemon(const CommonArgs& args, const char* resource, std::string (*render)(const Json&))
{
    auto reply = request(args.api, http::verb::get, fmt::format("/api/v1/{}", resource));
    if (!reply && reply.error().code == std::errc::invalid_argument) {
        return fail(reply.error().message); // a bad --api
    }
    if (!reply) {
        return fail(fmt::format("{}\n  show {} needs svrd; without it, show sessions and show "
                                "stats (with --router) read the pinned maps",
                                reply.error().message, resource));
    }
    auto body = apiJson(*reply);
    if (!body) {
        return fail(body.error().message);
    }
    print(*body, args.json, render(*body));
    return 0;
}

int deleteSession(const CommonArgs& args, std::uint64_t sessionId)
{
    auto reply =
        request(args.api, http::verb::delete_, fmt::format("/api/v1/sessions/{}", sessionId));
    if (reply) {
        auto body = apiJson(*reply);
        if (!body) {
            return fail(body.error().message);
        }
        print(*body, args.json,
              fmt::format("session {} deleted ({} entries)\n", sessionId,
                          text(field(*body, "deleted_entries"))));
        return 0;
    }
    if (!explainFallback(reply.error(), args.router, "and deleting from the session table")) {
        return 1;
    }
    auto maps = openRouter(args.router);
    if (!maps) {
        return fail(maps.error().describe());
    }
    auto deleted = fp::SessionTable(maps->fds().sessions).eraseSession(sessionId);
    if (!deleted) {
        return fail(deleted.error().describe());
    }
    if (*deleted == 0) {
        return fail(fmt::format("no session with id {}", sessionId));
    }
    const Json body{{"session_id", sessionId}, {"deleted_entries", *deleted}};
    print(body, args.json,
          fmt::format("session {} deleted from the pinned table ({} entries); svrd frees its "
                      "NAT port when it starts again\n",
                      sessionId, *deleted));
    return 0;
}

void addCommonOptions(CLI::App* command, CommonArgs& args, bool needsMaps)
{
    command->add_option("--api", args.api, "svrd's REST API")->capture_default_str();
    if (needsMaps) {
        command->add_option("--router", args.router,
                            "router name, for reading the pinned maps (/sys/fs/bpf/svr/NAME) "
                            "when svrd is down");
    }
    command->add_flag("--json", args.json, "JSON output");
}

} // namespace

void registerShowCommands(CLI::App& app)
{
    CLI::App* show = app.add_subcommand("show", "a running router through svrd's REST API");
    show->require_subcommand(1);

    auto sessionsArgs = std::make_shared<CommonArgs>();
    auto filter = std::make_shared<SessionFilter>();
    CLI::App* sessions = show->add_subcommand("sessions", "sessions with tenant and service");
    addCommonOptions(sessions, *sessionsArgs, true);
    sessions->add_option("--tenant", filter->tenant, "only this tenant");
    sessions->add_option("--service", filter->service, "only this service");
    sessions->add_option("--address", filter->address,
                         "only sessions with this address (before or after NAT)");
    sessions->callback(
        [sessionsArgs, filter] { exitCode() = showSessions(*sessionsArgs, *filter); });

    auto peersArgs = std::make_shared<CommonArgs>();
    CLI::App* peers = show->add_subcommand("peers", "SVR peers and the state of their paths");
    addCommonOptions(peers, *peersArgs, false);
    peers->callback([peersArgs] { exitCode() = showFromDaemon(*peersArgs, "peers", peerTable); });

    auto servicesArgs = std::make_shared<CommonArgs>();
    CLI::App* services = show->add_subcommand("services", "services, routes and session counts");
    addCommonOptions(services, *servicesArgs, false);
    services->callback(
        [servicesArgs] { exitCode() = showFromDaemon(*servicesArgs, "services", serviceTable); });

    auto statsArgs = std::make_shared<CommonArgs>();
    CLI::App* stats = show->add_subcommand("stats", "fast-path and svrd counters");
    addCommonOptions(stats, *statsArgs, true);
    stats->callback([statsArgs] { exitCode() = showStats(*statsArgs); });

    CLI::App* remove = app.add_subcommand("delete", "delete router state through svrd");
    remove->require_subcommand(1);
    auto deleteArgs = std::make_shared<CommonArgs>();
    auto sessionId = std::make_shared<std::uint64_t>(0);
    CLI::App* session = remove->add_subcommand("session", "delete one session (both directions)");
    session->add_option("ID", *sessionId, "session id (show sessions)")->required();
    addCommonOptions(session, *deleteArgs, true);
    session->callback(
        [deleteArgs, sessionId] { exitCode() = deleteSession(*deleteArgs, *sessionId); });
}

} // namespace svr::ctl

#include "svrd/http_server.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <thread>
#include <tuple>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fastpath/address.hpp"
#include "fastpath/format.hpp"
#include "fastpath/session.hpp"
#include "svrd/log.hpp"
#include "svrd/metrics.hpp"

namespace svr::svrd {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Json = nlohmann::json;

constexpr auto kIdleTimeout = std::chrono::seconds(10);
constexpr std::uint64_t kBodyLimit = 64 * 1024; // requests carry no bodies worth more

ApiResponse jsonResponse(unsigned status, const Json& body)
{
    // Invalid UTF-8 echoed from a request (a path or filter) is replaced, never thrown.
    return ApiResponse{status, "application/json",
                       body.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"};
}

ApiResponse errorResponse(unsigned status, const std::string& message)
{
    return jsonResponse(status, Json{{"error", message}});
}

int hexValue(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::optional<std::string> percentDecode(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%') {
            if (i + 2 >= text.size()) {
                return std::nullopt;
            }
            const int high = hexValue(text[i + 1]);
            const int low = hexValue(text[i + 2]);
            if (high < 0 || low < 0) {
                return std::nullopt;
            }
            out += static_cast<char>(high * 16 + low);
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

struct Target {
    std::string path;
    std::vector<std::pair<std::string, std::string>> query;
};

std::optional<Target> parseTarget(std::string_view target)
{
    Target parsed;
    const auto question = target.find('?');
    auto path = percentDecode(target.substr(0, question));
    if (!path) {
        return std::nullopt;
    }
    parsed.path = std::move(*path);
    if (question == std::string_view::npos) {
        return parsed;
    }
    std::string_view rest = target.substr(question + 1);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const auto equals = pair.find('=');
        auto key = percentDecode(pair.substr(0, equals));
        auto value = percentDecode(equals == std::string_view::npos ? std::string_view{}
                                                                    : pair.substr(equals + 1));
        if (!key || !value) {
            return std::nullopt;
        }
        parsed.query.emplace_back(std::move(*key), std::move(*value));
    }
    return parsed;
}

bool addressMatches(const fastpath::SessionEntry& entry, const fastpath::IpAddress& address)
{
    const auto same = [&address](const std::uint8_t* bytes) {
        return std::equal(address.bytes.begin(), address.bytes.end(), bytes);
    };
    // A translating entry's new addresses are of the other family.
    const bool keyFamily = entry.key.family == address.family;
    const bool newFamily = fastpath::rewrittenFamily(entry.key, entry.value) == address.family;
    return (keyFamily && (same(entry.key.src_addr) || same(entry.key.dst_addr))) ||
           (newFamily && (same(entry.value.new_src_addr) || same(entry.value.new_dst_addr)));
}

ApiResponse getSessions(const Target& target, const Snapshot& snapshot, const ApiBackend& backend,
                        std::uint64_t nowNs)
{
    std::optional<std::string> tenant;
    std::optional<std::string> service;
    std::optional<fastpath::IpAddress> address;
    for (const auto& [key, value] : target.query) {
        if (key == "tenant") {
            tenant = value;
        } else if (key == "service") {
            service = value;
        } else if (key == "address") {
            auto parsed = fastpath::parseIpAddress(value);
            if (!parsed) {
                return errorResponse(400, "address: " + parsed.error().message);
            }
            address = *parsed;
        } else {
            return errorResponse(400, fmt::format("unknown filter '{}' (tenant, service, "
                                                  "address)",
                                                  key));
        }
    }
    auto entries = backend.sessions();
    if (!entries) {
        return errorResponse(500, entries.error().describe());
    }
    std::sort(entries->begin(), entries->end(), [](const auto& a, const auto& b) {
        return std::tie(a.value.session_id, a.key.ingress_ifindex) <
               std::tie(b.value.session_id, b.key.ingress_ifindex);
    });
    const auto namer = [&snapshot](std::uint32_t ifindex) { return snapshot.interfaceOf(ifindex); };
    Json list = Json::array();
    for (const auto& entry : *entries) {
        const std::string tenantName = snapshot.tenantOf(entry.value.tenant_id);
        const std::string serviceName = snapshot.serviceOf(entry.value.service_id);
        if ((tenant && *tenant != tenantName) || (service && *service != serviceName) ||
            (address && !addressMatches(entry, *address))) {
            continue;
        }
        Json one = fastpath::sessionToJson(entry, nowNs, namer);
        one["tenant"] = tenantName;
        one["service"] = serviceName;
        list.push_back(std::move(one));
    }
    return jsonResponse(200, list);
}

ApiResponse deleteSession(std::string_view idText, const ApiBackend& backend)
{
    std::uint64_t id = 0;
    const auto [end, error] = std::from_chars(idText.data(), idText.data() + idText.size(), id);
    if (error != std::errc{} || end != idText.data() + idText.size() || idText.empty()) {
        return errorResponse(400, fmt::format("'{}' is not a session id", idText));
    }
    auto deleted = backend.deleteSession(id);
    if (!deleted) {
        return errorResponse(503, deleted.error().describe());
    }
    if (*deleted == 0) {
        return errorResponse(404, fmt::format("no session with id {}", id));
    }
    return jsonResponse(200, Json{{"session_id", id}, {"deleted_entries", *deleted}});
}

Json peersJson(const Snapshot& snapshot)
{
    Json peers = Json::array();
    for (const auto& peer : snapshot.peers) {
        Json paths = Json::array();
        for (const auto& path : peer.paths) {
            paths.push_back({{"interface", path.interface},
                             {"neighborhood", path.neighborhood},
                             {"peer_waypoint", path.peerWaypoint},
                             {"priority", path.priority},
                             {"up", path.up}});
        }
        peers.push_back(
            {{"name", peer.name}, {"key_generation", peer.keyGeneration}, {"paths", paths}});
    }
    return peers;
}

ApiResponse getServices(const Snapshot& snapshot, const ApiBackend& backend)
{
    auto entries = backend.sessions();
    if (!entries) {
        return errorResponse(500, entries.error().describe());
    }
    std::map<std::string, std::uint64_t> activeByService;
    for (const auto& [cls, count] : activeSessionsByClass(snapshot, *entries)) {
        activeByService[cls.second] += count;
    }
    std::map<std::string, SessionClassCounters::Counts> countsByService;
    for (const auto& [cls, counts] : snapshot.sessionClasses) {
        countsByService[cls.second].created += counts.created;
        countsByService[cls.second].expired += counts.expired;
    }
    Json services = Json::array();
    for (const auto& service : snapshot.services) {
        Json routes = Json::array();
        for (const auto& route : service.routes) {
            routes.push_back(
                {{"name", route.name}, {"priority", route.priority}, {"target", route.target}});
        }
        services.push_back({{"name", service.name},
                            {"description", service.description},
                            {"addresses", service.addresses},
                            {"transports", service.transports},
                            {"routes", routes},
                            {"sessions_active", activeByService[service.name]},
                            {"sessions_created", countsByService[service.name].created},
                            {"sessions_expired", countsByService[service.name].expired}});
    }
    return jsonResponse(200, services);
}

Json statsJson(const Snapshot& snapshot, std::uint64_t nowNs)
{
    Json interfaces = Json::object();
    for (const auto& interface : snapshot.interfaces) {
        interfaces[interface.name] = {{"ifindex", interface.ifindex},
                                      {"oper_up", interface.operUp},
                                      {"fastpath", fastpath::statsToJson(interface.stats)}};
    }
    const HistogramSnapshot& h = snapshot.firstPacketLatency;
    Json buckets = Json::array();
    for (std::size_t i = 0; i < h.upperBoundsSeconds.size(); ++i) {
        buckets.push_back(
            {{"le_seconds", h.upperBoundsSeconds[i]}, {"count", h.cumulativeCounts[i]}});
    }
    return Json{
        {"router", snapshot.router},
        {"snapshot_age_s",
         static_cast<double>(nowNs > snapshot.takenNs ? nowNs - snapshot.takenNs : 0) / 1e9},
        {"sessions_indexed", snapshot.sessionsIndexed},
        {"counters", snapshot.counters},
        {"interfaces", interfaces},
        {"first_packet_latency",
         {{"count", h.count}, {"sum_seconds", h.sumSeconds}, {"buckets", buckets}}}};
}

ApiResponse route(const ApiRequest& request, const ApiBackend& backend, std::uint64_t nowNs)
{
    const auto target = parseTarget(request.target);
    if (!target) {
        return errorResponse(400, "malformed percent-encoding in the request target");
    }
    const std::string& path = target->path;
    const bool get = request.method == "GET";
    const std::string_view sessionsPrefix = "/api/v1/sessions/";
    const bool known = path == "/metrics" || path == "/api/v1/sessions" ||
                       path == "/api/v1/peers" || path == "/api/v1/services" ||
                       path == "/api/v1/stats" || path.starts_with(sessionsPrefix);
    if (!known) {
        return errorResponse(404, fmt::format("no resource {} (see /api/v1/sessions, peers, "
                                              "services, stats and /metrics)",
                                              path));
    }
    const bool deleting = path.starts_with(sessionsPrefix);
    if (deleting ? request.method != "DELETE" : !get) {
        return errorResponse(405, fmt::format("{} does not take {}", path, request.method));
    }
    if (deleting) {
        return deleteSession(std::string_view(path).substr(sessionsPrefix.size()), backend);
    }
    const auto snapshot = backend.snapshot();
    if (!snapshot) {
        return errorResponse(503, "svrd is starting: no state published yet");
    }
    if (path == "/metrics") {
        auto entries = backend.sessions();
        if (!entries) {
            return errorResponse(500, entries.error().describe());
        }
        return ApiResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                           renderMetrics(*snapshot, *entries)};
    }
    if (path == "/api/v1/sessions") {
        return getSessions(*target, *snapshot, backend, nowNs);
    }
    if (path == "/api/v1/peers") {
        return jsonResponse(200, peersJson(*snapshot));
    }
    if (path == "/api/v1/services") {
        return getServices(*snapshot, backend);
    }
    return jsonResponse(200, statsJson(*snapshot, nowNs));
}

// ------------------------------------------------------------------ connections

// Connections open at once: beyond it new ones are closed at accept, so idle clients cannot
// take every file descriptor svrd needs for its sockets and maps.
constexpr int kMaxConnections = 64;

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(tcp::socket socket, const ApiBackend& backend, std::atomic<int>& open)
        : stream_(std::move(socket)), backend_(backend), open_(open)
    {
        ++open_;
    }
    ~Connection() { --open_; }

    void run() { read(); }

private:
    void read()
    {
        parser_.emplace();
        parser_->body_limit(kBodyLimit);
        stream_.expires_after(kIdleTimeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code error, std::size_t) {
                             self->onRead(error);
                         });
    }

    void onRead(beast::error_code error)
    {
        if (error) {
            // end_of_stream, a timeout or a malformed request: nothing to answer on.
            close();
            return;
        }
        const auto& request = parser_->get();
        ApiResponse answer;
        try {
            answer = handleRequest(
                ApiRequest{std::string(request.method_string()), std::string(request.target())},
                backend_, fastpath::monotonicNowNs());
        } catch (const std::exception& bug) {
            logInfo("http: {} {}: {}", std::string(request.method_string()),
                    std::string(request.target()), bug.what());
            answer = errorResponse(500, "internal error");
        }
        auto response = std::make_shared<http::response<http::string_body>>(
            static_cast<http::status>(answer.status), request.version());
        response->set(http::field::server, "svrd");
        response->set(http::field::content_type, answer.contentType);
        response->keep_alive(request.keep_alive());
        response->body() = std::move(answer.body);
        response->prepare_payload();
        http::async_write(
            stream_, *response,
            [self = shared_from_this(), response](beast::error_code writeError, std::size_t) {
                if (writeError || !response->keep_alive()) {
                    self->close();
                    return;
                }
                self->read();
            });
    }

    void close()
    {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.close();
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    const ApiBackend& backend_;
    std::atomic<int>& open_;
};

} // namespace

ApiResponse handleRequest(const ApiRequest& request, const ApiBackend& backend, std::uint64_t nowNs)
{
    try {
        return route(request, backend, nowNs);
    } catch (const std::exception& bug) {
        return errorResponse(500, std::string("internal error: ") + bug.what());
    }
}

// ------------------------------------------------------------------ loop requests

Result<std::unique_ptr<LoopRequests>> LoopRequests::create()
{
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd.valid()) {
        return Error::fromErrno(errno, "eventfd for HTTP requests");
    }
    return std::unique_ptr<LoopRequests>(new LoopRequests(std::move(fd)));
}

Result<std::size_t> LoopRequests::deleteSession(std::uint64_t sessionId,
                                                std::chrono::milliseconds timeout)
{
    std::future<Result<std::size_t>> answer;
    std::uint64_t ticket = 0;
    {
        std::lock_guard lock(mutex_);
        ticket = ++nextTicket_;
        queue_.push_back(Pending{ticket, sessionId, {}});
        answer = queue_.back().answer.get_future();
    }
    const auto withdraw = [this, ticket] {
        std::lock_guard lock(mutex_);
        const auto it = std::find_if(queue_.begin(), queue_.end(),
                                     [ticket](const Pending& p) { return p.ticket == ticket; });
        if (it == queue_.end()) {
            return false; // the loop has taken it
        }
        queue_.erase(it);
        return true;
    };
    const std::uint64_t one = 1;
    if (::write(eventFd_.get(), &one, sizeof(one)) != sizeof(one)) {
        const int error = errno;
        if (withdraw()) {
            return Error::fromErrno(error, "wake the event loop (the delete was not carried out)");
        }
        return answer.get();
    }
    if (answer.wait_for(timeout) != std::future_status::ready) {
        if (withdraw()) {
            return Error{std::make_error_code(std::errc::timed_out),
                         fmt::format("svrd's event loop did not take the delete within {} ms; it "
                                     "was not carried out",
                                     timeout.count())};
        }
        // Taken while we waited: it is running now and answers shortly.
        return answer.get();
    }
    return answer.get();
}

void LoopRequests::serve(const std::function<Result<std::size_t>(std::uint64_t)>& deleteSession)
{
    std::uint64_t ignored = 0;
    (void)!::read(eventFd_.get(), &ignored, sizeof(ignored));
    std::deque<Pending> pending;
    {
        std::lock_guard lock(mutex_);
        pending.swap(queue_);
    }
    for (auto& request : pending) {
        request.answer.set_value(deleteSession(request.sessionId));
    }
}

// ------------------------------------------------------------------ server

struct HttpServer::Impl {
    // Before io: connections still queued in io decrement it when io is destroyed.
    std::atomic<int> open{0};
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    asio::steady_timer retry{io};
    ApiBackend backend;
    std::thread thread;
    std::uint16_t port = 0;

    void accept()
    {
        acceptor.async_accept(
            asio::make_strand(io), [this](beast::error_code error, tcp::socket socket) {
                if (error == asio::error::operation_aborted) {
                    return; // stopping
                }
                if (error) {
                    // Out of descriptors (EMFILE) and the like: wait instead of spinning.
                    retry.expires_after(std::chrono::milliseconds(100));
                    retry.async_wait([this](beast::error_code waited) {
                        if (waited != asio::error::operation_aborted) {
                            accept();
                        }
                    });
                    return;
                }
                if (open.load() < kMaxConnections) {
                    std::make_shared<Connection>(std::move(socket), backend, open)->run();
                } else {
                    beast::error_code ignored;
                    socket.close(ignored);
                }
                accept();
            });
    }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer()
{
    impl_->io.stop();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
}

std::uint16_t HttpServer::port() const
{
    return impl_->port; // read before the thread started: no race with the acceptor
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& address,
                                                      std::uint16_t port, ApiBackend backend)
{
    auto impl = std::make_unique<Impl>();
    impl->backend = std::move(backend);
    beast::error_code error;
    const auto ip = asio::ip::make_address(address, error);
    if (error) {
        return Error::invalid(
            fmt::format("HTTP listen address '{}': {}", address, error.message()));
    }
    const tcp::endpoint endpoint(ip, port);
    const auto failed = [&](const char* what) {
        return Error{std::error_code(error.value(), std::generic_category()),
                     fmt::format("HTTP endpoint {}: {}", what,
                                 ip.is_v6() ? fmt::format("[{}]:{}", address, port)
                                            : fmt::format("{}:{}", address, port))};
    };
    impl->acceptor.open(endpoint.protocol(), error);
    if (error) {
        return failed("open");
    }
    impl->acceptor.set_option(asio::socket_base::reuse_address(true), error);
    impl->acceptor.bind(endpoint, error);
    if (error) {
        return failed("bind");
    }
    impl->acceptor.listen(asio::socket_base::max_listen_connections, error);
    if (error) {
        return failed("listen");
    }
    impl->port = impl->acceptor.local_endpoint(error).port();
    impl->accept();
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] { raw->io.run(); });
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

Result<std::pair<std::string, std::uint16_t>> parseListen(const std::string& text)
{
    std::string host = text;
    std::string portText;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string::npos) {
            return Error::invalid(fmt::format("'{}': missing ']'", text));
        }
        host = text.substr(1, close - 1);
        if (close + 1 < text.size()) {
            if (text[close + 1] != ':') {
                return Error::invalid(fmt::format("'{}': expected ':PORT' after ']'", text));
            }
            portText = text.substr(close + 2);
        }
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
        host = text.substr(0, text.find(':'));
        portText = text.substr(text.find(':') + 1);
    }
    std::uint16_t port = 9464;
    if (!portText.empty() || text.ends_with(':')) {
        const auto [end, error] =
            std::from_chars(portText.data(), portText.data() + portText.size(), port);
        if (error != std::errc{} || end != portText.data() + portText.size() || port == 0) {
            return Error::invalid(fmt::format("'{}': port must be 1..65535", text));
        }
    }
    if (!fastpath::parseIpAddress(host)) {
        return Error::invalid(fmt::format("'{}': not an IP address", host));
    }
    return std::pair{host, port};
}

} // namespace svr::svrd

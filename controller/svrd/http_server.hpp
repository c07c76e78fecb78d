// svrd's HTTP endpoint on its own thread (Boost.Beast): Prometheus /metrics and the local
// REST API under /api/v1 that svrctl show uses. The thread never touches RouterState: it
// reads the latest published Snapshot and the kernel's session table, and hands requests
// that change state to the event loop through LoopRequests (an eventfd the loop polls).
//
//   GET    /metrics                                 Prometheus text format 0.0.4
//   GET    /api/v1/sessions[?tenant=&service=&address=]  session table entries, with names
//   DELETE /api/v1/sessions/<id>                    both directions of one session
//   GET    /api/v1/peers | /api/v1/services | /api/v1/stats
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "fastpath/session.hpp"
#include "svrd/snapshot.hpp"

namespace svr::svrd {

struct ApiRequest {
    std::string method; // "GET", "DELETE", ...
    std::string target; // path and query, as received
};

struct ApiResponse {
    unsigned status = 200;
    std::string contentType = "application/json";
    std::string body;
};

// What the handler reads and asks; svrd binds these to the snapshot board, the session map
// and the loop, tests to plain values.
struct ApiBackend {
    std::function<std::shared_ptr<const Snapshot>()> snapshot;
    std::function<Result<std::vector<fastpath::SessionEntry>>()> sessions;
    // Entries deleted (0: no such session), or an error (the loop did not answer in time).
    std::function<Result<std::size_t>(std::uint64_t)> deleteSession;
};

// The whole routing and rendering, without sockets. Never throws for any request.
ApiResponse handleRequest(const ApiRequest& request, const ApiBackend& backend,
                          std::uint64_t nowNs);

// How long an HTTP request waits for the event loop (then 503).
inline constexpr std::chrono::milliseconds kLoopAnswerTimeout{2000};

// Requests from the HTTP thread that the event loop runs (it owns RouterState).
class LoopRequests {
public:
    static Result<std::unique_ptr<LoopRequests>> create();
    int fd() const { return eventFd_.get(); } // readable while requests wait

    // HTTP thread: queues a delete and waits for the loop's answer up to timeout. A delete
    // the loop has not taken by then is withdrawn (an error says it was not carried out);
    // one it is running is waited for, so the answer always says what happened.
    Result<std::size_t> deleteSession(std::uint64_t sessionId, std::chrono::milliseconds timeout);
    // Loop thread, when fd() is readable: runs every queued request.
    void serve(const std::function<Result<std::size_t>(std::uint64_t)>& deleteSession);

private:
    explicit LoopRequests(UniqueFd eventFd) : eventFd_(std::move(eventFd)) {}
    struct Pending {
        std::uint64_t ticket = 0;
        std::uint64_t sessionId = 0;
        std::promise<Result<std::size_t>> answer;
    };
    UniqueFd eventFd_;
    std::mutex mutex_;
    std::deque<Pending> queue_;
    std::uint64_t nextTicket_ = 0;
};

class HttpServer {
public:
    // Binds and listens (errors name the address), then serves on a new thread.
    static Result<std::unique_ptr<HttpServer>> start(const std::string& address, std::uint16_t port,
                                                     ApiBackend backend);
    ~HttpServer(); // stops serving and joins the thread
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    std::uint16_t port() const; // the bound port (useful when started with port 0)

    struct Impl;

private:
    explicit HttpServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// "127.0.0.1:9464", "[::1]:9464" or a bare address (port 9464); errors name the text.
Result<std::pair<std::string, std::uint16_t>> parseListen(const std::string& text);

} // namespace svr::svrd

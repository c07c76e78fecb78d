// The Beast server on loopback (port 0: the kernel picks one) and the loop request queue.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <future>
#include <thread>

#include "common/unique_fd.hpp"
#include "fixtures.hpp"
#include "svrd/http_server.hpp"

namespace svr::svrd {
namespace {

// A raw HTTP/1.1 exchange: what any client (curl, Prometheus) sends.
std::string exchange(std::uint16_t port, const std::string& request)
{
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        return "connect failed";
    }
    (void)!::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL);
    std::string reply;
    char buffer[4096];
    pollfd waiting{fd.get(), POLLIN, 0};
    while (::poll(&waiting, 1, 5000) == 1) {
        const ssize_t got = ::recv(fd.get(), buffer, sizeof(buffer), 0);
        if (got <= 0) {
            break;
        }
        reply.append(buffer, static_cast<std::size_t>(got));
    }
    return reply;
}

ApiBackend sampleBackend()
{
    std::shared_ptr<const Snapshot> snapshot = testing::sampleSnapshot();
    return ApiBackend{
        .snapshot = [snapshot] { return snapshot; },
        .sessions =
            [] { return Result<std::vector<fastpath::SessionEntry>>(testing::sampleSessions()); },
        .deleteSession = [](std::uint64_t) { return Result<std::size_t>(std::size_t{2}); },
    };
}

TEST(HttpServer, ServesMetricsAndApiOverTcp)
{
    auto server = HttpServer::start("127.0.0.1", 0, sampleBackend());
    ASSERT_TRUE(server) << server.error().describe();
    const std::uint16_t port = (*server)->port();
    ASSERT_NE(port, 0);

    const std::string metrics =
        exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(metrics.starts_with("HTTP/1.1 200 OK\r\n")) << metrics.substr(0, 200);
    EXPECT_NE(metrics.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
    EXPECT_NE(metrics.find("\r\n\r\n# HELP svr_info "), std::string::npos);

    const std::string deleted = exchange(
        port, "DELETE /api/v1/sessions/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(deleted.starts_with("HTTP/1.1 200 OK\r\n")) << deleted;
    EXPECT_NE(deleted.find("\"deleted_entries\": 2"), std::string::npos);

    // Two requests on one keep-alive connection, then a close.
    const std::string both =
        exchange(port, "GET /api/v1/peers HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /api/v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_NE(both.find("HTTP/1.1 200 OK"), std::string::npos);
    EXPECT_NE(both.find("HTTP/1.1 404 Not Found"), std::string::npos);
}

TEST(HttpServer, GarbageAndOversizedRequestsDoNotStopIt)
{
    auto server = HttpServer::start("127.0.0.1", 0, sampleBackend());
    ASSERT_TRUE(server) << server.error().describe();
    const std::uint16_t port = (*server)->port();
    EXPECT_EQ(exchange(port, "\x01\x02garbage\r\n\r\n").find("200 OK"), std::string::npos);
    const std::string huge =
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" +
        std::string(100000, 'x');
    EXPECT_EQ(exchange(port, huge).find("200 OK"), std::string::npos);
    const std::string after =
        exchange(port, "GET /api/v1/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(after.starts_with("HTTP/1.1 200 OK\r\n")) << after.substr(0, 200);
}

TEST(HttpServer, BindFailureNamesTheAddress)
{
    auto first = HttpServer::start("127.0.0.1", 0, sampleBackend());
    ASSERT_TRUE(first);
    auto second = HttpServer::start("127.0.0.1", (*first)->port(), sampleBackend());
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("127.0.0.1:"), std::string::npos)
        << second.error().describe();
    auto bad = HttpServer::start("not-an-address", 0, sampleBackend());
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("not-an-address"), std::string::npos);
}

TEST(LoopRequests, DeleteIsRunByTheLoopThread)
{
    auto requests = LoopRequests::create();
    ASSERT_TRUE(requests);
    LoopRequests& queue = **requests;
    const std::thread::id loopThread = std::this_thread::get_id();
    auto answer = std::async(std::launch::async,
                             [&queue] { return queue.deleteSession(17, std::chrono::seconds(5)); });
    pollfd readable{queue.fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&readable, 1, 5000), 1);
    std::thread::id ranOn;
    queue.serve([&](std::uint64_t id) -> Result<std::size_t> {
        ranOn = std::this_thread::get_id();
        return id == 17 ? std::size_t{2} : std::size_t{0};
    });
    const auto result = answer.get();
    ASSERT_TRUE(result) << result.error().describe();
    EXPECT_EQ(*result, 2U);
    EXPECT_EQ(ranOn, loopThread);
    readable.revents = 0;
    EXPECT_EQ(::poll(&readable, 1, 0), 0); // drained
}

TEST(LoopRequests, DeleteNotTakenInTimeIsWithdrawnNotCarriedOutLater)
{
    auto requests = LoopRequests::create();
    ASSERT_TRUE(requests);
    const auto result = (*requests)->deleteSession(1, std::chrono::milliseconds(50));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, std::errc::timed_out);
    EXPECT_NE(result.error().message.find("not carried out"), std::string::npos)
        << result.error().message;
    // The loop comes round late: the client was told no, so nothing may be deleted now.
    int ran = 0;
    (*requests)->serve([&ran](std::uint64_t) {
        ++ran;
        return Result<std::size_t>(std::size_t{1});
    });
    EXPECT_EQ(ran, 0);
}

TEST(LoopRequests, DeleteTakenBeforeTheTimeoutIsAnsweredWithItsResult)
{
    auto requests = LoopRequests::create();
    ASSERT_TRUE(requests);
    LoopRequests& queue = **requests;
    std::promise<void> started;
    auto startedFuture = started.get_future();
    std::promise<void> release;
    auto releaseFuture = release.get_future().share();
    // The loop takes the delete at once but takes longer than the timeout to finish it.
    std::thread loop([&] {
        pollfd readable{queue.fd(), POLLIN, 0};
        ASSERT_EQ(::poll(&readable, 1, 5000), 1);
        queue.serve([&](std::uint64_t) -> Result<std::size_t> {
            started.set_value();
            releaseFuture.wait();
            return std::size_t{2};
        });
    });
    auto answer = std::async(std::launch::async,
                             [&queue] { return queue.deleteSession(9, std::chrono::milliseconds(50)); });
    startedFuture.wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // past the timeout
    release.set_value();
    const auto result = answer.get();
    loop.join();
    ASSERT_TRUE(result) << result.error().describe();
    EXPECT_EQ(*result, 2U);
}

TEST(ParseListen, Forms)
{
    auto v4 = parseListen("0.0.0.0:9100");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->first, "0.0.0.0");
    EXPECT_EQ(v4->second, 9100);
    auto v6 = parseListen("[::1]:9200");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->first, "::1");
    EXPECT_EQ(v6->second, 9200);
    auto bare = parseListen("::1");
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->second, 9464);
    for (const char* bad : {"host:80", "127.0.0.1:0", "127.0.0.1:70000", "[::1", "[::1]x",
                            "127.0.0.1:", "1.2.3.4:8x"}) {
        EXPECT_FALSE(parseListen(bad)) << bad;
    }
}

} // namespace
} // namespace svr::svrd

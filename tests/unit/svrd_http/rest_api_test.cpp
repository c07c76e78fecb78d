// REST routing and JSON of handleRequest, with a backend of plain values.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fixtures.hpp"
#include "svrd/http_server.hpp"

namespace svr::svrd {
namespace {

using Json = nlohmann::json;
using testing::sampleSessions;
using testing::sampleSnapshot;

constexpr std::uint64_t kNow = 12'000'000'000;

class RestApi : public ::testing::Test {
protected:
    ApiResponse call(const std::string& method, const std::string& target)
    {
        return handleRequest(ApiRequest{method, target}, backend_, kNow);
    }
    Json get(const std::string& target, unsigned expectedStatus = 200)
    {
        const ApiResponse response = call("GET", target);
        EXPECT_EQ(response.status, expectedStatus) << target << ": " << response.body;
        EXPECT_EQ(response.contentType, "application/json");
        return Json::parse(response.body);
    }

    std::shared_ptr<const Snapshot> snapshot_ = sampleSnapshot();
    std::vector<std::uint64_t> deleted_;
    std::size_t entriesPerDelete_ = 2;
    bool loopAnswers_ = true;
    ApiBackend backend_{
        .snapshot = [this] { return snapshot_; },
        .sessions = [] { return Result<std::vector<fastpath::SessionEntry>>(sampleSessions()); },
        .deleteSession = [this](std::uint64_t id) -> Result<std::size_t> {
            if (!loopAnswers_) {
                return Error{std::make_error_code(std::errc::timed_out), "loop did not answer"};
            }
            deleted_.push_back(id);
            return entriesPerDelete_;
        },
    };
};

TEST_F(RestApi, SessionsCarryTenantAndServiceNames)
{
    const Json sessions = get("/api/v1/sessions");
    ASSERT_EQ(sessions.size(), 4U);
    EXPECT_EQ(sessions[0]["session_id"], 1);
    EXPECT_EQ(sessions[0]["tenant"], "clients");
    EXPECT_EQ(sessions[0]["service"], "web");
    EXPECT_EQ(sessions[0]["in_interface"], "lan0"); // names from the snapshot
    EXPECT_EQ(sessions[0]["out_interface"], "srv0");
    EXPECT_EQ(sessions[0]["dport"], 80);
    EXPECT_EQ(sessions[3]["tenant"], "");
    EXPECT_EQ(sessions[3]["family"], "ipv6");
}

TEST_F(RestApi, SessionFilters)
{
    EXPECT_EQ(get("/api/v1/sessions?service=web").size(), 2U);
    EXPECT_EQ(get("/api/v1/sessions?service=internet").size(), 1U);
    EXPECT_EQ(get("/api/v1/sessions?tenant=clients").size(), 3U);
    EXPECT_EQ(get("/api/v1/sessions?tenant=clients&service=web").size(), 2U);
    EXPECT_EQ(get("/api/v1/sessions?tenant=nobody").size(), 0U);
    // Either end, either direction.
    EXPECT_EQ(get("/api/v1/sessions?address=10.10.2.10").size(), 2U);
    EXPECT_EQ(get("/api/v1/sessions?address=198.51.100.7").size(), 1U);
    // IPv6 compared as addresses: percent-encoded, or written another way.
    EXPECT_EQ(get("/api/v1/sessions?address=fd00%3A10%3A2%3A%3A10").size(), 1U);
    EXPECT_EQ(get("/api/v1/sessions?address=fd00:10:2:0::0:10").size(), 1U);
    EXPECT_EQ(get("/api/v1/sessions?address=fd00:10:2::11").size(), 0U);
}

TEST_F(RestApi, BadFiltersAreRefusedNamingThem)
{
    const Json bad = get("/api/v1/sessions?address=10.10.300.1", 400);
    EXPECT_NE(bad["error"].get<std::string>().find("address"), std::string::npos);
    const Json unknown = get("/api/v1/sessions?color=red", 400);
    EXPECT_NE(unknown["error"].get<std::string>().find("color"), std::string::npos);
    EXPECT_EQ(get("/api/v1/sessions?tenant=%zz", 400)["error"].is_string(), true);
    EXPECT_EQ(get("/api/v1/sessions?tenant=%4", 400)["error"].is_string(), true);
}

TEST_F(RestApi, DeleteSessionGoesToTheLoop)
{
    ApiResponse response = call("DELETE", "/api/v1/sessions/42");
    EXPECT_EQ(response.status, 200U) << response.body;
    EXPECT_EQ(Json::parse(response.body)["deleted_entries"], 2);
    ASSERT_EQ(deleted_, std::vector<std::uint64_t>{42});

    entriesPerDelete_ = 0;
    EXPECT_EQ(call("DELETE", "/api/v1/sessions/43").status, 404U);
    loopAnswers_ = false;
    EXPECT_EQ(call("DELETE", "/api/v1/sessions/44").status, 503U);
    for (const char* bad : {"/api/v1/sessions/abc", "/api/v1/sessions/", "/api/v1/sessions/1x",
                            "/api/v1/sessions/99999999999999999999999"}) {
        EXPECT_EQ(call("DELETE", bad).status, 400U) << bad;
    }
    EXPECT_EQ(deleted_.size(), 2U); // bad ids never reach the loop
}

TEST_F(RestApi, MethodsAndUnknownPaths)
{
    EXPECT_EQ(call("POST", "/metrics").status, 405U);
    EXPECT_EQ(call("DELETE", "/api/v1/sessions").status, 405U);
    EXPECT_EQ(call("GET", "/api/v1/sessions/1").status, 405U);
    EXPECT_EQ(call("GET", "/").status, 404U);
    EXPECT_EQ(call("GET", "/api/v1/../metrics").status, 404U);
    EXPECT_EQ(call("GET", std::string(10000, 'a')).status, 404U);
}

TEST_F(RestApi, NothingPublishedYetIsUnavailable)
{
    snapshot_ = nullptr;
    EXPECT_EQ(call("GET", "/metrics").status, 503U);
    EXPECT_EQ(call("GET", "/api/v1/stats").status, 503U);
}

TEST_F(RestApi, MetricsAreTextExposition)
{
    const ApiResponse response = call("GET", "/metrics");
    EXPECT_EQ(response.status, 200U);
    EXPECT_EQ(response.contentType, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(response.body.find("svr_sessions_active{tenant=\"clients\",service=\"web\"} 1\n"),
              std::string::npos);
}

TEST_F(RestApi, SessionTableErrorsAreReported)
{
    backend_.sessions = [] {
        return Result<std::vector<fastpath::SessionEntry>>(Error::invalid("map gone"));
    };
    EXPECT_EQ(call("GET", "/api/v1/sessions").status, 500U);
    EXPECT_EQ(call("GET", "/metrics").status, 500U);
}

TEST_F(RestApi, Peers)
{
    const Json peers = get("/api/v1/peers");
    ASSERT_EQ(peers.size(), 1U);
    EXPECT_EQ(peers[0]["name"], "dc1");
    EXPECT_EQ(peers[0]["key_generation"], 3);
    ASSERT_EQ(peers[0]["paths"].size(), 2U);
    EXPECT_EQ(peers[0]["paths"][0]["peer_waypoint"], "192.0.2.2");
    EXPECT_EQ(peers[0]["paths"][0]["up"], true);
    EXPECT_EQ(peers[0]["paths"][1]["up"], false);
}

TEST_F(RestApi, ServicesWithSessionCounts)
{
    const Json services = get("/api/v1/services");
    ASSERT_EQ(services.size(), 2U);
    EXPECT_EQ(services[0]["name"], "web");
    EXPECT_EQ(services[0]["sessions_active"], 1);
    EXPECT_EQ(services[0]["sessions_created"], 5);
    EXPECT_EQ(services[0]["sessions_expired"], 4);
    EXPECT_EQ(services[0]["transports"][0], "tcp 80,5201");
    EXPECT_EQ(services[0]["routes"][0]["target"], "via srv0");
    EXPECT_EQ(services[1]["sessions_active"], 1);
}

TEST_F(RestApi, Stats)
{
    const Json stats = get("/api/v1/stats");
    EXPECT_EQ(stats["router"], "edge1");
    EXPECT_EQ(stats["counters"]["punt.received"], 7);
    EXPECT_EQ(stats["interfaces"]["lan0"]["fastpath"]["verdicts"]["forward"]["packets"], 100);
    EXPECT_EQ(stats["interfaces"]["lan0"]["fastpath"]["drop"]["dos_limit"], 5);
    EXPECT_EQ(stats["interfaces"]["srv0"]["oper_up"], false);
    EXPECT_EQ(stats["first_packet_latency"]["count"], 7);
    EXPECT_DOUBLE_EQ(stats["snapshot_age_s"].get<double>(), 7.0);
}

} // namespace
} // namespace svr::svrd

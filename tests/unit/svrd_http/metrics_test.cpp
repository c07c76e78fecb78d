// The Prometheus exposition: names, labels, values, format rules, and promtool's verdict.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "fixtures.hpp"
#include "svrd/metrics.hpp"
#include "svrd/router_state.hpp"

namespace svr::svrd {
namespace {

using testing::sampleSessions;
using testing::sampleSnapshot;

bool hasLine(const std::string& text, const std::string& line)
{
    std::istringstream in(text);
    for (std::string one; std::getline(in, one);) {
        if (one == line) {
            return true;
        }
    }
    return false;
}

TEST(Metrics, InterfaceCountersByVerdictAndReason)
{
    const std::string text = renderMetrics(*sampleSnapshot(), sampleSessions());
    EXPECT_TRUE(
        hasLine(text, R"(svr_interface_packets_total{interface="lan0",verdict="forward"} 100)"));
    EXPECT_TRUE(
        hasLine(text, R"(svr_interface_bytes_total{interface="lan0",verdict="forward"} 64000)"));
    EXPECT_TRUE(hasLine(text, R"(svr_interface_packets_total{interface="srv0",verdict="drop"} 0)"));
    EXPECT_TRUE(
        hasLine(text, R"(svr_interface_dropped_packets_total{interface="lan0",reason="fib"} 1)"));
    EXPECT_TRUE(
        hasLine(text, R"(svr_interface_punted_packets_total{interface="lan0",reason="miss"} 7)"));
    EXPECT_TRUE(hasLine(text, R"(svr_dos_dropped_packets_total{interface="lan0"} 5)"));
    EXPECT_TRUE(hasLine(text, R"(svr_interface_up{interface="lan0"} 1)"));
    EXPECT_TRUE(hasLine(text, R"(svr_interface_up{interface="srv0"} 0)"));
}

TEST(Metrics, SessionsByTenantAndService)
{
    const std::string text = renderMetrics(*sampleSnapshot(), sampleSessions());
    // Active: distinct session ids of the table (session 1 has two entries).
    EXPECT_TRUE(hasLine(text, R"(svr_sessions_active{tenant="clients",service="web"} 1)"));
    EXPECT_TRUE(hasLine(text, R"(svr_sessions_active{tenant="clients",service="internet"} 1)"));
    EXPECT_TRUE(hasLine(text, R"(svr_sessions_active{tenant="",service=""} 1)"));
    EXPECT_TRUE(hasLine(text, R"(svr_sessions_created_total{tenant="clients",service="web"} 5)"));
    EXPECT_TRUE(hasLine(text, R"(svr_sessions_expired_total{tenant="clients",service="web"} 4)"));
    EXPECT_TRUE(
        hasLine(text, R"(svr_sessions_expired_total{tenant="clients",service="internet"} 0)"));
}

TEST(Metrics, MetadataFailuresComeFromPrefixedCounters)
{
    const std::string text = renderMetrics(*sampleSnapshot(), {});
    EXPECT_TRUE(hasLine(text, R"(svr_metadata_failures_total{reason="bad-hmac"} 4)"));
    EXPECT_TRUE(hasLine(text, R"(svr_metadata_failures_total{reason="replay"} 1)"));
    // Other drops are controller drops, never metadata failures.
    EXPECT_TRUE(hasLine(
        text, R"(svr_controller_dropped_packets_total{reason="policy.no-matching-policy"} 3)"));
    EXPECT_EQ(text.find(R"(svr_controller_dropped_packets_total{reason="metadata.)"),
              std::string::npos);
}

TEST(Metrics, PeerPathState)
{
    const std::string text = renderMetrics(*sampleSnapshot(), {});
    EXPECT_TRUE(hasLine(
        text, R"(svr_peer_path_up{peer="dc1",interface="lan0",peer_waypoint="192.0.2.2"} 1)"));
    EXPECT_TRUE(hasLine(
        text, R"(svr_peer_path_up{peer="dc1",interface="srv0",peer_waypoint="2001:db8::2"} 0)"));
}

TEST(Metrics, FirstPacketHistogramIsCumulativeWithInfAndSum)
{
    const std::string text = renderMetrics(*sampleSnapshot(), {});
    EXPECT_TRUE(hasLine(text, "# TYPE svr_first_packet_duration_seconds histogram"));
    EXPECT_TRUE(hasLine(text, R"(svr_first_packet_duration_seconds_bucket{le="1e-05"} 1)"));
    EXPECT_TRUE(hasLine(text, R"(svr_first_packet_duration_seconds_bucket{le="0.001"} 6)"));
    EXPECT_TRUE(hasLine(text, R"(svr_first_packet_duration_seconds_bucket{le="+Inf"} 7)"));
    EXPECT_TRUE(hasLine(text, "svr_first_packet_duration_seconds_sum 0.0042"));
    EXPECT_TRUE(hasLine(text, "svr_first_packet_duration_seconds_count 7"));
}

TEST(Metrics, EveryFamilyHasHelpAndTypeOnceAndCountersEndInTotal)
{
    const std::string text = renderMetrics(*sampleSnapshot(), sampleSessions());
    std::map<std::string, std::string> types;
    std::set<std::string> helps;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        ASSERT_FALSE(line.empty());
        if (line.starts_with("# HELP ")) {
            const std::string name = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_TRUE(helps.insert(name).second) << "second HELP for " << name;
            continue;
        }
        if (line.starts_with("# TYPE ")) {
            std::istringstream words(line.substr(7));
            std::string name, type;
            words >> name >> type;
            EXPECT_TRUE(types.emplace(name, type).second) << "second TYPE for " << name;
            EXPECT_TRUE(name.starts_with("svr_")) << name;
            if (type == "counter") {
                EXPECT_TRUE(name.ends_with("_total")) << name;
            }
            continue;
        }
        std::string name = line.substr(0, line.find_first_of("{ "));
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            if (!types.contains(name) && name.ends_with(suffix)) {
                name.resize(name.size() - std::string_view(suffix).size());
            }
        }
        EXPECT_TRUE(types.contains(name)) << "sample before its TYPE: " << line;
        EXPECT_TRUE(helps.contains(name)) << "sample without HELP: " << line;
    }
    EXPECT_GE(types.size(), 14U);
}

TEST(Metrics, LabelValuesAreEscaped)
{
    EXPECT_EQ(escapeLabelValue(R"(a"b\c)"
                               "\n"),
              R"(a\"b\\c\n)");
    auto snapshot = sampleSnapshot();
    snapshot->router = "odd\"name";
    const std::string text = renderMetrics(*snapshot, {});
    EXPECT_TRUE(hasLine(text, R"(svr_info{router="odd\"name"} 1)"));
}

TEST(Metrics, PromtoolAcceptsTheExposition)
{
    const std::string path = ::testing::TempDir() + "svrd_metrics_test.prom";
    {
        std::ofstream out(path);
        out << renderMetrics(*sampleSnapshot(), sampleSessions());
    }
    const std::string command = std::string(SVR_PROMTOOL) + " check metrics < " + path + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[512];
    while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) {
        output += buffer;
    }
    const int status = ::pclose(pipe);
    std::remove(path.c_str());
    ASSERT_NE(status, -1);
    ASSERT_TRUE(WIFEXITED(status));
    // 127: promtool missing (ci/install-deps installs the prometheus package).
    EXPECT_EQ(WEXITSTATUS(status), 0) << output;
    EXPECT_EQ(output, "") << "promtool lint findings";
}

TEST(LatencyHistogram, BucketsAreInclusiveUpperBoundsAndCumulative)
{
    LatencySamples samples;
    samples.add(1'000);         // exactly the first bound
    samples.add(1'001);         // second bucket
    samples.add(50'000);        // 50 us
    samples.add(2'000'000'000); // above every bound: +Inf only
    const LatencyHistogram& histogram = samples.histogram();
    const auto cumulative = histogram.cumulativeCounts();
    EXPECT_EQ(cumulative[0], 1U);
    EXPECT_EQ(cumulative[1], 2U);
    EXPECT_EQ(cumulative[5], 3U); // 50 us bound
    EXPECT_EQ(cumulative.back(), 3U);
    EXPECT_EQ(histogram.count(), 4U);
    EXPECT_EQ(histogram.sumNs(), 1'000U + 1'001U + 50'000U + 2'000'000'000U);
    EXPECT_EQ(samples.count(), 4U); // the quantile samples are fed by the same call
}

TEST(SessionClassCounters, NamesResolvedFromTheConfiguration)
{
    config::Config config;
    config.tenants.push_back(config::Tenant{"clients", "", {}});
    config::Service web;
    web.name = "web";
    config.services.push_back(web);
    SessionClassCounters counters;
    svr_session_value value{};
    value.tenant_id = 1;
    value.service_id = 1;
    counters.created(config, value);
    counters.created(config, value);
    counters.expired(config, value);
    value.tenant_id = 0;
    value.service_id = 9; // unknown id: no name
    counters.created(config, value);
    const auto& all = counters.all();
    ASSERT_EQ(all.size(), 2U);
    EXPECT_EQ(all.at({"clients", "web"}).created, 2U);
    EXPECT_EQ(all.at({"clients", "web"}).expired, 1U);
    EXPECT_EQ(all.at({"", ""}).created, 1U);
}

} // namespace
} // namespace svr::svrd

// The router/ipfix configuration: defaults, every leaf, absence, and rejected values.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/loader.hpp"
#include "config/test_files.hpp"

namespace svr::config {
namespace {

std::string withIpfix(const nlohmann::json& ipfix)
{
    auto document = nlohmann::json::parse(test::exampleText("single-router.json"));
    document["svr:config"]["router"]["ipfix"] = ipfix;
    return document.dump();
}

TEST(IpfixConfig, AbsentMeansNoExport)
{
    auto config = loadConfig(test::exampleText("single-router.json"));
    ASSERT_TRUE(config) << config.error().describe();
    EXPECT_FALSE(config->ipfix.has_value());
}

TEST(IpfixConfig, DefaultsOfTheSchema)
{
    auto config = loadConfig(withIpfix({{"collector", "192.0.2.2"}}));
    ASSERT_TRUE(config) << config.error().describe();
    ASSERT_TRUE(config->ipfix.has_value());
    EXPECT_EQ(config->ipfix->collector, *IpAddress::parse("192.0.2.2"));
    EXPECT_EQ(config->ipfix->port, 4739);
    EXPECT_EQ(config->ipfix->activeTimeout, std::chrono::seconds(60));
    EXPECT_EQ(config->ipfix->templateRefresh, std::chrono::seconds(600));
    EXPECT_EQ(config->ipfix->templateRefreshMessages, 0u);
    EXPECT_EQ(config->ipfix->observationDomainId, 0u);
}

TEST(IpfixConfig, EveryLeafRead)
{
    auto config = loadConfig(withIpfix({{"collector", "2001:db8::9"},
                                        {"port", 2055},
                                        {"active-timeout", 30},
                                        {"template-refresh", 120},
                                        {"template-refresh-messages", 50},
                                        {"observation-domain-id", 4096}}));
    ASSERT_TRUE(config) << config.error().describe();
    ASSERT_TRUE(config->ipfix.has_value());
    EXPECT_EQ(config->ipfix->collector, *IpAddress::parse("2001:db8::9"));
    EXPECT_EQ(config->ipfix->port, 2055);
    EXPECT_EQ(config->ipfix->activeTimeout, std::chrono::seconds(30));
    EXPECT_EQ(config->ipfix->templateRefresh, std::chrono::seconds(120));
    EXPECT_EQ(config->ipfix->templateRefreshMessages, 50u);
    EXPECT_EQ(config->ipfix->observationDomainId, 4096u);
}

struct Rejected {
    const char* name;
    nlohmann::json ipfix;
    const char* path;
};

class IpfixConfigRejects : public ::testing::TestWithParam<Rejected> {};

TEST_P(IpfixConfigRejects, NamingThePath)
{
    const auto report = checkConfig(withIpfix(GetParam().ipfix));
    ASSERT_FALSE(report.valid());
    bool named = false;
    for (const auto& issue : report.issues) {
        named = named || issue.path.find(GetParam().path) != std::string::npos;
    }
    EXPECT_TRUE(named) << report.issues.front().describe();
}

INSTANTIATE_TEST_SUITE_P(
    Values, IpfixConfigRejects,
    ::testing::Values(
        Rejected{"NoCollector", {{"port", 4739}}, "/svr:config/router/ipfix"},
        Rejected{"CollectorNotAnAddress", {{"collector", "collector.example"}},
                 "/svr:config/router/ipfix/collector"},
        Rejected{"PortZero", {{"collector", "192.0.2.2"}, {"port", 0}},
                 "/svr:config/router/ipfix/port"},
        Rejected{"ActiveTimeoutZero", {{"collector", "192.0.2.2"}, {"active-timeout", 0}},
                 "/svr:config/router/ipfix/active-timeout"},
        Rejected{"TemplateRefreshZero", {{"collector", "192.0.2.2"}, {"template-refresh", 0}},
                 "/svr:config/router/ipfix/template-refresh"}),
    [](const auto& info) { return std::string(info.param.name); });

} // namespace
} // namespace svr::config

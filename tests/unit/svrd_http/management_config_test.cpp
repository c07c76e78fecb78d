// router/management/http in the configuration: defaults, values, and refusals naming the path.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "config/loader.hpp"

namespace svr::config {
namespace {

nlohmann::json example()
{
    std::ifstream in(SVR_EXAMPLES_DIR "/single-router.json");
    std::stringstream text;
    text << in.rdbuf();
    return nlohmann::json::parse(text.str());
}

CheckReport withHttp(const nlohmann::json& http)
{
    nlohmann::json config = example();
    config["svr:config"]["router"]["management"]["http"] = http;
    return checkConfig(config.dump());
}

TEST(ManagementConfig, DefaultsToLoopback9464)
{
    const CheckReport report = checkConfig(example().dump());
    ASSERT_TRUE(report.valid());
    EXPECT_EQ(report.config->http.address.toString(), "127.0.0.1");
    EXPECT_EQ(report.config->http.port, 9464);
    const CheckReport empty = withHttp(nlohmann::json::object());
    ASSERT_TRUE(empty.valid());
    EXPECT_EQ(empty.config->http.port, 9464);
}

TEST(ManagementConfig, AddressAndPort)
{
    const CheckReport report = withHttp({{"address", "::1"}, {"port", 9100}});
    ASSERT_TRUE(report.valid()) << report.issues.front().describe();
    EXPECT_EQ(report.config->http.address.toString(), "::1");
    EXPECT_EQ(report.config->http.port, 9100);
}

TEST(ManagementConfig, BadValuesAreRefusedNamingThePath)
{
    for (const auto& bad :
         {nlohmann::json{{"address", "300.1.1.1"}}, nlohmann::json{{"address", "localhost"}},
          nlohmann::json{{"port", 0}}, nlohmann::json{{"port", 70000}}}) {
        const CheckReport report = withHttp(bad);
        ASSERT_FALSE(report.valid()) << bad.dump();
        ASSERT_FALSE(report.issues.empty());
        EXPECT_NE(report.issues.front().describe().find("management/http"), std::string::npos)
            << report.issues.front().describe();
    }
}

} // namespace
} // namespace svr::config

// Loading valid configurations: the shipped examples and the typed model built from them.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "config/loader.hpp"
#include "test_files.hpp"

namespace svr::config {
namespace {

using test::exampleText;

Config loadExample(const std::string& name)
{
    auto report = checkConfig(exampleText(name));
    for (const auto& issue : report.issues) {
        ADD_FAILURE() << name << ": " << issue.describe();
    }
    if (!report.valid()) {
        throw std::runtime_error(name + " does not load"); // reported above
    }
    return std::move(*report.config);
}

class Examples : public ::testing::TestWithParam<const char*> {};

TEST_P(Examples, LoadWithoutIssues)
{
    const auto report = checkConfig(exampleText(GetParam()));
    EXPECT_TRUE(report.valid());
    for (const auto& issue : report.issues) {
        ADD_FAILURE() << issue.describe();
    }
}

INSTANTIATE_TEST_SUITE_P(Config, Examples,
                         ::testing::Values("single-router.json", "fabric-router-a.json",
                                           "fabric-router-b.json"),
                         [](const auto& info) {
                             std::string name = info.param;
                             name = name.substr(0, name.find('.'));
                             std::replace(name.begin(), name.end(), '-', '_');
                             return name;
                         });

TEST(ConfigModel, SingleRouterIsTyped)
{
    const Config config = loadExample("single-router.json");
    EXPECT_EQ(config.authority, "lab");
    EXPECT_EQ(config.routerName, "edge1");
    ASSERT_EQ(config.interfaces.size(), 3U);

    const Interface* lan = config.findInterface("lan0");
    ASSERT_NE(lan, nullptr);
    ASSERT_TRUE(lan->tenant);
    EXPECT_EQ(*lan->tenant, "clients");
    ASSERT_EQ(lan->addresses.size(), 2U);
    EXPECT_EQ(lan->addresses[0].toString(), "10.10.1.1/24") << "host bits are kept";
    EXPECT_EQ(lan->natPorts, kDefaultWaypointPorts) << "YANG default filled in";

    const Interface* wan = config.findInterface("wan0");
    ASSERT_NE(wan, nullptr);
    EXPECT_EQ(wan->natPorts, (PortRange{20000, 29999}));

    const Service* web = config.findService("web");
    ASSERT_NE(web, nullptr);
    ASSERT_EQ(web->transports.size(), 1U);
    EXPECT_EQ(web->transports[0].protocol, Protocol::tcp);
    ASSERT_EQ(web->transports[0].ports.size(), 2U);
    EXPECT_EQ(web->transports[0].ports[0], (PortRange{80, 80})) << "end defaults to start";
    EXPECT_EQ(web->timeouts.tcp, std::chrono::seconds(3600)) << "from session type web";
    EXPECT_EQ(web->timeouts.udp, std::chrono::seconds(180)) << "YANG default of the type";

    const Service* echo = config.findService("echo");
    ASSERT_NE(echo, nullptr);
    EXPECT_FALSE(echo->sessionType);
    EXPECT_EQ(echo->timeouts.tcp, std::chrono::seconds(1800));
    EXPECT_EQ(echo->timeouts.tcpNotEstablished, std::chrono::seconds(10));
    EXPECT_EQ(echo->timeouts.udp, std::chrono::seconds(180));
    EXPECT_EQ(echo->timeouts.icmp, std::chrono::seconds(10));
    ASSERT_EQ(echo->accessPolicies.size(), 1U);
    EXPECT_EQ(echo->accessPolicies[0].permission, Permission::allow) << "default permission";

    const Service* internet = config.findService("internet");
    ASSERT_NE(internet, nullptr);
    EXPECT_TRUE(internet->transports.empty());
    ASSERT_EQ(internet->accessPolicies.size(), 2U);
    const auto* denied = std::get_if<IpPrefix>(&internet->accessPolicies[1].source);
    ASSERT_NE(denied, nullptr);
    EXPECT_EQ(denied->toString(), "10.10.1.66/32");
    EXPECT_EQ(internet->accessPolicies[1].permission, Permission::deny);

    ASSERT_EQ(config.serviceRoutes.size(), 4U);
    const auto& natRoute = config.serviceRoutes[3];
    const auto* nextHop = std::get_if<NextHop>(&natRoute.target);
    ASSERT_NE(nextHop, nullptr);
    EXPECT_EQ(nextHop->interface, "wan0");
    EXPECT_TRUE(nextHop->sourceNat);
    ASSERT_TRUE(nextHop->gateway);
    EXPECT_EQ(nextHop->gateway->toString(), "203.0.113.254");
    EXPECT_EQ(natRoute.priority, 100);

    EXPECT_EQ(config.dos.newSessionsPerSecond, 1000U);
    EXPECT_EQ(config.dos.burst, 200U);
}

TEST(ConfigModel, FabricRouterAHasPeersAndKeys)
{
    const Config config = loadExample("fabric-router-a.json");
    ASSERT_EQ(config.peers.size(), 1U);
    EXPECT_EQ(config.peers[0].name, "router-b");
    const PeerKey* key = config.findPeerKey("router-b", config.peers[0].keyGeneration);
    ASSERT_NE(key, nullptr);
    EXPECT_EQ(key->hmacKey[0], 0x6b);
    EXPECT_EQ(key->hmacKey[31], 0x7b);
    EXPECT_EQ(key->metadataKey[1], 0x1e);

    const Interface* wan1 = config.findInterface("wan1");
    ASSERT_NE(wan1, nullptr);
    ASSERT_TRUE(wan1->waypoint);
    EXPECT_EQ(wan1->waypoint->address.toString(), "192.0.2.1");
    EXPECT_EQ(wan1->waypoint->ports, kDefaultWaypointPorts);
    ASSERT_EQ(wan1->adjacencies.size(), 1U);
    EXPECT_EQ(wan1->adjacencies[0].peer, "router-b");
    EXPECT_EQ(wan1->adjacencies[0].neighborhood, "mpls");
    EXPECT_EQ(wan1->adjacencies[0].priority, 10);
    EXPECT_FALSE(wan1->adjacencies[0].peerPorts);

    const Interface* wan2 = config.findInterface("wan2");
    ASSERT_NE(wan2, nullptr);
    ASSERT_EQ(wan2->adjacencies.size(), 1U);
    ASSERT_TRUE(wan2->adjacencies[0].peerPorts);
    EXPECT_EQ(*wan2->adjacencies[0].peerPorts, (PortRange{30000, 39999}));

    const Service* echo = config.findService("udp-echo");
    ASSERT_NE(echo, nullptr);
    ASSERT_TRUE(echo->payloadPolicy);
    EXPECT_EQ(*echo->payloadPolicy, "e2e");
    const auto* route = std::get_if<PeerTarget>(&config.serviceRoutes[0].target);
    ASSERT_NE(route, nullptr);
    EXPECT_EQ(route->peer, "router-b");
}

TEST(ConfigLoad, ResultErrorListsEveryIssueWithItsPath)
{
    auto result = loadConfig(R"({"svr:config": {
        "authority": {"name": "lab"}, "router": {"name": "r"},
        "services": {"service": [
            {"name": "a", "address": ["10.0.0.1/8"]},
            {"name": "b", "address": ["fd00::1/64"]}]}}})");
    ASSERT_FALSE(result.ok());
    const std::string& message = result.error().message;
    EXPECT_NE(message.find("/svr:config/services/service[name='a']/address[.='10.0.0.1/8']"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("/svr:config/services/service[name='b']/address[.='fd00::1/64']"),
              std::string::npos)
        << message;
}

TEST(ConfigLoad, MissingFileIsAnError)
{
    auto result = loadConfigFile("/nonexistent/svr-config.json");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, std::make_error_code(std::errc::no_such_file_or_directory));
    EXPECT_NE(result.error().message.find("/nonexistent/svr-config.json"), std::string::npos);
}

TEST(ConfigLoad, FileRoundTrip)
{
    const auto file = std::filesystem::temp_directory_path() /
                      ("svr-config-test-" + std::to_string(::getpid()) + ".json");
    {
        std::ofstream out(file);
        out << exampleText("fabric-router-b.json");
    }
    auto result = loadConfigFile(file);
    std::filesystem::remove(file);
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->routerName, "router-b");
}

TEST(ConfigLoad, NotJsonIsRejectedNotCrashed)
{
    for (const char* text : {"", "null", "[]", "{", "\"svr\"", "{\"svr:config\": 5}",
                             "{\"other:config\": {}}", "\xff\xfe"}) {
        const auto report = checkConfig(text);
        EXPECT_FALSE(report.valid()) << text;
        EXPECT_FALSE(report.issues.empty()) << text;
    }
}

TEST(ConfigLoad, SchemasAreEmbedded)
{
    const auto& schemas = embeddedSchemas();
    ASSERT_EQ(schemas.size(), 2U);
    for (const auto& schema : schemas) {
        EXPECT_NE(schema.text.find("module " + std::string(schema.name)), std::string::npos);
    }
}

} // namespace
} // namespace svr::config

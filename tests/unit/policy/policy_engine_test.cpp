#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "policy/policy_engine.hpp"
#include "policy_fixture.hpp"

namespace svr::policy {
namespace {

using config::Protocol;
using test::ip;

class PolicyEngineTest : public ::testing::Test {
protected:
    PolicyEngine engine{test::loadOrFail(test::kPolicyConfig)};

    std::string tenantOf(const char* interface, const char* source) const
    {
        const auto* tenant = engine.classifyTenant(interface, ip(source));
        return tenant == nullptr ? "<none>" : tenant->name;
    }
    std::string serviceOf(const char* destination, Protocol protocol, std::uint16_t port) const
    {
        const auto* service = engine.matchService(ip(destination), protocol, port);
        return service == nullptr ? "<none>" : service->name;
    }
};

TEST(TenantHierarchy, ParentCoversDescendants)
{
    EXPECT_TRUE(tenantCovers("corp", "corp"));
    EXPECT_TRUE(tenantCovers("corp", "eng.corp"));
    EXPECT_TRUE(tenantCovers("corp", "lab.eng.corp"));
    EXPECT_TRUE(tenantCovers("eng.corp", "lab.eng.corp"));
}

TEST(TenantHierarchy, ChildrenAndLookalikesDoNotCover)
{
    EXPECT_FALSE(tenantCovers("eng.corp", "corp")) << "a child's permission never covers its parent";
    EXPECT_FALSE(tenantCovers("lab.eng.corp", "eng.corp"));
    EXPECT_FALSE(tenantCovers("rp", "corp")) << "suffix without a dot is another tenant";
    EXPECT_FALSE(tenantCovers("corp", "megacorp"));
    EXPECT_FALSE(tenantCovers("eng", "eng.corp")) << "the hierarchy reads right to left";
    EXPECT_FALSE(tenantCovers("corp", "sales.corp.x"));
    EXPECT_FALSE(tenantCovers("", "corp"));
    EXPECT_FALSE(tenantCovers("corp", ""));
}

TEST_F(PolicyEngineTest, InterfaceTenantWinsOverSourcePrefix)
{
    EXPECT_EQ(tenantOf("lan-eng", "10.1.1.7"), "eng.corp");
    EXPECT_EQ(tenantOf("lan-eng", "172.16.5.5"), "eng.corp");
    EXPECT_EQ(tenantOf("lan-guest", "10.1.3.200"), "guest");
}

TEST_F(PolicyEngineTest, SourcePrefixLongestMatchWithoutInterfaceTenant)
{
    EXPECT_EQ(tenantOf("lan-any", "10.1.3.200"), "lab.eng.corp");
    EXPECT_EQ(tenantOf("lan-any", "10.1.3.5"), "sales.corp");
    EXPECT_EQ(tenantOf("lan-any", "172.16.5.5"), "vip.partners");
    EXPECT_EQ(tenantOf("lan-any", "172.16.1.1"), "partners");
    EXPECT_EQ(tenantOf("lan-any", "fd00:ab:5::9"), "vip.partners");
    EXPECT_EQ(tenantOf("lan-any", "fd00:ab:6::9"), "partners");
    EXPECT_EQ(tenantOf("lan-any", "192.0.2.1"), "<none>");
    EXPECT_EQ(tenantOf("lan-any", "fd00:1:3::9"), "<none>");
    EXPECT_EQ(tenantOf("no-such-interface", "172.16.1.1"), "partners");
}

TEST_F(PolicyEngineTest, ServiceByLongestPrefixThenProtocolAndPort)
{
    EXPECT_EQ(serviceOf("10.2.1.10", Protocol::tcp, 8042), "build") << "the /32 wins";
    EXPECT_EQ(serviceOf("10.2.1.10", Protocol::tcp, 80), "wiki") << "/32 has no port 80: /24";
    EXPECT_EQ(serviceOf("10.2.1.99", Protocol::tcp, 443), "wiki");
    EXPECT_EQ(serviceOf("10.2.1.10", Protocol::icmp, 0), "ping") << "same /24, other protocol";
    EXPECT_EQ(serviceOf("10.2.1.10", Protocol::udp, 80), "internet") << "falls to 0.0.0.0/0";
    EXPECT_EQ(serviceOf("10.2.0.53", Protocol::udp, 53), "dns");
    EXPECT_EQ(serviceOf("10.2.0.53", Protocol::tcp, 53), "internet");
    EXPECT_EQ(serviceOf("10.2.9.1", Protocol::udp, 9), "lab") << "no transport: any protocol";
    EXPECT_EQ(serviceOf("10.2.9.1", Protocol::icmp, 0), "lab");
    EXPECT_EQ(serviceOf("8.8.8.8", Protocol::udp, 53), "internet");
}

TEST_F(PolicyEngineTest, ServiceMatchIpv6)
{
    EXPECT_EQ(serviceOf("fd00:2:1::5", Protocol::tcp, 443), "wiki");
    EXPECT_EQ(serviceOf("fd00:2:1::5", Protocol::tcp, 22), "internet");
    EXPECT_EQ(serviceOf("fd00:2::53", Protocol::udp, 53), "dns");
    EXPECT_EQ(serviceOf("2001:db8:ffff::1", Protocol::icmp, 0), "internet");
}

TEST_F(PolicyEngineTest, NoServiceWithoutCatchAll)
{
    auto config = test::loadOrFail(test::exampleText("fabric-router-a.json"));
    PolicyEngine fabric(config);
    EXPECT_EQ(fabric.matchService(ip("10.2.1.10"), Protocol::tcp, 80)->name, "http");
    EXPECT_EQ(fabric.matchService(ip("10.2.1.10"), Protocol::tcp, 81), nullptr);
    EXPECT_EQ(fabric.matchService(ip("10.9.9.9"), Protocol::tcp, 80), nullptr);
    EXPECT_EQ(fabric.matchService(ip("fd00:2:1::11"), Protocol::udp, 7)->name, "udp-echo");
}

struct MatrixCase {
    const char* interface;
    const char* source;
    const char* destination;
    Protocol protocol;
    std::uint16_t port;
    const char* tenant;  // expected, "<none>" if none
    const char* service; // expected, "<none>" if none
    std::optional<DropReason> drop;
};

// Tenants × services: exactly the pairs a policy allows pass; everything else is dropped
// with the reason svrd counts.
const MatrixCase kMatrix[] = {
    // wiki: corp allowed (covers eng.corp, lab.eng.corp), sales.corp explicitly denied.
    {"lan-eng", "10.1.1.7", "10.2.1.20", Protocol::tcp, 80, "eng.corp", "wiki", std::nullopt},
    {"lan-any", "10.1.3.200", "10.2.1.20", Protocol::tcp, 443, "lab.eng.corp", "wiki", std::nullopt},
    {"lan-any", "10.1.3.5", "10.2.1.20", Protocol::tcp, 80, "sales.corp", "wiki", DropReason::deniedByPolicy},
    {"lan-guest", "10.1.2.5", "10.2.1.20", Protocol::tcp, 80, "guest", "wiki", DropReason::noMatchingPolicy},
    {"lan-any", "172.16.1.1", "10.2.1.20", Protocol::tcp, 80, "partners", "wiki", DropReason::noMatchingPolicy},
    {"lan-eng", "10.1.1.7", "fd00:2:1::20", Protocol::tcp, 443, "eng.corp", "wiki", std::nullopt},
    // build: eng.corp and below only.
    {"lan-eng", "10.1.1.7", "10.2.1.10", Protocol::tcp, 8001, "eng.corp", "build", std::nullopt},
    {"lan-any", "10.1.3.200", "10.2.1.10", Protocol::tcp, 8099, "lab.eng.corp", "build", std::nullopt},
    {"lan-any", "10.1.3.5", "10.2.1.10", Protocol::tcp, 8000, "sales.corp", "build", DropReason::noMatchingPolicy},
    {"lan-guest", "10.1.2.5", "10.2.1.10", Protocol::tcp, 8000, "guest", "build", DropReason::noMatchingPolicy},
    // dns: corp, guest, partners (and so vip.partners).
    {"lan-guest", "10.1.2.5", "10.2.0.53", Protocol::udp, 53, "guest", "dns", std::nullopt},
    {"lan-any", "172.16.1.1", "10.2.0.53", Protocol::udp, 53, "partners", "dns", std::nullopt},
    {"lan-any", "fd00:ab:5::9", "fd00:2::53", Protocol::udp, 53, "vip.partners", "dns", std::nullopt},
    {"lan-any", "192.0.2.1", "10.2.0.53", Protocol::udp, 53, "<none>", "dns", DropReason::noMatchingPolicy},
    // lab: only lab.eng.corp; a parent gets no permission from its child. No route: dropped.
    {"lan-eng", "10.1.1.7", "10.2.9.1", Protocol::tcp, 22, "eng.corp", "lab", DropReason::noMatchingPolicy},
    {"lan-any", "10.1.3.200", "10.2.9.1", Protocol::tcp, 22, "lab.eng.corp", "lab", DropReason::noUsableRoute},
    // partner-portal: vip.partners by tenant, 172.16.9.0/24 by prefix.
    {"lan-any", "172.16.5.5", "10.2.2.1", Protocol::tcp, 443, "vip.partners", "partner-portal", std::nullopt},
    {"lan-any", "172.16.1.1", "10.2.2.1", Protocol::tcp, 443, "partners", "partner-portal", DropReason::noMatchingPolicy},
    {"lan-any", "172.16.9.9", "10.2.2.1", Protocol::tcp, 443, "partners", "partner-portal", std::nullopt},
    {"lan-eng", "172.16.9.9", "10.2.2.1", Protocol::tcp, 443, "eng.corp", "partner-portal", std::nullopt},
    // internet: corp and guest, but one guest host is denied by prefix.
    {"lan-guest", "10.1.2.5", "8.8.8.8", Protocol::udp, 53, "guest", "internet", std::nullopt},
    {"lan-guest", "10.1.2.66", "8.8.8.8", Protocol::udp, 53, "guest", "internet", DropReason::deniedByPolicy},
    {"lan-any", "fd00:1:3::9", "2001:db8:5::1", Protocol::tcp, 443, "<none>", "internet", DropReason::noMatchingPolicy},
    {"lan-any", "172.16.1.1", "8.8.8.8", Protocol::icmp, 0, "partners", "internet", DropReason::noMatchingPolicy},
    // ping: ICMP to the build host's /32 falls back to the /24 ping service.
    {"lan-eng", "10.1.1.7", "10.2.1.10", Protocol::icmp, 0, "eng.corp", "ping", std::nullopt},
    {"lan-guest", "10.1.2.5", "10.2.1.10", Protocol::icmp, 0, "guest", "ping", DropReason::noMatchingPolicy},
};

class DenyAllMatrix : public PolicyEngineTest, public ::testing::WithParamInterface<MatrixCase> {};

TEST_P(DenyAllMatrix, Decision)
{
    const MatrixCase& c = GetParam();
    const Decision decision =
        engine.decide(FirstPacket{c.interface, ip(c.source), ip(c.destination), c.protocol, c.port, std::nullopt});
    EXPECT_EQ(decision.tenant == nullptr ? std::string("<none>") : decision.tenant->name, c.tenant);
    EXPECT_EQ(decision.service == nullptr ? std::string("<none>") : decision.service->name,
              c.service);
    EXPECT_EQ(decision.drop, c.drop)
        << "got " << (decision.drop ? dropReasonName(*decision.drop) : "permitted");
    EXPECT_EQ(decision.permitted(), !c.drop.has_value());
    if (decision.permitted()) {
        ASSERT_NE(decision.route, nullptr);
        EXPECT_EQ(decision.route->service, decision.service->name);
        ASSERT_NE(decision.rule, nullptr);
        EXPECT_EQ(decision.rule->permission, config::Permission::allow);
    }
    if (c.drop == DropReason::deniedByPolicy) {
        ASSERT_NE(decision.rule, nullptr);
        EXPECT_EQ(decision.rule->permission, config::Permission::deny);
    }
}

INSTANTIATE_TEST_SUITE_P(Policy, DenyAllMatrix, ::testing::ValuesIn(kMatrix),
                         [](const auto& info) {
                             std::string name = std::string(info.param.tenant) + "_to_" +
                                                info.param.service + "_" +
                                                std::to_string(info.index);
                             for (char& ch : name) {
                                 if (!std::isalnum(static_cast<unsigned char>(ch))) {
                                     ch = '_';
                                 }
                             }
                             return name;
                         });

TEST_F(PolicyEngineTest, MatrixCoversEveryServiceAndTenant)
{
    std::set<std::string> services;
    std::set<std::string> tenants;
    std::size_t allowed = 0;
    for (const auto& c : kMatrix) {
        services.insert(c.service);
        tenants.insert(c.tenant);
        allowed += c.drop ? 0 : 1;
    }
    EXPECT_EQ(services.size(), engine.config().services.size());
    EXPECT_GE(tenants.size(), engine.config().tenants.size() - 1); // corp itself has no client
    EXPECT_GE(std::size(kMatrix), 12U);
    EXPECT_GT(allowed, 0U);
    EXPECT_LT(allowed, std::size(kMatrix));
}

TEST_F(PolicyEngineTest, DenyWinsWhateverTheOrder)
{
    // The deny for sales.corp is listed after the allow for corp; put it first too.
    auto config = test::loadOrFail(test::kPolicyConfig);
    auto reordered = std::make_shared<config::Config>(*config);
    for (auto& service : reordered->services) {
        std::reverse(service.accessPolicies.begin(), service.accessPolicies.end());
    }
    PolicyEngine reversed(reordered);
    const FirstPacket packet{"lan-any", ip("10.1.3.5"), ip("10.2.1.20"), Protocol::tcp, 80, std::nullopt};
    EXPECT_EQ(engine.decide(packet).drop, DropReason::deniedByPolicy);
    EXPECT_EQ(reversed.decide(packet).drop, DropReason::deniedByPolicy);
}

TEST_F(PolicyEngineTest, NoAccessPolicyMeansNobody)
{
    auto config = std::make_shared<config::Config>(*test::loadOrFail(test::kPolicyConfig));
    for (auto& service : config->services) {
        service.accessPolicies.clear();
    }
    PolicyEngine closed(config);
    for (const auto& c : kMatrix) {
        const auto decision =
            closed.decide(FirstPacket{c.interface, ip(c.source), ip(c.destination), c.protocol, c.port, std::nullopt});
        EXPECT_EQ(decision.drop, DropReason::noMatchingPolicy) << c.source << " -> " << c.destination;
    }
}

TEST_F(PolicyEngineTest, RouteByPriorityAmongUsable)
{
    const auto* wiki = engine.config().findService("wiki");
    ASSERT_NE(wiki, nullptr);
    EXPECT_EQ(engine.selectRoute(*wiki)->name, "wiki-local") << "priority 10 before 20";

    const RouteUsable srv0Down = [](const config::ServiceRoute& route) {
        return std::get<config::NextHop>(route.target).interface != "srv0";
    };
    EXPECT_EQ(engine.selectRoute(*wiki, srv0Down)->name, "wiki-backup");
    EXPECT_EQ(engine.selectRoute(*wiki, [](const auto&) { return false; }), nullptr);

    const FirstPacket packet{"lan-eng", ip("10.1.1.7"), ip("10.2.1.20"), Protocol::tcp, 80, std::nullopt};
    EXPECT_EQ(engine.decide(packet, srv0Down).route->name, "wiki-backup");
    EXPECT_EQ(engine.decide(packet, [](const auto&) { return false; }).drop,
              DropReason::noUsableRoute);

    const auto* lab = engine.config().findService("lab");
    ASSERT_NE(lab, nullptr);
    EXPECT_EQ(engine.selectRoute(*lab), nullptr);
}

TEST(PeerPaths, ByPriorityAmongUsable)
{
    PolicyEngine engine(test::loadOrFail(test::exampleText("fabric-router-a.json")));
    const auto* best = engine.selectPeerPath("router-b");
    ASSERT_NE(best, nullptr);
    EXPECT_EQ(best->interface, "wan1");
    EXPECT_EQ(best->peerWaypoint.toString(), "192.0.2.2");

    const AdjacencyUsable wan1Down = [](const config::Adjacency& path) {
        return path.interface != "wan1";
    };
    const auto* backup = engine.selectPeerPath("router-b", wan1Down);
    ASSERT_NE(backup, nullptr);
    EXPECT_EQ(backup->interface, "wan2");
    EXPECT_EQ(backup->peerWaypoint.toString(), "2001:db8:2::2") << "the IPv6 peer path";

    EXPECT_EQ(engine.selectPeerPath("router-b", [](const auto&) { return false; }), nullptr);
    EXPECT_EQ(engine.selectPeerPath("router-z"), nullptr);

    const auto decision = engine.decide(
        FirstPacket{"lan-eng", ip("10.1.1.9"), ip("10.2.1.10"), Protocol::tcp, 80, std::nullopt});
    ASSERT_TRUE(decision.permitted());
    const auto* peer = std::get_if<config::PeerTarget>(&decision.route->target);
    ASSERT_NE(peer, nullptr);
    EXPECT_EQ(peer->peer, "router-b");
}

// From an SVR peer the tenant comes from the metadata, whatever the interface or source: and
// it is checked against this router's policies again (zero trust at every hop).
TEST(PeerTenant, MetadataTenantReplacesClassification)
{
    const auto config = test::loadOrFail(test::exampleText("fabric-router-b.json"));
    const PolicyEngine engine(config);
    const auto fromPeer = [&](std::optional<std::string_view> tenant) {
        return engine.decide(FirstPacket{"wan1", ip("10.1.1.9"), ip("10.2.1.10"), Protocol::tcp,
                                         80, tenant});
    };
    const auto allowed = fromPeer("eng.corp");
    ASSERT_TRUE(allowed.permitted());
    EXPECT_EQ(allowed.tenant->name, "eng.corp");
    EXPECT_EQ(fromPeer("guest").drop, DropReason::noMatchingPolicy) << "http is corp only";
    EXPECT_EQ(fromPeer("nobody").drop, DropReason::noMatchingPolicy) << "unknown tenant";
    EXPECT_EQ(fromPeer("").drop, DropReason::noMatchingPolicy) << "no tenant";
    EXPECT_EQ(fromPeer(std::nullopt).drop, DropReason::noMatchingPolicy)
        << "classified: wan1 has no tenant and 10.1.1.9 is in no tenant prefix of router-b";
}

TEST(IdleTimeouts, DefaultsAndSessionType)
{
    using std::chrono::seconds;
    const auto config = test::loadOrFail(test::exampleText("single-router.json"));
    const auto* echo = config->findService("echo"); // no session type: built-in defaults
    ASSERT_NE(echo, nullptr);
    EXPECT_EQ(idleTimeout(*echo, Protocol::tcp, true), seconds(1800));
    EXPECT_EQ(idleTimeout(*echo, Protocol::tcp, false), seconds(10));
    EXPECT_EQ(idleTimeout(*echo, Protocol::udp, false), seconds(180));
    EXPECT_EQ(idleTimeout(*echo, Protocol::icmp, false), seconds(10));
    const auto* web = config->findService("web"); // session type "web": tcp 3600
    ASSERT_NE(web, nullptr);
    EXPECT_EQ(idleTimeout(*web, Protocol::tcp, true), seconds(3600));
    EXPECT_EQ(idleTimeout(*web, Protocol::tcp, false), seconds(10));
}

TEST(DropReasons, HaveStableNames)
{
    EXPECT_EQ(dropReasonName(DropReason::noService), "no-service");
    EXPECT_EQ(dropReasonName(DropReason::noMatchingPolicy), "no-matching-policy");
    EXPECT_EQ(dropReasonName(DropReason::deniedByPolicy), "denied-by-policy");
    EXPECT_EQ(dropReasonName(DropReason::noUsableRoute), "no-usable-route");
}

TEST(NoService, IsDroppedAndCounted)
{
    PolicyEngine engine(test::loadOrFail(test::exampleText("fabric-router-a.json")));
    const auto decision =
        engine.decide(FirstPacket{"lan-eng", ip("10.1.1.9"), ip("10.9.9.9"), Protocol::udp, 9, std::nullopt});
    EXPECT_EQ(decision.drop, DropReason::noService);
    EXPECT_EQ(decision.service, nullptr);
    ASSERT_NE(decision.tenant, nullptr);
    EXPECT_EQ(decision.tenant->name, "eng.corp");
}

} // namespace
} // namespace svr::policy

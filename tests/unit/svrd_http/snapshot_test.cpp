// takeSnapshot: what the loop copies out of RouterState for the HTTP thread.
#include <gtest/gtest.h>

#include "svrd/snapshot.hpp"

namespace svr::svrd {
namespace {

config::Config sampleConfig()
{
    config::Config config;
    config.tenants.push_back(config::Tenant{"clients", "", {}});
    config::Service web;
    web.name = "web";
    web.addresses = {*config::IpPrefix::parse("10.10.2.10/32")};
    web.transports = {config::Transport{config::Protocol::tcp, {{80, 80}, {8000, 8080}}}};
    config.services.push_back(web);
    config::Service remote;
    remote.name = "remote";
    config.services.push_back(remote);
    config.serviceRoutes.push_back(config::ServiceRoute{
        .name = "web-nat",
        .service = "web",
        .priority = 5,
        .target = config::NextHop{.interface = "wan0",
                                  .gateway = config::IpAddress::parse("203.0.113.254"),
                                  .targetAddress = std::nullopt,
                                  .sourceNat = true}});
    config.serviceRoutes.push_back(config::ServiceRoute{.name = "to-dc",
                                                        .service = "remote",
                                                        .priority = 100,
                                                        .target = config::PeerTarget{"dc1"}});
    config.peers.push_back(config::Peer{"dc1", 2});
    config::Interface wan;
    wan.name = "wan0";
    wan.adjacencies.push_back(
        config::Adjacency{.interface = "wan0",
                          .neighborhood = "inet",
                          .peerWaypoint = *config::IpAddress::parse("192.0.2.2"),
                          .peer = "dc1",
                          .priority = 10,
                          .peerPorts = std::nullopt});
    config.interfaces.push_back(wan);
    return config;
}

TEST(Snapshot, CopiesNamesServicesPeersAndCounters)
{
    RouterState state;
    state.config = std::make_shared<const config::Config>(sampleConfig());
    state.counters.add("sessions.created", 3);
    state.firstPacketLatency.add(20'000);
    svr_session_value value{};
    value.tenant_id = 1;
    value.service_id = 1;
    state.sessionClasses.created(*state.config, value);

    const auto snapshot = takeSnapshot(state, "edge1", 42);
    EXPECT_EQ(snapshot->router, "edge1");
    EXPECT_EQ(snapshot->takenNs, 42U);
    EXPECT_EQ(snapshot->counters.at("sessions.created"), 3U);
    EXPECT_EQ(snapshot->tenantOf(1), "clients");
    EXPECT_EQ(snapshot->tenantOf(2), "");
    EXPECT_EQ(snapshot->serviceOf(2), "remote");
    EXPECT_EQ(snapshot->serviceOf(0), "");
    EXPECT_EQ(snapshot->interfaceOf(SVR_LOCAL_ZONE), "local");
    EXPECT_EQ(snapshot->interfaceOf(77), "if77");
    EXPECT_EQ((snapshot->sessionClasses.at({"clients", "web"}).created), 1U);

    ASSERT_EQ(snapshot->services.size(), 2U);
    EXPECT_EQ(snapshot->services[0].addresses, std::vector<std::string>{"10.10.2.10/32"});
    EXPECT_EQ(snapshot->services[0].transports, std::vector<std::string>{"tcp 80,8000-8080"});
    ASSERT_EQ(snapshot->services[0].routes.size(), 1U);
    EXPECT_EQ(snapshot->services[0].routes[0].target, "via wan0 gateway 203.0.113.254 source-nat");
    EXPECT_EQ(snapshot->services[0].routes[0].priority, 5);
    EXPECT_EQ(snapshot->services[1].routes[0].target, "peer dc1");

    // wan0 is configured but not attached (no port): its peer path is down.
    ASSERT_EQ(snapshot->peers.size(), 1U);
    EXPECT_EQ(snapshot->peers[0].keyGeneration, 2U);
    ASSERT_EQ(snapshot->peers[0].paths.size(), 1U);
    EXPECT_EQ(snapshot->peers[0].paths[0].peerWaypoint, "192.0.2.2");
    EXPECT_FALSE(snapshot->peers[0].paths[0].up);

    const HistogramSnapshot& latency = snapshot->firstPacketLatency;
    EXPECT_EQ(latency.count, 1U);
    EXPECT_DOUBLE_EQ(latency.sumSeconds, 20e-6);
    ASSERT_EQ(latency.upperBoundsSeconds.size(), latency.cumulativeCounts.size());
    EXPECT_EQ(latency.cumulativeCounts.front(), 0U); // 1 us
    EXPECT_EQ(latency.cumulativeCounts.back(), 1U);
}

TEST(Snapshot, BoardHandsOutTheLatest)
{
    SnapshotBoard board;
    EXPECT_EQ(board.latest(), nullptr);
    RouterState state;
    board.publish(takeSnapshot(state, "a", 1));
    board.publish(takeSnapshot(state, "b", 2));
    ASSERT_NE(board.latest(), nullptr);
    EXPECT_EQ(board.latest()->router, "b");
}

TEST(Snapshot, OperStateOfMissingDeviceIsDown)
{
    EXPECT_FALSE(interfaceOperUp("svr-no-such-if"));
    EXPECT_FALSE(interfaceOperUp(std::string(40, 'x'))); // longer than IFNAMSIZ
}

} // namespace
} // namespace svr::svrd

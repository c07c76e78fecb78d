#include <gtest/gtest.h>

#include <set>

#include "policy/port_allocator.hpp"
#include "policy_fixture.hpp"

namespace svr::policy {
namespace {

using config::PortRange;
using test::ip;

TEST(PortPool, EvenOddAndAnyParity)
{
    PortPool even(PortRange{16384, 16393}, Parity::even);
    PortPool odd(PortRange{16384, 16393}, Parity::odd);
    PortPool any(PortRange{16384, 16393}, Parity::any);
    EXPECT_EQ(even.capacity(), 5U);
    EXPECT_EQ(odd.capacity(), 5U);
    EXPECT_EQ(any.capacity(), 10U);
    for (int i = 0; i < 5; ++i) {
        auto e = even.allocate();
        auto o = odd.allocate();
        ASSERT_TRUE(e.ok());
        ASSERT_TRUE(o.ok());
        EXPECT_EQ(*e % 2, 0);
        EXPECT_EQ(*o % 2, 1);
        EXPECT_TRUE((PortRange{16384, 16393}.contains(*e)));
        EXPECT_TRUE((PortRange{16384, 16393}.contains(*o)));
    }
}

TEST(PortPool, ExhaustionIsAnErrorValue)
{
    PortPool pool(PortRange{2000, 2003}, Parity::any);
    std::set<std::uint16_t> handedOut;
    for (int i = 0; i < 4; ++i) {
        auto port = pool.allocate();
        ASSERT_TRUE(port.ok());
        EXPECT_TRUE(handedOut.insert(*port).second) << "port handed out twice: " << *port;
    }
    EXPECT_EQ(pool.available(), 0U);
    for (int i = 0; i < 3; ++i) { // keeps failing, never crashes
        auto exhausted = pool.allocate();
        ASSERT_FALSE(exhausted.ok());
        EXPECT_EQ(exhausted.error().code,
                  std::make_error_code(std::errc::resource_unavailable_try_again));
        EXPECT_NE(exhausted.error().message.find("2000-2003"), std::string::npos);
    }
}

TEST(PortPool, ReleasedPortsAreReusedLast)
{
    PortPool pool(PortRange{3000, 3003}, Parity::any);
    const auto first = *pool.allocate();
    EXPECT_EQ(first, 3000);
    ASSERT_TRUE(pool.release(first).ok());
    // FIFO: the just-released port waits behind every never-used one.
    EXPECT_EQ(*pool.allocate(), 3001);
    EXPECT_EQ(*pool.allocate(), 3002);
    EXPECT_EQ(*pool.allocate(), 3003);
    EXPECT_EQ(*pool.allocate(), 3000);
    EXPECT_FALSE(pool.allocate().ok());
    ASSERT_TRUE(pool.release(3002).ok());
    EXPECT_EQ(pool.available(), 1U);
    EXPECT_EQ(*pool.allocate(), 3002);
}

TEST(PortPool, BadReleasesAreRefusedAndChangeNothing)
{
    PortPool pool(PortRange{4000, 4009}, Parity::even);
    const auto port = *pool.allocate();
    EXPECT_FALSE(pool.release(4001).ok()) << "odd port, not in an even pool";
    EXPECT_FALSE(pool.release(3998).ok()) << "outside the range";
    EXPECT_FALSE(pool.release(4002).ok()) << "never allocated";
    ASSERT_TRUE(pool.release(port).ok());
    EXPECT_FALSE(pool.release(port).ok()) << "double release";
    EXPECT_EQ(pool.available(), pool.capacity());
    std::set<std::uint16_t> all;
    while (auto next = pool.allocate()) {
        EXPECT_TRUE(all.insert(*next).second) << "duplicate " << *next;
    }
    EXPECT_EQ(all.size(), 5U);
}

TEST(PortPool, ReserveForReadoptedSessions)
{
    PortPool pool(PortRange{5000, 5003}, Parity::any);
    ASSERT_TRUE(pool.reserve(5000).ok());
    ASSERT_TRUE(pool.reserve(5002).ok());
    EXPECT_FALSE(pool.reserve(5002).ok()) << "already in use";
    EXPECT_FALSE(pool.reserve(6000).ok()) << "outside the range";
    EXPECT_EQ(pool.available(), 2U);
    std::set<std::uint16_t> handedOut{*pool.allocate(), *pool.allocate()};
    EXPECT_EQ(handedOut, (std::set<std::uint16_t>{5001, 5003}));
    EXPECT_FALSE(pool.allocate().ok());
    // A reserved port released later is handed out again exactly once.
    ASSERT_TRUE(pool.release(5000).ok());
    EXPECT_EQ(*pool.allocate(), 5000);
    EXPECT_FALSE(pool.allocate().ok());
}

TEST(PortPool, EmptyRangeIsExhaustedNotCrashing)
{
    PortPool pool(PortRange{10, 9}, Parity::any);
    EXPECT_EQ(pool.capacity(), 0U);
    EXPECT_FALSE(pool.allocate().ok());
    EXPECT_FALSE(pool.release(10).ok());
    PortPool oneEvenPort(PortRange{7, 7}, Parity::even);
    EXPECT_EQ(oneEvenPort.capacity(), 0U);
    EXPECT_FALSE(oneEvenPort.allocate().ok());
}

TEST(PortPool, FullDefaultRange)
{
    PortPool local(config::kDefaultWaypointPorts, Parity::even);
    PortPool remote(config::kDefaultWaypointPorts, Parity::odd);
    EXPECT_EQ(local.capacity(), 24576U);
    EXPECT_EQ(remote.capacity(), 24575U);
    std::size_t count = 0;
    while (local.allocate()) {
        ++count;
    }
    EXPECT_EQ(count, 24576U);
}

TEST(PeerPathPorts, EvenLocalOddRemoteByDefault)
{
    PeerPathPorts path(PortRange{16384, 16391}, std::nullopt);
    EXPECT_EQ(path.capacity(), 4U * 24575U) << "four even local ports, every odd peer port";
    std::set<std::pair<std::uint16_t, std::uint16_t>> pairs;
    for (int i = 0; i < 12; ++i) {
        auto ports = path.allocate();
        ASSERT_TRUE(ports.ok());
        EXPECT_EQ(ports->local % 2, 0);
        EXPECT_EQ(ports->remote % 2, 1);
        EXPECT_TRUE(pairs.emplace(ports->local, ports->remote).second) << "pairs are unique";
    }
    EXPECT_EQ(path.used(), 12U);
}

// The default ranges carry far more sessions than ports: one port serves many pairs.
TEST(PeerPathPorts, DefaultRangesCarryMoreSessionsThanPorts)
{
    PeerPathPorts path(config::kDefaultWaypointPorts, std::nullopt);
    EXPECT_EQ(path.capacity(), 24576ULL * 24575ULL);
    for (int i = 0; i < 60000; ++i) {
        ASSERT_TRUE(path.allocate().ok()) << i;
    }
}

TEST(PeerPathPorts, NarrowedPeerRangeDropsParityAndExhausts)
{
    PeerPathPorts path(PortRange{20000, 20003}, PortRange{30000, 30001});
    EXPECT_EQ(path.localParity(), Parity::any);
    EXPECT_EQ(path.remoteParity(), Parity::any);
    EXPECT_EQ(path.capacity(), 8U);
    std::vector<WaypointPorts> taken;
    for (int i = 0; i < 8; ++i) {
        auto ports = path.allocate();
        ASSERT_TRUE(ports.ok());
        EXPECT_TRUE((PortRange{20000, 20003}).contains(ports->local));
        EXPECT_TRUE((PortRange{30000, 30001}).contains(ports->remote));
        taken.push_back(*ports);
    }
    auto refused = path.allocate();
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, std::errc::resource_unavailable_try_again);
    ASSERT_TRUE(path.release(taken[3]).ok());
    EXPECT_EQ(*path.allocate(), taken[3]) << "the only free pair";
}

TEST(PeerPathPorts, ReleaseAndReserveCheckThePair)
{
    PeerPathPorts path(PortRange{20000, 20009}, std::nullopt);
    const auto ports = *path.allocate();
    EXPECT_FALSE(path.release(WaypointPorts{ports.local, 16387}).ok());
    EXPECT_TRUE(path.inUse(ports)) << "a bad pair leaves the others untouched";
    ASSERT_TRUE(path.release(ports).ok());
    EXPECT_FALSE(path.release(ports).ok());
    ASSERT_TRUE(path.reserve(ports).ok());
    EXPECT_FALSE(path.reserve(ports).ok());
    EXPECT_FALSE(path.reserve(WaypointPorts{20001, 16385}).ok()) << "odd local port";
    EXPECT_FALSE(path.reserve(WaypointPorts{20000, 16386}).ok()) << "even remote port";
    // A reserved pair ahead of the cursor is skipped, never handed out twice.
    PeerPathPorts fresh(PortRange{20000, 20003}, PortRange{30000, 30000});
    ASSERT_TRUE(fresh.reserve(WaypointPorts{20000, 30000}).ok());
    EXPECT_EQ(*fresh.allocate(), (WaypointPorts{20001, 30000}));
}

TEST(WaypointPortAllocator, OnePoolPerPeerPathFromConfig)
{
    auto config = test::loadOrFail(test::exampleText("fabric-router-a.json"));
    WaypointPortAllocator allocator(*config);

    const auto* mpls = allocator.path(ip("192.0.2.1"), ip("192.0.2.2"));
    ASSERT_NE(mpls, nullptr);
    EXPECT_EQ(mpls->localRange(), config::kDefaultWaypointPorts);
    EXPECT_EQ(mpls->localParity(), Parity::even);
    EXPECT_EQ(mpls->remoteParity(), Parity::odd);

    const auto* broadband = allocator.path(ip("2001:db8:2::1"), ip("2001:db8:2::2"));
    ASSERT_NE(broadband, nullptr);
    EXPECT_EQ(broadband->localRange(), (PortRange{20000, 40000}));
    EXPECT_EQ(broadband->remoteRange(), (PortRange{30000, 39999}));
    EXPECT_EQ(broadband->remoteParity(), Parity::any);

    auto ports = allocator.allocate(ip("2001:db8:2::1"), ip("2001:db8:2::2"));
    ASSERT_TRUE(ports.ok());
    EXPECT_TRUE((PortRange{30000, 39999}).contains(ports->remote));
    EXPECT_TRUE(allocator.release(ip("2001:db8:2::1"), ip("2001:db8:2::2"), *ports).ok());

    EXPECT_FALSE(allocator.allocate(ip("192.0.2.1"), ip("192.0.2.99")).ok()) << "unknown peer path";
    EXPECT_FALSE(allocator.release(ip("192.0.2.1"), ip("192.0.2.99"), *ports).ok());
}

TEST(NatPortAllocator, PerTranslatedAddressUntilExhausted)
{
    auto config = test::loadOrFail(test::kPolicyConfig);
    NatPortAllocator allocator(*config);
    ASSERT_NE(allocator.pool(ip("203.0.113.1")), nullptr);
    ASSERT_NE(allocator.pool(ip("2001:db8::1")), nullptr);
    EXPECT_EQ(allocator.pool(ip("10.2.0.1")), nullptr) << "srv0 has no source-NAT route";

    std::set<std::uint16_t> ports;
    for (int i = 0; i < 10; ++i) {
        auto port = allocator.allocate(ip("203.0.113.1"));
        ASSERT_TRUE(port.ok());
        EXPECT_TRUE((PortRange{40000, 40009}).contains(*port));
        ports.insert(*port);
    }
    EXPECT_EQ(ports.size(), 10U);
    std::size_t refusals = 0; // what svrd counts
    for (int i = 0; i < 100; ++i) {
        refusals += allocator.allocate(ip("203.0.113.1")).ok() ? 0 : 1;
    }
    EXPECT_EQ(refusals, 100U);
    EXPECT_TRUE(allocator.allocate(ip("2001:db8::1")).ok()) << "each address has its own ports";

    ASSERT_TRUE(allocator.release(ip("203.0.113.1"), 40004).ok());
    EXPECT_EQ(*allocator.allocate(ip("203.0.113.1")), 40004);
    EXPECT_FALSE(allocator.allocate(ip("192.0.2.1")).ok());
    EXPECT_FALSE(allocator.release(ip("192.0.2.1"), 40000).ok());
}

} // namespace
} // namespace svr::policy

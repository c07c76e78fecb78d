#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "svrd/session_manager.hpp"

namespace {

using svr::fastpath::SessionEntry;
using namespace svr::svrd;

constexpr std::uint64_t kSecond = 1'000'000'000ULL;
constexpr std::uint64_t kNow = 10'000 * kSecond;

// One direction of session `id`; `side` tells the two directions' keys apart.
SessionEntry entry(std::uint64_t id, std::uint8_t proto, int side, std::uint32_t idleTimeout,
                   std::uint64_t lastSeen, std::uint8_t tcpState = 0)
{
    SessionEntry e;
    e.key.ingress_ifindex = static_cast<std::uint32_t>(side + 1);
    e.key.family = SVR_FAMILY_IPV4;
    e.key.proto = proto;
    e.key.src_addr[0] = 10;
    e.key.src_addr[3] = static_cast<std::uint8_t>(id);
    e.key.src_port = htons(static_cast<std::uint16_t>(1000 + side));
    e.value.session_id = id;
    e.value.idle_timeout_s = idleTimeout;
    e.value.last_seen_ns = lastSeen;
    e.value.tcp_state = tcpState;
    return e;
}

std::vector<SessionEntry> pair(std::uint64_t id, std::uint8_t proto, std::uint32_t idleTimeout,
                               std::uint64_t lastSeenForward, std::uint64_t lastSeenReverse,
                               std::uint8_t stateForward = 0, std::uint8_t stateReverse = 0)
{
    return {entry(id, proto, 0, idleTimeout, lastSeenForward, stateForward),
            entry(id, proto, 1, idleTimeout, lastSeenReverse, stateReverse)};
}

std::vector<std::uint64_t> expiredIds(const std::vector<SessionEntry>& entries,
                                      std::unordered_map<std::uint64_t, std::uint32_t> ne = {})
{
    std::vector<std::uint64_t> ids;
    for (const auto& session : findExpired(entries, kNow, ne)) {
        ids.push_back(session.id);
    }
    return ids;
}

TEST(Aging, UdpExpiresAtItsIdleTimeoutWithBothDirections)
{
    EXPECT_TRUE(expiredIds(pair(1, IPPROTO_UDP, 180, kNow - 179 * kSecond, kNow - 179 * kSecond)).empty());
    const auto expired = findExpired(pair(1, IPPROTO_UDP, 180, kNow - 180 * kSecond, kNow - 200 * kSecond), kNow, {});
    ASSERT_EQ(expired.size(), 1U);
    EXPECT_EQ(expired[0].keys.size(), 2U); // both directions removed together
    EXPECT_EQ(expired[0].cause, ExpiryCause::idle);
}

TEST(Aging, TheLatestDirectionKeepsTheSessionAlive)
{
    // Only the reverse direction is active (a one-way UDP stream back to the client).
    EXPECT_TRUE(expiredIds(pair(1, IPPROTO_UDP, 180, kNow - 900 * kSecond, kNow - 1 * kSecond)).empty());
}

TEST(Aging, TcpUsesTheShortTimeoutUntilAckWasSeenBothWays)
{
    const std::uint8_t synAck = SVR_TCP_SEEN_SYN | SVR_TCP_SEEN_ACK;
    // Handshake incomplete (ACK in one direction only): not-established timeout (10 s).
    EXPECT_EQ(expiredIds(pair(1, IPPROTO_TCP, 1800, kNow - 11 * kSecond, kNow - 11 * kSecond,
                              synAck, SVR_TCP_SEEN_SYN)),
              std::vector<std::uint64_t>{1});
    // The service's session type may give a longer not-established timeout.
    EXPECT_TRUE(expiredIds(pair(1, IPPROTO_TCP, 1800, kNow - 11 * kSecond, kNow - 11 * kSecond),
                           {{1, 30}})
                    .empty());
    // Established: the entry's idle timeout.
    EXPECT_TRUE(expiredIds(pair(1, IPPROTO_TCP, 1800, kNow - 1000 * kSecond, kNow - 1000 * kSecond,
                                synAck, synAck))
                    .empty());
    EXPECT_EQ(expiredIds(pair(1, IPPROTO_TCP, 1800, kNow - 1800 * kSecond, kNow - 1800 * kSecond,
                              synAck, synAck)),
              std::vector<std::uint64_t>{1});
}

TEST(Aging, TcpFinBothWaysOrRstExpiresQuickly)
{
    const std::uint8_t established = SVR_TCP_SEEN_SYN | SVR_TCP_SEEN_ACK;
    const std::uint8_t fin = established | SVR_TCP_SEEN_FIN;
    const std::uint64_t eleven = kNow - 11 * kSecond;
    // FIN in one direction only: half-closed, still established.
    EXPECT_TRUE(expiredIds(pair(1, IPPROTO_TCP, 1800, eleven, eleven, fin, established)).empty());
    const auto finBoth = findExpired(pair(2, IPPROTO_TCP, 1800, eleven, eleven, fin, fin), kNow, {});
    ASSERT_EQ(finBoth.size(), 1U);
    EXPECT_EQ(finBoth[0].cause, ExpiryCause::tcpClosed);
    const auto reset = findExpired(
        pair(3, IPPROTO_TCP, 1800, eleven, eleven, established | SVR_TCP_SEEN_RST, established), kNow, {});
    ASSERT_EQ(reset.size(), 1U);
    EXPECT_EQ(reset[0].cause, ExpiryCause::tcpClosed);
    // ... but not before the closing timeout.
    EXPECT_TRUE(expiredIds(pair(4, IPPROTO_TCP, 1800, kNow - 9 * kSecond, kNow - 9 * kSecond, fin, fin)).empty());
}

TEST(Aging, StaticSessionsAndManySessionsInOneScan)
{
    EXPECT_TRUE(expiredIds(pair(1, IPPROTO_UDP, 0, 0, 0)).empty()) << "timeout 0 never idles out";
    std::vector<SessionEntry> table;
    for (std::uint64_t id = 1; id <= 100; ++id) {
        const std::uint64_t lastSeen = id % 2 == 0 ? kNow - 20 * kSecond : kNow;
        auto entries = pair(id, IPPROTO_ICMP, 10, lastSeen, lastSeen);
        table.insert(table.end(), entries.begin(), entries.end());
    }
    const auto expired = findExpired(table, kNow, {});
    EXPECT_EQ(expired.size(), 50U);
    for (const auto& session : expired) {
        EXPECT_EQ(session.id % 2, 0U);
        EXPECT_EQ(session.keys.size(), 2U);
    }
}

TEST(Aging, HalfAPairAgesByItself)
{
    const std::vector<SessionEntry> half{entry(5, IPPROTO_UDP, 0, 10, kNow - 11 * kSecond)};
    const auto expired = findExpired(half, kNow, {});
    ASSERT_EQ(expired.size(), 1U);
    EXPECT_EQ(expired[0].keys.size(), 1U);
}

TEST(Aging, SessionAgeGivesTheDeadlineOfTheSameRule)
{
    const auto udp = sessionAge(pair(1, IPPROTO_UDP, 30, kNow - 5 * kSecond, kNow - 2 * kSecond), 10);
    ASSERT_TRUE(udp.has_value());
    EXPECT_EQ(udp->deadlineNs, kNow - 2 * kSecond + 30 * kSecond); // latest direction + timeout
    EXPECT_EQ(udp->cause, ExpiryCause::idle);
    EXPECT_FALSE(udp->tcpOpen);

    const auto syn = sessionAge(pair(2, IPPROTO_TCP, 3600, kNow, kNow), 7);
    ASSERT_TRUE(syn.has_value());
    EXPECT_EQ(syn->deadlineNs, kNow + 7 * kSecond); // not established: the record's timeout
    EXPECT_TRUE(syn->tcpOpen);

    const auto established = sessionAge(
        pair(3, IPPROTO_TCP, 3600, kNow, kNow, SVR_TCP_SEEN_ACK, SVR_TCP_SEEN_ACK), 7);
    ASSERT_TRUE(established.has_value());
    EXPECT_EQ(established->deadlineNs, kNow + 3600 * kSecond);
    EXPECT_TRUE(established->tcpOpen); // may still close: checked again within 10 s

    const auto reset = sessionAge(
        pair(4, IPPROTO_TCP, 3600, kNow, kNow, SVR_TCP_SEEN_ACK | SVR_TCP_SEEN_RST, SVR_TCP_SEEN_ACK), 7);
    ASSERT_TRUE(reset.has_value());
    EXPECT_EQ(reset->deadlineNs, kNow + 10 * kSecond);
    EXPECT_EQ(reset->cause, ExpiryCause::tcpClosed);
    EXPECT_FALSE(reset->tcpOpen);

    EXPECT_FALSE(sessionAge(pair(5, IPPROTO_UDP, 0, kNow, kNow), 10).has_value()); // static
    EXPECT_FALSE(sessionAge({}, 10).has_value());
}

TEST(Aging, ScheduleReturnsDueIdsInDeadlineOrderOnlyOnce)
{
    AgingSchedule schedule;
    schedule.schedule(3, kNow + 3 * kSecond);
    schedule.schedule(1, kNow + 1 * kSecond);
    schedule.schedule(2, kNow + 2 * kSecond);
    EXPECT_TRUE(schedule.takeDue(kNow).empty());
    EXPECT_EQ(schedule.takeDue(kNow + 2 * kSecond), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_TRUE(schedule.takeDue(kNow + 2 * kSecond).empty());
    EXPECT_EQ(schedule.size(), 1U);
    EXPECT_EQ(schedule.takeDue(kNow + 10 * kSecond), (std::vector<std::uint64_t>{3}));
    EXPECT_EQ(schedule.size(), 0U);
}

TEST(Aging, ScheduleHandsOutAtMostTheLimitEarliestFirst)
{
    AgingSchedule schedule;
    for (std::uint64_t id = 1; id <= 5; ++id) {
        schedule.schedule(id, kNow - id * kSecond); // id 5 is the most overdue
    }
    EXPECT_EQ(schedule.takeDue(kNow, 2), (std::vector<std::uint64_t>{5, 4}));
    EXPECT_EQ(schedule.size(), 3U); // the others stay due
    EXPECT_EQ(schedule.takeDue(kNow, 10), (std::vector<std::uint64_t>{3, 2, 1}));
}

TEST(Aging, ReservingRoomKeepsTheScheduledChecksInDeadlineOrder)
{
    AgingSchedule schedule;
    schedule.schedule(2, kNow + 2 * kSecond);
    schedule.schedule(1, kNow + 1 * kSecond);
    schedule.reserve(1000);
    schedule.schedule(3, kNow + 3 * kSecond);
    EXPECT_EQ(schedule.size(), 3U);
    EXPECT_EQ(schedule.takeDue(kNow + 10 * kSecond), (std::vector<std::uint64_t>{1, 2, 3}));
}

SessionRecord recordOf(std::uint64_t id, const std::vector<SessionEntry>& entries)
{
    SessionRecord record;
    record.id = id;
    record.forward = entries[0].key;
    record.reverse = entries[1].key;
    return record;
}

TEST(SessionIndexTest, ReservingRoomKeepsTheIndexedSessions)
{
    SessionIndex index;
    const auto entries = pair(7, IPPROTO_UDP, 30, 0, 0);
    index.add(recordOf(7, entries));
    index.reserve(65536);
    ASSERT_NE(index.find(7), nullptr);
    ASSERT_NE(index.findByKey(entries[1].key), nullptr);
    EXPECT_EQ(index.findByKey(entries[1].key)->id, 7U);
    EXPECT_EQ(index.size(), 1U);
}

TEST(SessionIndexTest, FindsBothDirectionsAndForgetsThemTogether)
{
    SessionIndex index;
    const auto entries = pair(42, IPPROTO_TCP, 1800, 0, 0);
    SessionRecord record = recordOf(42, entries);
    record.nat = NatLease{*svr::config::IpAddress::parse("203.0.113.1"), 20000};
    index.add(record);
    ASSERT_NE(index.findByKey(entries[0].key), nullptr);
    ASSERT_NE(index.findByKey(entries[1].key), nullptr);
    EXPECT_EQ(index.findByKey(entries[1].key)->id, 42U);
    EXPECT_EQ(index.highestOwnId(), 42U);
    const auto removed = index.remove(42);
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed->nat->port, 20000);
    EXPECT_EQ(index.findByKey(entries[0].key), nullptr);
    EXPECT_EQ(index.findByKey(entries[1].key), nullptr);
    EXPECT_FALSE(index.remove(42));
    EXPECT_EQ(index.size(), 0U);
}

TEST(NatPoolsTest, ExhaustionIsAnErrorAndReservedPortsAreSkipped)
{
    NatPools pools;
    const auto address = *svr::config::IpAddress::parse("203.0.113.1");
    pools.addAddress(address, svr::config::PortRange{20000, 20002});
    ASSERT_TRUE(pools.reserve(address, 20000)); // an adopted session holds it
    auto first = pools.allocate(address);
    auto second = pools.allocate(address);
    ASSERT_TRUE(first);
    ASSERT_TRUE(second);
    EXPECT_NE(*first, 20000);
    EXPECT_NE(*second, 20000);
    EXPECT_NE(*first, *second);
    EXPECT_FALSE(pools.allocate(address)) << "exhausted pool must refuse";
    ASSERT_TRUE(pools.release(address, *first));
    auto again = pools.allocate(address);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *first);
    EXPECT_FALSE(pools.allocate(*svr::config::IpAddress::parse("198.51.100.1")));
    EXPECT_FALSE(pools.reserve(address, 30000)) << "outside the range";
}

TEST(Addresses, ConfigAndFastpathFormsRoundTrip)
{
    for (const char* text : {"10.1.2.3", "fd00:10::1"}) {
        const auto address = *svr::config::IpAddress::parse(text);
        EXPECT_EQ(toConfigAddress(toFastpathAddress(address)), address) << text;
    }
    const auto v4 = toFastpathAddress(*svr::config::IpAddress::parse("10.1.2.3"));
    EXPECT_EQ(v4.family, SVR_FAMILY_IPV4);
    EXPECT_EQ(v4.bytes[4], 0);
}

} // namespace

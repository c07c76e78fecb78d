#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>

#include <cstring>

#include "common/unique_fd.hpp"
#include "fastpath/maps.hpp"
#include "fastpath/netdev.hpp"
#include "session_maps.hpp"
#include "svrd/lifecycle.hpp"

namespace {

using namespace svr::svrd;
using svr::fastpath::SessionTable;

constexpr std::uint64_t kSecond = 1'000'000'000ULL;

class DeadlineAging : public testing::Test {
protected:
    void SetUp() override
    {
        std::string error;
        table_ = svr::test::TestSessionMaps::create(1024, error);
        ASSERT_NE(table_.get(), nullptr) << error;
        state_.maps.sessions = table_.get();
        state_.config = std::make_shared<const svr::config::Config>();
        now_ = svr::fastpath::monotonicNowNs();
    }

    // Session `id` (both directions) in the map and the index, last seen `idle` ago.
    SessionRecord add(std::uint64_t id, std::uint8_t proto, std::uint32_t idleTimeout,
                      std::uint64_t idle, std::uint8_t tcpState = 0)
    {
        SessionRecord record;
        record.id = id;
        record.notEstablishedTimeoutSeconds = 10;
        for (int side = 0; side < 2; ++side) {
            svr_session_key key{};
            key.ingress_ifindex = static_cast<std::uint32_t>(side + 1);
            key.family = SVR_FAMILY_IPV4;
            key.proto = proto;
            key.src_addr[0] = 10;
            key.src_addr[3] = static_cast<std::uint8_t>(id);
            key.src_port = htons(static_cast<std::uint16_t>(1000 + side));
            svr_session_value value{};
            value.session_id = id;
            value.idle_timeout_s = idleTimeout;
            value.last_seen_ns = now_ - idle;
            value.tcp_state = tcpState;
            EXPECT_TRUE(SessionTable(table_.get()).insert(key, value));
            (side == 0 ? record.forward : record.reverse) = key;
        }
        state_.sessions.add(record);
        return record;
    }

    bool inMap(const svr_session_key& key)
    {
        auto value = SessionTable(table_.get()).lookup(key);
        return value && value->has_value();
    }

    svr::test::TestSessionMaps table_;
    RouterState state_;
    std::uint64_t now_ = 0;
};

TEST_F(DeadlineAging, ExpiresAtTheDeadlineAndReschedulesActiveSessions)
{
    const SessionRecord idle = add(1, IPPROTO_UDP, 10, 11 * kSecond);
    const SessionRecord active = add(2, IPPROTO_UDP, 10, 2 * kSecond);
    state_.aging.schedule(1, now_);
    state_.aging.schedule(2, now_);
    auto expired = ageDueSessions(state_, now_);
    ASSERT_TRUE(expired);
    EXPECT_EQ(*expired, 1U);
    EXPECT_FALSE(inMap(idle.forward));
    EXPECT_FALSE(inMap(idle.reverse));
    EXPECT_EQ(state_.sessions.find(1), nullptr);
    EXPECT_TRUE(inMap(active.forward));
    EXPECT_EQ(state_.counters.get("sessions.expired.idle"), 1U);
    // Rescheduled at its deadline (last seen + 10 s), not before.
    EXPECT_EQ(*ageDueSessions(state_, now_ + 7 * kSecond), 0U);
    EXPECT_EQ(state_.aging.size(), 1U);
    EXPECT_EQ(*ageDueSessions(state_, now_ + 8 * kSecond + 1), 1U);
    EXPECT_FALSE(inMap(active.forward));
}

TEST_F(DeadlineAging, OpenTcpIsRecheckedWithinTheClosingTimeoutAndEndsAfterFin)
{
    const SessionRecord web = add(3, IPPROTO_TCP, 3600, 0, SVR_TCP_SEEN_ACK);
    state_.aging.schedule(3, now_);
    EXPECT_EQ(*ageDueSessions(state_, now_), 0U);
    // The fast path records FIN both ways: the next check (within 10 s) sees it.
    for (const auto* key : {&web.forward, &web.reverse}) {
        auto value = SessionTable(table_.get()).lookup(*key);
        ASSERT_TRUE(value && value->has_value());
        svr_session_value closed = **value;
        closed.tcp_state |= SVR_TCP_SEEN_FIN;
        ASSERT_TRUE(SessionTable(table_.get())
                        .insert(*key, closed, svr::fastpath::InsertMode::CreateOrReplace));
    }
    EXPECT_EQ(*ageDueSessions(state_, now_ + 10 * kSecond), 1U);
    EXPECT_FALSE(inMap(web.forward));
    EXPECT_EQ(state_.counters.get("sessions.expired.tcp-closed"), 1U);
}

TEST_F(DeadlineAging, VanishedSessionIsForgotten)
{
    const SessionRecord gone = add(4, IPPROTO_UDP, 30, 0);
    ASSERT_TRUE(SessionTable(table_.get()).erase(gone.forward));
    ASSERT_TRUE(SessionTable(table_.get()).erase(gone.reverse));
    state_.aging.schedule(4, now_);
    EXPECT_EQ(*ageDueSessions(state_, now_), 0U);
    EXPECT_EQ(state_.sessions.find(4), nullptr);
    EXPECT_EQ(state_.counters.get("sessions.stale-removed"), 1U);
    EXPECT_EQ(state_.aging.size(), 0U);
}

TEST_F(DeadlineAging, FirstCheckComesWhenTheFirstPacketAloneWouldExpire)
{
    const SessionRecord udp = add(5, IPPROTO_UDP, 30, 0);
    scheduleFirstAgingCheck(state_, udp, 30, now_);
    EXPECT_TRUE(state_.aging.takeDue(now_ + 29 * kSecond).empty());
    EXPECT_EQ(state_.aging.takeDue(now_ + 30 * kSecond), (std::vector<std::uint64_t>{5}));
    const SessionRecord syn = add(6, IPPROTO_TCP, 3600, 0);
    scheduleFirstAgingCheck(state_, syn, 3600, now_);
    EXPECT_EQ(state_.aging.takeDue(now_ + 10 * kSecond), (std::vector<std::uint64_t>{6}));
}

} // namespace

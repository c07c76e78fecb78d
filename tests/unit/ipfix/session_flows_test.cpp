// Session table entries to flow records: pre/post NAT tuples, IP octets, clock conversion,
// deltas across periodic records and the final record.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "ipfix/session_flows.hpp"

namespace svr::ipfix {
namespace {

constexpr std::uint64_t kSecond = 1'000'000'000ULL;

void setV4(std::uint8_t* to, const char* text) { ASSERT_EQ(inet_pton(AF_INET, text, to), 1); }

// A source-NAT session as svrd installs it: client 10.10.1.10:40002 -> 198.51.100.7:9999,
// translated to 203.0.113.1:20001; the reverse arrives on wan0 for the NAT address.
struct NatSession {
    fastpath::SessionEntry forward;
    fastpath::SessionEntry reverse;
    NatSession()
    {
        forward.key.ingress_ifindex = 2;
        forward.key.family = SVR_FAMILY_IPV4;
        forward.key.proto = IPPROTO_UDP;
        setV4(forward.key.src_addr, "10.10.1.10");
        setV4(forward.key.dst_addr, "198.51.100.7");
        forward.key.src_port = htons(40002);
        forward.key.dst_port = htons(9999);
        setV4(forward.value.new_src_addr, "203.0.113.1");
        setV4(forward.value.new_dst_addr, "198.51.100.7");
        forward.value.new_src_port = htons(20001);
        forward.value.new_dst_port = htons(9999);
        forward.value.egress_ifindex = 4;
        forward.value.session_id = 9;
        forward.value.created_ns = 100 * kSecond;
        forward.value.last_seen_ns = 103 * kSecond;
        forward.value.packets = 3;
        forward.value.bytes = 3 * (14 + 28 + 200);

        reverse.key.ingress_ifindex = 4;
        reverse.key.family = SVR_FAMILY_IPV4;
        reverse.key.proto = IPPROTO_UDP;
        setV4(reverse.key.src_addr, "198.51.100.7");
        setV4(reverse.key.dst_addr, "203.0.113.1");
        reverse.key.src_port = htons(9999);
        reverse.key.dst_port = htons(20001);
        setV4(reverse.value.new_src_addr, "198.51.100.7");
        setV4(reverse.value.new_dst_addr, "10.10.1.10");
        reverse.value.new_src_port = htons(9999);
        reverse.value.new_dst_port = htons(40002);
        reverse.value.egress_ifindex = 2;
        reverse.value.session_id = 9;
        reverse.value.created_ns = 100 * kSecond;
        reverse.value.last_seen_ns = 102 * kSecond;
        reverse.value.packets = 2;
        reverse.value.bytes = 2 * (14 + 28 + 200);
    }
    SessionFlows flows() const
    {
        return SessionFlows{.id = 9, .forward = &forward, .reverse = &reverse,
                            .tenant = "clients", .service = "internet"};
    }
};

// Monotonic 0 is Unix time 1 764 160 000 000 ms.
const WallClock kClock(1'764'160'000'000LL * 1'000'000LL);

TEST(SessionFlows, RecordsCarryBothTuplesNamesAndIpOctets)
{
    NatSession session;
    SessionFlowMeter meter(std::chrono::seconds(60));
    const auto records = meter.ended(session.flows(), EndReason::idleTimeout, kClock);
    ASSERT_EQ(records.size(), 2u);
    const FlowRecord& forward = records[0];
    EXPECT_FALSE(forward.ipv6);
    EXPECT_EQ(forward.flowId, 9u);
    EXPECT_EQ(forward.direction, BiflowDirection::initiator);
    EXPECT_EQ(std::memcmp(forward.source.data(), session.forward.key.src_addr, 16), 0);
    EXPECT_EQ(std::memcmp(forward.postNatSource.data(), session.forward.value.new_src_addr, 16), 0);
    EXPECT_EQ(forward.sourcePort, 40002);
    EXPECT_EQ(forward.destinationPort, 9999);
    EXPECT_EQ(forward.postNaptSourcePort, 20001);
    EXPECT_EQ(forward.postNaptDestinationPort, 9999);
    EXPECT_EQ(forward.ingressInterface, 2u);
    EXPECT_EQ(forward.egressInterface, 4u);
    EXPECT_EQ(forward.packetDelta, 3u);
    EXPECT_EQ(forward.octetDelta, 3u * 228); // Ethernet header taken off
    EXPECT_EQ(forward.packetTotal, 3u);
    EXPECT_EQ(forward.octetTotal, 3u * 228);
    EXPECT_EQ(forward.startMs, 1'764'160'100'000ULL);
    EXPECT_EQ(forward.endMs, 1'764'160'103'000ULL);
    EXPECT_EQ(forward.endReason, EndReason::idleTimeout);
    EXPECT_EQ(forward.tenant, "clients");
    EXPECT_EQ(forward.service, "internet");

    const FlowRecord& reverse = records[1];
    EXPECT_EQ(reverse.flowId, 9u);
    EXPECT_EQ(reverse.direction, BiflowDirection::reverseInitiator);
    EXPECT_EQ(reverse.destinationPort, 20001);
    EXPECT_EQ(reverse.postNaptDestinationPort, 40002);
    EXPECT_EQ(std::memcmp(reverse.postNatDestination.data(), session.forward.key.src_addr, 16), 0);
    EXPECT_EQ(reverse.packetDelta, 2u);
    EXPECT_EQ(reverse.endMs, 1'764'160'102'000ULL);
    EXPECT_EQ(meter.tracked(), 0u);
}

TEST(SessionFlows, TaggedFramesLoseTheirTagToo)
{
    NatSession session;
    session.forward.key.vlan_id = 100;
    session.forward.value.bytes = 3 * (18 + 228);
    EXPECT_EQ(ipOctets(session.forward), 3u * 228);
}

TEST(SessionFlows, IcmpIdentifiersAreNotExportedAsPorts)
{
    NatSession session;
    session.forward.key.proto = IPPROTO_ICMP;
    session.forward.key.src_port = htons(777); // echo identifier
    session.forward.key.dst_port = 0;
    const FlowRecord record = flowRecordOf(session.forward, session.flows(),
                                           BiflowDirection::initiator, 1, 1,
                                           EndReason::idleTimeout, kClock);
    EXPECT_EQ(record.protocol, IPPROTO_ICMP);
    EXPECT_EQ(record.sourcePort, 0);
    EXPECT_EQ(record.postNaptSourcePort, 0);
}

TEST(SessionFlows, LastSeenTrailingCreatedEndsAtTheStart)
{
    NatSession session;
    session.forward.value.last_seen_ns = session.forward.value.created_ns - 1000;
    const FlowRecord record = flowRecordOf(session.forward, session.flows(),
                                           BiflowDirection::initiator, 1, 1,
                                           EndReason::idleTimeout, kClock);
    EXPECT_EQ(record.endMs, record.startMs);
}

TEST(SessionFlows, ActiveTimeoutReportsDeltasAndTheEndTheRest)
{
    NatSession session;
    SessionFlowMeter meter(std::chrono::seconds(60));
    // Before the active timeout since the session's start: nothing.
    EXPECT_TRUE(meter.active(session.flows(), 159 * kSecond, kClock).empty());
    auto first = meter.active(session.flows(), 160 * kSecond, kClock);
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(first[0].endReason, EndReason::activeTimeout);
    EXPECT_EQ(first[0].packetDelta, 3u);
    EXPECT_EQ(first[1].packetDelta, 2u);
    // Only the forward direction moves; the next report waits another 60 s.
    session.forward.value.packets = 10;
    session.forward.value.bytes = 10 * 242;
    EXPECT_TRUE(meter.active(session.flows(), 219 * kSecond, kClock).empty());
    auto second = meter.active(session.flows(), 220 * kSecond, kClock);
    ASSERT_EQ(second.size(), 1u); // no new reverse packet: no reverse record
    EXPECT_EQ(second[0].direction, BiflowDirection::initiator);
    EXPECT_EQ(second[0].packetDelta, 7u);
    EXPECT_EQ(second[0].octetDelta, 7u * 228);
    EXPECT_EQ(second[0].packetTotal, 10u);
    // The end: both directions, whatever is left since the last report.
    session.forward.value.packets = 11;
    session.forward.value.bytes = 11 * 242;
    auto last = meter.ended(session.flows(), EndReason::endOfFlowDetected, kClock);
    ASSERT_EQ(last.size(), 2u);
    EXPECT_EQ(last[0].packetDelta, 1u);
    EXPECT_EQ(last[0].packetTotal, 11u);
    EXPECT_EQ(last[1].packetDelta, 0u);
    EXPECT_EQ(last[1].packetTotal, 2u);
    EXPECT_EQ(last[1].endReason, EndReason::endOfFlowDetected);
}

// After a restart the adopted sessions' counts were (partly) exported by the previous svrd:
// the first sight sets a baseline, later records carry only what came since.
TEST(SessionFlows, SessionsOlderThanTheMeterAreBaselinedNotReportedAgain)
{
    NatSession session; // created at 100 s
    SessionFlowMeter meter(std::chrono::seconds(60), 150 * kSecond);
    EXPECT_TRUE(meter.active(session.flows(), 200 * kSecond, kClock).empty()) << "baseline";
    session.forward.value.packets = 5;
    session.forward.value.bytes = 5 * 242;
    auto next = meter.active(session.flows(), 260 * kSecond, kClock);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].packetDelta, 2u) << "only what came after the restart";
    EXPECT_EQ(next[0].packetTotal, 5u);

    NatSession endsFirst;
    SessionFlowMeter other(std::chrono::seconds(60), 150 * kSecond);
    auto last = other.ended(endsFirst.flows(), EndReason::idleTimeout, kClock);
    ASSERT_EQ(last.size(), 2u);
    EXPECT_EQ(last[0].packetDelta, 0u) << "unknown share: no delta, exact total";
    EXPECT_EQ(last[0].packetTotal, 3u);

    NatSession fresh; // created after the meter started: reported in full
    SessionFlowMeter started(std::chrono::seconds(60), 50 * kSecond);
    auto full = started.ended(fresh.flows(), EndReason::idleTimeout, kClock);
    ASSERT_EQ(full.size(), 2u);
    EXPECT_EQ(full[0].packetDelta, 3u);
}

TEST(SessionFlows, DirectionWithoutPacketsHasNoRecord)
{
    NatSession session;
    session.reverse.value.packets = 0;
    session.reverse.value.bytes = 0;
    SessionFlowMeter meter(std::chrono::seconds(60));
    const auto records = meter.ended(session.flows(), EndReason::idleTimeout, kClock);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].direction, BiflowDirection::initiator);
    SessionFlows half = session.flows();
    half.reverse = nullptr; // half a pair still reports its forward direction
    EXPECT_EQ(meter.ended(half, EndReason::forcedEnd, kClock).size(), 1u);
}

TEST(SessionFlows, RetainOnlyForgetsSessionsThatLeftTheTable)
{
    NatSession session;
    SessionFlowMeter meter(std::chrono::seconds(60));
    (void)meter.active(session.flows(), 200 * kSecond, kClock);
    EXPECT_EQ(meter.tracked(), 1u);
    meter.retainOnly({9});
    EXPECT_EQ(meter.tracked(), 1u);
    meter.retainOnly({});
    EXPECT_EQ(meter.tracked(), 0u);
}

TEST(SessionFlows, WallClockConvertsMonotonicTime)
{
    const WallClock clock = WallClock::now();
    timespec monotonic{};
    ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &monotonic), 0);
    const auto nowMono = static_cast<std::uint64_t>(monotonic.tv_sec) * kSecond +
                         static_cast<std::uint64_t>(monotonic.tv_nsec);
    const auto unixMs = static_cast<std::uint64_t>(time(nullptr)) * 1000;
    const std::uint64_t converted = clock.unixMs(nowMono);
    EXPECT_GE(converted + 2000, unixMs);
    EXPECT_LE(converted, unixMs + 2000);
}

} // namespace
} // namespace svr::ipfix

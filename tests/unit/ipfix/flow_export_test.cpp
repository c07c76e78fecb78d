// svrd's IPFIX hook: created only when configured, end reasons from the expiry cause and
// from removal, forward direction from the session index, names from the configuration.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>

#include "common/unique_fd.hpp"
#include "loopback_collector.hpp"
#include "config/loader.hpp"
#include "config/test_files.hpp"
#include "fastpath/session.hpp"
#include "svrd/flow_export.hpp"

namespace svr::svrd {
namespace {

using test::LoopbackCollector;

constexpr std::uint64_t kSecond = 1'000'000'000ULL;
// Test time starts now: sessions older than the exporter count as re-adopted after a restart.
const std::uint64_t kBase = fastpath::monotonicNowNs() + kSecond;
constexpr std::size_t kFirstRecord = 16 + 404 + 4; // header, template set, data set header
constexpr std::size_t kIpv4Fixed = 91;              // fixed part of an IPv4 record

config::IpfixExport settingsFor(std::uint16_t port)
{
    config::IpfixExport settings;
    settings.collector = *config::IpAddress::parse("127.0.0.1");
    settings.port = port;
    return settings;
}

fastpath::SessionEntry entry(const char* source, std::uint16_t sourcePort, const char* destination,
                             std::uint16_t destinationPort, std::uint64_t packets)
{
    fastpath::SessionEntry entry;
    entry.key.family = SVR_FAMILY_IPV4;
    entry.key.proto = IPPROTO_TCP;
    inet_pton(AF_INET, source, entry.key.src_addr);
    inet_pton(AF_INET, destination, entry.key.dst_addr);
    entry.key.src_port = htons(sourcePort);
    entry.key.dst_port = htons(destinationPort);
    std::memcpy(entry.value.new_src_addr, entry.key.src_addr, SVR_ADDR_LEN);
    std::memcpy(entry.value.new_dst_addr, entry.key.dst_addr, SVR_ADDR_LEN);
    entry.value.new_src_port = entry.key.src_port;
    entry.value.new_dst_port = entry.key.dst_port;
    entry.value.session_id = 3;
    entry.value.tenant_id = 1;  // "clients" in single-router.json
    entry.value.service_id = 1; // "web"
    entry.value.created_ns = kBase + 10 * kSecond;
    entry.value.last_seen_ns = kBase + 11 * kSecond;
    entry.value.packets = packets;
    entry.value.bytes = packets * 100;
    return entry;
}

class FlowExportTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        auto loaded = config::loadConfig(config::test::exampleText("single-router.json"));
        ASSERT_TRUE(loaded) << loaded.error().describe();
        config_ = std::move(*loaded);
        // The table lists the reverse first: the index must decide which one is forward.
        snapshot_ = {entry("10.10.2.10", 80, "10.10.1.10", 40000, 4),
                     entry("10.10.1.10", 40000, "10.10.2.10", 80, 6)};
        SessionRecord record;
        record.id = 3;
        record.forward = snapshot_[1].key;
        record.reverse = snapshot_[0].key;
        index_.add(record);
        ASSERT_TRUE(configureFlowExport(export_, settingsFor(collector_.port)));
        ASSERT_NE(export_, nullptr);
    }

    config::Config config_;
    std::vector<fastpath::SessionEntry> snapshot_;
    SessionIndex index_;
    LoopbackCollector collector_;
    std::unique_ptr<FlowExport> export_;
};

TEST_F(FlowExportTest, TcpClosedExpiryIsEndOfFlowWithNamesAndForwardFirst)
{
    const std::vector<ExpiredSession> expired = {
        ExpiredSession{.id = 3, .cause = ExpiryCause::tcpClosed, .keys = {}}};
    export_->scanned(config_, index_, snapshot_, expired, kBase + 20 * kSecond);
    const auto message = collector_.receive();
    // Two records, tenant "clients" and service "web".
    ASSERT_EQ(message.size(), kFirstRecord + 2 * (kIpv4Fixed + 1 + 7 + 1 + 3));
    const std::uint8_t* first = message.data() + kFirstRecord;
    EXPECT_EQ(first[8], 10);                         // forward source 10.10.1.10 first
    EXPECT_EQ(first[49], 6);                         // packetDeltaCount of the forward entry
    EXPECT_EQ(first[41], 1);                         // biflowDirection initiator
    EXPECT_EQ(first[90], 3);                         // flowEndReason end of flow detected
    EXPECT_EQ(std::string(first + 92, first + 99), "clients");
    EXPECT_EQ(std::string(first + 100, first + 103), "web");
}

TEST_F(FlowExportTest, RemovalIsForcedEnd)
{
    export_->removed(config_, index_, snapshot_);
    const auto message = collector_.receive();
    ASSERT_GE(message.size(), kFirstRecord + kIpv4Fixed);
    EXPECT_EQ(message[kFirstRecord + 90], 4);
}

TEST_F(FlowExportTest, ActiveSessionReportedAfterTheActiveTimeoutOnly)
{
    // First scan: nothing due yet, but the templates go out.
    export_->scanned(config_, index_, snapshot_, {}, kBase + 20 * kSecond);
    auto message = collector_.receive();
    ASSERT_EQ(message.size(), 16u + 404);
    // 60 s (the default active timeout) after the start: periodic records.
    export_->scanned(config_, index_, snapshot_, {}, kBase + 70 * kSecond);
    message = collector_.receive();
    ASSERT_GE(message.size(), 16u + 4 + kIpv4Fixed);
    EXPECT_EQ(message[16 + 4 + 90], 2); // active timeout
}

TEST_F(FlowExportTest, NotConfiguredMeansNoExporter)
{
    ASSERT_TRUE(configureFlowExport(export_, std::nullopt));
    EXPECT_EQ(export_, nullptr);
    std::unique_ptr<FlowExport> never;
    ASSERT_TRUE(configureFlowExport(never, std::nullopt));
    EXPECT_EQ(never, nullptr);
}

TEST_F(FlowExportTest, ReloadWithOtherSettingsMovesTheExport)
{
    LoopbackCollector other;
    config::IpfixExport settings = settingsFor(other.port);
    settings.observationDomainId = 9;
    FlowExport* before = export_.get();
    ASSERT_TRUE(configureFlowExport(export_, settings));
    EXPECT_EQ(export_.get(), before); // same hook, new exporter
    EXPECT_EQ(export_->settings().observationDomainId, 9u);
    export_->removed(config_, index_, snapshot_);
    const auto message = other.receive();
    ASSERT_GE(message.size(), 16u);
    EXPECT_EQ(message[15], 9);
    EXPECT_TRUE(collector_.receive(100).empty());
}

} // namespace
} // namespace svr::svrd

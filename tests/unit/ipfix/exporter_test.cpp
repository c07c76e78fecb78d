// The UDP exporting process against a collector socket on loopback.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <vector>

#include "common/unique_fd.hpp"
#include "loopback_collector.hpp"
#include "ipfix/exporter.hpp"

namespace svr::ipfix {
namespace {

using test::LoopbackCollector;

ExporterOptions optionsFor(std::uint16_t port)
{
    ExporterOptions options;
    options.collector = *config::IpAddress::parse("127.0.0.1");
    options.port = port;
    options.observationDomainId = 5;
    return options;
}

TEST(IpfixExporter, SendsTemplatesThenRecordsToTheCollector)
{
    LoopbackCollector collector;
    auto exporter = Exporter::open(optionsFor(collector.port));
    ASSERT_TRUE(exporter) << exporter.error().describe();
    FlowRecord record;
    record.flowId = 1;
    record.source = {10, 0, 0, 1};
    record.tenant = "t";
    ASSERT_TRUE((*exporter)->exportRecords(std::vector<FlowRecord>{record}, 1000));
    const auto message = collector.receive();
    ASSERT_GE(message.size(), 16u + 204 + 4);
    EXPECT_EQ(message[0], 0);
    EXPECT_EQ(message[1], 10);                                 // IPFIX version
    EXPECT_EQ((message[2] << 8 | message[3]), message.size()); // one datagram, one message
    EXPECT_EQ(message[15], 5);                                 // observation domain
    EXPECT_EQ((message[16] << 8 | message[17]), 2);            // template set first
    EXPECT_EQ((*exporter)->messagesSent(), 1u);
    EXPECT_EQ((*exporter)->sendErrors(), 0u);

    // Nothing to export and no refresh due: no datagram.
    ASSERT_TRUE((*exporter)->exportRecords({}, 1001));
    EXPECT_EQ((*exporter)->messagesSent(), 1u);
}

TEST(IpfixExporter, RefusedMessageIsCountedAndTemplatesAreSentAgain)
{
    std::uint16_t port = 0;
    { // a collector that goes away: its port answers with ICMP port unreachable
        LoopbackCollector gone;
        port = gone.port;
    }
    auto exporter = Exporter::open(optionsFor(port));
    ASSERT_TRUE(exporter) << exporter.error().describe();
    const std::vector<FlowRecord> one(1);
    ASSERT_TRUE((*exporter)->exportRecords(one, 1000)); // sent; the ICMP error comes back
    const Status refused = (*exporter)->exportRecords(one, 1001);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, std::errc::connection_refused);
    EXPECT_EQ((*exporter)->sendErrors(), 1u);

    // The collector is back on its port: the next message carries the templates again.
    LoopbackCollector back;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    back.socket.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::bind(back.socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0)
        << "port " << port << " taken meanwhile";
    ASSERT_TRUE((*exporter)->exportRecords(one, 1002));
    const auto message = back.receive();
    ASSERT_GE(message.size(), 20u);
    EXPECT_EQ((message[16] << 8 | message[17]), 2);
}

} // namespace
} // namespace svr::ipfix

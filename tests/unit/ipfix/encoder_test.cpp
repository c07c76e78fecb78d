// RFC 7011 encoding byte for byte: template set, data records, message header, sequence
// numbers, template refresh and packing into messages.
#include <gtest/gtest.h>

#include <vector>

#include "ipfix/encoder.hpp"

namespace svr::ipfix {
namespace {

using Bytes = std::vector<std::uint8_t>;

std::uint16_t u16At(const Bytes& bytes, std::size_t offset)
{
    return static_cast<std::uint16_t>(bytes.at(offset) << 8 | bytes.at(offset + 1));
}
std::uint32_t u32At(const Bytes& bytes, std::size_t offset)
{
    return static_cast<std::uint32_t>(u16At(bytes, offset)) << 16 | u16At(bytes, offset + 2);
}

FlowRecord natRecord()
{
    FlowRecord record;
    record.flowId = 0x0102030405060708ULL;
    record.source = {10, 10, 1, 10};
    record.destination = {198, 51, 100, 7};
    record.sourcePort = 40001;
    record.destinationPort = 9999;
    record.protocol = 17;
    record.postNatSource = {203, 0, 113, 1};
    record.postNatDestination = {198, 51, 100, 7};
    record.postNaptSourcePort = 20001;
    record.postNaptDestinationPort = 9999;
    record.ingressInterface = 2;
    record.egressInterface = 4;
    record.direction = BiflowDirection::initiator;
    record.packetDelta = 5;
    record.octetDelta = 640;
    record.packetTotal = 7;
    record.octetTotal = 900;
    record.startMs = 1764160000123ULL;
    record.endMs = 1764160001456ULL;
    record.endReason = EndReason::idleTimeout;
    record.tenant = "clients";
    record.service = "internet";
    return record;
}

FlowRecord ipv6Record()
{
    FlowRecord record = natRecord();
    record.ipv6 = true;
    record.source = {0xfd, 0x00, 0x00, 0x10, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    record.destination = {0xfd, 0x00, 0x00, 0x10, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    record.postNatSource = record.source;
    record.postNatDestination = record.destination;
    record.direction = BiflowDirection::reverseInitiator;
    record.endReason = EndReason::forcedEnd;
    return record;
}

TEST(IpfixEncoder, Ipv4DataRecordByteForByte)
{
    const Bytes expected = {
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // flowId
        0x0a, 0x0a, 0x01, 0x0a,                         // sourceIPv4Address
        0xc6, 0x33, 0x64, 0x07,                         // destinationIPv4Address
        0x9c, 0x41,                                     // sourceTransportPort 40001
        0x27, 0x0f,                                     // destinationTransportPort 9999
        0x11,                                           // protocolIdentifier UDP
        0xcb, 0x00, 0x71, 0x01,                         // postNATSourceIPv4Address
        0xc6, 0x33, 0x64, 0x07,                         // postNATDestinationIPv4Address
        0x4e, 0x21,                                     // postNAPTSourceTransportPort 20001
        0x27, 0x0f,                                     // postNAPTDestinationTransportPort
        0x00, 0x00, 0x00, 0x02,                         // ingressInterface
        0x00, 0x00, 0x00, 0x04,                         // egressInterface
        0x01,                                           // biflowDirection initiator
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, // packetDeltaCount
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x80, // octetDeltaCount 640
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, // packetTotalCount
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x84, // octetTotalCount 900
        0x00, 0x00, 0x01, 0x9a, 0xc0, 0x21, 0x50, 0x7b, // flowStartMilliseconds
        0x00, 0x00, 0x01, 0x9a, 0xc0, 0x21, 0x55, 0xb0, // flowEndMilliseconds
        0x01,                                           // flowEndReason idle timeout
        0x07, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x73, // tenantName "clients"
        0x08, 0x69, 0x6e, 0x74, 0x65, 0x72, 0x6e, 0x65, 0x74, // serviceName "internet"
    };
    EXPECT_EQ(encodeDataRecord(natRecord()), expected);
}

TEST(IpfixEncoder, Ipv6DataRecordCarriesSixteenByteAddresses)
{
    const FlowRecord record = ipv6Record();
    const Bytes bytes = encodeDataRecord(record);
    ASSERT_EQ(bytes.size(), 139u + 8 + 9);
    EXPECT_EQ(Bytes(bytes.begin() + 8, bytes.begin() + 24),
              Bytes(record.source.begin(), record.source.end()));
    EXPECT_EQ(Bytes(bytes.begin() + 24, bytes.begin() + 40),
              Bytes(record.destination.begin(), record.destination.end()));
    EXPECT_EQ(u16At(bytes, 40), 40001);
    EXPECT_EQ(bytes[44], 17);
    EXPECT_EQ(u16At(bytes, 77), 20001); // after two 16-byte post-NAT addresses
    EXPECT_EQ(bytes[89], 2);            // biflowDirection reverse initiator
    EXPECT_EQ(bytes[138], 4);           // flowEndReason forced end
}

FlowRecord ipv4OverIpv6Record()
{
    FlowRecord record = natRecord();
    record.translated = true; // leaves as IPv6 towards SVR waypoints
    record.postNatSource = {0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa1};
    record.postNatDestination = {0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xb1};
    return record;
}

TEST(IpfixEncoder, TranslatedRecordCarriesPostNatAddressesOfTheOtherFamily)
{
    const FlowRecord v4to6 = ipv4OverIpv6Record();
    const Bytes bytes = encodeDataRecord(v4to6);
    ASSERT_EQ(bytes.size(), encodeDataRecord(natRecord()).size() + 2 * 12);
    EXPECT_EQ(Bytes(bytes.begin() + 8, bytes.begin() + 12), (Bytes{10, 10, 1, 10}));
    EXPECT_EQ(Bytes(bytes.begin() + 21, bytes.begin() + 37),
              Bytes(v4to6.postNatSource.begin(), v4to6.postNatSource.end()));
    EXPECT_EQ(Bytes(bytes.begin() + 37, bytes.begin() + 53),
              Bytes(v4to6.postNatDestination.begin(), v4to6.postNatDestination.end()));
    EXPECT_EQ(u16At(bytes, 53), 20001);

    FlowRecord v6to4 = ipv6Record();
    v6to4.translated = true;
    v6to4.postNatSource = {192, 0, 2, 1};
    v6to4.postNatDestination = {192, 0, 2, 2};
    const Bytes back = encodeDataRecord(v6to4);
    EXPECT_EQ(Bytes(back.begin() + 45, back.begin() + 53), (Bytes{192, 0, 2, 1, 192, 0, 2, 2}));
    EXPECT_EQ(u16At(back, 53), 20001);

    EXPECT_EQ(templateIdOf(false, true), kTemplateIdIpv4ToIpv6);
    EXPECT_EQ(templateIdOf(true, true), kTemplateIdIpv6ToIpv4);
    // The template says so: post-NAT IPv6 (281, 282) after pre-NAT IPv4 (8, 12).
    const auto fields = templateFields(false, true);
    EXPECT_EQ(fields[1], (FieldSpecifier{ie::sourceIPv4Address, 4, 0}));
    EXPECT_EQ(fields[6], (FieldSpecifier{ie::postNATSourceIPv6Address, 16, 0}));
    EXPECT_EQ(fields[7], (FieldSpecifier{ie::postNATDestinationIPv6Address, 16, 0}));
}

TEST(IpfixEncoder, EmptyAndLongNamesUseRfc7011VariableLength)
{
    FlowRecord record = natRecord();
    record.tenant.clear();
    record.service = std::string(300, 's');
    const Bytes bytes = encodeDataRecord(record);
    ASSERT_EQ(bytes.size(), 91u + 1 + 3 + 255);
    EXPECT_EQ(bytes[91], 0);    // empty tenant: length 0
    EXPECT_EQ(bytes[92], 255);  // long form
    EXPECT_EQ(u16At(bytes, 93), 255); // cut to 255 bytes
}

TEST(IpfixEncoder, TemplateSetByteForByte)
{
    const Bytes set = encodeTemplateSet();
    // Set header + four templates of 4 + 20 * 4 + 2 * 8 bytes.
    ASSERT_EQ(set.size(), 4u + 4 * 100);
    EXPECT_EQ(u16At(set, 0), 2);   // template set id
    EXPECT_EQ(u16At(set, 2), 404); // set length
    const Bytes ipv4Head = {0x01, 0x00, 0x00, 0x16,  // template 256, 22 fields
                            0x00, 0x94, 0x00, 0x08,  // flowId, 8
                            0x00, 0x08, 0x00, 0x04,  // sourceIPv4Address, 4
                            0x00, 0x0c, 0x00, 0x04}; // destinationIPv4Address, 4
    EXPECT_EQ(Bytes(set.begin() + 4, set.begin() + 20), ipv4Head);
    const Bytes enterpriseFields = {0x80, 0x01, 0xff, 0xff, 0x00, 0x00, 0x7e, 0xd9,  // tenant
                                    0x80, 0x02, 0xff, 0xff, 0x00, 0x00, 0x7e, 0xd9}; // service
    EXPECT_EQ(Bytes(set.begin() + 88, set.begin() + 104), enterpriseFields);
    const Bytes ipv6Head = {0x01, 0x01, 0x00, 0x16, 0x00, 0x94, 0x00, 0x08,
                            0x00, 0x1b, 0x00, 0x10, 0x00, 0x1c, 0x00, 0x10};
    EXPECT_EQ(Bytes(set.begin() + 104, set.begin() + 120), ipv6Head);
    // postNATSourceIPv6Address 281 and postNATDestinationIPv6Address 282, 16 bytes each.
    EXPECT_EQ(Bytes(set.begin() + 132, set.begin() + 140),
              (Bytes{0x01, 0x19, 0x00, 0x10, 0x01, 0x1a, 0x00, 0x10}));
    // Template 258, IPv4 translated to IPv6: IPv4 before NAT, IPv6 after.
    EXPECT_EQ(Bytes(set.begin() + 204, set.begin() + 216),
              (Bytes{0x01, 0x02, 0x00, 0x16, 0x00, 0x94, 0x00, 0x08, 0x00, 0x08, 0x00, 0x04}));
    EXPECT_EQ(Bytes(set.begin() + 232, set.begin() + 240),
              (Bytes{0x01, 0x19, 0x00, 0x10, 0x01, 0x1a, 0x00, 0x10}));
    // Template 259, IPv6 translated to IPv4: postNATSourceIPv4Address 225, 226.
    EXPECT_EQ(Bytes(set.begin() + 304, set.begin() + 316),
              (Bytes{0x01, 0x03, 0x00, 0x16, 0x00, 0x94, 0x00, 0x08, 0x00, 0x1b, 0x00, 0x10}));
    EXPECT_EQ(Bytes(set.begin() + 332, set.begin() + 340),
              (Bytes{0x00, 0xe1, 0x00, 0x04, 0x00, 0xe2, 0x00, 0x04}));
}

TEST(IpfixEncoder, TemplateFieldLengthsMatchTheRecordLayout)
{
    for (const bool ipv6 : {false, true}) {
        for (const bool translated : {false, true}) {
            std::size_t fixed = 0;
            for (const FieldSpecifier& field : templateFields(ipv6, translated)) {
                if (field.length != kVariableLength) {
                    fixed += field.length;
                }
            }
            FlowRecord record = ipv6 ? ipv6Record() : natRecord();
            record.translated = translated;
            record.tenant.clear();
            record.service.clear();
            EXPECT_EQ(encodeDataRecord(record).size(), fixed + 2)
                << (ipv6 ? "IPv6" : "IPv4") << (translated ? " translated" : "");
        }
    }
}

TEST(IpfixEncoder, FirstMessageHasHeaderTemplatesAndOneSetPerTemplate)
{
    MessageEncoder encoder(77, TemplateRefresh{});
    const std::vector<FlowRecord> records = {ipv4OverIpv6Record(), ipv6Record(), natRecord(),
                                             natRecord()};
    const auto messages = encoder.encode(records, 1764160002);
    ASSERT_EQ(messages.size(), 1u);
    const Bytes& message = messages[0];
    EXPECT_EQ(u16At(message, 0), 10);             // version
    EXPECT_EQ(u16At(message, 2), message.size()); // length
    EXPECT_EQ(u32At(message, 4), 1764160002u);    // export time
    EXPECT_EQ(u32At(message, 8), 0u);             // sequence: no record before
    EXPECT_EQ(u32At(message, 12), 77u);           // observation domain
    EXPECT_EQ(u16At(message, 16), 2);             // the template set first
    const std::size_t ipv4Set = 16 + 404;
    const std::size_t ipv4Record = encodeDataRecord(natRecord()).size();
    EXPECT_EQ(u16At(message, ipv4Set), kTemplateIdIpv4); // IPv4 records first, grouped
    EXPECT_EQ(u16At(message, ipv4Set + 2), 4 + 2 * ipv4Record);
    const std::size_t ipv6Set = ipv4Set + 4 + 2 * ipv4Record;
    EXPECT_EQ(u16At(message, ipv6Set), kTemplateIdIpv6);
    EXPECT_EQ(u16At(message, ipv6Set + 2), 4 + encodeDataRecord(ipv6Record()).size());
    const std::size_t translatedSet = ipv6Set + u16At(message, ipv6Set + 2);
    EXPECT_EQ(u16At(message, translatedSet), kTemplateIdIpv4ToIpv6); // then the translated
    EXPECT_EQ(u16At(message, translatedSet + 2),
              4 + encodeDataRecord(ipv4OverIpv6Record()).size());
    EXPECT_EQ(translatedSet + u16At(message, translatedSet + 2), message.size());
    EXPECT_EQ(encoder.sequenceNumber(), 4u);
}

TEST(IpfixEncoder, SequenceCountsRecordsAndTemplatesWaitForTheRefresh)
{
    MessageEncoder encoder(1,
                           TemplateRefresh{.interval = std::chrono::seconds(600), .messages = 0});
    const std::vector<FlowRecord> two = {natRecord(), natRecord()};
    ASSERT_EQ(encoder.encode(two, 1000).size(), 1u);
    const auto second = encoder.encode(two, 1100);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(u32At(second[0], 8), 2u);             // two records before it
    EXPECT_EQ(u16At(second[0], 16), kTemplateIdIpv4); // no templates: data set first
    EXPECT_TRUE(encoder.encode({}, 1500).empty());  // nothing due, nothing sent
    const auto refreshed = encoder.encode({}, 1600); // 600 s after the first templates
    ASSERT_EQ(refreshed.size(), 1u);
    EXPECT_EQ(u16At(refreshed[0], 16), 2);
    EXPECT_EQ(refreshed[0].size(), 16u + 404);
    EXPECT_EQ(u32At(refreshed[0], 8), 4u);
}

TEST(IpfixEncoder, TemplatesAlsoRefreshedEveryNMessages)
{
    MessageEncoder encoder(1,
                           TemplateRefresh{.interval = std::chrono::seconds(600), .messages = 2});
    const std::vector<FlowRecord> one = {natRecord()};
    std::vector<bool> withTemplates;
    for (int i = 0; i < 5; ++i) {
        const auto messages = encoder.encode(one, 1000);
        ASSERT_EQ(messages.size(), 1u);
        withTemplates.push_back(u16At(messages[0], 16) == 2);
    }
    EXPECT_EQ(withTemplates, (std::vector<bool>{true, false, true, false, true}));
}

TEST(IpfixEncoder, ResendTemplatesAfterALoss)
{
    MessageEncoder encoder(1, TemplateRefresh{});
    const std::vector<FlowRecord> one = {natRecord()};
    (void)encoder.encode(one, 1000);
    encoder.resendTemplates();
    const auto messages = encoder.encode(one, 1001);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(u16At(messages[0], 16), 2);
}

TEST(IpfixEncoder, ManyRecordsSplitIntoMessagesWithinTheLimit)
{
    constexpr std::size_t kLimit = 1400;
    MessageEncoder encoder(1, TemplateRefresh{}, kLimit);
    std::vector<FlowRecord> records;
    for (int i = 0; i < 40; ++i) {
        records.push_back(i % 2 == 0 ? natRecord() : ipv6Record());
    }
    const auto messages = encoder.encode(records, 1000);
    ASSERT_GT(messages.size(), 1u);
    std::uint32_t expectedSequence = 0;
    std::size_t recordsSeen = 0;
    for (const Bytes& message : messages) {
        EXPECT_LE(message.size(), kLimit);
        EXPECT_EQ(u16At(message, 2), message.size());
        EXPECT_EQ(u32At(message, 8), expectedSequence);
        std::size_t offset = 16;
        std::size_t inMessage = 0;
        while (offset < message.size()) { // walk the sets: lengths must tile the message
            const std::uint16_t setId = u16At(message, offset);
            const std::uint16_t length = u16At(message, offset + 2);
            ASSERT_GE(length, 4);
            if (setId == kTemplateIdIpv4 || setId == kTemplateIdIpv6) {
                const std::size_t recordSize =
                    encodeDataRecord(setId == kTemplateIdIpv4 ? natRecord() : ipv6Record()).size();
                EXPECT_EQ((length - 4u) % recordSize, 0u);
                inMessage += (length - 4u) / recordSize;
            }
            offset += length;
        }
        EXPECT_EQ(offset, message.size());
        expectedSequence += static_cast<std::uint32_t>(inMessage);
        recordsSeen += inMessage;
    }
    EXPECT_EQ(recordsSeen, records.size());
    EXPECT_EQ(encoder.sequenceNumber(), records.size());
}

} // namespace
} // namespace svr::ipfix

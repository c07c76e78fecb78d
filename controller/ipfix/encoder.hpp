// RFC 7011 encoding of svr's flow records: the four templates (IPv4, IPv6, and the two
// translated between them), data records and whole messages. Pure byte work, no sockets: the exporter sends what this produces.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ipfix/information_elements.hpp"

namespace svr::ipfix {

// One direction of one session, as exported. Addresses in network order (IPv4 in bytes 0..3),
// everything else in host order; the encoder writes network order.
struct FlowRecord {
    bool ipv6 = false;
    bool translated = false; // post-NAT addresses of the other family (4 <-> 6 translation)
    std::uint64_t flowId = 0; // svr's session id: both directions of a session share it
    std::array<std::uint8_t, 16> source{};
    std::array<std::uint8_t, 16> destination{};
    std::uint16_t sourcePort = 0;
    std::uint16_t destinationPort = 0;
    std::uint8_t protocol = 0;
    std::array<std::uint8_t, 16> postNatSource{};
    std::array<std::uint8_t, 16> postNatDestination{};
    std::uint16_t postNaptSourcePort = 0;
    std::uint16_t postNaptDestinationPort = 0;
    std::uint32_t ingressInterface = 0; // ifindex
    std::uint32_t egressInterface = 0;  // ifindex
    BiflowDirection direction = BiflowDirection::initiator;
    std::uint64_t packetDelta = 0;
    std::uint64_t octetDelta = 0; // IP header and payload, as RFC 7012 defines octet counts
    std::uint64_t packetTotal = 0;
    std::uint64_t octetTotal = 0;
    std::uint64_t startMs = 0; // Unix epoch milliseconds
    std::uint64_t endMs = 0;
    EndReason endReason = EndReason::idleTimeout;
    std::string tenant;  // "" when the session has none
    std::string service;
};

// One field of a template: element id, length (65535: variable) and, for enterprise-specific
// elements, the enterprise number.
struct FieldSpecifier {
    std::uint16_t id = 0;
    std::uint16_t length = 0;
    std::uint32_t enterprise = 0; // 0: IANA element

    friend bool operator==(const FieldSpecifier&, const FieldSpecifier&) = default;
};

inline constexpr std::uint16_t kVariableLength = 65535;

// The template of a record: by its family and whether it is translated.
std::uint16_t templateIdOf(bool ipv6, bool translated);

// The fields of that template, in record order.
std::span<const FieldSpecifier> templateFields(bool ipv6, bool translated = false);

// A template set (set id 2) holding the four templates.
std::vector<std::uint8_t> encodeTemplateSet();

// One data record (no set header) in the layout of its template.
std::vector<std::uint8_t> encodeDataRecord(const FlowRecord& record);

// When templates are sent again over UDP (RFC 7011 8.4): after `interval`, and also after
// `messages` messages when that is non-zero.
struct TemplateRefresh {
    std::chrono::seconds interval{600};
    std::uint32_t messages = 0;
};

// Builds the messages of one observation domain: sequence numbers (data records sent before
// each message, modulo 2^32), templates first whenever a refresh is due, records packed into
// messages of at most maxMessageBytes (each record in one message, sets grouped by template).
class MessageEncoder {
public:
    static constexpr std::size_t kDefaultMaxMessageBytes = 1400; // below a 1500 byte path MTU

    MessageEncoder(std::uint32_t observationDomainId, TemplateRefresh refresh,
                   std::size_t maxMessageBytes = kDefaultMaxMessageBytes);

    // Messages carrying the records (and the templates if due). No records and no refresh
    // due: no message.
    std::vector<std::vector<std::uint8_t>> encode(std::span<const FlowRecord> records,
                                                  std::uint32_t exportTimeSeconds);

    std::uint32_t sequenceNumber() const { return sequence_; }
    // The next message carries the templates (a collector may have lost them).
    void resendTemplates() { templatesSent_ = false; }

private:
    bool templatesDue(std::uint32_t nowSeconds) const;

    std::uint32_t observationDomainId_;
    TemplateRefresh refresh_;
    std::size_t maxMessageBytes_;
    std::uint32_t sequence_ = 0;
    bool templatesSent_ = false;
    std::uint32_t templatesSentAt_ = 0;
    std::uint32_t messagesSinceTemplates_ = 0;
};

} // namespace svr::ipfix

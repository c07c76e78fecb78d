#include "ipfix/encoder.hpp"

#include <algorithm>
#include <stdexcept>

namespace svr::ipfix {
namespace {

constexpr std::uint16_t kVersion = 10;
constexpr std::uint16_t kTemplateSetId = 2;
constexpr std::size_t kSetHeaderBytes = 4;
// Names longer than this are cut: a record must fit a message (tenant names are at most 127
// characters and service names 63 in the schema, so only a bug gets here).
constexpr std::size_t kMaxNameBytes = 255;

constexpr FieldSpecifier svrField(std::uint16_t id)
{
    return FieldSpecifier{id, kVariableLength, kSvrEnterpriseNumber};
}

// Template layouts, by the family before and after NAT. The order is the record order of
// encodeDataRecord.
constexpr std::array<FieldSpecifier, 22> fieldsOf(bool ipv6, bool postNatIpv6)
{
    const std::uint16_t length = ipv6 ? 16 : 4;
    const std::uint16_t postNatLength = postNatIpv6 ? 16 : 4;
    return {{
        {ie::flowId, 8, 0},
        {ipv6 ? ie::sourceIPv6Address : ie::sourceIPv4Address, length, 0},
        {ipv6 ? ie::destinationIPv6Address : ie::destinationIPv4Address, length, 0},
        {ie::sourceTransportPort, 2, 0},
        {ie::destinationTransportPort, 2, 0},
        {ie::protocolIdentifier, 1, 0},
        {postNatIpv6 ? ie::postNATSourceIPv6Address : ie::postNATSourceIPv4Address,
         postNatLength, 0},
        {postNatIpv6 ? ie::postNATDestinationIPv6Address : ie::postNATDestinationIPv4Address,
         postNatLength, 0},
        {ie::postNAPTSourceTransportPort, 2, 0},
        {ie::postNAPTDestinationTransportPort, 2, 0},
        {ie::ingressInterface, 4, 0},
        {ie::egressInterface, 4, 0},
        {ie::biflowDirection, 1, 0},
        {ie::packetDeltaCount, 8, 0},
        {ie::octetDeltaCount, 8, 0},
        {ie::packetTotalCount, 8, 0},
        {ie::octetTotalCount, 8, 0},
        {ie::flowStartMilliseconds, 8, 0},
        {ie::flowEndMilliseconds, 8, 0},
        {ie::flowEndReason, 1, 0},
        svrField(svr_ie::tenantName),
        svrField(svr_ie::serviceName),
    }};
}

struct Template {
    std::uint16_t id;
    std::array<FieldSpecifier, 22> fields;
};

// In template id order, which is also the order of the data sets in a message.
constexpr std::array<Template, 4> kTemplates = {{
    {kTemplateIdIpv4, fieldsOf(false, false)},
    {kTemplateIdIpv6, fieldsOf(true, true)},
    {kTemplateIdIpv4ToIpv6, fieldsOf(false, true)},
    {kTemplateIdIpv6ToIpv4, fieldsOf(true, false)},
}};

class Writer {
public:
    explicit Writer(std::vector<std::uint8_t>& out) : out_(out) {}
    void u8(std::uint8_t value) { out_.push_back(value); }
    void u16(std::uint16_t value)
    {
        u8(static_cast<std::uint8_t>(value >> 8));
        u8(static_cast<std::uint8_t>(value));
    }
    void u32(std::uint32_t value)
    {
        u16(static_cast<std::uint16_t>(value >> 16));
        u16(static_cast<std::uint16_t>(value));
    }
    void u64(std::uint64_t value)
    {
        u32(static_cast<std::uint32_t>(value >> 32));
        u32(static_cast<std::uint32_t>(value));
    }
    void bytes(const std::uint8_t* data, std::size_t size)
    {
        out_.insert(out_.end(), data, data + size);
    }
    // RFC 7011 7: one length byte below 255, else 255 and a two-byte length.
    void variable(const std::string& text)
    {
        const std::size_t size = std::min(text.size(), kMaxNameBytes);
        if (size < 255) {
            u8(static_cast<std::uint8_t>(size));
        } else {
            u8(255);
            u16(static_cast<std::uint16_t>(size));
        }
        bytes(reinterpret_cast<const std::uint8_t*>(text.data()), size);
    }

private:
    std::vector<std::uint8_t>& out_;
};

void putU16At(std::vector<std::uint8_t>& out, std::size_t offset, std::size_t value)
{
    out[offset] = static_cast<std::uint8_t>(value >> 8);
    out[offset + 1] = static_cast<std::uint8_t>(value);
}

void appendTemplate(Writer& writer, std::uint16_t templateId,
                    std::span<const FieldSpecifier> fields)
{
    writer.u16(templateId);
    writer.u16(static_cast<std::uint16_t>(fields.size()));
    for (const FieldSpecifier& field : fields) {
        if (field.enterprise != 0) {
            writer.u16(static_cast<std::uint16_t>(field.id | 0x8000)); // enterprise bit
            writer.u16(field.length);
            writer.u32(field.enterprise);
        } else {
            writer.u16(field.id);
            writer.u16(field.length);
        }
    }
}

} // namespace

std::uint16_t templateIdOf(bool ipv6, bool translated)
{
    if (translated) {
        return ipv6 ? kTemplateIdIpv6ToIpv4 : kTemplateIdIpv4ToIpv6;
    }
    return ipv6 ? kTemplateIdIpv6 : kTemplateIdIpv4;
}

std::span<const FieldSpecifier> templateFields(bool ipv6, bool translated)
{
    const std::uint16_t id = templateIdOf(ipv6, translated);
    for (const Template& t : kTemplates) {
        if (t.id == id) {
            return t.fields;
        }
    }
    throw std::logic_error("no IPFIX template " + std::to_string(id));
}

std::vector<std::uint8_t> encodeTemplateSet()
{
    std::vector<std::uint8_t> out;
    Writer writer(out);
    writer.u16(kTemplateSetId);
    writer.u16(0); // length, below
    for (const Template& t : kTemplates) {
        appendTemplate(writer, t.id, t.fields);
    }
    putU16At(out, 2, out.size());
    return out;
}

std::vector<std::uint8_t> encodeDataRecord(const FlowRecord& record)
{
    const std::size_t addressBytes = record.ipv6 ? 16 : 4;
    const std::size_t postNatAddressBytes = (record.ipv6 != record.translated) ? 16 : 4;
    std::vector<std::uint8_t> out;
    out.reserve(160);
    Writer writer(out);
    writer.u64(record.flowId);
    writer.bytes(record.source.data(), addressBytes);
    writer.bytes(record.destination.data(), addressBytes);
    writer.u16(record.sourcePort);
    writer.u16(record.destinationPort);
    writer.u8(record.protocol);
    writer.bytes(record.postNatSource.data(), postNatAddressBytes);
    writer.bytes(record.postNatDestination.data(), postNatAddressBytes);
    writer.u16(record.postNaptSourcePort);
    writer.u16(record.postNaptDestinationPort);
    writer.u32(record.ingressInterface);
    writer.u32(record.egressInterface);
    writer.u8(static_cast<std::uint8_t>(record.direction));
    writer.u64(record.packetDelta);
    writer.u64(record.octetDelta);
    writer.u64(record.packetTotal);
    writer.u64(record.octetTotal);
    writer.u64(record.startMs);
    writer.u64(record.endMs);
    writer.u8(static_cast<std::uint8_t>(record.endReason));
    writer.variable(record.tenant);
    writer.variable(record.service);
    return out;
}

MessageEncoder::MessageEncoder(std::uint32_t observationDomainId, TemplateRefresh refresh,
                               std::size_t maxMessageBytes)
    : observationDomainId_(observationDomainId), refresh_(refresh),
      maxMessageBytes_(maxMessageBytes)
{
    // The templates (about 400 bytes) and the largest record (IPv6, two 255-byte names:
    // about 650) must fit one message after its 16-byte header.
    if (maxMessageBytes_ < 1024) {
        throw std::invalid_argument("IPFIX messages need at least 1024 bytes");
    }
}

bool MessageEncoder::templatesDue(std::uint32_t nowSeconds) const
{
    if (!templatesSent_) {
        return true;
    }
    if (refresh_.messages != 0 && messagesSinceTemplates_ >= refresh_.messages) {
        return true;
    }
    // Unsigned difference: a clock stepped backwards also triggers a refresh.
    return static_cast<std::uint32_t>(nowSeconds - templatesSentAt_) >=
           static_cast<std::uint64_t>(refresh_.interval.count());
}

std::vector<std::vector<std::uint8_t>>
MessageEncoder::encode(std::span<const FlowRecord> records, std::uint32_t exportTimeSeconds)
{
    std::vector<std::vector<std::uint8_t>> messages;
    if (records.empty() && !templatesDue(exportTimeSeconds)) {
        return messages;
    }
    // Grouped by template, in template id order: one data set per template and message.
    std::vector<const FlowRecord*> ordered;
    ordered.reserve(records.size());
    for (const Template& t : kTemplates) {
        for (const FlowRecord& record : records) {
            if (templateIdOf(record.ipv6, record.translated) == t.id) {
                ordered.push_back(&record);
            }
        }
    }

    std::vector<std::uint8_t> message;
    std::size_t setStart = 0;
    std::uint16_t setId = 0; // 0: no data set open
    std::uint32_t recordsInMessage = 0;

    const auto closeSet = [&] {
        if (setId != 0) {
            putU16At(message, setStart + 2, message.size() - setStart);
            setId = 0;
        }
    };
    const auto startMessage = [&] {
        message.clear();
        recordsInMessage = 0;
        Writer writer(message);
        writer.u16(kVersion);
        writer.u16(0); // length, at finish
        writer.u32(exportTimeSeconds);
        writer.u32(sequence_);
        writer.u32(observationDomainId_);
        if (templatesDue(exportTimeSeconds)) {
            const auto templates = encodeTemplateSet();
            message.insert(message.end(), templates.begin(), templates.end());
            templatesSent_ = true;
            templatesSentAt_ = exportTimeSeconds;
            messagesSinceTemplates_ = 0;
        }
    };
    const auto finishMessage = [&] {
        closeSet();
        putU16At(message, 2, message.size());
        sequence_ += recordsInMessage; // wraps modulo 2^32 as RFC 7011 wants
        ++messagesSinceTemplates_;
        messages.push_back(std::move(message));
        message = {};
    };

    startMessage();
    for (const FlowRecord* record : ordered) {
        const std::vector<std::uint8_t> bytes = encodeDataRecord(*record);
        const std::uint16_t templateId = templateIdOf(record->ipv6, record->translated);
        const std::size_t needed = bytes.size() + (setId == templateId ? 0 : kSetHeaderBytes);
        if (recordsInMessage > 0 && message.size() + needed > maxMessageBytes_) {
            finishMessage();
            startMessage();
        }
        if (setId != templateId) {
            closeSet();
            setStart = message.size();
            setId = templateId;
            Writer writer(message);
            writer.u16(templateId);
            writer.u16(0); // length, at closeSet
        }
        message.insert(message.end(), bytes.begin(), bytes.end());
        ++recordsInMessage;
    }
    finishMessage();
    return messages;
}

} // namespace svr::ipfix

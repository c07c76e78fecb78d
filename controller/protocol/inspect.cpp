#include "protocol/inspect.hpp"

#include <arpa/inet.h>

#include "protocol/errors.hpp"
#include "protocol/json.hpp"
#include "protocol/metadata.hpp"
#include "protocol/packet.hpp"
#include "protocol/pcap.hpp"

namespace svr::protocol {

Result<nlohmann::ordered_json> describeMetadata(std::span<const std::uint8_t> l4Payload, bool payloadEncrypted)
{
    auto decoded = decode(l4Payload, payloadEncrypted ? PayloadSection::Ciphertext : PayloadSection::Clear);
    if (!decoded && !payloadEncrypted && parseHeader(l4Payload)) {
        // Header is sound, so the payload section is probably encrypted: show it opaque.
        auto opaque = decode(l4Payload, PayloadSection::Ciphertext);
        if (opaque) {
            auto json = metadataToJson(opaque->metadata, l4Payload.subspan(opaque->length));
            json["payload_tlv_error"] = decoded.error().code.message();
            return json;
        }
    }
    if (!decoded) {
        return decoded.error();
    }
    return metadataToJson(decoded->metadata, l4Payload.subspan(decoded->length));
}

Result<nlohmann::ordered_json> describeCapture(std::span<const std::uint8_t> captureFile, bool payloadEncrypted)
{
    auto records = pcap::parse(captureFile);
    if (!records) {
        return records.error();
    }
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& record : *records) {
        if (!pcap::supportedLinkType(record.linkType)) {
            return protocolError(Errc::PcapUnsupportedLinkType);
        }
        const auto l3 = pcap::ipOffset(record.linkType, record.data);
        if (!l3) {
            continue;
        }
        auto layout = parsePacket(record.data, *l3);
        if (!layout) {
            continue; // not a whole UDP/TCP packet: nothing to decode
        }
        const auto payload = l4Payload(record.data, *layout);
        if (!startsWithCookie(payload)) {
            continue;
        }
        const std::uint8_t* ip = record.data.data() + layout->l3Offset;
        const std::uint8_t* l4 = record.data.data() + layout->l4Offset;
        char source[INET6_ADDRSTRLEN] = {};
        char destination[INET6_ADDRSTRLEN] = {};
        if (layout->ipVersion == 4) {
            inet_ntop(AF_INET, ip + 12, source, sizeof(source));
            inet_ntop(AF_INET, ip + 16, destination, sizeof(destination));
        } else {
            inet_ntop(AF_INET6, ip + 8, source, sizeof(source));
            inet_ntop(AF_INET6, ip + 24, destination, sizeof(destination));
        }
        nlohmann::ordered_json entry{{"frame", record.index},
                             {"source", source},
                             {"destination", destination},
                             {"protocol", layout->l4Protocol == kIpProtoTcp ? "tcp" : "udp"},
                             {"source_port", (l4[0] << 8) | l4[1]},
                             {"destination_port", (l4[2] << 8) | l4[3]}};
        auto metadata = describeMetadata(payload, payloadEncrypted);
        if (metadata) {
            entry["metadata"] = std::move(*metadata);
        } else {
            entry["error"] = metadata.error().code.message();
        }
        out.push_back(std::move(entry));
    }
    return out;
}

} // namespace svr::protocol

#include "protocol/packet.hpp"

#include "protocol/bytes.hpp"
#include "protocol/errors.hpp"
#include "protocol/metadata.hpp"

namespace svr::protocol {
namespace {

constexpr std::size_t kIpv4MinHeader = 20;
constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kUdpHeader = 8;
constexpr std::size_t kTcpMinHeader = 20;
constexpr std::size_t kMaxIpv6ExtensionHeaders = 8;
constexpr std::uint8_t kTcpSyn = 0x02;
constexpr std::uint8_t kTcpOptionEnd = 0, kTcpOptionNop = 1, kTcpOptionMss = 2;

Status parseL4(std::span<const std::uint8_t> buffer, PacketLayout& layout)
{
    const std::size_t segment = layout.end - layout.l4Offset;
    const std::uint8_t* l4 = buffer.data() + layout.l4Offset;
    if (layout.l4Protocol == kIpProtoUdp) {
        if (segment < kUdpHeader) {
            return protocolError(Errc::L4HeaderTruncated);
        }
        if (bytes::load16(l4 + 4) != segment) {
            return protocolError(Errc::UdpLengthMismatch);
        }
        layout.payloadOffset = layout.l4Offset + kUdpHeader;
        return {};
    }
    if (layout.l4Protocol == kIpProtoTcp) {
        if (segment < kTcpMinHeader) {
            return protocolError(Errc::L4HeaderTruncated);
        }
        const std::size_t dataOffset = static_cast<std::size_t>(l4[12] >> 4) * 4;
        if (dataOffset < kTcpMinHeader || dataOffset > segment) {
            return protocolError(Errc::BadTcpDataOffset);
        }
        layout.tcpSyn = (l4[13] & kTcpSyn) != 0;
        layout.payloadOffset = layout.l4Offset + dataOffset;
        return {};
    }
    return protocolError(Errc::UnsupportedL4Protocol);
}

void storeL4Length(std::span<std::uint8_t> buffer, const PacketLayout& layout)
{
    if (layout.l4Protocol == kIpProtoUdp) {
        bytes::store16(buffer.data() + layout.l4Offset + 4, static_cast<std::uint16_t>(layout.end - layout.l4Offset));
    }
}

void storeIpLength(std::span<std::uint8_t> buffer, const PacketLayout& layout)
{
    std::uint8_t* ip = buffer.data() + layout.l3Offset;
    if (layout.ipVersion == 4) {
        bytes::store16(ip + 2, static_cast<std::uint16_t>(layout.end - layout.l3Offset));
    } else {
        bytes::store16(ip + 4, static_cast<std::uint16_t>(layout.end - layout.l3Offset - kIpv6Header));
    }
}

// Lowers the MSS option of a SYN to at most maxMss; returns the new value if it changed.
std::optional<std::uint16_t> clampMss(std::span<std::uint8_t> buffer, const PacketLayout& layout, std::size_t maxMss)
{
    std::size_t at = layout.l4Offset + kTcpMinHeader;
    const std::size_t optionsEnd = layout.payloadOffset;
    while (at < optionsEnd) {
        const std::uint8_t kind = buffer[at];
        if (kind == kTcpOptionEnd) {
            break;
        }
        if (kind == kTcpOptionNop) {
            ++at;
            continue;
        }
        if (optionsEnd - at < 2 || buffer[at + 1] < 2 || buffer[at + 1] > optionsEnd - at) {
            break; // malformed options: leave them to the endpoints
        }
        if (kind == kTcpOptionMss && buffer[at + 1] == 4) {
            const std::uint16_t mss = bytes::load16(buffer.data() + at + 2);
            if (mss > maxMss) {
                const auto clamped = static_cast<std::uint16_t>(maxMss);
                bytes::store16(buffer.data() + at + 2, clamped);
                return clamped;
            }
            return std::nullopt;
        }
        at += buffer[at + 1];
    }
    return std::nullopt;
}

} // namespace

std::uint32_t onesComplementAdd(std::uint32_t sum, std::span<const std::uint8_t> data)
{
    std::uint64_t acc = sum;
    std::size_t i = 0;
    for (; i + 1 < data.size(); i += 2) {
        acc += static_cast<std::uint32_t>((data[i] << 8) | data[i + 1]);
    }
    if (i < data.size()) {
        acc += static_cast<std::uint32_t>(data[i] << 8);
    }
    while (acc >> 32) {
        acc = (acc & 0xffffffff) + (acc >> 32);
    }
    return static_cast<std::uint32_t>(acc);
}

std::uint16_t onesComplementFold(std::uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

Result<PacketLayout> parsePacket(std::span<const std::uint8_t> buffer, std::size_t l3Offset)
{
    if (buffer.size() <= l3Offset) {
        return protocolError(Errc::PacketTruncated);
    }
    PacketLayout layout;
    layout.l3Offset = l3Offset;
    const auto ip = buffer.subspan(l3Offset);
    layout.ipVersion = ip[0] >> 4;
    if (layout.ipVersion == 4) {
        if (ip.size() < kIpv4MinHeader) {
            return protocolError(Errc::PacketTruncated);
        }
        const std::size_t headerLength = static_cast<std::size_t>(ip[0] & 0x0f) * 4;
        if (headerLength < kIpv4MinHeader || headerLength > ip.size()) {
            return protocolError(Errc::BadIpHeaderLength);
        }
        const std::size_t totalLength = bytes::load16(ip.data() + 2);
        if (totalLength < headerLength || totalLength > ip.size()) {
            return protocolError(Errc::IpLengthMismatch);
        }
        if ((bytes::load16(ip.data() + 6) & 0x3fff) != 0) { // MF or a fragment offset
            return protocolError(Errc::IpFragment);
        }
        layout.l4Protocol = ip[9];
        layout.l4Offset = l3Offset + headerLength;
        layout.end = l3Offset + totalLength;
    } else if (layout.ipVersion == 6) {
        if (ip.size() < kIpv6Header) {
            return protocolError(Errc::PacketTruncated);
        }
        const std::size_t payloadLength = bytes::load16(ip.data() + 4);
        if (payloadLength == 0 || kIpv6Header + payloadLength > ip.size()) {
            return protocolError(Errc::IpLengthMismatch); // 0 would be a jumbogram
        }
        layout.end = l3Offset + kIpv6Header + payloadLength;
        std::uint8_t next = ip[6];
        std::size_t at = l3Offset + kIpv6Header;
        for (std::size_t count = 0;; ++count) {
            constexpr std::uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kDestination = 60;
            if (next == kFragment) {
                return protocolError(Errc::IpFragment);
            }
            if (next != kHopByHop && next != kRouting && next != kDestination) {
                break;
            }
            if (count == kMaxIpv6ExtensionHeaders) {
                return protocolError(Errc::Ipv6ExtensionChainTooLong);
            }
            if (layout.end - at < 8) {
                return protocolError(Errc::IpLengthMismatch);
            }
            const std::size_t length = (static_cast<std::size_t>(buffer[at + 1]) + 1) * 8;
            if (layout.end - at < length) {
                return protocolError(Errc::IpLengthMismatch);
            }
            next = buffer[at];
            at += length;
        }
        layout.l4Protocol = next;
        layout.l4Offset = at;
    } else {
        return protocolError(Errc::NotIpPacket);
    }
    if (auto st = parseL4(buffer, layout); !st) {
        return st.error();
    }
    return layout;
}

void recomputeChecksums(std::span<std::uint8_t> buffer, const PacketLayout& layout)
{
    std::uint8_t* ip = buffer.data() + layout.l3Offset;
    const std::size_t l4Length = layout.end - layout.l4Offset;
    std::uint32_t sum = 0;
    if (layout.ipVersion == 4) {
        const std::size_t headerLength = static_cast<std::size_t>(ip[0] & 0x0f) * 4;
        bytes::store16(ip + 10, 0);
        bytes::store16(ip + 10, onesComplementFold(onesComplementAdd(0, {ip, headerLength})));
        sum = onesComplementAdd(sum, {ip + 12, 8}); // source, destination
    } else {
        sum = onesComplementAdd(sum, {ip + 8, 32});
    }
    sum += layout.l4Protocol;
    sum += static_cast<std::uint32_t>(l4Length & 0xffff) + static_cast<std::uint32_t>(l4Length >> 16);
    std::uint8_t* l4 = buffer.data() + layout.l4Offset;
    const std::size_t checksumAt = layout.l4Protocol == kIpProtoUdp ? 6 : 16;
    bytes::store16(l4 + checksumAt, 0);
    std::uint16_t checksum = onesComplementFold(onesComplementAdd(sum, {l4, l4Length}));
    if (layout.l4Protocol == kIpProtoUdp && checksum == 0) {
        checksum = 0xffff; // 0 means "no checksum" in UDP
    }
    bytes::store16(l4 + checksumAt, checksum);
}

Result<InsertOutcome> insertMetadata(std::vector<std::uint8_t>& buffer, std::span<const std::uint8_t> prefix,
                                     std::span<const std::uint8_t> suffix, const InsertOptions& options)
{
    auto parsed = parsePacket(buffer, options.l3Offset);
    if (!parsed) {
        return parsed.error();
    }
    PacketLayout layout = *parsed;
    const std::size_t added = prefix.size() + suffix.size();
    const std::size_t ipLength = layout.end - layout.l3Offset;
    const std::size_t maxIpLength = layout.ipVersion == 4 ? 0xffff : 0xffff + kIpv6Header;
    if (ipLength + added > maxIpLength) {
        return protocolError(Errc::PacketTooLarge);
    }
    InsertOutcome outcome;
    if (ipLength + added > options.pathMtu) {
        outcome.kind = InsertOutcome::Kind::NeedsFragmentation;
        outcome.senderMtu = options.pathMtu > added ? options.pathMtu - added : 0;
        return outcome;
    }
    if (layout.l4Protocol == kIpProtoTcp && layout.tcpSyn) {
        // MSS counts payload only: path MTU minus the IP header (with extensions) and the
        // 20-byte base TCP header, minus what SVR adds to a segment.
        const std::size_t overhead = (layout.l4Offset - layout.l3Offset) + kTcpMinHeader + added + options.mssReserve;
        if (options.pathMtu > overhead) {
            outcome.clampedMss = clampMss(buffer, layout, options.pathMtu - overhead);
        }
    }
    buffer.resize(layout.end); // drop L2 padding: the IP length says where the packet ends
    buffer.insert(buffer.end(), suffix.begin(), suffix.end());
    buffer.insert(buffer.begin() + static_cast<std::ptrdiff_t>(layout.payloadOffset), prefix.begin(), prefix.end());
    layout.end += added;
    storeIpLength(buffer, layout);
    storeL4Length(buffer, layout);
    recomputeChecksums(buffer, layout);
    return outcome;
}

Status stripMetadata(std::vector<std::uint8_t>& buffer, std::size_t prefixLength, std::size_t suffixLength,
                     std::size_t l3Offset)
{
    auto parsed = parsePacket(buffer, l3Offset);
    if (!parsed) {
        return parsed.error();
    }
    PacketLayout layout = *parsed;
    const auto payload = l4Payload(buffer, layout);
    if (!startsWithCookie(payload)) {
        return protocolError(Errc::NoMetadataInPacket);
    }
    if (payload.size() < prefixLength || payload.size() - prefixLength < suffixLength) {
        return protocolError(Errc::MissingTag);
    }
    buffer.resize(layout.end - suffixLength);
    const auto from = buffer.begin() + static_cast<std::ptrdiff_t>(layout.payloadOffset);
    buffer.erase(from, from + static_cast<std::ptrdiff_t>(prefixLength));
    layout.end -= prefixLength + suffixLength;
    storeIpLength(buffer, layout);
    storeL4Length(buffer, layout);
    recomputeChecksums(buffer, layout);
    return {};
}

} // namespace svr::protocol

#include "svrd/packet.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "protocol/packet.hpp"

namespace svr::svrd {
namespace {

constexpr std::size_t kEthernetHeader = 14;
constexpr std::size_t kVlanTag = 4;
constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr std::uint16_t kEtherTypeVlan = 0x8100;
constexpr std::uint16_t kEtherTypeQinQ = 0x88a8;
constexpr std::size_t kIpv4MinHeader = 20;
constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kTcpMinHeader = 20;
constexpr std::size_t kUdpHeader = 8;
constexpr std::size_t kIcmpHeader = 8;
constexpr std::uint8_t kIcmpEchoReply = 0;
constexpr std::uint8_t kIcmpEchoRequest = 8;
constexpr std::uint8_t kIcmpv6EchoRequest = 128;
constexpr std::uint8_t kIcmpv6EchoReply = 129;
constexpr std::uint8_t kTcpSyn = 0x02;
constexpr std::uint8_t kTcpAck = 0x10;
constexpr std::uint16_t kIpv4FragmentBits = 0x3fff; // MF and the offset

std::uint16_t load16(const std::uint8_t* at)
{
    return static_cast<std::uint16_t>(at[0] << 8 | at[1]);
}

void store16(std::uint8_t* at, std::uint16_t value)
{
    at[0] = static_cast<std::uint8_t>(value >> 8);
    at[1] = static_cast<std::uint8_t>(value);
}

ParseOutcome failed(ParseFailure failure)
{
    return ParseOutcome{std::nullopt, failure};
}

std::uint32_t sumBytes(std::span<const std::uint8_t> bytes, std::uint32_t sum)
{
    std::size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) {
        sum += load16(&bytes[i]);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if (i < bytes.size()) {
        sum += static_cast<std::uint32_t>(bytes[i]) << 8;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

std::uint32_t pseudoHeaderSum(std::uint8_t family, const std::uint8_t* ipHeader,
                              std::uint8_t proto, std::size_t l4Length)
{
    std::uint32_t sum = 0;
    if (family == SVR_FAMILY_IPV4) {
        sum = sumBytes({ipHeader + 12, 8}, 0); // source and destination
    } else {
        sum = sumBytes({ipHeader + 8, 32}, 0);
    }
    sum += proto;
    sum += static_cast<std::uint32_t>(l4Length & 0xffff);
    sum += static_cast<std::uint32_t>(l4Length >> 16);
    return sum;
}

} // namespace

std::string_view parseFailureName(ParseFailure failure)
{
    switch (failure) {
    case ParseFailure::truncated: return "truncated";
    case ParseFailure::notIp: return "not-ip";
    case ParseFailure::badIpHeader: return "bad-ip-header";
    case ParseFailure::fragment: return "fragment";
    case ParseFailure::unsupportedProtocol: return "unsupported-protocol";
    case ParseFailure::kCount: break;
    }
    return "unknown";
}

bool ParsedPacket::isIcmp() const
{
    return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

bool ParsedPacket::isEchoRequest() const
{
    return (proto == IPPROTO_ICMP && icmpType == kIcmpEchoRequest) ||
           (proto == IPPROTO_ICMPV6 && icmpType == kIcmpv6EchoRequest);
}

bool ParsedPacket::isEchoReply() const
{
    return (proto == IPPROTO_ICMP && icmpType == kIcmpEchoReply) ||
           (proto == IPPROTO_ICMPV6 && icmpType == kIcmpv6EchoReply);
}

bool ParsedPacket::isTcpSyn() const
{
    return proto == IPPROTO_TCP && (tcpFlags & kTcpSyn) && !(tcpFlags & kTcpAck);
}

ParseOutcome parseFrame(std::span<const std::uint8_t> frame)
{
    ParsedPacket packet;
    if (frame.size() < kEthernetHeader) {
        return failed(ParseFailure::truncated);
    }
    std::memcpy(packet.dstMac.data(), &frame[0], 6);
    std::memcpy(packet.srcMac.data(), &frame[6], 6);
    std::uint16_t etherType = load16(&frame[12]);
    std::size_t offset = kEthernetHeader;
    if (etherType == kEtherTypeVlan || etherType == kEtherTypeQinQ) {
        if (frame.size() < offset + kVlanTag) {
            return failed(ParseFailure::truncated);
        }
        packet.vlanTagged = true;
        packet.vlanId = load16(&frame[offset]) & 0x0fff;
        etherType = load16(&frame[offset + 2]);
        offset += kVlanTag;
        if (etherType == kEtherTypeVlan || etherType == kEtherTypeQinQ) {
            return failed(ParseFailure::unsupportedProtocol); // stacked tags: not ours
        }
    }
    packet.l3Offset = offset;
    const std::uint8_t* ip = frame.data() + offset;
    const std::size_t available = frame.size() - offset;

    if (etherType == kEtherTypeIpv4) {
        if (available < kIpv4MinHeader) {
            return failed(ParseFailure::truncated);
        }
        const std::size_t headerLength = static_cast<std::size_t>(ip[0] & 0x0f) * 4;
        const std::size_t totalLength = load16(ip + 2);
        if ((ip[0] >> 4) != 4 || headerLength < kIpv4MinHeader || totalLength < headerLength) {
            return failed(ParseFailure::badIpHeader);
        }
        if (totalLength > available) {
            return failed(ParseFailure::truncated);
        }
        if (load16(ip + 6) & kIpv4FragmentBits) {
            return failed(ParseFailure::fragment);
        }
        packet.family = SVR_FAMILY_IPV4;
        packet.proto = ip[9];
        packet.ttl = ip[8];
        packet.ipLength = totalLength;
        packet.l4Offset = offset + headerLength;
        packet.source.family = packet.destination.family = SVR_FAMILY_IPV4;
        std::memcpy(packet.source.bytes.data(), ip + 12, 4);
        std::memcpy(packet.destination.bytes.data(), ip + 16, 4);
    } else if (etherType == kEtherTypeIpv6) {
        if (available < kIpv6Header) {
            return failed(ParseFailure::truncated);
        }
        if ((ip[0] >> 4) != 6) {
            return failed(ParseFailure::badIpHeader);
        }
        const std::size_t payloadLength = load16(ip + 4);
        if (kIpv6Header + payloadLength > available) {
            return failed(ParseFailure::truncated);
        }
        packet.family = SVR_FAMILY_IPV6;
        packet.proto = ip[6];
        packet.ttl = ip[7];
        packet.ipLength = kIpv6Header + payloadLength;
        packet.l4Offset = offset + kIpv6Header;
        packet.source.family = packet.destination.family = SVR_FAMILY_IPV6;
        std::memcpy(packet.source.bytes.data(), ip + 8, 16);
        std::memcpy(packet.destination.bytes.data(), ip + 24, 16);
        if (packet.proto == 44) {
            return failed(ParseFailure::fragment);
        }
    } else {
        return failed(ParseFailure::notIp);
    }

    const std::uint8_t* l4 = frame.data() + packet.l4Offset;
    const std::size_t l4Length = packet.l3Offset + packet.ipLength - packet.l4Offset;
    const bool icmpOfFamily = (packet.family == SVR_FAMILY_IPV4 && packet.proto == IPPROTO_ICMP) ||
                              (packet.family == SVR_FAMILY_IPV6 && packet.proto == IPPROTO_ICMPV6);
    if (packet.proto == IPPROTO_TCP) {
        if (l4Length < kTcpMinHeader) {
            return failed(ParseFailure::truncated);
        }
        const std::size_t dataOffset = static_cast<std::size_t>(l4[12] >> 4) * 4;
        if (dataOffset < kTcpMinHeader || dataOffset > l4Length) {
            return failed(ParseFailure::truncated);
        }
        packet.sourcePort = load16(l4);
        packet.destinationPort = load16(l4 + 2);
        packet.tcpFlags = l4[13];
    } else if (packet.proto == IPPROTO_UDP) {
        if (l4Length < kUdpHeader) {
            return failed(ParseFailure::truncated);
        }
        const std::size_t udpLength = load16(l4 + 4);
        if (udpLength < kUdpHeader || udpLength > l4Length) {
            return failed(ParseFailure::truncated);
        }
        packet.sourcePort = load16(l4);
        packet.destinationPort = load16(l4 + 2);
    } else if (icmpOfFamily) {
        if (l4Length < kIcmpHeader) {
            return failed(ParseFailure::truncated);
        }
        packet.icmpType = l4[0];
        if (packet.isEchoRequest() || packet.isEchoReply()) {
            packet.sourcePort = load16(l4 + 4); // the identifier, as the fast path keys it
        }
    } else {
        return failed(ParseFailure::unsupportedProtocol);
    }
    return ParseOutcome{packet, ParseFailure::truncated};
}

svr_session_key sessionKey(const ParsedPacket& packet, std::uint32_t ingressIfindex)
{
    svr_session_key key{};
    key.ingress_ifindex = ingressIfindex;
    key.vlan_id = packet.vlanId;
    key.family = packet.family;
    key.proto = packet.proto;
    std::memcpy(key.src_addr, packet.source.bytes.data(), SVR_ADDR_LEN);
    std::memcpy(key.dst_addr, packet.destination.bytes.data(), SVR_ADDR_LEN);
    key.src_port = htons(packet.sourcePort);
    key.dst_port = htons(packet.isIcmp() ? 0 : packet.destinationPort);
    return key;
}

std::uint16_t internetChecksum(std::span<const std::uint8_t> bytes, std::uint32_t initial)
{
    std::uint32_t sum = initial;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = sumBytes(bytes, sum);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

std::vector<std::uint8_t> rewriteFrame(std::span<const std::uint8_t> frame,
                                       const ParsedPacket& packet,
                                       const svr_session_value& value)
{
    // Output: Ethernet (+ tag when the value asks for one), then the IP packet without any
    // Ethernet padding the input carried; a translating value gives it a new IP header of
    // the other family (IPv4 options are dropped, as RFC 7915 allows).
    const std::uint8_t family = value.new_family != 0 ? value.new_family : packet.family;
    const bool translate = family != packet.family;
    const bool tagged = value.egress_vlan != 0;
    const std::size_t l2Length = kEthernetHeader + (tagged ? kVlanTag : 0);
    const std::size_t inHeaderLength = packet.l4Offset - packet.l3Offset;
    const std::size_t l4Length = packet.ipLength - inHeaderLength;
    const std::size_t headerLength =
        !translate ? inHeaderLength : (family == SVR_FAMILY_IPV4 ? kIpv4MinHeader : kIpv6Header);
    std::vector<std::uint8_t> out(l2Length + headerLength + l4Length);
    std::memcpy(&out[0], value.dst_mac, 6);
    std::memcpy(&out[6], value.src_mac, 6);
    const std::uint16_t etherType = family == SVR_FAMILY_IPV4 ? kEtherTypeIpv4 : kEtherTypeIpv6;
    if (tagged) {
        store16(&out[12], kEtherTypeVlan);
        store16(&out[14], value.egress_vlan & 0x0fff);
        store16(&out[16], etherType);
    } else {
        store16(&out[12], etherType);
    }
    std::uint8_t* ip = &out[l2Length];
    std::uint8_t* l4 = ip + headerLength;
    std::memcpy(l4, frame.data() + packet.l4Offset, l4Length);
    if (!translate) {
        std::memcpy(ip, frame.data() + packet.l3Offset, headerLength);
    } else {
        const std::uint8_t* in = frame.data() + packet.l3Offset;
        if (family == SVR_FAMILY_IPV6) {
            const std::uint8_t trafficClass = in[1]; // the IPv4 TOS
            ip[0] = static_cast<std::uint8_t>(0x60 | trafficClass >> 4);
            ip[1] = static_cast<std::uint8_t>(trafficClass << 4); // flow label 0
            store16(ip + 4, static_cast<std::uint16_t>(l4Length));
            ip[6] = packet.proto;
        } else {
            const auto trafficClass =
                static_cast<std::uint8_t>((in[0] & 0x0f) << 4 | in[1] >> 4);
            ip[0] = 0x45;
            ip[1] = trafficClass;
            store16(ip + 2, static_cast<std::uint16_t>(kIpv4MinHeader + l4Length));
            store16(ip + 6, 0x4000); // DF, identification 0: IPv6 routers never fragment
            ip[9] = packet.proto;
        }
    }
    if (family == SVR_FAMILY_IPV4) {
        std::memcpy(ip + 12, value.new_src_addr, 4);
        std::memcpy(ip + 16, value.new_dst_addr, 4);
        ip[8] = static_cast<std::uint8_t>(packet.ttl - 1);
        store16(ip + 10, 0);
        store16(ip + 10, internetChecksum({ip, headerLength}));
    } else {
        std::memcpy(ip + 8, value.new_src_addr, 16);
        std::memcpy(ip + 24, value.new_dst_addr, 16);
        ip[7] = static_cast<std::uint8_t>(packet.ttl - 1);
    }

    std::size_t checksumOffset = 0;
    bool pseudoHeader = true;
    if (packet.proto == IPPROTO_TCP || packet.proto == IPPROTO_UDP) {
        std::memcpy(l4, &value.new_src_port, 2);
        std::memcpy(l4 + 2, &value.new_dst_port, 2);
        checksumOffset = packet.proto == IPPROTO_TCP ? 16 : 6;
        if (packet.proto == IPPROTO_UDP && family == SVR_FAMILY_IPV4 &&
            packet.family == SVR_FAMILY_IPV4 && load16(l4 + 6) == 0) {
            return out; // IPv4 UDP without checksum stays without one (IPv6 requires one)
        }
    } else {
        if (packet.isEchoRequest() || packet.isEchoReply()) {
            std::memcpy(l4 + 4, &value.new_src_port, 2); // the identifier
        }
        checksumOffset = 2;
        pseudoHeader = packet.proto == IPPROTO_ICMPV6;
    }
    store16(l4 + checksumOffset, 0);
    const std::uint32_t initial =
        pseudoHeader ? pseudoHeaderSum(family, ip, packet.proto, l4Length) : 0;
    std::uint16_t checksum = internetChecksum({l4, l4Length}, initial);
    if (checksum == 0 && packet.proto == IPPROTO_UDP) {
        checksum = 0xffff; // 0 would mean "no checksum"
    }
    store16(l4 + checksumOffset, checksum);
    return out;
}

std::vector<std::uint8_t> fragmentationNeeded(std::span<const std::uint8_t> frame,
                                              const ParsedPacket& packet,
                                              const svr_session_value& back,
                                              const fastpath::IpAddress& routerAddress,
                                              std::uint16_t nextHopMtu)
{
    constexpr std::size_t kMaxIcmpError = 576; // RFC 1812 4.3.2.3
    constexpr std::uint8_t kIcmpDestUnreachable = 3, kFragmentationNeeded = 4;
    constexpr std::uint8_t kInternetControl = 0xc0; // precedence of ICMP errors, as Linux
    const bool tagged = back.egress_vlan != 0;
    const std::size_t l2Length = kEthernetHeader + (tagged ? kVlanTag : 0);
    const std::size_t quotedLength =
        std::min(packet.ipLength, kMaxIcmpError - kIpv4MinHeader - kIcmpHeader);
    std::vector<std::uint8_t> out(l2Length + kIpv4MinHeader + kIcmpHeader + quotedLength);
    std::memcpy(&out[0], back.dst_mac, 6);
    std::memcpy(&out[6], back.src_mac, 6);
    if (tagged) {
        store16(&out[12], kEtherTypeVlan);
        store16(&out[14], back.egress_vlan & 0x0fff);
    }
    store16(&out[l2Length - 2], kEtherTypeIpv4);
    std::uint8_t* ip = &out[l2Length];
    ip[0] = 0x45;
    ip[1] = kInternetControl;
    store16(ip + 2, static_cast<std::uint16_t>(out.size() - l2Length));
    ip[8] = 64;
    ip[9] = IPPROTO_ICMP;
    std::memcpy(ip + 12, routerAddress.bytes.data(), 4);
    std::memcpy(ip + 16, packet.source.bytes.data(), 4);
    store16(ip + 10, internetChecksum({ip, kIpv4MinHeader}));
    std::uint8_t* icmp = ip + kIpv4MinHeader;
    icmp[0] = kIcmpDestUnreachable;
    icmp[1] = kFragmentationNeeded;
    store16(icmp + 6, nextHopMtu);
    std::memcpy(icmp + kIcmpHeader, frame.data() + packet.l3Offset, quotedLength);
    store16(icmp + 2, internetChecksum({icmp, kIcmpHeader + quotedLength}));
    return out;
}

Status transformL4Payload(std::vector<std::uint8_t>& frame, std::size_t l3Offset,
                          const PayloadTransform& transform)
{
    auto layout = protocol::parsePacket(frame, l3Offset);
    if (!layout) {
        return layout.error();
    }
    frame.resize(layout->end);
    if (layout->payloadSize() == 0) {
        return {};
    }
    std::vector<std::uint8_t> replaced;
    if (Status done = transform(protocol::l4Payload(frame, *layout), replaced); !done) {
        return done;
    }
    frame.resize(layout->payloadOffset);
    frame.insert(frame.end(), replaced.begin(), replaced.end());
    const std::size_t ipLength = frame.size() - l3Offset;
    if (ipLength > 0xffff) {
        return Error::invalid("payload grew past the largest IP packet");
    }
    if (layout->ipVersion == 4) {
        store16(&frame[l3Offset + 2], static_cast<std::uint16_t>(ipLength));
    } else {
        store16(&frame[l3Offset + 4], static_cast<std::uint16_t>(ipLength - 40));
    }
    if (layout->l4Protocol == IPPROTO_UDP) {
        store16(&frame[layout->l4Offset + 4],
                static_cast<std::uint16_t>(frame.size() - layout->l4Offset));
    }
    auto updated = protocol::parsePacket(frame, l3Offset);
    if (!updated) {
        return updated.error();
    }
    protocol::recomputeChecksums(frame, *updated);
    return {};
}

} // namespace svr::svrd

// Test-side helpers for the protocol tests: hex, the §8 vectors, packet builders and an
// independent checksum implementation (deliberately not the library's).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/errors.hpp"
#include "protocol/metadata.hpp"

namespace svr::protocol::test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes hex(const std::string& text)
{
    auto out = bytes::fromHex(text);
    if (!out) {
        throw std::invalid_argument("bad hex in test: " + text);
    }
    return *out;
}

inline Bytes concat(std::initializer_list<Bytes> parts)
{
    Bytes out;
    for (const auto& part : parts) {
        out.insert(out.end(), part.begin(), part.end());
    }
    return out;
}

// Digest §8.1: forward first packet, IPv4 context, clear payload TLVs.
inline const Bytes kVector81 = hex("4c48dbc6ddf6670c1014003800100004000000010002000dc0a8010a080808089c40003511"
                                   "00070004626c7565000a0007646e732d737663000600100f1e2d3c4b5a69788796a5b4c3d2e1f0");
// Digest §8.4: false-positive marker.
inline const Bytes kVector84 = hex("4c48dbc6ddf6670c100c0000");

inline Metadata vector81Metadata()
{
    Metadata m;
    m.headerTlvs.push_back(SecurityId{1});
    m.payloadTlvs.push_back(ForwardContextV4{{192, 168, 1, 10}, {8, 8, 8, 8}, 40000, 53, 17});
    m.payloadTlvs.push_back(TenantName{"blue"});
    m.payloadTlvs.push_back(ServiceName{"dns-svc"});
    m.payloadTlvs.push_back(SessionUuid{{0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3,
                                         0xd2, 0xe1, 0xf0}});
    return m;
}

// One of every TLV alternative, with values that exercise every bit field.
inline Metadata everyTlv()
{
    Metadata m;
    m.headerTlvs = {
        SecurityId{7},
        FragmentTlv{0xdeadbeef, 0x1234, 0x5, 0x1abc, 1400},
        ControlMessage{control_reason::KeepAlive},
        PathMetrics{0xa, 0x0abcdef, 0x5, 0x0123456, true, 0x7fff},
        SessionHealthCheck{1},
        IcmpErrorLocationV4{{10, 0, 0, 1}},
    };
    m.payloadTlvs = {
        ForwardContextV4{{192, 168, 1, 10}, {8, 8, 8, 8}, 40000, 53, 17},
        ForwardContextV6{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                         {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}, 1, 2, 6},
        ReverseContextV4{{8, 8, 8, 8}, {192, 168, 1, 10}, 53, 40000, 17},
        ReverseContextV6{{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, {}, 58, 0, 58},
        SessionUuid{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
        TenantName{"red.engineering"},
        GlobalInterfaceId{0x01020304},
        ServiceName{"web-\xc3\xa9t\xc3\xa9"}, // UTF-8
        SessionEncrypted{},
        TcpSynPacket{},
        SessionCount{0x0102030405060708ULL},
        SourceRouterName{"edge-a"},
        SecurityPolicyName{"aes256"},
        DestinationRouterName{"edge-b"},
        DisableForwardMetadata{},
        PeerPathwayId{"wan0-to-wan1"},
        IcmpErrorLocationV6{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}},
        SourceNatV4{{203, 0, 113, 5}},
        ModifyRequest{0xc123, {0xaa, 0xbb}},
        ApplicationName{"office365"},
        RemainingSessionTime{3600},
        SecurityEncryptionKey{Bytes(48, 0x5a)},
        MulticastGroupContext{4, 0x80, {0, 0, 0, 0}, {239, 1, 2, 3}, 17},
        MulticastEgressList{{"edge-b", "edge-c"}},
        UnknownTlv{9, {1, 2, 3}},
        UnknownTlv{0xfffe, {}},
    };
    return m;
}

// A metadata block with hand-written sections: cookie, version 1, both lengths computed.
inline Bytes rawMetadata(const Bytes& headerTlvs, const Bytes& payloadTlvs, std::uint8_t version = 1)
{
    Bytes out(kCookie.begin(), kCookie.end());
    const std::size_t headerLength = 12 + headerTlvs.size();
    out.push_back(static_cast<std::uint8_t>((version << 4) | (headerLength >> 8)));
    out.push_back(static_cast<std::uint8_t>(headerLength));
    out.push_back(static_cast<std::uint8_t>(payloadTlvs.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(payloadTlvs.size()));
    out.insert(out.end(), headerTlvs.begin(), headerTlvs.end());
    out.insert(out.end(), payloadTlvs.begin(), payloadTlvs.end());
    return out;
}

inline Bytes rawTlv(std::uint16_t type, const Bytes& value)
{
    Bytes out{static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type),
              static_cast<std::uint8_t>(value.size() >> 8), static_cast<std::uint8_t>(value.size())};
    out.insert(out.end(), value.begin(), value.end());
    return out;
}

// ---- independent RFC 1071 checksum ----

inline std::uint16_t referenceChecksum(const Bytes& data)
{
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < data.size(); i += 2) {
        std::uint16_t word = static_cast<std::uint16_t>(data[i] << 8);
        if (i + 1 < data.size()) {
            word |= data[i + 1];
        }
        sum += word;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum);
}

// Verifies IPv4 header and UDP/TCP checksums of a packet starting at l3 from scratch:
// a correct packet sums to 0 (0xffff before complement).
inline bool checksumsValid(const Bytes& frame, std::size_t l3 = 0)
{
    const std::uint8_t version = frame.at(l3) >> 4;
    std::size_t l4 = 0;
    std::size_t end = 0;
    Bytes pseudo;
    std::uint8_t protocol = 0;
    if (version == 4) {
        const std::size_t ihl = (frame.at(l3) & 0xf) * 4u;
        Bytes header(frame.begin() + l3, frame.begin() + l3 + ihl);
        if (referenceChecksum(header) != 0) {
            return false;
        }
        end = l3 + ((frame.at(l3 + 2) << 8) | frame.at(l3 + 3));
        l4 = l3 + ihl;
        protocol = frame.at(l3 + 9);
        pseudo.assign(frame.begin() + l3 + 12, frame.begin() + l3 + 20);
        const std::size_t length = end - l4;
        pseudo.insert(pseudo.end(), {0, protocol, static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)});
    } else {
        end = l3 + 40 + ((frame.at(l3 + 4) << 8) | frame.at(l3 + 5));
        l4 = l3 + 40; // tests build IPv6 packets without extension headers
        protocol = frame.at(l3 + 6);
        pseudo.assign(frame.begin() + l3 + 8, frame.begin() + l3 + 40);
        const std::size_t length = end - l4;
        pseudo.insert(pseudo.end(), {0, 0, static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length), 0, 0,
                                     0, protocol});
    }
    Bytes all = pseudo;
    all.insert(all.end(), frame.begin() + l4, frame.begin() + end);
    return referenceChecksum(all) == 0;
}

struct PacketSpec {
    int ipVersion = 4;
    std::uint8_t protocol = 17; // 17 UDP, 6 TCP
    Bytes payload;
    std::uint8_t tcpFlags = 0x18; // PSH|ACK
    std::uint16_t mss = 0;        // 0: no MSS option
};

// Builds a raw IP packet with correct checksums computed by referenceChecksum.
inline Bytes buildPacket(const PacketSpec& spec)
{
    Bytes l4;
    if (spec.protocol == 17) {
        l4 = {0x9c, 0x40, 0x00, 0x35, 0, 0, 0, 0};
    } else {
        const bool withMss = spec.mss != 0;
        l4 = {0x9c, 0x40, 0x01, 0xbb, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0,
              static_cast<std::uint8_t>((withMss ? 6 : 5) << 4), spec.tcpFlags, 0xfa, 0xf0, 0, 0, 0, 0};
        if (withMss) {
            l4.insert(l4.end(), {2, 4, static_cast<std::uint8_t>(spec.mss >> 8), static_cast<std::uint8_t>(spec.mss)});
        }
    }
    l4.insert(l4.end(), spec.payload.begin(), spec.payload.end());
    if (spec.protocol == 17) {
        l4[4] = static_cast<std::uint8_t>(l4.size() >> 8);
        l4[5] = static_cast<std::uint8_t>(l4.size());
    }
    Bytes ip;
    Bytes pseudo;
    if (spec.ipVersion == 4) {
        const std::size_t total = 20 + l4.size();
        ip = {0x45, 0, static_cast<std::uint8_t>(total >> 8), static_cast<std::uint8_t>(total), 0x12, 0x34, 0x40, 0,
              64, spec.protocol, 0, 0, 192, 168, 1, 10, 10, 0, 0, 2};
        const std::uint16_t c = referenceChecksum(ip);
        ip[10] = static_cast<std::uint8_t>(c >> 8);
        ip[11] = static_cast<std::uint8_t>(c);
        pseudo = {192, 168, 1, 10, 10, 0, 0, 2, 0, spec.protocol, static_cast<std::uint8_t>(l4.size() >> 8),
                  static_cast<std::uint8_t>(l4.size())};
    } else {
        ip = {0x60, 0, 0, 0, static_cast<std::uint8_t>(l4.size() >> 8), static_cast<std::uint8_t>(l4.size()), spec.protocol, 64};
        const Bytes source = hex("20010db8000000000000000000000001");
        const Bytes destination = hex("20010db8000000000000000000000002");
        ip.insert(ip.end(), source.begin(), source.end());
        ip.insert(ip.end(), destination.begin(), destination.end());
        pseudo = concat({source, destination});
        pseudo.insert(pseudo.end(), {0, 0, static_cast<std::uint8_t>(l4.size() >> 8), static_cast<std::uint8_t>(l4.size()), 0,
                                     0, 0, spec.protocol});
    }
    const std::size_t at = spec.protocol == 17 ? 6 : 16;
    const std::uint16_t c = referenceChecksum(concat({pseudo, l4}));
    l4[at] = static_cast<std::uint8_t>(c >> 8);
    l4[at + 1] = static_cast<std::uint8_t>(c);
    return concat({ip, l4});
}

} // namespace svr::protocol::test

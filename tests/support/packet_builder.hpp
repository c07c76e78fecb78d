// Test packet builder shared by the BPF fixture tests (XDP and TC) and the netns tests.
//
// Frames are described as a stack of layers (Ethernet, 802.1Q tags, IPv4/IPv6, IPv6
// extension headers, TCP/UDP/ICMP, payload). build() serialises them and fills every length
// and checksum FROM SCRATCH (a full one's-complement sum, never an incremental update), so an
// expected frame is independent of the code under test. Every computed field can be
// overridden to build malformed packets, and truncated() cuts a frame at any byte.
//
//   auto frame = PacketBuilder()
//                    .eth(mac("02:00:00:00:00:02"), mac("02:00:00:00:00:01"))
//                    .vlan(100)
//                    .ipv4({.src = ipv4("10.0.0.1"), .dst = ipv4("10.0.1.1")})
//                    .udp({.src_port = 1000, .dst_port = 53})
//                    .payload(Bytes(16, 0xab))
//                    .build();
//
// Ports, identifiers and other integers are given in HOST order; the builder writes them in
// network order. Addresses are byte arrays in network order.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace svr::test {

using Bytes = std::vector<std::uint8_t>;
using MacAddr = std::array<std::uint8_t, 6>;
using Ipv4Addr = std::array<std::uint8_t, 4>;
using Ipv6Addr = std::array<std::uint8_t, 16>;

// Parse a literal; an invalid literal is a bug in the test and throws std::invalid_argument.
MacAddr mac(std::string_view text);
Ipv4Addr ipv4(std::string_view text);
Ipv6Addr ipv6(std::string_view text);

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr std::uint16_t kEtherTypeArp = 0x0806;
inline constexpr std::uint16_t kEtherTypeVlan = 0x8100;   // 802.1Q
inline constexpr std::uint16_t kEtherTypeQinQ = 0x88a8;   // 802.1AD

// TCP flag bits (byte 13 of the header).
inline constexpr std::uint8_t kTcpFin = 0x01;
inline constexpr std::uint8_t kTcpSyn = 0x02;
inline constexpr std::uint8_t kTcpRst = 0x04;
inline constexpr std::uint8_t kTcpPsh = 0x08;
inline constexpr std::uint8_t kTcpAck = 0x10;

// IPv6 extension header types.
inline constexpr std::uint8_t kIpv6HopByHop = 0;
inline constexpr std::uint8_t kIpv6Routing = 43;
inline constexpr std::uint8_t kIpv6Fragment = 44;
inline constexpr std::uint8_t kIpv6DestOptions = 60;

struct EthernetHeader {
    MacAddr dst{};
    MacAddr src{};
    std::optional<std::uint16_t> ether_type; // default: from the next layer
};

struct VlanTag {
    std::uint16_t vid = 0;
    std::uint16_t tpid = kEtherTypeVlan; // the TPID of THIS tag (written by the layer before)
    std::uint8_t pcp = 0;
    std::optional<std::uint16_t> inner_type; // default: from the next layer
};

struct Ipv4Header {
    Ipv4Addr src{};
    Ipv4Addr dst{};
    std::uint8_t ttl = 64;
    std::uint8_t tos = 0; // DSCP << 2 | ECN
    std::uint16_t id = 0;
    bool dont_fragment = false;
    bool more_fragments = false;
    std::uint16_t fragment_offset = 0; // in 8-byte units
    Bytes options;                     // padded with zeros to a multiple of 4
    // Overrides for malformed packets; default: computed.
    std::optional<std::uint8_t> protocol;
    std::optional<std::uint8_t> version;
    std::optional<std::uint8_t> ihl;
    std::optional<std::uint16_t> total_length;
    std::optional<std::uint16_t> checksum;
};

struct Ipv6Header {
    Ipv6Addr src{};
    Ipv6Addr dst{};
    std::uint8_t hop_limit = 64;
    std::uint8_t traffic_class = 0; // DSCP << 2 | ECN
    std::uint32_t flow_label = 0;
    std::optional<std::uint8_t> next_header;
    std::optional<std::uint8_t> version;
    std::optional<std::uint16_t> payload_length;
};

// A generic IPv6 extension header (hop-by-hop, routing, destination options): type, then the
// body after the next-header and length bytes, padded with zeros to 8n+6 bytes.
struct Ipv6Extension {
    std::uint8_t type = kIpv6DestOptions;
    Bytes body;
    std::optional<std::uint8_t> next_header;
};

struct Ipv6Fragment {
    std::uint16_t offset = 0; // in 8-byte units
    bool more_fragments = false;
    std::uint32_t id = 0;
    std::optional<std::uint8_t> next_header;
};

struct TcpHeader {
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint8_t flags = kTcpAck;
    std::uint16_t window = 65535;
    std::uint16_t urgent = 0;
    Bytes options; // padded with zeros to a multiple of 4
    std::optional<std::uint8_t> data_offset; // in 32-bit words
    std::optional<std::uint16_t> checksum;
};

struct UdpHeader {
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::optional<std::uint16_t> length;
    std::optional<std::uint16_t> checksum; // 0 = "no checksum" (IPv4 only)
};

// ICMP or ICMPv6, chosen by the enclosing IP layer. rest_of_header is the second 32-bit
// word (echo: identifier << 16 | sequence; packet too big: MTU).
struct IcmpHeader {
    std::uint8_t type = 8;
    std::uint8_t code = 0;
    std::uint32_t rest_of_header = 0;
    std::optional<std::uint16_t> checksum;
};

// Well-known ICMP messages.
IcmpHeader icmpv4EchoRequest(std::uint16_t id, std::uint16_t seq);
IcmpHeader icmpv4EchoReply(std::uint16_t id, std::uint16_t seq);
IcmpHeader icmpv6EchoRequest(std::uint16_t id, std::uint16_t seq);
IcmpHeader icmpv6EchoReply(std::uint16_t id, std::uint16_t seq);
IcmpHeader icmpv4DestUnreachable(std::uint8_t code, std::uint16_t next_hop_mtu = 0);
IcmpHeader icmpv4TimeExceeded();
IcmpHeader icmpv6DestUnreachable(std::uint8_t code);
IcmpHeader icmpv6PacketTooBig(std::uint32_t mtu);
IcmpHeader icmpv6TimeExceeded();

class PacketBuilder {
public:
    PacketBuilder& eth(MacAddr dst, MacAddr src, std::optional<std::uint16_t> ether_type = {});
    PacketBuilder& eth(const EthernetHeader& header);
    PacketBuilder& vlan(std::uint16_t vid, std::uint16_t tpid = kEtherTypeVlan);
    PacketBuilder& vlan(const VlanTag& tag);
    PacketBuilder& ipv4(const Ipv4Header& header);
    PacketBuilder& ipv6(const Ipv6Header& header);
    PacketBuilder& ipv6Extension(const Ipv6Extension& header);
    PacketBuilder& ipv6Fragment(const Ipv6Fragment& header);
    PacketBuilder& tcp(const TcpHeader& header);
    PacketBuilder& udp(const UdpHeader& header);
    PacketBuilder& icmp(const IcmpHeader& header);
    PacketBuilder& payload(std::span<const std::uint8_t> bytes);
    PacketBuilder& payload(std::initializer_list<std::uint8_t> bytes);

    // All layers, lengths and checksums computed over the whole frame.
    Bytes build() const;

private:
    struct Payload {
        Bytes bytes;
    };
    using Layer = std::variant<EthernetHeader, VlanTag, Ipv4Header, Ipv6Header, Ipv6Extension,
                               Ipv6Fragment, TcpHeader, UdpHeader, IcmpHeader, Payload>;
    std::vector<Layer> layers_;
};

// The first `length` bytes of a frame (a packet truncated on the wire).
Bytes truncated(Bytes frame, std::size_t length);

// The first `length` bytes of an IP packet as an ICMP error quotes it (RFC 792: IP header
// + 8 bytes; RFC 4443: as much as fits).
Bytes quoted(const Bytes& ip_packet, std::size_t length);

// RFC 1071 Internet checksum of bytes, plus an initial 32-bit partial sum (pseudo-header).
std::uint16_t internetChecksum(std::span<const std::uint8_t> bytes, std::uint32_t initial = 0);

// Parse an Ethernet frame and verify every checksum it carries (IPv4 header, TCP, UDP,
// ICMP/ICMPv6, and the IPv4 header quoted in an ICMP error) by full recomputation.
// Returns an empty string when all are correct, else a description of each mismatch.
std::string checksumErrors(std::span<const std::uint8_t> frame);

// Classic 16-bytes-per-line hex dump, and a side-by-side comparison marking differing lines.
std::string hexDump(std::span<const std::uint8_t> bytes);
std::string hexDiff(std::span<const std::uint8_t> expected, std::span<const std::uint8_t> actual);

} // namespace svr::test

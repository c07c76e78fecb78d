// First-packet handling in user space: parse a punted Ethernet frame into the session key the
// XDP program would have looked up, and rewrite it the way the installed session will
// rewrite the packets after it (addresses, ports, TTL, MACs, VLAN), recomputing every
// checksum from scratch (the first packet is rare enough that an incremental update buys
// nothing and a full sum cannot inherit a wrong one).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "fastpath/abi.hpp"
#include "fastpath/address.hpp"

namespace svr::svrd {

// Why a punted frame cannot start a session; svrd counts each.
enum class ParseFailure : std::uint8_t {
    truncated,           // shorter than its headers say
    notIp,               // neither IPv4 nor IPv6 (the fast path passes those; defensive)
    badIpHeader,         // version, IHL, lengths inconsistent
    fragment,            // IPv4/IPv6 fragments start no session
    unsupportedProtocol, // not TCP, UDP, ICMP/ICMPv6, or IPv6 extension headers
    kCount
};
std::string_view parseFailureName(ParseFailure failure);

struct ParsedPacket {
    fastpath::MacAddress dstMac{};
    fastpath::MacAddress srcMac{};
    bool vlanTagged = false;
    std::uint16_t vlanId = 0;   // outer VID, host order
    std::size_t l3Offset = 0;   // first byte of the IP header
    std::size_t l4Offset = 0;   // first byte of the TCP/UDP/ICMP header
    std::size_t ipLength = 0;   // IP header + payload (frame padding excluded)
    std::uint8_t family = 0;    // SVR_FAMILY_*
    std::uint8_t proto = 0;     // IPPROTO_*
    fastpath::IpAddress source;
    fastpath::IpAddress destination;
    std::uint16_t sourcePort = 0;      // host order; ICMP echo: the identifier
    std::uint16_t destinationPort = 0; // host order; ICMP: 0
    std::uint8_t ttl = 0;              // TTL or hop limit
    std::uint8_t tcpFlags = 0;
    std::uint8_t icmpType = 0;

    bool isIcmp() const;
    bool isEchoRequest() const;
    bool isEchoReply() const;
    bool isTcpSyn() const; // SYN without ACK: the only TCP packet that opens a session
};

struct ParseOutcome {
    std::optional<ParsedPacket> packet;
    ParseFailure failure = ParseFailure::truncated; // meaningful when packet is empty
};

// Never reads past the frame; malformed input gives a failure, never a crash.
ParseOutcome parseFrame(std::span<const std::uint8_t> frame);

// The key the fast path looks the packet up with (svr_session.h semantics).
svr_session_key sessionKey(const ParsedPacket& packet, std::uint32_t ingressIfindex);

// The frame as the session value sends it: the value's effective addresses and ports (it
// carries them whether or not a rewrite flag is set), MACs, egress VLAN (0: untagged), TTL
// or hop limit decremented, IPv4 header and L4 checksums recomputed in full. The packet
// must have TTL > 1 (the caller drops and counts the others). A value with new_family of
// the other family gets a new IP header of it (TCP/UDP; the fast path's rules, see
// svr_session.h). A translated SYN's MSS is clamped where metadata is inserted, after the
// translation: for the IPv6 header when IPv4 endpoints cross IPv6 waypoints.
std::vector<std::uint8_t> rewriteFrame(std::span<const std::uint8_t> frame,
                                       const ParsedPacket& packet,
                                       const svr_session_value& value);

// ICMP "fragmentation needed" (type 3, code 4) telling the IPv4 packet's sender to send at
// most `nextHopMtu` bytes, from `routerAddress`, framed by the session value `back` (the other
// direction: MACs and VLAN towards the sender). Quotes the packet up to 576 bytes in all.
std::vector<std::uint8_t> fragmentationNeeded(std::span<const std::uint8_t> frame,
                                              const ParsedPacket& packet,
                                              const svr_session_value& back,
                                              const fastpath::IpAddress& routerAddress,
                                              std::uint16_t nextHopMtu);

// Replaces the L4 payload of the TCP/UDP packet at l3Offset of the frame with what `transform`
// makes of it (nothing for an empty payload); lengths and checksums follow, L2 padding is cut.
using PayloadTransform =
    std::function<Status(std::span<const std::uint8_t>, std::vector<std::uint8_t>&)>;
Status transformL4Payload(std::vector<std::uint8_t>& frame, std::size_t l3Offset,
                          const PayloadTransform& transform);

// RFC 1071 one's-complement sum, folded and inverted; `initial` carries a pseudo-header sum.
std::uint16_t internetChecksum(std::span<const std::uint8_t> bytes, std::uint32_t initial = 0);

} // namespace svr::svrd

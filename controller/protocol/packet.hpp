// Packet surgery: insert SVR metadata right after the UDP/TCP header (and its tag at the end
// of the L4 payload) or strip it, in IPv4 and IPv6 packets, recomputing IP lengths and the
// IPv4 header and L4 checksums from scratch. MTU rule and TCP handling: docs/protocol.md §6.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/result.hpp"

namespace svr::protocol {

inline constexpr std::uint8_t kIpProtoTcp = 6;
inline constexpr std::uint8_t kIpProtoUdp = 17;

// Where the headers of one packet are. Offsets are from the start of the buffer; l3Offset
// lets callers pass a frame with an L2 header in front.
struct PacketLayout {
    std::size_t l3Offset = 0;
    std::size_t l4Offset = 0;      // UDP/TCP header
    std::size_t payloadOffset = 0; // first byte after the UDP/TCP header (and TCP options)
    std::size_t end = 0;           // one past the last IP byte (L2 padding excluded)
    std::uint8_t ipVersion = 0;
    std::uint8_t l4Protocol = 0;
    bool tcpSyn = false;           // SYN flag set (SYN or SYN/ACK, first try or retransmission)
    std::size_t payloadSize() const { return end - payloadOffset; }
};

// Validates the IP and UDP/TCP headers. Errors: PacketTruncated, NotIpPacket,
// BadIpHeaderLength, IpLengthMismatch, IpFragment, Ipv6ExtensionChainTooLong,
// UnsupportedL4Protocol, L4HeaderTruncated, BadTcpDataOffset, UdpLengthMismatch.
Result<PacketLayout> parsePacket(std::span<const std::uint8_t> buffer, std::size_t l3Offset = 0);

inline std::span<const std::uint8_t> l4Payload(std::span<const std::uint8_t> buffer, const PacketLayout& layout)
{
    return buffer.subspan(layout.payloadOffset, layout.payloadSize());
}

struct InsertOptions {
    std::size_t l3Offset = 0;
    std::size_t pathMtu = 1500;   // largest IP packet the SVR hop carries
    std::size_t mssReserve = 0;   // extra room kept in the MSS beyond this insertion's bytes
};

struct InsertOutcome {
    enum class Kind {
        Inserted,
        // Nothing changed: the packet would exceed pathMtu. The caller drops it and sends
        // ICMP "fragmentation needed" (IPv4) / "packet too big" (IPv6) with senderMtu.
        NeedsFragmentation,
    };
    Kind kind = Kind::Inserted;
    std::size_t senderMtu = 0;                // set for NeedsFragmentation
    std::optional<std::uint16_t> clampedMss; // new MSS value when a SYN's MSS was lowered
};

// Inserts prefix after the L4 header and suffix at the end of the L4 payload; on TCP SYNs
// clamps the MSS option so later segments still fit with prefix+suffix+mssReserve.
Result<InsertOutcome> insertMetadata(std::vector<std::uint8_t>& buffer, std::span<const std::uint8_t> prefix,
                                     std::span<const std::uint8_t> suffix, const InsertOptions& options = {});

// Removes prefixLength bytes (which must start with the cookie) after the L4 header and
// suffixLength bytes from the end of the L4 payload. Errors: those of parsePacket,
// NoMetadataInPacket, MissingTag (payload shorter than prefix + suffix).
Status stripMetadata(std::vector<std::uint8_t>& buffer, std::size_t prefixLength, std::size_t suffixLength,
                     std::size_t l3Offset = 0);

// Recomputes the IPv4 header checksum (if any) and the UDP/TCP checksum of a parsed packet.
void recomputeChecksums(std::span<std::uint8_t> buffer, const PacketLayout& layout);

// RFC 1071 one's-complement sum helpers, exposed for tests and the fast path's tooling.
std::uint32_t onesComplementAdd(std::uint32_t sum, std::span<const std::uint8_t> data);
std::uint16_t onesComplementFold(std::uint32_t sum);

} // namespace svr::protocol

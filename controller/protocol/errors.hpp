// Every way an SVR packet or protocol object can be rejected, one value per cause, so tests,
// counters and logs can tell them apart. Carried in svr::Error::code (category "svr.protocol").
#pragma once

#include <string_view>
#include <system_error>

#include "common/result.hpp"

namespace svr::protocol {

enum class Errc {
    // metadata header
    TruncatedHeader = 1,     // fewer than 12 bytes
    BadCookie,               // first 8 bytes are not the SVR cookie
    UnsupportedVersion,      // version nibble != 1
    HeaderLengthTooSmall,    // header length < 12
    HeaderLengthPastEnd,     // header TLVs run past the input
    PayloadLengthPastEnd,    // payload-TLV section runs past the input
    // TLV walk
    TlvHeaderTruncated,      // 1..3 bytes left in a section: no room for type+length
    TlvOverrunsSection,      // TLV value runs past the end of its section
    FixedLengthMismatch,     // fixed-size TLV with the wrong value length
    FlagHasValue,            // zero-length flag TLV carrying bytes
    EmptyName,               // zero-length string where a name is required
    InvalidUtf8,             // name is not well-formed UTF-8
    EmptyValue,              // zero-length opaque value (key blob, modify request...)
    ModifyRequestTooShort,   // TLV 28 shorter than its 2-byte word
    BadMulticastFamily,      // TLV 50 family not 4 or 6
    MulticastLengthMismatch, // TLV 50 length does not match its family
    EgressListTruncated,     // TLV 51 entries run past the value
    EgressListTrailingBytes, // TLV 51 bytes left after Count entries
    DuplicateTlv,            // a singleton TLV appears twice in one metadata block
    TlvInWrongSection,       // Fragment or Security ID outside the clear header section
    // encoding
    HeaderTooLarge,          // header TLVs do not fit the 12-bit header length
    PayloadTooLarge,         // payload section does not fit the 16-bit payload length
    ValueTooLarge,           // one TLV value longer than 65535
    FieldOutOfRange,         // a typed field does not fit its wire width
    // security
    MissingSecurityId,       // signed metadata without TLV 16
    UnknownKeyGeneration,    // TLV 16 names a generation this peer never installed
    KeyGenerationExpired,    // generation retired and its overlap window has passed
    MissingTag,              // packet shorter than metadata + HMAC tag
    HmacMismatch,            // tag does not verify (wrong key, tampering or stale time slot)
    CiphertextTruncated,     // encrypted section shorter than IV + one block / not whole blocks
    BadPadding,              // PKCS#7 padding invalid after decryption
    ReplayedFirstPacket,     // session UUID already admitted inside the replay window
    ReplayCacheFull,         // replay cache full of live entries: fail closed
    MissingSessionUuid,      // first packet without TLV 6: cannot be replay-checked
    CryptoFailure,           // the crypto library reported an internal error
    // packet surgery
    PacketTruncated,         // shorter than the IP header
    NotIpPacket,             // IP version nibble not 4 or 6
    BadIpHeaderLength,       // IPv4 IHL < 5 or past the buffer
    IpLengthMismatch,        // IP total/payload length disagrees with the buffer
    IpFragment,              // IPv4 fragment or IPv6 fragment header: L4 not in this packet
    Ipv6ExtensionChainTooLong,
    UnsupportedL4Protocol,   // not UDP or TCP
    L4HeaderTruncated,       // UDP/TCP header past the end of the IP payload
    BadTcpDataOffset,        // TCP data offset < 5 or past the segment
    UdpLengthMismatch,       // UDP length field disagrees with the IP payload
    NoMetadataInPacket,      // L4 payload does not start with the cookie
    PacketTooLarge,          // insertion would make the IP packet exceed 65535
    // pcap
    PcapBadMagic,
    PcapTruncated,
    PcapUnsupportedLinkType,
};

const std::error_category& protocolCategory();
std::error_code make_error_code(Errc e);
std::string_view errcName(Errc e);

// The shared error value for a protocol failure; the message names the cause, never key bytes.
// The message is short enough for the small-string buffer: rejecting a flood allocates nothing.
inline svr::Error protocolError(Errc e) { return svr::Error{make_error_code(e), "svr protocol"}; }

} // namespace svr::protocol

template <>
struct std::is_error_code_enum<svr::protocol::Errc> : std::true_type {};

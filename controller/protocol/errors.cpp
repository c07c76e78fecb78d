#include "protocol/errors.hpp"

#include <string>

namespace svr::protocol {
namespace {

class ProtocolCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "svr.protocol"; }
    std::string message(int value) const override { return std::string(errcName(static_cast<Errc>(value))); }
};

} // namespace

std::string_view errcName(Errc e)
{
    switch (e) {
    case Errc::TruncatedHeader: return "truncated header";
    case Errc::BadCookie: return "bad cookie";
    case Errc::UnsupportedVersion: return "unsupported version";
    case Errc::HeaderLengthTooSmall: return "header length too small";
    case Errc::HeaderLengthPastEnd: return "header length past end";
    case Errc::PayloadLengthPastEnd: return "payload length past end";
    case Errc::TlvHeaderTruncated: return "TLV header truncated";
    case Errc::TlvOverrunsSection: return "TLV overruns section";
    case Errc::FixedLengthMismatch: return "fixed length mismatch";
    case Errc::FlagHasValue: return "flag has value";
    case Errc::EmptyName: return "empty name";
    case Errc::InvalidUtf8: return "invalid UTF-8";
    case Errc::EmptyValue: return "empty value";
    case Errc::ModifyRequestTooShort: return "modify request too short";
    case Errc::BadMulticastFamily: return "bad multicast family";
    case Errc::MulticastLengthMismatch: return "multicast length mismatch";
    case Errc::EgressListTruncated: return "egress list truncated";
    case Errc::EgressListTrailingBytes: return "egress list trailing bytes";
    case Errc::DuplicateTlv: return "duplicate TLV";
    case Errc::TlvInWrongSection: return "TLV in wrong section";
    case Errc::HeaderTooLarge: return "header too large";
    case Errc::PayloadTooLarge: return "payload too large";
    case Errc::ValueTooLarge: return "value too large";
    case Errc::FieldOutOfRange: return "field out of range";
    case Errc::MissingSecurityId: return "missing security id";
    case Errc::UnknownKeyGeneration: return "unknown key generation";
    case Errc::KeyGenerationExpired: return "key generation expired";
    case Errc::MissingTag: return "missing tag";
    case Errc::HmacMismatch: return "HMAC mismatch";
    case Errc::CiphertextTruncated: return "ciphertext truncated";
    case Errc::BadPadding: return "bad padding";
    case Errc::ReplayedFirstPacket: return "replayed first packet";
    case Errc::ReplayCacheFull: return "replay cache full";
    case Errc::MissingSessionUuid: return "missing session uuid";
    case Errc::CryptoFailure: return "crypto failure";
    case Errc::PacketTruncated: return "packet truncated";
    case Errc::NotIpPacket: return "not IP packet";
    case Errc::BadIpHeaderLength: return "bad IP header length";
    case Errc::IpLengthMismatch: return "IP length mismatch";
    case Errc::IpFragment: return "IP fragment";
    case Errc::Ipv6ExtensionChainTooLong: return "IPv6 extension chain too long";
    case Errc::UnsupportedL4Protocol: return "unsupported L4 protocol";
    case Errc::L4HeaderTruncated: return "L4 header truncated";
    case Errc::BadTcpDataOffset: return "bad TCP data offset";
    case Errc::UdpLengthMismatch: return "UDP length mismatch";
    case Errc::NoMetadataInPacket: return "no metadata in packet";
    case Errc::PacketTooLarge: return "packet too large";
    case Errc::PcapBadMagic: return "pcap bad magic";
    case Errc::PcapTruncated: return "pcap truncated";
    case Errc::PcapUnsupportedLinkType: return "pcap unsupported link type";
    }
    return "unknown protocol error";
}

const std::error_category& protocolCategory()
{
    static const ProtocolCategory category;
    return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), protocolCategory()}; }

} // namespace svr::protocol

// IPFIX Information Elements svr exports (IANA registry "IPFIX Information Elements", RFC 7012)
// and svr's own enterprise-specific ones. docs/ipfix.md lists them with their meaning.
#pragma once

#include <cstdint>

namespace svr::ipfix {

// IANA element ids used in svr's templates.
namespace ie {
inline constexpr std::uint16_t octetDeltaCount = 1;
inline constexpr std::uint16_t packetDeltaCount = 2;
inline constexpr std::uint16_t protocolIdentifier = 4;
inline constexpr std::uint16_t sourceTransportPort = 7;
inline constexpr std::uint16_t sourceIPv4Address = 8;
inline constexpr std::uint16_t ingressInterface = 10;
inline constexpr std::uint16_t destinationTransportPort = 11;
inline constexpr std::uint16_t destinationIPv4Address = 12;
inline constexpr std::uint16_t egressInterface = 14;
inline constexpr std::uint16_t sourceIPv6Address = 27;
inline constexpr std::uint16_t destinationIPv6Address = 28;
inline constexpr std::uint16_t octetTotalCount = 85;
inline constexpr std::uint16_t packetTotalCount = 86;
inline constexpr std::uint16_t flowEndReason = 136;
inline constexpr std::uint16_t flowId = 148;
inline constexpr std::uint16_t flowStartMilliseconds = 152;
inline constexpr std::uint16_t flowEndMilliseconds = 153;
inline constexpr std::uint16_t postNATSourceIPv4Address = 225;
inline constexpr std::uint16_t postNATDestinationIPv4Address = 226;
inline constexpr std::uint16_t postNAPTSourceTransportPort = 227;
inline constexpr std::uint16_t postNAPTDestinationTransportPort = 228;
inline constexpr std::uint16_t biflowDirection = 239;
inline constexpr std::uint16_t postNATSourceIPv6Address = 281;
inline constexpr std::uint16_t postNATDestinationIPv6Address = 282;
} // namespace ie

// svr has no IANA Private Enterprise Number of its own; 32473 is the number IANA reserves for
// documentation and examples (RFC 5612). A deployment that owns a PEN can re-map the two
// elements in its collector; the element ids stay the same.
inline constexpr std::uint32_t kSvrEnterpriseNumber = 32473;

// Enterprise-specific elements (enterprise bit set, kSvrEnterpriseNumber), both strings
// (RFC 7011 variable length, UTF-8): the names of the configuration's tenant and service.
namespace svr_ie {
inline constexpr std::uint16_t tenantName = 1;
inline constexpr std::uint16_t serviceName = 2;
} // namespace svr_ie

// flowEndReason values (IANA).
enum class EndReason : std::uint8_t {
    idleTimeout = 1,
    activeTimeout = 2,
    endOfFlowDetected = 3,
    forcedEnd = 4,
    lackOfResources = 5,
};

// biflowDirection values (RFC 5103): which side opened the session.
enum class BiflowDirection : std::uint8_t { arbitrary = 0, initiator = 1, reverseInitiator = 2 };

// Template ids: data sets use ids >= 256 (RFC 7011 3.4.1). A session translated between IPv4
// and IPv6 (SVR waypoints of the other family) has post-NAT addresses of the other family.
inline constexpr std::uint16_t kTemplateIdIpv4 = 256;
inline constexpr std::uint16_t kTemplateIdIpv6 = 257;
inline constexpr std::uint16_t kTemplateIdIpv4ToIpv6 = 258;
inline constexpr std::uint16_t kTemplateIdIpv6ToIpv4 = 259;

inline constexpr std::uint16_t kDefaultCollectorPort = 4739; // IANA "ipfix" over UDP

} // namespace svr::ipfix

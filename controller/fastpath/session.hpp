// Building session entries (one per direction) from what an operator or svrd asks for.
#pragma once

#include <cstdint>
#include <optional>

#include "common/result.hpp"
#include "fastpath/abi.hpp"
#include "fastpath/address.hpp"

namespace svr::fastpath {

struct SessionEntry {
    svr_session_key key{};
    svr_session_value value{};
    // Its place in the sessions map (`bpftool map lookup ... key <record as 4 bytes>`), when
    // read from the table.
    std::optional<std::uint32_t> record;
};

// How packets of one direction leave the router.
struct NextHop {
    std::uint32_t egressIfindex = 0;
    MacAddress srcMac{};   // the egress interface's MAC
    MacAddress dstMac{};   // the next hop's MAC
    bool useFib = false;   // next hop by bpf_fib_lookup instead of the MACs above
    std::uint16_t egressVlan = 0;
};

// The forward direction as seen on the ingress interface. Ports in host order; ICMP echo
// uses sourcePort as the identifier and destinationPort 0.
struct SessionSpec {
    std::uint32_t ingressIfindex = 0;
    std::uint16_t vlanId = 0;
    std::uint8_t proto = 0;
    IpAddress source;
    IpAddress destination;
    std::uint16_t sourcePort = 0;
    std::uint16_t destinationPort = 0;
    std::optional<IpAddress> newSource;
    std::optional<std::uint16_t> newSourcePort;
    std::optional<IpAddress> newDestination;
    std::optional<std::uint16_t> newDestinationPort;
    NextHop nextHop;
    std::uint8_t dscp = SVR_DSCP_KEEP;
    std::uint8_t action = SVR_ACTION_FORWARD;
    std::uint64_t sessionId = 0;
    std::uint32_t idleTimeoutSeconds = 0;
    std::uint64_t createdNs = 0; // CLOCK_MONOTONIC
};

// Checks families (new addresses of the other family translate: TCP/UDP, both new addresses,
// cached next hop), VLAN ids, DSCP and ports; the value carries the effective post-NAT
// addresses and ports even where no rewrite flag is set, so the reverse can be derived.
Result<SessionEntry> buildForwardSession(const SessionSpec& spec);

// The reply direction: arrives on the forward egress interface (with the forward egress
// VLAN) from the post-NAT destination to the post-NAT source, ports swapped; it restores
// the original addresses and leaves through `back` (normally the forward ingress interface).
SessionEntry buildReverseSession(const SessionEntry& forward, const NextHop& back);

// The family of the packet an entry sends: new_family when it translates, else the key's.
std::uint8_t rewrittenFamily(const svr_session_key& key, const svr_session_value& value);

bool isIcmp(std::uint8_t proto);
std::uint64_t monotonicNowNs();

} // namespace svr::fastpath

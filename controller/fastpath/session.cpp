#include "fastpath/session.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <ctime>

#include <fmt/format.h>

namespace svr::fastpath {
namespace {

constexpr std::uint16_t kMaxVlanId = 4094;
constexpr std::uint8_t kMaxDscp = 63;

void copyAddress(std::uint8_t* to, const IpAddress& from)
{
    std::memcpy(to, from.bytes.data(), SVR_ADDR_LEN);
}

// Where a direction leaves: the FIB, or the cached interface, MACs and VLAN.
void applyNextHop(svr_session_value& value, const NextHop& nextHop)
{
    if (nextHop.useFib) {
        value.flags |= SVR_SESSION_F_USE_FIB;
    }
    value.egress_ifindex = nextHop.egressIfindex;
    std::memcpy(value.dst_mac, nextHop.dstMac.data(), sizeof(value.dst_mac));
    std::memcpy(value.src_mac, nextHop.srcMac.data(), sizeof(value.src_mac));
    value.egress_vlan = nextHop.egressVlan;
}

} // namespace

std::uint8_t rewrittenFamily(const svr_session_key& key, const svr_session_value& value)
{
    return value.new_family != 0 ? value.new_family : key.family;
}

bool isIcmp(std::uint8_t proto)
{
    return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

std::uint64_t monotonicNowNs()
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now); // the clock bpf_ktime_get_ns() reads
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(now.tv_nsec);
}

Result<SessionEntry> buildForwardSession(const SessionSpec& spec)
{
    const std::uint8_t family = spec.source.family;
    if (family != SVR_FAMILY_IPV4 && family != SVR_FAMILY_IPV6) {
        return Error::invalid("session source address: missing or of an unknown family");
    }
    if (spec.destination.family != family) {
        return Error::invalid("session source and destination mix IPv4 and IPv6");
    }
    // The rewritten packet may be of the other family (SVR waypoints of the other version),
    // but then as a whole: both new addresses of it.
    const std::uint8_t newFamily = spec.newSource ? spec.newSource->family : family;
    const bool translates = newFamily != family ||
                            (spec.newDestination && spec.newDestination->family != family);
    if (translates) {
        if (!spec.newSource || !spec.newDestination ||
            spec.newDestination->family != spec.newSource->family ||
            (newFamily != SVR_FAMILY_IPV4 && newFamily != SVR_FAMILY_IPV6)) {
            return Error::invalid("session translating between IPv4 and IPv6 needs both new "
                                  "addresses, of one family");
        }
        if (spec.proto != IPPROTO_TCP && spec.proto != IPPROTO_UDP) {
            return Error::invalid("session translating between IPv4 and IPv6: TCP and UDP only");
        }
        if (spec.nextHop.useFib || spec.action == SVR_ACTION_PASS) {
            return Error::invalid("session translating between IPv4 and IPv6: forwarded with a "
                                  "cached next hop only (no FIB, no pass)");
        }
    }
    if ((family == SVR_FAMILY_IPV4 && spec.proto == IPPROTO_ICMPV6) ||
        (family == SVR_FAMILY_IPV6 && spec.proto == IPPROTO_ICMP)) {
        return Error::invalid("session protocol: ICMP version does not match the address family");
    }
    if (spec.nextHop.egressIfindex == 0 && !spec.nextHop.useFib) {
        return Error::invalid("session egress interface missing");
    }
    if (spec.vlanId > kMaxVlanId || spec.nextHop.egressVlan > kMaxVlanId) {
        return Error::invalid(fmt::format("session VLAN id out of range 0..{}", kMaxVlanId));
    }
    if (spec.dscp > kMaxDscp && spec.dscp != SVR_DSCP_KEEP) {
        return Error::invalid(fmt::format("session DSCP {} out of range 0..63", spec.dscp));
    }
    if (spec.action > SVR_ACTION_PASS) {
        return Error::invalid(fmt::format("session action {} unknown", spec.action));
    }
    const bool icmp = isIcmp(spec.proto);
    if (icmp && (spec.destinationPort != 0 || spec.newDestinationPort.value_or(0) != 0)) {
        return Error::invalid("ICMP sessions have no destination port (the identifier is the "
                              "source port)");
    }

    SessionEntry entry;
    svr_session_key& key = entry.key;
    key.ingress_ifindex = spec.ingressIfindex;
    key.vlan_id = spec.vlanId;
    key.family = family;
    key.proto = spec.proto;
    copyAddress(key.src_addr, spec.source);
    copyAddress(key.dst_addr, spec.destination);
    key.src_port = htons(spec.sourcePort);
    key.dst_port = htons(spec.destinationPort);

    svr_session_value& value = entry.value;
    copyAddress(value.new_src_addr, spec.newSource.value_or(spec.source));
    copyAddress(value.new_dst_addr, spec.newDestination.value_or(spec.destination));
    value.new_src_port = htons(spec.newSourcePort.value_or(spec.sourcePort));
    value.new_dst_port = htons(spec.newDestinationPort.value_or(spec.destinationPort));
    if (spec.newSource || spec.newSourcePort) {
        value.flags |= SVR_SESSION_F_REWRITE_SRC;
    }
    if (spec.newDestination || spec.newDestinationPort) {
        value.flags |= SVR_SESSION_F_REWRITE_DST;
    }
    if (translates) {
        value.new_family = newFamily;
    }
    applyNextHop(value, spec.nextHop);
    value.action = spec.action;
    value.dscp = spec.dscp;
    value.idle_timeout_s = spec.idleTimeoutSeconds;
    value.session_id = spec.sessionId;
    value.created_ns = spec.createdNs;
    value.last_seen_ns = spec.createdNs;
    return entry;
}

SessionEntry buildReverseSession(const SessionEntry& forward, const NextHop& back)
{
    const svr_session_key& fk = forward.key;
    const svr_session_value& fv = forward.value;
    SessionEntry reverse;
    svr_session_key& key = reverse.key;
    key.ingress_ifindex = fv.egress_ifindex;
    key.vlan_id = fv.egress_vlan;
    key.family = rewrittenFamily(fk, fv);
    key.proto = fk.proto;
    std::memcpy(key.src_addr, fv.new_dst_addr, SVR_ADDR_LEN);
    std::memcpy(key.dst_addr, fv.new_src_addr, SVR_ADDR_LEN);
    svr_session_value& value = reverse.value;
    std::memcpy(value.new_src_addr, fk.dst_addr, SVR_ADDR_LEN);
    std::memcpy(value.new_dst_addr, fk.src_addr, SVR_ADDR_LEN);
    if (isIcmp(fk.proto)) {
        // An echo reply carries the request's identifier: it stays in the source port slot.
        key.src_port = fv.new_src_port;
        key.dst_port = 0;
        value.new_src_port = fk.src_port;
        value.new_dst_port = 0;
    } else {
        key.src_port = fv.new_dst_port;
        key.dst_port = fv.new_src_port;
        value.new_src_port = fk.dst_port;
        value.new_dst_port = fk.src_port;
    }
    if (fv.flags & SVR_SESSION_F_REWRITE_SRC) {
        value.flags |= SVR_SESSION_F_REWRITE_DST;
    }
    if (fv.flags & SVR_SESSION_F_REWRITE_DST) {
        value.flags |= SVR_SESSION_F_REWRITE_SRC;
    }
    if (isIcmp(fk.proto) && (fv.flags & SVR_SESSION_F_REWRITE_SRC)) {
        // The identifier was rewritten on the way out: restore it on the reply.
        value.flags |= SVR_SESSION_F_REWRITE_SRC;
    }
    if (key.family != fk.family) {
        value.new_family = fk.family; // back to the family the forward direction came in
    }
    applyNextHop(value, back);
    value.action = fv.action;
    value.dscp = fv.dscp;
    value.idle_timeout_s = fv.idle_timeout_s;
    value.tenant_id = fv.tenant_id;
    value.service_id = fv.service_id;
    value.session_id = fv.session_id;
    value.created_ns = fv.created_ns;
    value.last_seen_ns = fv.created_ns;
    return reverse;
}

} // namespace svr::fastpath

#include "ipfix/session_flows.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <ctime>

namespace svr::ipfix {
namespace {

constexpr std::uint64_t kEthernetHeaderBytes = 14;
constexpr std::uint64_t kVlanTagBytes = 4;

bool hasPorts(std::uint8_t proto)
{
    return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

std::int64_t nsOf(const timespec& time)
{
    return static_cast<std::int64_t>(time.tv_sec) * 1'000'000'000LL + time.tv_nsec;
}

} // namespace

WallClock WallClock::now()
{
    timespec realtime{};
    timespec monotonic{};
    ::clock_gettime(CLOCK_MONOTONIC, &monotonic);
    ::clock_gettime(CLOCK_REALTIME, &realtime);
    return WallClock(nsOf(realtime) - nsOf(monotonic));
}

std::uint64_t WallClock::unixMs(std::uint64_t monotonicNs) const
{
    const std::int64_t unixNs = static_cast<std::int64_t>(monotonicNs) + offsetNs_;
    return unixNs <= 0 ? 0 : static_cast<std::uint64_t>(unixNs) / 1'000'000ULL;
}

std::uint64_t ipOctets(const fastpath::SessionEntry& entry)
{
    const std::uint64_t perPacket =
        kEthernetHeaderBytes + (entry.key.vlan_id != 0 ? kVlanTagBytes : 0);
    const std::uint64_t headers = entry.value.packets * perPacket;
    return entry.value.bytes > headers ? entry.value.bytes - headers : 0;
}

FlowRecord flowRecordOf(const fastpath::SessionEntry& entry, const SessionFlows& session,
                        BiflowDirection direction, std::uint64_t packetDelta,
                        std::uint64_t octetDelta, EndReason reason, const WallClock& clock)
{
    const svr_session_key& key = entry.key;
    const svr_session_value& value = entry.value;
    FlowRecord record;
    record.ipv6 = key.family == SVR_FAMILY_IPV6;
    record.translated = value.new_family != 0 && value.new_family != key.family;
    record.flowId = session.id;
    std::memcpy(record.source.data(), key.src_addr, SVR_ADDR_LEN);
    std::memcpy(record.destination.data(), key.dst_addr, SVR_ADDR_LEN);
    std::memcpy(record.postNatSource.data(), value.new_src_addr, SVR_ADDR_LEN);
    std::memcpy(record.postNatDestination.data(), value.new_dst_addr, SVR_ADDR_LEN);
    record.protocol = key.proto;
    // ICMP echo keys hold the identifier in src_port: not a transport port, so not exported.
    if (hasPorts(key.proto)) {
        record.sourcePort = ntohs(key.src_port);
        record.destinationPort = ntohs(key.dst_port);
        record.postNaptSourcePort = ntohs(value.new_src_port);
        record.postNaptDestinationPort = ntohs(value.new_dst_port);
    }
    record.ingressInterface = key.ingress_ifindex;
    record.egressInterface = value.egress_ifindex;
    record.direction = direction;
    record.packetDelta = packetDelta;
    record.octetDelta = octetDelta;
    record.packetTotal = value.packets;
    record.octetTotal = ipOctets(entry);
    record.startMs = clock.unixMs(value.created_ns);
    // last_seen_ns is the coarse clock and can trail created_ns by a tick.
    record.endMs = clock.unixMs(std::max(value.last_seen_ns, value.created_ns));
    record.endReason = reason;
    record.tenant = session.tenant;
    record.service = session.service;
    return record;
}

std::vector<FlowRecord> SessionFlowMeter::records(const SessionFlows& session,
                                                  Reported& reported, EndReason reason,
                                                  bool onlyNewPackets, const WallClock& clock)
{
    std::vector<FlowRecord> out;
    const std::array<const fastpath::SessionEntry*, 2> entries = {session.forward,
                                                                   session.reverse};
    const std::array<BiflowDirection, 2> directions = {BiflowDirection::initiator,
                                                       BiflowDirection::reverseInitiator};
    for (std::size_t i = 0; i < 2; ++i) {
        const fastpath::SessionEntry* entry = entries[i];
        if (entry == nullptr || entry->value.packets == 0) {
            continue;
        }
        const std::uint64_t packets = entry->value.packets;
        const std::uint64_t octets = ipOctets(*entry);
        // Counters only grow; a smaller value means another session reused the id.
        const std::uint64_t packetDelta =
            packets >= reported.packets[i] ? packets - reported.packets[i] : packets;
        const std::uint64_t octetDelta =
            octets >= reported.octets[i] ? octets - reported.octets[i] : octets;
        if (onlyNewPackets && packetDelta == 0) {
            continue;
        }
        out.push_back(
            flowRecordOf(*entry, session, directions[i], packetDelta, octetDelta, reason, clock));
        reported.packets[i] = packets;
        reported.octets[i] = octets;
    }
    return out;
}

bool SessionFlowMeter::baselined(const SessionFlows& session, std::uint64_t nowNs)
{
    if (session.forward == nullptr || reported_.contains(session.id) ||
        session.forward->value.created_ns >= startNs_) {
        return false;
    }
    Reported& reported = reported_[session.id];
    const std::array<const fastpath::SessionEntry*, 2> entries = {session.forward,
                                                                   session.reverse};
    for (std::size_t i = 0; i < 2; ++i) {
        if (entries[i] != nullptr) {
            reported.packets[i] = entries[i]->value.packets;
            reported.octets[i] = ipOctets(*entries[i]);
        }
    }
    reported.lastReportNs = nowNs;
    return true;
}

std::vector<FlowRecord> SessionFlowMeter::ended(const SessionFlows& session, EndReason reason,
                                                const WallClock& clock)
{
    (void)baselined(session, 0); // ends before its first tick here: deltas 0, totals exact
    Reported reported;
    if (const auto found = reported_.find(session.id); found != reported_.end()) {
        reported = found->second;
        reported_.erase(found);
    }
    return records(session, reported, reason, false, clock);
}

std::vector<FlowRecord> SessionFlowMeter::active(const SessionFlows& session,
                                                 std::uint64_t nowNs, const WallClock& clock)
{
    if (session.forward == nullptr) {
        return {};
    }
    if (baselined(session, nowNs)) {
        return {};
    }
    Reported& reported = reported_[session.id];
    const std::uint64_t since =
        reported.lastReportNs != 0 ? reported.lastReportNs : session.forward->value.created_ns;
    const auto timeoutNs = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(activeTimeout_).count());
    if (nowNs < since || nowNs - since < timeoutNs) {
        return {};
    }
    reported.lastReportNs = nowNs;
    return records(session, reported, EndReason::activeTimeout, true, clock);
}

void SessionFlowMeter::retainOnly(const std::unordered_set<std::uint64_t>& live)
{
    std::erase_if(reported_, [&live](const auto& item) { return !live.contains(item.first); });
}

} // namespace svr::ipfix

#include "fastpath/format.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "fastpath/address.hpp"
#include "fastpath/session.hpp"

namespace svr::fastpath {
namespace {

// Order matches the enums in bpf/include/svr_stats.h and svr_punt.h.
constexpr const char* kVerdicts[] = {"forward", "punt", "pass", "drop"};
constexpr const char* kDropReasons[] = {
    "eth_truncated",    "vlan_truncated", "ipv4_truncated", "ipv4_bad_header",
    "ipv6_truncated",   "ipv6_bad_header", "ipv6_ext_limit", "tcp_truncated",
    "udp_truncated",    "icmp_truncated", "no_punt_socket", "dos_limit",
    "session_deny",     "no_tx_port",     "fib",            "adjust_failed",
    "xlate_unsupported", "xlate_too_big"};
constexpr const char* kPassReasons[] = {"not_ip",      "local",      "ttl_expired",
                                        "no_neigh",    "unconfigured", "session_action",
                                        "not_unicast", "frag_needed"};
constexpr const char* kPuntReasons[] = {"miss",     "cookie",   "metadata_pending",
                                        "session_action", "fragment", "waypoint",
                                        "icmp_error", "xlate_checksum", "xlate_too_big"};
constexpr const char* kActions[] = {"forward", "drop", "punt", "pass"};

static_assert(std::size(kVerdicts) == SVR_VERDICT_MAX);
static_assert(std::size(kDropReasons) == SVR_DROP_REASON_MAX);
static_assert(std::size(kPassReasons) == SVR_PASS_REASON_MAX);
static_assert(std::size(kPuntReasons) == SVR_PUNT_REASON_MAX);

template <std::size_t N>
const char* nameOf(const char* const (&names)[N], unsigned index)
{
    return index < N ? names[index] : "unknown";
}

std::uint64_t sinceNs(std::uint64_t nowNs, std::uint64_t thenNs)
{
    return thenNs == 0 || thenNs > nowNs ? 0 : nowNs - thenNs;
}

std::string endpoint(std::uint8_t family, const std::uint8_t* address, std::uint16_t portBe,
                     bool withPort)
{
    const std::string text = formatIpAddress(family, address);
    if (!withPort) {
        return text;
    }
    return family == SVR_FAMILY_IPV6 ? fmt::format("[{}]:{}", text, ntohs(portBe))
                                     : fmt::format("{}:{}", text, ntohs(portBe));
}

} // namespace

const char* verdictName(unsigned verdict)
{
    return nameOf(kVerdicts, verdict);
}
const char* dropReasonName(unsigned reason)
{
    return nameOf(kDropReasons, reason);
}
const char* passReasonName(unsigned reason)
{
    return nameOf(kPassReasons, reason);
}
const char* puntReasonName(unsigned reason)
{
    return nameOf(kPuntReasons, reason);
}
const char* actionName(unsigned action)
{
    return nameOf(kActions, action);
}

std::string tcpStateText(std::uint8_t state)
{
    std::string text;
    const std::pair<std::uint8_t, const char*> bits[] = {{SVR_TCP_SEEN_SYN, "syn"},
                                                         {SVR_TCP_SEEN_ACK, "ack"},
                                                         {SVR_TCP_SEEN_FIN, "fin"},
                                                         {SVR_TCP_SEEN_RST, "rst"}};
    for (const auto& [bit, name] : bits) {
        if (state & bit) {
            text += text.empty() ? "" : ",";
            text += name;
        }
    }
    return text.empty() ? "-" : text;
}

std::string formatDuration(std::uint64_t ns)
{
    const std::uint64_t seconds = ns / 1'000'000'000ULL;
    if (seconds < 60) {
        return fmt::format("{}.{}s", seconds, (ns / 100'000'000ULL) % 10);
    }
    if (seconds < 3600) {
        return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
    }
    if (seconds < 86400) {
        return fmt::format("{}h{:02}m", seconds / 3600, (seconds / 60) % 60);
    }
    return fmt::format("{}d{:02}h", seconds / 86400, (seconds / 3600) % 24);
}

nlohmann::json sessionToJson(const SessionEntry& entry, std::uint64_t nowNs,
                             const InterfaceNamer& name)
{
    const svr_session_key& k = entry.key;
    const svr_session_value& v = entry.value;
    const bool useFib = v.flags & SVR_SESSION_F_USE_FIB;
    nlohmann::json tcp = nlohmann::json::array();
    if (k.proto == IPPROTO_TCP && v.tcp_state != 0) {
        for (const std::string& bit : {std::string("syn"), std::string("ack"), std::string("fin"),
                                       std::string("rst")}) {
            if (tcpStateText(v.tcp_state).find(bit) != std::string::npos) {
                tcp.push_back(bit);
            }
        }
    }
    return nlohmann::json{
        {"session_id", v.session_id},
        {"record", entry.record ? nlohmann::json(*entry.record) : nlohmann::json(nullptr)},
        {"in_interface", name(k.ingress_ifindex)},
        {"in_ifindex", k.ingress_ifindex},
        {"vlan", k.vlan_id},
        {"family", k.family == SVR_FAMILY_IPV6 ? "ipv6" : "ipv4"},
        {"proto", formatProtocol(k.proto)},
        {"src", formatIpAddress(k.family, k.src_addr)},
        {"dst", formatIpAddress(k.family, k.dst_addr)},
        {"sport", ntohs(k.src_port)},
        {"dport", ntohs(k.dst_port)},
        {"new_family", rewrittenFamily(k, v) == SVR_FAMILY_IPV6 ? "ipv6" : "ipv4"},
        {"new_src", formatIpAddress(rewrittenFamily(k, v), v.new_src_addr)},
        {"new_dst", formatIpAddress(rewrittenFamily(k, v), v.new_dst_addr)},
        {"new_sport", ntohs(v.new_src_port)},
        {"new_dport", ntohs(v.new_dst_port)},
        {"rewrite_src", (v.flags & SVR_SESSION_F_REWRITE_SRC) != 0},
        {"rewrite_dst", (v.flags & SVR_SESSION_F_REWRITE_DST) != 0},
        {"out_interface", useFib ? std::string("fib") : name(v.egress_ifindex)},
        {"out_ifindex", v.egress_ifindex},
        {"next_hop_mac", useFib ? std::string("fib") : formatMac(v.dst_mac)},
        {"src_mac", formatMac(v.src_mac)},
        {"egress_vlan", v.egress_vlan},
        {"action", actionName(v.action)},
        {"dscp", v.dscp == SVR_DSCP_KEEP ? nlohmann::json("keep") : nlohmann::json(v.dscp)},
        {"metadata_pending", (v.flags & SVR_SESSION_F_METADATA_PENDING) != 0},
        {"packets", v.packets},
        {"bytes", v.bytes},
        {"tcp_state", tcp},
        {"idle_timeout_s", v.idle_timeout_s},
        {"age_s", static_cast<double>(sinceNs(nowNs, v.created_ns)) / 1e9},
        {"idle_s", static_cast<double>(sinceNs(nowNs, v.last_seen_ns)) / 1e9},
    };
}

nlohmann::json sessionsToJson(const std::vector<SessionEntry>& entries, std::uint64_t nowNs,
                              const InterfaceNamer& name)
{
    nlohmann::json list = nlohmann::json::array();
    for (const SessionEntry& entry : entries) {
        list.push_back(sessionToJson(entry, nowNs, name));
    }
    return list;
}

std::string formatSessionTable(std::vector<SessionEntry> entries, std::uint64_t nowNs,
                               const InterfaceNamer& name)
{
    std::sort(entries.begin(), entries.end(), [](const SessionEntry& a, const SessionEntry& b) {
        return std::tie(a.value.session_id, a.key.ingress_ifindex) <
               std::tie(b.value.session_id, b.key.ingress_ifindex);
    });
    std::string out = fmt::format("{:>8} {:<10} {:<6} {:<24} {:<24}    {:<24} {:<24} {:<10} "
                                  "{:>10} {:>12} {:<12} {:>8} {:>8}\n",
                                  "ID", "IN-IF", "PROTO", "SRC", "DST", "NEW-SRC", "NEW-DST",
                                  "OUT-IF", "PACKETS", "BYTES", "TCP", "AGE", "IDLE");
    for (const SessionEntry& entry : entries) {
        const svr_session_key& k = entry.key;
        const svr_session_value& v = entry.value;
        const bool ports = !isIcmp(k.proto) || k.src_port != 0;
        const bool useFib = v.flags & SVR_SESSION_F_USE_FIB;
        out += fmt::format(
            "{:>8} {:<10} {:<6} {:<24} {:<24} -> {:<24} {:<24} {:<10} {:>10} {:>12} {:<12} "
            "{:>8} {:>8}\n",
            v.session_id, name(k.ingress_ifindex), formatProtocol(k.proto),
            endpoint(k.family, k.src_addr, k.src_port, ports),
            endpoint(k.family, k.dst_addr, k.dst_port, ports && !isIcmp(k.proto)),
            endpoint(rewrittenFamily(k, v), v.new_src_addr, v.new_src_port, ports),
            endpoint(rewrittenFamily(k, v), v.new_dst_addr, v.new_dst_port,
                     ports && !isIcmp(k.proto)),
            useFib ? std::string("fib") : name(v.egress_ifindex), v.packets, v.bytes,
            k.proto == IPPROTO_TCP ? tcpStateText(v.tcp_state) : std::string("-"),
            formatDuration(sinceNs(nowNs, v.created_ns)),
            formatDuration(sinceNs(nowNs, v.last_seen_ns)));
    }
    return out;
}

nlohmann::json statsToJson(const svr_stats& stats)
{
    nlohmann::json verdicts = nlohmann::json::object();
    for (unsigned i = 0; i < SVR_VERDICT_MAX; ++i) {
        verdicts[verdictName(i)] = {{"packets", stats.verdict_packets[i]},
                                    {"bytes", stats.verdict_bytes[i]}};
    }
    nlohmann::json drop = nlohmann::json::object();
    for (unsigned i = 0; i < SVR_DROP_REASON_MAX; ++i) {
        drop[dropReasonName(i)] = stats.drop_packets[i];
    }
    nlohmann::json pass = nlohmann::json::object();
    for (unsigned i = 0; i < SVR_PASS_REASON_MAX; ++i) {
        pass[passReasonName(i)] = stats.pass_packets[i];
    }
    nlohmann::json punt = nlohmann::json::object();
    for (unsigned i = 0; i < SVR_PUNT_REASON_MAX; ++i) {
        punt[puntReasonName(i)] = stats.punt_packets[i];
    }
    return nlohmann::json{{"verdicts", verdicts},
                          {"drop", drop},
                          {"pass", pass},
                          {"punt", punt},
                          {"tc", {{"local_packets", stats.tc_local_packets},
                                  {"local_bytes", stats.tc_local_bytes},
                                  {"dscp_marked", stats.tc_dscp_marked},
                                  {"forwarded_packets", stats.tc_forwarded_packets},
                                  {"forwarded_bytes", stats.tc_forwarded_bytes}}}};
}

std::string formatStats(const svr_stats& stats)
{
    std::string out;
    for (unsigned i = 0; i < SVR_VERDICT_MAX; ++i) {
        out += fmt::format("{:<24} {:>14} packets {:>16} bytes\n", verdictName(i),
                           stats.verdict_packets[i], stats.verdict_bytes[i]);
    }
    const auto reasons = [&out](const char* kind, const __u64* counters, unsigned count,
                                const char* (*name)(unsigned)) {
        for (unsigned i = 0; i < count; ++i) {
            if (counters[i] != 0) {
                out += fmt::format("{:<24} {:>14} packets\n",
                                   fmt::format("{} {}", kind, name(i)), counters[i]);
            }
        }
    };
    reasons("drop", stats.drop_packets, SVR_DROP_REASON_MAX, dropReasonName);
    reasons("pass", stats.pass_packets, SVR_PASS_REASON_MAX, passReasonName);
    reasons("punt", stats.punt_packets, SVR_PUNT_REASON_MAX, puntReasonName);
    out += fmt::format("{:<24} {:>14} packets {:>16} bytes\n", "tc local",
                       stats.tc_local_packets, stats.tc_local_bytes);
    out += fmt::format("{:<24} {:>14} packets\n", "tc dscp marked", stats.tc_dscp_marked);
    out += fmt::format("{:<24} {:>14} packets {:>16} bytes\n", "tc kernel-forwarded",
                       stats.tc_forwarded_packets, stats.tc_forwarded_bytes);
    return out;
}

nlohmann::json puntMetaToJson(const svr_punt_meta& meta)
{
    return nlohmann::json{{"magic_ok", meta.magic == SVR_PUNT_MAGIC},
                          {"ingress_ifindex", meta.ingress_ifindex},
                          {"reason", puntReasonName(meta.reason)},
                          {"reason_code", meta.reason},
                          {"vlan_id", meta.vlan_id}};
}

} // namespace svr::fastpath

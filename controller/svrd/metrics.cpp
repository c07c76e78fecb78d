#include "svrd/metrics.hpp"

#include <set>

#include <fmt/format.h>

#include "fastpath/format.hpp"

namespace svr::svrd {
namespace {

using Labels = std::vector<std::pair<std::string_view, std::string>>;

// One metric family: # HELP and # TYPE once, then its samples together.
class Family {
public:
    Family(std::string& out, std::string_view name, std::string_view type, std::string_view help)
        : out_(out), name_(name)
    {
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    template <typename Value>
    void sample(const Labels& labels, Value value, std::string_view suffix = {})
    {
        out_ += name_;
        out_ += suffix;
        if (!labels.empty()) {
            out_ += '{';
            for (std::size_t i = 0; i < labels.size(); ++i) {
                out_ += fmt::format("{}{}=\"{}\"", i == 0 ? "" : ",", labels[i].first,
                                    escapeLabelValue(labels[i].second));
            }
            out_ += '}';
        }
        out_ += fmt::format(" {}\n", value);
    }

private:
    std::string& out_;
    std::string_view name_;
};

// Prometheus float text: integers without exponent, +Inf spelled its way.
std::string floatText(double value)
{
    return fmt::format("{}", value);
}

void renderInterfaces(std::string& out, const Snapshot& snapshot)
{
    const auto each = [&snapshot](auto&& body) {
        for (const auto& interface : snapshot.interfaces) {
            body(interface);
        }
    };
    {
        Family family(out, "svr_interface_up", "gauge",
                      "1 if the attached router interface is up and running.");
        each([&](const InterfaceSnapshot& i) {
            family.sample({{"interface", i.name}}, i.operUp ? 1 : 0);
        });
    }
    {
        Family family(out, "svr_interface_packets_total", "counter",
                      "Packets the XDP program saw on the interface, by verdict.");
        each([&](const InterfaceSnapshot& i) {
            for (unsigned v = 0; v < SVR_VERDICT_MAX; ++v) {
                family.sample({{"interface", i.name}, {"verdict", fastpath::verdictName(v)}},
                              i.stats.verdict_packets[v]);
            }
        });
    }
    {
        Family family(out, "svr_interface_bytes_total", "counter",
                      "Bytes (L2 frame length) the XDP program saw on the interface, by verdict.");
        each([&](const InterfaceSnapshot& i) {
            for (unsigned v = 0; v < SVR_VERDICT_MAX; ++v) {
                family.sample({{"interface", i.name}, {"verdict", fastpath::verdictName(v)}},
                              i.stats.verdict_bytes[v]);
            }
        });
    }
    {
        Family family(out, "svr_interface_dropped_packets_total", "counter",
                      "Packets the fast path dropped, by reason.");
        each([&](const InterfaceSnapshot& i) {
            for (unsigned r = 0; r < SVR_DROP_REASON_MAX; ++r) {
                family.sample({{"interface", i.name}, {"reason", fastpath::dropReasonName(r)}},
                              i.stats.drop_packets[r]);
            }
        });
    }
    {
        Family family(out, "svr_interface_passed_packets_total", "counter",
                      "Packets the fast path handed to the kernel stack, by reason.");
        each([&](const InterfaceSnapshot& i) {
            for (unsigned r = 0; r < SVR_PASS_REASON_MAX; ++r) {
                family.sample({{"interface", i.name}, {"reason", fastpath::passReasonName(r)}},
                              i.stats.pass_packets[r]);
            }
        });
    }
    {
        Family family(out, "svr_interface_punted_packets_total", "counter",
                      "Packets the fast path punted to svrd, by reason.");
        each([&](const InterfaceSnapshot& i) {
            for (unsigned r = 0; r < SVR_PUNT_REASON_MAX; ++r) {
                family.sample({{"interface", i.name}, {"reason", fastpath::puntReasonName(r)}},
                              i.stats.punt_packets[r]);
            }
        });
    }
    {
        Family family(out, "svr_dos_dropped_packets_total", "counter",
                      "New-session packets dropped by the per-source DoS limit (also in "
                      "svr_interface_dropped_packets_total{reason=\"dos_limit\"}).");
        each([&](const InterfaceSnapshot& i) {
            family.sample({{"interface", i.name}}, i.stats.drop_packets[SVR_DROP_DOS_LIMIT]);
        });
    }
    {
        Family family(out, "svr_interface_local_packets_total", "counter",
                      "Locally originated packets seen by the TC egress program.");
        each([&](const InterfaceSnapshot& i) {
            family.sample({{"interface", i.name}}, i.stats.tc_local_packets);
        });
    }
    {
        Family family(out, "svr_interface_kernel_forwarded_packets_total", "counter",
                      "Packets the kernel forwarded out of the interface (seen by the TC egress "
                      "program; the fast path's own are in svr_interface_packets_total).");
        each([&](const InterfaceSnapshot& i) {
            family.sample({{"interface", i.name}}, i.stats.tc_forwarded_packets);
        });
    }
}

void renderSessions(std::string& out, const Snapshot& snapshot,
                    const std::vector<fastpath::SessionEntry>& sessions)
{
    const auto active = activeSessionsByClass(snapshot, sessions);
    {
        Family family(out, "svr_sessions_active", "gauge",
                      "Sessions in the fast path's table, by tenant and service.");
        for (const auto& [cls, count] : active) {
            family.sample({{"tenant", cls.first}, {"service", cls.second}}, count);
        }
    }
    {
        Family family(out, "svr_sessions_created_total", "counter",
                      "Sessions svrd installed, by tenant and service.");
        for (const auto& [cls, counts] : snapshot.sessionClasses) {
            family.sample({{"tenant", cls.first}, {"service", cls.second}}, counts.created);
        }
    }
    {
        Family family(out, "svr_sessions_expired_total", "counter",
                      "Sessions that aged out (idle or TCP closed), by tenant and service.");
        for (const auto& [cls, counts] : snapshot.sessionClasses) {
            family.sample({{"tenant", cls.first}, {"service", cls.second}}, counts.expired);
        }
    }
}

void renderControllerCounters(std::string& out, const Snapshot& snapshot)
{
    {
        Family family(out, "svr_metadata_failures_total", "counter",
                      "SVR metadata that svrd refused, by reason.");
        for (const auto& [name, value] : snapshot.counters) {
            if (name.starts_with(kMetadataFailurePrefix)) {
                family.sample({{"reason", name.substr(kMetadataFailurePrefix.size())}}, value);
            }
        }
    }
    {
        Family family(out, "svr_controller_dropped_packets_total", "counter",
                      "First packets svrd dropped (policy, parse, NAT, neighbour...), by reason.");
        for (const auto& [name, value] : snapshot.counters) {
            if (name.starts_with("drop.") && !name.starts_with(kMetadataFailurePrefix)) {
                family.sample({{"reason", name.substr(5)}}, value);
            }
        }
    }
    {
        Family family(out, "svr_controller_punts_received_total", "counter",
                      "Punted packets svrd received from the fast path.");
        const auto found = snapshot.counters.find("punt.received");
        family.sample({}, found == snapshot.counters.end() ? 0 : found->second);
    }
}

void renderPeers(std::string& out, const Snapshot& snapshot)
{
    Family family(out, "svr_peer_path_up", "gauge",
                  "1 if the local interface of a configured peer adjacency is attached and up.");
    for (const auto& peer : snapshot.peers) {
        for (const auto& path : peer.paths) {
            family.sample({{"peer", peer.name},
                           {"interface", path.interface},
                           {"peer_waypoint", path.peerWaypoint}},
                          path.up ? 1 : 0);
        }
    }
}

void renderHistogram(std::string& out, const Snapshot& snapshot)
{
    const HistogramSnapshot& h = snapshot.firstPacketLatency;
    Family family(out, "svr_first_packet_duration_seconds", "histogram",
                  "Time svrd took for a punted first packet, from receipt to sent or refused.");
    for (std::size_t i = 0; i < h.upperBoundsSeconds.size(); ++i) {
        family.sample({{"le", floatText(h.upperBoundsSeconds[i])}}, h.cumulativeCounts[i],
                      "_bucket");
    }
    family.sample({{"le", "+Inf"}}, h.count, "_bucket");
    family.sample({}, floatText(h.sumSeconds), "_sum");
    family.sample({}, h.count, "_count");
}

} // namespace

std::string escapeLabelValue(std::string_view value)
{
    std::string escaped;
    escaped.reserve(value.size());
    for (const char c : value) {
        switch (c) {
        case '\\': escaped += "\\\\"; break;
        case '"': escaped += "\\\""; break;
        case '\n': escaped += "\\n"; break;
        default: escaped += c;
        }
    }
    return escaped;
}

std::map<SessionClassCounters::Class, std::uint64_t>
activeSessionsByClass(const Snapshot& snapshot, const std::vector<fastpath::SessionEntry>& entries)
{
    std::map<SessionClassCounters::Class, std::uint64_t> active;
    std::set<std::uint64_t> seen;
    for (const auto& entry : entries) {
        if (seen.insert(entry.value.session_id).second) {
            ++active[{snapshot.tenantOf(entry.value.tenant_id),
                      snapshot.serviceOf(entry.value.service_id)}];
        }
    }
    return active;
}

std::string renderMetrics(const Snapshot& snapshot,
                          const std::vector<fastpath::SessionEntry>& sessions)
{
    std::string out;
    {
        Family family(out, "svr_info", "gauge", "The router this svrd controls (always 1).");
        family.sample({{"router", snapshot.router}}, 1);
    }
    renderInterfaces(out, snapshot);
    renderSessions(out, snapshot, sessions);
    renderControllerCounters(out, snapshot);
    renderPeers(out, snapshot);
    renderHistogram(out, snapshot);
    return out;
}

} // namespace svr::svrd

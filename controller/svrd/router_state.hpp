// Everything one svrd instance knows about its router, shared by the pipeline (first
// packets), the lifecycle (aging, adoption, policy re-checks) and the event loops. The daemon
// guards it with one mutex (svrd/daemon.cpp): every queue's loop and the timer thread take it
// around their work on it.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/model.hpp"
#include "fastpath/fastpath.hpp"
#include "fastpath/punt_socket.hpp"
#include "policy/policy_engine.hpp"
#include "svrd/fabric.hpp"
#include "svrd/flow_export.hpp"
#include "svrd/neighbours.hpp"
#include "svrd/session_manager.hpp"

namespace svr::svrd {

// Named event counters ("drop.policy.no-matching-policy", "sessions.created", ...), written
// to the status file. Names, not an enum: the set grows with punt reasons and drop causes.
// add() runs several times per first packet: a hash index over the sorted map finds a name
// without building a std::string (the map's nodes, hence the indexed values, never move).
class Counters {
public:
    void add(std::string_view name, std::uint64_t count = 1)
    {
        if (const auto found = index_.find(name); found != index_.end()) {
            *found->second += count;
            return;
        }
        const auto [inserted, added] = values_.emplace(std::string(name), 0);
        inserted->second += count;
        index_.emplace(inserted->first, &inserted->second);
    }
    std::uint64_t get(std::string_view name) const
    {
        const auto found = index_.find(name);
        return found == index_.end() ? 0 : *found->second;
    }
    const std::map<std::string, std::uint64_t>& all() const { return values_; }

    Counters() = default;
    // The index points into values_: a copy builds its own.
    Counters(const Counters& other) : values_(other.values_) { reindex(); }
    Counters& operator=(const Counters& other)
    {
        if (this != &other) {
            values_ = other.values_;
            reindex();
        }
        return *this;
    }
    Counters(Counters&&) = default; // nodes move with the map: the index stays valid
    Counters& operator=(Counters&&) = default;

private:
    void reindex()
    {
        index_.clear();
        for (auto& [name, value] : values_) {
            index_.emplace(name, &value);
        }
    }

    std::map<std::string, std::uint64_t> values_;
    std::unordered_map<std::string_view, std::uint64_t*> index_; // keys view values_' names
};

// Every first-packet handling time since start in fixed buckets, for Prometheus
// (svr_first_packet_duration_seconds): never reset, so rates over any window work.
class LatencyHistogram {
public:
    static constexpr std::array<std::uint64_t, 14> kUpperBoundsNs = {
        1'000,     2'500,     5'000,      10'000,     25'000,      50'000,      100'000,
        250'000,   500'000,   1'000'000,  2'500'000,  10'000'000,  100'000'000, 1'000'000'000};
    void add(std::uint64_t ns)
    {
        const auto bucket = std::lower_bound(kUpperBoundsNs.begin(), kUpperBoundsNs.end(), ns);
        ++counts_[static_cast<std::size_t>(bucket - kUpperBoundsNs.begin())];
        sumNs_ += ns;
    }
    // Samples <= kUpperBoundsNs[i], for each i (Prometheus buckets are cumulative).
    std::array<std::uint64_t, kUpperBoundsNs.size()> cumulativeCounts() const;
    std::uint64_t count() const; // every sample (the +Inf bucket)
    std::uint64_t sumNs() const { return sumNs_; }

private:
    std::array<std::uint64_t, kUpperBoundsNs.size() + 1> counts_{}; // last: above every bound
    std::uint64_t sumNs_ = 0;
};

// First-packet handling times (punt received → sent or refused) of the last kSamples packets,
// for the status file's p50/p99: the latency svrd adds to a session's first packet. Every
// time also goes to the histogram.
class LatencySamples {
public:
    static constexpr std::size_t kSamples = 4096;
    void add(std::uint64_t ns)
    {
        histogram_.add(ns);
        if (samples_.size() < kSamples) {
            samples_.push_back(ns);
        } else {
            samples_[next_] = ns;
        }
        next_ = (next_ + 1) % kSamples;
    }
    // The q-quantile (0..1) in nanoseconds; 0 without samples.
    std::uint64_t quantile(double q) const;
    std::size_t count() const { return samples_.size(); }
    const LatencyHistogram& histogram() const { return histogram_; }

private:
    std::vector<std::uint64_t> samples_;
    std::size_t next_ = 0;
    LatencyHistogram histogram_;
};

// Sessions created and expired per (tenant, service) name, for Prometheus. The session
// table's tenant_id/service_id are resolved with the configuration current when counted.
class SessionClassCounters {
public:
    struct Counts {
        std::uint64_t created = 0;
        std::uint64_t expired = 0;
    };
    using Class = std::pair<std::string, std::string>; // tenant, service ("" when none)

    void created(const config::Config& config, const svr_session_value& value)
    {
        ++counts_[classOf(config, value)].created;
    }
    void expired(const config::Config& config, const svr_session_value& value)
    {
        ++counts_[classOf(config, value)].expired;
    }
    const std::map<Class, Counts>& all() const { return counts_; }

private:
    static Class classOf(const config::Config& config, const svr_session_value& value);
    std::map<Class, Counts> counts_;
};

// Names of the session table's 1-based tenant_id/service_id; "" for 0 or an unknown id.
std::string tenantName(const config::Config& config, std::uint32_t tenantId);
std::string serviceName(const config::Config& config, std::uint32_t serviceId);

// A router interface of the configuration, attached, with its punt sockets (one per rx
// queue; the first also sends first packets out).
struct Port {
    std::string name;
    std::uint32_t ifindex = 0;
    fastpath::MacAddress mac{};
    std::vector<std::unique_ptr<fastpath::PuntSocket>> sockets;
};

struct RouterState {
    std::shared_ptr<const config::Config> config;
    std::unique_ptr<policy::PolicyEngine> policy;
    std::map<std::uint32_t, Port> ports; // by ifindex
    fastpath::MapFds maps;
    SessionIndex sessions;
    AgingSchedule aging; // when each indexed session is next checked for expiry
    NatPools nat;
    std::unique_ptr<Fabric> fabric;
    Counters counters;
    LatencySamples firstPacketLatency;
    SessionClassCounters sessionClasses;
    std::unique_ptr<FlowExport> flowExport; // IPFIX; null when not configured
    std::uint64_t nextSessionId = 1;

    const Port* portByName(std::string_view name) const;
    Port* portByIfindex(std::uint32_t ifindex);

    // The peer path a new session takes to the peer: the first usable adjacency in priority
    // order whose interface is attached and has a waypoint of the peer waypoint's family,
    // whatever the session's family (a session of the other family is translated).
    const config::Adjacency* peerPathFor(std::string_view peer) const;
    // Whether a route can carry a new session of the family now.
    bool routeUsable(const config::ServiceRoute& route, config::Family family) const;
    // Gives back the NAT and waypoint ports a session holds.
    void releaseLeases(const SessionRecord& record);
    // Whether an address is the waypoint of one of this router's interfaces.
    bool isLocalWaypoint(const config::IpAddress& address) const;
};

// Source-NAT pools of a configuration: every address of every interface a source-NAT route
// leaves through, with the interface's nat-ports range.
NatPools natPoolsOf(const config::Config& config);

// The interface's address of a family (the first configured), if any.
std::optional<config::IpAddress> interfaceAddress(const config::Interface& interface,
                                                  config::Family family);

} // namespace svr::svrd

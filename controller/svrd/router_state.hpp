// Everything one svrd instance knows about its router, shared by the pipeline (first
// packets), the lifecycle (aging, adoption, policy re-checks) and the event loop. One thread
// owns it: no locks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "fastpath/fastpath.hpp"
#include "fastpath/punt_socket.hpp"
#include "policy/policy_engine.hpp"
#include "svrd/neighbours.hpp"
#include "svrd/session_manager.hpp"

namespace svr::svrd {

// Named event counters ("drop.policy.no-matching-policy", "sessions.created", ...), written
// to the status file. Names, not an enum: the set grows with punt reasons and drop causes.
class Counters {
public:
    void add(const std::string& name, std::uint64_t count = 1) { values_[name] += count; }
    std::uint64_t get(const std::string& name) const
    {
        const auto found = values_.find(name);
        return found == values_.end() ? 0 : found->second;
    }
    const std::map<std::string, std::uint64_t>& all() const { return values_; }

private:
    std::map<std::string, std::uint64_t> values_;
};

// First-packet handling times (punt received → sent or refused) of the last kSamples packets,
// for the status file's p50/p99: the latency svrd adds to a session's first packet.
class LatencySamples {
public:
    static constexpr std::size_t kSamples = 4096;
    void add(std::uint64_t ns)
    {
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

private:
    std::vector<std::uint64_t> samples_;
    std::size_t next_ = 0;
};

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
    NatPools nat;
    Counters counters;
    LatencySamples firstPacketLatency;
    std::uint64_t nextSessionId = 1;

    const Port* portByName(std::string_view name) const;
    Port* portByIfindex(std::uint32_t ifindex);
};

// Source-NAT pools of a configuration: every address of every interface a source-NAT route
// leaves through, with the interface's nat-ports range.
NatPools natPoolsOf(const config::Config& config);

// The interface's address of a family (the first configured), if any.
std::optional<config::IpAddress> interfaceAddress(const config::Interface& interface,
                                                  config::Family family);

} // namespace svr::svrd

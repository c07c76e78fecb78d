// Bulk install of benchmark sessions into a router's pinned session map: one
// `svrctl session add` per flow is too slow for 100k or 1M flows. Entries are built and
// written by svr_fastpath (what svrctl uses) into the mapped table, in one process.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "traffic.hpp"

namespace svr::bench {

struct SessionPlan {
    std::string sessionMapPin;  // /sys/fs/bpf/svr/<router>/sessions (its directory: the pins)
    std::string ingress;        // router interface the flows arrive on
    std::string egress;         // router interface towards the sink
    FlowSet flowSet;            // the generator's flows: one session per flow
    std::uint32_t newSrcAddr = 0; // host order; SNAT address of the first source address:
                                  // each source address maps 1:1 from here, ports kept, so
                                  // reply keys stay unique (a NETMAP, as nft's `snat prefix`)
    std::uint32_t newDstAddr = 0; // host order; DNAT address (port kept)
    std::array<std::uint8_t, 6> nextHopMac{};
    bool reverse = false;         // also the reply direction (back out of `ingress`)
    std::array<std::uint8_t, 6> reverseNextHopMac{};
};

// Installs one session per flow with a source and destination rewrite (forward direction,
// and the reply direction with `reverse`); returns how many map entries were written. Must
// run in the router's namespace (ifindexes).
Result<std::uint64_t> installSessions(const SessionPlan& plan);

} // namespace svr::bench

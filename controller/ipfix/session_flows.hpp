// From svr's session table to flow records: one record per direction of a session (RFC 5103
// biflow semantics without the reverse elements: the two records share flowId and carry
// biflowDirection), counters as deltas since the previous record of the same direction plus
// the running totals, times converted from CLOCK_MONOTONIC to Unix milliseconds.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fastpath/session.hpp"
#include "ipfix/encoder.hpp"

namespace svr::ipfix {

// The two table entries of one session (reverse may be missing: half a pair).
struct SessionFlows {
    std::uint64_t id = 0;
    const fastpath::SessionEntry* forward = nullptr; // the initiator's direction
    const fastpath::SessionEntry* reverse = nullptr;
    std::string tenant;
    std::string service;
};

// CLOCK_MONOTONIC (the session table's clock) to Unix time, sampled once per export.
class WallClock {
public:
    static WallClock now();
    explicit WallClock(std::int64_t realtimeMinusMonotonicNs)
        : offsetNs_(realtimeMinusMonotonicNs)
    {
    }
    std::uint64_t unixMs(std::uint64_t monotonicNs) const;

private:
    std::int64_t offsetNs_;
};

// The record of one direction with the given deltas (totals come from the entry).
// Octets are IP octets: the table counts L2 frames, so the Ethernet header (and the 802.1Q
// tag of a tagged key) is taken off per packet.
FlowRecord flowRecordOf(const fastpath::SessionEntry& entry, const SessionFlows& session,
                        BiflowDirection direction, std::uint64_t packetDelta,
                        std::uint64_t octetDelta, EndReason reason, const WallClock& clock);

// IP octets of an entry's L2 byte count.
std::uint64_t ipOctets(const fastpath::SessionEntry& entry);

// What was reported per session, for deltas and the active timeout.
class SessionFlowMeter {
public:
    // startNs: when this meter (this svrd) started, CLOCK_MONOTONIC. A session created before
    // it was re-adopted after a restart; the previous svrd may have exported part of its
    // counts, so the first sight of it sets the baseline instead of reporting everything
    // again (a collector summing deltas would count it twice).
    explicit SessionFlowMeter(std::chrono::seconds activeTimeout, std::uint64_t startNs = 0)
        : activeTimeout_(activeTimeout), startNs_(startNs)
    {
    }
    void setActiveTimeout(std::chrono::seconds activeTimeout) { activeTimeout_ = activeTimeout; }

    // Final records (each direction that ever carried a packet); the session is forgotten.
    std::vector<FlowRecord> ended(const SessionFlows& session, EndReason reason,
                                  const WallClock& clock);
    // Periodic records (reason activeTimeout) once activeTimeout passed since the session's
    // start or its last report; only directions with new packets.
    std::vector<FlowRecord> active(const SessionFlows& session, std::uint64_t nowNs,
                                   const WallClock& clock);
    // Forgets sessions that left the table without an end seen here (svrctl delete).
    void retainOnly(const std::unordered_set<std::uint64_t>& live);
    std::size_t tracked() const { return reported_.size(); }

private:
    struct Reported {
        std::array<std::uint64_t, 2> packets{}; // forward, reverse
        std::array<std::uint64_t, 2> octets{};
        std::uint64_t lastReportNs = 0;
    };
    std::vector<FlowRecord> records(const SessionFlows& session, Reported& reported,
                                    EndReason reason, bool onlyNewPackets,
                                    const WallClock& clock);

    // The baseline of a session seen for the first time that predates this meter.
    bool baselined(const SessionFlows& session, std::uint64_t nowNs);

    std::chrono::seconds activeTimeout_;
    std::uint64_t startNs_;
    std::unordered_map<std::uint64_t, Reported> reported_;
};

} // namespace svr::ipfix

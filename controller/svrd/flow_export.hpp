// svrd's IPFIX export (docs/ipfix.md): final records when sessions end (expiry, removal by a
// reload), periodic ones for long sessions on each expiry scan. Exists only when the
// configuration has router/ipfix; RouterState::flowExport is null otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/result.hpp"
#include "config/model.hpp"
#include "fastpath/session.hpp"
#include "ipfix/exporter.hpp"
#include "ipfix/session_flows.hpp"
#include "svrd/session_manager.hpp"

namespace svr::svrd {

class FlowExport {
public:
    static Result<std::unique_ptr<FlowExport>> open(const config::IpfixExport& settings);

    // A reload: a new exporter when the collector settings changed; what was reported per
    // session is kept, so deltas stay right.
    Status reconfigure(const config::IpfixExport& settings);

    // One expiry scan over a table snapshot: final records of the expired sessions (idle:
    // idleTimeout, TCP closed: endOfFlowDetected), periodic records of the others. Call
    // while the expired sessions are still in the index (it says which entry is forward).
    void scanned(const config::Config& config, const SessionIndex& index,
                 const std::vector<fastpath::SessionEntry>& snapshot,
                 const std::vector<ExpiredSession>& expired, std::uint64_t nowNs);

    // Sessions svrd removed itself (no longer permitted after a reload, or deleted by an
    // operator through the REST API): forcedEnd, with the entries as they were just before.
    void removed(const config::Config& config, const SessionIndex& index,
                 const std::vector<fastpath::SessionEntry>& entries);

    const config::IpfixExport& settings() const { return settings_; }

private:
    FlowExport(config::IpfixExport settings, std::unique_ptr<ipfix::Exporter> exporter);
    void send(const std::vector<ipfix::FlowRecord>& records);

    config::IpfixExport settings_;
    std::unique_ptr<ipfix::Exporter> exporter_;
    ipfix::SessionFlowMeter meter_;
    bool failing_ = false; // log a failure once, and the recovery
};

// Creates, reconfigures or drops `current` to match the configuration.
Status configureFlowExport(std::unique_ptr<FlowExport>& current,
                           const std::optional<config::IpfixExport>& settings);

} // namespace svr::svrd

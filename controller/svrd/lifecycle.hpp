// Session lifecycle against the kernel's table: adoption after a restart, the periodic
// expiry scan, and the policy re-check after a configuration reload.
#pragma once

#include <cstdint>

#include "common/result.hpp"
#include "svrd/router_state.hpp"

namespace svr::svrd {

// Rebuilds the session index and the NAT port reservations from the table (a restarted
// svrd). The forward direction of a pair is the entry whose first packet the policy permits
// (a source-NAT session: the entry translating to a NAT address). Returns sessions adopted.
Result<std::size_t> adoptSessions(RouterState& state);

// One full expiry scan: the table in batches, expired sessions deleted in one batch (both
// directions together), their NAT ports released; also ages entries svrd has no record of
// (svrctl sessions, half pairs) and forgets records whose entries vanished. Every tick with
// IPFIX export (its periodic records need the counters), otherwise a slow sweep beside
// ageDueSessions. Returns sessions expired.
Result<std::size_t> expireSessions(RouterState& state, std::uint64_t nowNs);

// Checks the sessions whose aging deadline (state.aging) has come: two lookups each; expired
// ones are deleted in one batch, the others rescheduled; a session whose entries are all
// gone is forgotten (its ports released). At most maxChecks sessions per call (the earliest
// due; the others stay due): the caller holds the lock every event loop waits for. Returns
// sessions expired.
Result<std::size_t> ageDueSessions(RouterState& state, std::uint64_t nowNs,
                                   std::size_t maxChecks = static_cast<std::size_t>(-1));

// The first aging check of a session the index just took: when its first packet alone
// would expire it.
void scheduleFirstAgingCheck(RouterState& state, const SessionRecord& record,
                             std::uint32_t idleTimeoutSeconds, std::uint64_t nowNs);

// Re-runs the first-packet decision for every session's forward direction under the
// current configuration and removes the sessions it no longer permits.
Result<std::size_t> removeUnpermittedSessions(RouterState& state);

// Removes sessions (both directions) from the table and the index, releasing their leases
// (also used for an operator's delete through the REST API).
Status eraseSessions(RouterState& state, const std::vector<std::uint64_t>& ids);

// A packet svrd forwarded itself on an entry the fast path punts every packet of (action
// PUNT: payload encryption): the fast path counted nothing, so svrd adds it to the entry's
// packets, bytes, TCP state and last-seen time, which keeps an active session from aging out.
void recordForwarded(RouterState& state, const svr_session_key& key, std::size_t frameBytes,
                     std::uint8_t tcpFlags);

// Whether the current policy still admits this session's first packet.
bool sessionPermitted(const RouterState& state, const svr_session_key& forward);
// The same for a recorded session, judging a session from an SVR peer by its metadata.
bool sessionPermitted(const RouterState& state, const SessionRecord& record);

} // namespace svr::svrd

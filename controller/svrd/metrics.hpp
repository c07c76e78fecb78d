// Prometheus text exposition (format 0.0.4) of one snapshot plus the session table: svr_
// prefix, counters end in _total, times in seconds, every family with # HELP and # TYPE.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fastpath/session.hpp"
#include "svrd/snapshot.hpp"

namespace svr::svrd {

// svrd counters named kMetadataFailurePrefix + reason become
// svr_metadata_failures_total{reason="..."}.
inline constexpr std::string_view kMetadataFailurePrefix = "drop.metadata.";

// Sessions in the table per (tenant, service) name: entries grouped by session_id.
std::map<SessionClassCounters::Class, std::uint64_t>
activeSessionsByClass(const Snapshot& snapshot, const std::vector<fastpath::SessionEntry>& entries);

std::string renderMetrics(const Snapshot& snapshot,
                          const std::vector<fastpath::SessionEntry>& sessions);

// A label value with \, " and newline escaped.
std::string escapeLabelValue(std::string_view value);

} // namespace svr::svrd

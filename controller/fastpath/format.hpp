// Human (table) and machine (JSON) forms of sessions, statistics and punt metadata, shared
// by svrctl, svrd and the tests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fastpath/abi.hpp"
#include "fastpath/session.hpp"

namespace svr::fastpath {

using InterfaceNamer = std::function<std::string(std::uint32_t)>;

const char* verdictName(unsigned verdict);
const char* dropReasonName(unsigned reason);
const char* passReasonName(unsigned reason);
const char* puntReasonName(unsigned reason);
const char* actionName(unsigned action);
// "syn,ack,fin,rst" subset, "-" when none.
std::string tcpStateText(std::uint8_t state);
// "1.5s", "2m03s", "1h02m", "3d04h"
std::string formatDuration(std::uint64_t ns);

nlohmann::json sessionToJson(const SessionEntry& entry, std::uint64_t nowNs,
                             const InterfaceNamer& name);
nlohmann::json sessionsToJson(const std::vector<SessionEntry>& entries, std::uint64_t nowNs,
                              const InterfaceNamer& name);
// One line per direction, ordered by session id then ingress interface, with a header.
std::string formatSessionTable(std::vector<SessionEntry> entries, std::uint64_t nowNs,
                               const InterfaceNamer& name);

// {"verdicts": {"forward": {"packets": N, "bytes": N}, ...}, "drop": {reason: N}, "pass": {...},
//  "punt": {...}, "tc": {...}} - zero counters included, so keys are stable.
nlohmann::json statsToJson(const svr_stats& stats);
// Verdict lines always; reason lines only when non-zero.
std::string formatStats(const svr_stats& stats);

nlohmann::json puntMetaToJson(const svr_punt_meta& meta);

} // namespace svr::fastpath

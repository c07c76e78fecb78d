#include "svrd/flow_export.hpp"

#include <cstring>
#include <ctime>
#include <map>
#include <unordered_set>

#include "fastpath/session.hpp"
#include "svrd/log.hpp"
#include "svrd/router_state.hpp"

namespace svr::svrd {
namespace {

ipfix::ExporterOptions exporterOptions(const config::IpfixExport& settings)
{
    return ipfix::ExporterOptions{
        .collector = settings.collector,
        .port = settings.port,
        .observationDomainId = settings.observationDomainId,
        .templateRefresh = ipfix::TemplateRefresh{.interval = settings.templateRefresh,
                                                  .messages = settings.templateRefreshMessages},
    };
}

// The entries of each session id in a snapshot, the forward direction first: the one the
// index knows as forward, else (a session svrd did not install) the older key order.
struct Pair {
    const fastpath::SessionEntry* forward = nullptr;
    const fastpath::SessionEntry* reverse = nullptr;
};

std::map<std::uint64_t, Pair> pairsOf(const SessionIndex& index,
                                      const std::vector<fastpath::SessionEntry>& entries)
{
    std::map<std::uint64_t, Pair> pairs;
    for (const auto& entry : entries) {
        Pair& pair = pairs[entry.value.session_id];
        const SessionRecord* record = index.find(entry.value.session_id);
        const bool isReverse =
            record != nullptr ? std::memcmp(&record->reverse, &entry.key, sizeof(entry.key)) == 0
                              : pair.forward != nullptr;
        (isReverse ? pair.reverse : pair.forward) = &entry;
    }
    for (auto& [id, pair] : pairs) {
        if (pair.forward == nullptr) {
            std::swap(pair.forward, pair.reverse);
        }
    }
    return pairs;
}

ipfix::SessionFlows flowsOf(const config::Config& config, std::uint64_t id, const Pair& pair)
{
    return ipfix::SessionFlows{
        .id = id,
        .forward = pair.forward,
        .reverse = pair.reverse,
        .tenant = tenantName(config, pair.forward->value.tenant_id),
        .service = serviceName(config, pair.forward->value.service_id),
    };
}

ipfix::EndReason endReasonOf(ExpiryCause cause)
{
    return cause == ExpiryCause::tcpClosed ? ipfix::EndReason::endOfFlowDetected
                                           : ipfix::EndReason::idleTimeout;
}

} // namespace

Result<std::unique_ptr<FlowExport>> FlowExport::open(const config::IpfixExport& settings)
{
    auto exporter = ipfix::Exporter::open(exporterOptions(settings));
    if (!exporter) {
        return exporter.error();
    }
    logEvent("ipfix.exporting", {{"collector", settings.collector.toString()},
                                 {"port", settings.port},
                                 {"domain", settings.observationDomainId}});
    return std::unique_ptr<FlowExport>(new FlowExport(settings, std::move(*exporter)));
}

FlowExport::FlowExport(config::IpfixExport settings, std::unique_ptr<ipfix::Exporter> exporter)
    : settings_(std::move(settings)), exporter_(std::move(exporter)),
      meter_(settings_.activeTimeout, fastpath::monotonicNowNs())
{
}

Status FlowExport::reconfigure(const config::IpfixExport& settings)
{
    if (settings == settings_) {
        return {};
    }
    auto exporter = ipfix::Exporter::open(exporterOptions(settings));
    if (!exporter) {
        return exporter.error();
    }
    exporter_ = std::move(*exporter);
    settings_ = settings;
    meter_.setActiveTimeout(settings.activeTimeout);
    logEvent("ipfix.exporting", {{"collector", settings.collector.toString()},
                                 {"port", settings.port},
                                 {"domain", settings.observationDomainId}});
    return {};
}

void FlowExport::send(const std::vector<ipfix::FlowRecord>& records)
{
    const auto exportTime = static_cast<std::uint32_t>(std::time(nullptr));
    if (Status sent = exporter_->exportRecords(records, exportTime); !sent) {
        if (!failing_) {
            logEvent(LogLevel::warning, "ipfix.send-failed", {{"error", sent.error().describe()}});
        }
        failing_ = true;
    } else if (failing_) {
        logEvent("ipfix.send-recovered", {{"collector", settings_.collector.toString()}});
        failing_ = false;
    }
}

void FlowExport::scanned(const config::Config& config, const SessionIndex& index,
                         const std::vector<fastpath::SessionEntry>& snapshot,
                         const std::vector<ExpiredSession>& expired, std::uint64_t nowNs)
{
    const ipfix::WallClock clock = ipfix::WallClock::now();
    const auto pairs = pairsOf(index, snapshot);
    std::vector<ipfix::FlowRecord> records;
    std::unordered_set<std::uint64_t> ended;
    for (const auto& session : expired) {
        ended.insert(session.id);
        if (const auto pair = pairs.find(session.id); pair != pairs.end()) {
            auto final = meter_.ended(flowsOf(config, session.id, pair->second),
                                      endReasonOf(session.cause), clock);
            records.insert(records.end(), final.begin(), final.end());
        }
    }
    std::unordered_set<std::uint64_t> live;
    for (const auto& [id, pair] : pairs) {
        if (ended.contains(id)) {
            continue;
        }
        live.insert(id);
        auto periodic = meter_.active(flowsOf(config, id, pair), nowNs, clock);
        records.insert(records.end(), periodic.begin(), periodic.end());
    }
    meter_.retainOnly(live);
    send(records); // also the template refresh when no record is due
}

void FlowExport::removed(const config::Config& config, const SessionIndex& index,
                         const std::vector<fastpath::SessionEntry>& entries)
{
    const ipfix::WallClock clock = ipfix::WallClock::now();
    std::vector<ipfix::FlowRecord> records;
    for (const auto& [id, pair] : pairsOf(index, entries)) {
        auto final = meter_.ended(flowsOf(config, id, pair), ipfix::EndReason::forcedEnd, clock);
        records.insert(records.end(), final.begin(), final.end());
    }
    if (!records.empty()) {
        send(records);
    }
}

Status configureFlowExport(std::unique_ptr<FlowExport>& current,
                           const std::optional<config::IpfixExport>& settings)
{
    if (!settings) {
        if (current) {
            logEvent("ipfix.stopped");
        }
        current.reset();
        return {};
    }
    if (current) {
        return current->reconfigure(*settings);
    }
    auto opened = FlowExport::open(*settings);
    if (!opened) {
        return opened.error();
    }
    current = std::move(*opened);
    return {};
}

} // namespace svr::svrd

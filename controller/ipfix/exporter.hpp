// The IPFIX exporting process over UDP (RFC 7011 10.3): one connected socket to the
// collector, one observation domain, templates refreshed as configured. Sending never
// blocks the daemon: a full socket buffer or an unreachable collector loses the message,
// counted in sendErrors() (UDP export is lossy by design; the sequence numbers let the
// collector see the gap). A collector without a route yet (a management link that comes up
// after the daemon) is connected again at every export until the kernel has one.
#pragma once

#include <memory>
#include <span>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "config/ip.hpp"
#include "ipfix/encoder.hpp"

namespace svr::ipfix {

struct ExporterOptions {
    config::IpAddress collector;
    std::uint16_t port = kDefaultCollectorPort;
    std::uint32_t observationDomainId = 0;
    TemplateRefresh templateRefresh;
};

class Exporter {
public:
    static Result<std::unique_ptr<Exporter>> open(const ExporterOptions& options);

    // Sends the records (and the templates when due), exportTimeSeconds being the Unix time
    // of the export. Fails only when no message could be sent at all.
    Status exportRecords(std::span<const FlowRecord> records, std::uint32_t exportTimeSeconds);

    const ExporterOptions& options() const { return options_; }
    bool connected() const { return connected_; }
    std::uint64_t messagesSent() const { return messagesSent_; }
    std::uint64_t sendErrors() const { return sendErrors_; }

private:
    Exporter(ExporterOptions options, UniqueFd socket);
    Status connect();

    ExporterOptions options_;
    UniqueFd socket_;
    bool connected_ = false;
    MessageEncoder encoder_;
    std::uint64_t messagesSent_ = 0;
    std::uint64_t sendErrors_ = 0;
};

} // namespace svr::ipfix

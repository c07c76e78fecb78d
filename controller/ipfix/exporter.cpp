#include "ipfix/exporter.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace svr::ipfix {

Result<std::unique_ptr<Exporter>> Exporter::open(const ExporterOptions& options)
{
    const bool ipv6 = options.collector.family == config::Family::v6;
    UniqueFd socket(::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                             0));
    if (!socket.valid()) {
        return Error::fromErrno(errno, "IPFIX exporter socket");
    }
    std::unique_ptr<Exporter> exporter(new Exporter(options, std::move(socket)));
    // No route yet is not fatal: exportRecords() connects again.
    (void)exporter->connect();
    return exporter;
}

Exporter::Exporter(ExporterOptions options, UniqueFd socket)
    : options_(std::move(options)), socket_(std::move(socket)),
      encoder_(options_.observationDomainId, options_.templateRefresh)
{
}

Status Exporter::connect()
{
    sockaddr_storage address{};
    socklen_t addressLength = 0;
    if (options_.collector.family == config::Family::v6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(options_.port);
        std::memcpy(&in6->sin6_addr, options_.collector.bytes.data(), 16);
        addressLength = sizeof(sockaddr_in6);
    } else {
        auto* in4 = reinterpret_cast<sockaddr_in*>(&address);
        in4->sin_family = AF_INET;
        in4->sin_port = htons(options_.port);
        std::memcpy(&in4->sin_addr, options_.collector.bytes.data(), 4);
        addressLength = sizeof(sockaddr_in);
    }
    // Connected: the kernel picks the source address by route, and send() needs no address.
    if (::connect(socket_.get(), reinterpret_cast<const sockaddr*>(&address), addressLength) != 0) {
        return Error::fromErrno(errno, "IPFIX collector " + options_.collector.toString() +
                                           " port " + std::to_string(options_.port));
    }
    connected_ = true;
    return {};
}

Status Exporter::exportRecords(std::span<const FlowRecord> records,
                               std::uint32_t exportTimeSeconds)
{
    if (!connected_) {
        // Before encoding: records that cannot leave take no sequence numbers.
        if (Status connected = connect(); !connected) {
            ++sendErrors_;
            return connected;
        }
    }
    const auto messages = encoder_.encode(records, exportTimeSeconds);
    int lastError = 0;
    std::size_t sent = 0;
    for (const auto& message : messages) {
        if (::send(socket_.get(), message.data(), message.size(), MSG_DONTWAIT) < 0) {
            lastError = errno;
            ++sendErrors_;
            continue;
        }
        ++sent;
        ++messagesSent_;
    }
    if (lastError != 0) {
        // The templates may have been in a lost message: send them again next time.
        encoder_.resendTemplates();
    }
    if (sent == 0 && lastError != 0) {
        return Error::fromErrno(lastError, "IPFIX export to " + options_.collector.toString());
    }
    return {};
}

} // namespace svr::ipfix

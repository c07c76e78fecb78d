#include "svrd/session_manager.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace svr::svrd {
namespace {

constexpr std::uint64_t kNsPerSecond = 1'000'000'000ULL;
constexpr std::uint32_t kDefaultNotEstablishedSeconds = 10;

} // namespace

std::string keyBytes(const svr_session_key& key)
{
    return std::string(reinterpret_cast<const char*>(&key), sizeof(key));
}

config::IpAddress toConfigAddress(std::uint8_t family, const std::uint8_t* bytes)
{
    config::IpAddress address;
    address.family = family == SVR_FAMILY_IPV4 ? config::Family::v4 : config::Family::v6;
    std::memcpy(address.bytes.data(), bytes, family == SVR_FAMILY_IPV4 ? 4 : 16);
    return address;
}

config::IpAddress toConfigAddress(const fastpath::IpAddress& address)
{
    return toConfigAddress(address.family, address.bytes.data());
}

fastpath::IpAddress toFastpathAddress(const config::IpAddress& address)
{
    fastpath::IpAddress out;
    out.family = address.family == config::Family::v4 ? SVR_FAMILY_IPV4 : SVR_FAMILY_IPV6;
    std::memcpy(out.bytes.data(), address.bytes.data(), address.family == config::Family::v4 ? 4 : 16);
    return out;
}

std::map<std::uint64_t, std::vector<fastpath::SessionEntry>>
groupBySession(const std::vector<fastpath::SessionEntry>& entries)
{
    std::map<std::uint64_t, std::vector<fastpath::SessionEntry>> groups;
    for (const auto& entry : entries) {
        groups[entry.value.session_id].push_back(entry);
    }
    return groups;
}

std::optional<SessionAge> sessionAge(const std::vector<fastpath::SessionEntry>& group,
                                     std::uint32_t notEstablishedTimeoutSeconds)
{
    if (group.empty()) {
        return std::nullopt;
    }
    std::uint64_t lastSeen = 0;
    bool reset = false;
    bool finBoth = true;
    bool ackBoth = true;
    for (const auto& entry : group) {
        lastSeen = std::max<std::uint64_t>(lastSeen, entry.value.last_seen_ns);
        reset = reset || (entry.value.tcp_state & SVR_TCP_SEEN_RST);
        finBoth = finBoth && (entry.value.tcp_state & SVR_TCP_SEEN_FIN);
        ackBoth = ackBoth && (entry.value.tcp_state & SVR_TCP_SEEN_ACK);
    }
    SessionAge age;
    std::uint64_t timeoutSeconds = group.front().value.idle_timeout_s;
    if (group.front().key.proto == IPPROTO_TCP) {
        if (reset || finBoth) {
            timeoutSeconds = static_cast<std::uint64_t>(kTcpClosingTimeout.count());
            age.cause = ExpiryCause::tcpClosed;
        } else {
            age.tcpOpen = true;
            if (!ackBoth) {
                timeoutSeconds = notEstablishedTimeoutSeconds;
            }
        }
    }
    if (timeoutSeconds == 0) {
        return std::nullopt; // a static session (svrctl): no idle expiry
    }
    age.deadlineNs = lastSeen + timeoutSeconds * kNsPerSecond;
    return age;
}

std::vector<ExpiredSession> findExpired(const std::vector<fastpath::SessionEntry>& entries,
                                        std::uint64_t nowNs,
                                        const std::unordered_map<std::uint64_t, std::uint32_t>&
                                            notEstablishedTimeouts)
{
    std::vector<ExpiredSession> expired;
    for (const auto& [id, group] : groupBySession(entries)) {
        const auto found = notEstablishedTimeouts.find(id);
        const auto age = sessionAge(group, found == notEstablishedTimeouts.end()
                                               ? kDefaultNotEstablishedSeconds
                                               : found->second);
        if (!age || nowNs < age->deadlineNs) {
            continue;
        }
        ExpiredSession session{.id = id, .cause = age->cause, .keys = {}};
        for (const auto& entry : group) {
            session.keys.push_back(entry.key);
        }
        expired.push_back(std::move(session));
    }
    return expired;
}

void NatPools::addAddress(const config::IpAddress& address, config::PortRange range)
{
    pools_.try_emplace(address, range, policy::Parity::any);
}

bool NatPools::hasAddress(const config::IpAddress& address) const
{
    return pools_.contains(address);
}

Result<std::uint16_t> NatPools::allocate(const config::IpAddress& address)
{
    const auto pool = pools_.find(address);
    if (pool == pools_.end()) {
        return Error::invalid(fmt::format("no source-NAT pool for {}", address.toString()));
    }
    return pool->second.allocate();
}

Status NatPools::reserve(const config::IpAddress& address, std::uint16_t port)
{
    const auto pool = pools_.find(address);
    if (pool == pools_.end()) {
        return Error::invalid(fmt::format("no source-NAT pool for {}", address.toString()));
    }
    return pool->second.reserve(port);
}

Status NatPools::release(const config::IpAddress& address, std::uint16_t port)
{
    const auto pool = pools_.find(address);
    if (pool == pools_.end()) {
        return Error::invalid(fmt::format("no source-NAT pool for {}", address.toString()));
    }
    return pool->second.release(port);
}

const policy::PortPool* NatPools::pool(const config::IpAddress& address) const
{
    const auto pool = pools_.find(address);
    return pool == pools_.end() ? nullptr : &pool->second;
}

std::size_t SessionIndex::KeyHash::operator()(const svr_session_key& key) const
{
    return std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char*>(&key), sizeof(key)));
}

bool SessionIndex::KeyEqual::operator()(const svr_session_key& a, const svr_session_key& b) const
{
    return std::memcmp(&a, &b, sizeof(a)) == 0;
}

void SessionIndex::add(const SessionRecord& record)
{
    sessions_[record.id] = record;
    idByKey_[record.forward] = record.id;
    idByKey_[record.reverse] = record.id;
}

std::optional<SessionRecord> SessionIndex::remove(std::uint64_t id)
{
    const auto found = sessions_.find(id);
    if (found == sessions_.end()) {
        return std::nullopt;
    }
    SessionRecord record = found->second;
    sessions_.erase(found);
    for (const auto* key : {&record.forward, &record.reverse}) {
        const auto byKey = idByKey_.find(*key);
        if (byKey != idByKey_.end() && byKey->second == id) {
            idByKey_.erase(byKey);
        }
    }
    return record;
}

const SessionRecord* SessionIndex::find(std::uint64_t id) const
{
    const auto found = sessions_.find(id);
    return found == sessions_.end() ? nullptr : &found->second;
}

const SessionRecord* SessionIndex::findByKey(const svr_session_key& key) const
{
    const auto found = idByKey_.find(key);
    return found == idByKey_.end() ? nullptr : find(found->second);
}

std::unordered_map<std::uint64_t, std::uint32_t> SessionIndex::notEstablishedTimeouts() const
{
    std::unordered_map<std::uint64_t, std::uint32_t> timeouts;
    for (const auto& [id, record] : sessions_) {
        timeouts[id] = record.notEstablishedTimeoutSeconds;
    }
    return timeouts;
}

std::uint64_t SessionIndex::highestOwnId() const
{
    std::uint64_t highest = 0;
    for (const auto& [id, record] : sessions_) {
        if (id < SVR_SESSION_ID_MANUAL_BASE) {
            highest = std::max(highest, id);
        }
    }
    return highest;
}

} // namespace svr::svrd

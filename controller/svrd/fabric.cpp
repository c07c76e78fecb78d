#include "svrd/fabric.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <stdexcept>

#include "protocol/errors.hpp"

namespace svr::svrd {
namespace {

template <typename Context>
Context contextOf(const fastpath::IpAddress& source, const fastpath::IpAddress& destination,
                  std::uint16_t sourcePort, std::uint16_t destinationPort, std::uint8_t proto)
{
    Context context;
    std::memcpy(context.source.data(), source.bytes.data(), context.source.size());
    std::memcpy(context.destination.data(), destination.bytes.data(),
                context.destination.size());
    context.sourcePort = sourcePort;
    context.destinationPort = destinationPort;
    context.protocol = proto;
    return context;
}

} // namespace

Result<std::unique_ptr<Fabric>> Fabric::build(const config::Config& config)
{
    std::unique_ptr<Fabric> fabric(new Fabric(config));
    fabric->routerName_ = config.routerName;
    for (const auto& peer : config.peers) {
        const config::PeerKey* key = config.findPeerKey(peer.name, peer.keyGeneration);
        if (key == nullptr) {
            return Error::invalid(fmt::format("peer {}: no key of generation {}", peer.name,
                                              peer.keyGeneration));
        }
        auto sealer = protocol::MetadataSealer::create(protocol::PeerSecurityPolicy{});
        if (!sealer) {
            return sealer.error();
        }
        auto crypto = std::make_unique<PeerCrypto>(PeerCrypto{
            .ring = {},
            .sealer = std::move(*sealer),
            .replay = protocol::ReplayGuard::forPolicy(protocol::PeerSecurityPolicy{}, 1 << 18)});
        if (Status installed = crypto->ring.install(
                key->generation, protocol::PeerKeys{protocol::SecretKey(key->hmacKey),
                                                    protocol::SecretKey(key->metadataKey)});
            !installed) {
            return Error::invalid(fmt::format("peer {}: {}", peer.name,
                                              installed.error().describe()));
        }
        fabric->peers_.emplace(peer.name, std::move(crypto));
    }
    for (const auto& policy : config.payloadPolicies) {
        auto cipher = protocol::PayloadCipher::create(protocol::SecretKey(policy.key));
        if (!cipher) {
            return Error::invalid(fmt::format("payload policy {}: {}", policy.name,
                                              cipher.error().describe()));
        }
        fabric->payloadCiphers_.emplace(
            policy.name, std::make_unique<protocol::PayloadCipher>(std::move(*cipher)));
    }
    for (const auto& interface : config.interfaces) {
        if (interface.waypoint) {
            fabric->waypoints_.emplace(interface.name, interface.waypoint->address);
        }
        if (!interface.adjacencies.empty()) {
            fabric->adjacencies_.emplace(interface.name, interface.adjacencies);
        }
    }
    return fabric;
}

void Fabric::inheritReplayGuards(Fabric& previous)
{
    for (auto& [name, crypto] : peers_) {
        if (PeerCrypto* old = previous.peer(name)) {
            crypto->replay = std::move(old->replay);
        }
    }
}

PeerCrypto* Fabric::peer(std::string_view name)
{
    const auto found = peers_.find(name);
    return found == peers_.end() ? nullptr : found->second.get();
}

const config::Adjacency* Fabric::adjacencyFrom(std::string_view interface,
                                               const config::IpAddress& peerWaypoint) const
{
    const auto found = adjacencies_.find(interface);
    if (found == adjacencies_.end()) {
        return nullptr;
    }
    for (const auto& adjacency : found->second) {
        if (adjacency.peerWaypoint == peerWaypoint) {
            return &adjacency;
        }
    }
    return nullptr;
}

std::optional<config::IpAddress> Fabric::localWaypoint(std::string_view interface) const
{
    const auto found = waypoints_.find(interface);
    if (found == waypoints_.end()) {
        return std::nullopt;
    }
    return found->second;
}

protocol::PayloadCipher* Fabric::payloadCipher(std::string_view policy)
{
    const auto found = payloadCiphers_.find(policy);
    return found == payloadCiphers_.end() ? nullptr : found->second.get();
}

protocol::SessionUuid newSessionUuid()
{
    // RAND_bytes per UUID cost ~10 % of a new session: draw 256 UUIDs' worth at once, per
    // thread (each bit is still used once).
    struct RandomBlock {
        std::array<std::uint8_t, 4096> bytes{};
        std::size_t used = 4096;
    };
    thread_local RandomBlock block;
    protocol::SessionUuid uuid;
    if (block.used + uuid.value.size() > block.bytes.size()) {
        if (RAND_bytes(block.bytes.data(), static_cast<int>(block.bytes.size())) != 1) {
            throw std::runtime_error("RAND_bytes failed"); // no entropy: a broken host
        }
        block.used = 0;
    }
    std::memcpy(uuid.value.data(), block.bytes.data() + block.used, uuid.value.size());
    block.used += uuid.value.size();
    uuid.value[6] = static_cast<std::uint8_t>((uuid.value[6] & 0x0f) | 0x40); // version 4
    uuid.value[8] = static_cast<std::uint8_t>((uuid.value[8] & 0x3f) | 0x80); // RFC 4122 variant
    return uuid;
}

std::string formatUuid(const protocol::SessionUuid& uuid)
{
    std::string text;
    for (std::size_t i = 0; i < uuid.value.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            text += '-';
        }
        text += fmt::format("{:02x}", uuid.value[i]);
    }
    return text;
}

namespace {

// The context TLV of the session's family: V4 or V6 form of the same tuple.
template <typename V4, typename V6>
void addContext(std::vector<protocol::Tlv>& tlvs, const fastpath::IpAddress& source,
                const fastpath::IpAddress& destination, std::uint16_t sourcePort,
                std::uint16_t destinationPort, std::uint8_t proto)
{
    if (source.family == SVR_FAMILY_IPV4) {
        tlvs.emplace_back(contextOf<V4>(source, destination, sourcePort, destinationPort, proto));
    } else {
        tlvs.emplace_back(contextOf<V6>(source, destination, sourcePort, destinationPort, proto));
    }
}

} // namespace

protocol::Metadata forwardMetadata(const SvrSession& session, std::string_view routerName)
{
    protocol::Metadata metadata;
    auto& tlvs = metadata.payloadTlvs;
    addContext<protocol::ForwardContextV4, protocol::ForwardContextV6>(
        tlvs, session.source, session.destination, session.sourcePort, session.destinationPort,
        session.proto);
    tlvs.emplace_back(session.uuid);
    if (!session.tenant.empty()) {
        tlvs.emplace_back(protocol::TenantName{session.tenant});
    }
    tlvs.emplace_back(protocol::ServiceName{session.service});
    tlvs.emplace_back(protocol::SourceRouterName{std::string(routerName)});
    if (session.payloadEncrypted) {
        tlvs.emplace_back(protocol::SessionEncrypted{});
    }
    return metadata;
}

protocol::Metadata reverseMetadata(const SvrSession& session, std::string_view routerName)
{
    protocol::Metadata metadata;
    auto& tlvs = metadata.payloadTlvs;
    // The reply's tuple as the server sends it.
    addContext<protocol::ReverseContextV4, protocol::ReverseContextV6>(
        tlvs, session.destination, session.source, session.destinationPort, session.sourcePort,
        session.proto);
    tlvs.emplace_back(session.uuid);
    tlvs.emplace_back(protocol::SourceRouterName{std::string(routerName)});
    tlvs.emplace_back(protocol::DisableForwardMetadata{});
    return metadata;
}

bool takeForwardContext(const protocol::Metadata& metadata, SvrSession& session)
{
    const auto take = [&session](const auto& context, std::uint8_t family) {
        session.source.family = session.destination.family = family;
        std::copy(context.source.begin(), context.source.end(), session.source.bytes.begin());
        std::copy(context.destination.begin(), context.destination.end(),
                  session.destination.bytes.begin());
        session.sourcePort = context.sourcePort;
        session.destinationPort = context.destinationPort;
        session.proto = context.protocol;
    };
    if (const auto* v4 = metadata.find<protocol::ForwardContextV4>()) {
        take(*v4, SVR_FAMILY_IPV4);
        return true;
    }
    if (const auto* v6 = metadata.find<protocol::ForwardContextV6>()) {
        take(*v6, SVR_FAMILY_IPV6);
        return true;
    }
    return false;
}

std::string metadataFailureCounter(const Error& error)
{
    if (error.code.category() != protocol::protocolCategory()) {
        return "drop.metadata.other";
    }
    // "HMAC mismatch" -> "hmac-mismatch"
    std::string name = "drop.metadata.";
    for (const char c : protocol::errcName(static_cast<protocol::Errc>(error.code.value()))) {
        if (std::isalnum(static_cast<unsigned char>(c))) {
            name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        } else if (name.back() != '-' && name.back() != '.') {
            name += '-';
        }
    }
    while (name.back() == '-') {
        name.pop_back();
    }
    return name;
}

} // namespace svr::svrd

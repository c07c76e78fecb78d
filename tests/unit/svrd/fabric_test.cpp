#include <gtest/gtest.h>

#include <array>
#include <set>

#include <fstream>
#include <sstream>

#include "config/loader.hpp"
#include "packet_builder.hpp"
#include "protocol/errors.hpp"
#include "protocol/packet.hpp"
#include "svrd/fabric.hpp"
#include "svrd/packet.hpp"

namespace {

using namespace svr;
using svrd::SvrHop;
using svrd::SvrSession;

config::Config loadExample(const std::string& name)
{
    std::ifstream stream(std::string(SVR_EXAMPLES_DIR) + "/" + name);
    std::stringstream text;
    text << stream.rdbuf();
    auto loaded = config::loadConfig(text.str());
    if (!loaded) {
        throw std::runtime_error(loaded.error().describe()); // test defect
    }
    return std::move(*loaded);
}

SvrSession sessionV4()
{
    SvrSession session;
    session.uuid = svrd::newSessionUuid();
    session.tenant = "eng.corp";
    session.service = "http";
    session.source = fastpath::IpAddress{SVR_FAMILY_IPV4, {10, 1, 1, 10}};
    session.destination = fastpath::IpAddress{SVR_FAMILY_IPV4, {10, 2, 1, 10}};
    session.sourcePort = 40000;
    session.destinationPort = 80;
    session.proto = 6;
    return session;
}

TEST(Fabric, ForwardMetadataCarriesTheSessionAndOpensIt)
{
    SvrSession session = sessionV4();
    session.payloadEncrypted = true;
    const protocol::Metadata metadata = svrd::forwardMetadata(session, "router-a");
    const auto* context = metadata.find<protocol::ForwardContextV4>();
    ASSERT_NE(context, nullptr);
    EXPECT_EQ(context->source, (protocol::Ipv4Address{10, 1, 1, 10}));
    EXPECT_EQ(context->destination, (protocol::Ipv4Address{10, 2, 1, 10}));
    EXPECT_EQ(context->sourcePort, 40000);
    EXPECT_EQ(context->destinationPort, 80);
    EXPECT_EQ(context->protocol, 6);
    ASSERT_NE(metadata.find<protocol::SessionUuid>(), nullptr);
    EXPECT_EQ(*metadata.find<protocol::SessionUuid>(), session.uuid);
    EXPECT_EQ(metadata.find<protocol::TenantName>()->value, "eng.corp");
    EXPECT_EQ(metadata.find<protocol::ServiceName>()->value, "http");
    EXPECT_EQ(metadata.find<protocol::SourceRouterName>()->value, "router-a");
    EXPECT_NE(metadata.find<protocol::SessionEncrypted>(), nullptr);
    EXPECT_EQ(metadata.find<protocol::DisableForwardMetadata>(), nullptr);
    // The replay guard admits it once: it opens a session.
    protocol::ReplayGuard guard(16, 30);
    EXPECT_TRUE(guard.admitFirstPacket(metadata, 100));
    EXPECT_EQ(guard.admitFirstPacket(metadata, 101).error().code,
              protocol::Errc::ReplayedFirstPacket);
}

TEST(Fabric, ReverseMetadataSwapsTheTupleAndStopsForwardMetadata)
{
    SvrSession session = sessionV4();
    session.source.family = session.destination.family = SVR_FAMILY_IPV6;
    session.source.bytes = {0xfd, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    session.destination.bytes = {0xfd, 0, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    const protocol::Metadata metadata = svrd::reverseMetadata(session, "router-b");
    const auto* context = metadata.find<protocol::ReverseContextV6>();
    ASSERT_NE(context, nullptr);
    EXPECT_EQ(context->source[3], 2) << "the server";
    EXPECT_EQ(context->destination[3], 1) << "the client";
    EXPECT_EQ(context->sourcePort, 80);
    EXPECT_EQ(context->destinationPort, 40000);
    EXPECT_NE(metadata.find<protocol::DisableForwardMetadata>(), nullptr);
    EXPECT_EQ(metadata.find<protocol::ForwardContextV6>(), nullptr);
    protocol::ReplayGuard guard(16, 30);
    EXPECT_TRUE(guard.admitFirstPacket(metadata, 100)) << "reverse metadata opens nothing";
    EXPECT_TRUE(guard.admitFirstPacket(metadata, 100));
}

// Which directions the fast path punts, through the whole handshake of each role.
TEST(Fabric, PendingFlagsFollowTheHandshake)
{
    SvrSession initiator = sessionV4();
    initiator.downstream = SvrHop{.peer = "router-b", .localWaypoint = {}, .peerWaypoint = {},
                                  .ports = {16384, 16385}, .signalling = true};
    EXPECT_TRUE(initiator.forwardPending()) << "forward metadata until reverse metadata";
    EXPECT_FALSE(initiator.reversePending()) << "reverse metadata is seen by its cookie";
    initiator.downstream->signalling = false;
    EXPECT_FALSE(initiator.forwardPending());

    SvrSession responder = sessionV4();
    responder.upstream = SvrHop{.peer = "router-a", .localWaypoint = {}, .peerWaypoint = {},
                                .ports = {16385, 16384}, .signalling = true};
    EXPECT_TRUE(responder.forwardPending()) << "to see the first forward packet without metadata";
    EXPECT_TRUE(responder.reversePending()) << "to add reverse metadata";
    responder.upstream->signalling = false;
    EXPECT_FALSE(responder.forwardPending());
    EXPECT_FALSE(responder.reversePending());

    SvrSession transit = responder;
    transit.upstream->signalling = false;
    transit.downstream = initiator.downstream;
    transit.downstream->signalling = true;
    EXPECT_TRUE(transit.forwardPending());
    EXPECT_FALSE(transit.reversePending());
}

TEST(Fabric, UuidsAreVersion4AndFormatted)
{
    const auto first = svrd::newSessionUuid();
    const auto second = svrd::newSessionUuid();
    EXPECT_NE(first, second);
    EXPECT_EQ(first.value[6] >> 4, 4);
    EXPECT_EQ(first.value[8] & 0xc0, 0x80);
    const std::string text = svrd::formatUuid(first);
    ASSERT_EQ(text.size(), 36U);
    EXPECT_EQ(text[8], '-');
    EXPECT_EQ(text[14], '4');
}

TEST(Fabric, UuidsFromRandomBlocksStayDistinctAcrossRefills)
{
    // 256 UUIDs come from one RAND_bytes block: 1000 cross several refills.
    std::set<std::array<std::uint8_t, 16>> seen;
    for (int i = 0; i < 1000; ++i) {
        const auto uuid = svrd::newSessionUuid();
        EXPECT_EQ(uuid.value[6] >> 4, 4);
        EXPECT_EQ(uuid.value[8] & 0xc0, 0x80);
        seen.insert(uuid.value);
    }
    EXPECT_EQ(seen.size(), 1000U);
}

TEST(Fabric, MetadataFailuresHaveCounterNames)
{
    EXPECT_EQ(svrd::metadataFailureCounter(protocol::protocolError(protocol::Errc::HmacMismatch)),
              "drop.metadata.hmac-mismatch");
    EXPECT_EQ(svrd::metadataFailureCounter(
                  protocol::protocolError(protocol::Errc::ReplayedFirstPacket)),
              "drop.metadata.replayed-first-packet");
    EXPECT_EQ(svrd::metadataFailureCounter(
                  protocol::protocolError(protocol::Errc::Ipv6ExtensionChainTooLong)),
              "drop.metadata.ipv6-extension-chain-too-long");
    EXPECT_EQ(svrd::metadataFailureCounter(Error::invalid("x")), "drop.metadata.other");
}

TEST(Fabric, BuiltFromTheExampleConfiguration)
{
    const config::Config config = loadExample("fabric-router-a.json");
    auto fabric = svrd::Fabric::build(config);
    ASSERT_TRUE(fabric) << fabric.error().describe();
    EXPECT_EQ((*fabric)->routerName(), "router-a");
    EXPECT_NE((*fabric)->peer("router-b"), nullptr);
    EXPECT_EQ((*fabric)->peer("router-z"), nullptr);
    EXPECT_NE((*fabric)->payloadCipher("e2e"), nullptr);
    const auto wan1 = (*fabric)->localWaypoint("wan1");
    ASSERT_TRUE(wan1);
    EXPECT_EQ(wan1->toString(), "192.0.2.1");
    EXPECT_FALSE((*fabric)->localWaypoint("lan-eng"));
    const auto* adjacency =
        (*fabric)->adjacencyFrom("wan2", *config::IpAddress::parse("2001:db8:2::2"));
    ASSERT_NE(adjacency, nullptr);
    EXPECT_EQ(adjacency->peer, "router-b");
    EXPECT_EQ((*fabric)->adjacencyFrom("wan1", *config::IpAddress::parse("2001:db8:2::2")),
              nullptr)
        << "a peer waypoint counts only on its own interface";
    // Waypoint ports: even local, odd remote on wan1; the peer's narrowed range on wan2.
    auto ports = (*fabric)->ports().allocate(*wan1, *config::IpAddress::parse("192.0.2.2"));
    ASSERT_TRUE(ports);
    EXPECT_EQ(ports->local % 2, 0);
    EXPECT_EQ(ports->remote % 2, 1);
    auto narrowed = (*fabric)->ports().allocate(*config::IpAddress::parse("2001:db8:2::1"),
                                                *config::IpAddress::parse("2001:db8:2::2"));
    ASSERT_TRUE(narrowed);
    EXPECT_GE(narrowed->remote, 30000);
    EXPECT_LE(narrowed->remote, 39999);
}

TEST(Fabric, SealedMetadataRoundTripsBetweenTheExampleRouters)
{
    auto a = svrd::Fabric::build(loadExample("fabric-router-a.json"));
    auto b = svrd::Fabric::build(loadExample("fabric-router-b.json"));
    ASSERT_TRUE(a && b);
    svrd::PeerCrypto* toB = (*a)->peer("router-b");
    svrd::PeerCrypto* fromA = (*b)->peer("router-a");
    ASSERT_TRUE(toB != nullptr && fromA != nullptr);
    const SvrSession session = sessionV4();
    const std::vector<std::uint8_t> payload{'h', 'i'};
    auto sealed = toB->sealer.seal(toB->ring, svrd::forwardMetadata(session, "router-a"),
                                   payload, 1000);
    ASSERT_TRUE(sealed);
    std::vector<std::uint8_t> l4 = sealed->prefix;
    l4.insert(l4.end(), payload.begin(), payload.end());
    l4.insert(l4.end(), sealed->tag.begin(), sealed->tag.end());
    auto opened = fromA->sealer.open(fromA->ring, l4, 1000);
    ASSERT_TRUE(opened) << opened.error().describe();
    EXPECT_EQ(*opened->metadata.find<protocol::SessionUuid>(), session.uuid);
    l4.back() ^= 1;
    EXPECT_EQ(fromA->sealer.open(fromA->ring, l4, 1000).error().code,
              protocol::Errc::HmacMismatch);
}

// Payload encryption changes the payload's length: lengths and checksums must follow.
TEST(TransformPayload, LengthsAndChecksumsFollowThePayload)
{
    using namespace svr::test;
    for (const int version : {4, 6}) {
        for (const std::uint8_t proto : {std::uint8_t{6}, std::uint8_t{17}}) {
            PacketBuilder builder;
            builder.eth(mac("02:00:00:00:00:02"), mac("02:00:00:00:00:01"));
            if (version == 4) {
                builder.ipv4({.src = ipv4("10.1.1.10"), .dst = ipv4("10.2.1.10"), .ttl = 64});
            } else {
                builder.ipv6({.src = ipv6("fd00::1"), .dst = ipv6("fd00::2"), .hop_limit = 64});
            }
            if (proto == 6) {
                builder.tcp({.src_port = 40000, .dst_port = 80, .seq = 1, .flags = kTcpAck});
            } else {
                builder.udp({.src_port = 40000, .dst_port = 7});
            }
            std::vector<std::uint8_t> frame =
                builder.payload({'s', 'v', 'r', '!'}).build();
            const Status grown = svrd::transformL4Payload(
                frame, 14, [](std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out) {
                    out.assign(in.begin(), in.end());
                    out.insert(out.end(), 40, 0xab);
                    return Status{};
                });
            ASSERT_TRUE(grown);
            auto layout = protocol::parsePacket(frame, 14);
            ASSERT_TRUE(layout) << layout.error().describe() << " v" << version;
            EXPECT_EQ(layout->payloadSize(), 44U);
            std::vector<std::uint8_t> copy = frame;
            protocol::recomputeChecksums(copy, *layout);
            EXPECT_EQ(copy, frame) << "checksums were already right, v" << version << " proto "
                                   << int(proto);
        }
    }
}

} // namespace

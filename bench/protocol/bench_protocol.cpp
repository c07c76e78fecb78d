// Per-packet cost of SVR metadata on a typical forward first packet (IPv4 UDP DNS query):
//   BuildSignInsert    build the TLVs, encode, encrypt the payload section, HMAC, insert
//   StripVerifyDecode  parse, HMAC verify, decrypt, decode, strip
// Target (issue 3): >= 1,000,000 operations per second per core each.
#include <benchmark/benchmark.h>

#include <vector>

#include "protocol/packet.hpp"
#include "protocol/security.hpp"

namespace svr::protocol {
namespace {

constexpr std::uint64_t kNow = 1'790'000'000;

std::vector<std::uint8_t> dnsQueryPacket()
{
    // 192.168.1.10:40000 -> 8.8.8.8:53, query for www.example.com A; checksums filled below.
    std::vector<std::uint8_t> packet = {
        0x45, 0x00, 0x00, 0x3d, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 192, 168, 1, 10, 8, 8, 8, 8,
        0x9c, 0x40, 0x00, 0x35, 0x00, 0x29, 0x00, 0x00, 0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x03, 'w', 'w', 'w', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x03, 'c', 'o', 'm',
        0x00, 0x00, 0x01, 0x00, 0x01};
    auto layout = parsePacket(packet);
    if (!layout) {
        throw std::logic_error("benchmark packet does not parse");
    }
    recomputeChecksums(packet, *layout);
    return packet;
}

Metadata firstPacketMetadata(std::uint8_t sequence)
{
    Metadata m;
    m.payloadTlvs.reserve(5);
    m.payloadTlvs.push_back(ForwardContextV4{{192, 168, 1, 10}, {8, 8, 8, 8}, 40000, 53, 17});
    m.payloadTlvs.push_back(TenantName{"blue"});
    m.payloadTlvs.push_back(ServiceName{"dns-svc"});
    m.payloadTlvs.push_back(SessionUuid{{sequence, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4,
                                         0xc3, 0xd2, 0xe1, 0xf0}});
    m.payloadTlvs.push_back(SourceRouterName{"edge-a"});
    return m;
}

KeyRing makeRing()
{
    KeyRing ring;
    if (!ring.install(1, PeerKeys{SecretKey::random(32), SecretKey::random(32)})) {
        throw std::logic_error("key install failed");
    }
    return ring;
}

void BuildSignInsert(benchmark::State& state)
{
    const bool encrypt = state.range(0) != 0;
    KeyRing ring = makeRing();
    auto sealer = MetadataSealer::create({.encryptMetadata = encrypt}).value();
    const auto original = dnsQueryPacket();
    const auto layout = *parsePacket(original);
    const auto payload = l4Payload(original, layout);
    std::vector<std::uint8_t> packet;
    packet.reserve(512);
    SealedMetadata sealed;
    std::uint8_t sequence = 0;
    for (auto _ : state) {
        const Metadata metadata = firstPacketMetadata(sequence++);
        if (!sealer.seal(ring, metadata, payload, kNow, sealed)) {
            state.SkipWithError("seal failed");
            break;
        }
        packet.assign(original.begin(), original.end());
        auto outcome = insertMetadata(packet, sealed.prefix, sealed.tag);
        if (!outcome) {
            state.SkipWithError("insert failed");
            break;
        }
        benchmark::DoNotOptimize(packet.data());
    }
    state.counters["ops_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["packet_bytes"] = static_cast<double>(packet.size());
}

void StripVerifyDecode(benchmark::State& state)
{
    const bool encrypt = state.range(0) != 0;
    KeyRing ring = makeRing();
    auto sealer = MetadataSealer::create({.encryptMetadata = encrypt}).value();
    const auto original = dnsQueryPacket();
    const auto layout = *parsePacket(original);
    auto sealed = sealer.seal(ring, firstPacketMetadata(1), l4Payload(original, layout), kNow);
    auto withMetadata = original;
    if (!sealed || !insertMetadata(withMetadata, sealed->prefix, sealed->tag)) {
        state.SkipWithError("setup failed");
        return;
    }
    std::vector<std::uint8_t> packet;
    packet.reserve(512);
    for (auto _ : state) {
        packet.assign(withMetadata.begin(), withMetadata.end());
        auto received = parsePacket(packet);
        if (!received) {
            state.SkipWithError("parse failed");
            break;
        }
        auto opened = sealer.open(ring, l4Payload(packet, *received), kNow);
        if (!opened || !stripMetadata(packet, opened->stripPrefix, opened->stripSuffix)) {
            state.SkipWithError("open/strip failed");
            break;
        }
        benchmark::DoNotOptimize(opened->metadata.payloadTlvs.data());
    }
    state.counters["ops_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void DecodeOnly(benchmark::State& state)
{
    auto encoded = encode(firstPacketMetadata(1)).value();
    for (auto _ : state) {
        auto decoded = decode(encoded);
        benchmark::DoNotOptimize(decoded);
    }
}

BENCHMARK(BuildSignInsert)->Arg(1)->Arg(0)->ArgName("encrypt");
BENCHMARK(StripVerifyDecode)->Arg(1)->Arg(0)->ArgName("encrypt");
BENCHMARK(DecodeOnly);

} // namespace
} // namespace svr::protocol

BENCHMARK_MAIN();

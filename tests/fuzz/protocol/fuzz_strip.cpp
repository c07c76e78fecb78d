// Packet surgery: parse any buffer as an IP packet; insert-then-strip restores it (after the
// checksums are normalised); stripping real metadata leaves a packet that parses again.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_common.hpp"
#include "protocol/metadata.hpp"
#include "protocol/packet.hpp"

using namespace svr::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::vector<std::uint8_t> input(data, data + size);
    auto layout = parsePacket(input);
    if (!layout) {
        return 0;
    }
    std::vector<std::uint8_t> original(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(layout->end));
    recomputeChecksums(original, *layout);

    static const std::vector<std::uint8_t> kTag(kTagSize, 0xee);
    std::vector<std::uint8_t> work = original;
    auto inserted = insertMetadata(work, kFalsePositiveMarker, kTag, {.pathMtu = 1 << 20});
    if (inserted && inserted->kind == InsertOutcome::Kind::Inserted) {
        fuzz::require(!inserted->clampedMss);
        fuzz::require(stripMetadata(work, kFalsePositiveMarker.size(), kTag.size()).ok());
        fuzz::require(work == original);
    }

    // Metadata already in the packet: strip what its header announces (and a tag if there is room).
    const auto payload = l4Payload(input, *layout);
    auto header = parseHeader(payload);
    if (header) {
        std::vector<std::uint8_t> stripped = input;
        const std::size_t tag = payload.size() - header->totalLength() >= kTagSize ? kTagSize : 0;
        fuzz::require(stripMetadata(stripped, header->totalLength(), tag).ok());
        auto after = parsePacket(stripped);
        fuzz::require(after.ok());
        fuzz::require(after->payloadSize() == payload.size() - header->totalLength() - tag);
    }
    return 0;
}

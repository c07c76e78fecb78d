// Decoder: any input either fails with an error value or decodes; a decoded block
// re-encodes to exactly the bytes it came from, directly and through the JSON view.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_common.hpp"
#include "protocol/json.hpp"
#include "protocol/metadata.hpp"

using namespace svr::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::span<const std::uint8_t> input(data, size);
    for (const auto mode : {PayloadSection::Clear, PayloadSection::Ciphertext}) {
        auto decoded = decode(input, mode);
        if (!decoded) {
            continue;
        }
        fuzz::require(decoded->length <= size);
        auto encoded = encode(decoded->metadata);
        fuzz::require(encoded.ok());
        fuzz::require(std::equal(encoded->begin(), encoded->end(), input.begin(), input.begin() + decoded->length) &&
                      encoded->size() == decoded->length);
        auto viaJson = metadataFromJson(nlohmann::ordered_json::parse(metadataToJson(decoded->metadata).dump()));
        fuzz::require(viaJson.ok());
        auto reencoded = encode(viaJson->metadata);
        fuzz::require(reencoded.ok() && *reencoded == *encoded);
    }
    return 0;
}

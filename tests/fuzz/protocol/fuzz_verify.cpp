// Verifier: the input as received (almost always an HMAC failure) and the input with a
// valid tag appended, so decryption and decoding behind the HMAC are reached too.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_common.hpp"
#include "protocol/bytes.hpp"

using namespace svr::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static KeyRing ring = fuzz::makeRing();
    static MetadataSealer encrypted = MetadataSealer::create({.encryptMetadata = true}).value();
    static MetadataSealer clear = MetadataSealer::create({.encryptMetadata = false}).value();
    static auto hmac = HmacSha256::create(SecretKey(fuzz::kHmacKey)).value();

    const std::span<const std::uint8_t> input(data, size);
    std::array<std::uint8_t, 8> slot{};
    bytes::store64(slot.data(), fuzz::kNow / 10);
    auto tag = hmac.tag({slot, input});
    fuzz::require(tag.ok());
    std::vector<std::uint8_t> signedInput(input.begin(), input.end());
    signedInput.insert(signedInput.end(), tag->begin(), tag->end());

    for (MetadataSealer* sealer : {&encrypted, &clear}) {
        for (std::span<const std::uint8_t> packet : {input, std::span<const std::uint8_t>(signedInput)}) {
            auto opened = sealer->open(ring, packet, fuzz::kNow);
            if (opened) {
                fuzz::require(opened->stripPrefix + opened->stripSuffix <= packet.size());
            }
        }
    }
    return 0;
}

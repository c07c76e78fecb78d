// Shared by the protocol fuzz harnesses: fixed keys and time so runs are reproducible, and
// a trap that libFuzzer reports as a crash when an invariant breaks.
#pragma once

#include <cstdint>
#include <vector>

#include "protocol/security.hpp"

namespace svr::protocol::fuzz {

inline constexpr std::uint64_t kNow = 1'790'000'000;
inline const std::vector<std::uint8_t> kHmacKey(32, 0x10);
inline const std::vector<std::uint8_t> kAesKey(32, 0x11);

inline void require(bool condition)
{
    if (!condition) {
        __builtin_trap();
    }
}

inline KeyRing makeRing()
{
    KeyRing ring;
    require(ring.install(1, PeerKeys{SecretKey(kHmacKey), SecretKey(kAesKey)}).ok());
    return ring;
}

} // namespace svr::protocol::fuzz

#include "core/base/hash.h"

#include <cstring>

namespace samsa {

std::uint64_t hash_bytes(std::span<const std::uint8_t> bytes, std::uint64_t seed) noexcept {
    std::uint64_t h = mix64(seed ^ 0x736d7361ULL ^ (bytes.size() * 0xff51afd7ed558ccdULL));
    std::size_t i = 0;
    if (bytes.size() >= 64) {
        // Four independent lanes over 32-byte blocks, so long inputs (the
        // simulator digests every write and message) hash ~4x faster; short
        // inputs keep the single-lane values.
        std::uint64_t lanes[4] = {h, h ^ 0x243f6a8885a308d3ULL, h ^ 0x13198a2e03707344ULL,
                                  h ^ 0xa4093822299f31d0ULL};
        for (; i + 32 <= bytes.size(); i += 32) {
            for (std::size_t lane = 0; lane < 4; ++lane) {
                std::uint64_t word = 0;
                std::memcpy(&word, bytes.data() + i + 8 * lane, 8);
                lanes[lane] = mix64(lanes[lane] ^ word) + 0x9e3779b97f4a7c15ULL;
            }
        }
        h = mix64(lanes[0] ^ mix64(lanes[1] ^ mix64(lanes[2] ^ mix64(lanes[3]))));
    }
    for (; i + 8 <= bytes.size(); i += 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, bytes.data() + i, 8);
        h = mix64(h ^ word) + 0x9e3779b97f4a7c15ULL;
    }
    std::uint64_t tail = 0;
    for (std::size_t shift = 0; i < bytes.size(); ++i, shift += 8) {
        tail |= static_cast<std::uint64_t>(bytes[i]) << shift;
    }
    return mix64(h ^ tail);
}

std::uint64_t hash_string(std::string_view text, std::uint64_t seed) noexcept {
    return hash_bytes({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, seed);
}

}  // namespace samsa

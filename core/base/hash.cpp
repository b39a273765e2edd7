#include "core/base/hash.h"

#include <cstring>

namespace samsa {

std::uint64_t hash_bytes(std::span<const std::uint8_t> bytes, std::uint64_t seed) noexcept {
    std::uint64_t h = mix64(seed ^ 0x736d7361ULL ^ (bytes.size() * 0xff51afd7ed558ccdULL));
    std::size_t i = 0;
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

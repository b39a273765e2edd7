#include "net/kafka/murmur2.h"

#include <cstddef>

#include "core/base/assert.h"

namespace samsa::kafka {

namespace {

constexpr std::uint32_t kMultiplier = 0x5bd1e995;
constexpr int kShift = 24;

}  // namespace

std::uint32_t murmur2(std::span<const std::uint8_t> data) noexcept {
    const std::size_t length = data.size();
    // Java mixes in the length as an int: only its low 32 bits matter.
    std::uint32_t hash = murmur2_seed ^ static_cast<std::uint32_t>(length);
    const std::size_t blocks = length / 4;
    for (std::size_t i = 0; i < blocks; ++i) {
        const std::size_t at = i * 4;
        std::uint32_t k = static_cast<std::uint32_t>(data[at]) |
                          (static_cast<std::uint32_t>(data[at + 1]) << 8) |
                          (static_cast<std::uint32_t>(data[at + 2]) << 16) |
                          (static_cast<std::uint32_t>(data[at + 3]) << 24);
        k *= kMultiplier;
        k ^= k >> kShift;
        k *= kMultiplier;
        hash *= kMultiplier;
        hash ^= k;
    }
    const std::size_t tail = blocks * 4;
    switch (length % 4) {
        case 3: hash ^= static_cast<std::uint32_t>(data[tail + 2]) << 16; [[fallthrough]];
        case 2: hash ^= static_cast<std::uint32_t>(data[tail + 1]) << 8; [[fallthrough]];
        case 1:
            hash ^= static_cast<std::uint32_t>(data[tail]);
            hash *= kMultiplier;
            break;
        default: break;
    }
    hash ^= hash >> 13;
    hash *= kMultiplier;
    hash ^= hash >> 15;
    return hash;
}

std::int32_t partition_for_key(std::span<const std::uint8_t> key,
                               std::int32_t partitions) noexcept {
    SAMSA_ASSERT(partitions > 0);
    const std::uint32_t positive = murmur2(key) & 0x7fffffffU;
    const auto partition =
        static_cast<std::int32_t>(positive % static_cast<std::uint32_t>(partitions));
    SAMSA_ASSERT(partition >= 0 && partition < partitions);
    return partition;
}

}  // namespace samsa::kafka

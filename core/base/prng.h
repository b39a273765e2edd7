// A small, fast, seeded pseudo-random generator: xoshiro256** with its state
// filled by splitmix64. Every random choice in samsa descends from one seed:
// components get their own stream with fork(), never a generator of their own
// seeded from time or addresses.
#pragma once

#include <cstdint>

#include "core/base/assert.h"

namespace samsa {

// splitmix64 step: a bijective mixer, also used to expand seeds.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
    state += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

class Prng {
public:
    explicit Prng(std::uint64_t seed) noexcept {
        std::uint64_t expand = seed;
        for (auto& word : state_) word = splitmix64(expand);
    }

    // The next 64 random bits.
    std::uint64_t next_u64() noexcept {
        const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

    // A new, independent stream. Consumes one draw of this generator, so the
    // order of fork() calls is part of the deterministic schedule.
    [[nodiscard]] Prng fork() noexcept { return Prng(next_u64() ^ 0x6a09e667f3bcc909ULL); }

    // Uniform in [0, bound), without modulo bias (Lemire's method). bound > 0.
    std::uint64_t uniform(std::uint64_t bound) noexcept {
        SAMSA_ASSERT(bound > 0);
        __uint128_t product = static_cast<__uint128_t>(next_u64()) * bound;
        auto low = static_cast<std::uint64_t>(product);
        if (low < bound) {
            const std::uint64_t threshold = (0 - bound) % bound;
            while (low < threshold) {
                product = static_cast<__uint128_t>(next_u64()) * bound;
                low = static_cast<std::uint64_t>(product);
            }
        }
        return static_cast<std::uint64_t>(product >> 64);
    }

    // Uniform in [low, high], inclusive.
    std::int64_t range(std::int64_t low, std::int64_t high) noexcept {
        SAMSA_ASSERT(low <= high);
        // Unsigned arithmetic: high - low may not fit in an int64.
        const std::uint64_t span =
            static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low) + 1;
        if (span == 0) return static_cast<std::int64_t>(next_u64());  // the full 64-bit range
        return static_cast<std::int64_t>(static_cast<std::uint64_t>(low) + uniform(span));
    }

    // Uniform in [0, 1) with 53 bits of precision.
    double unit() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

    // True with the given probability.
    bool chance(double probability) noexcept {
        if (probability <= 0.0) return false;
        if (probability >= 1.0) return true;
        return unit() < probability;
    }

    // Exponentially distributed with the given mean (>= 0).
    double exponential(double mean) noexcept;

private:
    static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
        return (x << k) | (x >> (64 - k));
    }
    std::uint64_t state_[4]{};
};

}  // namespace samsa

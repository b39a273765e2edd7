// Non-cryptographic 64-bit hashing for digests, hash chains and checksums of
// simulated state. Stable across runs and builds (no per-process salt), which
// std::hash does not promise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace samsa {

// A strong 64-bit finalizer (from splitmix64 / murmur3's fmix64).
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

// Folds one value into a running hash; order-sensitive.
constexpr std::uint64_t hash_combine(std::uint64_t running, std::uint64_t value) noexcept {
    return mix64(running ^ (value + 0x9e3779b97f4a7c15ULL + (running << 6) + (running >> 2)));
}

std::uint64_t hash_bytes(std::span<const std::uint8_t> bytes, std::uint64_t seed = 0) noexcept;
std::uint64_t hash_string(std::string_view text, std::uint64_t seed = 0) noexcept;

}  // namespace samsa

// Murmur2 as the Java Kafka client computes it: the hash behind its default
// partitioner, so that samsa's own producer sends a keyed record to the same
// partition the Java client (and kafka-python, kafkajs) would.
//
// The Java client hashes the serialized key with MurmurHash2 (32-bit, seed
// 0x9747b28c, the 4-byte blocks read little-endian) and picks
// `toPositive(hash) % partitions`, where toPositive clears the sign bit
// (`hash & 0x7fffffff`, not Math.abs). Pure: no state, no allocation.
#pragma once

#include <cstdint>
#include <span>

namespace samsa::kafka {

inline constexpr std::uint32_t murmur2_seed = 0x9747b28c;

// The 32-bit hash; the Java client's `int` result is this value's bit pattern.
std::uint32_t murmur2(std::span<const std::uint8_t> data) noexcept;

// The Java client's partition for a key: toPositive(murmur2(key)) % partitions.
// `partitions` must be positive.
std::int32_t partition_for_key(std::span<const std::uint8_t> key, std::int32_t partitions) noexcept;

}  // namespace samsa::kafka

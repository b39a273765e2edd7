// murmur2 and the Java client's keyed partitioning. The expected values were
// computed from the algorithm's definition (a separate Python transcription
// of MurmurHash2 with Kafka's seed) and agree with kafka-python's
// Java-compatible murmur2; the signed column is what Java's `int` holds.
#include "net/kafka/murmur2.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace samsa::kafka {
namespace {

std::span<const std::uint8_t> bytes_of(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

struct Known {
    std::string_view key;
    std::uint32_t hash;
    std::int32_t java_int;
    std::int32_t partition_of_3;
    std::int32_t partition_of_7;
};

// Covers every tail length (0-3 bytes after the 4-byte blocks).
constexpr Known kKnown[] = {
    {"", 275646681U, 275646681, 0, 2},        {"a", 2731586172U, -1563381124, 1, 5},
    {"ab", 316155434U, 316155434, 2, 0},      {"abc", 479470107U, 479470107, 0, 4},
    {"abcd", 2971317748U, -1323649548, 2, 5}, {"key", 3215029929U, -1079937367, 1, 4},
    {"kafka", 3496464228U, -798503068, 1, 3}, {"hello world", 1221641059U, 1221641059, 1, 2},
};

TEST(Murmur2, MatchesTheJavaClient) {
    for (const auto& known : kKnown) {
        SCOPED_TRACE(std::string(known.key));
        EXPECT_EQ(murmur2(bytes_of(known.key)), known.hash);
        EXPECT_EQ(static_cast<std::int32_t>(murmur2(bytes_of(known.key))), known.java_int);
        EXPECT_EQ(partition_for_key(bytes_of(known.key), 3), known.partition_of_3);
        EXPECT_EQ(partition_for_key(bytes_of(known.key), 7), known.partition_of_7);
    }
}

TEST(Murmur2, HighBytesAreUnsigned) {
    // Java masks each byte with 0xff; a sign-extending port would differ here.
    const std::vector<std::uint8_t> key = {0xff, 0xfe, 0x80, 0x00, 0x01};
    EXPECT_EQ(murmur2(key), 4182458381U);
    EXPECT_EQ(partition_for_key(key, 3), 0);
    EXPECT_EQ(partition_for_key(key, 7), 1);
}

TEST(Murmur2, PartitionClearsTheSignBitRatherThanNegating) {
    // "a" hashes to a negative Java int: toPositive keeps the low 31 bits
    // (1563381124 would be Math.abs, 584102524 is h & 0x7fffffff).
    EXPECT_EQ(murmur2(bytes_of("a")) & 0x7fffffffU, 584102524U);
    EXPECT_EQ(partition_for_key(bytes_of("a"), 1000), 524);
}

TEST(Murmur2, OnePartitionTakesEveryKey) {
    for (const auto& known : kKnown) EXPECT_EQ(partition_for_key(bytes_of(known.key), 1), 0);
}

}  // namespace
}  // namespace samsa::kafka

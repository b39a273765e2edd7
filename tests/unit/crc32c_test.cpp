// Unit tests for core/base/crc32c: published check values, agreement of the
// hardware and table-driven paths on every length and alignment, chaining.
#include "core/base/crc32c.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/base/prng.h"

namespace samsa {
namespace {

std::span<const std::uint8_t> bytes_of(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::vector<std::uint8_t> random_bytes(Prng& prng, std::size_t count) {
    std::vector<std::uint8_t> bytes(count);
    for (auto& byte : bytes) byte = static_cast<std::uint8_t>(prng.next_u64());
    return bytes;
}

struct Vector {
    const char* name;
    std::vector<std::uint8_t> input;
    std::uint32_t expected;
};

// Check values from RFC 3720 (iSCSI) appendix B.4 and the usual "123456789".
std::vector<Vector> known_vectors() {
    std::vector<std::uint8_t> ascending(32);
    std::vector<std::uint8_t> descending(32);
    for (std::size_t i = 0; i < 32; ++i) {
        ascending[i] = static_cast<std::uint8_t>(i);
        descending[i] = static_cast<std::uint8_t>(31 - i);
    }
    const auto digits = bytes_of("123456789");
    return {
        {"123456789", {digits.begin(), digits.end()}, 0xE3069283},
        {"32 zero bytes", std::vector<std::uint8_t>(32, 0x00), 0x8A9136AA},
        {"32 0xFF bytes", std::vector<std::uint8_t>(32, 0xFF), 0x62A8AB43},
        {"0x00..0x1F", ascending, 0x46DD794E},
        {"0x1F..0x00", descending, 0x113FDB5C},
        {"empty", {}, 0x00000000},
    };
}

TEST(Crc32c, PortablePathMatchesKnownVectors) {
    for (const auto& vector : known_vectors()) {
        EXPECT_EQ(crc32c_portable(vector.input), vector.expected) << vector.name;
    }
}

TEST(Crc32c, DispatchedPathMatchesKnownVectors) {
    for (const auto& vector : known_vectors()) {
        EXPECT_EQ(crc32c(vector.input), vector.expected) << vector.name;
    }
}

TEST(Crc32c, HardwarePathMatchesKnownVectors) {
    if (!crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
    for (const auto& vector : known_vectors()) {
        EXPECT_EQ(crc32c_hardware(vector.input), vector.expected) << vector.name;
    }
}

TEST(Crc32c, HardwareAgreesWithPortableOnEveryLengthAndAlignment) {
    if (!crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
    Prng prng(20240601);
    const auto buffer = random_bytes(prng, 300 + 16);
    const std::span<const std::uint8_t> all(buffer);
    for (std::size_t offset = 0; offset < 16; ++offset) {
        for (std::size_t length = 0; length <= 300; ++length) {
            const auto piece = all.subspan(offset, length);
            const std::uint32_t seed = static_cast<std::uint32_t>(prng.next_u64());
            ASSERT_EQ(crc32c_hardware(piece), crc32c_portable(piece))
                << "offset " << offset << " length " << length;
            ASSERT_EQ(crc32c_hardware(piece, seed), crc32c_portable(piece, seed))
                << "offset " << offset << " length " << length << " seed " << seed;
        }
    }
}

TEST(Crc32c, ChainingEqualsOneShotAtEverySplit) {
    Prng prng(7);
    const auto buffer = random_bytes(prng, 200);
    const std::span<const std::uint8_t> all(buffer);
    const std::uint32_t whole = crc32c_portable(all);
    for (std::size_t split = 0; split <= all.size(); ++split) {
        const auto head = all.first(split);
        const auto tail = all.subspan(split);
        EXPECT_EQ(crc32c_portable(tail, crc32c_portable(head)), whole) << "split " << split;
        EXPECT_EQ(crc32c(tail, crc32c(head)), whole) << "split " << split;
        if (crc32c_hardware_available()) {
            // The paths share one convention, so they can hand over mid-stream.
            EXPECT_EQ(crc32c_portable(tail, crc32c_hardware(head)), whole) << "split " << split;
            EXPECT_EQ(crc32c_hardware(tail, crc32c_portable(head)), whole) << "split " << split;
        }
    }
}

TEST(Crc32c, ChainingThroughManyPiecesEqualsOneShot) {
    const auto digits = bytes_of("123456789");
    std::uint32_t running = 0;
    for (std::size_t i = 0; i < digits.size(); ++i) running = crc32c(digits.subspan(i, 1), running);
    EXPECT_EQ(running, 0xE3069283U);
}

TEST(Crc32c, EverySingleBitFlipChangesTheChecksum) {
    Prng prng(99);
    auto buffer = random_bytes(prng, 64);
    const std::uint32_t original = crc32c(buffer);
    for (std::size_t bit = 0; bit < buffer.size() * 8; ++bit) {
        buffer[bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
        EXPECT_NE(crc32c(buffer), original) << "bit " << bit;
        buffer[bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
    }
    EXPECT_EQ(crc32c(buffer), original);
}

}  // namespace
}  // namespace samsa

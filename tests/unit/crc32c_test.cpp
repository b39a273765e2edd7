// Unit tests for core/base/crc32c: published check values, agreement of the
// hardware and table-driven paths on every length and alignment, chaining.
#include "core/base/crc32c.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
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

// ---- The three-stream hardware path -----------------------------------------

// Lengths around n full blocks plus a remainder: where the splitting into full
// blocks, one shorter block and a single-stream tail changes shape.
std::vector<std::size_t> block_edge_lengths() {
    const std::size_t block = 3 * detail::crc32c_stream_bytes;
    std::vector<std::size_t> lengths;
    for (std::size_t blocks = 1; blocks <= 3; ++blocks) {
        for (const std::size_t extra : {0, 1, 7, 8, 23, 24, 25, 95, 96, 97, 191, 192, 193}) {
            lengths.push_back(blocks * block + extra);
            lengths.push_back(blocks * block - extra - 1);
        }
    }
    return lengths;
}

TEST(Crc32c, SingleStreamReferenceAgreesWithPortable) {
    if (!crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
    Prng prng(11);
    const auto buffer = random_bytes(prng, 3000);
    for (std::size_t length = 0; length <= buffer.size(); length += 37) {
        const auto piece = std::span<const std::uint8_t>(buffer).first(length);
        ASSERT_EQ(detail::crc32c_single_stream(piece, 5), crc32c_portable(piece, 5)) << length;
    }
}

TEST(Crc32c, ThreeStreamAgreesWithPortableOnEveryLengthUpTo5000) {
    if (!detail::crc32c_three_stream_available()) GTEST_SKIP() << "no SSE4.2 + PCLMULQDQ";
    Prng prng(20240602);
    const auto buffer = random_bytes(prng, 5000 + 64);
    const std::span<const std::uint8_t> all(buffer);
    for (const std::size_t offset : {0, 1, 3, 7, 8, 13, 63}) {
        for (std::size_t length = 0; length <= 5000; ++length) {
            const auto piece = all.subspan(offset, length);
            const auto seed = static_cast<std::uint32_t>(prng.next_u64());
            const std::uint32_t expected = crc32c_portable(piece, seed);
            ASSERT_EQ(detail::crc32c_three_stream(piece, seed), expected)
                << "offset " << offset << " length " << length << " seed " << seed;
            ASSERT_EQ(crc32c_hardware(piece, seed), expected)
                << "offset " << offset << " length " << length << " seed " << seed;
        }
    }
}

TEST(Crc32c, ThreeStreamAgreesWithPortableAtBlockEdges) {
    if (!detail::crc32c_three_stream_available()) GTEST_SKIP() << "no SSE4.2 + PCLMULQDQ";
    Prng prng(31);
    const auto buffer = random_bytes(prng, 4 * 3 * detail::crc32c_stream_bytes + 8);
    for (const std::size_t length : block_edge_lengths()) {
        for (const std::size_t offset : {0, 5}) {
            const auto piece = std::span<const std::uint8_t>(buffer).subspan(offset, length);
            const std::uint32_t expected = crc32c_portable(piece);
            ASSERT_EQ(detail::crc32c_three_stream(piece), expected) << length << "+" << offset;
            ASSERT_EQ(crc32c_hardware(piece), expected) << length << "+" << offset;
            ASSERT_EQ(crc32c(piece), expected) << length << "+" << offset;
        }
    }
}

TEST(Crc32c, ThreeStreamAgreesWithPortableOnLargeRandomBuffers) {
    if (!detail::crc32c_three_stream_available()) GTEST_SKIP() << "no SSE4.2 + PCLMULQDQ";
    Prng prng(4242);
    const std::size_t max_size = std::size_t{4} << 20;
    const auto buffer = random_bytes(prng, max_size + 16);
    const std::span<const std::uint8_t> all(buffer);
    std::vector<std::size_t> lengths{max_size, max_size - 1, std::size_t{1} << 20, 65536};
    for (int i = 0; i < 12; ++i) lengths.push_back(prng.uniform(max_size + 1));
    for (const std::size_t length : lengths) {
        const std::size_t offset = prng.uniform(16);
        const auto piece = all.subspan(offset, length);
        const auto seed = static_cast<std::uint32_t>(prng.next_u64());
        const std::uint32_t expected = crc32c_portable(piece, seed);
        EXPECT_EQ(detail::crc32c_three_stream(piece, seed), expected) << length << "+" << offset;
        EXPECT_EQ(crc32c_hardware(piece, seed), expected) << length << "+" << offset;
        EXPECT_EQ(crc32c(piece, seed), expected) << length << "+" << offset;
    }
}

// Feeds `all` through `update` in pieces cut at random points, some tiny and
// some spanning several blocks.
template <typename Update>
std::uint32_t crc_in_random_pieces(Prng& prng, std::span<const std::uint8_t> all, Update update) {
    std::uint32_t running = 0;
    while (!all.empty()) {
        const std::uint64_t limit = prng.chance(0.3) ? 64 : all.size();
        const std::size_t cut = std::min<std::size_t>(all.size(), prng.uniform(limit + 1));
        running = update(all.first(cut), running);
        all = all.subspan(cut);
    }
    return running;
}

TEST(Crc32c, ThreeStreamIncrementalUpdatesEqualOneShot) {
    if (!detail::crc32c_three_stream_available()) GTEST_SKIP() << "no SSE4.2 + PCLMULQDQ";
    Prng prng(77);
    const auto buffer = random_bytes(prng, std::size_t{1} << 20);
    for (int round = 0; round < 20; ++round) {
        const auto all = std::span<const std::uint8_t>(buffer).first(prng.uniform(buffer.size()));
        const std::uint32_t whole = crc32c_portable(all);
        const auto three = [](std::span<const std::uint8_t> piece, std::uint32_t crc) {
            return detail::crc32c_three_stream(piece, crc);
        };
        const auto dispatched = [](std::span<const std::uint8_t> piece, std::uint32_t crc) {
            return crc32c(piece, crc);
        };
        ASSERT_EQ(crc_in_random_pieces(prng, all, three), whole) << "round " << round;
        ASSERT_EQ(crc_in_random_pieces(prng, all, dispatched), whole) << "round " << round;
    }
}

}  // namespace
}  // namespace samsa

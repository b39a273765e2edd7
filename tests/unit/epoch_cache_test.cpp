// Unit tests for core/log/epoch_cache: Kafka's LeaderEpochFileCache rules for
// assign, OffsetsForLeaderEpoch answers, the epoch of an offset, both
// truncations, and the checkpoint encoding with every kind of damage refused.
#include "core/log/epoch_cache.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <utility>
#include <vector>

#include "core/base/crc32c.h"
#include "tests/unit/printers.h"

namespace samsa::log {

void PrintTo(EpochError error, std::ostream* os) {
    *os << to_string(error);
}

void PrintTo(const EpochEntry& entry, std::ostream* os) {
    *os << "(epoch " << entry.epoch << ", start " << entry.start.value() << ")";
}

namespace {

using Bytes = io::Bytes;
using Entries = std::vector<EpochEntry>;
using EndOffset = std::optional<std::pair<std::int32_t, Offset>>;

EpochCache cache_of(const Entries& entries) {
    EpochCache cache;
    for (const EpochEntry& entry : entries) {
        EXPECT_TRUE(cache.assign(entry.epoch, entry.start).ok());
    }
    EXPECT_EQ(cache.entries(), entries);
    return cache;
}

EndOffset end_at(std::int32_t epoch, std::int64_t offset) {
    return std::pair{epoch, Offset(offset)};
}

// Epochs 1, 3, 6 starting at 0, 10, 25.
const Entries three = {{1, Offset(0)}, {3, Offset(10)}, {6, Offset(25)}};

TEST(EpochCacheTest, AnEmptyCacheKnowsNoEpoch) {
    const EpochCache cache;
    EXPECT_TRUE(cache.empty());
    EXPECT_EQ(cache.size(), 0U);
    EXPECT_EQ(cache.latest(), std::nullopt);
    EXPECT_EQ(cache.epoch_for(Offset(0)), std::nullopt);
    EXPECT_EQ(cache.end_offset_for(0, Offset(0)), std::nullopt);
}

TEST(EpochCacheTest, AssignAppendsNewerEpochs) {
    EpochCache cache = cache_of(three);
    EXPECT_EQ(cache.size(), 3U);
    EXPECT_EQ(cache.latest(), (EpochEntry{6, Offset(25)}));
}

TEST(EpochCacheTest, LaterBatchesOfTheLatestEpochChangeNothing) {
    EpochCache cache = cache_of(three);
    EXPECT_TRUE(cache.assign(6, Offset(25)).ok());
    EXPECT_TRUE(cache.assign(6, Offset(90)).ok());
    EXPECT_EQ(cache.entries(), three);
}

TEST(EpochCacheTest, AnOlderEpochIsRefused) {
    EpochCache cache = cache_of(three);
    for (const std::int32_t epoch : {0, 1, 3, 5}) {
        const auto status = cache.assign(epoch, Offset(100));
        ASSERT_FALSE(status.ok()) << epoch;
        EXPECT_EQ(status.error(), EpochError::stale_epoch);
    }
    EXPECT_EQ(cache.entries(), three);
}

TEST(EpochCacheTest, NegativeEpochsAndOffsetsAreRefused) {
    EpochCache cache = cache_of(three);
    EXPECT_EQ(cache.assign(-1, Offset(100)).error(), EpochError::negative_epoch);
    EXPECT_EQ(cache.assign(7, Offset(-1)).error(), EpochError::negative_offset);
    EXPECT_EQ(cache.entries(), three);
}

TEST(EpochCacheTest, ANewerEpochReplacesEpochsStartingAtOrAfterIt) {
    EpochCache same_start = cache_of(three);
    EXPECT_TRUE(same_start.assign(7, Offset(25)).ok());
    EXPECT_EQ(same_start.entries(), (Entries{{1, Offset(0)}, {3, Offset(10)}, {7, Offset(25)}}));

    EpochCache earlier = cache_of(three);
    EXPECT_TRUE(earlier.assign(8, Offset(5)).ok());
    EXPECT_EQ(earlier.entries(), (Entries{{1, Offset(0)}, {8, Offset(5)}}));

    EpochCache everything = cache_of(three);
    EXPECT_TRUE(everything.assign(9, Offset(0)).ok());
    EXPECT_EQ(everything.entries(), (Entries{{9, Offset(0)}}));
}

TEST(EpochCacheTest, TheLatestEpochsStartCanMoveDown) {
    EpochCache cache = cache_of(three);
    EXPECT_TRUE(cache.assign(6, Offset(20)).ok());
    EXPECT_EQ(cache.entries(), (Entries{{1, Offset(0)}, {3, Offset(10)}, {6, Offset(20)}}));
    EXPECT_TRUE(cache.assign(6, Offset(10)).ok());
    EXPECT_EQ(cache.entries(), (Entries{{1, Offset(0)}, {6, Offset(10)}}));
}

TEST(EpochCacheTest, EndOffsetForFollowsOffsetsForLeaderEpoch) {
    const EpochCache cache = cache_of(three);
    const Offset log_end(40);
    EXPECT_EQ(cache.end_offset_for(6, log_end), end_at(6, 40));  // the latest: still going
    EXPECT_EQ(cache.end_offset_for(3, log_end), end_at(3, 25));  // known: next one's start
    EXPECT_EQ(cache.end_offset_for(1, log_end), end_at(1, 10));
    EXPECT_EQ(cache.end_offset_for(4, log_end), end_at(3, 25));  // unknown: the one below
    EXPECT_EQ(cache.end_offset_for(5, log_end), end_at(3, 25));
    EXPECT_EQ(cache.end_offset_for(2, log_end), end_at(1, 10));
    EXPECT_EQ(cache.end_offset_for(7, log_end), std::nullopt);      // newer than any
    EXPECT_EQ(cache.end_offset_for(-1, log_end), std::nullopt);     // undefined
    EXPECT_EQ(cache.end_offset_for(6, Offset(25)), end_at(6, 25));  // nothing yet in epoch 6
}

TEST(EpochCacheTest, EndOffsetForBelowTheFirstEpochGivesItsStart) {
    EpochCache cache = cache_of(three);
    cache.truncate_from_start(Offset(12));  // epoch 1 is gone; epoch 3 starts at 12
    EXPECT_EQ(cache.end_offset_for(0, Offset(40)), end_at(0, 12));
    EXPECT_EQ(cache.end_offset_for(2, Offset(40)), end_at(2, 12));
}

TEST(EpochCacheTest, EpochForGivesTheEpochCoveringAnOffset) {
    const EpochCache cache = cache_of({{1, Offset(5)}, {3, Offset(10)}, {6, Offset(25)}});
    EXPECT_EQ(cache.epoch_for(Offset(0)), std::nullopt);
    EXPECT_EQ(cache.epoch_for(Offset(4)), std::nullopt);
    EXPECT_EQ(cache.epoch_for(Offset(5)), 1);
    EXPECT_EQ(cache.epoch_for(Offset(9)), 1);
    EXPECT_EQ(cache.epoch_for(Offset(10)), 3);
    EXPECT_EQ(cache.epoch_for(Offset(24)), 3);
    EXPECT_EQ(cache.epoch_for(Offset(25)), 6);
    EXPECT_EQ(cache.epoch_for(Offset(1'000'000)), 6);
}

TEST(EpochCacheTest, TruncateFromEndForgetsEpochsStartingAtOrAfterTheEnd) {
    struct Case {
        std::int64_t end;
        Entries expected;
    };
    const std::vector<Case> cases = {
        {100, three},
        {26, three},
        {25, {{1, Offset(0)}, {3, Offset(10)}}},
        {11, {{1, Offset(0)}, {3, Offset(10)}}},
        {10, {{1, Offset(0)}}},
        {1, {{1, Offset(0)}}},
        {0, {}},
    };
    for (const Case& c : cases) {
        EpochCache cache = cache_of(three);
        cache.truncate_from_end(Offset(c.end));
        EXPECT_EQ(cache.entries(), c.expected) << c.end;
    }
}

TEST(EpochCacheTest, TruncateFromStartKeepsTheEpochCoveringTheStart) {
    struct Case {
        std::int64_t start;
        Entries expected;
    };
    const std::vector<Case> cases = {
        {2, {{1, Offset(2)}, {3, Offset(10)}, {6, Offset(25)}}},
        {10, {{3, Offset(10)}, {6, Offset(25)}}},
        {24, {{3, Offset(24)}, {6, Offset(25)}}},
        {25, {{6, Offset(25)}}},
        {90, {{6, Offset(90)}}},
    };
    for (const Case& c : cases) {
        EpochCache cache = cache_of(three);
        cache.truncate_from_start(Offset(c.start));
        EXPECT_EQ(cache.entries(), c.expected) << c.start;
    }
    // Every epoch starts after it: nothing to forget.
    EpochCache later = cache_of({{2, Offset(50)}});
    later.truncate_from_start(Offset(10));
    EXPECT_EQ(later.entries(), (Entries{{2, Offset(50)}}));
    EpochCache empty;
    empty.truncate_from_start(Offset(10));
    empty.truncate_from_end(Offset(10));
    EXPECT_TRUE(empty.empty());
}

TEST(EpochCacheTest, AssignAfterTruncationContinuesTheHistory) {
    EpochCache cache = cache_of(three);
    cache.truncate_from_end(Offset(20));
    // Epoch 6 is forgotten with its batches, so epoch 4 is newer than any left.
    EXPECT_TRUE(cache.assign(4, Offset(20)).ok());
    EXPECT_EQ(cache.entries(), (Entries{{1, Offset(0)}, {3, Offset(10)}, {4, Offset(20)}}));
    EXPECT_EQ(cache.assign(2, Offset(30)).error(), EpochError::stale_epoch);
}

// ---- Encoding ----

void put_be32(Bytes& bytes, std::size_t at, std::uint32_t value) {
    for (std::size_t i = 0; i < 4; ++i) {
        bytes[at + i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
    }
}

Bytes resealed(Bytes bytes) {
    put_be32(bytes, bytes.size() - 4, crc32c(std::span(bytes).first(bytes.size() - 4)));
    return bytes;
}

std::vector<EpochCache> samples() {
    return {EpochCache(), cache_of({{0, Offset(0)}}), cache_of(three),
            cache_of({{5, Offset(1'000'000'000'000)}, {2'000'000'000, Offset(1'000'000'000'001)}})};
}

TEST(EpochCacheTest, DecodeGivesBackWhatWasEncoded) {
    for (const EpochCache& cache : samples()) {
        const Bytes bytes = cache.encode();
        EXPECT_EQ(bytes.size(), 16 + 12 * cache.size());
        const auto decoded = EpochCache::decode(bytes);
        ASSERT_TRUE(decoded.ok()) << to_string(decoded.error());
        EXPECT_EQ(decoded.value(), cache);
    }
}

TEST(EpochCacheTest, EveryDamagedByteIsRejected) {
    for (const EpochCache& cache : samples()) {
        const Bytes bytes = cache.encode();
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            for (const std::uint8_t flip : {0x01, 0x80, 0xFF}) {
                Bytes damaged = bytes;
                damaged[i] ^= flip;
                EXPECT_FALSE(EpochCache::decode(damaged).ok())
                    << "byte " << i << " flipped by " << int{flip};
            }
        }
    }
}

TEST(EpochCacheTest, EveryTruncationAndAnyTrailingByteIsRejected) {
    for (const EpochCache& cache : samples()) {
        const Bytes bytes = cache.encode();
        for (std::size_t length = 0; length < bytes.size(); ++length) {
            const auto result = EpochCache::decode(std::span(bytes).first(length));
            ASSERT_FALSE(result.ok()) << length;
            EXPECT_EQ(result.error(), EpochError::truncated) << length;
        }
        Bytes longer = bytes;
        longer.push_back(0);
        EXPECT_EQ(EpochCache::decode(longer).error(), EpochError::trailing_bytes);
    }
}

TEST(EpochCacheTest, DecodeNamesWhatIsWrong) {
    // Entries (epoch, start) from byte 12, 12 bytes each: (1,0) (3,10) (6,25).
    const Bytes bytes = cache_of(three).encode();
    ASSERT_EQ(bytes.size(), 52U);
    auto with = [&](std::size_t at, std::uint32_t value) {
        Bytes changed = bytes;
        put_be32(changed, at, value);
        return EpochCache::decode(resealed(changed));
    };
    Bytes magic = bytes;
    magic[1] = 0;
    EXPECT_EQ(EpochCache::decode(magic).error(), EpochError::bad_magic);
    EXPECT_EQ(with(4, 0x00020000).error(), EpochError::unsupported_version);
    Bytes flipped = bytes;
    flipped[20] ^= 4;
    EXPECT_EQ(EpochCache::decode(flipped).error(), EpochError::checksum_mismatch);
    EXPECT_EQ(with(4, 0x00010001).error(), EpochError::invalid_entry);   // reserved field
    EXPECT_EQ(with(24, 0xFFFFFFFF).error(), EpochError::invalid_entry);  // epoch -1
    EXPECT_EQ(with(28, 0x80000000).error(), EpochError::invalid_entry);  // start < 0
    EXPECT_EQ(with(24, 1).error(), EpochError::unordered_entries);       // epochs repeat
    EXPECT_EQ(with(36, 2).error(), EpochError::unordered_entries);       // epochs go down
    EXPECT_EQ(with(44, 10).error(), EpochError::unordered_entries);      // starts repeat
    EXPECT_EQ(with(8, 4).error(), EpochError::truncated);                // count too large
    EXPECT_EQ(with(8, 2).error(), EpochError::trailing_bytes);           // count too small
}

}  // namespace
}  // namespace samsa::log

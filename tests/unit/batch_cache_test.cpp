// Tests of log::BatchCache: contiguity, byte limit, eviction, truncation.
#include "core/log/batch_cache.h"

#include <gtest/gtest.h>

namespace samsa::log {
namespace {

// A stand-in batch: `size` bytes all equal to the low byte of its base offset.
io::Bytes fake(std::int64_t base, std::size_t size) {
    return io::Bytes(size, static_cast<std::uint8_t>(base));
}

// Fills batches of 10 offsets and 100 bytes each: [0,9], [10,19], ...
BatchCache filled(int count, std::uint64_t bytes_max = 1 << 20) {
    BatchCache cache(bytes_max);
    for (int i = 0; i < count; ++i)
        cache.add(Offset(i * 10), Offset(i * 10 + 9), fake(i * 10, 100));
    return cache;
}

TEST(BatchCache, ReadsWholeBatchesFromTheOneContainingTheOffset) {
    const BatchCache cache = filled(5);
    const auto got = cache.read(Offset(15), 150, Offset(50));
    ASSERT_TRUE(got.has_value());
    // Batches until 150 bytes are reached or passed: [10,19] and [20,29].
    ASSERT_EQ(got->size(), 200U);
    EXPECT_EQ(got->front(), 10);
    EXPECT_EQ(got->back(), 20);
    // At least one batch, however small the limit.
    EXPECT_EQ(cache.read(Offset(0), 1, Offset(50))->size(), 100U);
}

TEST(BatchCache, NeverReturnsBatchesAtOrPastTheEnd) {
    const BatchCache cache = filled(5);
    EXPECT_EQ(cache.read(Offset(0), 1 << 20, Offset(30))->size(), 300U);
    EXPECT_FALSE(cache.read(Offset(30), 1 << 20, Offset(30)).has_value());
}

TEST(BatchCache, MissesOutsideWhatItHolds) {
    const BatchCache cache = filled(3);
    EXPECT_FALSE(cache.read(Offset(30), 100, Offset(100)).has_value());
    EXPECT_FALSE(BatchCache(1000).read(Offset(0), 100, Offset(100)).has_value());
}

TEST(BatchCache, EvictsTheOldestBeyondItsByteLimit) {
    const BatchCache cache = filled(10, 350);
    EXPECT_EQ(cache.batches(), 3U);
    EXPECT_EQ(cache.bytes(), 300U);
    EXPECT_EQ(cache.first(), Offset(70));
    EXPECT_FALSE(cache.read(Offset(69), 100, Offset(100)).has_value());
    EXPECT_TRUE(cache.read(Offset(70), 100, Offset(100)).has_value());
}

TEST(BatchCache, AGapStartsOver) {
    BatchCache cache = filled(3);
    cache.add(Offset(40), Offset(49), fake(40, 100));
    EXPECT_EQ(cache.batches(), 1U);
    EXPECT_EQ(cache.first(), Offset(40));
}

TEST(BatchCache, ABatchLargerThanTheCacheIsNotKept) {
    BatchCache cache = filled(2, 150);
    cache.add(Offset(20), Offset(29), fake(20, 200));
    EXPECT_EQ(cache.batches(), 1U);  // [10,19] stays; the big one is not cached
    cache.add(Offset(30), Offset(39), fake(30, 100));
    EXPECT_EQ(cache.first(), Offset(30));  // and the next one is not contiguous with it
}

TEST(BatchCache, TruncationDropsTheCutBatches) {
    BatchCache cache = filled(5);
    cache.truncate(Offset(20));
    EXPECT_EQ(cache.batches(), 2U);
    EXPECT_EQ(cache.bytes(), 200U);
    EXPECT_FALSE(cache.read(Offset(20), 100, Offset(100)).has_value());
    cache.add(Offset(20), Offset(24), fake(20, 50));  // appends go on from the cut
    EXPECT_EQ(cache.batches(), 3U);
    cache.truncate(Offset(0));
    EXPECT_EQ(cache.batches(), 0U);
    EXPECT_EQ(cache.bytes(), 0U);
}

}  // namespace
}  // namespace samsa::log

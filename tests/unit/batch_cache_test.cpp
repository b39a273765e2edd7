// Tests of log::BatchCache: contiguity, byte limit, eviction, truncation, and
// of log::CacheBudget: many caches sharing memory, the oldest batches going first.
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
    const auto got = cache.read(Offset(15), 200, Offset(50));
    ASSERT_TRUE(got.has_value());
    // The batches that fit in 200 bytes: [10,19] and [20,29].
    ASSERT_EQ(got->size(), 200U);
    EXPECT_EQ(got->front(), 10);
    EXPECT_EQ(got->back(), 20);
    // Never past the limit: [20,29] would take 150 bytes to 200.
    EXPECT_EQ(cache.read(Offset(15), 150, Offset(50))->size(), 100U);
    EXPECT_EQ(cache.read(Offset(15), 299, Offset(50))->size(), 200U);
    // But at least one batch, however small the limit.
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

// ---- CacheBudget ------------------------------------------------------------

void add_batch(BatchCache& cache, int index) {  // [10i, 10i+9], 100 bytes
    cache.add(Offset(index * 10), Offset(index * 10 + 9), fake(index * 10, 100));
}

TEST(CacheBudget, OneCacheAloneMayUseAllOfIt) {
    CacheBudget budget(1000);
    BatchCache cache(~std::uint64_t{0}, &budget);
    for (int i = 0; i < 10; ++i) add_batch(cache, i);
    EXPECT_EQ(cache.bytes(), 1000U);
    EXPECT_EQ(budget.bytes(), 1000U);
    add_batch(cache, 10);  // one more: the oldest goes
    EXPECT_EQ(budget.bytes(), 1000U);
    EXPECT_EQ(cache.first(), Offset(10));
}

TEST(CacheBudget, TheOldestBatchesOfAllCachesGoFirst) {
    CacheBudget budget(600);
    BatchCache a(~std::uint64_t{0}, &budget);
    BatchCache b(~std::uint64_t{0}, &budget);
    add_batch(a, 0);  // ages: a0 a1 b0 b1 a2 b2
    add_batch(a, 1);
    add_batch(b, 0);
    add_batch(b, 1);
    add_batch(a, 2);
    add_batch(b, 2);
    EXPECT_EQ(budget.bytes(), 600U);
    add_batch(b, 3);  // over by 100: a's [0,9] is the oldest of all
    EXPECT_EQ(a.first(), Offset(10));
    EXPECT_EQ(b.first(), Offset(0));
    add_batch(b, 4);  // then a's [10,19]
    EXPECT_EQ(a.first(), Offset(20));
    add_batch(b, 5);  // then b's [0,9], older than a's [20,29]
    EXPECT_EQ(a.first(), Offset(20));
    EXPECT_EQ(b.first(), Offset(10));
    EXPECT_EQ(a.bytes() + b.bytes(), budget.bytes());
    EXPECT_EQ(budget.bytes(), 600U);
    // What is left still reads back whole.
    EXPECT_EQ(b.read(Offset(10), 1 << 20, Offset(60))->size(), 500U);
}

TEST(CacheBudget, ALogsOwnLimitStillCapsItsShare) {
    CacheBudget budget(1000);
    BatchCache small(200, &budget);
    BatchCache big(~std::uint64_t{0}, &budget);
    for (int i = 0; i < 5; ++i) add_batch(small, i);
    EXPECT_EQ(small.bytes(), 200U);
    for (int i = 0; i < 8; ++i) add_batch(big, i);
    EXPECT_EQ(big.bytes(), 800U);
    EXPECT_EQ(budget.bytes(), 1000U);
}

TEST(CacheBudget, TruncationClearingAndDestructionGiveMemoryBack) {
    CacheBudget budget(1000);
    BatchCache a(~std::uint64_t{0}, &budget);
    {
        BatchCache b(~std::uint64_t{0}, &budget);
        for (int i = 0; i < 4; ++i) add_batch(a, i);
        for (int i = 0; i < 4; ++i) add_batch(b, i);
        EXPECT_EQ(budget.bytes(), 800U);
        a.truncate(Offset(20));
        EXPECT_EQ(budget.bytes(), 600U);
    }
    EXPECT_EQ(budget.bytes(), 200U);  // b is gone
    add_batch(a, 2);
    for (int i = 3; i < 11; ++i) add_batch(a, i);  // fills the whole budget again
    EXPECT_EQ(budget.bytes(), 1000U);
    EXPECT_EQ(a.first(), Offset(10));
    a.clear();
    EXPECT_EQ(budget.bytes(), 0U);
}

TEST(CacheBudget, ABatchLargerThanTheBudgetIsNotCached) {
    CacheBudget budget(150);
    BatchCache cache(~std::uint64_t{0}, &budget);
    add_batch(cache, 0);
    cache.add(Offset(10), Offset(19), fake(10, 200));
    EXPECT_EQ(cache.batches(), 1U);  // [0,9] stays; a read from 10 misses
    EXPECT_FALSE(cache.read(Offset(10), 1 << 20, Offset(30)).has_value());
    add_batch(cache, 2);  // after the gap: the cache starts over
    EXPECT_EQ(cache.first(), Offset(20));
    EXPECT_EQ(budget.bytes(), 100U);
}

TEST(CacheBudgetDeathTest, ACacheWithABudgetCannotMove) {
    CacheBudget budget(1000);
    BatchCache cache(1000, &budget);
    EXPECT_DEATH({ BatchCache moved(std::move(cache)); }, "cannot move");
}

}  // namespace
}  // namespace samsa::log

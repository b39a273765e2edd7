// The log's cache of its most recent batches, for readers at the tail.
//
// Consumers and followers mostly read what was appended moments ago. Serving
// them from memory saves a disk read per fetch and, with O_DIRECT writes (no
// page cache), is the only way those bytes are still in memory at all -
// Redpanda's batch cache plays the same role. The cache holds whole batches
// in offset order with no gaps, up to bytes_max; the oldest go first. Batches
// enter once their append is complete (readable), so a reader never sees
// bytes the log could still take back; truncation drops the cut ones.
//
// Many logs may share one CacheBudget (a broker's partitions do): then their
// batches together stay within the budget's bytes_max as well, and when they
// pass it the oldest batches of all the caches go first, whichever log they
// belong to - one partition being written and read alone may use the whole
// budget, many share it by recency. The budget tracks each cache by address:
// a cache with a budget cannot be moved, and the budget must outlive its
// caches.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <utility>

#include "core/base/ids.h"
#include "core/io/seam.h"

namespace samsa::log {

class BatchCache;

class CacheBudget {
public:
    explicit CacheBudget(std::uint64_t bytes_max) : bytes_max_(bytes_max) {}
    CacheBudget(const CacheBudget&) = delete;
    CacheBudget& operator=(const CacheBudget&) = delete;
    ~CacheBudget();

    [[nodiscard]] std::uint64_t bytes_max() const noexcept { return bytes_max_; }
    // Bytes cached by all the caches that share this budget.
    [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }

private:
    friend class BatchCache;
    // Drops oldest batches (of any cache) until the caches fit the budget.
    void evict();

    std::uint64_t bytes_max_;
    std::uint64_t bytes_ = 0;
    std::uint64_t added_ = 0;  // batches ever added: their age order
    // Every non-empty cache, by the age of its oldest batch.
    std::set<std::pair<std::uint64_t, BatchCache*>> oldest_;
};

class BatchCache {
public:
    explicit BatchCache(std::uint64_t bytes_max, CacheBudget* budget = nullptr)
        : bytes_max_(bytes_max), budget_(budget) {}
    ~BatchCache() { clear(); }
    // Only caches without a budget copy or move (the budget knows caches by
    // address); doing it with one is a bug, caught by an assertion.
    BatchCache(const BatchCache& other);
    BatchCache(BatchCache&& other) noexcept;
    BatchCache& operator=(const BatchCache&) = delete;
    BatchCache& operator=(BatchCache&&) = delete;

    // Adds the batch [base, last]. It must follow the newest cached batch;
    // anything else (a gap after a failure or truncation) starts over.
    void add(Offset base, Offset last, io::Bytes batch);
    // Whole batches from the one containing `from`: that one, then those that
    // fit within max_bytes in all, none at or past `end`. nullopt when `from`
    // is not cached.
    [[nodiscard]] std::optional<io::Bytes> read(Offset from, std::uint32_t max_bytes,
                                                Offset end) const;
    // Forgets every batch at or after `offset`.
    void truncate(Offset offset);
    void clear();

    [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }
    [[nodiscard]] std::size_t batches() const noexcept { return entries_.size(); }
    [[nodiscard]] std::optional<Offset> first() const;

private:
    friend class CacheBudget;
    struct Entry {
        Offset base;
        Offset last;
        io::Bytes bytes;
        std::uint64_t age = 0;  // the budget's count when added
    };

    void pop_front();
    void pop_back();
    void drop(std::deque<Entry>::iterator entry);  // the first or the last
    // Keep the budget's record of this cache's oldest batch up to date around
    // a change of the oldest entry: forget before it, note after it.
    void forget_oldest();
    void note_oldest();

    std::uint64_t bytes_max_;
    CacheBudget* budget_;
    std::uint64_t bytes_ = 0;
    std::deque<Entry> entries_;
};

}  // namespace samsa::log

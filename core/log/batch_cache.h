// The log's cache of its most recent batches, for readers at the tail.
//
// Consumers and followers mostly read what was appended moments ago. Serving
// them from memory saves a disk read per fetch and, with O_DIRECT writes (no
// page cache), is the only way those bytes are still in memory at all -
// Redpanda's batch cache plays the same role. The cache holds whole batches
// in offset order with no gaps, up to bytes_max; the oldest go first. Batches
// enter once their append is complete (readable), so a reader never sees
// bytes the log could still take back; truncation drops the cut ones.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "core/base/ids.h"
#include "core/io/seam.h"

namespace samsa::log {

class BatchCache {
public:
    explicit BatchCache(std::uint64_t bytes_max) : bytes_max_(bytes_max) {}

    // Adds the batch [base, last]. It must follow the newest cached batch;
    // anything else (a gap after a failure or truncation) starts over.
    void add(Offset base, Offset last, io::Bytes batch);
    // Whole batches from the one containing `from`, until max_bytes is reached
    // or passed (so at least one), none at or past `end`. nullopt when `from` is not cached.
    [[nodiscard]] std::optional<io::Bytes> read(Offset from, std::uint32_t max_bytes,
                                                Offset end) const;
    // Forgets every batch at or after `offset`.
    void truncate(Offset offset);
    void clear();

    [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }
    [[nodiscard]] std::size_t batches() const noexcept { return entries_.size(); }
    [[nodiscard]] std::optional<Offset> first() const;

private:
    struct Entry {
        Offset base;
        Offset last;
        io::Bytes bytes;
    };

    std::uint64_t bytes_max_;
    std::uint64_t bytes_ = 0;
    std::deque<Entry> entries_;
};

}  // namespace samsa::log

// The sparse offset index and time index of one segment, as Kafka keeps them
// in its .index and .timeindex files, here in one structure and one file.
//
// Theory of operation. The log calls on_batch() for every batch it appends to
// the segment, in order. Not every batch is indexed: an entry is added for the
// segment's first batch and then for a batch only when at least interval_bytes
// have been appended since the batch of the previous entry (Kafka's
// index.interval.bytes), so the index stays ~interval_bytes times smaller than
// the segment, and a lookup gives a batch start from which the caller scans
// forward - at most about interval_bytes of batches before the one it wants.
//
// The offset index maps a batch's base offset to its byte position. The time
// index records the running maximum of the batches' maxTimestamp: an entry
// (T, o, p) says "the largest maxTimestamp in this segment up to and including
// the batch at offset o (position p) is T, and the batch at o is the first
// to reach it". Entries are added only when a batch raises that maximum (and
// the interval allows), but the maximum of the whole segment and the offset
// of the batch that first reached it are always tracked, so a lookup can say
// for sure that no batch in the segment reaches a timestamp.
//
// Positions are byte positions within the segment file; both entry kinds
// store them as 32 bits, so a segment is limited to 4 GiB of positions, and
// offsets relative to the segment's base as 32 bits (Kafka's limits too).
//
// File format (all integers big-endian), written once when a segment is
// sealed and read back lazily; anything damaged or inconsistent is rejected
// so that the log rebuilds the index by scanning the segment instead:
//
//   offset size field
//        0    4 magic "SIDX" (0x53494458)
//        4    2 format version (1)
//        6    2 flags: bit 0 = the maximum timestamp is exact, not an upper
//                 bound (see truncate_to)
//        8    8 base offset of the segment
//       16    8 segment size in bytes that this index describes
//       24    4 interval_bytes the index was built with
//       28    4 end offset delta: end_offset() - base
//       32    8 maximum timestamp (0 when there are no batches)
//       40    4 offset delta of the batch that first reached it (see
//                 max_timestamp() for an upper bound)
//       44    4 offset entry count N
//       48    4 time entry count M
//       52  8*N offset entries: offset delta u32, position u32
//         16*M time entries: timestamp i64, offset delta u32, position u32
//            4 CRC-32C of every byte before it
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "core/base/ids.h"
#include "core/base/result.h"
#include "core/io/seam.h"

namespace samsa::log {

struct IndexConfig {
    // Bytes appended between two entries of the same index (at least this many).
    std::uint32_t interval_bytes = 4096;

    bool operator==(const IndexConfig&) const = default;
};

// Why decode() refused an encoding. Every one means "rebuild by scanning".
enum class IndexError : std::uint8_t {
    truncated,              // fewer bytes than the header and counts promise
    trailing_bytes,         // more bytes than the header and counts promise
    bad_magic,              // not an index file
    unsupported_version,    // written by another format version
    checksum_mismatch,      // the CRC-32C does not match
    base_mismatch,          // the index of another segment
    size_mismatch,          // describes a segment of another size (torn or grown)
    invalid_header,         // unknown flags, zero interval, impossible maximum
    unordered_entries,      // offsets, positions or timestamps not increasing
    position_out_of_range,  // an entry beyond the segment size or end offset
    inconsistent_entries,   // the two indexes, or the maximum, disagree
};
const char* to_string(IndexError error) noexcept;

class SegmentIndex {
public:
    struct OffsetEntry {
        std::uint32_t offset_delta;  // base offset of the batch - segment base
        std::uint32_t position;
        bool operator==(const OffsetEntry&) const = default;
    };
    struct TimeEntry {
        std::int64_t timestamp_ms;   // the running maximum, first reached by this batch
        std::uint32_t offset_delta;  // of that batch
        std::uint32_t position;      // of that batch
        bool operator==(const TimeEntry&) const = default;
    };
    struct MaxTimestamp {
        std::int64_t timestamp_ms;
        Offset offset;  // base offset of the first batch that reached it
        bool operator==(const MaxTimestamp&) const = default;
    };

    explicit SegmentIndex(Offset base, IndexConfig config = {});

    // Records one batch appended to the segment: offsets [first, last], its
    // maxTimestamp, and where it lies. Batches come in order: each one after
    // the previous in offsets and bytes (gaps are allowed, as after
    // compaction; overlaps are programmer errors).
    void on_batch(Offset first, Offset last, std::int64_t max_timestamp_ms, std::uint64_t position,
                  std::uint32_t size_bytes);

    // Where a read of `target` starts scanning: the position of the last
    // indexed batch whose base offset is <= target, 0 when there is none
    // (target below the segment's base, or no batches).
    [[nodiscard]] std::uint64_t lookup_position(Offset target) const;

    // For Kafka's ListOffsets by timestamp, which answers the earliest offset
    // whose record timestamp is >= ts: the caller scans batches from the
    // returned (base offset, position) on, takes the first batch whose
    // maxTimestamp is >= ts, then the first record in it with a timestamp >= ts.
    //
    // Returns the batch of the last time entry whose timestamp is < ts (every
    // batch up to and including it has a maxTimestamp < ts, so the first match
    // lies after it), or the segment's first batch when there is no such entry.
    // Returns nullopt when no batch in this segment can match: the segment is
    // empty, or ts > max_timestamp() (exact, or an upper bound after a
    // truncation). With an upper bound, a start may be returned for a ts that
    // no batch reaches: the scan then finds nothing, and the caller moves on to
    // the next segment as for nullopt.
    [[nodiscard]] std::optional<std::pair<Offset, std::uint64_t>> lookup_time(
        std::int64_t ts) const;

    // Forgets every batch at or after `offset`, which is a batch boundary: the
    // base offset of the batch at byte `position`, or at/after the segment's end
    // with position == size_bytes(). `position` becomes the segment's size.
    //
    // The maximum timestamp stays exact when the batch that first reached it
    // is kept. Otherwise the index cannot know the largest maxTimestamp among
    // the unindexed batches between its last remaining time entry and the cut,
    // so it keeps the old maximum as an upper bound (max_timestamp_exact()
    // false; the offset becomes that of the last time entry, at or before the
    // batch that first reaches the true maximum). An upper bound keeps every
    // answer sound: lookup_time() never says "no match" wrongly, a time entry
    // is added only for a batch above the bound (so entries stay true), and
    // time-based retention would keep the segment rather than delete it early.
    // The maximum is exact again as soon as a batch exceeds the bound; the log
    // may also rebuild the index by scanning. (Keeping every batch's timestamp
    // in memory to stay exact would cost as much as a dense index.)
    void truncate_to(Offset offset, std::uint64_t position);

    [[nodiscard]] io::Bytes encode() const;
    // Reads an encoding back, checking it describes the segment with base
    // offset `expected_base` and exactly `segment_size` bytes.
    static Result<SegmentIndex, IndexError> decode(std::span<const std::uint8_t> bytes,
                                                   Offset expected_base,
                                                   std::uint64_t segment_size);

    [[nodiscard]] Offset base() const noexcept { return base_; }
    [[nodiscard]] const IndexConfig& config() const noexcept { return config_; }
    [[nodiscard]] bool empty() const noexcept { return offset_entries_.empty(); }
    [[nodiscard]] std::size_t offset_entry_count() const noexcept { return offset_entries_.size(); }
    [[nodiscard]] std::size_t time_entry_count() const noexcept { return time_entries_.size(); }
    [[nodiscard]] const std::vector<OffsetEntry>& offset_entries() const noexcept {
        return offset_entries_;
    }
    [[nodiscard]] const std::vector<TimeEntry>& time_entries() const noexcept {
        return time_entries_;
    }
    // The largest maxTimestamp of the batches and the first batch reaching it;
    // nullopt when there are no batches. When !max_timestamp_exact(), an upper
    // bound, and the true maximum is first reached at or after `offset`.
    [[nodiscard]] std::optional<MaxTimestamp> max_timestamp() const noexcept { return max_; }
    [[nodiscard]] bool max_timestamp_exact() const noexcept { return max_exact_; }
    // The end of the last batch: the segment size this index describes.
    [[nodiscard]] std::uint64_t size_bytes() const noexcept { return size_bytes_; }
    // The least offset the next batch may start at: the offset after the last
    // batch (base() when there are none), or after truncate_to(offset) that
    // offset, which is later when a gap preceded the batch cut there.
    [[nodiscard]] Offset end_offset() const noexcept { return end_offset_; }

    bool operator==(const SegmentIndex&) const = default;

private:
    std::uint32_t delta_of(Offset offset) const;

    Offset base_;
    IndexConfig config_;
    std::vector<OffsetEntry> offset_entries_;
    std::vector<TimeEntry> time_entries_;
    std::optional<MaxTimestamp> max_;
    bool max_exact_ = true;
    std::uint64_t size_bytes_ = 0;
    Offset end_offset_;
};

}  // namespace samsa::log

// Unit tests for core/log/segment_index: which batches get entries, what the
// lookups answer (including at the edges of the segment), what truncation
// keeps, and that decode() gives back exactly what encode() took - or refuses,
// with the specific error, every damaged or inconsistent encoding.
#include "core/log/segment_index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <utility>
#include <vector>

#include "core/base/crc32c.h"
#include "tests/unit/printers.h"

namespace samsa::log {

void PrintTo(IndexError error, std::ostream* os) {
    *os << to_string(error);
}

namespace {

using Bytes = io::Bytes;
using Start = std::optional<std::pair<Offset, std::uint64_t>>;

struct Batch {
    std::int64_t base;
    std::int64_t last;
    std::int64_t max_timestamp_ms;
    std::uint64_t position;
    std::uint32_t size;
};

SegmentIndex build(std::int64_t base, std::uint32_t interval, const std::vector<Batch>& batches) {
    SegmentIndex index(Offset(base), IndexConfig{interval});
    for (const Batch& b : batches) {
        index.on_batch(Offset(b.base), Offset(b.last), b.max_timestamp_ms, b.position, b.size);
    }
    return index;
}

Start start_at(std::int64_t offset, std::uint64_t position) {
    return std::pair{Offset(offset), position};
}

// Ten batches of 40 bytes and 5 offsets each from offset 100, timestamps as
// given; with interval 100, offset entries land on batches 0, 3, 6, 9.
std::vector<Batch> ten_batches(const std::vector<std::int64_t>& timestamps) {
    std::vector<Batch> batches;
    for (std::size_t i = 0; i < timestamps.size(); ++i) {
        const auto n = static_cast<std::int64_t>(i);
        batches.push_back({100 + 5 * n, 104 + 5 * n, timestamps[i], 40 * i, 40});
    }
    return batches;
}

const std::vector<std::int64_t> mixed_timestamps = {10, 5, 20, 20, 15, 30, 25, 31, 50, 40};

void put_be32(Bytes& bytes, std::size_t at, std::uint32_t value) {
    for (std::size_t i = 0; i < 4; ++i)
        bytes[at + i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
}

void put_be64(Bytes& bytes, std::size_t at, std::uint64_t value) {
    put_be32(bytes, at, static_cast<std::uint32_t>(value >> 32));
    put_be32(bytes, at + 4, static_cast<std::uint32_t>(value));
}

// Recomputes the CRC so that a deliberately inconsistent encoding reaches the
// checks of meaning behind it.
Bytes resealed(Bytes bytes) {
    const auto body = std::span<const std::uint8_t>(bytes).first(bytes.size() - 4);
    put_be32(bytes, bytes.size() - 4, crc32c(body));
    return bytes;
}

TEST(SegmentIndexTest, AnEmptyIndexKnowsNothing) {
    const SegmentIndex index(Offset(100));
    EXPECT_TRUE(index.empty());
    EXPECT_EQ(index.base(), Offset(100));
    EXPECT_EQ(index.offset_entry_count(), 0U);
    EXPECT_EQ(index.time_entry_count(), 0U);
    EXPECT_EQ(index.max_timestamp(), std::nullopt);
    EXPECT_TRUE(index.max_timestamp_exact());
    EXPECT_EQ(index.size_bytes(), 0U);
    EXPECT_EQ(index.end_offset(), Offset(100));
    EXPECT_EQ(index.lookup_position(Offset(100)), 0U);
    EXPECT_EQ(index.lookup_position(Offset(5000)), 0U);
    EXPECT_EQ(index.lookup_time(-1000), std::nullopt);
}

TEST(SegmentIndexTest, TheFirstBatchIsAlwaysIndexedInBoth) {
    const SegmentIndex index = build(100, 1 << 20, {{100, 104, -7, 0, 10}});
    EXPECT_FALSE(index.empty());
    EXPECT_EQ(index.offset_entries(), (std::vector<SegmentIndex::OffsetEntry>{{0, 0}}));
    EXPECT_EQ(index.time_entries(), (std::vector<SegmentIndex::TimeEntry>{{-7, 0, 0}}));
    EXPECT_EQ(index.max_timestamp(), (SegmentIndex::MaxTimestamp{-7, Offset(100)}));
    EXPECT_EQ(index.size_bytes(), 10U);
    EXPECT_EQ(index.end_offset(), Offset(105));
}

TEST(SegmentIndexTest, OffsetEntriesFollowTheIntervalInBytes) {
    const SegmentIndex index = build(100, 100, ten_batches(mixed_timestamps));
    // Positions 0, 120, 240, 360: the first batch at least 100 bytes after the last entry.
    EXPECT_EQ(index.offset_entries(),
              (std::vector<SegmentIndex::OffsetEntry>{{0, 0}, {15, 120}, {30, 240}, {45, 360}}));
    EXPECT_EQ(index.size_bytes(), 400U);
    EXPECT_EQ(index.end_offset(), Offset(150));

    // Exactly interval_bytes since the last entry is enough.
    const SegmentIndex exact =
        build(0, 100, {{0, 0, 1, 0, 50}, {1, 1, 1, 50, 50}, {2, 2, 1, 100, 50}});
    EXPECT_EQ(exact.offset_entries(), (std::vector<SegmentIndex::OffsetEntry>{{0, 0}, {2, 100}}));
}

TEST(SegmentIndexTest, TimeEntriesOnlyWhenTheMaximumRises) {
    const SegmentIndex every = build(100, 1, ten_batches(mixed_timestamps));
    EXPECT_EQ(every.time_entries(),
              (std::vector<SegmentIndex::TimeEntry>{
                  {10, 0, 0}, {20, 10, 80}, {30, 25, 200}, {31, 35, 280}, {50, 40, 320}}));
    EXPECT_EQ(every.max_timestamp(), (SegmentIndex::MaxTimestamp{50, Offset(140)}));
    EXPECT_EQ(every.offset_entry_count(), 10U);
}

TEST(SegmentIndexTest, TheMaximumIsExactEvenWhenTheIntervalSkipsAnEntry) {
    SegmentIndex index = build(100, 100, {});
    const auto batches = ten_batches(mixed_timestamps);
    for (std::size_t i = 0; i < 3; ++i) {
        const Batch& b = batches[i];
        index.on_batch(Offset(b.base), Offset(b.last), b.max_timestamp_ms, b.position, b.size);
    }
    // Batch 2 (offset 110) raised the maximum to 20 only 80 bytes after the first entry.
    EXPECT_EQ(index.time_entries(), (std::vector<SegmentIndex::TimeEntry>{{10, 0, 0}}));
    EXPECT_EQ(index.max_timestamp(), (SegmentIndex::MaxTimestamp{20, Offset(110)}));

    const SegmentIndex all = build(100, 100, batches);
    // Rises at 200 (30) and 320 (50) are >= 100 bytes after the previous time entry;
    // 280 (31) is only 80 bytes after 200.
    EXPECT_EQ(all.time_entries(),
              (std::vector<SegmentIndex::TimeEntry>{{10, 0, 0}, {30, 25, 200}, {50, 40, 320}}));
    EXPECT_EQ(all.max_timestamp(), (SegmentIndex::MaxTimestamp{50, Offset(140)}));
}

TEST(SegmentIndexTest, AnEqualTimestampDoesNotMoveTheMaximum) {
    const SegmentIndex index = build(0, 1, {{0, 0, 7, 0, 10}, {1, 1, 7, 10, 10}});
    EXPECT_EQ(index.max_timestamp(), (SegmentIndex::MaxTimestamp{7, Offset(0)}));
    EXPECT_EQ(index.time_entry_count(), 1U);
}

TEST(SegmentIndexTest, LookupPositionGivesTheLastIndexedBatchAtOrBefore) {
    const SegmentIndex index = build(100, 100, ten_batches(mixed_timestamps));
    EXPECT_EQ(index.lookup_position(Offset(0)), 0U);  // below the segment
    EXPECT_EQ(index.lookup_position(Offset(99)), 0U);
    EXPECT_EQ(index.lookup_position(Offset(100)), 0U);    // the first batch
    EXPECT_EQ(index.lookup_position(Offset(114)), 0U);    // inside an unindexed batch
    EXPECT_EQ(index.lookup_position(Offset(115)), 120U);  // exactly an entry
    EXPECT_EQ(index.lookup_position(Offset(119)), 120U);  // inside an indexed batch
    EXPECT_EQ(index.lookup_position(Offset(144)), 240U);
    EXPECT_EQ(index.lookup_position(Offset(145)), 360U);
    EXPECT_EQ(index.lookup_position(Offset(1000)), 360U);  // beyond the end
}

TEST(SegmentIndexTest, LookupTimeStartsAtOrBeforeTheFirstMatch) {
    const SegmentIndex index = build(100, 100, ten_batches(mixed_timestamps));
    // Time entries: (10, 100, 0), (30, 125, 200), (50, 140, 320); maximum 50.
    EXPECT_EQ(index.lookup_time(-5), start_at(100, 0));
    EXPECT_EQ(index.lookup_time(10), start_at(100, 0));    // the first batch matches
    EXPECT_EQ(index.lookup_time(11), start_at(100, 0));    // first match: batch 2 (20)
    EXPECT_EQ(index.lookup_time(30), start_at(100, 0));    // first match: batch 5
    EXPECT_EQ(index.lookup_time(31), start_at(125, 200));  // first match: batch 7
    EXPECT_EQ(index.lookup_time(50), start_at(125, 200));  // first match: batch 8
    EXPECT_EQ(index.lookup_time(51), std::nullopt);        // nothing reaches 51
}

TEST(SegmentIndexTest, LookupTimeUsesTheExactMaximumBeyondTheLastEntry) {
    // The rise to 20 is not indexed (interval), yet 20 is known to be reached.
    const SegmentIndex index = build(0, 1000, {{0, 0, 10, 0, 10}, {1, 1, 20, 10, 10}});
    EXPECT_EQ(index.lookup_time(20), start_at(0, 0));
    EXPECT_EQ(index.lookup_time(21), std::nullopt);
}

TEST(SegmentIndexTest, TruncationKeepingTheMaximumStaysExact) {
    SegmentIndex index = build(100, 1, ten_batches({50, 10, 20, 30, 40, 45, 46, 47, 48, 49}));
    index.truncate_to(Offset(120), 160);
    EXPECT_EQ(index.offset_entry_count(), 4U);
    EXPECT_EQ(index.time_entries(), (std::vector<SegmentIndex::TimeEntry>{{50, 0, 0}}));
    EXPECT_EQ(index.max_timestamp(), (SegmentIndex::MaxTimestamp{50, Offset(100)}));
    EXPECT_TRUE(index.max_timestamp_exact());
    EXPECT_EQ(index.size_bytes(), 160U);
    EXPECT_EQ(index.end_offset(), Offset(120));
    EXPECT_EQ(index.lookup_position(Offset(1000)), 120U);
    EXPECT_EQ(index.lookup_time(51), std::nullopt);
    // And it equals an index built from the kept batches alone.
    auto kept = ten_batches({50, 10, 20, 30});
    EXPECT_EQ(index, build(100, 1, kept));
}

TEST(SegmentIndexTest, TruncationDroppingTheMaximumKeepsItAsAnUpperBound) {
    SegmentIndex index = build(100, 100, ten_batches(mixed_timestamps));
    index.truncate_to(Offset(140), 320);  // drops batches 8 (50) and 9 (40)
    // Batch 7 (31) is kept but was never indexed: the index only knows 30.
    EXPECT_EQ(index.time_entries(),
              (std::vector<SegmentIndex::TimeEntry>{{10, 0, 0}, {30, 25, 200}}));
    EXPECT_EQ(index.offset_entries(),
              (std::vector<SegmentIndex::OffsetEntry>{{0, 0}, {15, 120}, {30, 240}}));
    EXPECT_EQ(index.max_timestamp(), (SegmentIndex::MaxTimestamp{50, Offset(125)}));
    EXPECT_FALSE(index.max_timestamp_exact());
    EXPECT_EQ(index.end_offset(), Offset(140));
    EXPECT_EQ(index.size_bytes(), 320U);
    // 31 is in the segment (batch 7, after the last entry); 32..50 are not,
    // but only the bound is known; above it, certainly not.
    EXPECT_EQ(index.lookup_time(31), start_at(125, 200));
    EXPECT_EQ(index.lookup_time(50), start_at(125, 200));
    EXPECT_EQ(index.lookup_time(51), std::nullopt);

    // A batch within the bound cannot be indexed: batches 6 and 7 may be above it.
    index.on_batch(Offset(140), Offset(140), 45, 320, 40);
    EXPECT_EQ(index.time_entry_count(), 2U);
    EXPECT_FALSE(index.max_timestamp_exact());
    // Above the bound is above everything: exact again, and indexed (160 bytes on).
    index.on_batch(Offset(141), Offset(141), 99, 360, 40);
    EXPECT_EQ(index.max_timestamp(), (SegmentIndex::MaxTimestamp{99, Offset(141)}));
    EXPECT_TRUE(index.max_timestamp_exact());
    EXPECT_EQ(index.time_entries().back(), (SegmentIndex::TimeEntry{99, 41, 360}));
    EXPECT_EQ(index.offset_entries().back(), (SegmentIndex::OffsetEntry{41, 360}));  // 120 bytes
}

TEST(SegmentIndexTest, ASecondTruncationMovesTheBoundsOffsetDown) {
    SegmentIndex index = build(100, 100, ten_batches(mixed_timestamps));
    index.truncate_to(Offset(140), 320);
    index.truncate_to(Offset(120), 160);  // drops the (30, 125) entry too
    EXPECT_EQ(index.time_entries(), (std::vector<SegmentIndex::TimeEntry>{{10, 0, 0}}));
    EXPECT_EQ(index.max_timestamp(), (SegmentIndex::MaxTimestamp{50, Offset(100)}));
    EXPECT_FALSE(index.max_timestamp_exact());
    EXPECT_EQ(index.lookup_time(20), start_at(100, 0));
}

TEST(SegmentIndexTest, TruncationToTheBaseEmptiesTheIndex) {
    for (const std::int64_t offset : {0, 99, 100}) {
        SegmentIndex index = build(100, 100, ten_batches(mixed_timestamps));
        index.truncate_to(Offset(offset), 0);
        EXPECT_EQ(index, SegmentIndex(Offset(100), IndexConfig{100})) << offset;
    }
}

TEST(SegmentIndexTest, TruncationAtOrBeyondTheEndChangesNothing) {
    const SegmentIndex original = build(100, 100, ten_batches(mixed_timestamps));
    for (const std::int64_t offset : {150, 151, 10000}) {
        SegmentIndex index = original;
        index.truncate_to(Offset(offset), 400);
        EXPECT_EQ(index, original) << offset;
    }
}

TEST(SegmentIndexDeathTest, BatchesOutOfOrderAreProgrammerErrors) {
    SegmentIndex index = build(100, 100, {{100, 104, 1, 0, 40}});
    EXPECT_DEATH(index.on_batch(Offset(104), Offset(105), 1, 40, 40), "offset order");
    EXPECT_DEATH(index.on_batch(Offset(105), Offset(105), 1, 39, 40), "position order");
    EXPECT_DEATH(index.on_batch(Offset(99), Offset(99), 1, 40, 40), "offset order");
}

// ---- Encoding ----

std::vector<SegmentIndex> samples() {
    std::vector<SegmentIndex> indexes;
    indexes.push_back(SegmentIndex(Offset(0)));
    indexes.push_back(build(7, 4096, {{7, 7, -1, 0, 70}}));
    indexes.push_back(build(100, 100, ten_batches(mixed_timestamps)));
    indexes.push_back(build(100, 1, ten_batches(mixed_timestamps)));
    SegmentIndex truncated = build(100, 100, ten_batches(mixed_timestamps));
    truncated.truncate_to(Offset(140), 320);
    indexes.push_back(truncated);
    return indexes;
}

TEST(SegmentIndexTest, DecodeGivesBackWhatWasEncoded) {
    for (const SegmentIndex& index : samples()) {
        const Bytes bytes = index.encode();
        EXPECT_EQ(bytes.size(),
                  52 + 8 * index.offset_entry_count() + 16 * index.time_entry_count() + 4);
        const auto decoded = SegmentIndex::decode(bytes, index.base(), index.size_bytes());
        ASSERT_TRUE(decoded.ok()) << to_string(decoded.error());
        EXPECT_EQ(decoded.value(), index);
        EXPECT_EQ(decoded.value().encode(), bytes);
    }
}

TEST(SegmentIndexTest, DecodeChecksTheSegmentItDescribes) {
    const SegmentIndex index = build(100, 100, ten_batches(mixed_timestamps));
    const Bytes bytes = index.encode();
    EXPECT_EQ(SegmentIndex::decode(bytes, Offset(101), 400).error(), IndexError::base_mismatch);
    EXPECT_EQ(SegmentIndex::decode(bytes, Offset(100), 399).error(), IndexError::size_mismatch);
    EXPECT_EQ(SegmentIndex::decode(bytes, Offset(100), 401).error(), IndexError::size_mismatch);
}

TEST(SegmentIndexTest, EveryDamagedByteIsRejected) {
    for (const SegmentIndex& index : samples()) {
        const Bytes bytes = index.encode();
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            for (const std::uint8_t flip : {0x01, 0x80, 0xFF}) {
                Bytes damaged = bytes;
                damaged[i] ^= flip;
                EXPECT_FALSE(SegmentIndex::decode(damaged, index.base(), index.size_bytes()).ok())
                    << "byte " << i << " flipped by " << int{flip};
            }
        }
    }
}

TEST(SegmentIndexTest, EveryTruncationAndAnyTrailingByteIsRejected) {
    for (const SegmentIndex& index : samples()) {
        const Bytes bytes = index.encode();
        for (std::size_t length = 0; length < bytes.size(); ++length) {
            const auto result = SegmentIndex::decode(std::span(bytes).first(length), index.base(),
                                                     index.size_bytes());
            ASSERT_FALSE(result.ok()) << length;
            EXPECT_EQ(result.error(), IndexError::truncated) << length;
        }
        Bytes longer = bytes;
        longer.push_back(0);
        EXPECT_EQ(SegmentIndex::decode(longer, index.base(), index.size_bytes()).error(),
                  IndexError::trailing_bytes);
    }
}

TEST(SegmentIndexTest, FramingErrorsAreNamed) {
    const SegmentIndex index = build(100, 100, ten_batches(mixed_timestamps));
    const Bytes bytes = index.encode();
    auto decode = [&](const Bytes& b) { return SegmentIndex::decode(b, Offset(100), 400); };
    Bytes magic = bytes;
    magic[0] = 'X';
    EXPECT_EQ(decode(magic).error(), IndexError::bad_magic);
    Bytes version = bytes;
    version[5] = 2;
    EXPECT_EQ(decode(version).error(), IndexError::unsupported_version);
    Bytes payload = bytes;
    payload[60] ^= 1;
    EXPECT_EQ(decode(payload).error(), IndexError::checksum_mismatch);
    Bytes count = bytes;
    put_be32(count, 44, 5);  // one more offset entry than there are bytes for
    EXPECT_EQ(decode(count).error(), IndexError::truncated);
}

// Encodings with a valid CRC whose contents contradict themselves.
TEST(SegmentIndexTest, InconsistentContentsAreRejected) {
    // Offset entries (delta, position) from byte 52, 8 bytes each: (0,0)
    // (15,120) (30,240) (45,360); time entries (timestamp, delta, position)
    // from byte 84, 16 bytes each: (10,0,0) (30,25,200) (50,40,320); CRC at 132.
    const SegmentIndex index = build(100, 100, ten_batches(mixed_timestamps));
    const Bytes bytes = index.encode();
    ASSERT_EQ(bytes.size(), 136U);
    auto with = [&](std::size_t at, std::uint32_t value) {
        Bytes changed = bytes;
        put_be32(changed, at, value);
        return SegmentIndex::decode(resealed(changed), Offset(100), 400);
    };
    auto with64 = [&](std::size_t at, std::uint64_t value) {
        Bytes changed = bytes;
        put_be64(changed, at, value);
        return SegmentIndex::decode(resealed(changed), Offset(100), 400);
    };
    EXPECT_EQ(with(4, 0x00010002).error(), IndexError::invalid_header);   // unknown flag
    EXPECT_EQ(with(24, 0).error(), IndexError::invalid_header);           // zero interval
    EXPECT_EQ(with(40, 50).error(), IndexError::invalid_header);          // max beyond the end
    EXPECT_EQ(with64(32, 49).error(), IndexError::inconsistent_entries);  // max below an entry
    EXPECT_EQ(with(40, 39).error(), IndexError::inconsistent_entries);    // max before its entry
    EXPECT_EQ(with(68, 15).error(), IndexError::unordered_entries);       // offsets repeat
    EXPECT_EQ(with(72, 120).error(), IndexError::unordered_entries);      // positions repeat
    EXPECT_EQ(with(80, 400).error(), IndexError::position_out_of_range);
    EXPECT_EQ(with(76, 50).error(), IndexError::position_out_of_range);   // offset past the end
    EXPECT_EQ(with64(100, 10).error(), IndexError::unordered_entries);    // timestamps repeat
    EXPECT_EQ(with(112, 35).error(), IndexError::inconsistent_entries);   // before its floor entry
    EXPECT_EQ(with(112, 250).error(), IndexError::inconsistent_entries);  // after the next entry
    EXPECT_EQ(with(92, 1).error(), IndexError::inconsistent_entries);     // not the first batch
    EXPECT_EQ(with(48, 0).error(), IndexError::trailing_bytes);           // counts disagree
}

TEST(SegmentIndexTest, AnEmptyEncodingMustDescribeAnEmptySegment) {
    const Bytes bytes = SegmentIndex(Offset(5)).encode();
    ASSERT_EQ(bytes.size(), 56U);
    EXPECT_EQ(SegmentIndex::decode(bytes, Offset(5), 1).error(), IndexError::size_mismatch);
    Bytes sized = bytes;
    put_be64(sized, 16, 10);
    EXPECT_EQ(SegmentIndex::decode(resealed(sized), Offset(5), 10).error(),
              IndexError::invalid_header);
    Bytes inexact = bytes;
    inexact[7] = 0;
    EXPECT_EQ(SegmentIndex::decode(resealed(inexact), Offset(5), 0).error(),
              IndexError::invalid_header);
}

}  // namespace
}  // namespace samsa::log

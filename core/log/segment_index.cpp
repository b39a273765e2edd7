// The index is written by this process and read back by it after a restart,
// but the bytes cross a disk in between: decode() checks everything, in the
// order cheapest-and-most-telling first (framing, then CRC, then meaning), and
// never asserts on input.
#include "core/log/segment_index.h"

#include <algorithm>
#include <limits>

#include "core/base/assert.h"
#include "core/base/big_endian.h"
#include "core/base/crc32c.h"

namespace samsa::log {
namespace {

constexpr std::uint32_t index_magic = 0x53494458;  // "SIDX"
constexpr std::uint16_t index_version = 1;
constexpr std::uint16_t flag_max_exact = 0x0001;
constexpr std::size_t header_bytes = 52;
constexpr std::size_t offset_entry_bytes = 8;
constexpr std::size_t time_entry_bytes = 16;
constexpr std::size_t crc_bytes = 4;
constexpr std::uint64_t position_max = std::numeric_limits<std::uint32_t>::max();

class Writer {
public:
    template <class T>
    void put(T value) {
        put_be(out_, value);
    }
    io::Bytes finish() {
        put(crc32c(out_));
        return std::move(out_);
    }

private:
    io::Bytes out_;
};

// Reads fields in sequence; the caller has checked the length beforehand.
class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
    template <class T>
    T get() {
        const T value = get_be<T>(bytes_, at_);
        at_ += sizeof(T);
        return value;
    }

private:
    std::span<const std::uint8_t> bytes_;
    std::size_t at_ = 0;
};

struct Header {
    std::uint16_t flags = 0;
    Offset base;
    std::uint64_t segment_size = 0;
    std::uint32_t interval_bytes = 0;
    std::uint32_t end_delta = 0;
    std::int64_t max_timestamp_ms = 0;
    std::uint32_t max_delta = 0;
    std::uint32_t offset_count = 0;
    std::uint32_t time_count = 0;
};

// Magic, version and framing: whether these bytes are an index at all.
Result<Header, IndexError> read_frame(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < header_bytes + crc_bytes) return Failure(IndexError::truncated);
    Reader reader(bytes);
    if (reader.get<std::uint32_t>() != index_magic) return Failure(IndexError::bad_magic);
    if (reader.get<std::uint16_t>() != index_version) {
        return Failure(IndexError::unsupported_version);
    }
    Header header;
    header.flags = reader.get<std::uint16_t>();
    header.base = Offset(reader.get<std::int64_t>());
    header.segment_size = reader.get<std::uint64_t>();
    header.interval_bytes = reader.get<std::uint32_t>();
    header.end_delta = reader.get<std::uint32_t>();
    header.max_timestamp_ms = reader.get<std::int64_t>();
    header.max_delta = reader.get<std::uint32_t>();
    header.offset_count = reader.get<std::uint32_t>();
    header.time_count = reader.get<std::uint32_t>();
    // 64-bit arithmetic: the counts are at most 2^32 each, so this cannot wrap.
    const std::uint64_t expected = header_bytes + offset_entry_bytes * header.offset_count +
                                   time_entry_bytes * header.time_count + crc_bytes;
    if (bytes.size() < expected) return Failure(IndexError::truncated);
    if (bytes.size() > expected) return Failure(IndexError::trailing_bytes);
    const auto body = bytes.first(bytes.size() - crc_bytes);
    if (Reader(bytes.last(crc_bytes)).get<std::uint32_t>() != crc32c(body)) {
        return Failure(IndexError::checksum_mismatch);
    }
    return header;
}

// The header on its own, given the segment it must describe.
std::optional<IndexError> check_header(const Header& header, Offset expected_base,
                                       std::uint64_t segment_size) {
    if (header.base != expected_base) return IndexError::base_mismatch;
    if (header.segment_size != segment_size) return IndexError::size_mismatch;
    if ((header.flags & ~flag_max_exact) != 0 || header.interval_bytes == 0) {
        return IndexError::invalid_header;
    }
    const bool none = header.offset_count == 0;
    if (none != (header.time_count == 0)) return IndexError::inconsistent_entries;
    if (none && (segment_size != 0 || header.end_delta != 0 || header.max_timestamp_ms != 0 ||
                 header.max_delta != 0 || header.flags != flag_max_exact)) {
        return IndexError::invalid_header;
    }
    if (!none && (header.max_delta >= header.end_delta)) return IndexError::invalid_header;
    return std::nullopt;
}

std::optional<IndexError> check_offset_entries(
    const std::vector<SegmentIndex::OffsetEntry>& entries, const Header& header) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& entry = entries[i];
        if (entry.position >= header.segment_size || entry.offset_delta >= header.end_delta) {
            return IndexError::position_out_of_range;
        }
        if (i > 0 && (entry.offset_delta <= entries[i - 1].offset_delta ||
                      entry.position <= entries[i - 1].position)) {
            return IndexError::unordered_entries;
        }
    }
    return std::nullopt;
}

std::optional<IndexError> check_time_entries(const std::vector<SegmentIndex::TimeEntry>& entries,
                                             const Header& header) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& entry = entries[i];
        if (entry.position >= header.segment_size || entry.offset_delta >= header.end_delta) {
            return IndexError::position_out_of_range;
        }
        if (i > 0 && (entry.timestamp_ms <= entries[i - 1].timestamp_ms ||
                      entry.offset_delta <= entries[i - 1].offset_delta ||
                      entry.position <= entries[i - 1].position)) {
            return IndexError::unordered_entries;
        }
    }
    return std::nullopt;
}

// Both indexes describe the same batches, so offsets and positions must sort
// the same way across them; and the maximum is at least the last time entry.
std::optional<IndexError> check_agreement(const std::vector<SegmentIndex::OffsetEntry>& offsets,
                                          const std::vector<SegmentIndex::TimeEntry>& times,
                                          const Header& header) {
    if (offsets.empty()) return std::nullopt;
    if (times.front().offset_delta != offsets.front().offset_delta ||
        times.front().position != offsets.front().position) {
        return IndexError::inconsistent_entries;  // both index the first batch
    }
    std::size_t next = 0;  // the first offset entry after the current time entry
    for (const auto& time : times) {
        while (next < offsets.size() && offsets[next].offset_delta <= time.offset_delta) ++next;
        const auto& floor = offsets[next - 1];  // exists: offsets[0] is <= every time entry
        const bool same_batch = floor.offset_delta == time.offset_delta;
        if (same_batch ? floor.position != time.position : floor.position >= time.position) {
            return IndexError::inconsistent_entries;
        }
        if (next < offsets.size() && offsets[next].position <= time.position) {
            return IndexError::inconsistent_entries;
        }
    }
    const auto& last = times.back();
    if (header.max_timestamp_ms < last.timestamp_ms || header.max_delta < last.offset_delta) {
        return IndexError::inconsistent_entries;
    }
    // Exact: reached by the last entry's batch iff equal to it. An upper bound
    // lies above the last entry and points at its batch.
    const bool exact = (header.flags & flag_max_exact) != 0;
    const bool equal = header.max_timestamp_ms == last.timestamp_ms;
    const bool same_batch = header.max_delta == last.offset_delta;
    if (exact ? equal != same_batch : (equal || !same_batch)) {
        return IndexError::inconsistent_entries;
    }
    return std::nullopt;
}

}  // namespace

const char* to_string(IndexError error) noexcept {
    switch (error) {
        case IndexError::truncated: return "truncated";
        case IndexError::trailing_bytes: return "trailing_bytes";
        case IndexError::bad_magic: return "bad_magic";
        case IndexError::unsupported_version: return "unsupported_version";
        case IndexError::checksum_mismatch: return "checksum_mismatch";
        case IndexError::base_mismatch: return "base_mismatch";
        case IndexError::size_mismatch: return "size_mismatch";
        case IndexError::invalid_header: return "invalid_header";
        case IndexError::unordered_entries: return "unordered_entries";
        case IndexError::position_out_of_range: return "position_out_of_range";
        case IndexError::inconsistent_entries: return "inconsistent_entries";
    }
    return "unknown";
}

SegmentIndex::SegmentIndex(Offset base, IndexConfig config)
    : base_(base), config_(config), end_offset_(base) {
    SAMSA_ASSERT(base.value() >= 0);
    SAMSA_ASSERT(config.interval_bytes > 0);
}

std::uint32_t SegmentIndex::delta_of(Offset offset) const {
    const std::int64_t delta = offset.distance_from(base_);
    SAMSA_ASSERT(delta >= 0 && delta < static_cast<std::int64_t>(position_max));
    return static_cast<std::uint32_t>(delta);
}

void SegmentIndex::on_batch(Offset first, Offset last, std::int64_t max_timestamp_ms,
                            std::uint64_t position, std::uint32_t size_bytes) {
    SAMSA_ASSERT_MSG(first >= end_offset_, "batches must come in offset order");
    SAMSA_ASSERT(last >= first);
    SAMSA_ASSERT_MSG(position >= size_bytes_, "batches must come in position order");
    SAMSA_ASSERT(position <= position_max && size_bytes > 0);
    const std::uint32_t delta = delta_of(first);
    const auto at = static_cast<std::uint32_t>(position);
    // Bytes appended since an entry's batch began: with batches laid end to
    // end this is Kafka's running byte count, and it needs no extra state.
    if (offset_entries_.empty() ||
        position - offset_entries_.back().position >= config_.interval_bytes) {
        offset_entries_.push_back({delta, at});
    }
    if (!max_ || max_timestamp_ms > max_->timestamp_ms) {
        // Above an upper bound is above every batch before: exact again.
        max_ = MaxTimestamp{max_timestamp_ms, first};
        max_exact_ = true;
        if (time_entries_.empty() ||
            position - time_entries_.back().position >= config_.interval_bytes) {
            time_entries_.push_back({max_timestamp_ms, delta, at});
        }
    }
    // The end offset is stored as a 32-bit delta too.
    SAMSA_ASSERT(last.distance_from(base_) < static_cast<std::int64_t>(position_max));
    end_offset_ = last.next();
    size_bytes_ = position + size_bytes;
}

std::uint64_t SegmentIndex::lookup_position(Offset target) const {
    if (target < base_) return 0;
    const std::int64_t delta = target.distance_from(base_);
    const auto after = std::upper_bound(
        offset_entries_.begin(), offset_entries_.end(), delta,
        [](std::int64_t value, const OffsetEntry& entry) { return value < entry.offset_delta; });
    if (after == offset_entries_.begin()) return 0;
    return std::prev(after)->position;
}

std::optional<std::pair<Offset, std::uint64_t>> SegmentIndex::lookup_time(std::int64_t ts) const {
    if (!max_ || ts > max_->timestamp_ms) return std::nullopt;  // exact or an upper bound
    // Time entries' timestamps increase strictly: the last one below ts.
    const auto after = std::lower_bound(
        time_entries_.begin(), time_entries_.end(), ts,
        [](const TimeEntry& entry, std::int64_t value) { return entry.timestamp_ms < value; });
    const TimeEntry& start = after == time_entries_.begin() ? time_entries_.front() : *(after - 1);
    return std::pair{base_.plus(start.offset_delta), std::uint64_t{start.position}};
}

void SegmentIndex::truncate_to(Offset offset, std::uint64_t position) {
    SAMSA_ASSERT(position <= size_bytes_);
    if (offset >= end_offset_) {
        SAMSA_ASSERT_MSG(position == size_bytes_, "a cut at the end keeps every byte");
        return;
    }
    const std::int64_t keep = std::max<std::int64_t>(offset.distance_from(base_), 0);
    std::erase_if(offset_entries_, [&](const OffsetEntry& e) { return e.offset_delta >= keep; });
    std::erase_if(time_entries_, [&](const TimeEntry& e) { return e.offset_delta >= keep; });
    if (offset_entries_.empty()) {
        SAMSA_ASSERT_MSG(position == 0 && time_entries_.empty(), "the first batch is indexed");
        *this = SegmentIndex(base_, config_);
        return;
    }
    SAMSA_ASSERT(position > offset_entries_.back().position);
    SAMSA_ASSERT(!time_entries_.empty() && position > time_entries_.back().position);
    if (!max_exact_ || max_->offset >= offset) {
        // The old maximum bounds the kept batches; the last time entry's batch
        // is the latest one known to come no later than the true maximum.
        max_->offset = base_.plus(time_entries_.back().offset_delta);
        max_exact_ = false;
    }
    end_offset_ = base_.plus(keep);
    size_bytes_ = position;
}

io::Bytes SegmentIndex::encode() const {
    Writer writer;
    writer.put(index_magic);
    writer.put(index_version);
    writer.put(static_cast<std::uint16_t>(max_exact_ ? flag_max_exact : 0));
    writer.put(base_.value());
    writer.put(size_bytes_);
    writer.put(config_.interval_bytes);
    writer.put(static_cast<std::uint32_t>(end_offset_.distance_from(base_)));
    writer.put(max_ ? max_->timestamp_ms : std::int64_t{0});
    writer.put(max_ ? delta_of(max_->offset) : std::uint32_t{0});
    writer.put(static_cast<std::uint32_t>(offset_entries_.size()));
    writer.put(static_cast<std::uint32_t>(time_entries_.size()));
    for (const auto& entry : offset_entries_) {
        writer.put(entry.offset_delta);
        writer.put(entry.position);
    }
    for (const auto& entry : time_entries_) {
        writer.put(entry.timestamp_ms);
        writer.put(entry.offset_delta);
        writer.put(entry.position);
    }
    return writer.finish();
}

Result<SegmentIndex, IndexError> SegmentIndex::decode(std::span<const std::uint8_t> bytes,
                                                      Offset expected_base,
                                                      std::uint64_t segment_size) {
    auto framed = read_frame(bytes);
    if (!framed) return Failure(framed.error());
    const Header& header = framed.value();
    if (auto error = check_header(header, expected_base, segment_size)) return Failure(*error);
    if (header.base.value() < 0) return Failure(IndexError::invalid_header);

    Reader reader(bytes.subspan(header_bytes));
    SegmentIndex index(header.base, IndexConfig{header.interval_bytes});
    index.offset_entries_.reserve(header.offset_count);
    for (std::uint32_t i = 0; i < header.offset_count; ++i) {
        const auto delta = reader.get<std::uint32_t>();
        index.offset_entries_.push_back({delta, reader.get<std::uint32_t>()});
    }
    index.time_entries_.reserve(header.time_count);
    for (std::uint32_t i = 0; i < header.time_count; ++i) {
        const auto timestamp = reader.get<std::int64_t>();
        const auto delta = reader.get<std::uint32_t>();
        index.time_entries_.push_back({timestamp, delta, reader.get<std::uint32_t>()});
    }
    if (auto error = check_offset_entries(index.offset_entries_, header)) return Failure(*error);
    if (auto error = check_time_entries(index.time_entries_, header)) return Failure(*error);
    if (auto error = check_agreement(index.offset_entries_, index.time_entries_, header)) {
        return Failure(*error);
    }
    if (header.offset_count > 0) {
        index.max_ = MaxTimestamp{header.max_timestamp_ms, header.base.plus(header.max_delta)};
    }
    index.max_exact_ = (header.flags & flag_max_exact) != 0;
    index.size_bytes_ = header.segment_size;
    index.end_offset_ = header.base.plus(header.end_delta);
    return index;
}

}  // namespace samsa::log

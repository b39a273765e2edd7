// The encoding half of batch.h: zig-zag varints for the records, then the
// header through encode_header() and the CRC through seal_crc(), so that the
// header layout is written down in one place only.
#include "core/log/batch_builder.h"

#include <algorithm>

#include "core/base/assert.h"

namespace samsa::log {
namespace {

// Seven bits per byte, least significant group first, high bit = more.
void append_unsigned_varint(std::vector<std::uint8_t>& out, std::uint64_t value) {
    while (value >= 0x80U) {
        out.push_back(static_cast<std::uint8_t>((value & 0x7FU) | 0x80U));
        value >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(value));
}

// Zig-zag maps small magnitudes of either sign to small codes: 0, -1, 1, -2
// become 0, 1, 2, 3.
void append_varint(std::vector<std::uint8_t>& out, std::int32_t value) {
    const auto bits = static_cast<std::uint32_t>(value);
    append_unsigned_varint(out, (bits << 1) ^ static_cast<std::uint32_t>(value >> 31));
}

void append_varlong(std::vector<std::uint8_t>& out, std::int64_t value) {
    const auto bits = static_cast<std::uint64_t>(value);
    append_unsigned_varint(out, (bits << 1) ^ static_cast<std::uint64_t>(value >> 63));
}

void append_bytes(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
    SAMSA_ASSERT(bytes.size() <= BatchBuilder::field_bytes_max);
    append_varint(out, static_cast<std::int32_t>(bytes.size()));
    out.insert(out.end(), bytes.begin(), bytes.end());
}

void append_nullable_bytes(std::vector<std::uint8_t>& out,
                           const std::optional<std::span<const std::uint8_t>>& bytes) {
    if (bytes) {
        append_bytes(out, *bytes);
    } else {
        append_varint(out, -1);
    }
}

// Unsigned arithmetic: the difference of two arbitrary timestamps may not fit
// in an int64, and the wire keeps only its low 64 bits anyway.
std::int64_t wrapping_difference(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}

}  // namespace

BatchBuilder& BatchBuilder::base_offset(Offset offset) noexcept {
    base_offset_ = offset;
    return *this;
}

BatchBuilder& BatchBuilder::partition_leader_epoch(std::int32_t epoch) noexcept {
    partition_leader_epoch_ = epoch;
    return *this;
}

BatchBuilder& BatchBuilder::producer(ProducerId id, std::int16_t epoch,
                                     std::int32_t base_sequence) noexcept {
    producer_id_ = id;
    producer_epoch_ = epoch;
    base_sequence_ = base_sequence;
    return *this;
}

BatchBuilder& BatchBuilder::transactional(bool on) noexcept {
    transactional_ = on;
    return *this;
}

BatchBuilder& BatchBuilder::add(const RecordInput& record) {
    SAMSA_ASSERT(record_count_ < records_max);
    if (record_count_ == 0) {
        base_timestamp_ms_ = record.timestamp_ms;
        max_timestamp_ms_ = record.timestamp_ms;
    }
    max_timestamp_ms_ = std::max(max_timestamp_ms_, record.timestamp_ms);

    std::vector<std::uint8_t> body;
    body.push_back(0);  // record attributes: unused by Kafka so far
    append_varlong(body, wrapping_difference(record.timestamp_ms, base_timestamp_ms_));
    append_varint(body, static_cast<std::int32_t>(record_count_));
    append_nullable_bytes(body, record.key);
    append_nullable_bytes(body, record.value);
    SAMSA_ASSERT(record.headers.size() <= field_bytes_max);
    append_varint(body, static_cast<std::int32_t>(record.headers.size()));
    for (const HeaderInput& header : record.headers) {
        append_bytes(body, header.key);
        append_nullable_bytes(body, header.value);
    }

    SAMSA_ASSERT(body.size() <= field_bytes_max);
    append_varint(records_, static_cast<std::int32_t>(body.size()));
    records_.insert(records_.end(), body.begin(), body.end());
    ++record_count_;
    return *this;
}

io::Bytes BatchBuilder::build() const {
    SAMSA_ASSERT_MSG(record_count_ > 0, "a batch needs at least one record");
    const std::size_t batch_length = size_bytes() - batch_length_prefix_bytes;
    SAMSA_ASSERT(batch_length <= field_bytes_max);

    BatchHeader header;
    header.base_offset = base_offset_;
    header.batch_length = static_cast<std::int32_t>(batch_length);
    header.partition_leader_epoch = partition_leader_epoch_;
    header.attributes = transactional_ ? batch_attributes::transactional : std::int16_t{0};
    header.last_offset_delta = static_cast<std::int32_t>(record_count_ - 1);
    header.base_timestamp = base_timestamp_ms_;
    header.max_timestamp = max_timestamp_ms_;
    header.producer_id = producer_id_;
    header.producer_epoch = producer_epoch_;
    header.base_sequence = base_sequence_;
    header.records_count = static_cast<std::int32_t>(record_count_);

    io::Bytes batch(size_bytes());
    encode_header(header, batch);
    std::copy(records_.begin(), records_.end(),
              batch.begin() + static_cast<std::ptrdiff_t>(batch_header_bytes));
    seal_crc(batch);
    // Check what was written where it was written (the records were checked
    // piece by piece in add()).
    const auto written = parse_header(batch);
    SAMSA_ASSERT(written.ok() && written.value().size_bytes() == batch.size());
    return batch;
}

}  // namespace samsa::log

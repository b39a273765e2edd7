// Reading and checking RecordBatch v2. Every length read from the wire is
// checked against the bytes that remain before it is used, so no input can
// make a read leave the span; a failed check is an error value, never an
// assertion, because the bytes come from clients and disks.
#include "core/log/batch.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "core/base/assert.h"
#include "core/base/crc32c.h"

namespace samsa::log {
namespace {

// The smallest record: a one-byte length, then attributes, timestampDelta,
// offsetDelta, keyLength, valueLength and headerCount of one byte each.
constexpr std::size_t record_bytes_min = 7;

template <class T>
T load_be(std::span<const std::uint8_t> bytes, std::size_t position) noexcept {
    static_assert(std::is_integral_v<T>);
    SAMSA_ASSERT(position + sizeof(T) <= bytes.size());
    using Unsigned = std::make_unsigned_t<T>;
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) value = (value << 8) | bytes[position + i];
    return static_cast<T>(static_cast<Unsigned>(value));
}

template <class T>
void store_be(std::span<std::uint8_t> bytes, std::size_t position, T value) noexcept {
    static_assert(std::is_integral_v<T>);
    SAMSA_ASSERT(position + sizeof(T) <= bytes.size());
    auto bits = static_cast<std::uint64_t>(static_cast<std::make_unsigned_t<T>>(value));
    for (std::size_t i = sizeof(T); i > 0; --i) {
        bytes[position + i - 1] = static_cast<std::uint8_t>(bits & 0xFFU);
        bits >>= 8;
    }
}

// Sequential reads from a span. Every read returns nullopt rather than run
// past the end, and the caller turns that into corrupt_message.
class ByteReader {
public:
    explicit ByteReader(std::span<const std::uint8_t> bytes) noexcept : bytes_(bytes) {}

    [[nodiscard]] bool empty() const noexcept { return position_ == bytes_.size(); }
    [[nodiscard]] std::size_t remaining() const noexcept { return bytes_.size() - position_; }

    std::optional<std::int8_t> read_i8() noexcept {
        if (empty()) return std::nullopt;
        return static_cast<std::int8_t>(bytes_[position_++]);
    }

    std::optional<std::int32_t> read_varint() noexcept {
        const auto raw = read_unsigned_varint(32);
        if (!raw) return std::nullopt;
        return static_cast<std::int32_t>(unzigzag(*raw));
    }

    std::optional<std::int64_t> read_varlong() noexcept {
        const auto raw = read_unsigned_varint(64);
        if (!raw) return std::nullopt;
        return unzigzag(*raw);
    }

    std::optional<std::span<const std::uint8_t>> read_bytes(std::size_t count) noexcept {
        if (count > remaining()) return std::nullopt;
        const auto bytes = bytes_.subspan(position_, count);
        position_ += count;
        return bytes;
    }

private:
    static std::int64_t unzigzag(std::uint64_t raw) noexcept {
        return static_cast<std::int64_t>((raw >> 1) ^ (0 - (raw & 1U)));
    }

    // Seven bits per byte, least significant group first. An encoding longer
    // than the type allows, or whose last byte carries bits the type does not
    // have, is malformed.
    std::optional<std::uint64_t> read_unsigned_varint(int value_bits) noexcept {
        SAMSA_ASSERT(value_bits == 32 || value_bits == 64);
        std::uint64_t value = 0;
        for (int shift = 0; shift < value_bits; shift += 7) {
            if (empty()) return std::nullopt;
            const std::uint8_t byte = bytes_[position_++];
            const std::uint64_t payload = byte & 0x7FU;
            if (shift + 7 > value_bits && (payload >> (value_bits - shift)) != 0) {
                return std::nullopt;
            }
            value |= payload << shift;
            if ((byte & 0x80U) == 0) return value;
        }
        return std::nullopt;
    }

    std::span<const std::uint8_t> bytes_;
    std::size_t position_ = 0;
};

constexpr Failure<BatchError> corrupt{BatchError::corrupt_message};
constexpr Failure<BatchError> invalid{BatchError::invalid_record};

// A length-prefixed byte string; length -1 is null. Returns false if malformed.
bool read_nullable_bytes(ByteReader& reader, std::optional<std::span<const std::uint8_t>>& out) {
    const auto length = reader.read_varint();
    if (!length || *length < -1) return false;
    if (*length == -1) {
        out.reset();
        return true;
    }
    const auto bytes = reader.read_bytes(static_cast<std::size_t>(*length));
    if (!bytes) return false;
    out = *bytes;
    return true;
}

bool read_headers(ByteReader& reader, std::vector<HeaderView>& out) {
    const auto count = reader.read_varint();
    // Each header takes at least two bytes; a larger count cannot be honest,
    // and checking it first bounds the loop by the bytes present.
    if (!count || *count < 0 || static_cast<std::size_t>(*count) > reader.remaining() / 2) {
        return false;
    }
    out.clear();
    for (std::int32_t i = 0; i < *count; ++i) {
        std::optional<std::span<const std::uint8_t>> key;
        std::optional<std::span<const std::uint8_t>> value;
        if (!read_nullable_bytes(reader, key) || !key) return false;  // keys are never null
        if (!read_nullable_bytes(reader, value)) return false;
        out.push_back(HeaderView{*key, value});
    }
    return true;
}

// Reads one record into `out`, which is reused between records so that
// validation does not allocate per record.
Status<BatchError> parse_record(ByteReader& batch_reader, RecordView& out) {
    const auto length = batch_reader.read_varint();
    if (!length || *length < 0) return corrupt;
    const auto body = batch_reader.read_bytes(static_cast<std::size_t>(*length));
    if (!body) return corrupt;

    ByteReader reader(*body);
    const auto attributes = reader.read_i8();
    const auto timestamp_delta = reader.read_varlong();
    const auto offset_delta = reader.read_varint();
    if (!attributes || !timestamp_delta || !offset_delta) return corrupt;
    out.timestamp_delta = *timestamp_delta;
    out.offset_delta = *offset_delta;
    if (!read_nullable_bytes(reader, out.key) || !read_nullable_bytes(reader, out.value)) {
        return corrupt;
    }
    if (!read_headers(reader, out.headers)) return corrupt;
    // The fields must fill the declared length exactly.
    if (!reader.empty()) return corrupt;
    return {};
}

// Producers number their records 0, 1, 2, ... and the broker assigns offsets
// from lastOffsetDelta, so a gap or a disagreement would shift every later
// offset. Control batches (written by coordinators) need only ascend.
bool offset_delta_fits(const BatchHeader& header, std::int64_t index, std::int64_t previous,
                       std::int32_t offset_delta) {
    if (header.is_control()) return offset_delta > previous;
    return offset_delta == index;
}

// Checks the records of an uncompressed batch and hands each to `on_record`.
template <class OnRecord>
Status<BatchError> walk_records(const BatchHeader& header, std::span<const std::uint8_t> records,
                                OnRecord&& on_record) {
    SAMSA_ASSERT(header.codec() == Codec::none);
    ByteReader reader(records);
    RecordView view;
    std::int64_t count = 0;
    std::int64_t previous_delta = -1;
    // Every record consumes at least one byte, so this ends within
    // records.size() iterations.
    while (!reader.empty()) {
        const std::size_t remaining_before = reader.remaining();
        if (auto parsed = parse_record(reader, view); !parsed.ok()) return parsed;
        SAMSA_ASSERT(reader.remaining() < remaining_before);
        if (!offset_delta_fits(header, count, previous_delta, view.offset_delta)) return invalid;
        previous_delta = view.offset_delta;
        ++count;
        on_record(view);
    }
    if (count != header.records_count) return invalid;
    if (count > 0 && previous_delta != header.last_offset_delta) return invalid;
    return {};
}

// The rules every batch's header obeys, whatever its codec.
Status<BatchError> check_counts(const BatchHeader& header) {
    if (header.records_count < 0 || header.last_offset_delta < 0) return invalid;
    const bool producer_batch = !header.is_control() && header.records_count > 0;
    if (producer_batch && header.last_offset_delta != header.records_count - 1) return invalid;
    return {};
}

BatchHeader decode_header(std::span<const std::uint8_t> bytes) {
    namespace at = batch_layout;
    BatchHeader header;
    header.base_offset = Offset(load_be<std::int64_t>(bytes, at::base_offset));
    header.batch_length = load_be<std::int32_t>(bytes, at::batch_length);
    header.partition_leader_epoch = load_be<std::int32_t>(bytes, at::partition_leader_epoch);
    header.magic = load_be<std::int8_t>(bytes, at::magic);
    header.crc = load_be<std::uint32_t>(bytes, at::crc);
    header.attributes = load_be<std::int16_t>(bytes, at::attributes);
    header.last_offset_delta = load_be<std::int32_t>(bytes, at::last_offset_delta);
    header.base_timestamp = load_be<std::int64_t>(bytes, at::base_timestamp);
    header.max_timestamp = load_be<std::int64_t>(bytes, at::max_timestamp);
    header.producer_id = ProducerId(load_be<std::int64_t>(bytes, at::producer_id));
    header.producer_epoch = load_be<std::int16_t>(bytes, at::producer_epoch);
    header.base_sequence = load_be<std::int32_t>(bytes, at::base_sequence);
    header.records_count = load_be<std::int32_t>(bytes, at::records_count);
    return header;
}

}  // namespace

std::int16_t kafka_error_code(BatchError error) noexcept {
    switch (error) {
        case BatchError::corrupt_message: return 2;
        case BatchError::invalid_record: return 87;
        case BatchError::message_too_large: return 10;
        case BatchError::unsupported_version: return 43;  // UNSUPPORTED_FOR_MESSAGE_FORMAT
    }
    SAMSA_UNREACHABLE("unknown BatchError");
}

const char* to_string(BatchError error) noexcept {
    switch (error) {
        case BatchError::corrupt_message: return "corrupt_message";
        case BatchError::invalid_record: return "invalid_record";
        case BatchError::message_too_large: return "message_too_large";
        case BatchError::unsupported_version: return "unsupported_version";
    }
    SAMSA_UNREACHABLE("unknown BatchError");
}

Codec BatchHeader::codec() const noexcept {
    const auto bits = static_cast<std::uint8_t>(attributes & batch_attributes::codec_mask);
    SAMSA_ASSERT_MSG(bits <= static_cast<std::uint8_t>(Codec::zstd), "unknown codec");
    return static_cast<Codec>(bits);
}

TimestampType BatchHeader::timestamp_type() const noexcept {
    return (attributes & batch_attributes::log_append_time) != 0 ? TimestampType::log_append_time
                                                                 : TimestampType::create_time;
}

bool BatchHeader::is_transactional() const noexcept {
    return (attributes & batch_attributes::transactional) != 0;
}

bool BatchHeader::is_control() const noexcept {
    return (attributes & batch_attributes::control) != 0;
}

std::size_t BatchHeader::size_bytes() const noexcept {
    SAMSA_ASSERT(batch_length >= batch_length_min);
    return batch_length_prefix_bytes + static_cast<std::size_t>(batch_length);
}

Result<BatchHeader, BatchError> parse_header(std::span<const std::uint8_t> bytes) {
    if (bytes.size() <= batch_layout::magic) return corrupt;
    const auto magic = load_be<std::int8_t>(bytes, batch_layout::magic);
    if (magic == 0 || magic == 1) return Failure{BatchError::unsupported_version};
    if (magic != batch_magic) return corrupt;
    if (bytes.size() < batch_header_bytes) return corrupt;

    const std::int32_t batch_length = load_be<std::int32_t>(bytes, batch_layout::batch_length);
    if (batch_length < batch_length_min) return corrupt;
    if (static_cast<std::size_t>(batch_length) > bytes.size() - batch_length_prefix_bytes) {
        return corrupt;
    }
    const auto attributes = load_be<std::int16_t>(bytes, batch_layout::attributes);
    if ((attributes & batch_attributes::codec_mask) > static_cast<std::int16_t>(Codec::zstd)) {
        return corrupt;
    }
    return decode_header(bytes);
}

Result<BatchHeader, BatchError> validate_batch(std::span<const std::uint8_t> bytes,
                                               std::size_t batch_bytes_max) {
    auto parsed = parse_header(bytes);
    if (!parsed.ok()) return parsed;
    const BatchHeader& header = parsed.value();
    if (header.size_bytes() != bytes.size()) return corrupt;
    if (bytes.size() > batch_bytes_max) return Failure{BatchError::message_too_large};
    if (compute_batch_crc(bytes) != header.crc) return corrupt;
    if (auto counted = check_counts(header); !counted.ok()) return Failure{counted.error()};
    if (header.codec() != Codec::none) return parsed;

    auto walked = walk_records(header, bytes.subspan(batch_header_bytes), [](RecordView&) {});
    if (!walked.ok()) return Failure{walked.error()};
    return parsed;
}

Result<std::vector<BatchSpan>, BatchError> split_batches(std::span<const std::uint8_t> records,
                                                         std::size_t batch_bytes_max) {
    std::vector<BatchSpan> batches;
    std::size_t position = 0;
    // Each pass consumes at least one header's worth of bytes.
    while (position < records.size()) {
        const auto rest = records.subspan(position);
        const auto header = parse_header(rest);
        if (!header.ok()) return Failure{header.error()};
        const std::size_t length = header.value().size_bytes();
        SAMSA_ASSERT(length >= batch_header_bytes && length <= rest.size());
        auto valid = validate_batch(rest.first(length), batch_bytes_max);
        if (!valid.ok()) return Failure{valid.error()};
        batches.push_back(BatchSpan{position, length, std::move(valid).value()});
        position += length;
    }
    SAMSA_ASSERT(position == records.size());
    return batches;
}

std::uint32_t compute_batch_crc(std::span<const std::uint8_t> batch) noexcept {
    SAMSA_ASSERT(batch.size() >= batch_header_bytes);
    return crc32c(batch.subspan(batch_layout::attributes));
}

void encode_header(const BatchHeader& header, std::span<std::uint8_t> out) noexcept {
    namespace at = batch_layout;
    SAMSA_ASSERT(out.size() >= batch_header_bytes);
    SAMSA_ASSERT(header.magic == batch_magic);
    SAMSA_ASSERT(header.batch_length >= batch_length_min);
    store_be(out, at::base_offset, header.base_offset.value());
    store_be(out, at::batch_length, header.batch_length);
    store_be(out, at::partition_leader_epoch, header.partition_leader_epoch);
    store_be(out, at::magic, header.magic);
    store_be(out, at::crc, header.crc);
    store_be(out, at::attributes, header.attributes);
    store_be(out, at::last_offset_delta, header.last_offset_delta);
    store_be(out, at::base_timestamp, header.base_timestamp);
    store_be(out, at::max_timestamp, header.max_timestamp);
    store_be(out, at::producer_id, header.producer_id.value());
    store_be(out, at::producer_epoch, header.producer_epoch);
    store_be(out, at::base_sequence, header.base_sequence);
    store_be(out, at::records_count, header.records_count);
}

void seal_crc(std::span<std::uint8_t> batch) noexcept {
    store_be(batch, batch_layout::crc, compute_batch_crc(batch));
}

void set_base_offset(std::span<std::uint8_t> batch, Offset base_offset) noexcept {
    SAMSA_ASSERT(batch.size() >= batch_header_bytes);
    store_be(batch, batch_layout::base_offset, base_offset.value());
}

void set_partition_leader_epoch(std::span<std::uint8_t> batch, std::int32_t epoch) noexcept {
    SAMSA_ASSERT(batch.size() >= batch_header_bytes);
    store_be(batch, batch_layout::partition_leader_epoch, epoch);
}

Offset base_offset_of(std::span<const std::uint8_t> batch) noexcept {
    SAMSA_ASSERT(batch.size() >= batch_header_bytes);
    return Offset(load_be<std::int64_t>(batch, batch_layout::base_offset));
}

std::int32_t partition_leader_epoch_of(std::span<const std::uint8_t> batch) noexcept {
    SAMSA_ASSERT(batch.size() >= batch_header_bytes);
    return load_be<std::int32_t>(batch, batch_layout::partition_leader_epoch);
}

Result<std::vector<RecordView>, BatchError> parse_records(std::span<const std::uint8_t> batch) {
    auto parsed = parse_header(batch);
    if (!parsed.ok()) return Failure{parsed.error()};
    const BatchHeader& header = parsed.value();
    if (header.size_bytes() != batch.size()) return corrupt;
    if (auto counted = check_counts(header); !counted.ok()) return Failure{counted.error()};
    if (header.codec() != Codec::none) return Failure{BatchError::unsupported_version};

    const auto records = batch.subspan(batch_header_bytes);
    std::vector<RecordView> views;
    views.reserve(std::min(static_cast<std::size_t>(header.records_count),
                           records.size() / record_bytes_min));
    auto walked =
        walk_records(header, records, [&views](RecordView& view) { views.push_back(view); });
    if (!walked.ok()) return Failure{walked.error()};
    return views;
}

}  // namespace samsa::log

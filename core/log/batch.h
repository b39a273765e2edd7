// Kafka RecordBatch v2 (magic 2): the unit a producer sends, the log stores
// and a consumer fetches. samsa keeps batches byte for byte as produced; this
// file reads their header, checks them, walks the records of uncompressed
// ones, and rewrites the two fields the broker owns.
//
// Layout (all integers big-endian; see ../shared/kafka-compat.md, trap 4):
//
//   offset size field
//        0    8 baseOffset             rewritten by the broker, not in the CRC
//        8    4 batchLength            bytes after this field
//       12    4 partitionLeaderEpoch   rewritten by the broker, not in the CRC
//       16    1 magic (= 2)
//       17    4 crc                    CRC-32C of bytes 21..end
//       21    2 attributes             bits 0-2 codec, 3 timestamp type,
//                                      4 transactional, 5 control
//       23    4 lastOffsetDelta
//       27    8 baseTimestamp
//       35    8 maxTimestamp
//       43    8 producerId
//       51    2 producerEpoch
//       53    4 baseSequence
//       57    4 recordsCount
//       61      records
//
// A record (zig-zag varints): length varint, attributes i8, timestampDelta
// varlong, offsetDelta varint, keyLength varint (-1 = null), key, valueLength
// varint (-1 = null), value, headerCount varint, then per header keyLength
// varint, key, valueLength varint (-1 = null), value. `length` counts the
// bytes after itself.
//
// Compressed batches (codecs 1-4) are checked only as far as the header and
// CRC: the broker stores them as produced and never decompresses (clients
// differ in the codecs they can read; recompressing would lose that choice).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/base/ids.h"
#include "core/base/result.h"

namespace samsa::log {

// Byte positions of the header fields.
namespace batch_layout {
inline constexpr std::size_t base_offset = 0;
inline constexpr std::size_t batch_length = 8;
inline constexpr std::size_t partition_leader_epoch = 12;
inline constexpr std::size_t magic = 16;
inline constexpr std::size_t crc = 17;
inline constexpr std::size_t attributes = 21;
inline constexpr std::size_t last_offset_delta = 23;
inline constexpr std::size_t base_timestamp = 27;
inline constexpr std::size_t max_timestamp = 35;
inline constexpr std::size_t producer_id = 43;
inline constexpr std::size_t producer_epoch = 51;
inline constexpr std::size_t base_sequence = 53;
inline constexpr std::size_t records_count = 57;
inline constexpr std::size_t records = 61;
}  // namespace batch_layout

inline constexpr std::size_t batch_header_bytes = batch_layout::records;
// baseOffset and batchLength: the bytes batchLength does not count.
inline constexpr std::size_t batch_length_prefix_bytes = batch_layout::partition_leader_epoch;
inline constexpr std::int32_t batch_length_min =
    static_cast<std::int32_t>(batch_header_bytes - batch_length_prefix_bytes);
inline constexpr std::int8_t batch_magic = 2;

namespace batch_attributes {
inline constexpr std::int16_t codec_mask = 0x07;
inline constexpr std::int16_t log_append_time = 0x08;
inline constexpr std::int16_t transactional = 0x10;
inline constexpr std::int16_t control = 0x20;
}  // namespace batch_attributes

enum class Codec : std::uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };
enum class TimestampType : std::uint8_t { create_time, log_append_time };

enum class BatchError : std::uint8_t {
    corrupt_message,      // bytes that do not form a batch: length, CRC, record framing
    invalid_record,       // a well-formed batch whose contents break the rules
    message_too_large,    // larger than the configured batch_bytes_max
    unsupported_version,  // an old message set (magic 0 or 1)
};

// The Kafka error code a Produce response carries for each error.
std::int16_t kafka_error_code(BatchError error) noexcept;
const char* to_string(BatchError error) noexcept;

struct BatchHeader {
    Offset base_offset{0};
    std::int32_t batch_length = batch_length_min;
    std::int32_t partition_leader_epoch = -1;
    std::int8_t magic = batch_magic;
    std::uint32_t crc = 0;
    std::int16_t attributes = 0;
    std::int32_t last_offset_delta = 0;
    std::int64_t base_timestamp = -1;
    std::int64_t max_timestamp = -1;
    ProducerId producer_id{-1};
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    std::int32_t records_count = 0;

    [[nodiscard]] Codec codec() const noexcept;
    [[nodiscard]] TimestampType timestamp_type() const noexcept;
    [[nodiscard]] bool is_transactional() const noexcept;
    [[nodiscard]] bool is_control() const noexcept;
    [[nodiscard]] Offset last_offset() const noexcept {
        return base_offset.plus(last_offset_delta);
    }
    // The whole batch, header included.
    [[nodiscard]] std::size_t size_bytes() const noexcept;
};

// Reads the header of the batch at the start of `bytes`, which must hold the
// whole batch (and may hold more after it). Checks the magic byte (0 or 1:
// unsupported_version, else anything but 2: corrupt_message), batchLength and
// the codec; not the CRC nor the records. The magic byte sits at the same
// position in the old message formats, so they are recognised even when
// shorter than a v2 header.
Result<BatchHeader, BatchError> parse_header(std::span<const std::uint8_t> bytes);

// Checks that `bytes` is exactly one valid batch of at most batch_bytes_max
// bytes: header, size, CRC, the offset-delta rules and, for uncompressed
// batches, the framing of every record. Returns its header.
Result<BatchHeader, BatchError> validate_batch(std::span<const std::uint8_t> bytes,
                                               std::size_t batch_bytes_max);

// One batch inside a concatenation: `length` bytes from byte `offset`.
struct BatchSpan {
    std::size_t offset = 0;
    std::size_t length = 0;
    BatchHeader header;
};

// Splits the `records` field of a Produce request into its batches and
// validates each one. An incomplete trailing batch is corrupt_message; no
// bytes at all give no batches (whether that is allowed is the caller's call).
Result<std::vector<BatchSpan>, BatchError> split_batches(std::span<const std::uint8_t> records,
                                                         std::size_t batch_bytes_max);

// CRC-32C over attributes..end, the value the crc field must hold.
std::uint32_t compute_batch_crc(std::span<const std::uint8_t> batch) noexcept;

// Writes the 61 header bytes of `header` (crc as given) at the start of `out`.
void encode_header(const BatchHeader& header, std::span<std::uint8_t> out) noexcept;

// Stores compute_batch_crc(batch) in the crc field: for builders, and for
// rewrites of fields the CRC covers (such as LogAppendTime timestamps).
void seal_crc(std::span<std::uint8_t> batch) noexcept;

// The broker-owned fields, which the CRC leaves out precisely so they can be
// rewritten in place. `batch` must start with a full header.
void set_base_offset(std::span<std::uint8_t> batch, Offset base_offset) noexcept;
void set_partition_leader_epoch(std::span<std::uint8_t> batch, std::int32_t epoch) noexcept;
Offset base_offset_of(std::span<const std::uint8_t> batch) noexcept;
std::int32_t partition_leader_epoch_of(std::span<const std::uint8_t> batch) noexcept;

struct HeaderView {
    std::span<const std::uint8_t> key;  // never null on the wire
    std::optional<std::span<const std::uint8_t>> value;
};

// One record of an uncompressed batch; the spans point into the batch.
struct RecordView {
    std::int32_t offset_delta = 0;
    std::int64_t timestamp_delta = 0;
    std::optional<std::span<const std::uint8_t>> key;
    std::optional<std::span<const std::uint8_t>> value;
    std::vector<HeaderView> headers;
};

// The records of one uncompressed batch (`batch` as validate_batch takes it),
// checked as validate_batch checks them except for the CRC. A compressed
// batch is unsupported_version: its records are not readable here.
Result<std::vector<RecordView>, BatchError> parse_records(std::span<const std::uint8_t> batch);

}  // namespace samsa::log

// Vocabulary of the partition log: its configuration, its errors, and the
// results it reports back to its host.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/base/ids.h"
#include "core/base/time.h"
#include "core/io/seam.h"

namespace samsa::log {

struct LogConfig {
    // Files are named <prefix><20-digit base offset>.log in the node's directory.
    std::string file_prefix = "p0-";
    std::uint64_t segment_bytes_max = 64ULL << 20;  // roll to a new segment beyond this
    std::uint64_t retention_bytes_max = 0;          // 0: keep everything
    std::size_t batch_bytes_max = 1 << 20;          // larger batches: message_too_large
    std::size_t pending_appends_max = 4096;         // appends waiting for the next flush
    std::uint64_t pending_bytes_max = 64ULL << 20;
    std::uint32_t read_bytes_max = 1 << 20;  // one disk read; a larger first batch reads alone
    int reread_max = 8;  // CRC failures of one read before the data counts as corrupt
    // false: an append completes when its write does, before any fsync. For
    // acks=1 and benchmarks only: a crash can lose acknowledged appends.
    bool fsync_before_ack = true;
};

enum class LogError : std::uint8_t {
    corrupt_message,      // the batch: bad CRC, length or layout
    invalid_record,       // the batch: inconsistent record count or offsets
    message_too_large,    // the batch: over batch_bytes_max
    unsupported_version,  // the batch: magic 0 or 1
    not_ready,            // recovering, repairing, or failed
    backpressure,         // pending_appends_max or pending_bytes_max reached
    io_error,             // the disk failed the write or fsync
    no_space,             // the disk is full
    offset_out_of_range,  // a read or truncation outside [log start, log end]
    busy,                 // truncation while appends are in flight
    corrupt_log,          // stored data fails its CRC: repair from a replica
};
const char* to_string(LogError error) noexcept;
// The Kafka error code a broker returns for it.
std::int16_t kafka_error_code(LogError error) noexcept;

struct AppendResult {
    std::uint64_t id = 0;
    Offset base;
    Offset last;
    std::optional<LogError> error;  // set: the append did not happen
};

struct ReadResult {
    std::uint64_t id = 0;
    std::optional<LogError> error;
    io::Bytes batches;  // whole batches, the first containing the requested offset
};

}  // namespace samsa::log

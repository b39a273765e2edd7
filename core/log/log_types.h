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
    std::int64_t retention_ms = 0;  // 0: keep; else drop segments whose newest record is older
    // Roll when a batch's timestamp is this much newer than the segment's
    // first (Kafka's segment.ms); 0: by size only.
    std::int64_t segment_ms = 0;
    std::uint32_t index_interval_bytes = 4096;  // one sparse index entry per this many bytes
    std::size_t batch_bytes_max = 1 << 20;      // larger batches: message_too_large
    std::size_t pending_appends_max = 4096;     // appends waiting for the next flush
    std::uint64_t pending_bytes_max = 64ULL << 20;
    // While a write is in flight, the next goes out once this much is waiting.
    std::uint64_t flush_bytes_min = 1ULL << 20;
    // One write carries at most this much (a larger batch goes alone), so a
    // large backlog streams as several writes instead of one that the next
    // appends wait behind (0: no cap).
    std::uint64_t flush_bytes_max = 1ULL << 20;
    // Writes outstanding at once (each with its fsync when fsync_before_ack).
    std::size_t flushes_in_flight_max = 8;
    std::uint32_t read_bytes_max = 1 << 20;  // one disk read; a larger first batch reads alone
    int reread_max = 8;  // CRC failures of one read before the data counts as corrupt
    // false: an append completes when its write does, before any fsync. For
    // acks=1 and benchmarks only: a crash can lose acknowledged appends.
    bool fsync_before_ack = true;
    // Segment files are written around the page cache (O_DIRECT) in whole
    // aligned pages: the partial last page is kept in memory and rewritten.
    bool direct_io = true;
    // New segments reserve segment_bytes_max of disk when created.
    bool preallocate = true;
    // Segment files that retention drops are kept (renamed
    // <prefix><20-digit bound>.spare, every offset they held below the bound),
    // up to this many, and a roll reuses one rather than creating a file:
    // writes then overwrite blocks the file system has allocated and written
    // already, which is faster than extending a file (docs/benchmarks.md).
    // 0: dropped segments are removed.
    std::size_t spare_segments_max = 1;
    // Recent batches kept in memory for readers at the tail (0: no cache).
    std::uint64_t cache_bytes_max = 32ULL << 20;
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
    stale_epoch,          // an append with a leader epoch older than the log's latest
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

struct TimeMatch {
    Offset offset;              // the first record with timestamp >= the target
    std::int64_t timestamp_ms;  // its timestamp
};

struct ReadResult {
    std::uint64_t id = 0;
    std::optional<LogError> error;
    io::Bytes batches;  // whole batches, the first containing the requested offset
    std::optional<TimeMatch> time_match;  // find_offset_by_time
};

}  // namespace samsa::log

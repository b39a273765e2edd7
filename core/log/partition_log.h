// The partition log: an append-only, segmented, checksummed sequence of Kafka
// record batches, driven through the seam.
//
// Theory of operation. The log is a component, not a whole machine: its host
// (a broker or Raft machine, or a test machine) calls it with the Outbox of
// the current step and routes back every IoCompleted whose token it owns().
// Tokens and FileIds carry the log's component number in their high bits, so
// many logs share one node.
//
// Appends are validated, given offsets at once (baseOffset and
// partitionLeaderEpoch are rewritten in place; the CRC does not cover them),
// and queued. Group commit: while one write+fsync is in flight, new appends
// wait; when it completes, everything waiting goes out in the next write. An
// append is reported complete (take_completed()) only after the fsync that
// covers it - or after its write, in the no-fsync mode. If a write or fsync
// fails, the appends of that flush and every one queued behind it fail, their
// offsets are given back, and the file is cut back to where the flush began.
//
// Segments roll when the next flush would pass segment_bytes_max; a new
// segment's name is made durable (SyncDir) before any append in it completes.
// Each segment keeps an in-memory index of its batches (offset -> position),
// built as batches are appended, and for older segments found at start-up
// built lazily by the first read that needs it - so recovery reads only the
// tail segment. Recovery cuts a torn tail; a corrupt batch followed by valid
// data is corruption, and the log refuses to serve until repaired.
#pragma once

#include <climits>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "core/base/result.h"
#include "core/io/seam.h"
#include "core/log/log_types.h"

namespace samsa::log {

class PartitionLog {
public:
    enum class State : std::uint8_t { recovering, ready, repairing, needs_repair };

    // `component` tags this log's tokens and FileIds: < 2^20.
    PartitionLog(LogConfig config, std::uint32_t component);

    // Starts recovery from whatever the directory holds.
    void start(io::Outbox& out);
    [[nodiscard]] bool owns(IoToken token) const noexcept;
    void on_io(const io::IoCompleted& done, io::Outbox& out);

    // Validates and queues a batch; the result arrives later through
    // take_completed(). Returns the append's id and base offset, or why not.
    Result<AppendResult, LogError> append(io::Bytes batch, std::int32_t leader_epoch,
                                          io::Outbox& out);
    // Reads whole batches from `from`, about max_bytes of them (at least one
    // batch), never past readable_end(). The result arrives via take_reads().
    Result<std::uint64_t, LogError> read(Offset from, std::uint32_t max_bytes, io::Outbox& out);
    // Removes every batch at or after `offset` (a batch boundary). Completes
    // when durable; until then the log is repairing.
    Status<LogError> truncate_to(Offset offset, io::Outbox& out);
    // Deletes the oldest whole segments beyond retention_bytes_max.
    void apply_retention(io::Outbox& out);

    std::vector<AppendResult> take_completed();
    std::vector<ReadResult> take_reads();

    [[nodiscard]] State state() const noexcept { return state_; }
    [[nodiscard]] Offset log_start() const noexcept { return log_start_; }
    // The offset the next append gets.
    [[nodiscard]] Offset log_end() const noexcept { return next_offset_; }
    // Everything below is complete (durable, or written in the no-fsync mode).
    [[nodiscard]] Offset readable_end() const noexcept { return readable_end_; }
    [[nodiscard]] std::size_t segment_count() const noexcept { return segments_.size(); }
    [[nodiscard]] std::uint64_t size_bytes() const noexcept;

    static std::string segment_name(const std::string& prefix, Offset base);
    // The size of the batch at the start of `bytes`, from its length field: 0
    // when fewer bytes than that field, nullopt when no batch can be that long.
    static std::optional<std::uint64_t> framed_size(std::span<const std::uint8_t> bytes,
                                                    std::size_t batch_bytes_max);
    static std::optional<Offset> parse_segment_name(const std::string& prefix,
                                                    const std::string& name);

private:
    struct BatchPosition {
        Offset base;
        Offset last;
        std::uint64_t position;
        // partitionLeaderEpoch is outside the CRC: checked on reads when known.
        // Batches found on disk have kEpochUnknown until a leader-epoch cache
        // can vouch for them.
        std::int32_t epoch;
    };
    static constexpr std::int32_t kEpochUnknown = INT32_MIN;
    struct Segment {
        Offset base;
        FileId file;
        std::uint64_t size = 0;            // bytes written or being written
        std::vector<BatchPosition> index;  // every batch, in order, once indexed
        bool indexed = false;
    };
    struct PendingAppend {
        std::uint64_t id;
        Offset base;
        Offset last;
        io::Bytes bytes;
    };
    struct Flush {  // one write (+ fsync, + new segment) in flight
        std::vector<PendingAppend> appends;
        Offset segment;  // base of the segment written
        std::uint64_t position;
        bool rolled = false;  // this flush created the segment
        int operations_left = 0;
        std::optional<LogError> error;
    };
    struct PendingRead {
        std::uint64_t id;
        Offset from;
        std::uint32_t max_bytes;
        Offset segment;          // base of the segment being read
        std::uint64_t position;  // where this disk read begins
        std::uint32_t length;
        int rereads = 0;
        io::Bytes collected;
        std::optional<Offset> expected;  // the base offset of the batch at `position`
    };
    // Truncation and repair run in phases: first the removals of whole
    // segments, then a SyncDir together with the cut (Truncate + Fsync).
    struct Maintenance {
        bool removing = true;
        int operations_left = 0;
        bool failed = false;
        std::vector<std::string> removals;  // file names, kept for retries
        bool cut = false;
        Offset cut_segment;
        std::uint64_t cut_position = 0;
    };
    enum class Step : std::uint8_t { list, open, scan, cut, create, ready };

    IoToken next_token() noexcept;
    FileId next_file() noexcept;
    void flush(io::Outbox& out);
    void finish_flush(io::Outbox& out);
    void fail_flush(io::Outbox& out);
    void on_flush_io(const io::IoCompleted& done, io::Outbox& out);
    void issue_read(PendingRead read, io::Outbox& out);
    void on_read_io(PendingRead read, const io::IoCompleted& done, io::Outbox& out);
    // Returns false on a CRC failure; sets `more` when another read must follow.
    bool collect_batches(PendingRead& read, const io::Bytes& data, ReadResult& result, bool& more);
    std::uint64_t readable_bytes(const Segment& segment) const;
    bool move_to_next_segment(PendingRead& read, const Segment& segment) const;
    // The base offset the batch at `position` must have, when known.
    std::optional<Offset> expected_base(const Segment& segment, std::uint64_t position) const;
    const BatchPosition* indexed_at(const Segment& segment, std::uint64_t position) const;
    Segment* segment_at(Offset base);
    std::size_t segment_for(Offset offset) const;
    // Maintenance: removals (phase 1), then the cut (phase 2), then ready.
    void remove_segment_files(std::size_t index, io::Outbox& out);
    void issue_removals(io::Outbox& out);
    void issue_sync_and_cut(io::Outbox& out);
    void finish_phase(io::Outbox& out);
    void on_maintenance_io(const io::IoCompleted& done, io::Outbox& out);
    void collect_reads(io::Outbox& out);

    // Recovery (partition_log_recovery.cpp).
    void on_recovery_io(const io::IoCompleted& done, io::Outbox& out);
    void on_listed(const io::IoCompleted& done, io::Outbox& out);
    void scan_tail(io::Outbox& out);
    void on_scanned(const io::IoCompleted& done, io::Outbox& out);
    void finish_scan(std::uint64_t valid_end, bool corrupt, io::Outbox& out);
    bool followed_by_batch(std::uint64_t position, std::uint64_t size,
                           std::span<const std::uint8_t> rest) const;
    void become_ready();
    void create_first_segment(io::Outbox& out);
    void start_again(io::Outbox& out);
    void retry_step(io::Outbox& out);

    LogConfig config_;
    std::uint32_t component_;
    std::uint64_t token_counter_ = 0;
    std::uint32_t file_counter_ = 0;
    State state_ = State::recovering;

    std::vector<Segment> segments_;
    Offset log_start_;
    Offset next_offset_;
    Offset readable_end_;

    std::deque<PendingAppend> pending_;
    std::uint64_t pending_bytes_ = 0;
    std::uint64_t append_counter_ = 0;
    std::optional<Flush> flush_;
    std::set<std::uint64_t> flush_tokens_;
    std::map<std::uint64_t, PendingRead> reads_;  // by token value
    std::uint64_t read_counter_ = 0;
    std::optional<Maintenance> maintenance_;
    std::set<std::uint64_t> maintenance_tokens_;
    std::set<std::uint64_t> background_tokens_;  // retention: failures are harmless
    std::vector<AppendResult> completed_;
    std::vector<ReadResult> read_results_;

    // Recovery state.
    Step step_ = Step::list;
    IoToken awaiting_;
    std::map<std::uint64_t, Offset> opening_;  // token value -> segment base
    int recovery_ops_left_ = 0;
    bool recovery_failed_ = false;
    io::Bytes scan_buffer_;  // tail bytes from scan_start_ on
    std::uint64_t scan_start_ = 0;
    int scan_rereads_ = 0;
};

}  // namespace samsa::log

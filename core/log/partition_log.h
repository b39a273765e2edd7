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
// and queued. Group commit: while writes (each with its fsync) are in flight,
// new appends wait and go out together in the next, up to flush_bytes_max a
// write and flushes_in_flight_max writes at once (LogConfig). An
// append is reported complete (take_completed()) only after the fsync that
// covers it - or after its write, in the no-fsync mode. If a write or fsync
// fails, the appends of that flush and every one queued behind it fail, their
// offsets are given back, and the file is cut back to where the flush began.
//
// Segments roll when the next flush would pass segment_bytes_max; a new
// segment's name is made durable (SyncDir) before any append in it completes.
// Retention keeps up to spare_segments_max dropped segment files as spares,
// and a roll reuses one (see LogConfig and core/log/README.md).
// Each segment keeps an in-memory index of its batches (offset -> position),
// built as batches are appended, and for older segments found at start-up
// built lazily by the first read that needs it - so recovery reads only the
// tail segment. Recovery cuts a torn tail; a corrupt batch followed by valid
// data is corruption, and the log refuses to serve until repaired.
#pragma once

#include <array>
#include <climits>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/io/seam.h"
#include "core/log/batch.h"
#include "core/log/batch_cache.h"
#include "core/log/epoch_cache.h"
#include "core/log/log_types.h"
#include "core/log/segment_index.h"
#include "core/log/valid_batch.h"

namespace samsa::log {

class PartitionLog {
public:
    enum class State : std::uint8_t { recovering, ready, repairing, needs_repair };

    // `component` tags this log's tokens and FileIds: < 2^20. With a
    // `cache_budget`, the log's batch cache shares it with other logs' (see
    // batch_cache.h); the budget must outlive the log, which then cannot move.
    PartitionLog(LogConfig config, std::uint32_t component, CacheBudget* cache_budget = nullptr);

    // Starts recovery from whatever the directory holds.
    void start(io::Outbox& out);
    // The same with the directory's names already known (a host that listed
    // it once for many logs): no List of its own.
    void start(const std::vector<std::string>& names, io::Outbox& out);
    [[nodiscard]] bool owns(IoToken token) const noexcept;
    // The component a token belongs to (0: the host's own operations).
    static std::uint32_t component_of(IoToken token) noexcept;
    void on_io(const io::IoCompleted& done, io::Outbox& out);

    // Validates and queues a batch; the result arrives later through
    // take_completed(). Returns the append's id and base offset, or why not.
    Result<AppendResult, LogError> append(io::Bytes batch, std::int32_t leader_epoch,
                                          io::Outbox& out);
    // The same for a batch checked already: only its size is checked again,
    // against this log's batch_bytes_max.
    Result<AppendResult, LogError> append(ValidBatch batch, std::int32_t leader_epoch,
                                          io::Outbox& out);
    // Runs `appends` (calls of append()) and then flushes: the batches of one
    // request (or one step) share a write, where otherwise the first would go
    // out alone whenever the disk is idle. Not nested.
    template <class Appends>
    void append_together(io::Outbox& out, Appends&& appends) {
        SAMSA_ASSERT(!flushes_held_);
        flushes_held_ = true;
        std::forward<Appends>(appends)();
        flushes_held_ = false;
        flush(out);
    }
    // Reads whole batches from `from`: the first one, then as many more as fit
    // within max_bytes in all, never past readable_end(). The result arrives
    // via take_reads().
    Result<std::uint64_t, LogError> read(Offset from, std::uint32_t max_bytes, io::Outbox& out);
    // Removes every batch at or after `offset` (a batch boundary). Completes
    // when durable; until then the log is repairing.
    Status<LogError> truncate_to(Offset offset, io::Outbox& out);
    // Deletes the oldest whole segments beyond retention_bytes_max and, given
    // the time (ms since the epoch, as record timestamps count it), those
    // whose newest record is older than retention_ms. Never the last segment.
    void apply_retention(io::Outbox& out, std::optional<std::int64_t> now_ms = std::nullopt);
    // Deletes the whole segments that hold only offsets below `offset` (the
    // segment holding `offset` stays) and advances the log start: how a
    // compacted topic drops what a later rewrite of its live records made
    // obsolete.
    void delete_segments_before(Offset offset, io::Outbox& out);
    // The first offset whose record timestamp is >= timestamp_ms (Kafka's
    // ListOffsets by time), among readable records. The answer arrives via
    // take_reads() as ReadResult::time_match (absent: no such record).
    Result<std::uint64_t, LogError> find_offset_by_time(std::int64_t timestamp_ms, io::Outbox& out);

    std::vector<AppendResult> take_completed();
    std::vector<ReadResult> take_reads();

    [[nodiscard]] State state() const noexcept { return state_; }
    [[nodiscard]] Offset log_start() const noexcept { return log_start_; }
    // The offset the next append gets.
    [[nodiscard]] Offset log_end() const noexcept { return next_offset_; }
    // Everything below is complete (durable, or written in the no-fsync mode).
    [[nodiscard]] Offset readable_end() const noexcept { return readable_end_; }
    [[nodiscard]] std::size_t segment_count() const noexcept { return segments_.size(); }
    // Flushes (a write, and its fsync when acknowledging needs one) issued so far.
    [[nodiscard]] std::uint64_t flushes_issued() const noexcept { return flush_counter_; }
    [[nodiscard]] std::uint64_t size_bytes() const noexcept;

    static std::string segment_name(const std::string& prefix, Offset base);
    // The size of the batch at the start of `bytes`, from its length field: 0
    // when fewer bytes than that field, nullopt when no batch can be that long.
    static std::optional<std::uint64_t> framed_size(std::span<const std::uint8_t> bytes,
                                                    std::size_t batch_bytes_max);
    static std::optional<Offset> parse_segment_name(const std::string& prefix,
                                                    const std::string& name);
    // A spare segment file, every offset in it below `bound`: "<prefix><bound>.spare".
    static std::string spare_name(const std::string& prefix, Offset bound);
    static std::optional<Offset> parse_spare_name(const std::string& prefix,
                                                  const std::string& name);
    // Spare segment files kept for reuse (LogConfig::spare_segments_max).
    [[nodiscard]] std::size_t spare_count() const noexcept { return spares_.size(); }
    // Rolls that reused a spare file.
    [[nodiscard]] std::uint64_t segments_recycled() const noexcept { return segments_recycled_; }
    // The offset and time index of a sealed segment: "<prefix><base>.index".
    static std::string index_name(const std::string& prefix, Offset base);
    // Sealed segments whose index is known (loaded, or built by reading them).
    [[nodiscard]] std::size_t indexed_segment_count() const noexcept;
    // Index files found missing or damaged and rebuilt from their segment.
    [[nodiscard]] std::uint64_t indexes_rebuilt() const noexcept { return indexes_rebuilt_; }
    [[nodiscard]] const EpochCache& epochs() const noexcept { return epochs_; }

    // Retiring a log (its topic is deleted): once the owner stops calling
    // append/read/truncate/retention, the log finishes what it started; quiet()
    // says when no I/O of its own is outstanding. close_files() then releases
    // its files, and owns_file() picks them out of a directory listing for
    // removal. The log must not be used after close_files().
    [[nodiscard]] bool quiet() const noexcept;
    [[nodiscard]] std::uint32_t component() const noexcept { return component_; }
    // The base offset of the newest segments that together hold at least
    // `bytes` (or all of them): where a reader of the log's recent tail starts.
    [[nodiscard]] Offset tail_start(std::uint64_t bytes) const noexcept;
    void close_files(io::Outbox& out);
    static bool owns_file(const std::string& prefix, const std::string& name);

private:
    struct BatchPosition {
        Offset base;
        Offset last;
        std::uint64_t position;
        std::uint32_t size;
        // partitionLeaderEpoch is outside the CRC: checked on reads when known.
        // Batches found on disk have kEpochUnknown until a leader-epoch cache
        // can vouch for them.
        std::int32_t epoch;
    };
    static constexpr std::int32_t kEpochUnknown = INT32_MIN;
    struct Segment {
        Segment(Offset first, FileId id, bool fresh, std::uint32_t interval_bytes)
            : base(first),
              file(id),
              indexed(fresh),
              sparse(first, IndexConfig{interval_bytes}),
              sparse_complete(fresh) {}
        Offset base;
        FileId file;
        std::uint64_t size = 0;  // bytes written or being written
        // Every batch from the start, in order; all of them once `indexed`.
        std::vector<BatchPosition> index;
        bool indexed = false;
        // The sparse offset index and the time index: persisted when the
        // segment is sealed, loaded at start-up; complete when sparse_complete.
        SegmentIndex sparse;
        bool sparse_complete = false;
        // The file held an older segment (a spare) of `spare_bytes` (0: it
        // did not, or they are cut): bytes past the data (and its page
        // padding) are stale, and are trimmed before the segment is sealed.
        std::uint64_t spare_bytes = 0;
        bool trimmed = false;  // the file ends exactly at `size`
    };
    struct PendingAppend {
        std::uint64_t id;
        Offset base;
        Offset last;
        io::Bytes bytes;
    };
    struct Flush {  // one write (+ fsync, + new segment) in flight
        std::uint64_t sequence = 0;
        std::vector<PendingAppend> appends;
        Offset segment;  // base of the segment written
        std::uint64_t position;
        io::Bytes tail_before;             // the partial last page before this flush
        bool rolled = false;               // this flush created the segment
        std::optional<IoToken> recycling;  // the Open of a reused spare file
        IoToken write;
        bool written = false;  // the write completed (its fsync may not have)
        int operations_left = 0;
        std::optional<LogError> error;
    };
    enum class ReadKind : std::uint8_t { fetch, find_time, rebuild_index };
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
        ReadKind kind = ReadKind::fetch;
        std::int64_t timestamp_ms = 0;  // find_time: the target
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
    enum class Step : std::uint8_t { list, open, load, scan, cut, create, ready };

    IoToken next_token() noexcept;
    FileId next_file() noexcept;
    io::Open open_segment(IoToken token, const Segment& segment, bool create,
                          bool exclusive = false) const;
    void flush(io::Outbox& out);
    bool flushes_held_ = false;  // inside append_together()
    // append() once the batch is known valid.
    Result<AppendResult, LogError> append_checked(io::Bytes batch, const BatchHeader& header,
                                                  std::int32_t leader_epoch, io::Outbox& out);
    void issue_flush(io::Outbox& out);
    void track(Flush& batch_flush, IoToken token);
    [[nodiscard]] bool needs_roll() const;
    // Starts a new segment when the next flush would overfill the last one.
    void roll(Flush& batch_flush, io::Outbox& out);
    // Direct I/O rewrites the partial last page: its bytes must be in memory.
    bool tail_page_missing() const;
    void load_tail_page(io::Outbox& out);
    // A recycled last segment about to be sealed: cut its stale bytes (and
    // make that durable) before the next segment exists.
    void trim_recycled_tail(io::Outbox& out);
    [[nodiscard]] bool tail_has_stale_bytes() const;
    void on_trim_io(const io::IoCompleted& done, io::Outbox& out);
    // Retention: the oldest segment's file becomes a spare, or goes.
    void retire_segment_file(const Segment& oldest, Offset bound, io::Outbox& out);
    void on_spare_renamed(const io::IoCompleted& done, io::Outbox& out);
    void on_tail_page(const io::IoCompleted& done, io::Outbox& out);
    void finish_flush(io::Outbox& out);
    void fail_flush(io::Outbox& out);
    // Fails every waiting append with `error`; offsets from `from` on are given again.
    void fail_pending(LogError error, Offset from);
    void on_flush_io(std::uint64_t sequence, const io::IoCompleted& done, io::Outbox& out);
    void issue_read(PendingRead read, io::Outbox& out);
    void on_read_io(PendingRead read, const io::IoCompleted& done, io::Outbox& out);
    // Returns false on a CRC failure; sets `more` when another read must follow.
    bool collect_batches(PendingRead& read, const io::Bytes& data, ReadResult& result, bool& more);
    std::uint64_t readable_bytes(const Segment& segment) const;
    bool move_to_next_segment(PendingRead& read, const Segment& segment) const;
    // Records a batch in the segment's indexes if it extends them.
    void note_batch(Segment& segment, const BatchHeader& batch, std::uint64_t position,
                    std::int32_t epoch);
    // The matching record of a find_time read in `batch`, if any.
    static std::optional<TimeMatch> time_match_in(std::span<const std::uint8_t> batch,
                                                  const BatchHeader& header, std::int64_t target);
    void remove_index_file(Offset base, io::Outbox& out);
    void write_index_file(const Segment& segment, io::Outbox& out);
    void rebuild_next_index(io::Outbox& out);
    void on_rebuilt(const PendingRead& read, bool ok, io::Outbox& out);
    void mark_indexed_if_complete(Segment& segment);
    static bool deliver(const PendingRead& read, const BatchHeader& batch,
                        std::span<const std::uint8_t> bytes, io::Bytes& batches,
                        ReadResult& result);
    std::optional<BatchHeader> checked_batch(const Segment& segment, std::uint64_t position,
                                             std::span<const std::uint8_t> bytes,
                                             std::optional<Offset> expected) const;
    std::int32_t trusted_epoch(Offset base) const;
    void persist_epochs(Flush& batch_flush, io::Outbox& out);
    // Zeros that pad a sealed segment to a page boundary (left when a crash
    // came before the roll trimmed them): its data ends at `position`.
    bool is_padding(const Segment& segment, std::uint64_t position,
                    std::span<const std::uint8_t> rest) const;
    // The base offset the batch at `position` must have, when known.
    std::optional<Offset> expected_base(const Segment& segment, std::uint64_t position) const;
    const BatchPosition* indexed_at(const Segment& segment, std::uint64_t position) const;
    Segment* segment_at(Offset base);
    std::size_t segment_for(Offset offset) const;
    // Maintenance: removals (phase 1), then the cut (phase 2), then ready.
    void remove_segment_files(std::size_t index, io::Outbox& out);
    template <class Drop>
    void drop_oldest_segments(io::Outbox& out, Drop&& drop);
    void issue_removals(io::Outbox& out);
    void issue_sync_and_cut(io::Outbox& out);
    void finish_phase(io::Outbox& out);
    void on_maintenance_io(const io::IoCompleted& done, io::Outbox& out);
    void collect_reads(io::Outbox& out);

    // Recovery (partition_log_recovery.cpp).
    void on_recovery_io(const io::IoCompleted& done, io::Outbox& out);
    void on_listed(const io::IoCompleted& done, io::Outbox& out);
    // Index files of sealed segments, and the epoch checkpoints.
    void load_metadata(io::Outbox& out);
    void on_loaded(const io::IoCompleted& done, io::Outbox& out);
    void on_metadata_opened(FileId file, Offset mark, const io::IoCompleted& done, io::Outbox& out);
    struct IndexLoad {
        FileId file;
        Offset base;
        bool opening;  // the Open (else the Read) of a sealed segment's index file
    };
    void load_indexes(io::Outbox& out);
    void on_index_load(IndexLoad load, const io::IoCompleted& done, io::Outbox& out);
    void on_checkpoint_read(Offset mark, const io::IoCompleted& done, io::Outbox& out);
    void scan_tail(io::Outbox& out);
    void on_scanned(const io::IoCompleted& done, io::Outbox& out);
    void finish_scan(std::uint64_t valid_end, bool corrupt, io::Outbox& out);
    bool followed_by_batch(std::uint64_t size, std::span<const std::uint8_t> rest,
                           Offset expected) const;
    void become_ready(io::Outbox& out);
    // A recovered batch's partitionLeaderEpoch against the checkpointed epochs.
    bool epoch_agrees(const BatchHeader& batch) const;
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
    std::deque<Flush> flushes_;                            // in flight, oldest first
    std::map<std::uint64_t, std::uint64_t> flush_tokens_;  // token value -> Flush::sequence
    std::uint64_t flush_counter_ = 0;
    std::map<std::uint64_t, PendingRead> reads_;  // by token value
    std::uint64_t read_counter_ = 0;
    std::optional<Maintenance> maintenance_;
    std::set<std::uint64_t> maintenance_tokens_;
    std::set<std::uint64_t> background_tokens_;  // retention: failures are harmless
    std::vector<AppendResult> completed_;
    std::vector<ReadResult> read_results_;
    BatchCache cache_;

    // Direct I/O: the bytes of the last segment's partial last page, i.e.
    // [size rounded down to a page, size). Unknown after recovery and after
    // cuts until load_tail_page() has read them back.
    io::Bytes tail_page_;
    bool tail_page_known_ = true;

    // Leader epochs: which epoch's leader wrote each offset range. Kept in
    // two checkpoint files written in turn (a torn write leaves the other).
    EpochCache epochs_;
    bool epochs_dirty_ = false;
    std::uint64_t epochs_sequence_ = 0;
    std::array<FileId, 2> epoch_files_{};
    bool epochs_trusted_ = false;  // a checkpoint was read (or the log started empty)
    // Start-up: token -> (file, segment base or checkpoint mark).
    std::map<std::uint64_t, std::pair<FileId, Offset>> metadata_opens_;
    bool checkpoint_open_failed_ = false;
    std::array<int, 2> checkpoint_rereads_{};
    std::array<std::uint32_t, 2> checkpoint_sizes_{};
    std::optional<std::uint64_t> rebuilding_;         // the read that rebuilds an index
    std::map<std::uint64_t, IndexLoad> index_loads_;  // by token value, after recovery
    std::uint64_t indexes_rebuilt_ = 0;
    std::optional<IoToken> tail_load_;
    int tail_load_rereads_ = 0;

    // Spare segment files: their bounds, ascending (see spare_name()).
    std::vector<Offset> spares_;
    struct SpareRename {
        Offset segment;  // base of the dropped segment
        Offset bound;
    };
    std::map<std::uint64_t, SpareRename> spare_renames_;  // in flight, by token value
    std::set<std::uint64_t> trim_tokens_;                 // trim_recycled_tail() in flight
    std::optional<LogError> trim_error_;
    std::uint64_t segments_recycled_ = 0;

    // Recovery state.
    Step step_ = Step::list;
    IoToken awaiting_;
    std::map<std::uint64_t, Offset> opening_;  // token value -> segment base
    std::map<std::uint64_t, Offset> loading_;  // token value -> segment base (index read)
    int recovery_ops_left_ = 0;
    bool recovery_failed_ = false;
    io::Bytes scan_buffer_;  // tail bytes from scan_start_ on
    std::uint64_t scan_start_ = 0;
    int scan_rereads_ = 0;
};

}  // namespace samsa::log

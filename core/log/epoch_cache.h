// Leader epoch -> start offset, as Kafka's LeaderEpochFileCache keeps it in
// the leader-epoch-checkpoint file: for each leader epoch that wrote to this
// log, the offset of its first batch. Followers use it (OffsetsForLeaderEpoch)
// to find where their log diverges from the leader's, and the log uses it to
// know which partitionLeaderEpoch a stored batch must carry.
//
// Invariant: epochs >= 0 and strictly increasing; start offsets >= 0 and
// strictly increasing (each epoch starts after the previous one's first batch;
// Kafka's rules below never leave two epochs with the same start).
//
// assign(epoch, start), called with the first batch of each epoch:
//   - epoch < 0 or start < 0: refused (negative_epoch, negative_offset);
//   - empty cache, or epoch > latest epoch: every entry whose start >= start is
//     dropped (an epoch that begins at or after the new epoch's first batch
//     has no batch left below it: the log must have been truncated, and Kafka
//     drops such entries too), then (epoch, start) is appended;
//   - epoch == latest epoch and start >= its start: nothing to do (a later
//     batch of the same epoch);
//   - epoch == latest epoch and start < its start: as Kafka, the epoch's start
//     moves down (entries with start >= start are dropped, then it is re-added);
//   - epoch < latest epoch: refused with stale_epoch, and the log refuses the
//     append. Kafka would instead drop every entry of an epoch >= epoch; here a
//     batch of an older leader after a newer one's is treated as a bug upstream
//     rather than silently rewriting history.
//
// File format (all integers big-endian):
//
//   offset size field
//        0    4 magic "SEPC" (0x53455043)
//        4    2 format version (1)
//        6    2 reserved, 0
//        8    4 entry count N
//       12 12*N entries: epoch i32, start offset i64
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

enum class EpochError : std::uint8_t {
    // assign()
    negative_epoch,
    negative_offset,
    stale_epoch,  // older than the latest epoch
    // decode()
    truncated,
    trailing_bytes,
    bad_magic,
    unsupported_version,
    checksum_mismatch,
    invalid_entry,      // a negative epoch or offset, or a nonzero reserved field
    unordered_entries,  // epochs or start offsets not strictly increasing
};
const char* to_string(EpochError error) noexcept;

struct EpochEntry {
    std::int32_t epoch = 0;
    Offset start;
    bool operator==(const EpochEntry&) const = default;
};

class EpochCache {
public:
    EpochCache() = default;

    // The rules are in the comment at the top of this file.
    Status<EpochError> assign(std::int32_t epoch, Offset start);

    // Kafka's OffsetsForLeaderEpoch answer for a follower whose last epoch is
    // `requested`: (the largest epoch <= requested, the start offset of the
    // first epoch > requested), i.e. where requested's history ends here.
    //   - requested == the latest epoch: (requested, log_end), the epoch is
    //     still being written;
    //   - requested below the first epoch (history removed by retention):
    //     (requested, start of the first epoch), as Kafka: the follower then
    //     truncates to where the leader's known history begins;
    //   - nullopt (Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET) when
    //     the cache is empty, requested < 0, or requested > the latest epoch.
    // log_end must be >= the latest epoch's start.
    [[nodiscard]] std::optional<std::pair<std::int32_t, Offset>> end_offset_for(
        std::int32_t requested, Offset log_end) const;

    // The epoch a batch at `offset` must carry: that of the entry with the
    // largest start <= offset; nullopt when offset is below the first start.
    [[nodiscard]] std::optional<std::int32_t> epoch_for(Offset offset) const;

    // The log was truncated to `end`: forgets epochs that start at or after it.
    void truncate_from_end(Offset end);
    // The log now starts at `start` (retention): forgets epochs that end at or
    // before it, and moves the start of the one covering `start` up to it.
    // Nothing changes when every epoch starts after `start`.
    void truncate_from_start(Offset start);

    [[nodiscard]] io::Bytes encode() const;
    static Result<EpochCache, EpochError> decode(std::span<const std::uint8_t> bytes);

    [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
    [[nodiscard]] const std::vector<EpochEntry>& entries() const noexcept { return entries_; }
    [[nodiscard]] std::optional<EpochEntry> latest() const;

    bool operator==(const EpochCache&) const = default;

private:
    void check_invariant() const;

    std::vector<EpochEntry> entries_;  // by epoch, ascending
};

}  // namespace samsa::log

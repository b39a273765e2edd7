// The machine of the `log` scenario: one PartitionLog and a workload.
//
// It appends batches of random records on a timer (now and then under a new
// leader epoch), reads random offsets back, looks up offsets by timestamp,
// applies retention, and - once recovered - reads its whole log from
// the start so the checkers can compare it with what was acknowledged. Every
// batch it appends or reads is recorded as (base offset, content hash) so a
// checker outside can hold an oracle across crashes.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/base/prng.h"
#include "core/io/seam.h"
#include "core/log/partition_log.h"

namespace samsa::sim {

struct StoredBatch {
    Offset base;
    Offset last;
    std::uint64_t hash = 0;  // of the batch's bytes, base offset and epoch excluded
    bool operator==(const StoredBatch&) const = default;
};

struct LogNodeParams {
    log::LogConfig log;
    Duration append_interval_mean = Duration::milliseconds(4);
    Duration read_interval_mean = Duration::milliseconds(20);
    int records_per_batch_max = 8;
    int value_bytes_max = 200;
    std::uint32_t read_bytes_max = 4096;
};

class LogNode {
public:
    LogNode(NodeId self, Prng prng, LogNodeParams params);

    void step(Instant now, const io::Event& event, io::Outbox& out);

    [[nodiscard]] const log::PartitionLog& log() const noexcept { return log_; }
    // Appends accepted by the log (offsets assigned), in order, minus failed ones.
    [[nodiscard]] const std::vector<StoredBatch>& issued() const noexcept { return issued_; }
    // Appends whose completion reported success.
    [[nodiscard]] const std::vector<StoredBatch>& acknowledged() const noexcept { return acked_; }
    // The whole log as read back after recovery; set once that read finished.
    [[nodiscard]] const std::optional<std::vector<StoredBatch>>& recovered() const noexcept {
        return recovered_;
    }
    // Batches returned by ordinary reads since the last take.
    std::vector<StoredBatch> take_read_batches() { return std::exchange(read_batches_, {}); }
    [[nodiscard]] std::uint64_t read_errors() const noexcept { return read_errors_; }

    static std::uint64_t content_hash(std::span<const std::uint8_t> batch);
    // Splits concatenated whole batches into StoredBatch entries; false if any fails its CRC.
    static bool split_stored(const io::Bytes& batches, std::vector<StoredBatch>& into);

private:
    static constexpr TimerId kAppendTimer{1};
    static constexpr TimerId kReadTimer{2};

    void on_timer(Instant now, TimerId timer, io::Outbox& out);
    void after_log_step(Instant now, io::Outbox& out);
    void append_one(io::Outbox& out);
    void read_one(io::Outbox& out);
    void check_time_match(std::int64_t target, const log::ReadResult& result) const;
    void continue_recovery_read(io::Outbox& out);
    void arm(Instant now, TimerId timer, Duration mean, io::Outbox& out);
    io::Bytes make_batch();

    NodeId self_;
    Prng prng_;
    LogNodeParams params_;
    log::PartitionLog log_;
    bool started_workload_ = false;

    std::vector<StoredBatch> issued_;
    std::vector<StoredBatch> acked_;
    std::optional<std::vector<StoredBatch>> recovered_;
    std::vector<StoredBatch> reading_back_;  // the recovery read in progress
    std::optional<std::uint64_t> recovery_read_;
    std::vector<std::uint64_t> ordinary_reads_;
    std::vector<StoredBatch> read_batches_;
    std::uint64_t read_errors_ = 0;
    std::uint64_t sequence_ = 0;
    std::int32_t epoch_ = 1;  // now and then a new leader epoch begins
    std::vector<std::pair<std::uint64_t, std::int64_t>> time_lookups_;  // (id, target)
};

}  // namespace samsa::sim

// The machine of the `kernel` scenario, a self-test of the simulator.
//
// Each node sends sequenced messages to random peers and appends every
// message it receives, as a checksummed record, to its file `inbox.log`,
// group-committed: records that arrive while a write+fsync is in flight go
// out together in the next one. On start it recovers: it reads the file back,
// re-reading a record whose checksum fails (reads can flip bits), cuts the
// file at the first record that stays invalid (a torn tail), and makes the
// cut durable before it accepts new records. The checkers compare what it
// recovers with what it had written and made durable.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/base/bounded_queue.h"
#include "core/base/prng.h"
#include "core/io/seam.h"

namespace samsa::sim {

// Identifies one received message: who sent it, in which of the sender's
// incarnations (a random session number), and its sequence number.
struct RecordId {
    std::int32_t from = 0;
    std::uint32_t session = 0;
    std::uint64_t sequence = 0;
    bool operator==(const RecordId&) const = default;
};

struct KernelNodeParams {
    int node_count = 1;
    Duration send_interval_mean = Duration::milliseconds(20);
    Duration retry_backoff = Duration::milliseconds(5);
    std::size_t pending_records_max = 256;
    std::uint32_t read_chunk_bytes = 16 * 1024;
    int reread_max = 8;  // checksum failures of one record before it counts as torn
};

class KernelNode {
public:
    KernelNode(NodeId self, Prng prng, KernelNodeParams params);

    void step(Instant now, const io::Event& event, io::Outbox& out);

    // For checkers.
    [[nodiscard]] bool recovered() const noexcept { return phase_ == Phase::running; }
    [[nodiscard]] const std::vector<RecordId>& recovered_records() const noexcept {
        return recovered_;
    }
    // Records known durable: recovered ones, then those whose fsync completed.
    [[nodiscard]] const std::vector<RecordId>& durable_records() const noexcept { return durable_; }
    // Records whose bytes were handed to a write, in file order.
    [[nodiscard]] const std::vector<RecordId>& written_records() const noexcept { return written_; }
    [[nodiscard]] std::uint64_t messages_sent() const noexcept { return sent_; }
    [[nodiscard]] std::uint64_t records_dropped() const noexcept { return dropped_; }

    static io::Bytes encode_message(const RecordId& id, std::size_t filler_bytes);
    static std::optional<RecordId> decode_message(const io::Bytes& payload);
    // A record on disk: [u32 body length][u64 checksum][body = message bytes].
    static void append_record(io::Bytes& out, const io::Bytes& body);

private:
    enum class Phase { opening, syncing_dir, reading, cutting, running };
    static constexpr TimerId kSendTimer{1};
    static constexpr TimerId kRetryTimer{2};
    static constexpr FileId kInbox{1};

    void on_start(io::Outbox& out);
    void on_io(Instant now, const io::IoCompleted& done, io::Outbox& out);
    void on_recovery_io(const io::IoCompleted& done, io::Outbox& out);
    void on_flush_io(const io::IoCompleted& done, io::Outbox& out);
    void on_timer(Instant now, TimerId timer, io::Outbox& out);
    void on_message(const io::MessageReceived& message, io::Outbox& out);

    void read_next(io::Outbox& out);
    void parse_recovered(io::Outbox& out);
    void finish_recovery(io::Outbox& out);
    void send_one(Instant now, io::Outbox& out);
    void arm_send(Instant now, io::Outbox& out);
    void flush(io::Outbox& out);
    IoToken next_token() { return IoToken(++token_counter_); }

    NodeId self_;
    Prng prng_;
    KernelNodeParams params_;
    std::uint32_t session_;
    Phase phase_ = Phase::opening;
    std::uint64_t token_counter_ = 0;
    IoToken awaiting_;  // the recovery operation in flight

    // Recovery.
    io::Bytes file_;  // what has been read so far
    std::uint64_t file_size_ = 0;
    std::uint64_t valid_end_ = 0;
    int rereads_ = 0;
    bool cut_synced_ = false;

    // Sending.
    std::uint64_t sent_ = 0;
    Instant next_send_;

    // The inbox: records waiting for the next flush, and the flush in flight.
    struct PendingRecord {
        RecordId id;
        io::Bytes body;
    };
    BoundedQueue<PendingRecord> pending_;
    std::vector<RecordId> in_flight_;
    io::Bytes in_flight_bytes_;
    IoToken write_token_;
    IoToken fsync_token_;
    bool write_failed_ = false;
    bool retry_armed_ = false;
    std::uint64_t end_offset_ = 0;
    std::uint64_t dropped_ = 0;

    std::vector<RecordId> recovered_;
    std::vector<RecordId> durable_;
    std::vector<RecordId> written_;
};

}  // namespace samsa::sim

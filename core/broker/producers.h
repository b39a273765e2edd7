// Idempotent producers: the de-duplication window of one partition.
//
// Theory of operation. An idempotent producer stamps every batch with its
// producer id, epoch and the sequence number of the batch's first record;
// sequences grow by the record count from batch to batch, per partition. When
// a produce is retried (a lost response, a timeout, NOT_LEADER), the same
// batch arrives again with the same sequences. Each partition remembers, per
// producer, its last `window_batches` appended batches; a retried one is
// answered with the offset it got the first time instead of being appended
// twice (Kafka and Redpanda keep five). A batch that skips sequences is
// refused with OUT_OF_ORDER_SEQUENCE_NUMBER, one from an older epoch with
// INVALID_PRODUCER_EPOCH; a new epoch starts again at sequence 0.
//
// A batch counts from the moment its append is accepted: a duplicate arriving
// while the first copy is still being written waits for that append (`append`
// in the answer) and gets its outcome. If the first copy's append fails, it
// and every later batch of the producer are forgotten, so the retry is taken.
//
// The window lives in memory. After a restart the broker rebuilds it from the
// batches in the tail of the log (restore()) before the partition takes
// produce requests again; a producer not found there is unknown, and its
// first batch is accepted whatever its sequence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>

#include "core/base/ids.h"
#include "core/broker/errors.h"

namespace samsa::broker {

struct ProducerLimits {
    std::size_t window_batches = 5;    // remembered per producer and partition
    std::size_t producers_max = 4096;  // per partition; the least recently seen goes first
};

class ProducerWindow {
public:
    struct Batch {
        std::int64_t producer_id = -1;
        std::int16_t epoch = -1;
        std::int32_t first_sequence = -1;
        std::int32_t last_sequence = -1;  // first + records - 1, wrapping past INT32_MAX
    };
    enum class Verdict : std::uint8_t { append, duplicate, refuse };
    struct Check {
        Verdict verdict = Verdict::append;
        std::int16_t error_code = 0;  // refuse
        Offset base{0};               // duplicate: the offset the first copy got
        std::uint64_t append = 0;     // duplicate: the first copy's append id
        bool in_flight = false;       // duplicate: that append has not completed yet
    };

    explicit ProducerWindow(ProducerLimits limits = {}) : limits_(limits) {}

    // What to do with `batch` (producer_id >= 0).
    [[nodiscard]] Check check(const Batch& batch) const;
    // `batch` was accepted for appending as `append`, at `base`.
    void appended(const Batch& batch, std::uint64_t append, Offset base);
    // `batch` was found in the log at `base` (rebuilding the window after a
    // restart, oldest first).
    void restore(const Batch& batch, Offset base);
    // The append `append` finished; a failure forgets it and what followed it.
    void completed(std::uint64_t append, bool ok);

    [[nodiscard]] std::size_t producers() const noexcept { return producers_.size(); }

    // The sequence after `last`: sequences wrap from INT32_MAX to 0.
    static std::int32_t next_sequence(std::int32_t last) noexcept;

private:
    struct Entry {
        std::int32_t first_sequence;
        std::int32_t last_sequence;
        Offset base;
        std::uint64_t append;
        bool done;
    };
    struct Producer {
        std::int16_t epoch = -1;
        std::deque<Entry> batches;  // oldest first, at most window_batches
        std::uint64_t last_seen = 0;
    };

    void remember(const Batch& batch, Offset base, std::uint64_t append, bool done);
    void evict_one();

    ProducerLimits limits_;
    std::unordered_map<std::int64_t, Producer> producers_;
    std::unordered_map<std::uint64_t, std::int64_t> in_flight_;  // append id -> producer id
    std::uint64_t clock_ = 0;  // orders producers by last use (no time involved)
};

}  // namespace samsa::broker

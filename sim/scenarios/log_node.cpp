#include "sim/scenarios/log_node.h"

#include "core/base/hash.h"
#include "core/log/batch.h"
#include "core/log/batch_builder.h"

namespace samsa::sim {

LogNode::LogNode(NodeId self, Prng prng, LogNodeParams params)
    : self_(self), prng_(prng), params_(params), log_(params.log, 1) {}

std::uint64_t LogNode::content_hash(std::span<const std::uint8_t> batch) {
    // Skip baseOffset and partitionLeaderEpoch, which the log rewrites.
    SAMSA_ASSERT(batch.size() > log::batch_layout::magic);
    const std::uint64_t length = hash_bytes(batch.subspan(log::batch_layout::batch_length, 4));
    return hash_bytes(batch.subspan(log::batch_layout::magic), length);
}

bool LogNode::split_stored(const io::Bytes& batches, std::vector<StoredBatch>& into) {
    std::span<const std::uint8_t> rest(batches);
    while (!rest.empty()) {
        const auto size = log::PartitionLog::framed_size(rest, SIZE_MAX);
        if (!size || *size == 0 || *size > rest.size()) return false;
        const auto header = log::validate_batch(rest.first(*size), SIZE_MAX);
        if (!header.ok()) return false;
        into.push_back(StoredBatch{header.value().base_offset, header.value().last_offset(),
                                   content_hash(rest.first(*size))});
        rest = rest.subspan(*size);
    }
    return true;
}

void LogNode::step(Instant now, const io::Event& event, io::Outbox& out) {
    if (std::holds_alternative<io::Start>(event)) {
        log_.start(out);
    } else if (const auto* done = std::get_if<io::IoCompleted>(&event)) {
        SAMSA_ASSERT(log_.owns(done->token));
        log_.on_io(*done, out);
    } else if (const auto* timer = std::get_if<io::TimerFired>(&event)) {
        on_timer(now, timer->timer, out);
    }
    after_log_step(now, out);
}

void LogNode::after_log_step(Instant now, io::Outbox& out) {
    for (const auto& result : log_.take_completed()) {
        const auto issued = std::find_if(issued_.begin(), issued_.end(), [&](const StoredBatch& b) {
            return b.base == result.base;
        });
        if (result.error) {
            // This one and every append after it failed (their offsets are reused).
            issued_.erase(issued, issued_.end());
        } else {
            SAMSA_ASSERT(issued != issued_.end());
            acked_.push_back(*issued);
        }
    }
    for (auto& result : log_.take_reads()) {
        if (const auto lookup = std::find_if(time_lookups_.begin(), time_lookups_.end(),
                                             [&](const auto& l) { return l.first == result.id; });
            lookup != time_lookups_.end()) {
            check_time_match(lookup->second, result);
            time_lookups_.erase(lookup);
            continue;
        }
        if (recovery_read_ && result.id == *recovery_read_) {
            recovery_read_.reset();
            const bool ok = !result.error && split_stored(result.batches, reading_back_);
            SAMSA_ASSERT_MSG(ok || result.error, "the log served a batch that fails its CRC");
            if (!ok) reading_back_.clear();  // start the read-back over
            continue_recovery_read(out);
            continue;
        }
        if (result.error) {
            ++read_errors_;
        } else if (!split_stored(result.batches, read_batches_)) {
            SAMSA_UNREACHABLE("the log served a batch that fails its CRC");
        }
    }
    if (log_.state() == log::PartitionLog::State::ready && !started_workload_) {
        started_workload_ = true;
        // Epochs never go back: carry on from the newest the log remembers.
        if (const auto latest = log_.epochs().latest()) epoch_ = std::max(epoch_, latest->epoch);
        continue_recovery_read(out);
        arm(now, kAppendTimer, params_.append_interval_mean, out);
        arm(now, kReadTimer, params_.read_interval_mean, out);
    }
}

void LogNode::continue_recovery_read(io::Outbox& out) {
    if (recovered_ || recovery_read_) return;
    const Offset from = reading_back_.empty() ? log_.log_start() : reading_back_.back().last.next();
    if (from >= log_.readable_end()) {
        recovered_ = std::move(reading_back_);
        issued_ = acked_ = *recovered_;
        return;
    }
    auto id = log_.read(from, params_.read_bytes_max, out);
    if (id.ok()) recovery_read_ = id.value();
}

void LogNode::on_timer(Instant now, TimerId timer, io::Outbox& out) {
    if (log_.state() != log::PartitionLog::State::ready) {
        arm(now, timer, params_.read_interval_mean, out);  // try again later
        return;
    }
    if (timer == kAppendTimer) {
        // Sometimes a burst, so appends meet writes in flight.
        const auto burst = prng_.chance(0.3) ? 1 + prng_.uniform(4) : 1;
        for (std::uint64_t i = 0; recovered_ && i < burst; ++i) append_one(out);
        log_.apply_retention(out);
        arm(now, kAppendTimer, params_.append_interval_mean, out);
    } else if (timer == kReadTimer) {
        if (recovered_) read_one(out);
        arm(now, kReadTimer, params_.read_interval_mean, out);
    }
}

void LogNode::append_one(io::Outbox& out) {
    io::Bytes batch = make_batch();
    const std::uint64_t hash = content_hash(batch);
    if (prng_.chance(0.02)) ++epoch_;
    auto accepted = log_.append(std::move(batch), epoch_, out);
    SAMSA_ASSERT_MSG(accepted.ok() || accepted.error() != log::LogError::stale_epoch,
                     "the log refused the newest epoch");
    if (!accepted.ok()) return;  // backpressure: the workload just skips a beat
    issued_.push_back(StoredBatch{accepted.value().base, accepted.value().last, hash});
}

void LogNode::read_one(io::Outbox& out) {
    const Offset start = log_.log_start();
    const Offset end = log_.readable_end();
    if (end <= start) return;
    if (prng_.chance(0.2)) {
        // Record timestamps are this incarnation's sequence numbers.
        const auto target = static_cast<std::int64_t>(prng_.uniform(sequence_ + 10));
        auto id = log_.find_offset_by_time(target, out);
        if (id.ok()) time_lookups_.emplace_back(id.value(), target);
        return;
    }
    const Offset from = start.plus(static_cast<std::int64_t>(
        prng_.uniform(static_cast<std::uint64_t>(end.distance_from(start)))));
    auto id = log_.read(from, params_.read_bytes_max, out);
    if (!id.ok()) ++read_errors_;
}

// What holds whatever the timestamps of earlier incarnations were: an answer
// names a readable offset with a timestamp at or after the target.
void LogNode::check_time_match(std::int64_t target, const log::ReadResult& result) const {
    if (result.error || !result.time_match) return;
    const auto& match = *result.time_match;
    SAMSA_ASSERT_MSG(match.timestamp_ms >= target, "a time lookup answered an older record");
    SAMSA_ASSERT_MSG(match.offset >= log_.log_start() && match.offset < log_.readable_end(),
                     "a time lookup answered an offset outside the readable log");
}

void LogNode::arm(Instant now, TimerId timer, Duration mean, io::Outbox& out) {
    (void)now;
    const auto wait = Duration::nanoseconds(
        1 + static_cast<std::int64_t>(prng_.exponential(static_cast<double>(mean.count_ns()))));
    out.push(io::SetTimer{timer, wait});
}

}  // namespace samsa::sim

namespace samsa::sim {

io::Bytes LogNode::make_batch() {
    log::BatchBuilder builder;
    const auto count = 1 + prng_.uniform(static_cast<std::uint64_t>(params_.records_per_batch_max));
    std::vector<io::Bytes> values;
    values.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) {
        io::Bytes value(prng_.uniform(static_cast<std::uint64_t>(params_.value_bytes_max) + 1));
        for (auto& byte : value) byte = static_cast<std::uint8_t>(prng_.next_u64());
        values.push_back(std::move(value));
        const io::Bytes key = {static_cast<std::uint8_t>(self_.value()),
                               static_cast<std::uint8_t>(++sequence_)};
        builder.add(log::RecordInput{key, values.back(), {}, static_cast<std::int64_t>(sequence_)});
    }
    return builder.build();
}

}  // namespace samsa::sim

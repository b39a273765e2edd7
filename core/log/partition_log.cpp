#include "core/log/partition_log.h"

#include <algorithm>

#include "core/log/batch.h"

namespace samsa::log {

namespace {

constexpr int kComponentShift = 40;
constexpr std::uint32_t kFileSlots = 1U << 12;

LogError from_batch_error(BatchError error) {
    switch (error) {
        case BatchError::corrupt_message: return LogError::corrupt_message;
        case BatchError::invalid_record: return LogError::invalid_record;
        case BatchError::message_too_large: return LogError::message_too_large;
        case BatchError::unsupported_version: return LogError::unsupported_version;
    }
    return LogError::corrupt_message;
}

LogError from_io(io::IoStatus status) {
    return status == io::IoStatus::no_space ? LogError::no_space : LogError::io_error;
}

}  // namespace

const char* to_string(LogError error) noexcept {
    switch (error) {
        case LogError::corrupt_message: return "corrupt_message";
        case LogError::invalid_record: return "invalid_record";
        case LogError::message_too_large: return "message_too_large";
        case LogError::unsupported_version: return "unsupported_version";
        case LogError::not_ready: return "not_ready";
        case LogError::backpressure: return "backpressure";
        case LogError::io_error: return "io_error";
        case LogError::no_space: return "no_space";
        case LogError::offset_out_of_range: return "offset_out_of_range";
        case LogError::busy: return "busy";
        case LogError::corrupt_log: return "corrupt_log";
    }
    return "?";
}

std::int16_t kafka_error_code(LogError error) noexcept {
    switch (error) {
        case LogError::corrupt_message: return 2;       // CORRUPT_MESSAGE
        case LogError::invalid_record: return 87;       // INVALID_RECORD
        case LogError::message_too_large: return 10;    // MESSAGE_TOO_LARGE
        case LogError::unsupported_version: return 43;  // UNSUPPORTED_FOR_MESSAGE_FORMAT
        case LogError::not_ready: return 5;             // LEADER_NOT_AVAILABLE (retriable)
        case LogError::backpressure: return 7;          // REQUEST_TIMED_OUT (retriable)
        case LogError::io_error: return 56;             // KAFKA_STORAGE_ERROR
        case LogError::no_space: return 56;             // KAFKA_STORAGE_ERROR
        case LogError::offset_out_of_range: return 1;   // OFFSET_OUT_OF_RANGE
        case LogError::busy: return 7;                  // REQUEST_TIMED_OUT (retriable)
        case LogError::corrupt_log: return 56;          // KAFKA_STORAGE_ERROR
    }
    return -1;
}

PartitionLog::PartitionLog(LogConfig config, std::uint32_t component)
    : config_(std::move(config)), component_(component) {
    SAMSA_ASSERT(component_ < (1U << 20));
    SAMSA_ASSERT(config_.segment_bytes_max > 0 && config_.read_bytes_max > 0);
}

IoToken PartitionLog::next_token() noexcept {
    return IoToken((static_cast<std::uint64_t>(component_) << kComponentShift) | ++token_counter_);
}

FileId PartitionLog::next_file() noexcept {
    file_counter_ = (file_counter_ + 1) % kFileSlots;
    return FileId((component_ << 12) | file_counter_);
}

bool PartitionLog::owns(IoToken token) const noexcept {
    return (token.value() >> kComponentShift) == component_;
}

std::string PartitionLog::segment_name(const std::string& prefix, Offset base) {
    SAMSA_ASSERT(base.value() >= 0);
    std::string digits = std::to_string(base.value());
    digits.insert(0, 20 - digits.size(), '0');
    return prefix + digits + ".log";
}

std::optional<Offset> PartitionLog::parse_segment_name(const std::string& prefix,
                                                       const std::string& name) {
    if (name.size() != prefix.size() + 24 || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - 4, 4, ".log") != 0) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    for (std::size_t i = prefix.size(); i < prefix.size() + 20; ++i) {
        if (name[i] < '0' || name[i] > '9') return std::nullopt;
        if (value > (INT64_MAX - 9) / 10) return std::nullopt;
        value = value * 10 + (name[i] - '0');
    }
    return Offset(value);
}

std::optional<std::uint64_t> PartitionLog::framed_size(std::span<const std::uint8_t> bytes,
                                                       std::size_t batch_bytes_max) {
    if (bytes.size() < batch_length_prefix_bytes) return 0;
    std::int32_t length = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        length = static_cast<std::int32_t>((static_cast<std::uint32_t>(length) << 8) |
                                           bytes[batch_layout::batch_length + i]);
    }
    if (length < batch_length_min) return std::nullopt;
    const std::uint64_t size = batch_length_prefix_bytes + static_cast<std::uint64_t>(length);
    if (size > batch_bytes_max) return std::nullopt;
    return size;
}

std::uint64_t PartitionLog::size_bytes() const noexcept {
    std::uint64_t total = 0;
    for (const auto& segment : segments_) total += segment.size;
    return total;
}

PartitionLog::Segment* PartitionLog::segment_at(Offset base) {
    for (auto& segment : segments_) {
        if (segment.base == base) return &segment;
    }
    return nullptr;
}

std::size_t PartitionLog::segment_for(Offset offset) const {
    SAMSA_ASSERT(!segments_.empty());
    std::size_t found = 0;
    for (std::size_t i = 0; i < segments_.size() && segments_[i].base <= offset; ++i) found = i;
    return found;
}

void PartitionLog::on_io(const io::IoCompleted& done, io::Outbox& out) {
    SAMSA_ASSERT(owns(done.token));
    const std::uint64_t token = done.token.value();
    if (auto read = reads_.find(token); read != reads_.end()) {
        PendingRead pending = std::move(read->second);
        reads_.erase(read);
        on_read_io(std::move(pending), done, out);
    } else if (flush_tokens_.erase(token) != 0) {
        on_flush_io(done, out);
    } else if (maintenance_tokens_.erase(token) != 0) {
        on_maintenance_io(done, out);
    } else if (background_tokens_.erase(token) == 0) {
        on_recovery_io(done, out);
    }
}

// ---- Appends ----------------------------------------------------------------

Result<AppendResult, LogError> PartitionLog::append(io::Bytes batch, std::int32_t leader_epoch,
                                                    io::Outbox& out) {
    if (state_ != State::ready) return Failure{LogError::not_ready};
    auto header = validate_batch(batch, config_.batch_bytes_max);
    if (!header.ok()) return Failure{from_batch_error(header.error())};
    if (pending_.size() >= config_.pending_appends_max ||
        pending_bytes_ + batch.size() > config_.pending_bytes_max) {
        return Failure{LogError::backpressure};
    }
    const Offset base = next_offset_;
    set_base_offset(batch, base);
    set_partition_leader_epoch(batch, leader_epoch);
    const Offset last =
        base.plus(header.value().last_offset().distance_from(header.value().base_offset));
    next_offset_ = last.next();
    AppendResult accepted{++append_counter_, base, last, std::nullopt};
    pending_bytes_ += batch.size();
    pending_.push_back(PendingAppend{accepted.id, base, last, std::move(batch)});
    flush(out);
    return accepted;
}

void PartitionLog::flush(io::Outbox& out) {
    if (flush_ || pending_.empty() || state_ != State::ready) return;
    Flush batch_flush;
    const std::uint64_t first_bytes = pending_.front().bytes.size();
    if (segments_.back().size > 0 &&
        segments_.back().size + first_bytes > config_.segment_bytes_max) {
        segments_.push_back(Segment{pending_.front().base, next_file(), 0, {}, true});
        const Segment& fresh = segments_.back();
        const IoToken open = next_token();
        const IoToken sync = next_token();
        out.push(
            io::Open{open, fresh.file, segment_name(config_.file_prefix, fresh.base), true, true});
        out.push(io::SyncDir{sync});
        flush_tokens_.insert({open.value(), sync.value()});
        batch_flush.operations_left += 2;
        batch_flush.rolled = true;
    }
    Segment& segment = segments_.back();
    batch_flush.segment = segment.base;
    batch_flush.position = segment.size;
    io::Bytes data;
    while (!pending_.empty()) {
        PendingAppend& next = pending_.front();
        if (!data.empty() &&
            segment.size + data.size() + next.bytes.size() > config_.segment_bytes_max) {
            break;
        }
        segment.index.push_back({next.base, next.last, segment.size + data.size(),
                                 partition_leader_epoch_of(next.bytes)});
        data.insert(data.end(), next.bytes.begin(), next.bytes.end());
        pending_bytes_ -= next.bytes.size();
        batch_flush.appends.push_back(std::move(next));
        pending_.pop_front();
    }
    segment.size += data.size();
    const IoToken write = next_token();
    out.push(io::Write{write, segment.file, batch_flush.position, std::move(data)});
    flush_tokens_.insert(write.value());
    ++batch_flush.operations_left;
    if (config_.fsync_before_ack) {
        const IoToken sync = next_token();
        out.push(io::Fsync{sync, segment.file});
        flush_tokens_.insert(sync.value());
        ++batch_flush.operations_left;
    }
    flush_ = std::move(batch_flush);
}

void PartitionLog::on_flush_io(const io::IoCompleted& done, io::Outbox& out) {
    SAMSA_ASSERT(flush_.has_value() && flush_->operations_left > 0);
    if (done.status != io::IoStatus::ok && !flush_->error) flush_->error = from_io(done.status);
    if (--flush_->operations_left > 0) return;
    if (flush_->error) {
        fail_flush(out);
    } else {
        finish_flush(out);
    }
}

void PartitionLog::finish_flush(io::Outbox& out) {
    Flush done = std::move(*flush_);
    flush_.reset();
    readable_end_ = done.appends.back().last.next();
    for (auto& append : done.appends) {
        completed_.push_back(AppendResult{append.id, append.base, append.last, std::nullopt});
    }
    flush(out);
}

void PartitionLog::fail_flush(io::Outbox& out) {
    // Everything from this flush on fails: later offsets were given after it.
    Flush failed = std::move(*flush_);
    flush_.reset();
    const LogError error = *failed.error;
    for (auto& append : failed.appends) {
        completed_.push_back(AppendResult{append.id, append.base, append.last, error});
    }
    for (auto& append : pending_) {
        completed_.push_back(AppendResult{append.id, append.base, append.last, error});
    }
    pending_.clear();
    pending_bytes_ = 0;
    next_offset_ = failed.appends.front().base;
    state_ = State::repairing;
    maintenance_ = Maintenance{};
    if (failed.rolled) {
        // The new segment goes away entirely (its creation may not even have happened).
        SAMSA_ASSERT(segments_.back().base == failed.segment);
        remove_segment_files(segments_.size() - 1, out);
        segments_.pop_back();
        issue_removals(out);
        finish_phase(out);
        return;
    }
    Segment* segment = segment_at(failed.segment);
    SAMSA_ASSERT(segment != nullptr && segment == &segments_.back());
    std::erase_if(segment->index,
                  [&](const BatchPosition& batch) { return batch.base >= next_offset_; });
    segment->size = failed.position;
    // Cut the file back to where the flush began, durably, before accepting more.
    maintenance_->cut = true;
    maintenance_->cut_segment = segment->base;
    maintenance_->cut_position = failed.position;
    finish_phase(out);
}

std::vector<AppendResult> PartitionLog::take_completed() {
    return std::exchange(completed_, {});
}

std::vector<ReadResult> PartitionLog::take_reads() {
    return std::exchange(read_results_, {});
}

}  // namespace samsa::log

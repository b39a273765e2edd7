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
        case LogError::stale_epoch: return "stale_epoch";
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
        case LogError::stale_epoch: return 74;          // FENCED_LEADER_EPOCH
    }
    return -1;
}

PartitionLog::PartitionLog(LogConfig config, std::uint32_t component, CacheBudget* cache_budget)
    : config_(std::move(config)),
      component_(component),
      cache_(config_.cache_bytes_max, cache_budget) {
    SAMSA_ASSERT(component_ < (1U << 20));
    SAMSA_ASSERT(config_.segment_bytes_max > 0 && config_.read_bytes_max > 0);
    SAMSA_ASSERT(config_.flushes_in_flight_max > 0);
}

IoToken PartitionLog::next_token() noexcept {
    return IoToken((static_cast<std::uint64_t>(component_) << kComponentShift) | ++token_counter_);
}

// FileIds come from 4096 slots per log and are reused; one still open (a
// segment, a checkpoint) is skipped. Segments are far fewer than the slots.
FileId PartitionLog::next_file() noexcept {
    SAMSA_ASSERT(segments_.size() + epoch_files_.size() < kFileSlots);
    while (true) {
        file_counter_ = (file_counter_ + 1) % kFileSlots;
        const FileId candidate((component_ << 12) | file_counter_);
        const bool open =
            std::any_of(segments_.begin(), segments_.end(),
                        [&](const Segment& s) { return s.file == candidate; }) ||
            std::find(epoch_files_.begin(), epoch_files_.end(), candidate) != epoch_files_.end();
        if (!open) return candidate;
    }
}

io::Open PartitionLog::open_segment(IoToken token, const Segment& segment, bool create,
                                    bool exclusive) const {
    io::Open open{token, segment.file, segment_name(config_.file_prefix, segment.base), create,
                  exclusive};
    open.direct = config_.direct_io;
    if (create && config_.preallocate) open.reserve_bytes = config_.segment_bytes_max;
    return open;
}

std::uint32_t PartitionLog::component_of(IoToken token) noexcept {
    return static_cast<std::uint32_t>(token.value() >> kComponentShift);
}

bool PartitionLog::owns(IoToken token) const noexcept {
    return component_of(token) == component_;
}

std::string PartitionLog::segment_name(const std::string& prefix, Offset base) {
    SAMSA_ASSERT(base.value() >= 0);
    std::string digits = std::to_string(base.value());
    digits.insert(0, 20 - digits.size(), '0');
    return prefix + digits + ".log";
}

std::string PartitionLog::index_name(const std::string& prefix, Offset base) {
    std::string name = segment_name(prefix, base);
    return name.replace(name.size() - 4, 4, ".index");
}

std::size_t PartitionLog::indexed_segment_count() const noexcept {
    return static_cast<std::size_t>(std::count_if(
        segments_.begin(), segments_.end(), [](const Segment& s) { return s.sparse_complete; }));
}

std::string PartitionLog::spare_name(const std::string& prefix, Offset bound) {
    std::string name = segment_name(prefix, bound);
    return name.replace(name.size() - 4, 4, ".spare");
}

namespace {

// The 20-digit offset of "<prefix><digits><suffix>".
std::optional<Offset> parse_offset_name(const std::string& prefix, const std::string& name,
                                        std::string_view suffix) {
    if (name.size() != prefix.size() + 20 + suffix.size() ||
        name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
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

}  // namespace

std::optional<Offset> PartitionLog::parse_segment_name(const std::string& prefix,
                                                       const std::string& name) {
    return parse_offset_name(prefix, name, ".log");
}

std::optional<Offset> PartitionLog::parse_spare_name(const std::string& prefix,
                                                     const std::string& name) {
    return parse_offset_name(prefix, name, ".spare");
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
    } else if (const auto load = index_loads_.find(token); load != index_loads_.end()) {
        const IndexLoad which = load->second;
        index_loads_.erase(load);
        on_index_load(which, done, out);
    } else if (tail_load_ && *tail_load_ == done.token) {
        on_tail_page(done, out);
    } else if (const auto flush = flush_tokens_.find(token); flush != flush_tokens_.end()) {
        const std::uint64_t sequence = flush->second;
        flush_tokens_.erase(flush);
        on_flush_io(sequence, done, out);
    } else if (maintenance_tokens_.erase(token) != 0) {
        on_maintenance_io(done, out);
    } else if (trim_tokens_.erase(token) != 0) {
        on_trim_io(done, out);
    } else if (spare_renames_.contains(token)) {
        on_spare_renamed(done, out);
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
    return append_checked(std::move(batch), header.value(), leader_epoch, out);
}

Result<AppendResult, LogError> PartitionLog::append(ValidBatch batch, std::int32_t leader_epoch,
                                                    io::Outbox& out) {
    if (state_ != State::ready) return Failure{LogError::not_ready};
    if (batch.bytes().size() > config_.batch_bytes_max) {
        return Failure{from_batch_error(BatchError::message_too_large)};
    }
    const BatchHeader header = batch.header();
    return append_checked(std::move(batch).release(), header, leader_epoch, out);
}

Result<AppendResult, LogError> PartitionLog::append_checked(io::Bytes batch,
                                                            const BatchHeader& header,
                                                            std::int32_t leader_epoch,
                                                            io::Outbox& out) {
    if (pending_.size() >= config_.pending_appends_max ||
        pending_bytes_ + batch.size() > config_.pending_bytes_max) {
        return Failure{LogError::backpressure};
    }
    const Offset base = next_offset_;
    if (leader_epoch >= 0) {
        const auto latest = epochs_.latest();
        if (latest && leader_epoch < latest->epoch) return Failure{LogError::stale_epoch};
        if (!latest || leader_epoch > latest->epoch) {
            SAMSA_ASSERT(epochs_.assign(leader_epoch, base).ok());
            epochs_dirty_ = true;  // durable with the flush that carries this batch
        }
    }
    set_base_offset(batch, base);
    set_partition_leader_epoch(batch, leader_epoch);
    const Offset last = base.plus(header.last_offset().distance_from(header.base_offset));
    next_offset_ = last.next();
    AppendResult accepted{++append_counter_, base, last, std::nullopt};
    pending_bytes_ += batch.size();
    pending_.push_back(PendingAppend{accepted.id, base, last, std::move(batch)});
    flush(out);
    return accepted;
}

// Up to flushes_in_flight_max writes are outstanding, so the next one is
// prepared while the disk works on the last, and a backlog larger than
// flush_bytes_max goes out as several writes queued back to back (the disk
// never waits for the log to hand it the next). Another write goes out with
// enough data to be worth a write of its own, or once the last write is done
// and only its fsync runs: then the write overtakes it (may_pass_fsync) and
// group commit overlaps one round's write with the last round's fsync. A
// roll waits until nothing is in flight (so a segment is sealed with
// everything in it durable).
void PartitionLog::flush(io::Outbox& out) {
    if (flushes_held_ || !trim_tokens_.empty()) return;
    while (!tail_load_ && !pending_.empty() && state_ == State::ready) {
        if (!flushes_.empty() &&
            (flushes_.size() >= config_.flushes_in_flight_max || needs_roll() ||
             (pending_bytes_ < config_.flush_bytes_min && !flushes_.back().written))) {
            return;
        }
        if (tail_page_missing()) return load_tail_page(out);
        if (needs_roll() && tail_has_stale_bytes()) return trim_recycled_tail(out);
        issue_flush(out);
    }
}

void PartitionLog::track(Flush& batch_flush, IoToken token) {
    flush_tokens_.emplace(token.value(), batch_flush.sequence);
    ++batch_flush.operations_left;
}

void PartitionLog::issue_flush(io::Outbox& out) {
    Flush batch_flush;
    batch_flush.sequence = ++flush_counter_;
    if (needs_roll()) roll(batch_flush, out);
    Segment& segment = segments_.back();
    batch_flush.segment = segment.base;
    batch_flush.position = segment.size;
    batch_flush.tail_before = tail_page_;
    // Direct I/O writes whole pages: the write starts with the partial last
    // page (rewritten with the same bytes) and ends padded with zeros.
    const bool direct = config_.direct_io;
    const std::uint64_t write_at = direct ? io::align_down(segment.size) : segment.size;
    SAMSA_ASSERT(!direct || tail_page_.size() == segment.size - write_at);
    io::Bytes data;
    std::uint64_t carry = std::min(pending_bytes_, config_.segment_bytes_max);
    if (config_.flush_bytes_max > 0) {
        carry = std::min(
            carry, std::max<std::uint64_t>(config_.flush_bytes_max, pending_.front().bytes.size()));
    }
    data.reserve(tail_page_.size() + carry + io::direct_alignment);
    if (direct) data = tail_page_;
    std::uint64_t end = segment.size;
    while (!pending_.empty()) {
        PendingAppend& next = pending_.front();
        if (end > segment.size &&
            (end + next.bytes.size() > config_.segment_bytes_max ||
             (config_.flush_bytes_max > 0 &&
              end - segment.size + next.bytes.size() > config_.flush_bytes_max))) {
            break;
        }
        note_batch(segment, parse_header(next.bytes).value(), end,
                   partition_leader_epoch_of(next.bytes));
        io::append(data, next.bytes);
        end += next.bytes.size();
        pending_bytes_ -= next.bytes.size();
        batch_flush.appends.push_back(std::move(next));
        pending_.pop_front();
    }
    segment.size = end;
    segment.trimmed = false;
    if (direct) {
        tail_page_.assign(data.begin() + static_cast<long>(io::align_down(end) - write_at),
                          data.end());
        data.resize(io::align_up(data.size()), 0);
    }
    const IoToken write = next_token();
    // With an fsync per flush, the write may overtake the last flush's fsync:
    // nothing counts on it being durable before its own fsync completes.
    out.push(io::Write{write, segment.file, write_at, std::move(data), config_.fsync_before_ack});
    track(batch_flush, write);
    batch_flush.write = write;
    if (epochs_dirty_) persist_epochs(batch_flush, out);
    if (config_.fsync_before_ack) {
        const IoToken sync = next_token();
        out.push(io::Fsync{sync, segment.file});
        track(batch_flush, sync);
    }
    flushes_.push_back(std::move(batch_flush));
}

bool PartitionLog::needs_roll() const {
    const Segment& last = segments_.back();
    if (last.size == 0 || pending_.empty()) return false;
    if (last.size + pending_.front().bytes.size() > config_.segment_bytes_max) return true;
    // By age, as Kafka: the new batch's timestamp against the segment's first.
    const auto& times = last.sparse.time_entries();
    return config_.segment_ms > 0 && !times.empty() &&
           parse_header(pending_.front().bytes).value().max_timestamp - times.front().timestamp_ms >
               config_.segment_ms;
}

void PartitionLog::roll(Flush& batch_flush, io::Outbox& out) {
    SAMSA_ASSERT(flushes_.empty());
    Segment& last = segments_.back();
    SAMSA_ASSERT(last.indexed && last.sparse_complete);
    write_index_file(last, out);
    if (config_.direct_io && last.size % io::direct_alignment != 0 && !last.trimmed) {
        // Trim the sealed segment's page padding (reads also tolerate it).
        const IoToken trim = next_token();
        const IoToken sync = next_token();
        out.push(io::Truncate{trim, last.file, last.size});
        out.push(io::Fsync{sync, last.file});
        track(batch_flush, trim);
        track(batch_flush, sync);
    }
    const Offset base = pending_.front().base;
    segments_.emplace_back(base, next_file(), true, config_.index_interval_bytes);
    bool recycled = false;
    if (!spares_.empty() && spares_.front() <= base) {
        // Reuse a spare: its new name is durable before anything is written
        // into it (namespace operations, the Open among them, run in order),
        // so a crash never leaves a spare holding offsets at or above its
        // bound. Its old batches are all below this segment's base, which
        // tells them apart from this segment's own at recovery. A name taken
        // already fails the Rename, and with it this flush.
        const IoToken rename = next_token();
        const IoToken named = next_token();
        out.push(io::Rename{rename, spare_name(config_.file_prefix, spares_.front()),
                            segment_name(config_.file_prefix, base)});
        out.push(io::SyncDir{named});
        track(batch_flush, rename);
        track(batch_flush, named);
        spares_.erase(spares_.begin());
        ++segments_recycled_;
        recycled = true;
    }
    const IoToken open = next_token();
    out.push(open_segment(open, segments_.back(), true, !recycled));
    track(batch_flush, open);
    if (recycled) {
        batch_flush.recycling = open;  // its completion gives the spare's size
    } else {
        const IoToken sync = next_token();
        out.push(io::SyncDir{sync});
        track(batch_flush, sync);
    }
    batch_flush.rolled = true;
    tail_page_.clear();
    tail_page_known_ = true;
}

void PartitionLog::trim_recycled_tail(io::Outbox& out) {
    SAMSA_ASSERT(flushes_.empty() && trim_tokens_.empty());
    const Segment& tail = segments_.back();
    const IoToken cut = next_token();
    const IoToken sync = next_token();
    out.push(io::Truncate{cut, tail.file, tail.size});
    out.push(io::Fsync{sync, tail.file});
    trim_tokens_ = {cut.value(), sync.value()};
}

bool PartitionLog::tail_has_stale_bytes() const {
    const Segment& tail = segments_.back();
    const std::uint64_t own = config_.direct_io ? io::align_up(tail.size) : tail.size;
    return tail.spare_bytes > own;
}

void PartitionLog::on_trim_io(const io::IoCompleted& done, io::Outbox& out) {
    if (done.status != io::IoStatus::ok && !trim_error_) trim_error_ = from_io(done.status);
    if (!trim_tokens_.empty()) return;
    if (const auto error = std::exchange(trim_error_, std::nullopt)) {
        // Nothing was written: the waiting appends fail and give their offsets
        // back; the next append tries the trim again.
        if (!pending_.empty()) fail_pending(*error, pending_.front().base);
        return;
    }
    segments_.back().spare_bytes = 0;
    segments_.back().trimmed = true;
    flush(out);
}

bool PartitionLog::tail_page_missing() const {
    return config_.direct_io && !tail_page_known_;
}

void PartitionLog::load_tail_page(io::Outbox& out) {
    const Segment& tail = segments_.back();
    SAMSA_ASSERT(tail.indexed);
    const std::uint64_t page_start = io::align_down(tail.size);
    if (page_start == tail.size) {
        tail_page_.clear();
        tail_page_known_ = true;
        return flush(out);
    }
    // From the batch that reaches into the page, so the bytes can be checked.
    std::uint64_t from = 0;
    for (const auto& batch : tail.index) {
        if (batch.position > page_start) break;
        from = batch.position;
    }
    tail_load_ = next_token();
    out.push(io::Read{*tail_load_, tail.file, from, static_cast<std::uint32_t>(tail.size - from)});
}

void PartitionLog::on_tail_page(const io::IoCompleted& done, io::Outbox& out) {
    tail_load_.reset();
    const Segment& tail = segments_.back();
    const std::uint64_t page_start = io::align_down(tail.size);
    const std::uint64_t from = tail.size - done.data.size();
    bool valid = done.status == io::IoStatus::ok && done.data.size() >= tail.size - page_start;
    for (std::uint64_t at = 0; valid && at < done.data.size();) {
        const std::span<const std::uint8_t> rest(done.data.data() + at, done.data.size() - at);
        const auto size = framed_size(rest, config_.batch_bytes_max);
        const auto* known = indexed_at(tail, from + at);
        valid = size && *size != 0 && *size <= rest.size() && known != nullptr &&
                validate_batch(rest.first(*size), SIZE_MAX).ok() &&
                parse_header(rest.first(*size)).value().base_offset == known->base;
        at += valid ? *size : 0;
    }
    if (!valid) {
        if (++tail_load_rereads_ > config_.reread_max) {
            state_ = State::needs_repair;  // the stored tail fails its CRC
            return;
        }
        return load_tail_page(out);
    }
    tail_load_rereads_ = 0;
    tail_page_.assign(done.data.end() - static_cast<long>(tail.size - page_start), done.data.end());
    tail_page_known_ = true;
    flush(out);
}

void PartitionLog::on_flush_io(std::uint64_t sequence, const io::IoCompleted& done,
                               io::Outbox& out) {
    const auto found = std::find_if(flushes_.begin(), flushes_.end(),
                                    [&](const Flush& f) { return f.sequence == sequence; });
    SAMSA_ASSERT(found != flushes_.end() && found->operations_left > 0);
    if (done.status != io::IoStatus::ok && !found->error) found->error = from_io(done.status);
    if (done.token == found->write && done.status == io::IoStatus::ok) found->written = true;
    if (done.token == found->recycling && done.status == io::IoStatus::ok) {
        if (Segment* segment = segment_at(found->segment)) segment->spare_bytes = done.size;
    }
    --found->operations_left;
    // Flushes complete in order. A failure waits until nothing of any flush
    // is outstanding (a later write must not land after the cut), then fails
    // the failed flush and everything after it.
    while (!flushes_.empty() && flushes_.front().operations_left == 0 && !flushes_.front().error) {
        finish_flush(out);
    }
    const bool quiet = std::all_of(flushes_.begin(), flushes_.end(),
                                   [](const Flush& f) { return f.operations_left == 0; });
    if (!flushes_.empty() && quiet) return fail_flush(out);
    flush(out);
}

void PartitionLog::finish_flush(io::Outbox&) {
    Flush done = std::move(flushes_.front());
    flushes_.pop_front();
    readable_end_ = done.appends.back().last.next();
    for (auto& append : done.appends) {
        completed_.push_back(AppendResult{append.id, append.base, append.last, std::nullopt});
        if (config_.cache_bytes_max > 0) {
            cache_.add(append.base, append.last, std::move(append.bytes));
        }
    }
}

void PartitionLog::fail_pending(LogError error, Offset from) {
    for (auto& append : pending_) {
        completed_.push_back(AppendResult{append.id, append.base, append.last, error});
    }
    pending_.clear();
    pending_bytes_ = 0;
    next_offset_ = from;
    epochs_.truncate_from_end(next_offset_);
    epochs_dirty_ = true;
}

void PartitionLog::fail_flush(io::Outbox& out) {
    // Everything from the first failed flush on fails: later offsets were
    // given after it. Rolls happen with nothing in flight, so only the first
    // can have created a segment; the others wrote to the same one.
    Flush failed = std::move(flushes_.front());
    flushes_.pop_front();
    const LogError error = *failed.error;
    for (auto& append : failed.appends) {
        completed_.push_back(AppendResult{append.id, append.base, append.last, error});
    }
    for (auto& later : flushes_) {
        SAMSA_ASSERT(!later.rolled);
        for (auto& append : later.appends) {
            completed_.push_back(AppendResult{append.id, append.base, append.last, error});
        }
    }
    flushes_.clear();
    fail_pending(error, failed.appends.front().base);
    state_ = State::repairing;
    maintenance_ = Maintenance{};
    if (failed.rolled) {
        // The new segment goes away entirely (its creation may not even have happened).
        SAMSA_ASSERT(segments_.back().base == failed.segment);
        remove_segment_files(segments_.size() - 1, out);
        segments_.pop_back();
        tail_page_known_ = false;  // the trim of the segment before may or may not have run
        issue_removals(out);
        finish_phase(out);
        return;
    }
    Segment* segment = segment_at(failed.segment);
    SAMSA_ASSERT(segment != nullptr && segment == &segments_.back());
    std::erase_if(segment->index,
                  [&](const BatchPosition& batch) { return batch.base >= next_offset_; });
    segment->sparse.truncate_to(next_offset_, failed.position);
    segment->size = failed.position;
    segment->spare_bytes = 0;  // the cut ends the file there
    tail_page_ = std::move(failed.tail_before);
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

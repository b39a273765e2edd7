// PartitionLog: reads, truncation, retention and their maintenance I/O.
#include <algorithm>

#include "core/log/batch.h"
#include "core/log/partition_log.h"

namespace samsa::log {

// ---- Reads ------------------------------------------------------------------

Result<std::uint64_t, LogError> PartitionLog::read(Offset from, std::uint32_t max_bytes,
                                                   io::Outbox& out) {
    if (state_ == State::needs_repair) return Failure{LogError::corrupt_log};
    if (state_ == State::recovering) return Failure{LogError::not_ready};
    if (from < log_start_ || from > readable_end_) return Failure{LogError::offset_out_of_range};
    const std::uint64_t id = ++read_counter_;
    if (from == readable_end_) {
        read_results_.push_back(ReadResult{id, std::nullopt, {}, {}});
        return id;
    }
    if (auto cached = cache_.read(from, max_bytes, readable_end_)) {
        read_results_.push_back(ReadResult{id, std::nullopt, std::move(*cached), {}});
        return id;
    }
    const Segment& segment = segments_[segment_for(from)];
    // The index covers a segment's batches from its start, all of them once
    // `indexed`; past its end, a read scans on (and extends it).
    std::uint64_t position = 0;
    if (!segment.index.empty()) {
        const auto found = std::find_if(segment.index.begin(), segment.index.end(),
                                        [&](const BatchPosition& b) { return b.last >= from; });
        SAMSA_ASSERT(found != segment.index.end() || !segment.indexed);
        position = found != segment.index.end() ? found->position : segment.index.back().position;
    }
    // Past what reads have indexed, a sealed segment's sparse index gets close.
    if (segment.sparse_complete && !segment.indexed &&
        (segment.index.empty() || segment.index.back().last < from)) {
        position = std::max(position, segment.sparse.lookup_position(from));
    }
    issue_read(
        PendingRead{id, from, max_bytes, segment.base, position, config_.read_bytes_max, 0, {}, {}},
        out);
    return id;
}

void PartitionLog::issue_read(PendingRead read, io::Outbox& out) {
    const Segment* segment = segment_at(read.segment);
    SAMSA_ASSERT(segment != nullptr);
    const IoToken token = next_token();
    out.push(io::Read{token, segment->file, read.position, read.length});
    reads_.emplace(token.value(), std::move(read));
}

void PartitionLog::on_read_io(PendingRead read, const io::IoCompleted& done, io::Outbox& out) {
    const auto finish = [&](ReadResult result) {
        if (read.kind == ReadKind::rebuild_index) {
            on_rebuilt(read, !result.error.has_value(), out);
        } else {
            read_results_.push_back(std::move(result));
        }
    };
    if (segment_at(read.segment) == nullptr) {  // truncated or retained away meanwhile
        return finish(ReadResult{read.id, LogError::offset_out_of_range, {}, {}});
    }
    if (done.status != io::IoStatus::ok) {
        return finish(ReadResult{read.id, LogError::io_error, {}, {}});
    }
    ReadResult result{read.id, std::nullopt, {}, {}};
    bool more = false;
    if (!collect_batches(read, done.data, result, more)) {
        if (++read.rereads > config_.reread_max) {
            state_ = State::needs_repair;  // stored data fails its CRC: never serve it
            return finish(ReadResult{read.id, LogError::corrupt_log, {}, {}});
        }
        issue_read(std::move(read), out);  // the bytes may have flipped on the way
        return;
    }
    if (!more) return finish(std::move(result));
    read.rereads = 0;
    issue_read(std::move(read), out);
}

const PartitionLog::BatchPosition* PartitionLog::indexed_at(const Segment& segment,
                                                            std::uint64_t position) const {
    const auto found = std::lower_bound(
        segment.index.begin(), segment.index.end(), position,
        [](const BatchPosition& batch, std::uint64_t at) { return batch.position < at; });
    return found != segment.index.end() && found->position == position ? &*found : nullptr;
}

std::optional<Offset> PartitionLog::expected_base(const Segment& segment,
                                                  std::uint64_t position) const {
    if (position == 0) return segment.base;
    if (const auto* known = indexed_at(segment, position)) return known->base;
    const auto& entries = segment.sparse.offset_entries();
    const auto entry = std::lower_bound(
        entries.begin(), entries.end(), position,
        [](const SegmentIndex::OffsetEntry& e, std::uint64_t at) { return e.position < at; });
    if (entry != entries.end() && entry->position == position) {
        return segment.base.plus(entry->offset_delta);
    }
    return std::nullopt;
}

std::uint64_t PartitionLog::readable_bytes(const Segment& segment) const {
    // In the active segment, bytes of appends still in flight are not readable.
    for (const auto& batch : segment.index) {
        if (batch.base >= readable_end_) return batch.position;
    }
    return segment.size;
}

bool PartitionLog::collect_batches(PendingRead& read, const io::Bytes& data, ReadResult& result,
                                   bool& more) {
    Segment* segment = segment_at(read.segment);
    const std::uint64_t limit = readable_bytes(*segment);
    io::Bytes batches = std::move(read.collected);
    read.collected.clear();
    // On a failure the batches of earlier reads stay with the read, which is
    // retried from the same position; this read's own are dropped.
    // baseOffset is outside the CRC: check it against the index, or against
    // the batch before it, so a flipped offset is caught like a bad CRC.
    std::optional<Offset> expected =
        read.expected ? read.expected : expected_base(*segment, read.position);
    const std::optional<Offset> expected_at_start = expected;
    const std::size_t earlier = batches.size();
    auto fail = [&] {
        batches.resize(earlier);
        read.collected = std::move(batches);
        read.expected = expected_at_start;
        return false;
    };
    std::uint64_t at = 0;
    more = false;
    const auto continue_at = [&](std::uint64_t position, std::uint64_t length) {
        read.length = static_cast<std::uint32_t>(length);
        read.position = position;
        read.expected = expected;
        more = true;
    };
    while (read.position + at < limit) {
        const std::uint64_t position = read.position + at;
        const std::span<const std::uint8_t> rest(data.data() + at, data.size() - at);
        if (is_padding(*segment, position, rest)) {
            if (read.position + data.size() >= segment->size) {
                segment->size = position;
            } else {  // zeros so far: read the rest of the page to be sure
                continue_at(position, segment->size - position);
            }
            break;
        }
        const auto size = framed_size(rest, config_.batch_bytes_max);
        if (!size) return fail();  // an impossible length inside written data
        if (*size == 0 || *size > rest.size()) {
            if (data.size() < read.length) return fail();  // the file ends inside written data
            // Cut off by the read's length: continue here, large enough for it.
            continue_at(position, std::max<std::uint64_t>(config_.read_bytes_max, *size));
            break;
        }
        const auto checked = checked_batch(*segment, position, rest.first(*size), expected);
        if (!checked) return fail();
        const BatchHeader& batch = *checked;
        expected = batch.last_offset().next();
        const std::span<const std::uint8_t> bytes = rest.first(*size);
        note_batch(*segment, batch, position, trusted_epoch(batch.base_offset));
        at += batch.size_bytes();
        if (deliver(read, batch, bytes, batches, result)) break;
    }
    if (!more) mark_indexed_if_complete(*segment);
    if (!more && batches.empty() && !result.time_match && read.kind != ReadKind::rebuild_index) {
        more = move_to_next_segment(read, *segment);
    }
    if (more) {
        read.collected = std::move(batches);
    } else {
        result.batches = std::move(batches);
    }
    return true;
}

// Hands a read its next batch; true when the read has what it wanted.
bool PartitionLog::deliver(const PendingRead& read, const BatchHeader& batch,
                           std::span<const std::uint8_t> bytes, io::Bytes& batches,
                           ReadResult& result) {
    if (batch.last_offset() < read.from || read.kind == ReadKind::rebuild_index) return false;
    if (read.kind == ReadKind::find_time) {
        result.time_match = time_match_in(bytes, batch, read.timestamp_ms);
        return result.time_match.has_value();
    }
    // A batch that would take the read past max_bytes ends it, unless it is
    // the first: a reader always gets at least one batch, even a larger one
    // (as Kafka answers a fetch).
    if (!batches.empty() && batches.size() + bytes.size() > read.max_bytes) return true;
    io::append(batches, bytes);
    return batches.size() >= read.max_bytes;
}

// The batch at `position`, if it passes every check a stored batch must:
// its CRC and layout, and the fields outside the CRC (baseOffset against the
// one expected, partitionLeaderEpoch against what the log recorded).
std::optional<BatchHeader> PartitionLog::checked_batch(const Segment& segment,
                                                       std::uint64_t position,
                                                       std::span<const std::uint8_t> bytes,
                                                       std::optional<Offset> expected) const {
    auto header = validate_batch(bytes, SIZE_MAX);
    if (!header.ok()) return std::nullopt;
    const BatchHeader& batch = header.value();
    if (expected && batch.base_offset != *expected) return std::nullopt;
    if (const auto* known = indexed_at(segment, position);
        known != nullptr && known->epoch != kEpochUnknown &&
        known->epoch != batch.partition_leader_epoch) {
        return std::nullopt;
    }
    if (!epoch_agrees(batch)) return std::nullopt;
    return batch;
}

void PartitionLog::mark_indexed_if_complete(Segment& segment) {
    const bool dense = segment.size == 0 ||
                       (!segment.index.empty() &&
                        segment.index.back().position + segment.index.back().size >= segment.size);
    if (!dense) return;
    segment.indexed = true;
    if (segment.sparse.size_bytes() == segment.size) segment.sparse_complete = true;
}

bool PartitionLog::is_padding(const Segment& segment, std::uint64_t position,
                              std::span<const std::uint8_t> rest) const {
    return &segment != &segments_.back() && !rest.empty() &&
           segment.size - position < io::direct_alignment &&
           std::all_of(rest.begin(), rest.end(), [](std::uint8_t b) { return b == 0; });
}

bool PartitionLog::move_to_next_segment(PendingRead& read, const Segment& segment) const {
    // Nothing at or after `from` in this segment: go on with the next one.
    if (&segment == &segments_.back()) return false;
    read.segment = segments_[segment_for(segment.base) + 1].base;
    read.position = 0;
    read.length = config_.read_bytes_max;
    read.expected.reset();
    return true;
}

// ---- Truncation and retention -----------------------------------------------

Status<LogError> PartitionLog::truncate_to(Offset offset, io::Outbox& out) {
    if (state_ != State::ready) return Failure{LogError::not_ready};
    if (!flushes_.empty() || !pending_.empty()) return Failure{LogError::busy};
    if (offset < log_start_ || offset > next_offset_) return Failure{LogError::offset_out_of_range};
    if (offset == next_offset_) return {};
    const std::size_t index = segment_for(offset);
    Segment& segment = segments_[index];
    if (!segment.indexed) return Failure{LogError::busy};  // a read must index it first
    const auto at = std::find_if(segment.index.begin(), segment.index.end(),
                                 [&](const BatchPosition& b) { return b.base >= offset; });
    if (at == segment.index.end() || at->base != offset) {
        return Failure{LogError::offset_out_of_range};  // not a batch boundary
    }
    state_ = State::repairing;
    maintenance_ = Maintenance{};
    maintenance_->cut = true;
    maintenance_->cut_segment = segment.base;
    maintenance_->cut_position = at->position;
    segment.size = at->position;
    segment.spare_bytes = 0;  // the cut ends the file there
    segment.sparse.truncate_to(offset, at->position);
    segment.sparse_complete = true;
    segment.index.erase(at, segment.index.end());
    cache_.truncate(offset);
    epochs_.truncate_from_end(offset);
    epochs_dirty_ = true;
    if (index + 1 < segments_.size()) remove_index_file(segment.base, out);  // now the tail
    tail_page_known_ = false;
    next_offset_ = offset;
    readable_end_ = std::min(readable_end_, offset);
    // Later segments go first, so a crash at any point leaves a prefix of the log.
    for (std::size_t later = segments_.size() - 1; later > index; --later) {
        remove_segment_files(later, out);
    }
    segments_.erase(segments_.begin() + static_cast<long>(index) + 1, segments_.end());
    issue_removals(out);
    finish_phase(out);
    return {};
}

void PartitionLog::remove_segment_files(std::size_t index, io::Outbox& out) {
    const Segment& segment = segments_[index];
    remove_index_file(segment.base, out);
    out.push(io::Close{segment.file});
    maintenance_->removals.push_back(segment_name(config_.file_prefix, segment.base));
}

void PartitionLog::issue_removals(io::Outbox& out) {
    Maintenance& work = *maintenance_;
    for (const auto& name : work.removals) {
        const IoToken remove = next_token();
        out.push(io::Remove{remove, name});
        maintenance_tokens_.insert(remove.value());
        ++work.operations_left;
    }
}

void PartitionLog::issue_sync_and_cut(io::Outbox& out) {
    Maintenance& work = *maintenance_;
    const IoToken sync_dir = next_token();
    out.push(io::SyncDir{sync_dir});
    maintenance_tokens_.insert(sync_dir.value());
    work.operations_left = 1;
    if (!work.cut) return;
    const Segment* segment = segment_at(work.cut_segment);
    SAMSA_ASSERT(segment != nullptr);
    const IoToken cut = next_token();
    const IoToken sync = next_token();
    out.push(io::Truncate{cut, segment->file, work.cut_position});
    out.push(io::Fsync{sync, segment->file});
    maintenance_tokens_.insert({cut.value(), sync.value()});
    work.operations_left += 2;
}

// Phase 1 removes files; phase 2 makes that durable (SyncDir) and cuts the
// remaining tail. A failed phase is retried as a whole.
void PartitionLog::finish_phase(io::Outbox& out) {
    Maintenance& work = *maintenance_;
    if (work.operations_left > 0) return;
    if (work.failed) {
        work.failed = false;
        if (work.removing) {
            issue_removals(out);
        } else {
            issue_sync_and_cut(out);
        }
        return;
    }
    if (work.removing) {
        work.removing = false;
        issue_sync_and_cut(out);
        return;
    }
    maintenance_.reset();
    state_ = State::ready;
    flush(out);
}

void PartitionLog::on_maintenance_io(const io::IoCompleted& done, io::Outbox& out) {
    SAMSA_ASSERT(maintenance_.has_value() && maintenance_->operations_left > 0);
    // A removal of a file that is already gone has done its job.
    if (done.status != io::IoStatus::ok && done.status != io::IoStatus::not_found) {
        maintenance_->failed = true;
    }
    --maintenance_->operations_left;
    finish_phase(out);
}

void PartitionLog::apply_retention(io::Outbox& out, std::optional<std::int64_t> now_ms) {
    std::uint64_t total = size_bytes();
    drop_oldest_segments(out, [&](const Segment& oldest, const Segment&) {
        const bool over_size =
            config_.retention_bytes_max > 0 && total - oldest.size >= config_.retention_bytes_max;
        // By age, as Kafka: the segment's newest record is older than
        // retention_ms. A segment whose index is not known yet stays.
        const auto newest = oldest.sparse.max_timestamp();
        const bool expired = now_ms && config_.retention_ms > 0 && oldest.sparse_complete &&
                             newest && *now_ms - newest->timestamp_ms > config_.retention_ms;
        if (!over_size && !expired) return false;
        total -= oldest.size;
        return true;
    });
}

void PartitionLog::delete_segments_before(Offset offset, io::Outbox& out) {
    // The oldest segment goes when the next one starts at or before `offset`.
    drop_oldest_segments(out,
                         [&](const Segment&, const Segment& next) { return next.base <= offset; });
}

void PartitionLog::retire_segment_file(const Segment& oldest, Offset bound, io::Outbox& out) {
    const std::string name = segment_name(config_.file_prefix, oldest.base);
    if (spares_.size() + spare_renames_.size() < config_.spare_segments_max) {
        const IoToken rename = next_token();
        out.push(io::Rename{rename, name, spare_name(config_.file_prefix, bound)});
        spare_renames_.emplace(rename.value(), SpareRename{oldest.base, bound});
        return;
    }
    const IoToken remove = next_token();
    out.push(io::Remove{remove, name});
    background_tokens_.insert(remove.value());
}

void PartitionLog::on_spare_renamed(const io::IoCompleted& done, io::Outbox& out) {
    const auto found = spare_renames_.find(done.token.value());
    SAMSA_ASSERT(found != spare_renames_.end());
    const SpareRename renamed = found->second;
    spare_renames_.erase(found);
    if (done.status == io::IoStatus::ok) {
        spares_.insert(std::upper_bound(spares_.begin(), spares_.end(), renamed.bound),
                       renamed.bound);
        return;
    }
    // Not kept: removed instead (the drop's SyncDir may have run already).
    const IoToken remove = next_token();
    const IoToken sync = next_token();
    out.push(io::Remove{remove, segment_name(config_.file_prefix, renamed.segment)});
    out.push(io::SyncDir{sync});
    background_tokens_.insert({remove.value(), sync.value()});
}

template <class Drop>
void PartitionLog::drop_oldest_segments(io::Outbox& out, Drop&& drop) {
    if (state_ != State::ready) return;
    bool removed = false;
    // A segment a flush in flight just created may yet be dropped (if the
    // flush fails): the one before it must stay.
    const bool rolling =
        std::any_of(flushes_.begin(), flushes_.end(), [](const Flush& f) { return f.rolled; });
    const std::size_t keep = rolling ? 2 : 1;
    while (segments_.size() > keep) {
        const Segment& oldest = segments_.front();
        if (!drop(oldest, segments_[1])) break;
        remove_index_file(oldest.base, out);
        out.push(io::Close{oldest.file});
        retire_segment_file(oldest, segments_[1].base, out);
        segments_.erase(segments_.begin());
        removed = true;
    }
    if (!removed) return;
    log_start_ = segments_.front().base;
    epochs_.truncate_from_start(log_start_);
    const IoToken sync = next_token();
    out.push(io::SyncDir{sync});
    background_tokens_.insert(sync.value());
}

}  // namespace samsa::log

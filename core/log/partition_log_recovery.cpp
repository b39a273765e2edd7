// PartitionLog: recovery at start-up.
//
// List the directory; open every segment of this log; read the tail segment
// batch by batch, validating each. A batch that fails its CRC is read again
// (reads can flip bits) before it counts as bad. A bad batch that is not
// followed by another valid-looking batch is a torn tail: the file is cut
// there, durably, before the log serves. So is the end of a recycled
// segment's own data, after which come a former segment's (older) batches. A bad batch followed by
// a valid one is corruption in the middle: the log refuses to serve (needs_repair). Older segments
// are not read at all, so recovery costs the tail segment only.
#include <algorithm>

#include "core/log/batch.h"
#include "core/log/partition_log.h"

namespace samsa::log {

void PartitionLog::start(io::Outbox& out) {
    SAMSA_ASSERT(state_ == State::recovering && step_ == Step::list);
    awaiting_ = next_token();
    out.push(io::List{awaiting_});
}

void PartitionLog::start(const std::vector<std::string>& names, io::Outbox& out) {
    SAMSA_ASSERT(state_ == State::recovering && step_ == Step::list);
    io::IoCompleted listed;
    listed.names = names;
    on_listed(listed, out);
}

void PartitionLog::on_recovery_io(const io::IoCompleted& done, io::Outbox& out) {
    SAMSA_ASSERT(state_ == State::recovering);
    const bool ok = done.status == io::IoStatus::ok;
    switch (step_) {
        case Step::list:
            if (!ok) return start_again(out);
            on_listed(done, out);
            return;
        case Step::open: {
            const auto opening = opening_.find(done.token.value());
            SAMSA_ASSERT(opening != opening_.end());
            Segment* segment = segment_at(opening->second);
            opening_.erase(opening);
            if (!ok) {  // retry this one
                const IoToken retry = next_token();
                out.push(open_segment(retry, *segment, false));
                opening_.emplace(retry.value(), segment->base);
                return;
            }
            segment->size = done.size;
            if (opening_.empty()) load_metadata(out);
            return;
        }
        case Step::load: on_loaded(done, out); return;
        case Step::scan: on_scanned(done, out); return;
        case Step::cut:
        case Step::create:
            SAMSA_ASSERT(done.token == awaiting_ || recovery_ops_left_ > 0);
            if (!ok) recovery_failed_ = true;
            if (--recovery_ops_left_ > 0) return;
            if (recovery_failed_) return retry_step(out);
            become_ready(out);
            return;
        case Step::ready: SAMSA_UNREACHABLE("recovery is over");
    }
}

void PartitionLog::start_again(io::Outbox& out) {
    step_ = Step::list;
    awaiting_ = next_token();
    out.push(io::List{awaiting_});
}

void PartitionLog::on_listed(const io::IoCompleted& done, io::Outbox& out) {
    std::vector<Offset> bases;
    spares_.clear();
    for (const auto& name : done.names) {
        if (auto base = parse_segment_name(config_.file_prefix, name)) bases.push_back(*base);
        if (auto bound = parse_spare_name(config_.file_prefix, name)) spares_.push_back(*bound);
    }
    std::sort(bases.begin(), bases.end());
    std::sort(spares_.begin(), spares_.end());
    // More spares than kept now (a lower spare_segments_max): the rest go.
    while (spares_.size() > config_.spare_segments_max) {
        const IoToken remove = next_token();
        out.push(io::Remove{remove, spare_name(config_.file_prefix, spares_.back())});
        background_tokens_.insert(remove.value());
        spares_.pop_back();
    }
    if (bases.empty()) {
        load_metadata(out);
        return;
    }
    step_ = Step::open;
    for (const Offset base : bases) {
        segments_.emplace_back(base, next_file(), false, config_.index_interval_bytes);
        const IoToken open = next_token();
        out.push(open_segment(open, segments_.back(), false));
        opening_.emplace(open.value(), base);
    }
}

void PartitionLog::create_first_segment(io::Outbox& out) {
    step_ = Step::create;
    segments_.clear();
    segments_.emplace_back(Offset(0), next_file(), true, config_.index_interval_bytes);
    const IoToken open = next_token();
    const IoToken sync = next_token();
    out.push(open_segment(open, segments_.back(), true));
    out.push(io::SyncDir{sync});
    awaiting_ = open;
    recovery_ops_left_ = 2;
    recovery_failed_ = false;
}

void PartitionLog::scan_tail(io::Outbox& out) {
    step_ = Step::scan;
    scan_buffer_.clear();
    scan_start_ = 0;
    scan_rereads_ = 0;
    Segment& tail = segments_.back();
    tail.index.clear();
    tail.sparse = SegmentIndex(tail.base, IndexConfig{config_.index_interval_bytes});
    tail.sparse_complete = false;
    if (tail.size == 0) {
        finish_scan(0, false, out);
        return;
    }
    awaiting_ = next_token();
    out.push(io::Read{awaiting_, tail.file, 0, config_.read_bytes_max});
}

void PartitionLog::on_scanned(const io::IoCompleted& done, io::Outbox& out) {
    Segment& tail = segments_.back();
    if (done.status != io::IoStatus::ok) {  // read the same range again
        awaiting_ = next_token();
        out.push(io::Read{awaiting_, tail.file, scan_start_ + scan_buffer_.size(),
                          config_.read_bytes_max});
        return;
    }
    io::append(scan_buffer_, done.data);
    std::uint64_t at = 0;  // within scan_buffer_
    while (true) {
        const std::uint64_t position = scan_start_ + at;
        if (position >= tail.size) return finish_scan(position, false, out);
        const std::span<const std::uint8_t> rest(scan_buffer_.data() + at,
                                                 scan_buffer_.size() - at);
        // Zeros from here to the end of the file: the padding of direct
        // writes (or a preallocated range) - the clean end of the data.
        if (position + rest.size() >= tail.size &&
            std::all_of(rest.begin(), rest.end(), [](std::uint8_t b) { return b == 0; })) {
            return finish_scan(position, false, out);
        }
        const auto size = framed_size(rest, config_.batch_bytes_max);
        const bool complete = size && *size != 0 && *size <= rest.size();
        const bool in_file = size && *size != 0 && position + *size <= tail.size;
        // Fewer bytes than a length field, with more in the file: read on. At
        // the end of the file they are a torn tail (handled below).
        const bool header_in_file = size && *size == 0 && position + rest.size() < tail.size;
        if (size && !complete && (header_in_file || in_file)) {
            // Need more bytes: keep the unparsed rest and read on.
            scan_buffer_.erase(scan_buffer_.begin(), scan_buffer_.begin() + static_cast<long>(at));
            scan_start_ = position;
            awaiting_ = next_token();
            const auto length = std::max<std::uint64_t>(config_.read_bytes_max, size.value_or(0));
            out.push(io::Read{awaiting_, tail.file, scan_start_ + scan_buffer_.size(),
                              static_cast<std::uint32_t>(length)});
            return;
        }
        // baseOffset is outside the CRC: batches must follow on from the segment's base.
        const Offset expected = tail.index.empty() ? tail.base : tail.index.back().last.next();
        const bool intact = complete && validate_batch(rest.first(*size), SIZE_MAX).ok() &&
                            parse_header(rest.first(*size)).value().base_offset == expected;
        // So is partitionLeaderEpoch: it must match the checkpointed epochs. An
        // intact batch whose epoch the checkpoint does not know was never
        // acknowledged (its epoch is checkpointed by the flush that carries
        // it): the log ends there, like at a torn write.
        const bool valid = intact && epoch_agrees(parse_header(rest.first(*size)).value());
        if (!valid) {
            if (++scan_rereads_ <= config_.reread_max) {
                // Maybe a bit flipped on the way: read this batch again.
                scan_buffer_.clear();
                scan_start_ = position;
                awaiting_ = next_token();
                out.push(io::Read{awaiting_, tail.file, position, config_.read_bytes_max});
                return;
            }
            const bool corrupt = !intact && complete && followed_by_batch(*size, rest, expected);
            return finish_scan(position, corrupt, out);
        }
        const auto header = parse_header(rest.first(*size));
        note_batch(tail, header.value(), position, trusted_epoch(header.value().base_offset));
        scan_rereads_ = 0;
        at += *size;
    }
}

bool PartitionLog::followed_by_batch(std::uint64_t size, std::span<const std::uint8_t> rest,
                                     Offset expected) const {
    // Corruption rather than a torn tail: a plausible batch header follows,
    // one that could come after the bad batch. Older batches do not count: a
    // recycled segment file holds a former segment's batches past the end of
    // its own data, all of them below its base.
    if (size == 0 || size + batch_header_bytes > rest.size()) return false;
    const auto next = rest.subspan(size);
    const auto next_size = framed_size(next, config_.batch_bytes_max);
    if (!next_size || *next_size == 0 || next[batch_layout::magic] != batch_magic) return false;
    return base_offset_of(next) > expected;
}

void PartitionLog::finish_scan(std::uint64_t valid_end, bool corrupt, io::Outbox& out) {
    Segment& tail = segments_.back();
    scan_buffer_.clear();
    tail.indexed = true;
    tail.sparse_complete = true;
    log_start_ = segments_.front().base;
    next_offset_ = tail.index.empty() ? tail.base : tail.index.back().last.next();
    readable_end_ = next_offset_;
    if (corrupt) {
        state_ = State::needs_repair;
        step_ = Step::ready;
        return;
    }
    if (valid_end == tail.size) {
        become_ready(out);
        return;
    }
    // A torn tail: cut it, durably, before serving.
    tail.size = valid_end;
    step_ = Step::cut;
    retry_step(out);
}

void PartitionLog::retry_step(io::Outbox& out) {
    recovery_failed_ = false;
    if (step_ == Step::create) {
        create_first_segment(out);
        return;
    }
    SAMSA_ASSERT(step_ == Step::cut);
    const Segment& tail = segments_.back();
    const IoToken cut = next_token();
    const IoToken sync = next_token();
    out.push(io::Truncate{cut, tail.file, tail.size});
    out.push(io::Fsync{sync, tail.file});
    awaiting_ = cut;
    recovery_ops_left_ = 2;
}

void PartitionLog::become_ready(io::Outbox& out) {
    step_ = Step::ready;
    state_ = State::ready;
    log_start_ = segments_.front().base;
    const Segment& tail = segments_.back();
    next_offset_ = tail.index.empty() ? tail.base : tail.index.back().last.next();
    readable_end_ = next_offset_;
    tail_page_.clear();
    tail_page_known_ = false;  // read back by the first flush that needs it
    // A checkpoint may name epochs whose batches a crash took away.
    if (const auto latest = epochs_.latest(); latest && latest->start >= next_offset_) {
        epochs_.truncate_from_end(next_offset_);
        epochs_dirty_ = true;
    }
    load_indexes(out);
}

}  // namespace samsa::log

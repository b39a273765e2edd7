// PartitionLog: the metadata beside the segments - each sealed segment's
// offset and time index file, the leader-epoch checkpoints - and the lookups
// they serve: offsets by timestamp, epochs of recovered batches.
//
// Index files are written once, when a segment is sealed (rolled), and read
// at start-up; a missing or damaged one (caught by decode()) is rebuilt in
// the background by reading its segment through, then written again. Losing
// one costs time, never data: nothing depends on an index file being there.
//
// Leader epochs are checkpointed to two files in turn, each holding a
// sequence number, the EpochCache encoding and a CRC-32C: a torn write of one
// leaves the other intact, and start-up takes the valid one with the higher
// sequence. A new epoch is checkpointed (and fsynced) by the flush that
// carries its first batch, so no batch of an epoch is acknowledged before the
// epoch is durable.
#include <algorithm>

#include "core/base/big_endian.h"
#include "core/base/crc32c.h"
#include "core/log/batch.h"
#include "core/log/partition_log.h"

namespace samsa::log {

namespace {

constexpr std::uint32_t kMetadataReadMax = 16U << 20;
constexpr std::size_t kSequenceBytes = 8;
constexpr std::size_t kCrcBytes = 4;

io::Bytes encode_checkpoint(std::uint64_t sequence, const EpochCache& epochs) {
    io::Bytes out;
    put_be(out, sequence);
    const io::Bytes body = epochs.encode();
    out.insert(out.end(), body.begin(), body.end());
    put_be(out, crc32c(out));
    return out;
}

// The sequence and epochs of a checkpoint file, or nullopt if it is damaged.
std::optional<std::pair<std::uint64_t, EpochCache>> decode_checkpoint(
    std::span<const std::uint8_t> bytes) {
    if (bytes.size() < kSequenceBytes + kCrcBytes) return std::nullopt;
    const auto covered = bytes.first(bytes.size() - kCrcBytes);
    if (crc32c(covered) != get_be<std::uint32_t>(bytes.last(kCrcBytes))) return std::nullopt;
    auto epochs = EpochCache::decode(covered.subspan(kSequenceBytes));
    if (!epochs.ok()) return std::nullopt;
    return std::pair{get_be<std::uint64_t>(covered), std::move(epochs).value()};
}

std::string checkpoint_name(const std::string& prefix, std::size_t slot) {
    return prefix + "epochs-" + std::to_string(slot);
}

// Marks in loading_ for the two checkpoint reads (segment bases are >= 0).
Offset checkpoint_mark(std::size_t slot) {
    return Offset(-1 - static_cast<std::int64_t>(slot));
}

}  // namespace

// ---- Indexes ----------------------------------------------------------------

void PartitionLog::note_batch(Segment& segment, const BatchHeader& batch, std::uint64_t position,
                              std::int32_t epoch) {
    const auto size = static_cast<std::uint32_t>(batch.size_bytes());
    const bool extends_dense =
        segment.index.empty()
            ? position == 0
            : segment.index.back().position + segment.index.back().size == position;
    if (extends_dense) {
        segment.index.push_back({batch.base_offset, batch.last_offset(), position, size, epoch});
    }
    if (!segment.sparse_complete && position == segment.sparse.size_bytes() &&
        (segment.sparse.empty() || batch.base_offset >= segment.sparse.end_offset())) {
        segment.sparse.on_batch(batch.base_offset, batch.last_offset(), batch.max_timestamp,
                                position, size);
    } else if (segment.sparse_complete && &segment == &segments_.back() &&
               position == segment.sparse.size_bytes()) {
        // The active segment's index grows with its appends.
        segment.sparse.on_batch(batch.base_offset, batch.last_offset(), batch.max_timestamp,
                                position, size);
    }
}

void PartitionLog::write_index_file(const Segment& segment, io::Outbox& out) {
    // Background work: a failure only means the index is rebuilt next start.
    const FileId file = next_file();
    io::Bytes bytes = segment.sparse.encode();
    const std::uint64_t size = bytes.size();
    const IoToken open = next_token();
    const IoToken write = next_token();
    const IoToken cut = next_token();
    const IoToken sync = next_token();
    out.push(io::Open{open, file, index_name(config_.file_prefix, segment.base), true, false});
    out.push(io::Write{write, file, 0, std::move(bytes)});
    out.push(io::Truncate{cut, file, size});
    out.push(io::Fsync{sync, file});
    out.push(io::Close{file});
    background_tokens_.insert({open.value(), write.value(), cut.value(), sync.value()});
}

void PartitionLog::remove_index_file(Offset base, io::Outbox& out) {
    const IoToken remove = next_token();
    out.push(io::Remove{remove, index_name(config_.file_prefix, base)});
    background_tokens_.insert(remove.value());
}

void PartitionLog::rebuild_next_index(io::Outbox& out) {
    if (rebuilding_ || !index_loads_.empty() || state_ != State::ready) return;
    for (std::size_t i = 0; i + 1 < segments_.size(); ++i) {
        const Segment& segment = segments_[i];
        if (segment.sparse_complete) continue;
        const std::uint64_t id = ++read_counter_;
        rebuilding_ = id;
        PendingRead read{id, segment.base, UINT32_MAX, segment.base, 0, config_.read_bytes_max,
                         0,  {},           {}};
        if (!segment.index.empty()) {  // carry on from what reads have indexed already
            read.position = segment.index.back().position;
            read.expected = segment.index.back().base;
        }
        read.kind = ReadKind::rebuild_index;
        issue_read(std::move(read), out);
        return;
    }
}

void PartitionLog::on_rebuilt(const PendingRead& read, bool ok, io::Outbox& out) {
    SAMSA_ASSERT(rebuilding_ == read.id);
    rebuilding_.reset();
    const Segment* segment = segment_at(read.segment);
    if (ok && segment != nullptr && segment->sparse_complete) {
        write_index_file(*segment, out);
        ++indexes_rebuilt_;
    }
    // A disk that fails reads is left alone until the next start.
    if (ok || segment == nullptr) rebuild_next_index(out);
}

// ---- Lookup by time -----------------------------------------------------------

Result<std::uint64_t, LogError> PartitionLog::find_offset_by_time(std::int64_t timestamp_ms,
                                                                  io::Outbox& out) {
    if (state_ == State::needs_repair) return Failure{LogError::corrupt_log};
    if (state_ == State::recovering) return Failure{LogError::not_ready};
    const std::uint64_t id = ++read_counter_;
    for (const Segment& segment : segments_) {
        PendingRead read{id, segment.base, UINT32_MAX, segment.base, 0, config_.read_bytes_max,
                         0,  {},           {}};
        read.kind = ReadKind::find_time;
        read.timestamp_ms = timestamp_ms;
        if (segment.sparse_complete) {
            const auto start = segment.sparse.lookup_time(timestamp_ms);
            if (!start) continue;  // every record here is older
            read.from = start->first;
            read.position = start->second;
        }
        if (read.from >= readable_end_) break;
        read.expected = read.from;
        issue_read(std::move(read), out);
        return id;
    }
    read_results_.push_back(ReadResult{id, std::nullopt, {}, std::nullopt});
    return id;
}

std::optional<TimeMatch> PartitionLog::time_match_in(std::span<const std::uint8_t> batch,
                                                     const BatchHeader& header,
                                                     std::int64_t target) {
    if (header.max_timestamp < target) return std::nullopt;
    // Every record carries the broker's time, or the records are compressed
    // (not decoded here): the batch is the answer, at its first offset.
    if (header.timestamp_type() == TimestampType::log_append_time ||
        header.codec() != Codec::none) {
        return TimeMatch{header.base_offset, header.max_timestamp};
    }
    const auto records = parse_records(batch);
    if (records.ok()) {
        for (const auto& record : records.value()) {
            const std::int64_t timestamp = header.base_timestamp + record.timestamp_delta;
            if (timestamp >= target) {
                return TimeMatch{header.base_offset.plus(record.offset_delta), timestamp};
            }
        }
    }
    return TimeMatch{header.base_offset, header.max_timestamp};
}

// ---- Leader epochs ------------------------------------------------------------

bool PartitionLog::epoch_agrees(const BatchHeader& batch) const {
    const std::int32_t trusted = trusted_epoch(batch.base_offset);
    return trusted == kEpochUnknown || trusted == batch.partition_leader_epoch;
}

std::int32_t PartitionLog::trusted_epoch(Offset base) const {
    if (!epochs_trusted_) return kEpochUnknown;
    return epochs_.epoch_for(base).value_or(kEpochUnknown);
}

void PartitionLog::persist_epochs(Flush& batch_flush, io::Outbox& out) {
    const std::uint64_t sequence = ++epochs_sequence_;
    const FileId slot = epoch_files_[sequence % 2];
    io::Bytes bytes = encode_checkpoint(sequence, epochs_);
    const std::uint64_t size = bytes.size();
    const IoToken write = next_token();
    const IoToken cut = next_token();
    const IoToken sync = next_token();
    out.push(io::Write{write, slot, 0, std::move(bytes)});
    out.push(io::Truncate{cut, slot, size});
    out.push(io::Fsync{sync, slot});
    track(batch_flush, write);
    track(batch_flush, cut);
    track(batch_flush, sync);
    epochs_dirty_ = false;
}

// ---- Start-up -----------------------------------------------------------------

void PartitionLog::load_metadata(io::Outbox& out) {
    step_ = Step::load;
    recovery_ops_left_ = 0;
    loading_.clear();
    metadata_opens_.clear();
    checkpoint_open_failed_ = false;
    checkpoint_rereads_ = {};
    // Each file is opened first: the completion gives its size, and the read
    // then asks for exactly that (index files are small; most logs have many).
    const auto open = [&](FileId file, std::string name, bool create, Offset mark) {
        const IoToken token = next_token();
        out.push(io::Open{token, file, std::move(name), create, false});
        metadata_opens_.emplace(token.value(), std::pair{file, mark});
        ++recovery_ops_left_;
    };
    for (std::size_t slot = 0; slot < 2; ++slot) {
        epoch_files_[slot] = next_file();
        open(epoch_files_[slot], checkpoint_name(config_.file_prefix, slot), true,
             checkpoint_mark(slot));
    }
}

// After recovery, in the background: the sealed segments' index files (so
// recovery itself reads only the tail segment and the checkpoints). Until a
// segment's index is in, reads index it themselves, time lookups scan it from
// its start, and retention by age keeps it.
void PartitionLog::load_indexes(io::Outbox& out) {
    for (std::size_t i = 0; i + 1 < segments_.size(); ++i) {
        const IoToken token = next_token();
        const FileId file = next_file();
        out.push(io::Open{token, file, index_name(config_.file_prefix, segments_[i].base), false,
                          false});
        index_loads_.emplace(token.value(), IndexLoad{file, segments_[i].base, true});
    }
    if (index_loads_.empty()) rebuild_next_index(out);
}

void PartitionLog::on_index_load(IndexLoad load, const io::IoCompleted& done, io::Outbox& out) {
    if (load.opening) {
        if (done.status == io::IoStatus::ok && done.size > 0) {
            const IoToken read = next_token();
            out.push(io::Read{
                read, load.file, 0,
                static_cast<std::uint32_t>(std::min<std::uint64_t>(done.size, kMetadataReadMax))});
            index_loads_.emplace(read.value(), IndexLoad{load.file, load.base, false});
        }
        if (done.status == io::IoStatus::ok) out.push(io::Close{load.file});
    } else if (Segment* segment = segment_at(load.base);
               done.status == io::IoStatus::ok && segment != nullptr &&
               segment != &segments_.back() && !segment->sparse_complete) {
        // (A truncation meanwhile makes the segment the tail with its own index.)
        if (auto index = SegmentIndex::decode(done.data, segment->base, segment->size);
            index.ok() && index.value().config() == segment->sparse.config()) {
            segment->sparse = std::move(index).value();
            segment->sparse_complete = true;
        }
    }
    if (index_loads_.empty()) rebuild_next_index(out);  // what did not load is rebuilt
}

void PartitionLog::on_metadata_opened(FileId file, Offset mark, const io::IoCompleted& done,
                                      io::Outbox& out) {
    SAMSA_ASSERT(mark.value() < 0);
    if (done.status != io::IoStatus::ok) {
        checkpoint_open_failed_ = true;  // a checkpoint file must be open for later writes
        return;
    }
    const auto size =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(done.size, kMetadataReadMax));
    checkpoint_sizes_[static_cast<std::size_t>(-1 - mark.value())] = size;
    if (size > 0) {
        const IoToken read = next_token();
        out.push(io::Read{read, file, 0, size});
        loading_.emplace(read.value(), mark);
        ++recovery_ops_left_;
    }
}

void PartitionLog::on_checkpoint_read(Offset mark, const io::IoCompleted& done, io::Outbox& out) {
    const auto slot = static_cast<std::size_t>(-1 - mark.value());
    auto checkpoint = decode_checkpoint(done.data);
    // A failed read, or bytes that do not decode (flipped on the way?), are
    // read again before the checkpoint counts as torn.
    if ((done.status != io::IoStatus::ok || !checkpoint) &&
        ++checkpoint_rereads_[slot] <= config_.reread_max) {
        const IoToken again = next_token();
        out.push(io::Read{again, epoch_files_[slot], 0, checkpoint_sizes_[slot]});
        loading_.emplace(again.value(), mark);
        ++recovery_ops_left_;
        return;
    }
    if (done.status != io::IoStatus::ok) checkpoint_open_failed_ = true;  // start over
    if (checkpoint && (!epochs_trusted_ || checkpoint->first > epochs_sequence_)) {
        epochs_sequence_ = checkpoint->first;
        epochs_ = std::move(checkpoint->second);
        epochs_trusted_ = true;
    }
}

void PartitionLog::on_loaded(const io::IoCompleted& done, io::Outbox& out) {
    const std::uint64_t token = done.token.value();
    if (const auto opened = metadata_opens_.find(token); opened != metadata_opens_.end()) {
        const auto [file, mark] = opened->second;
        metadata_opens_.erase(opened);
        on_metadata_opened(file, mark, done, out);
    } else if (const auto found = loading_.find(token); found != loading_.end()) {
        const Offset mark = found->second;
        loading_.erase(found);
        on_checkpoint_read(mark, done, out);
    }
    if (--recovery_ops_left_ > 0) return;
    if (checkpoint_open_failed_) {
        // Both checkpoint files must be open for writing later: start over.
        for (const FileId file : epoch_files_) out.push(io::Close{file});
        epochs_ = EpochCache{};
        epochs_trusted_ = false;
        epochs_sequence_ = 0;
        return load_metadata(out);
    }
    // A log with no segments has no batches whose epochs could be unknown.
    if (segments_.empty()) epochs_trusted_ = true;
    if (segments_.empty()) return create_first_segment(out);
    scan_tail(out);
}

bool PartitionLog::quiet() const noexcept {
    return state_ != State::recovering && pending_.empty() && flushes_.empty() && reads_.empty() &&
           !maintenance_ && background_tokens_.empty() && index_loads_.empty() && !rebuilding_ &&
           !tail_load_ && metadata_opens_.empty() && loading_.empty() && opening_.empty() &&
           trim_tokens_.empty() && spare_renames_.empty();
}

void PartitionLog::close_files(io::Outbox& out) {
    SAMSA_ASSERT(quiet());
    for (const Segment& segment : segments_) out.push(io::Close{segment.file});
    segments_.clear();
    for (const FileId file : epoch_files_) {
        if (file != FileId{}) out.push(io::Close{file});  // closing one never opened is harmless
    }
    state_ = State::needs_repair;  // nothing can be served any more
}

Offset PartitionLog::tail_start(std::uint64_t bytes) const noexcept {
    std::uint64_t seen = 0;
    for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
        seen += it->size;
        if (seen >= bytes) return std::max(it->base, log_start_);
    }
    return log_start_;
}

bool PartitionLog::owns_file(const std::string& prefix, const std::string& name) {
    if (parse_segment_name(prefix, name) || parse_spare_name(prefix, name)) return true;
    if (name == checkpoint_name(prefix, 0) || name == checkpoint_name(prefix, 1)) return true;
    const std::string suffix = ".index";
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return false;
    }
    return parse_segment_name(prefix, name.substr(0, name.size() - suffix.size()) + ".log")
        .has_value();
}

}  // namespace samsa::log

#include "sim/scenarios/kernel_node.h"

#include <cstring>

#include "core/base/hash.h"

namespace samsa::sim {

namespace {

constexpr std::uint32_t kMessageMagic = 0x4b524e4c;  // "KRNL"
constexpr std::size_t kMessageHeader = 4 + 4 + 4 + 8;
constexpr std::size_t kRecordHeader = 4 + 8;

template <class T>
void put(io::Bytes& out, T value) {
    const auto at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &value, sizeof(T));
}

template <class T>
T get(const std::uint8_t* at) {
    T value;
    std::memcpy(&value, at, sizeof(T));
    return value;
}

std::uint64_t record_checksum(std::uint32_t length, const std::uint8_t* body) {
    return hash_bytes({body, length}, 0x1000 + length);
}

}  // namespace

KernelNode::KernelNode(NodeId self, Prng prng, KernelNodeParams params)
    : self_(self),
      prng_(prng),
      params_(params),
      session_(static_cast<std::uint32_t>(prng_.next_u64())),
      pending_(params.pending_records_max) {
    SAMSA_ASSERT(params_.node_count >= 1);
}

io::Bytes KernelNode::encode_message(const RecordId& id, std::size_t filler_bytes) {
    io::Bytes out;
    out.reserve(kMessageHeader + filler_bytes);
    put(out, kMessageMagic);
    put(out, id.from);
    put(out, id.session);
    put(out, id.sequence);
    for (std::size_t i = 0; i < filler_bytes; ++i) {
        out.push_back(static_cast<std::uint8_t>(id.sequence * 31 + i));
    }
    return out;
}

std::optional<RecordId> KernelNode::decode_message(const io::Bytes& payload) {
    if (payload.size() < kMessageHeader) return std::nullopt;
    if (get<std::uint32_t>(payload.data()) != kMessageMagic) return std::nullopt;
    RecordId id;
    id.from = get<std::int32_t>(payload.data() + 4);
    id.session = get<std::uint32_t>(payload.data() + 8);
    id.sequence = get<std::uint64_t>(payload.data() + 12);
    return id;
}

void KernelNode::append_record(io::Bytes& out, const io::Bytes& body) {
    const auto length = static_cast<std::uint32_t>(body.size());
    put(out, length);
    put(out, record_checksum(length, body.data()));
    out.insert(out.end(), body.begin(), body.end());
}

void KernelNode::step(Instant now, const io::Event& event, io::Outbox& out) {
    if (std::holds_alternative<io::Start>(event)) {
        on_start(out);
    } else if (const auto* message = std::get_if<io::MessageReceived>(&event)) {
        on_message(*message, out);
    } else if (const auto* timer = std::get_if<io::TimerFired>(&event)) {
        on_timer(now, timer->timer, out);
    } else {
        on_io(now, std::get<io::IoCompleted>(event), out);
    }
}

void KernelNode::on_start(io::Outbox& out) {
    SAMSA_ASSERT(phase_ == Phase::opening);
    awaiting_ = next_token();
    out.push(io::Open{awaiting_, kInbox, "inbox.log", true, false});
}

void KernelNode::on_io(Instant now, const io::IoCompleted& done, io::Outbox& out) {
    if (phase_ != Phase::running) {
        SAMSA_ASSERT(done.token == awaiting_);
        on_recovery_io(done, out);
        if (phase_ == Phase::running) arm_send(now, out);
        return;
    }
    on_flush_io(done, out);
}

void KernelNode::on_recovery_io(const io::IoCompleted& done, io::Outbox& out) {
    // Every recovery step is retried until it succeeds: faults are transient.
    if (done.status != io::IoStatus::ok) {
        SAMSA_ASSERT(done.status == io::IoStatus::io_error ||
                     done.status == io::IoStatus::no_space);
        if (phase_ == Phase::opening) {
            awaiting_ = next_token();
            out.push(io::Open{awaiting_, kInbox, "inbox.log", true, false});
        } else if (phase_ == Phase::syncing_dir) {
            awaiting_ = next_token();
            out.push(io::SyncDir{awaiting_});
        } else if (phase_ == Phase::reading) {
            read_next(out);
        } else {
            finish_recovery(out);
        }
        return;
    }
    switch (phase_) {
        case Phase::opening:
            file_size_ = done.size;
            phase_ = Phase::syncing_dir;
            awaiting_ = next_token();
            out.push(io::SyncDir{awaiting_});
            break;
        case Phase::syncing_dir:
            phase_ = Phase::reading;
            read_next(out);
            break;
        case Phase::reading:
            file_.insert(file_.end(), done.data.begin(), done.data.end());
            parse_recovered(out);
            break;
        case Phase::cutting:
            if (!cut_synced_) {
                cut_synced_ = true;
                awaiting_ = next_token();
                out.push(io::Fsync{awaiting_, kInbox});
            } else {
                phase_ = Phase::running;
                written_ = durable_ = recovered_;
                end_offset_ = valid_end_;
            }
            break;
        case Phase::running: SAMSA_UNREACHABLE("running is not recovery");
    }
}

void KernelNode::read_next(io::Outbox& out) {
    if (file_.size() >= file_size_) {
        finish_recovery(out);
        return;
    }
    awaiting_ = next_token();
    const auto offset = file_.size();
    out.push(io::Read{awaiting_, kInbox, offset, params_.read_chunk_bytes});
}

void KernelNode::parse_recovered(io::Outbox& out) {
    while (true) {
        const std::uint64_t at = valid_end_;
        if (at + kRecordHeader > file_.size()) break;
        const auto length = get<std::uint32_t>(file_.data() + at);
        if (length > file_size_ || at + kRecordHeader + length > file_size_) {
            finish_recovery(out);  // a length no record has: the torn tail
            return;
        }
        if (at + kRecordHeader + length > file_.size()) break;  // read more
        const std::uint8_t* body = file_.data() + at + kRecordHeader;
        const auto id = decode_message(io::Bytes(body, body + length));
        if (get<std::uint64_t>(file_.data() + at + 4) != record_checksum(length, body) || !id) {
            if (++rereads_ > params_.reread_max) {
                finish_recovery(out);  // stays invalid: the torn tail
                return;
            }
            file_.resize(at);  // read it again: the bytes may have flipped in transit
            read_next(out);
            return;
        }
        rereads_ = 0;
        recovered_.push_back(*id);
        valid_end_ = at + kRecordHeader + length;
    }
    if (file_.size() >= file_size_) {
        finish_recovery(out);
    } else {
        read_next(out);
    }
}

void KernelNode::finish_recovery(io::Outbox& out) {
    // Cut the tail past the last valid record and make the cut durable.
    phase_ = Phase::cutting;
    file_.clear();
    cut_synced_ = false;
    awaiting_ = next_token();
    out.push(io::Truncate{awaiting_, kInbox, valid_end_});
}

void KernelNode::on_message(const io::MessageReceived& message, io::Outbox& out) {
    const auto id = decode_message(message.payload);
    SAMSA_ASSERT_MSG(id.has_value(), "kernel nodes only send kernel messages");
    if (phase_ != Phase::running || !pending_.try_push({*id, message.payload})) {
        ++dropped_;  // not acknowledged to anyone, so dropping is allowed
        return;
    }
    flush(out);
}

void KernelNode::flush(io::Outbox& out) {
    if (!in_flight_.empty() || retry_armed_ || pending_.empty()) return;
    in_flight_bytes_.clear();
    while (!pending_.empty()) {
        PendingRecord record = pending_.pop();
        append_record(in_flight_bytes_, record.body);
        in_flight_.push_back(record.id);
        written_.push_back(record.id);
    }
    write_failed_ = false;
    write_token_ = next_token();
    fsync_token_ = next_token();
    out.push(io::Write{write_token_, kInbox, end_offset_, in_flight_bytes_});
    out.push(io::Fsync{fsync_token_, kInbox});
}

void KernelNode::on_flush_io(const io::IoCompleted& done, io::Outbox& out) {
    if (done.token == write_token_) {
        write_failed_ = done.status != io::IoStatus::ok;
        return;
    }
    SAMSA_ASSERT(done.token == fsync_token_);
    if (write_failed_ || done.status != io::IoStatus::ok) {
        // Write the same bytes at the same offset again after a pause.
        retry_armed_ = true;
        out.push(io::SetTimer{kRetryTimer, params_.retry_backoff});
        return;
    }
    durable_.insert(durable_.end(), in_flight_.begin(), in_flight_.end());
    end_offset_ += in_flight_bytes_.size();
    in_flight_.clear();
    flush(out);
}

void KernelNode::on_timer(Instant now, TimerId timer, io::Outbox& out) {
    if (timer == kRetryTimer && retry_armed_) {
        retry_armed_ = false;
        write_failed_ = false;
        write_token_ = next_token();
        fsync_token_ = next_token();
        out.push(io::Write{write_token_, kInbox, end_offset_, in_flight_bytes_});
        out.push(io::Fsync{fsync_token_, kInbox});
        return;
    }
    if (timer != kSendTimer || phase_ != Phase::running) return;
    if (now < next_send_) {
        out.push(io::SetTimer{kSendTimer, next_send_ - now});  // fired early: re-arm
        return;
    }
    send_one(now, out);
    arm_send(now, out);
}

void KernelNode::send_one(Instant /*now*/, io::Outbox& out) {
    if (params_.node_count < 2) return;
    auto peer = static_cast<std::int32_t>(
        1 + prng_.uniform(static_cast<std::uint64_t>(params_.node_count - 1)));
    if (peer >= self_.value()) ++peer;
    const RecordId id{self_.value(), session_, ++sent_};
    out.push(io::Send{NodeId(peer), encode_message(id, prng_.uniform(64))});
}

void KernelNode::arm_send(Instant now, io::Outbox& out) {
    const auto mean = static_cast<double>(params_.send_interval_mean.count_ns());
    const Duration wait =
        Duration::nanoseconds(1 + static_cast<std::int64_t>(prng_.exponential(mean)));
    next_send_ = now + wait;
    out.push(io::SetTimer{kSendTimer, wait});
}

}  // namespace samsa::sim

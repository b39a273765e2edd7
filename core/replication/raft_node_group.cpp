// One group of a RaftNode: recovery of its log and hard state, carrying out
// its Ready, and the log writes and reads that Raft waits for.
#include "core/replication/raft_node_group.h"

#include <algorithm>

#include "core/base/big_endian.h"
#include "core/base/crc32c.h"

namespace samsa::replication {

namespace {

constexpr std::uint32_t kRecoveryReadBytes = 1 << 20;
constexpr int kReadFailuresMax = 64;
constexpr int kStateRereads = 8;

std::string state_name(RaftGroupId group) {
    return "g" + std::to_string(group.value()) + ".state";
}

// Splits whole batches and turns them into entries; false on anything else.
bool entries_from(const io::Bytes& batches, std::vector<raft::Entry>& into) {
    std::span<const std::uint8_t> rest(batches);
    while (!rest.empty()) {
        const auto size = log::PartitionLog::framed_size(rest, SIZE_MAX);
        if (!size || *size == 0 || *size > rest.size()) return false;
        auto entry = batch_to_entry(rest.first(*size));
        if (!entry) return false;
        into.push_back(std::move(*entry));
        rest = rest.subspan(*size);
    }
    return true;
}

}  // namespace

io::Bytes StateSlots::encode(std::uint64_t sequence, const raft::HardState& state) {
    io::Bytes out;
    put_be<std::uint32_t>(out, magic);
    put_be<std::uint64_t>(out, sequence);
    put_be<std::int32_t>(out, state.term.value());
    put_be<std::int32_t>(out, state.vote ? state.vote->value() : -1);
    put_be<std::int64_t>(out, state.commit.value());
    put_be<std::uint32_t>(out, crc32c(out));
    SAMSA_ASSERT(out.size() == slot_bytes);
    return out;
}

std::optional<StateSlots::Slot> StateSlots::decode(std::span<const std::uint8_t> bytes,
                                                   bool& blank) {
    blank = std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
    if (bytes.size() < slot_bytes || get_be<std::uint32_t>(bytes, 0) != magic) return std::nullopt;
    if (crc32c(bytes.first(slot_bytes - 4)) != get_be<std::uint32_t>(bytes, slot_bytes - 4)) {
        return std::nullopt;
    }
    Slot slot;
    slot.sequence = get_be<std::uint64_t>(bytes, 4);
    slot.state.term = raft::Term(get_be<std::int32_t>(bytes, 12));
    const auto vote = get_be<std::int32_t>(bytes, 16);
    if (vote >= 0) slot.state.vote = NodeId(vote);
    slot.state.commit = raft::Index(get_be<std::int64_t>(bytes, 20));
    if (slot.state.term.value() < 0 || slot.state.commit.value() < 0) return std::nullopt;
    return slot;
}

// ---- Recovery -------------------------------------------------------------

IoToken RaftNode::state_token(const Group& group) {
    const IoToken token = next_token();
    state_tokens_[token.value()] = group.id.value();
    return token;
}

void RaftNode::start_group(Group& group, io::Outbox& out) {
    group.log.start(names_, out);
    start_group_state(group, out);
}

void RaftNode::on_state_io(Group& group, const io::IoCompleted& done, io::Outbox& out) {
    touch(group);
    const FileId file(group.id.value() + 1);
    switch (group.state_step) {
        case Group::StateStep::opening: {
            if (done.status != io::IoStatus::ok) {  // try again
                start_group_state(group, out);
                return;
            }
            const IoToken next = state_token(group);
            if (done.size == 0) {  // new (or never written): make its name durable
                group.state_step = Group::StateStep::syncing;
                out.push(io::SyncDir{next});
            } else {
                group.state_step = Group::StateStep::reading;
                out.push(io::Read{next, file, 0, StateSlots::file_bytes});
            }
            return;
        }
        case Group::StateStep::syncing:
            if (done.status != io::IoStatus::ok) {
                const IoToken again = state_token(group);
                out.push(io::SyncDir{again});
                return;
            }
            group.state_step = Group::StateStep::ready;
            maybe_run(group, out);
            return;
        case Group::StateStep::reading: on_state_read(group, done, out); return;
        case Group::StateStep::ready: on_state_written(group, done, out); return;
    }
}

void RaftNode::start_group_state(Group& group, io::Outbox& out) {
    group.state_step = Group::StateStep::opening;
    const IoToken open = state_token(group);
    out.push(io::Open{open, FileId(group.id.value() + 1), state_name(group.id), true});
}

void RaftNode::on_state_read(Group& group, const io::IoCompleted& done, io::Outbox& out) {
    std::optional<StateSlots::Slot> best;
    bool suspect = done.status != io::IoStatus::ok;
    for (std::uint64_t at : {std::uint64_t{0}, StateSlots::slot_stride}) {
        if (done.data.size() < at + StateSlots::slot_bytes) continue;
        bool blank = false;
        const auto slot =
            StateSlots::decode(std::span(done.data).subspan(at, StateSlots::slot_bytes), blank);
        if (!slot && !blank) suspect = true;  // torn, or flipped by this read
        if (slot && (!best || slot->sequence > best->sequence)) best = slot;
    }
    if (suspect && ++group.state_rereads < kStateRereads) {
        const IoToken again = state_token(group);
        out.push(io::Read{again, FileId(group.id.value() + 1), 0, StateSlots::file_bytes});
        return;
    }
    if (best) {
        group.durable_state = best->state;
        group.state_sequence = best->sequence;
    }
    group.state_step = Group::StateStep::ready;
    maybe_run(group, out);
}

void RaftNode::continue_recovery(Group& group, io::Outbox& out) {
    if (group.raft || group.log_read || group.recovery_read || group.stalled) return;
    if (group.log.state() == log::PartitionLog::State::needs_repair) {
        group.stalled = true;
        return;
    }
    if (group.log.state() != log::PartitionLog::State::ready) return;
    SAMSA_ASSERT_MSG(group.log.log_start() == Offset(0),
                     "a Raft log whose start moved needs its base term persisted (not built)");
    const Offset next(static_cast<std::int64_t>(group.restored.size()));
    if (next >= group.log.readable_end()) {
        group.log_read = true;
        maybe_run(group, out);
        return;
    }
    const auto read = group.log.read(next, kRecoveryReadBytes, out);
    if (read.ok()) group.recovery_read = read.value();
}

void RaftNode::on_recovery_read(Group& group, const log::ReadResult& result) {
    group.recovery_read.reset();
    std::vector<raft::Entry> entries;
    bool ok = !result.error && entries_from(result.batches, entries);
    const auto expected = static_cast<std::int64_t>(group.restored.size()) + 1;
    for (std::size_t i = 0; ok && i < entries.size(); ++i) {
        ok = entries[i].index.value() == expected + static_cast<std::int64_t>(i);
    }
    if (!ok || entries.empty()) {
        if (++group.read_failures > kReadFailuresMax) {
            group.stalled = true;
            return;
        }
    } else {
        for (auto& entry : entries) group.restored.push_back(std::move(entry));
    }
}

void RaftNode::maybe_run(Group& group, io::Outbox& out) {
    if (group.raft || !group.log_read || group.state_step != Group::StateStep::ready) return;
    raft::RaftConfig config = params_.raft;
    config.id = params_.self;
    config.voters = params_.nodes;
    config.learners.clear();
    config.may_vote = may_vote_;
    raft::Restored restored;
    restored.hard_state = group.durable_state;
    const raft::Index last(static_cast<std::int64_t>(group.restored.size()));
    // The commit is persisted only once the log holds it; a shorter log is a
    // durability bug the checkers report, not something to start from.
    restored.hard_state.commit = std::min(restored.hard_state.commit, last);
    restored.base_membership.voters = params_.nodes;
    if (params_.keep_digests) {
        group.digests.clear();
        for (const raft::Entry& entry : group.restored) {
            group.digests.push_back({entry.index, entry.term, entry_hash(entry)});
        }
    }
    restored.entries = std::move(group.restored);
    group.restored.clear();
    group.commit_seen = restored.hard_state.commit;
    group.raft = std::make_unique<raft::Raft>(config, prng_.fork(), std::move(restored));
    touch(group);
    drain(group, out);
    const bool all = std::all_of(groups_.begin(), groups_.end(),
                                 [](const auto& g) { return g->raft != nullptr; });
    if (all) phase_ = Phase::running;
}

// ---- The Ready ------------------------------------------------------------

void RaftNode::drain(Group& group, io::Outbox& out) {
    do {
        while (group.raft->has_ready()) apply_ready(group, group.raft->take_ready(), out);
        group.commit_seen = std::max(group.commit_seen, group.raft->commit());
        pump(group, out);
        write_state(group, out);
        // Reads the log answers from its cache complete at once.
    } while (take_log_results(group, out));
}

void RaftNode::apply_ready(Group& group, raft::Ready ready, io::Outbox& out) {
    SAMSA_ASSERT_MSG(!ready.reset, "InstallLogStart needs a log whose start moved (not built)");
    if (ready.truncate_from) {
        truncations_.push_back({group.id, *ready.truncate_from, group.commit_seen});
        group.ops.push_back({*ready.truncate_from, {}});
        truncate_view(group, *ready.truncate_from, out);
    }
    for (raft::Entry& entry : ready.entries) {
        if (params_.keep_digests) {
            group.digests.push_back({entry.index, entry.term, entry_hash(entry)});
        }
        group.ops.push_back({std::nullopt, std::move(entry)});
    }
    if (ready.hard_state) group.state_next = *ready.hard_state;
    for (raft::Message& message : ready.messages) {
        const NodeId to = message.to;
        outgoing_[to].messages.push_back({group.id, std::move(message)});
    }
    if (ready.commit) answer_committed(group, *ready.commit, out);
    for (const raft::ReadRequest& request : ready.reads) {
        const auto bytes = static_cast<std::uint32_t>(params_.raft.append_entries_bytes_max);
        const auto read = group.log.read(Offset(request.from.value() - 1), bytes, out);
        if (read.ok()) {
            group.reads[read.value()] = request;
        } else {
            group.raft->on_entries_read(request.follower, {});
        }
    }
}

void RaftNode::truncate_view(Group& group, raft::Index from, io::Outbox& out) {
    std::erase_if(group.digests, [&](const EntryDigest& d) { return d.index >= from; });
    for (auto it = group.proposals.begin(); it != group.proposals.end();) {
        if (it->index < from) {
            ++it;
            continue;
        }
        answer(it->client, it->sequence, {ProposalStatus::lost, it->index, it->term, {}}, out);
        it = group.proposals.erase(it);
        --pending_proposals_;
    }
}

void RaftNode::answer_committed(Group& group, raft::Index commit, io::Outbox& out) {
    for (auto it = group.proposals.begin(); it != group.proposals.end();) {
        if (it->index > commit) {
            ++it;
            continue;
        }
        const bool ours = group.raft->log().term_at(it->index) == it->term;
        answer(it->client, it->sequence,
               {ours ? ProposalStatus::committed : ProposalStatus::lost, it->index, it->term,
                group.raft->leader()},
               out);
        it = group.proposals.erase(it);
        --pending_proposals_;
    }
}

// ---- Log writes and reads -------------------------------------------------

void RaftNode::pump(Group& group, io::Outbox& out) {
    // The entries of one pump share the log's next write.
    group.log.append_together(out, [&] { pump_ops(group, out); });
}

void RaftNode::pump_ops(Group& group, io::Outbox& out) {
    while (!group.ops.empty() && !group.backoff) {
        Group::Op& op = group.ops.front();
        if (op.truncate_from) {
            if (!group.in_flight.empty()) return;
            const auto cut = group.log.truncate_to(Offset(op.truncate_from->value() - 1), out);
            if (!cut.ok()) {
                // Recovering, repairing or busy: the log's next completion pumps again.
                SAMSA_ASSERT_MSG(cut.error() != log::LogError::offset_out_of_range,
                                 "truncation outside the log");
                return;
            }
            group.ops.pop_front();
            continue;
        }
        auto appended = group.log.append(entry_to_batch(op.entry), op.entry.term.value(), out);
        if (!appended.ok()) {
            SAMSA_ASSERT_MSG(appended.error() == log::LogError::not_ready ||
                                 appended.error() == log::LogError::backpressure,
                             "the log refused a Raft entry");
            return;
        }
        SAMSA_ASSERT(appended.value().base.value() == op.entry.index.value() - 1);
        if (params_.bug == HostBug::ack_before_fsync) {
            group.raft->on_log_durable(op.entry.index, op.entry.term);
        }
        group.in_flight.push_back({appended.value().id, std::move(op.entry)});
        group.ops.pop_front();
    }
}

void RaftNode::on_log_io(Group& group, const io::IoCompleted& done, io::Outbox& out) {
    touch(group);
    group.log.on_io(done, out);
    after_log(group, out);
}

void RaftNode::after_log(Group& group, io::Outbox& out) {
    if (group.raft) {
        take_log_results(group, out);
        drain(group, out);
        return;
    }
    do {
        continue_recovery(group, out);
    } while (!group.raft && take_log_results(group, out));
}

// Hands what the log completed to the group; false if it had nothing.
bool RaftNode::take_log_results(Group& group, io::Outbox& out) {
    auto completed = group.log.take_completed();
    auto reads = group.log.take_reads();
    for (const log::AppendResult& result : completed) on_appended(group, result, out);
    for (const log::ReadResult& result : reads) {
        if (group.recovery_read && *group.recovery_read == result.id) {
            on_recovery_read(group, result);
        } else {
            on_follower_read(group, result);
        }
    }
    return !completed.empty() || !reads.empty();
}

void RaftNode::on_appended(Group& group, const log::AppendResult& result, io::Outbox& out) {
    if (group.in_flight.empty() || group.in_flight.front().id != result.id) return;
    if (result.error) {
        // This append and every one after it failed; the log gave their
        // offsets back. Write them again after a pause.
        while (!group.in_flight.empty()) {
            group.ops.push_front({std::nullopt, std::move(group.in_flight.back().entry)});
            group.in_flight.pop_back();
        }
        group.backoff = true;
        arm_retry(out);
        return;
    }
    const raft::Entry& entry = group.in_flight.front().entry;
    if (params_.bug != HostBug::ack_before_fsync) {
        group.raft->on_log_durable(entry.index, entry.term);
    }
    group.in_flight.pop_front();
}

void RaftNode::on_follower_read(Group& group, const log::ReadResult& result) {
    const auto request = group.reads.find(result.id);
    if (request == group.reads.end()) return;
    std::vector<raft::Entry> entries;
    if (result.error || !entries_from(result.batches, entries)) entries.clear();
    std::erase_if(entries, [&](const raft::Entry& e) {
        return e.index < request->second.from || e.index > request->second.to;
    });
    if (group.raft) group.raft->on_entries_read(request->second.follower, std::move(entries));
    group.reads.erase(request);
}

// ---- The hard-state file --------------------------------------------------

void RaftNode::write_state(Group& group, io::Outbox& out) {
    if (group.state_writing || !group.state_next || group.backoff) return;
    if (group.state_step != Group::StateStep::ready) return;
    // A new commit index alone need not be durable at once (a restarted
    // member learns it again): it rides along every commit_persist_ticks.
    const bool commit_only = group.state_next->term == group.durable_state.term &&
                             group.state_next->vote == group.durable_state.vote;
    if (commit_only && !group.persist_commit) return;
    group.persist_commit = false;
    group.state_writing = std::exchange(group.state_next, std::nullopt);
    const std::uint64_t sequence = group.state_sequence + 1;
    const FileId file(group.id.value() + 1);
    const IoToken write = state_token(group);
    const IoToken sync = state_token(group);
    out.push(io::Write{write, file, (sequence % 2) * StateSlots::slot_stride,
                       StateSlots::encode(sequence, *group.state_writing)});
    out.push(io::Fsync{sync, file});
    group.state_ops_left = 2;
    group.state_failed = false;
}

void RaftNode::on_state_written(Group& group, const io::IoCompleted& done, io::Outbox& out) {
    if (done.status != io::IoStatus::ok) group.state_failed = true;
    if (--group.state_ops_left > 0) return;
    const raft::HardState written = *std::exchange(group.state_writing, std::nullopt);
    if (group.state_failed) {
        if (!group.state_next) group.state_next = written;  // a newer one replaces it
        group.backoff = true;
        arm_retry(out);
        return;
    }
    ++group.state_sequence;
    group.durable_state = written;
    group.raft->on_hard_state_durable(written);
    drain(group, out);
}

}  // namespace samsa::replication

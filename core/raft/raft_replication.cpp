// Log replication: appends and their answers, heartbeats, commitment,
// InstallLogStart, reads of old entries, proposals, membership changes and
// leadership transfer.
#include <algorithm>

#include "core/base/assert.h"
#include "core/raft/quorum.h"
#include "core/raft/raft.h"

namespace samsa::raft {

// ---- Follower side ------------------------------------------------------

void Raft::heard_from_leader(NodeId leader) {
    SAMSA_ASSERT_MSG(role_ != Role::leader, "two leaders in one term");
    if (role_ != Role::follower) {
        set_role(Role::follower);
        votes_.clear();
    }
    leader_ = leader;
    election_elapsed_ = 0;
}

void Raft::handle_append(const Message& message, const AppendRequest& request) {
    heard_from_leader(message.from);
    leader_commit_ = std::max(leader_commit_, request.leader_commit);
    Index prev = request.prev_index;
    Term prev_term = request.prev_term;
    auto first = request.entries.begin();
    // Our committed prefix matches every later leader's log: skip into it.
    if (prev < commit_ && config_.bug != RaftConfig::Bug::truncate_below_commit) {
        while (first != request.entries.end() && first->index <= commit_) ++first;
        prev = commit_;
        prev_term = *log_.term_at(commit_);
        if (first == request.entries.end()) {
            acknowledge(message.from);
            return;
        }
    }
    if (!log_.matches(prev, prev_term)) {
        reject_append(message.from, request.prev_index, request.prev_term);
        return;
    }
    for (auto it = first; it != request.entries.end(); ++it) {
        const auto have = log_.term_at(it->index);
        if (have.has_value()) {
            const bool rewrite = config_.bug == RaftConfig::Bug::truncate_below_commit &&
                                 it->index >= log_.cache_first();
            if (*have == it->term && !rewrite) continue;
            truncate_log_from(it->index);  // asserts it is above our commit index
        }
        append_entry(*it);
    }
    const Index matched = request.entries.empty() ? prev : request.entries.back().index;
    leader_match_ = std::max(leader_match_, matched);
    follower_commit();
    acknowledge(message.from);
}

void Raft::reject_append(NodeId leader, Index prev_index, Term prev_term) {
    AppendResponse response;
    response.success = false;
    response.rejected_index = prev_index;
    response.hint_index = log_.last_index_with_term_at_most(prev_index, prev_term);
    response.hint_term = *log_.term_at(response.hint_index);
    response.last_index = log_.last_index();
    send(leader, response);
}

// Success up to what is both known to match the leader and durable.
void Raft::acknowledge(NodeId leader) {
    AppendResponse response;
    response.success = true;
    // Until the host reports the log reset durable, its disk holds the old
    // log, which may differ at or below the new base: nothing matches yet.
    response.match_index =
        reset_pending_ ? Index(0) : std::min(leader_match_, log_.durable_index());
    response.last_index = leader_match_;
    send(leader, response);
}

void Raft::follower_commit() {
    set_commit(std::min({leader_commit_, leader_match_, log_.durable_index()}));
}

void Raft::handle_heartbeat(const Message& message, const Heartbeat& heartbeat) {
    heard_from_leader(message.from);
    if (heartbeat.commit > log_.last_index()) {
        // The leader sends at most what we acknowledged, and we no longer
        // hold it: our disk was lost. Tell it where our log ends.
        reject_append(message.from, heartbeat.commit, message.term);
        return;
    }
    leader_commit_ = std::max(leader_commit_, heartbeat.commit);
    // The leader sends at most what we acknowledged (durably, in this term):
    // that prefix matches its log even if we restarted since.
    if (heartbeat.commit <= log_.last_index()) {
        leader_match_ = std::max(leader_match_, heartbeat.commit);
    }
    follower_commit();
    send(message.from, HeartbeatResponse{});
}

void Raft::handle_install(const Message& message, const InstallLogStart& install) {
    heard_from_leader(message.from);
    leader_commit_ = std::max(leader_commit_, install.leader_commit);
    // At or below our commit index the base is ours too (perhaps already
    // behind our own log start).
    const bool have_base =
        install.base_index <= commit_ || log_.matches(install.base_index, install.base_term);
    if (!have_base) {
        log_.reset(install.base_index, install.base_term);
        base_membership_ = install.membership;
        configs_.clear();
        ready_.reset = LogReset{install.base_index, install.base_term, install.membership};
        reset_pending_ = install.base_index;
        ready_.entries.clear();
        ready_.truncate_from.reset();
        // Everything up to the leader's log start is committed.
        commit_ = install.base_index;
        ready_.commit = commit_;
    }
    leader_match_ = std::max(leader_match_, install.base_index);
    follower_commit();
    acknowledge(message.from);
}

// ---- Leader side --------------------------------------------------------

void Raft::handle_append_response(const Message& message, const AppendResponse& response) {
    if (role_ != Role::leader) return;
    const auto it = progress_.find(message.from);
    if (it == progress_.end()) return;
    Progress& progress = it->second;
    progress.recent_active = true;
    if (response.success) {
        const Index appended = std::min(response.last_index, log_.last_index());
        const Index match_before = progress.match();
        if (progress.acknowledged(std::min(response.match_index, appended), appended)) {
            const Index commit_before = commit_;
            maybe_commit();  // a new commit index goes to every follower at once
            // It may now commit what it could not know matched before.
            if (role_ == Role::leader && commit_ == commit_before && commit_ > match_before) {
                send(message.from, Heartbeat{std::min(commit_, progress.match())});
            }
        }
        maybe_send_timeout_now(message.from);
    } else if (response.last_index < progress.match()) {
        // It lost entries it had acknowledged (a wiped disk): start it over
        // from where its log ends now.
        progress.lost_log(response.last_index);
    } else {
        // Jump back over whole terms: the last index of ours at or below the
        // hint whose term is at most the hint's term.
        Index next = log_.last_index_with_term_at_most(response.hint_index, response.hint_term);
        next = std::min(next.next(), response.last_index.next());
        if (!progress.rejected(response.rejected_index, next)) return;
    }
    if (role_ == Role::leader) send_append(message.from);
}

void Raft::handle_heartbeat_response(const Message& message) {
    if (role_ != Role::leader) return;
    const auto it = progress_.find(message.from);
    if (it == progress_.end()) return;
    Progress& progress = it->second;
    progress.recent_active = true;
    if (progress.match() >= log_.last_index()) return;
    const bool all_sent =
        progress.state() == Progress::State::replicate && progress.next() > log_.last_index();
    if (!all_sent) {
        if (!progress.can_send()) progress.free_first_inflight();
        send_append(message.from);
        return;
    }
    // Everything was sent and something is still unacknowledged: the
    // appends may have been lost (or the follower restarted). An empty
    // append at the end finds out - a rejection falls back to probing.
    const Index prev(progress.next().value() - 1);
    send(message.from, AppendRequest{prev, *log_.term_at(prev), {}, commit_});
}

void Raft::send_append(NodeId to) {
    Progress& progress = progress_.at(to);
    for (std::size_t sent = 0; sent < config_.inflight_appends_max; ++sent) {
        if (!progress.can_send() || progress.read_pending) return;
        const Index prev(progress.next().value() - 1);
        if (prev < log_.base_index()) {
            send_install(to, progress);
            return;
        }
        const bool probing = progress.state() == Progress::State::probe;
        if (!probing && progress.next() > log_.last_index()) return;
        if (progress.next() <= log_.last_index() && progress.next() < log_.cache_first()) {
            const Index to_index(std::min(log_.cache_first(), log_.last_index().next()).value() -
                                 1);
            ready_.reads.push_back(ReadRequest{to, progress.next(), to_index});
            progress.read_pending = true;
            return;
        }
        std::vector<Entry> entries;
        std::size_t bytes = 0;
        for (Index i = progress.next(); i <= log_.last_index(); i = i.next()) {
            const Entry* entry = log_.cached(i);
            SAMSA_ASSERT(entry != nullptr);
            if (!entries.empty() &&
                bytes + entry->payload.size() > config_.append_entries_bytes_max)
                break;
            bytes += entry->payload.size();
            entries.push_back(*entry);
        }
        send_entries(to, progress, std::move(entries));
        if (probing) return;
    }
}

void Raft::send_entries(NodeId to, Progress& progress, std::vector<Entry> entries) {
    const Index prev(progress.next().value() - 1);
    const auto prev_term = log_.term_at(prev);
    SAMSA_ASSERT(prev_term.has_value());
    std::size_t bytes = 0;
    for (const Entry& entry : entries) bytes += entry.payload.size();
    const Index last = entries.empty() ? prev : entries.back().index;
    SAMSA_ASSERT(entries.empty() || entries.front().index == progress.next());
    progress.sent(last, bytes);
    send(to, AppendRequest{prev, *prev_term, std::move(entries), commit_});
}

void Raft::send_install(NodeId to, Progress& progress) {
    send(to, InstallLogStart{log_.base_index(), log_.base_term(), base_membership_, commit_});
    progress.become_install(log_.base_index());
}

void Raft::on_entries_read(NodeId follower, std::vector<Entry> entries) {
    const auto it = progress_.find(follower);
    if (role_ != Role::leader || it == progress_.end() || !it->second.read_pending) return;
    Progress& progress = it->second;
    progress.read_pending = false;
    // Keep what is still wanted: contiguous from `next`, of the terms we know.
    std::vector<Entry> wanted;
    std::size_t bytes = 0;
    Index expected = progress.next();
    for (Entry& entry : entries) {
        if (entry.index < expected) continue;
        if (entry.index != expected || !log_.matches(entry.index, entry.term)) break;
        if (!wanted.empty() && bytes + entry.payload.size() > config_.append_entries_bytes_max)
            break;
        bytes += entry.payload.size();
        expected = expected.next();
        wanted.push_back(std::move(entry));
    }
    if (wanted.empty() || !progress.can_send()) return;
    send_entries(follower, progress, std::move(wanted));
    send_append(follower);
    check_invariants();
}

void Raft::broadcast_append() {
    for (auto& [id, progress] : progress_) send_append(id);
}

// A follower may commit up to what it acknowledged: never more.
void Raft::broadcast_heartbeat() {
    for (const auto& [id, progress] : progress_) {
        send(id, Heartbeat{std::min(commit_, progress.match())});
    }
}

// Commits the largest index of this term that a majority of voters hold
// durably; the leader's own log counts up to its durable index.
void Raft::maybe_commit() {
    if (role_ != Role::leader) return;
    Index reached = quorum_index(membership().voters, [this](NodeId voter) {
        if (voter == config_.id) return log_.durable_index();
        const auto it = progress_.find(voter);
        return it == progress_.end() ? Index(0) : it->second.match();
    });
    if (config_.bug == RaftConfig::Bug::commit_without_quorum) reached = log_.durable_index();
    if (reached <= commit_ || log_.term_at(reached) != term_) return;
    set_commit(reached);
    broadcast_heartbeat();  // tell followers at once
    const bool config_committed = configs_.empty() || configs_.back().first <= commit_;
    if (config_committed && !membership().is_voter(config_.id)) {
        become_follower(term_, std::nullopt);  // we removed ourselves
    }
}

void Raft::sync_progress() {
    const Membership& members = membership();
    std::erase_if(progress_, [&](const auto& item) { return !members.contains(item.first); });
    if (transferee_.has_value() && !members.is_voter(*transferee_)) transferee_.reset();
    auto add = [&](NodeId id) {
        if (id == config_.id || progress_.contains(id)) return;
        auto [it, added] =
            progress_.emplace(id, Progress(log_.last_index().next(), config_.inflight_appends_max,
                                           config_.inflight_bytes_max));
        it->second.recent_active = true;
    };
    for (NodeId id : members.voters) add(id);
    for (NodeId id : members.learners) add(id);
}

void Raft::maybe_send_timeout_now(NodeId to) {
    if (transferee_ != to) return;
    const Progress* target = progress(to);
    if (target != nullptr && target->match() == log_.last_index()) send(to, TimeoutNow{});
}

// ---- Proposals ----------------------------------------------------------

Result<Index, ProposeError> Raft::leader_append(EntryKind kind, io::Bytes payload) {
    if (role_ != Role::leader) return Failure{ProposeError::not_leader};
    if (transferee_.has_value()) return Failure{ProposeError::transferring_leadership};
    const std::size_t bytes = payload.size();
    if (uncommitted_bytes_ > 0 && uncommitted_bytes_ + bytes > config_.uncommitted_bytes_max) {
        return Failure{ProposeError::too_many_uncommitted_bytes};
    }
    const Index index = log_.last_index().next();
    append_entry(Entry{term_, index, kind, std::move(payload)});
    uncommitted_bytes_ += bytes;
    if (kind == EntryKind::config) sync_progress();
    broadcast_append();
    maybe_commit();
    check_invariants();
    return index;
}

Result<Index, ProposeError> Raft::propose(io::Bytes payload) {
    return leader_append(EntryKind::normal, std::move(payload));
}

Status<ProposeError> Raft::can_change_config() const {
    if (role_ != Role::leader) return Failure{ProposeError::not_leader};
    if (transferee_.has_value()) return Failure{ProposeError::transferring_leadership};
    // This term's noop first: a change must not ride on an older leader's
    // uncommitted one.
    if (commit_ < term_start_index_) return Failure{ProposeError::config_change_pending};
    if (!configs_.empty() && configs_.back().first > commit_) {
        return Failure{ProposeError::config_change_pending};
    }
    return {};
}

Result<Index, ProposeError> Raft::propose_config_change(ConfigChange change) {
    if (auto allowed = can_change_config(); !allowed) return Failure{allowed.error()};
    Membership next = membership();
    const NodeId node = change.node;
    switch (change.kind) {
        case ConfigChange::Kind::add_learner:
            if (next.contains(node)) return Failure{ProposeError::invalid_config_change};
            next.learners.insert(std::upper_bound(next.learners.begin(), next.learners.end(), node),
                                 node);
            break;
        case ConfigChange::Kind::promote_learner: {
            if (!next.is_learner(node)) return Failure{ProposeError::invalid_config_change};
            const Progress* learner = progress(node);
            if (learner == nullptr ||
                learner->match().plus(config_.promote_lag_entries_max) < log_.last_index()) {
                return Failure{ProposeError::learner_not_caught_up};
            }
            std::erase(next.learners, node);
            next.voters.insert(std::upper_bound(next.voters.begin(), next.voters.end(), node),
                               node);
            break;
        }
        case ConfigChange::Kind::remove_voter:
            if (!next.is_voter(node) || next.voters.size() == 1) {
                return Failure{ProposeError::invalid_config_change};
            }
            std::erase(next.voters, node);
            break;
    }
    return leader_append(EntryKind::config, encode_membership(next));
}

Status<ProposeError> Raft::transfer_leadership(NodeId target) {
    if (role_ != Role::leader) return Failure{ProposeError::not_leader};
    if (target == config_.id) return {};
    if (!membership().is_voter(target)) return Failure{ProposeError::invalid_config_change};
    transferee_ = target;
    transfer_elapsed_ = 0;
    maybe_send_timeout_now(target);
    send_append(target);
    return {};
}

}  // namespace samsa::raft

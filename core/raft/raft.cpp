// Construction, the storage reports, the Ready, and the plumbing shared by
// elections (raft_election.cpp) and replication (raft_replication.cpp).
#include "core/raft/raft.h"

#include <algorithm>

#include "core/base/assert.h"
#include "core/base/big_endian.h"

namespace samsa::raft {

bool Membership::valid() const noexcept {
    if (voters.empty()) return false;
    if (!std::is_sorted(voters.begin(), voters.end())) return false;
    if (!std::is_sorted(learners.begin(), learners.end())) return false;
    if (std::adjacent_find(voters.begin(), voters.end()) != voters.end()) return false;
    if (std::adjacent_find(learners.begin(), learners.end()) != learners.end()) return false;
    return std::none_of(learners.begin(), learners.end(),
                        [this](NodeId id) { return is_voter(id); });
}

namespace {

void put_ids(io::Bytes& out, const std::vector<NodeId>& ids) {
    put_be<std::uint32_t>(out, static_cast<std::uint32_t>(ids.size()));
    for (NodeId id : ids) put_be<std::int32_t>(out, id.value());
}

bool get_ids(const io::Bytes& in, std::size_t& at, std::vector<NodeId>& ids) {
    constexpr std::size_t ids_max = 1024;
    if (in.size() - at < 4) return false;
    const auto count = get_be<std::uint32_t>(in, at);
    at += 4;
    if (count > ids_max || in.size() - at < std::size_t{count} * 4) return false;
    for (std::uint32_t i = 0; i < count; ++i, at += 4)
        ids.emplace_back(get_be<std::int32_t>(in, at));
    return true;
}

}  // namespace

io::Bytes encode_membership(const Membership& membership) {
    SAMSA_ASSERT(membership.valid());
    io::Bytes out;
    put_ids(out, membership.voters);
    put_ids(out, membership.learners);
    return out;
}

std::optional<Membership> decode_membership(const io::Bytes& payload) {
    Membership membership;
    std::size_t at = 0;
    if (!get_ids(payload, at, membership.voters)) return std::nullopt;
    if (!get_ids(payload, at, membership.learners)) return std::nullopt;
    if (at != payload.size() || !membership.valid()) return std::nullopt;
    return membership;
}

const char* to_string(Role role) noexcept {
    switch (role) {
        case Role::follower: return "follower";
        case Role::pre_candidate: return "pre_candidate";
        case Role::candidate: return "candidate";
        case Role::leader: return "leader";
    }
    return "?";
}

const char* to_string(ProposeError error) noexcept {
    switch (error) {
        case ProposeError::not_leader: return "not_leader";
        case ProposeError::transferring_leadership: return "transferring_leadership";
        case ProposeError::too_many_uncommitted_bytes: return "too_many_uncommitted_bytes";
        case ProposeError::config_change_pending: return "config_change_pending";
        case ProposeError::invalid_config_change: return "invalid_config_change";
        case ProposeError::learner_not_caught_up: return "learner_not_caught_up";
    }
    return "?";
}

bool Ready::empty() const noexcept {
    return !reset && !truncate_from && entries.empty() && !hard_state && messages.empty() &&
           !commit && reads.empty() && !role;
}

Raft::Raft(RaftConfig config, Prng prng)
    : Raft(config, prng, Restored{HardState{}, Index(0), Term(0), Membership{}, {}}) {}

Raft::Raft(RaftConfig config, Prng prng, Restored restored)
    : config_(std::move(config)),
      prng_(prng),
      term_(restored.hard_state.term),
      vote_(restored.hard_state.vote),
      commit_(restored.hard_state.commit),
      log_(restored.base_index, restored.base_term),
      base_membership_(std::move(restored.base_membership)) {
    SAMSA_ASSERT(config_.election_timeout_ticks > 0 && config_.heartbeat_ticks > 0);
    SAMSA_ASSERT(config_.heartbeat_ticks < config_.election_timeout_ticks);
    if (base_membership_.voters.empty()) {
        base_membership_.voters = config_.voters;
        base_membership_.learners = config_.learners;
        std::sort(base_membership_.voters.begin(), base_membership_.voters.end());
        std::sort(base_membership_.learners.begin(), base_membership_.learners.end());
    }
    SAMSA_ASSERT_MSG(base_membership_.valid(), "voters and learners: sorted, disjoint, nonempty");
    for (Entry& entry : restored.entries) {
        const Index index = entry.index;
        const Term term = entry.term;
        note_config_entry(entry);
        log_.append(std::move(entry));
        log_.mark_durable(index, term);
    }
    // Everything before the log start was committed (retention keeps only
    // committed entries out), even if the hard state was written earlier.
    commit_ = std::max(commit_, log_.base_index());
    SAMSA_ASSERT_MSG(commit_ <= log_.last_index(), "a durable commit beyond the durable log");
    // A log entry of a later term than the hard state: that term was seen.
    if (log_.last_term() > term_) {
        term_ = log_.last_term();
        vote_.reset();
    }
    emitted_ = restored.hard_state;
    durable_ = restored.hard_state;
    leader_match_ = commit_;
    log_.evict(commit_, config_.entry_cache_bytes_max);
    reset_election_timer();
    check_invariants();
}

const Membership& Raft::membership() const noexcept {
    return configs_.empty() ? base_membership_ : configs_.back().second;
}

const Progress* Raft::progress(NodeId follower) const {
    const auto it = progress_.find(follower);
    return it == progress_.end() ? nullptr : &it->second;
}

HardState Raft::hard_state() const noexcept {
    return HardState{term_, vote_, std::min(commit_, log_.durable_index())};
}

bool Raft::term_vote_durable() const noexcept {
    return durable_.term == term_ && durable_.vote == vote_;
}

void Raft::send(NodeId to, MessageBody body) {
    send_with_term(to, term_, std::move(body));
}

void Raft::send_with_term(NodeId to, Term term, MessageBody body) {
    SAMSA_ASSERT(to != config_.id);
    Message message{config_.id, to, term, std::move(body)};
    if (term_vote_durable()) {
        ready_.messages.push_back(std::move(message));
    } else if (held_.size() < held_messages_max) {
        held_.push_back(std::move(message));
    }  // else dropped, as the network may drop it
}

void Raft::append_entry(Entry entry) {
    note_config_entry(entry);
    ready_.entries.push_back(entry);
    log_.append(std::move(entry));
}

void Raft::truncate_log_from(Index from) {
    if (config_.bug == RaftConfig::Bug::truncate_below_commit && from <= commit_) {
        commit_ = Index(from.value() - 1);  // the canary's bug; the host's checkers see it
    }
    SAMSA_ASSERT_MSG(from > commit_, "truncation at or below the commit index");
    log_.truncate_from(from);
    while (!configs_.empty() && configs_.back().first >= from) configs_.pop_back();
    std::erase_if(ready_.entries, [from](const Entry& e) { return e.index >= from; });
    if (ready_.entries.empty() || ready_.entries.front().index > from) {
        ready_.truncate_from = std::min(ready_.truncate_from.value_or(from), from);
    }
}

void Raft::note_config_entry(const Entry& entry) {
    if (entry.kind != EntryKind::config) return;
    auto membership = decode_membership(entry.payload);
    SAMSA_ASSERT_MSG(membership.has_value(), "a config entry that does not decode");
    configs_.emplace_back(entry.index, std::move(*membership));
}

void Raft::set_commit(Index commit) {
    if (commit <= commit_) return;
    SAMSA_ASSERT(commit <= log_.last_index());
    for (Index i = commit_.next(); i <= commit; i = i.next()) {
        const Entry* entry = log_.cached(i);
        if (entry == nullptr) continue;
        uncommitted_bytes_ -= std::min(uncommitted_bytes_, entry->payload.size());
    }
    commit_ = commit;
    ready_.commit = commit_;
    log_.evict(commit_, config_.entry_cache_bytes_max);
}

void Raft::on_log_durable(Index up_to, Term term) {
    const bool reset_done = reset_pending_ && up_to >= *reset_pending_ && log_.matches(up_to, term);
    if (reset_done) reset_pending_.reset();
    if (!log_.mark_durable(up_to, term) && !reset_done) return;
    if (role_ == Role::leader) {
        maybe_commit();
    } else {
        follower_commit();
        if (leader_.has_value()) acknowledge(*leader_);
    }
    log_.evict(commit_, config_.entry_cache_bytes_max);
    check_invariants();
}

void Raft::on_hard_state_durable(const HardState& persisted) {
    if (persisted.term < durable_.term) return;  // an older write completing late
    durable_ = persisted;
    if (!term_vote_durable()) return;
    for (Message& message : held_) ready_.messages.push_back(std::move(message));
    held_.clear();
    if (role_ == Role::candidate) maybe_win();
    check_invariants();
}

void Raft::on_log_start_advanced(Index new_start) {
    const Index base(new_start.value() - 1);
    if (base <= log_.base_index()) return;
    SAMSA_ASSERT_MSG(base <= commit_, "retention of uncommitted entries");
    log_.advance_base(base);
    while (!configs_.empty() && configs_.front().first <= base) {
        base_membership_ = std::move(configs_.front().second);
        configs_.erase(configs_.begin());
    }
    check_invariants();
}

bool Raft::has_ready() const noexcept {
    return !ready_.empty() || hard_state() != emitted_;
}

Ready Raft::take_ready() {
    const HardState now = hard_state();
    if (now != emitted_) {
        ready_.hard_state = now;
        emitted_ = now;
    }
    Ready out = std::move(ready_);
    ready_ = Ready{};
    return out;
}

void Raft::check_invariants() const {
    SAMSA_ASSERT(commit_ >= log_.base_index() && commit_ <= log_.last_index());
    SAMSA_ASSERT(membership().valid());
    SAMSA_ASSERT(role_ != Role::leader || leader_ == config_.id);
    SAMSA_ASSERT(role_ != Role::leader || vote_ == config_.id);
    SAMSA_ASSERT(role_ != Role::candidate || vote_ == config_.id);
    SAMSA_ASSERT(held_.size() <= held_messages_max);
    for (const auto& [id, progress] : progress_) {
        SAMSA_ASSERT(progress.match() <= log_.last_index());
        SAMSA_ASSERT(progress.inflight_count() <= config_.inflight_appends_max);
    }
}

}  // namespace samsa::raft

// Terms, elections, pre-vote, check-quorum and leader stickiness, timers, and
// the dispatch of incoming messages.
#include <type_traits>

#include "core/base/assert.h"
#include "core/raft/quorum.h"
#include "core/raft/raft.h"

namespace samsa::raft {

namespace {

bool from_leader(const MessageBody& body) {
    return std::holds_alternative<AppendRequest>(body) || std::holds_alternative<Heartbeat>(body) ||
           std::holds_alternative<InstallLogStart>(body) ||
           std::holds_alternative<TimeoutNow>(body);
}

}  // namespace

void Raft::step(const Message& message) {
    if (message.to != config_.id || message.from == config_.id) return;
    if (!handle_term(message)) return;
    std::visit(
        [&](const auto& body) {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, VoteRequest>) {
                handle_vote_request(message, body);
            } else if constexpr (std::is_same_v<T, VoteResponse>) {
                handle_vote_response(message, body);
            } else if constexpr (std::is_same_v<T, AppendRequest>) {
                handle_append(message, body);
            } else if constexpr (std::is_same_v<T, AppendResponse>) {
                handle_append_response(message, body);
            } else if constexpr (std::is_same_v<T, Heartbeat>) {
                handle_heartbeat(message, body);
            } else if constexpr (std::is_same_v<T, HeartbeatResponse>) {
                handle_heartbeat_response(message);
            } else if constexpr (std::is_same_v<T, TimeoutNow>) {
                handle_timeout_now(message);
            } else {
                static_assert(std::is_same_v<T, InstallLogStart>);
                handle_install(message, body);
            }
        },
        message.body);
    check_invariants();
}

// Moves to a newer term if the message carries one. False: drop the message.
bool Raft::handle_term(const Message& message) {
    if (message.term < term_) {
        reply_to_stale(message);
        return false;
    }
    if (message.term == term_) return true;
    if (const auto* request = std::get_if<VoteRequest>(&message.body)) {
        // Leader stickiness: a live leader was heard from recently.
        if (in_lease() && !request->transfer) return false;
        if (request->pre_vote) return true;  // answering a pre-vote changes no term
        become_follower(message.term, std::nullopt);
        return true;
    }
    if (const auto* response = std::get_if<VoteResponse>(&message.body)) {
        // A granted pre-vote carries the term we would campaign in.
        if (response->pre_vote && response->granted) return true;
    }
    const bool leader = from_leader(message.body);
    become_follower(message.term, leader ? std::optional(message.from) : std::nullopt);
    return true;
}

// A message of an older term: tell its sender about ours so that a stale
// leader steps down and a stale (pre-)candidate catches up - otherwise a
// candidate whose voters run ahead of it in terms might never catch up.
void Raft::reply_to_stale(const Message& message) {
    if (const auto* request = std::get_if<VoteRequest>(&message.body)) {
        send(message.from, VoteResponse{request->pre_vote, false});
        return;
    }
    if (from_leader(message.body)) send(message.from, HeartbeatResponse{});
}

void Raft::set_role(Role role) {
    if (role == role_) return;
    role_ = role;
    ready_.role = role;
}

void Raft::reset_election_timer() {
    election_elapsed_ = 0;
    const std::int32_t timeout = config_.election_timeout_ticks;
    randomized_timeout_ =
        timeout + static_cast<std::int32_t>(prng_.uniform(static_cast<std::uint64_t>(timeout)));
    SAMSA_ASSERT(randomized_timeout_ >= timeout && randomized_timeout_ < 2 * timeout);
}

void Raft::become_follower(Term term, std::optional<NodeId> leader) {
    SAMSA_ASSERT(term >= term_);
    if (term > term_) {
        term_ = term;
        vote_.reset();
        // Only the committed prefix is known to match a new term's leader.
        leader_match_ = commit_;
        leader_commit_ = commit_;
    }
    set_role(Role::follower);
    leader_ = leader;
    progress_.clear();
    transferee_.reset();
    votes_.clear();
    reset_election_timer();
}

// A voter may campaign - and so may a member whose latest, uncommitted
// config removed it while the one before had it vote: otherwise a leader
// that removed itself and lost leadership before the change committed could
// hold the only up-to-date log, over which no one else can be elected.
bool Raft::promotable() const noexcept {
    if (!config_.may_vote) return false;
    if (membership().is_voter(config_.id)) return true;
    if (configs_.empty() || configs_.back().first <= commit_) return false;
    const Membership& previous =
        configs_.size() >= 2 ? configs_[configs_.size() - 2].second : base_membership_;
    return previous.is_voter(config_.id);
}

bool Raft::in_lease() const noexcept {
    return config_.check_quorum && leader_.has_value() &&
           election_elapsed_ < config_.election_timeout_ticks;
}

void Raft::campaign(bool transfer) {
    if (!promotable() || role_ == Role::leader) return;
    if (config_.pre_vote && !transfer) {
        become_pre_candidate();
    } else {
        become_candidate(transfer);
    }
}

void Raft::become_pre_candidate() {
    set_role(Role::pre_candidate);
    leader_.reset();
    votes_.clear();
    votes_[config_.id] = true;
    reset_election_timer();
    const VoteRequest request{true, false, log_.last_index(), log_.last_term()};
    for (NodeId voter : membership().voters) {
        if (voter != config_.id) send_with_term(voter, next_term(term_), request);
    }
    maybe_win();
}

void Raft::become_candidate(bool transfer) {
    term_ = next_term(term_);
    vote_ = config_.id;
    leader_match_ = commit_;
    leader_commit_ = commit_;
    set_role(Role::candidate);
    leader_.reset();
    votes_.clear();
    votes_[config_.id] = true;
    reset_election_timer();
    const VoteRequest request{false, transfer, log_.last_index(), log_.last_term()};
    for (NodeId voter : membership().voters) {
        if (voter != config_.id) send(voter, request);
    }
    maybe_win();
}

void Raft::maybe_win() {
    const VoteOutcome outcome = tally(membership().voters, votes_);
    if (outcome == VoteOutcome::lost) {
        become_follower(term_, std::nullopt);
        return;
    }
    if (outcome != VoteOutcome::won) return;
    if (role_ == Role::pre_candidate) {
        become_candidate(false);
    } else if (role_ == Role::candidate && term_vote_durable()) {
        // Our own vote counts only once it is durable.
        become_leader();
    }
}

void Raft::become_leader() {
    SAMSA_ASSERT(role_ == Role::candidate && vote_ == config_.id);
    set_role(Role::leader);
    leader_ = config_.id;
    votes_.clear();
    progress_.clear();
    transferee_.reset();
    heartbeat_elapsed_ = 0;
    election_elapsed_ = 0;
    uncommitted_bytes_ = 0;
    sync_progress();
    term_start_index_ = log_.last_index().next();
    append_entry(Entry{term_, term_start_index_, EntryKind::noop, {}});
    broadcast_append();
    maybe_commit();
}

void Raft::handle_vote_request(const Message& message, const VoteRequest& request) {
    const bool up_to_date =
        request.last_term > log_.last_term() ||
        (request.last_term == log_.last_term() && request.last_index >= log_.last_index());
    const bool can_vote = vote_ == message.from || (!vote_.has_value() && !leader_.has_value()) ||
                          (request.pre_vote && message.term > term_) ||
                          (config_.bug == RaftConfig::Bug::vote_twice && role_ == Role::follower);
    if (!config_.may_vote || !can_vote || !up_to_date) {
        send(message.from, VoteResponse{request.pre_vote, false});
        return;
    }
    if (request.pre_vote) {
        send_with_term(message.from, message.term, VoteResponse{true, true});
        if (role_ == Role::pre_candidate && message.from < config_.id &&
            message.term == next_term(term_)) {
            // Two members asking at once would both win their pre-votes and
            // then split the real vote; the higher id steps back (a pre-vote
            // changes nothing durable, so this is always safe).
            become_follower(term_, std::nullopt);
            reset_election_timer();
        }
        return;
    }
    SAMSA_ASSERT(message.term == term_);
    vote_ = message.from;
    reset_election_timer();
    send(message.from, VoteResponse{false, true});  // held until the vote is durable
}

void Raft::handle_vote_response(const Message& message, const VoteResponse& response) {
    if (role_ == Role::pre_candidate && response.pre_vote) {
        const Term expected = response.granted ? next_term(term_) : term_;
        if (message.term != expected) return;
    } else if (role_ != Role::candidate || response.pre_vote || message.term != term_) {
        return;
    }
    votes_[message.from] = response.granted;
    maybe_win();
}

void Raft::handle_timeout_now(const Message& message) {
    if (role_ == Role::leader || leader_ != message.from) return;
    campaign(true);
}

void Raft::tick() {
    if (role_ == Role::leader) {
        tick_leader();
    } else {
        if (election_elapsed_ < randomized_timeout_) ++election_elapsed_;
        if (election_elapsed_ >= randomized_timeout_ && promotable()) campaign(false);
    }
    check_invariants();
}

void Raft::tick_leader() {
    ++heartbeat_elapsed_;
    ++election_elapsed_;
    if (election_elapsed_ >= config_.election_timeout_ticks) {
        election_elapsed_ = 0;
        if (config_.check_quorum) {
            std::map<NodeId, bool> active{{config_.id, true}};
            for (const auto& [id, progress] : progress_) active[id] = progress.recent_active;
            if (tally(membership().voters, active) != VoteOutcome::won) {
                become_follower(term_, std::nullopt);
                return;
            }
            for (auto& [id, progress] : progress_) progress.recent_active = false;
        }
    }
    if (transferee_.has_value() && ++transfer_elapsed_ >= config_.election_timeout_ticks) {
        transferee_.reset();  // the transfer did not happen in time: abort it
    }
    if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
        heartbeat_elapsed_ = 0;
        for (auto& [id, progress] : progress_) progress.unpause();
        broadcast_heartbeat();
    }
}

}  // namespace samsa::raft

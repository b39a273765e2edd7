// One Raft group as a pure, deterministic state machine.
//
// Theory of operation. The host feeds inputs - tick(), step(message),
// propose(), propose_config_change(), transfer_leadership(), and reports of
// its storage: on_log_durable(), on_hard_state_durable(), on_entries_read(),
// on_log_start_advanced() - and after each one drains take_ready(): the
// entries to append durably (after an optional reset or truncation), the hard
// state to persist, messages to send, how far entries are committed, reads
// of old entries the machine no longer holds, and role changes. There is no
// I/O, clock, thread or exception here; randomness (election timeouts) comes
// from the Prng the host passes in.
//
// Storage stays with the host. The machine keeps a view of the log
// (raft_log.h): its base and term runs, how far it is durable, and a cache of
// the newest entries.
//
// Durability before acknowledgement:
//   - a message sent while the current (term, vote) is not yet known durable
//     is held and released by on_hard_state_durable(): no vote reply, append
//     reply or campaign leaves before the term and vote it depends on;
//   - a follower acknowledges an index only once on_log_durable() covered it;
//   - the leader counts its own log only up to on_log_durable(), and commits
//     only entries of its own term, once a majority of voters holds them
//     durably; a new leader's noop is therefore the first entry it commits.
//
// Elections: a voter that hears nothing from a leader for a randomized
// timeout in [T, 2T) ticks first asks for pre-votes (which change no one's
// term), then campaigns. With check-quorum, a leader that has not heard from
// a majority within T ticks steps down, and a node that heard from a leader
// within T ticks ignores (pre-)vote requests (leader stickiness), unless they
// come from a leadership transfer (TimeoutNow).
//
// Replication: per-follower Progress (progress.h) in probe, replicate or
// install state; appends pipelined within a window of count and bytes;
// rejections carry a term-run hint. A follower's divergent suffix is cut, never
// at or below its commit index. A follower behind the leader's log start is
// sent InstallLogStart and starts its log over there.
//
// Membership: one change at a time (add a learner, promote a caught-up
// learner, remove a voter), each a config entry in effect as soon as it is
// appended; the next may be proposed only once it and this term's noop are
// committed. A leader that removed itself steps down once that commits.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "core/base/prng.h"
#include "core/base/result.h"
#include "core/raft/messages.h"
#include "core/raft/progress.h"
#include "core/raft/raft_log.h"
#include "core/raft/types.h"

namespace samsa::raft {

// The host's log must start over, empty, after (base_index, base_term), with
// `membership` in effect there (persisted with it, as a snapshot's metadata).
struct LogReset {
    Index base_index;
    Term base_term;
    Membership membership;
};

// Entries [from, to] that the leader needs for `follower` and no longer
// holds: the host reads them and calls on_entries_read().
struct ReadRequest {
    NodeId follower;
    Index from;
    Index to;
};

// What the host does after each input, in this order: apply `reset`, then
// `truncate_from`, then append `entries`, and persist `hard_state` - then
// report with on_log_durable(last index written, its term) and
// on_hard_state_durable(hard state). `messages` may be sent at once.
struct Ready {
    std::optional<LogReset> reset;
    std::optional<Index> truncate_from;
    std::vector<Entry> entries;
    std::optional<HardState> hard_state;
    std::vector<Message> messages;
    // Entries up to here are committed: apply those not yet applied.
    std::optional<Index> commit;
    std::vector<ReadRequest> reads;
    std::optional<Role> role;  // the role changed to this

    [[nodiscard]] bool empty() const noexcept;
};

// The durable state a restarted member starts from.
struct Restored {
    HardState hard_state;
    Index base_index;
    Term base_term;
    Membership base_membership;
    std::vector<Entry> entries;  // the durable log after the base, in order
};

class Raft {
public:
    // Messages held until their term and vote are durable.
    static constexpr std::size_t held_messages_max = 4096;

    // A member with an empty log, term 0, and config.voters/learners.
    Raft(RaftConfig config, Prng prng);
    Raft(RaftConfig config, Prng prng, Restored restored);

    void tick();
    void step(const Message& message);
    Result<Index, ProposeError> propose(io::Bytes payload);
    Result<Index, ProposeError> propose_config_change(ConfigChange change);
    Status<ProposeError> transfer_leadership(NodeId target);
    void on_log_durable(Index up_to, Term term);
    void on_hard_state_durable(const HardState& persisted);
    // Entries the host read for a ReadRequest (empty if the read failed).
    void on_entries_read(NodeId follower, std::vector<Entry> entries);
    // Retention removed the log before `new_start` (committed and durable).
    void on_log_start_advanced(Index new_start);

    Ready take_ready();
    // Whether take_ready() would return something (cheaper than taking it).
    [[nodiscard]] bool has_ready() const noexcept;

    [[nodiscard]] NodeId id() const noexcept { return config_.id; }
    [[nodiscard]] Role role() const noexcept { return role_; }
    [[nodiscard]] Term term() const noexcept { return term_; }
    [[nodiscard]] std::optional<NodeId> vote() const noexcept { return vote_; }
    [[nodiscard]] std::optional<NodeId> leader() const noexcept { return leader_; }
    [[nodiscard]] Index commit() const noexcept { return commit_; }
    [[nodiscard]] const RaftLog& log() const noexcept { return log_; }
    [[nodiscard]] const Membership& membership() const noexcept;
    // The membership in effect at the log's base (persist with the log start).
    [[nodiscard]] const Membership& base_membership() const noexcept { return base_membership_; }
    // Config entries after the base: (index, membership).
    [[nodiscard]] const std::vector<std::pair<Index, Membership>>& config_entries() const noexcept {
        return configs_;
    }
    [[nodiscard]] const Progress* progress(NodeId follower) const;
    [[nodiscard]] std::optional<NodeId> transferee() const noexcept { return transferee_; }
    [[nodiscard]] std::size_t uncommitted_bytes() const noexcept { return uncommitted_bytes_; }
    [[nodiscard]] std::int32_t randomized_timeout_ticks() const noexcept {
        return randomized_timeout_;
    }
    [[nodiscard]] std::size_t held_messages() const noexcept { return held_.size(); }

private:
    // raft.cpp: plumbing.
    [[nodiscard]] HardState hard_state() const noexcept;
    [[nodiscard]] bool term_vote_durable() const noexcept;
    void send(NodeId to, MessageBody body);
    void send_with_term(NodeId to, Term term, MessageBody body);
    void append_entry(Entry entry);
    void truncate_log_from(Index from);
    void set_commit(Index commit);
    void note_config_entry(const Entry& entry);
    void check_invariants() const;

    // raft_election.cpp
    bool handle_term(const Message& message);
    void reply_to_stale(const Message& message);
    void become_follower(Term term, std::optional<NodeId> leader);
    void become_pre_candidate();
    void become_candidate(bool transfer);
    void become_leader();
    void set_role(Role role);
    void reset_election_timer();
    void campaign(bool transfer);
    void handle_vote_request(const Message& message, const VoteRequest& request);
    void handle_vote_response(const Message& message, const VoteResponse& response);
    void maybe_win();
    void tick_leader();
    void handle_timeout_now(const Message& message);
    [[nodiscard]] bool in_lease() const noexcept;
    [[nodiscard]] bool promotable() const noexcept;

    // raft_replication.cpp
    void handle_append(const Message& message, const AppendRequest& request);
    void handle_append_response(const Message& message, const AppendResponse& response);
    void handle_heartbeat(const Message& message, const Heartbeat& heartbeat);
    void handle_heartbeat_response(const Message& message);
    void handle_install(const Message& message, const InstallLogStart& install);
    void heard_from_leader(NodeId leader);
    void reject_append(NodeId leader, Index prev_index, Term prev_term);
    void acknowledge(NodeId leader);
    void follower_commit();
    void send_append(NodeId to);
    void send_entries(NodeId to, Progress& progress, std::vector<Entry> entries);
    void send_install(NodeId to, Progress& progress);
    void broadcast_append();
    void broadcast_heartbeat();
    void maybe_commit();
    void sync_progress();
    void maybe_send_timeout_now(NodeId to);
    Result<Index, ProposeError> leader_append(EntryKind kind, io::Bytes payload);
    Status<ProposeError> can_change_config() const;

    RaftConfig config_;
    Prng prng_;
    Role role_ = Role::follower;
    Term term_;
    std::optional<NodeId> vote_;
    std::optional<NodeId> leader_;
    Index commit_;
    RaftLog log_;
    Membership base_membership_;
    std::vector<std::pair<Index, Membership>> configs_;

    std::int32_t election_elapsed_ = 0;
    std::int32_t heartbeat_elapsed_ = 0;
    std::int32_t randomized_timeout_ = 0;
    std::map<NodeId, bool> votes_;

    // Leader.
    std::map<NodeId, Progress> progress_;
    std::optional<NodeId> transferee_;
    std::int32_t transfer_elapsed_ = 0;
    Index term_start_index_;
    std::size_t uncommitted_bytes_ = 0;

    // Follower: the last index known to match the current leader's log, and
    // the commit index it last sent.
    Index leader_match_;
    Index leader_commit_;

    // A LogReset handed to the host and not yet reported durable (its base).
    std::optional<Index> reset_pending_;

    Ready ready_;
    std::vector<Message> held_;
    HardState emitted_;  // the last hard state handed to the host
    HardState durable_;  // the last one it reported durable
};

}  // namespace samsa::raft

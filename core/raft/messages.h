// The messages members of one Raft group exchange: plain structs, encoded by
// the host (later as Cap'n Proto). Every message carries the sender's term in
// its envelope; a PreVote request carries the term its sender would campaign
// in, without having moved to it.
//
// Heartbeats are deliberately separate from Append and small (term and commit
// only) so that a host serving many groups can batch them per peer.
#pragma once

#include <variant>
#include <vector>

#include "core/raft/types.h"

namespace samsa::raft {

// PreVote (pre_vote true) and Vote. `transfer`: sent on TimeoutNow, so
// voters waive leader stickiness.
struct VoteRequest {
    bool pre_vote = false;
    bool transfer = false;
    Index last_index;
    Term last_term;
};

struct VoteResponse {
    bool pre_vote = false;
    bool granted = false;
};

// Entries follow (prev_index, prev_term) directly.
struct AppendRequest {
    Index prev_index;
    Term prev_term;
    std::vector<Entry> entries;
    Index leader_commit;
};

// Success: the follower's log matches the leader's up to `last_index`, and
// that prefix is durable up to `match_index` (the leader counts only that
// towards commitment). Reject: the follower's log does not hold
// (prev_index, prev_term) of `rejected_index`; `hint_index` is the last
// index at or below it whose term is <= `hint_term`, in the follower's log,
// so the leader can jump back over whole terms; `last_index` is the
// follower's last index.
struct AppendResponse {
    bool success = false;
    Index match_index;
    Index rejected_index;
    Index hint_index;
    Term hint_term;
    Index last_index;
};

// `commit`: the leader's commit index, but no more than the receiver has
// acknowledged - so the receiver knows its log matches up to there.
struct Heartbeat {
    Index commit;
};

struct HeartbeatResponse {};

// Campaign now, skipping pre-vote (leadership transfer).
struct TimeoutNow {};

// The follower is behind the leader's log start: it drops its log and starts
// over empty after (base_index, base_term), with `membership` in effect there.
struct InstallLogStart {
    Index base_index;
    Term base_term;
    Membership membership;
    Index leader_commit;
};

using MessageBody = std::variant<VoteRequest, VoteResponse, AppendRequest, AppendResponse,
                                 Heartbeat, HeartbeatResponse, TimeoutNow, InstallLogStart>;

struct Message {
    NodeId from;
    NodeId to;
    Term term;
    MessageBody body;
};

}  // namespace samsa::raft

// The vocabulary of one Raft group: terms, indexes, entries, membership,
// hard state, the configuration of a member and the errors it returns.
//
// Terms are 32-bit because a term becomes Kafka's partitionLeaderEpoch; they
// are a type of their own here (samsa::Term is 64-bit and means something
// else). Indexes are log offsets. Index 0 is the empty log's sentinel, with
// term 0; the first entry ever appended has index 1.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/base/ids.h"
#include "core/io/seam.h"

namespace samsa::raft {

using Term = StrongId<struct RaftTermTag, std::int32_t>;
using Index = Offset;

inline constexpr Term next_term(Term term) noexcept {
    return Term(term.value() + 1);
}

enum class EntryKind : std::uint8_t {
    normal,  // a client's payload
    config,  // a new Membership (encode_membership), in effect once appended
    noop,    // appended by each new leader so that it can commit in its term
};

struct Entry {
    Term term;
    Index index;
    EntryKind kind = EntryKind::normal;
    io::Bytes payload;

    bool operator==(const Entry&) const = default;
};

// Who votes and who only follows. Both sorted, disjoint.
struct Membership {
    std::vector<NodeId> voters;
    std::vector<NodeId> learners;

    [[nodiscard]] bool is_voter(NodeId id) const noexcept {
        return std::binary_search(voters.begin(), voters.end(), id);
    }
    [[nodiscard]] bool is_learner(NodeId id) const noexcept {
        return std::binary_search(learners.begin(), learners.end(), id);
    }
    [[nodiscard]] bool contains(NodeId id) const noexcept { return is_voter(id) || is_learner(id); }
    // Sorted, disjoint and at least one voter.
    [[nodiscard]] bool valid() const noexcept;

    bool operator==(const Membership&) const = default;
};

// A config entry's payload: voter count u32, voters i32..., learner count
// u32, learners i32... (big-endian). decode returns nullopt on anything else.
io::Bytes encode_membership(const Membership& membership);
std::optional<Membership> decode_membership(const io::Bytes& payload);

// What must be durable before the messages that depend on it leave.
struct HardState {
    Term term;
    std::optional<NodeId> vote;
    Index commit;  // never above the node's durable log

    bool operator==(const HardState&) const = default;
};

enum class Role : std::uint8_t { follower, pre_candidate, candidate, leader };
const char* to_string(Role role) noexcept;

enum class ProposeError : std::uint8_t {
    not_leader,
    transferring_leadership,
    too_many_uncommitted_bytes,
    config_change_pending,  // an earlier change (or this term's noop) is not committed
    invalid_config_change,  // not a learner, already a member, last voter...
    learner_not_caught_up,
};
const char* to_string(ProposeError error) noexcept;

// One membership change at a time.
struct ConfigChange {
    enum class Kind : std::uint8_t { add_learner, promote_learner, remove_voter };
    Kind kind;
    NodeId node;
};

struct RaftConfig {
    NodeId id;
    // The membership before any config entry (index 0).
    std::vector<NodeId> voters;
    std::vector<NodeId> learners;
    // A follower campaigns after a random timeout in [T, 2T) ticks.
    std::int32_t election_timeout_ticks = 10;
    std::int32_t heartbeat_ticks = 1;
    // Per follower, appends sent and not yet acknowledged (replicate state).
    std::size_t inflight_appends_max = 64;
    std::size_t inflight_bytes_max = std::size_t{8} << 20;
    // Payload bytes of entries in one Append (at least one entry is sent).
    std::size_t append_entries_bytes_max = std::size_t{1} << 20;
    // Payload bytes proposed by the leader and not yet committed.
    std::size_t uncommitted_bytes_max = std::size_t{64} << 20;
    // Durable, committed entries kept in memory for followers; older ones
    // are read from storage (Ready::reads).
    std::size_t entry_cache_bytes_max = std::size_t{4} << 20;
    // A learner is caught up when it is within this many entries of the end.
    std::int64_t promote_lag_entries_max = 0;
    bool pre_vote = true;
    bool check_quorum = true;
    // False for a member that lost its disk: it may have voted in terms it
    // no longer knows of, so it never votes or campaigns again (its durable
    // acknowledgements still count).
    bool may_vote = true;
    // Deliberate bugs for the simulator's canaries; never set elsewhere.
    enum class Bug : std::uint8_t {
        none,
        vote_twice,             // grant a vote whatever this member voted in the term
        commit_without_quorum,  // the leader commits what it holds durably itself
        truncate_below_commit,  // cut a conflicting suffix even at or below the commit
    };
    Bug bug = Bug::none;
};

}  // namespace samsa::raft

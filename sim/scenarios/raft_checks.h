// The invariants of the `raft` scenario as small pieces over plain data, so
// each can be unit-tested without a running node (raft_checkers.h feeds them
// from the simulated world after every event).
//
// Every check returns a Violation: nullopt when the invariant holds, else a
// sentence saying exactly what broke (the caller prefixes the checker's
// number, name and group). The stateful pieces - who led each term, the log a
// replica wrote with its hash chain, the registry of (index, term) -> chain,
// the oracle of committed entries, the high watermarks shown - are classes
// with one job each.
//
// Hash chain: link(i) = combine(link(i - 1), index, term, hash), starting
// from 0 before index 1. Two logs with equal links at i are identical up to i.
// A log that starts after a base (its prefix was never written here) takes
// the link of its first entry from the registry when another replica already
// anchored it; otherwise its links are "unanchored" and only entry hashes are
// compared for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/raft/raft_log.h"
#include "core/raft/types.h"
#include "core/replication/raft_node.h"

namespace samsa::sim {

// The limits invariant 11 holds the machines to (RaftConfig is not exposed by
// Raft, so the scenario passes what it configured).
// The defaults are RaftConfig's and RaftNodeParams' defaults.
struct RaftCheckerLimits {
    std::size_t uncommitted_bytes_max = raft::RaftConfig{}.uncommitted_bytes_max;
    std::size_t inflight_appends_max = raft::RaftConfig{}.inflight_appends_max;
    std::size_t inflight_bytes_max = raft::RaftConfig{}.inflight_bytes_max;
    std::size_t append_entries_bytes_max = raft::RaftConfig{}.append_entries_bytes_max;
    // The largest payload ever proposed (workload and config entries): Raft
    // lets one entry through whatever its size when nothing is uncommitted,
    // and sends at least one entry per Append.
    std::size_t entry_payload_bytes_max = 0;
    std::size_t pending_proposals_max = replication::RaftNodeParams{}.pending_proposals_max;

    static RaftCheckerLimits from(const raft::RaftConfig& config, std::size_t pending_proposals_max,
                                  std::size_t entry_payload_bytes_max);
};

namespace raft_checks {

using raft::Index;
using raft::Term;
using replication::EntryDigest;
using Violation = std::optional<std::string>;

// "(index 7, term 3, hash 0x…)".
std::string describe(const EntryDigest& digest);

// ---- 1. Election safety ----

// The leader of each term of one group, as first seen.
class LeaderLog {
public:
    // `fresh` is set when this is the first leader seen for `term`.
    Violation record(Term term, NodeId leader, bool& fresh);
    [[nodiscard]] std::size_t terms_led() const noexcept { return leaders_.size(); }

private:
    std::map<Term, NodeId> leaders_;
};

// ---- 2. Durable term and vote ----

// `after` was made durable later than `before` (on one disk).
Violation check_durable_order(const raft::HardState& before, const raft::HardState& after);
// A node that lost its disk never campaigns, leads or votes.
Violation check_lost_disk(bool may_vote, raft::Role role, std::optional<NodeId> vote,
                          std::optional<NodeId> durable_vote);

// ---- 3. Log matching ----

std::uint64_t chain_next(std::uint64_t previous, const EntryDigest& digest);

// One replica's log as written, with the hash chain over it.
class LogCopy {
public:
    [[nodiscard]] bool empty() const noexcept { return digests_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return digests_.size(); }
    [[nodiscard]] Index first_index() const noexcept;  // 0 when empty
    [[nodiscard]] Index last_index() const noexcept;   // 0 when empty
    [[nodiscard]] bool anchored() const noexcept { return anchored_; }
    [[nodiscard]] const EntryDigest* find(Index index) const noexcept;
    [[nodiscard]] std::uint64_t chain_at(Index index) const noexcept;  // 0 when absent
    [[nodiscard]] const EntryDigest& back() const noexcept { return digests_.back(); }
    [[nodiscard]] std::span<const EntryDigest> digests() const noexcept { return digests_; }

    // Appends the next entry. The first entry of an empty copy starts the
    // chain: from 0 at index 1, from `anchor` (the registry's link for the
    // same entry) otherwise, else unanchored.
    Violation append(const EntryDigest& digest, std::optional<std::uint64_t> anchor);
    // Drops the entries at or after `from` and returns them.
    std::vector<EntryDigest> truncate_from(Index from);
    // Keeps the entries up to `last`.
    void keep_up_to(Index last);
    void clear();

private:
    std::vector<EntryDigest> digests_;
    std::vector<std::uint64_t> chains_;
    bool anchored_ = true;
};

// What the first holder of each (index, term) of one group wrote there.
class ChainRegistry {
public:
    // `holder` holds `digest` with link `chain`. When another replica holds
    // the same (index, term), the entries and (if both anchored) the chains
    // must be equal. `first_holder` names the replica it was compared with.
    Violation observe(NodeId holder, const EntryDigest& digest, std::uint64_t chain, bool anchored,
                      NodeId& first_holder);
    // The anchored link of this entry, if some replica holds it.
    [[nodiscard]] std::optional<std::uint64_t> anchor(const EntryDigest& digest) const;

private:
    struct Item {
        Term term;
        std::uint64_t hash = 0;
        std::uint64_t chain = 0;
        NodeId holder;
        bool anchored = false;
        bool present = false;
    };
    [[nodiscard]] const Item* lookup(Index index, Term term) const;

    std::vector<Item> first_;  // by index - 1: the first term seen there
    std::map<std::pair<std::int64_t, std::int32_t>, Item> others_;  // other terms (rare)
};

// The whole-log form: if `a` and `b` hold an entry with the same index and
// term, they are identical up to it. Either may start after a base.
Violation check_log_matching(std::span<const EntryDigest> a, std::span<const EntryDigest> b);

// ---- 4. Leader append-only ----

// A leader of `leader_term`, whose log (Raft's view) is `log`, had `removed`
// cut from its log as written. An entry Raft's view no longer holds may go (a
// truncation Raft decided before the election and the host carried out
// late); one of its own term, or one its view still holds, may not.
Violation check_leader_truncation(Term leader_term, const raft::RaftLog& log,
                                  std::span<const EntryDigest> removed);
// While it leads, Raft's view of a leader's log only grows: it still ends at
// or after `previous_last`, and holds the same term there.
Violation check_leader_log(Index previous_last, Term previous_last_term, const raft::RaftLog& log);

// ---- 5. Commit durability ----

// A leader committed `commit` (its entry `at_commit`). `durable[i]` is what
// voter `voters[i]` holds durably at `commit`, nullopt if nothing.
Violation check_commit_quorum(Index commit, const EntryDigest& at_commit,
                              std::span<const NodeId> voters,
                              std::span<const std::optional<EntryDigest>> durable);
// `durable` is what a node claimed durable before it crashed; `recovered` its
// log after the restart: every claimed entry must be there unchanged.
Violation check_recovered(std::span<const EntryDigest> durable,
                          std::span<const EntryDigest> recovered);

// ---- 6. State-machine safety ----

// The committed entries of one group, index -> digest; who first showed each
// one committed, and in what term ("commit term": the term of the node that
// showed it, at least the term of the leader that committed it).
class Oracle {
public:
    // `node`, in `term`, has `digest` committed. `fresh` is set when it is new.
    Violation commit(NodeId node, Term term, const EntryDigest& digest, bool& fresh);
    [[nodiscard]] const EntryDigest* at(Index index) const noexcept;
    [[nodiscard]] Term commit_term(Index index) const noexcept;  // 0 when unknown
    // The highest index known committed (0: none).
    [[nodiscard]] Index end() const noexcept { return Index(static_cast<std::int64_t>(size())); }
    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
    // The highest index committed in a term before `term` (0: none). Entries
    // are committed in index order, so everything below it was too.
    [[nodiscard]] Index committed_before(Term term) const noexcept;

private:
    struct Committed {
        EntryDigest digest;  // index 0: not known yet
        Term term;
        NodeId node;
    };
    std::vector<Committed> entries_;  // by index - 1
};

// ---- 7. Leader completeness ----

// The new leader of `term` - its log in Raft's view, and as it wrote it -
// holds the last entry committed in an earlier term (log matching covers what
// is below it). Entries committed in `term` or later need not be there: a
// leader of a later term may have committed while this one's votes were in
// flight.
Violation check_leader_complete(const Oracle& oracle, Term term, const raft::RaftLog& log,
                                const LogCopy& written);

// ---- 8. No truncation below the commit ----

// A node cut its log from `from` while its commit was `commit`, removing
// `removed`. With `term` - the node's term when Raft decided the cut - an
// entry the oracle holds as committed in `term` or earlier may not be removed
// either (a follower may lose an entry committed in a later term than its
// own: a stale leader can still replicate to it).
Violation check_truncation(Index from, Index commit, std::optional<Term> term,
                           std::span<const EntryDigest> removed, const Oracle& oracle);

// ---- 9. High watermark ----

// The high watermarks the leaders of one group showed, by term.
class WatermarkLog {
public:
    // The leader of `term` shows `watermark`. A leader of an older term that
    // shows less than a newer one did is a stale leader (counted, not a
    // violation: clients of a deposed leader may read stale); within terms in
    // order, the watermark never decreases.
    Violation expose(Term term, Index watermark);
    [[nodiscard]] Index max() const noexcept { return max_; }
    [[nodiscard]] std::uint64_t stale() const noexcept { return stale_; }

private:
    std::map<Term, Index> by_term_;  // non-decreasing in term
    Index max_;
    std::uint64_t stale_ = 0;
};

// A proposal answered committed at `acked`: the oracle must hold exactly it,
// and no watermark shown yet may be below it. `final` also fails when the
// oracle does not know the index yet.
Violation check_ack(const Oracle& oracle, Index max_watermark, const EntryDigest& acked,
                    bool final);

// ---- 10. Membership ----

// At most one config entry above `committed` (the group's highest commit
// seen anywhere), and every membership valid.
Violation check_membership(const std::vector<std::pair<Index, raft::Membership>>& configs,
                           Index committed, const raft::Membership& current);

// ---- 11. Bounds ----

Violation check_group_bounds(std::size_t uncommitted_bytes, std::size_t held_messages,
                             const RaftCheckerLimits& limits);
Violation check_inflight(NodeId follower, std::size_t count, std::size_t bytes,
                         const RaftCheckerLimits& limits);
Violation check_pending(std::size_t pending, const RaftCheckerLimits& limits);

// ---- 26. Convergence ----

// After healing: `node` has the leader's commit and its log equals the
// leader's up to it (over the indexes both hold).
Violation check_converged(NodeId leader, std::span<const EntryDigest> leader_log,
                          Index leader_commit, NodeId node, std::span<const EntryDigest> log,
                          Index commit);

}  // namespace raft_checks
}  // namespace samsa::sim

// The checkers of the `raft` scenario: invariants 1-11 and 26 of the
// simulator's list (docs: ../shared/sim-checkers.md), online, for N nodes
// each hosting G Raft groups in a replication::RaftNode.
//
// Theory of operation. After every step of node n the checkers look only at
// the groups that step touched (RaftNode::stepped_groups()) and at the
// truncations it carried out (the checkers are the only caller of
// take_truncations(); last_truncations() hands them on), so the cost of a
// step is proportional to what changed, never to the whole log. For each
// (node, group) they keep a copy of the log as written (EntryDigests with a
// hash chain), what it claimed durable, its last durable hard state, role,
// term and commit. For each group: who led each term, a registry of
// (index, term) -> hash-chain link, the oracle of committed entries, the high
// watermarks shown. The judging itself is in raft_checks.h, pure functions
// over plain data.
//
//   1 election safety        at most one leader per (group, term), ever.
//   2 durable term and vote  durable_hard_state() never goes back, across a
//                            restart too; a node that lost its disk never
//                            says it may vote, campaigns, leads or votes.
//   3 log matching           the same (index, term) on two nodes means the
//                            same entry and the same hash chain up to it; a
//                            log changes only by reported truncations.
//   4 leader append-only     a leader cuts nothing its Raft view holds and
//                            nothing of its own term; its view never shrinks.
//   5 commit durability      a leader's new commit c is durable, with the
//                            same digest, on a quorum of its voters (a down
//                            node counts what it held at its crash; a wiped
//                            one what it held before the wipe); whatever a
//                            node claimed durable is in its recovered log.
//   6 state-machine safety   every node's committed entries equal the oracle.
//   7 leader completeness    a new leader holds every entry committed in an
//                            earlier term.
//   8 no truncation below commit, nor of an entry committed in the node's
//                            term or before.
//   9 high watermark         never lower in a later term; shown only by a
//                            leader, never above its commit; an acknowledged
//                            proposal is the oracle's entry and at or below a
//                            watermark shown (on_ack, then final_check()).
//  10 membership             at most one config entry above the highest
//                            commit; memberships valid.
//  11 bounds                 uncommitted bytes, held messages, in-flight
//                            appends and bytes per follower, pending
//                            proposals.
//  26 liveness               check_liveness(): one leader per group in the
//                            highest term, every running node at its commit
//                            with the same log up to it.
//
// Needs RaftNodeParams::keep_digests (without it 3-8 see empty logs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/replication/raft_node.h"
#include "sim/scenarios/raft_checks.h"
#include "sim/world.h"

namespace samsa::sim {

class RaftCheckers final : public Observer {
public:
    using Truncation = replication::RaftNode::Truncation;

    RaftCheckers(World& world, int nodes, std::uint32_t groups, RaftCheckerLimits limits);

    void on_step(NodeId node, Instant now, const io::Event& event,
                 const io::Outbox& outbox) override;
    void on_crash(NodeId node, Instant now) override;
    void on_restart(NodeId node, bool wiped, Instant now) override;

    // The workload: a proposal was answered committed at (index, term) with
    // the entry hash `hash` (replication::entry_hash of the proposed entry).
    void on_ack(replication::RaftGroupId group, raft::Index index, raft::Term term,
                std::uint64_t hash);
    // End of the liveness phase (healed, every node up): invariant 26.
    // `bound` names the time allowed, for the message.
    void check_liveness(const std::string& bound);
    // End of the run: every acknowledged proposal is in the oracle.
    void final_check();

    // What take_truncations() returned at `node`'s last step.
    [[nodiscard]] const std::vector<Truncation>& last_truncations(NodeId node) const;
    [[nodiscard]] raft::Index max_watermark(replication::RaftGroupId group) const;

    [[nodiscard]] std::uint64_t leaders_elected() const noexcept { return leaders_elected_; }
    [[nodiscard]] std::uint64_t commits_observed() const noexcept { return commits_observed_; }
    [[nodiscard]] std::uint64_t checks_run() const noexcept { return checks_run_; }
    [[nodiscard]] std::uint64_t acks_checked() const noexcept { return acks_.size(); }
    [[nodiscard]] std::uint64_t stale_watermarks() const noexcept;
    // For ScenarioReport::stats.
    [[nodiscard]] std::vector<std::pair<std::string, std::uint64_t>> stats() const;

private:
    // One group on one node.
    struct Replica {
        raft_checks::LogCopy copy;   // as written; after a crash, what it claimed durable
        raft_checks::LogCopy ghost;  // what it held durably before its disk was wiped
        raft::Index durable;         // claimed durable (cut back by truncations)
        std::optional<raft::Index> reported_durable;  // RaftNode::durable_index last read
        std::optional<raft::HardState> hard_state;    // durable, last seen
        raft::Index commit;                           // Raft's, last seen
        raft::Index oracle_checked;                   // committed entries compared up to
        std::optional<raft::Term> leader_term;        // leading in this term, last seen
        raft::Index leader_last;                      // Raft's view of its log then
        raft::Term leader_last_term;
        std::optional<raft::Index> watermark;
        // (role, term, commit) when the watermark was last read: it changes
        // only with them.
        std::optional<raft::Role> shown_role;
        raft::Term shown_term;
        raft::Index shown_commit;
        std::size_t configs_seen = SIZE_MAX;  // config_entries().size(), last checked
        raft::Index config_back;
        bool awaiting = false;  // crashed: compare with the recovered log
    };
    struct NodeState {
        bool lost_disk = false;
        std::size_t awaiting = 0;  // groups still to compare after a restart
        std::vector<Truncation> truncations;
    };
    struct GroupState {
        raft_checks::LeaderLog leaders;
        raft_checks::ChainRegistry registry;
        raft_checks::Oracle oracle;
        raft_checks::WatermarkLog watermarks;
        raft::Index max_commit;  // the highest commit any node had
    };

    Replica& replica(NodeId node, replication::RaftGroupId group);
    GroupState& group_state(replication::RaftGroupId group);
    void fail(int number, const char* name, replication::RaftGroupId group,
              const std::string& detail);
    void fail_node(int number, const char* name, replication::RaftGroupId group, NodeId node,
                   const std::string& detail);

    void on_truncation(NodeId node, const replication::RaftNode& machine,
                       const Truncation& truncation);
    void check_group(NodeId node, const replication::RaftNode& machine,
                     replication::RaftGroupId group);
    void recover(NodeId node, const replication::RaftNode& machine, replication::RaftGroupId group,
                 Replica& state);
    void sync_log(NodeId node, const replication::RaftNode& machine, replication::RaftGroupId group,
                  Replica& state);
    void append_entries(NodeId node, const std::vector<replication::EntryDigest>& digests,
                        replication::RaftGroupId group, Replica& state);
    void observe_role(NodeId node, const replication::RaftNode& machine, const raft::Raft& raft,
                      replication::RaftGroupId group, Replica& state);
    void observe_hard_state(NodeId node, const replication::RaftNode& machine,
                            replication::RaftGroupId group, Replica& state);
    void observe_commit(NodeId node, const raft::Raft& raft, replication::RaftGroupId group,
                        Replica& state);
    void check_quorum(NodeId node, const raft::Raft& raft, replication::RaftGroupId group,
                      const Replica& state, raft::Index commit);
    [[nodiscard]] std::optional<replication::EntryDigest> durable_at(
        NodeId node, replication::RaftGroupId group, raft::Index index,
        const replication::EntryDigest& wanted);
    void observe_watermark(NodeId node, const replication::RaftNode& machine,
                           const raft::Raft& raft, replication::RaftGroupId group, Replica& state);
    void observe_membership(NodeId node, const raft::Raft& raft, replication::RaftGroupId group,
                            Replica& state);
    void observe_bounds(NodeId node, const raft::Raft& raft, replication::RaftGroupId group);
    void check_group_liveness(replication::RaftGroupId group, const std::string& bound);

    World& world_;
    int nodes_count_;
    std::uint32_t groups_count_;
    RaftCheckerLimits limits_;
    std::vector<Replica> replicas_;  // node slot * groups + group
    std::vector<NodeState> nodes_;
    std::vector<GroupState> groups_;
    std::vector<std::pair<replication::RaftGroupId, replication::EntryDigest>> acks_;
    std::uint64_t leaders_elected_ = 0;
    std::uint64_t commits_observed_ = 0;
    std::uint64_t checks_run_ = 0;
    std::uint64_t recoveries_checked_ = 0;       // (node, group) logs compared after a crash
    std::uint64_t durable_entries_checked_ = 0;  // entries claimed durable, found after it
};

}  // namespace samsa::sim

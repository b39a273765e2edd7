#include "sim/scenarios/raft_checkers.h"

#include <algorithm>

#include "core/base/assert.h"

namespace samsa::sim {

using raft::Index;
using raft::Term;
using replication::EntryDigest;
using replication::RaftGroupId;
using replication::RaftNode;
namespace checks = raft_checks;

namespace {

std::string node_name(NodeId node) {
    return "node " + node.to_string();
}

// The term in which Raft decided a truncation, once RaftNode reports it.
template <class T>
std::optional<Term> decided_term(const T& truncation) {
    if constexpr (requires { truncation.term; }) {
        return Term(truncation.term);
    } else {
        return std::nullopt;
    }
}

Index before(Index index) {
    return Index(index.value() - 1);
}

}  // namespace

RaftCheckers::RaftCheckers(World& world, int nodes, std::uint32_t groups, RaftCheckerLimits limits)
    : world_(world),
      nodes_count_(nodes),
      groups_count_(groups),
      limits_(limits),
      replicas_(static_cast<std::size_t>(nodes) * groups),
      nodes_(static_cast<std::size_t>(nodes)),
      groups_(groups) {
    SAMSA_ASSERT(nodes > 0 && groups > 0);
    SAMSA_ASSERT(limits.inflight_appends_max > 0 && limits.inflight_bytes_max > 0);
}

RaftCheckers::Replica& RaftCheckers::replica(NodeId node, RaftGroupId group) {
    SAMSA_ASSERT(node.value() >= 1 && node.value() <= nodes_count_);
    SAMSA_ASSERT(group.value() < groups_count_);
    return replicas_[static_cast<std::size_t>(node.value() - 1) * groups_count_ + group.value()];
}

RaftCheckers::GroupState& RaftCheckers::group_state(RaftGroupId group) {
    SAMSA_ASSERT(group.value() < groups_count_);
    return groups_[group.value()];
}

void RaftCheckers::fail(int number, const char* name, RaftGroupId group,
                        const std::string& detail) {
    world_.fail("checker " + std::to_string(number) + " (" + name + "): group " +
                group.to_string() + ": " + detail);
}

void RaftCheckers::fail_node(int number, const char* name, RaftGroupId group, NodeId node,
                             const std::string& detail) {
    fail(number, name, group, node_name(node) + ": " + detail);
}

const std::vector<RaftCheckers::Truncation>& RaftCheckers::last_truncations(NodeId node) const {
    SAMSA_ASSERT(node.value() >= 1 && node.value() <= nodes_count_);
    return nodes_[static_cast<std::size_t>(node.value() - 1)].truncations;
}

Index RaftCheckers::max_watermark(RaftGroupId group) const {
    SAMSA_ASSERT(group.value() < groups_count_);
    return groups_[group.value()].watermarks.max();
}

std::uint64_t RaftCheckers::stale_watermarks() const noexcept {
    std::uint64_t stale = 0;
    for (const GroupState& group : groups_) stale += group.watermarks.stale();
    return stale;
}

std::vector<std::pair<std::string, std::uint64_t>> RaftCheckers::stats() const {
    return {{"leaders_elected", leaders_elected_},
            {"commits_observed", commits_observed_},
            {"checks_run", checks_run_},
            {"acks_checked", acks_checked()},
            {"stale_watermarks", stale_watermarks()},
            {"recoveries_checked", recoveries_checked_},
            {"durable_entries_checked", durable_entries_checked_}};
}

// ---- Events ----------------------------------------------------------------

void RaftCheckers::on_step(NodeId node, Instant, const io::Event&, const io::Outbox&) {
    if (world_.stopped()) return;
    auto* machine = world_.machine<RaftNode>(node);
    if (machine == nullptr) return;
    NodeState& state = nodes_[static_cast<std::size_t>(node.value() - 1)];
    state.truncations = machine->take_truncations();
    if (auto violation = checks::check_pending(machine->pending_proposals(), limits_)) {
        return world_.fail("checker 11 (bounds): " + node_name(node) + " " + *violation);
    }
    for (const Truncation& truncation : state.truncations) {
        on_truncation(node, *machine, truncation);
        if (world_.stopped()) return;
    }
    for (RaftGroupId group : machine->stepped_groups()) {
        check_group(node, *machine, group);
        if (world_.stopped()) return;
    }
    // Groups that recovered without being stepped are compared once the
    // node runs.
    if (state.awaiting == 0 || !machine->running()) return;
    for (std::uint32_t g = 0; g < groups_count_ && state.awaiting > 0; ++g) {
        if (replica(node, RaftGroupId(g)).awaiting) check_group(node, *machine, RaftGroupId(g));
        if (world_.stopped()) return;
    }
}

void RaftCheckers::on_crash(NodeId node, Instant) {
    NodeState& state = nodes_[static_cast<std::size_t>(node.value() - 1)];
    state.truncations.clear();
    for (std::uint32_t g = 0; g < groups_count_; ++g) {
        Replica& group = replica(node, RaftGroupId(g));
        group.leader_term.reset();
        group.watermark.reset();
        group.shown_role.reset();
        if (group.awaiting) continue;  // not recovered since the last crash
        // What it claimed durable must survive; the rest may be lost.
        group.copy.keep_up_to(group.durable);
        group.awaiting = true;
        ++state.awaiting;
    }
}

void RaftCheckers::on_restart(NodeId node, bool wiped, Instant) {
    if (!wiped) return;
    NodeState& state = nodes_[static_cast<std::size_t>(node.value() - 1)];
    state.lost_disk = true;
    state.awaiting = 0;
    for (std::uint32_t g = 0; g < groups_count_; ++g) {
        Replica& group = replica(node, RaftGroupId(g));
        // Acknowledgements it sent before the wipe may still reach a leader:
        // what it held durably then still counts towards a quorum.
        checks::LogCopy ghost = group.copy.empty() ? std::move(group.ghost) : std::move(group.copy);
        group = Replica{};
        group.ghost = std::move(ghost);
    }
}

void RaftCheckers::on_truncation(NodeId node, const RaftNode& machine,
                                 const Truncation& truncation) {
    Replica& state = replica(node, truncation.group);
    if (state.awaiting) return;  // the recovered log is read whole
    const std::vector<EntryDigest> removed = state.copy.truncate_from(truncation.from);
    state.durable = std::min(state.durable, before(truncation.from));
    const Index commit = std::max(truncation.commit, state.commit);
    GroupState& group = group_state(truncation.group);
    if (auto violation = checks::check_truncation(truncation.from, commit, decided_term(truncation),
                                                  removed, group.oracle)) {
        return fail_node(8, "no truncation below commit", truncation.group, node, *violation);
    }
    const raft::Raft* raft = machine.raft(truncation.group);
    if (raft != nullptr && raft->role() == raft::Role::leader) {
        if (auto violation = checks::check_leader_truncation(raft->term(), raft->log(), removed)) {
            return fail_node(4, "leader append-only", truncation.group, node, *violation);
        }
    }
    state.oracle_checked = std::min(state.oracle_checked, before(truncation.from));
}

// ---- One group after a step -------------------------------------------------

void RaftCheckers::check_group(NodeId node, const RaftNode& machine, RaftGroupId group) {
    const raft::Raft* raft = machine.raft(group);
    if (raft == nullptr) return;  // not recovered yet
    Replica& state = replica(node, group);
    ++checks_run_;
    if (state.awaiting) recover(node, machine, group, state);
    if (!world_.stopped()) sync_log(node, machine, group, state);
    if (!world_.stopped()) observe_role(node, machine, *raft, group, state);
    if (!world_.stopped()) observe_hard_state(node, machine, group, state);
    if (!world_.stopped()) observe_commit(node, *raft, group, state);
    if (!world_.stopped()) observe_watermark(node, machine, *raft, group, state);
    if (!world_.stopped()) observe_membership(node, *raft, group, state);
    if (!world_.stopped()) observe_bounds(node, *raft, group);
}

void RaftCheckers::recover(NodeId node, const RaftNode& machine, RaftGroupId group,
                           Replica& state) {
    NodeState& node_state = nodes_[static_cast<std::size_t>(node.value() - 1)];
    SAMSA_ASSERT(node_state.awaiting > 0);
    --node_state.awaiting;
    const std::vector<EntryDigest>& recovered = machine.digests(group);
    if (auto violation = checks::check_recovered(state.copy.digests(), recovered)) {
        return fail_node(5, "commit durability", group, node, *violation);
    }
    ++recoveries_checked_;
    durable_entries_checked_ += state.copy.size();
    if (state.hard_state) {
        if (auto violation =
                checks::check_durable_order(*state.hard_state, machine.durable_hard_state(group))) {
            return fail_node(2, "durable term and vote", group, node,
                             "across its restart, " + *violation);
        }
    }
    // Start over from the recovered log; its committed entries are compared
    // with the oracle again.
    checks::LogCopy ghost = std::move(state.ghost);
    state = Replica{};
    state.ghost = std::move(ghost);
}

void RaftCheckers::sync_log(NodeId node, const RaftNode& machine, RaftGroupId group,
                            Replica& state) {
    const std::vector<EntryDigest>& digests = machine.digests(group);
    // Unchanged length: nothing appended, nothing cut (the digests change
    // only by truncations, which on_truncation applied, and appends).
    if (!state.copy.empty() && digests.size() != state.copy.size()) {
        const std::size_t kept = state.copy.size();
        if (!digests.empty() && digests.front().index != state.copy.first_index()) {
            state.copy.clear();  // the log started over after a new base
        } else if (digests.size() < kept) {
            return fail_node(
                3, "log matching", group, node,
                "its log as written shrank from index " + state.copy.last_index().to_string() +
                    " to " +
                    (digests.empty() ? std::string("empty") : digests.back().index.to_string()) +
                    " without a reported truncation");
        } else if (digests[kept - 1] != state.copy.back()) {
            return fail_node(3, "log matching", group, node,
                             "its entry " + checks::describe(state.copy.back()) + " became " +
                                 checks::describe(digests[kept - 1]) +
                                 " without a reported truncation");
        }
    }
    if (digests.size() > state.copy.size()) append_entries(node, digests, group, state);
    // What it claims durable; a truncation since the last report caps it.
    const Index reported = machine.durable_index(group);
    if (state.reported_durable != reported) {
        state.reported_durable = reported;
        state.durable = reported;
    }
}

void RaftCheckers::append_entries(NodeId node, const std::vector<EntryDigest>& digests,
                                  RaftGroupId group, Replica& state) {
    GroupState& shared = group_state(group);
    for (std::size_t position = state.copy.size(); position < digests.size(); ++position) {
        const EntryDigest& digest = digests[position];
        const auto anchor = state.copy.empty() ? shared.registry.anchor(digest) : std::nullopt;
        if (auto violation = state.copy.append(digest, anchor)) {
            return fail_node(3, "log matching", group, node, *violation);
        }
        NodeId first_holder = node;
        auto violation = shared.registry.observe(node, digest, state.copy.chain_at(digest.index),
                                                 state.copy.anchored(), first_holder);
        if (!violation) continue;
        if (first_holder != node) {
            const Replica& other = replica(first_holder, group);
            if (auto where =
                    checks::check_log_matching(state.copy.digests(), other.copy.digests())) {
                *violation += "; their logs now: " + *where;
            }
        }
        return fail(3, "log matching", group, *violation);
    }
}

void RaftCheckers::observe_role(NodeId node, const RaftNode& machine, const raft::Raft& raft,
                                RaftGroupId group, Replica& state) {
    if (nodes_[static_cast<std::size_t>(node.value() - 1)].lost_disk) {
        if (auto violation = checks::check_lost_disk(machine.may_vote(), raft.role(), raft.vote(),
                                                     machine.durable_hard_state(group).vote)) {
            return fail_node(2, "durable term and vote", group, node, *violation);
        }
    }
    if (raft.role() != raft::Role::leader) {
        state.leader_term.reset();
        return;
    }
    const raft::RaftLog& log = raft.log();
    if (state.leader_term == raft.term()) {
        if (log.last_index() == state.leader_last && log.last_term() == state.leader_last_term) {
            return;  // unchanged (a cut and rewrite shows as a truncation)
        }
        if (auto violation =
                checks::check_leader_log(state.leader_last, state.leader_last_term, log)) {
            return fail_node(4, "leader append-only", group, node, *violation);
        }
    } else {
        GroupState& shared = group_state(group);
        bool fresh = false;
        if (auto violation = shared.leaders.record(raft.term(), node, fresh)) {
            return fail(1, "election safety", group, *violation);
        }
        if (fresh) ++leaders_elected_;
        if (auto violation =
                checks::check_leader_complete(shared.oracle, raft.term(), log, state.copy)) {
            return fail_node(7, "leader completeness", group, node, *violation);
        }
        state.leader_term = raft.term();
    }
    state.leader_last = log.last_index();
    state.leader_last_term = log.last_term();
}

void RaftCheckers::observe_hard_state(NodeId node, const RaftNode& machine, RaftGroupId group,
                                      Replica& state) {
    const raft::HardState& durable = machine.durable_hard_state(group);
    if (state.hard_state && *state.hard_state == durable) return;
    if (state.hard_state) {
        if (auto violation = checks::check_durable_order(*state.hard_state, durable)) {
            return fail_node(2, "durable term and vote", group, node, *violation);
        }
    }
    state.hard_state = durable;
}

// ---- Commits ----------------------------------------------------------------

void RaftCheckers::observe_commit(NodeId node, const raft::Raft& raft, RaftGroupId group,
                                  Replica& state) {
    const Index commit = raft.commit();
    GroupState& shared = group_state(group);
    shared.max_commit = std::max(shared.max_commit, commit);
    if (commit < state.commit) {
        return fail_node(
            6, "state-machine safety", group, node,
            "its commit went back from " + state.commit.to_string() + " to " + commit.to_string());
    }
    if (commit > state.commit && raft.role() == raft::Role::leader) {
        check_quorum(node, raft, group, state, commit);
        if (world_.stopped()) return;
    }
    state.commit = commit;
    if (commit <= state.oracle_checked) return;
    // Committed entries as written are compared with the oracle (the copy
    // may lag Raft's commit while its writes complete; it catches up).
    const Index upto = std::min(commit, state.copy.last_index());
    Index next = std::max(state.oracle_checked.next(), state.copy.first_index());
    for (; next <= upto; next = next.next()) {
        bool fresh = false;
        if (auto violation =
                shared.oracle.commit(node, raft.term(), *state.copy.find(next), fresh)) {
            return fail(6, "state-machine safety", group, *violation);
        }
        if (fresh) ++commits_observed_;
    }
    state.oracle_checked = std::max(state.oracle_checked, upto);
}

void RaftCheckers::check_quorum(NodeId node, const raft::Raft& raft, RaftGroupId group,
                                const Replica& state, Index commit) {
    // The leader itself counts only if its own write is durable: a quorum of
    // followers may get there first.
    const EntryDigest* own = state.copy.find(commit);
    if (own == nullptr) {
        return fail_node(5, "commit durability", group, node,
                         "as leader of term " + raft.term().to_string() + " committed index " +
                             commit.to_string() + " beyond its log (" +
                             state.copy.last_index().to_string() + ")");
    }
    const std::vector<NodeId>& voters = raft.membership().voters;
    std::vector<std::optional<EntryDigest>> durable;
    durable.reserve(voters.size());
    for (NodeId voter : voters) durable.push_back(durable_at(voter, group, commit, *own));
    if (auto violation = checks::check_commit_quorum(commit, *own, voters, durable)) {
        fail_node(5, "commit durability", group, node,
                  "as leader of term " + raft.term().to_string() + " " + *violation);
    }
}

std::optional<EntryDigest> RaftCheckers::durable_at(NodeId node, RaftGroupId group, Index index,
                                                    const EntryDigest& wanted) {
    if (node.value() < 1 || node.value() > nodes_count_) return std::nullopt;
    const Replica& state = replica(node, group);
    std::optional<EntryDigest> held;
    if (state.durable >= index) {
        if (const EntryDigest* digest = state.copy.find(index)) held = *digest;
    }
    if (held == wanted) return held;
    if (const EntryDigest* digest = state.ghost.find(index)) return *digest;
    return held;
}

// ---- Watermarks, membership, bounds -------------------------------------------

void RaftCheckers::observe_watermark(NodeId node, const RaftNode& machine, const raft::Raft& raft,
                                     RaftGroupId group, Replica& state) {
    if (state.shown_role == raft.role() && state.shown_term == raft.term() &&
        state.shown_commit == raft.commit()) {
        return;
    }
    state.shown_role = raft.role();
    state.shown_term = raft.term();
    state.shown_commit = raft.commit();
    const auto shown = machine.high_watermark(group);
    if (shown == state.watermark) return;
    state.watermark = shown;
    if (!shown) return;
    if (raft.role() != raft::Role::leader) {
        return fail_node(
            9, "high watermark", group, node,
            "shows high watermark " + shown->to_string() + " as a " + raft::to_string(raft.role()));
    }
    if (*shown > raft.commit()) {
        return fail_node(9, "high watermark", group, node,
                         "shows high watermark " + shown->to_string() + " above its commit " +
                             raft.commit().to_string());
    }
    if (auto violation = group_state(group).watermarks.expose(raft.term(), *shown)) {
        fail_node(9, "high watermark", group, node, *violation);
    }
}

void RaftCheckers::observe_membership(NodeId node, const raft::Raft& raft, RaftGroupId group,
                                      Replica& state) {
    const auto& configs = raft.config_entries();
    const Index back = configs.empty() ? Index(0) : configs.back().first;
    if (configs.size() == state.configs_seen && back == state.config_back) return;
    state.configs_seen = configs.size();
    state.config_back = back;
    const Index committed = std::max(raft.commit(), group_state(group).max_commit);
    if (auto violation = checks::check_membership(configs, committed, raft.membership())) {
        fail_node(10, "membership", group, node, *violation);
    }
}

void RaftCheckers::observe_bounds(NodeId node, const raft::Raft& raft, RaftGroupId group) {
    if (auto violation =
            checks::check_group_bounds(raft.uncommitted_bytes(), raft.held_messages(), limits_)) {
        return fail_node(11, "bounds", group, node, *violation);
    }
    if (raft.role() != raft::Role::leader) return;
    const raft::Membership& members = raft.membership();
    for (const auto* list : {&members.voters, &members.learners}) {
        for (NodeId follower : *list) {
            const raft::Progress* progress = follower == node ? nullptr : raft.progress(follower);
            if (progress == nullptr) continue;
            if (auto violation = checks::check_inflight(follower, progress->inflight_count(),
                                                        progress->inflight_bytes(), limits_)) {
                return fail_node(11, "bounds", group, node, *violation);
            }
        }
    }
}

// ---- Acknowledgements and the end of the run ------------------------------------

void RaftCheckers::on_ack(RaftGroupId group, Index index, Term term, std::uint64_t hash) {
    const EntryDigest acked{index, term, hash};
    acks_.emplace_back(group, acked);
    if (world_.stopped()) return;
    const GroupState& shared = group_state(group);
    if (auto violation =
            checks::check_ack(shared.oracle, shared.watermarks.max(), acked, /*final=*/false)) {
        fail(9, "high watermark", group, *violation);
    }
}

void RaftCheckers::final_check() {
    for (const auto& [group, acked] : acks_) {
        if (world_.stopped()) return;
        const GroupState& shared = group_state(group);
        if (auto violation =
                checks::check_ack(shared.oracle, shared.watermarks.max(), acked, /*final=*/true)) {
            fail(9, "high watermark", group, "final check: " + *violation);
        }
    }
}

void RaftCheckers::check_liveness(const std::string& bound) {
    for (int n = 1; n <= nodes_count_ && !world_.stopped(); ++n) {
        const NodeId node(n);
        if (!world_.is_up(node)) continue;
        const auto* machine = world_.machine<RaftNode>(node);
        if (machine == nullptr || !machine->running()) {
            world_.fail("checker 26 (liveness): " + node_name(node) + " is up but has not " +
                        "recovered every group within " + bound);
        }
    }
    for (std::uint32_t g = 0; g < groups_count_ && !world_.stopped(); ++g) {
        check_group_liveness(RaftGroupId(g), bound);
    }
}

void RaftCheckers::check_group_liveness(RaftGroupId group, const std::string& bound) {
    std::vector<std::pair<NodeId, const RaftNode*>> running;
    std::vector<NodeId> leaders;
    Term highest;
    std::string roles;
    for (int n = 1; n <= nodes_count_; ++n) {
        const auto* machine = world_.machine<RaftNode>(NodeId(n));
        if (machine == nullptr || machine->raft(group) == nullptr) continue;
        const raft::Raft& raft = *machine->raft(group);
        running.emplace_back(NodeId(n), machine);
        highest = std::max(highest, raft.term());
        if (raft.role() == raft::Role::leader) leaders.push_back(NodeId(n));
        roles += (roles.empty() ? "" : ", ") + node_name(NodeId(n)) + " " +
                 raft::to_string(raft.role()) + " in term " + raft.term().to_string();
    }
    if (leaders.size() != 1 ||
        world_.machine<RaftNode>(leaders.front())->raft(group)->term() != highest) {
        return fail(26, "liveness", group,
                    std::to_string(leaders.size()) + " leaders (one wanted, in the highest term " +
                        highest.to_string() + ") within " + bound + ": " + roles);
    }
    const RaftNode& leader = *world_.machine<RaftNode>(leaders.front());
    const Index commit = leader.raft(group)->commit();
    for (const auto& [node, machine] : running) {
        if (node == leaders.front()) continue;
        if (auto violation =
                checks::check_converged(leaders.front(), leader.digests(group), commit, node,
                                        machine->digests(group), machine->raft(group)->commit())) {
            const raft::Raft& raft = *machine->raft(group);
            return fail(26, "liveness", group,
                        "within " + bound + ": " + *violation + " (" + node_name(node) + ": " +
                            raft::to_string(raft.role()) + " in term " + raft.term().to_string() +
                            ", log ends at " + raft.log().last_index().to_string() +
                            ", durable up to " + machine->durable_index(group).to_string() +
                            (machine->may_vote() ? "" : ", lost its disk") + ")");
        }
    }
}

}  // namespace samsa::sim

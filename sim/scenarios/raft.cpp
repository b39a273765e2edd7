// The `raft` scenario: a cluster of 3 or 5 RaftNodes (core/replication), each
// hosting the same 1-100 Raft groups with their logs on the simulated disks,
// under swarm faults: crashes that lose unsynced writes and tear the last
// one, wiped disks, partitions (one-way, halves, a node isolated), clogs,
// message loss, duplication and reordering, pauses, full disks, read and
// write errors, clock drift and jumps. Clients propose batches to the groups'
// leaders (raft_workload.h). The checkers (raft_checkers.h, invariants 1-11)
// look at every node after every event. Then the liveness phase heals
// everything: within the bound every group must have one leader, every
// replica the same committed log, and every proposal an answer (26).
//
// Canaries, each a deliberate bug that a checker must catch:
// - canary-raft-ack-before-fsync: the host tells Raft entries are durable
//   when their write is issued (checker 5: durable claims survive a crash);
// - canary-raft-vote-twice: a follower grants every vote request (1 and 2);
// - canary-raft-commit-without-quorum: a leader commits what it holds (5);
// - canary-raft-truncate-below-commit: a follower rewrites entries it already
//   holds, committed ones included (8).
#include <algorithm>

#include "core/replication/raft_node.h"
#include "sim/nemesis.h"
#include "sim/scenario.h"
#include "sim/scenarios/phases.h"
#include "sim/scenarios/raft_checkers.h"
#include "sim/scenarios/raft_cluster.h"
#include "sim/scenarios/raft_workload.h"
#include "sim/world.h"

namespace samsa::sim {

namespace {

struct RaftCanary {
    replication::HostBug host = replication::HostBug::none;
    raft::RaftConfig::Bug raft = raft::RaftConfig::Bug::none;
};

struct Shape {
    replication::RaftNodeParams node;
    RaftWorkloadParams workload;
};

Shape draw_shape(Prng& shape, int nodes, const RaftCanary& canary) {
    Shape drawn;
    replication::RaftNodeParams& node = drawn.node;
    for (int n = 1; n <= nodes; ++n) node.nodes.emplace_back(n);
    // Half the seeds run a few groups, half up to 100.
    node.groups = shape.chance(0.5) ? 1 + static_cast<std::uint32_t>(shape.uniform(4))
                                    : 1 + static_cast<std::uint32_t>(shape.uniform(100));
    node.tick = Duration::milliseconds(10);
    node.raft.election_timeout_ticks = 10;
    node.raft.heartbeat_ticks = 1;
    node.raft.inflight_appends_max = 1 + shape.uniform(16);
    node.raft.inflight_bytes_max = std::size_t{4} << (10 + shape.uniform(10));
    node.raft.append_entries_bytes_max = std::size_t{1} << (10 + shape.uniform(8));
    node.raft.uncommitted_bytes_max = std::size_t{256} << (10 + shape.uniform(4));
    node.raft.entry_cache_bytes_max = std::size_t{1} << (8 + shape.uniform(14));
    node.raft.bug = canary.raft;
    node.log.segment_bytes_max = std::uint64_t{16} << (10 + shape.uniform(4));
    node.log.flush_bytes_min = 64 << 10;
    node.log.cache_bytes_max = 1 << 20;
    node.keep_digests = true;
    node.bug = canary.host;
    RaftWorkloadParams& workload = drawn.workload;
    workload.groups = node.groups;
    workload.in_flight = 1 + static_cast<int>(shape.uniform(16));
    workload.think_mean = Duration::milliseconds(1 + static_cast<std::int64_t>(shape.uniform(20)));
    workload.payload_bytes_max = 16 + shape.uniform(1024);
    return drawn;
}

RaftCheckerLimits limits_of(const Shape& drawn) {
    // The largest entry: a workload payload, or a config entry of the cluster.
    const std::size_t config_bytes = 8 + 4 * drawn.node.nodes.size();
    return RaftCheckerLimits::from(drawn.node.raft, drawn.node.pending_proposals_max,
                                   std::max(drawn.workload.payload_bytes_max + 32, config_bytes));
}

ScenarioReport run_raft_scenario(const ScenarioOptions& requested, const char* name,
                                 RaftCanary canary) {
    ScenarioOptions options = requested;
    ScenarioReport report;
    auto plan = prepare(*find_scenario(name), options, report);
    if (!plan) return report;
    if (canary.host == replication::HostBug::ack_before_fsync) {
        // The bug shows only when a crash loses what was claimed durable.
        plan->set(FaultKind::crash, std::max(plan->rate(FaultKind::crash), 20.0));
    }
    if (options.nodes != 3 && options.nodes != 5) {
        report.error = "the raft scenario runs 3 or 5 nodes: --nodes must be 3 or 5";
        return report;
    }
    World world(options.seed, options.nodes, *plan);
    world.set_recorder(options.recorder);
    Prng shape = world.fork_prng();
    const Shape drawn = draw_shape(shape, options.nodes, canary);
    install_raft_nodes(world, drawn.node);
    RaftCheckers checkers(world, options.nodes, drawn.node.groups, limits_of(drawn));
    world.add_observer(checkers);
    RaftWorkload workload(
        world, world.fork_prng(), drawn.workload,
        [&checkers](raft::RaftGroupId group, raft::Index index, raft::Term term,
                    std::uint64_t hash) { checkers.on_ack(group, index, term, hash); });
    NemesisParams nemesis_params;
    nemesis_params.wiped_nodes_max = (options.nodes - 1) / 2;
    Nemesis nemesis(world, world.fork_prng(), nemesis_params);
    run_safety_then_heal(world, nemesis, workload, options.duration);
    // Liveness: no new faults, no churn, everything back up and connected.
    const Duration bound = Duration::seconds(10);
    world.run_until(world.now() + bound);
    if (!world.stopped()) checkers.check_liveness(bound.to_string());
    if (!world.stopped() && workload.unanswered() > 0) {
        world.fail("checker 26 (liveness): " + std::to_string(workload.unanswered()) +
                   " proposals unanswered " + bound.to_string() +
                   " after healing:" + workload.describe_unanswered());
    }
    if (!world.stopped()) checkers.final_check();
    record_outcome(world, report);
    report.stats = workload.stats();
    for (const auto& stat : checkers.stats()) report.stats.push_back(stat);
    report.stats.emplace_back("groups", drawn.node.groups);
    return report;
}

}  // namespace

ScenarioReport run_raft(const ScenarioOptions& options) {
    return run_raft_scenario(options, "raft", {});
}

ScenarioReport run_raft_ack_before_fsync_canary(const ScenarioOptions& options) {
    return run_raft_scenario(options, "canary-raft-ack-before-fsync",
                             {.host = replication::HostBug::ack_before_fsync});
}

ScenarioReport run_raft_vote_twice_canary(const ScenarioOptions& options) {
    return run_raft_scenario(options, "canary-raft-vote-twice",
                             {.raft = raft::RaftConfig::Bug::vote_twice});
}

ScenarioReport run_raft_commit_without_quorum_canary(const ScenarioOptions& options) {
    return run_raft_scenario(options, "canary-raft-commit-without-quorum",
                             {.raft = raft::RaftConfig::Bug::commit_without_quorum});
}

ScenarioReport run_raft_truncate_below_commit_canary(const ScenarioOptions& options) {
    return run_raft_scenario(options, "canary-raft-truncate-below-commit",
                             {.raft = raft::RaftConfig::Bug::truncate_below_commit});
}

}  // namespace samsa::sim

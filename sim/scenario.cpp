#include "sim/scenario.h"

#include <memory>

#include "core/base/prng.h"
#include "sim/world.h"

namespace samsa::sim {

std::uint64_t ScenarioReport::stat(const std::string& name) const {
    for (const auto& [key, value] : stats) {
        if (key == name) return value;
    }
    return 0;
}

const std::vector<ScenarioInfo>& scenarios() {
    static const std::vector<ScenarioInfo> all = {
        {"kernel",
         "simulator self-test: sequenced messages appended to an fsynced file under every fault",
         5,
         Duration::seconds(60),
         &run_kernel,
         {"recoveries_checked", "crashes_losing_unsynced", "liveness_messages"}},
        {"log",
         "the partition log under disk faults and crashes: recovery and reads checked",
         3,
         Duration::seconds(10),
         &run_log,
         {"recoveries_checked", "crashes_losing_unsynced", "reads_checked"},
         {FaultGroup::process, FaultGroup::disk, FaultGroup::time}},
        {"canary-log-ack-before-fsync",
         "a log that acknowledges before fsync; the log checkers must catch lost writes", 3,
         Duration::seconds(10), &run_log_ack_canary},
        {"canary-nondeterminism",
         "a deliberately nondeterministic machine; --check-determinism must catch it", 3,
         Duration::seconds(5), &run_nondeterminism_canary},
        {"group",
         "consumer-group members against one broker: single owner, fencing, offsets, liveness",
         1,
         Duration::seconds(20),
         &run_group,
         {"assignments_checked", "fenced_requests", "commits_acknowledged", "fetches_checked"},
         {FaultGroup::process, FaultGroup::disk, FaultGroup::time}},
        {"canary-group-double-assign",
         "a group leader that assigns a partition twice; the single-owner checker must catch it", 1,
         Duration::seconds(20), &run_group_double_assign_canary},
        {"canary-group-accept-fenced",
         "a proxy that turns fencing errors into success; the fencing checker must catch it", 1,
         Duration::seconds(20), &run_group_accept_fenced_canary},
        {"canary-group-commit-regress",
         "members that commit smaller offsets; the committed-offsets checker must catch it", 1,
         Duration::seconds(20), &run_group_commit_regress_canary},
        {"canary-group-never-sync",
         "a member that never sends SyncGroup; the rebalance-liveness checker must catch it", 1,
         Duration::seconds(20), &run_group_never_sync_canary},
        {"raft",
         "3 or 5 nodes hosting 1-100 Raft groups under swarm faults: checkers 1-11 and 26",
         3,
         Duration::seconds(10),
         &run_raft,
         {"committed", "leaders_elected", "recoveries_checked"}},
        {"canary-raft-ack-before-fsync",
         "a host that reports entries durable before fsync; the durability checker must catch it",
         3, Duration::seconds(10), &run_raft_ack_before_fsync_canary},
        {"canary-raft-vote-twice",
         "followers that vote twice in a term; the election-safety checker must catch it", 3,
         Duration::seconds(10), &run_raft_vote_twice_canary},
        {"canary-raft-commit-without-quorum",
         "leaders that commit without a quorum; the commit-durability checker must catch it", 3,
         Duration::seconds(10), &run_raft_commit_without_quorum_canary},
        {"canary-raft-truncate-below-commit",
         "followers that cut committed entries; the truncation checker must catch it", 3,
         Duration::seconds(10), &run_raft_truncate_below_commit_canary},
    };
    return all;
}

const ScenarioInfo* find_scenario(const std::string& name) {
    for (const auto& info : scenarios()) {
        if (name == info.name) return &info;
    }
    return nullptr;
}

std::optional<FaultPlan> prepare(const ScenarioInfo& info, ScenarioOptions& options,
                                 ScenarioReport& report) {
    if (options.nodes == 0) options.nodes = info.default_nodes;
    if (options.duration == Duration::zero()) options.duration = info.default_duration;
    report.scenario = info.name;
    report.options = options;
    if (options.nodes < 1 || options.nodes > 64) {
        report.error = "--nodes must be between 1 and 64";
        return std::nullopt;
    }
    if (options.duration <= Duration::zero() || options.duration > Duration::seconds(24 * 3600)) {
        report.error = "--duration must be positive and at most 24h";
        return std::nullopt;
    }
    // The plan has a stream of its own, so a plan given on the command line
    // does not shift the draws of the world.
    Prng plan_prng(options.seed ^ 0x706c616e00000000ULL);
    std::string error;
    auto plan = FaultPlan::parse(options.faults, plan_prng, error);
    if (!plan) {
        report.error = "--faults: " + error;
        return std::nullopt;
    }
    report.plan = plan->to_string();
    return plan;
}

void record_outcome(const World& world, ScenarioReport& report) {
    report.fired = world.counters();
    report.failure = world.failure();
    report.digest = world.digest().value();
    report.events = world.events_processed();
    report.simulated_end = world.now();
}

DeterminismResult run_scenario(const ScenarioInfo& info, const ScenarioOptions& options,
                               bool with_determinism_check) {
    if (with_determinism_check) return check_determinism(info, options);
    DeterminismResult result;
    result.first = info.run(options);
    return result;
}

std::string replay_command(const ScenarioReport& report) {
    return "samsa sim --scenario " + report.scenario + " --seed " +
           std::to_string(report.options.seed) + " --nodes " +
           std::to_string(report.options.nodes) + " --duration " +
           report.options.duration.to_string() + " --faults " + report.options.faults;
}

DeterminismResult check_determinism(const ScenarioInfo& info, ScenarioOptions options) {
    DeterminismResult result;
    Recorder recorder(Recorder::Mode::record);
    options.recorder = &recorder;
    result.first = info.run(options);
    // Shift the allocator's state before the second run: blocks of assorted
    // sizes, held until it ends, so the same allocations land elsewhere.
    std::vector<std::unique_ptr<char[]>> ballast;
    for (std::size_t size = 8; size <= 4096; size = size * 3 / 2 + 8) {
        ballast.push_back(std::make_unique<char[]>(size));
    }
    recorder.switch_to_compare();
    result.second = info.run(options);
    recorder.finish();
    result.divergence = recorder.divergence();
    return result;
}

}  // namespace samsa::sim

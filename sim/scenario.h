// Scenarios: named simulations that `samsa sim --scenario NAME` runs. A
// scenario builds a world from the options, drives it through a safety phase
// (faults on) and a liveness phase (healed), runs its checkers, and reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/time.h"
#include "sim/fault_plan.h"
#include "sim/trace.h"

namespace samsa::sim {

struct ScenarioOptions {
    std::uint64_t seed = 1;
    int nodes = 0;                         // 0: the scenario's default
    Duration duration = Duration::zero();  // safety phase; zero: the scenario's default
    std::string faults = "swarm";
    Recorder* recorder = nullptr;  // set by the determinism check
};

struct ScenarioReport {
    std::string scenario;
    ScenarioOptions options;
    std::string plan;  // the fault plan, rendered
    FaultCounters fired;
    std::vector<std::pair<std::string, std::uint64_t>> stats;
    std::optional<std::string> failure;  // the first checker failure
    std::optional<std::string> error;    // bad options: nothing ran
    std::uint64_t digest = 0;
    std::uint64_t events = 0;
    Instant simulated_end;

    [[nodiscard]] bool passed() const { return !failure && !error; }
    [[nodiscard]] std::uint64_t stat(const std::string& name) const;
};

struct ScenarioInfo {
    const char* name;
    const char* description;
    int default_nodes;
    Duration default_duration;
    ScenarioReport (*run)(const ScenarioOptions&);
    // Stats that must be non-zero summed over a sweep: proof that what the
    // scenario checks really happened (e.g. crashes that lost unsynced data).
    std::vector<const char*> sweep_required_stats = {};
    // Fault groups that can affect this scenario: a sweep requires every kind
    // of these groups to fire at least once (fault coverage).
    std::vector<FaultGroup> fault_groups = {FaultGroup::network, FaultGroup::process,
                                            FaultGroup::disk, FaultGroup::time};
};

const std::vector<ScenarioInfo>& scenarios();
const ScenarioInfo* find_scenario(const std::string& name);

// Fills in defaults, checks the options, draws the fault plan from the seed.
// Returns nullopt and sets report.error on bad options.
std::optional<FaultPlan> prepare(const ScenarioInfo& info, ScenarioOptions& options,
                                 ScenarioReport& report);

class World;
// Copies what the run produced - faults fired, the first checker failure, the
// digest, the event count, the end time - from the world into the report.
void record_outcome(const World& world, ScenarioReport& report);

// The command that replays a run.
std::string replay_command(const ScenarioReport& report);

// Runs a scenario twice with the same options and compares them event by
// event. The second run happens with the heap in a different state, so a
// machine whose behaviour depends on addresses is caught.
struct DeterminismResult {
    ScenarioReport first;
    ScenarioReport second;
    std::optional<Divergence> divergence;
    [[nodiscard]] bool deterministic() const { return !divergence; }
};
DeterminismResult check_determinism(const ScenarioInfo& info, ScenarioOptions options);
// Runs once, or twice with the determinism check; `second` is empty if once.
DeterminismResult run_scenario(const ScenarioInfo& info, const ScenarioOptions& options,
                               bool with_determinism_check);

// Scenario entry points (one per file in sim/scenarios/).
ScenarioReport run_kernel(const ScenarioOptions& options);
ScenarioReport run_log(const ScenarioOptions& options);
ScenarioReport run_log_ack_canary(const ScenarioOptions& options);
ScenarioReport run_nondeterminism_canary(const ScenarioOptions& options);
ScenarioReport run_group(const ScenarioOptions& options);
ScenarioReport run_group_double_assign_canary(const ScenarioOptions& options);
ScenarioReport run_group_accept_fenced_canary(const ScenarioOptions& options);
ScenarioReport run_group_commit_regress_canary(const ScenarioOptions& options);
ScenarioReport run_group_never_sync_canary(const ScenarioOptions& options);
ScenarioReport run_raft(const ScenarioOptions& options);
ScenarioReport run_raft_ack_before_fsync_canary(const ScenarioOptions& options);
ScenarioReport run_raft_vote_twice_canary(const ScenarioOptions& options);
ScenarioReport run_raft_commit_without_quorum_canary(const ScenarioOptions& options);
ScenarioReport run_raft_truncate_below_commit_canary(const ScenarioOptions& options);

}  // namespace samsa::sim

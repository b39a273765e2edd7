// The `group` scenario: consumer-group members against one simulated samsa
// broker node - the real broker::Broker machine with its group coordinator,
// on the simulated disk, under process, disk and clock faults.
//
// The members (group_clients.h) create the topic, join, sync, heartbeat,
// commit, read their offsets back and churn: leave, crash, pause past their
// session timeout, restart (static members take their old place). The
// checkers (group_checkers.h, invariants 22-25) judge every answer the broker
// emits, online. After the safety phase the world is healed, churn stops, and
// within three session timeouts (plus a second) the group must be Stable
// with every partition owned by exactly one live member.
//
// Canaries, each a deliberate bug on the scenario's side that one checker
// must catch (no production code path is changed):
// - canary-group-double-assign (22): the leader gives partition 0 to two members;
// - canary-group-accept-fenced (23): a proxy between broker and members turns
//   the broker's fencing errors into success;
// - canary-group-commit-regress (24): members now and then commit an offset
//   below one they committed before;
// - canary-group-never-sync (25): one member joins but never sends SyncGroup.
#include "core/broker/broker.h"
#include "sim/nemesis.h"
#include "sim/scenario.h"
#include "sim/scenarios/group_clients.h"
#include "sim/scenarios/phases.h"
#include "sim/world.h"

namespace samsa::sim {

namespace {

constexpr NodeId kBroker{1};

double weight(Prng& prng) {
    return prng.chance(0.75) ? 0.2 + prng.unit() : 0.0;
}

groups::WorkloadParams draw_workload(Prng& shape, const groups::Canary& canary) {
    groups::WorkloadParams params;
    params.members = 3 + static_cast<int>(shape.uniform(3));
    params.static_share = shape.unit();
    params.session_timeout_ms = 1000 + 500 * static_cast<std::int32_t>(shape.uniform(4));
    params.latency_mean =
        Duration::microseconds(200 + static_cast<std::int64_t>(shape.uniform(3000)));
    params.commit_interval_mean =
        Duration::milliseconds(100 + static_cast<std::int64_t>(shape.uniform(400)));
    params.churn_interval_mean = Duration::seconds(2 + static_cast<std::int64_t>(shape.uniform(5)));
    params.leave = weight(shape);
    params.crash = weight(shape);
    params.pause = weight(shape);
    params.restart = weight(shape);
    if (params.leave + params.crash + params.pause + params.restart == 0.0) params.pause = 1;
    params.canary = canary;
    if (canary.accept_fenced) {
        // Zombies: members paused past their session timeout, often.
        params.pause = 4;
        params.churn_interval_mean = Duration::seconds(2);
    }
    return params;
}

broker::BrokerConfig draw_broker(Prng& shape) {
    broker::BrokerConfig config;
    config.node_id = kBroker;
    config.groups.session_timeout_min_ms = 500;
    config.groups.partitions = 1 + static_cast<std::int32_t>(shape.uniform(3));
    // Small, so __consumer_offsets is compacted now and then, crashes included.
    config.offsets_compact_bytes = 2048ULL << shape.uniform(6);
    config.log.segment_bytes_max = 64 << 10;
    config.offsets_log.segment_bytes_max = 16 << 10;
    return config;
}

ScenarioReport run_group_scenario(const ScenarioOptions& requested, const char* name,
                                  groups::Canary canary) {
    ScenarioOptions options = requested;
    ScenarioReport report;
    const auto plan = prepare(*find_scenario(name), options, report);
    if (!plan) return report;
    if (options.nodes != 1) {
        report.error = "the group scenario runs one broker: --nodes must be 1";
        return report;
    }
    World world(options.seed, options.nodes, *plan);
    world.set_recorder(options.recorder);
    Prng shape = world.fork_prng();
    const auto params = draw_workload(shape, canary);
    const auto config = draw_broker(shape);
    world.set_factory(kBroker, factory_of<broker::Broker>(
                                   [config](NodeId, Prng) { return broker::Broker(config); }));
    groups::GroupWorkload workload(world, world.fork_prng(), params, kBroker);
    NemesisParams nemesis_params;
    nemesis_params.down_max = 1;
    Nemesis nemesis(world, world.fork_prng(), nemesis_params);
    run_safety_then_heal(world, nemesis, workload, options.duration);
    // Liveness: no new faults, no churn, everything back up and connected.
    const Duration bound =
        Duration::milliseconds(3 * params.session_timeout_ms) + Duration::seconds(1);
    world.run_until(world.now() + bound - Duration::milliseconds(200));
    workload.describe();
    world.run_until(world.now() + Duration::milliseconds(200));
    if (!world.stopped()) {
        workload.liveness().check(workload.truth(), workload.views(), workload.described(),
                                  bound.to_string());
    }
    record_outcome(world, report);
    report.stats = workload.stats();
    return report;
}

}  // namespace

ScenarioReport run_group(const ScenarioOptions& options) {
    return run_group_scenario(options, "group", {});
}

ScenarioReport run_group_double_assign_canary(const ScenarioOptions& options) {
    return run_group_scenario(options, "canary-group-double-assign", {.double_assign = true});
}

ScenarioReport run_group_accept_fenced_canary(const ScenarioOptions& options) {
    return run_group_scenario(options, "canary-group-accept-fenced", {.accept_fenced = true});
}

ScenarioReport run_group_commit_regress_canary(const ScenarioOptions& options) {
    return run_group_scenario(options, "canary-group-commit-regress", {.commit_regress = true});
}

ScenarioReport run_group_never_sync_canary(const ScenarioOptions& options) {
    return run_group_scenario(options, "canary-group-never-sync", {.never_sync = true});
}

}  // namespace samsa::sim

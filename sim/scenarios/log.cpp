// The `log` scenario: the partition log under disk and process faults.
// Each node hosts one PartitionLog (nodes are independent: no messages).
// Checkers, after every event:
// - recovery: the log read back after a restart is exactly a prefix of what
//   was appended (from the log start on), and holds every acknowledged batch;
// - reads: every batch a read returns matches what was appended at its offset
//   (a read never serves a batch that fails its CRC - LogNode asserts that);
// - no corruption at rest is injected, so no log may end up needing repair;
// - liveness: once healed, every node's log is ready and appends complete.
#include <algorithm>

#include "sim/nemesis.h"
#include "sim/scenario.h"
#include "sim/scenarios/log_node.h"
#include "sim/world.h"

namespace samsa::sim {

namespace {

std::size_t slot(NodeId node) {
    return static_cast<std::size_t>(node.value() - 1);
}

std::string describe(const StoredBatch& batch) {
    return "batch [" + batch.base.to_string() + ".." + batch.last.to_string() + "]";
}

class LogChecker final : public Observer {
public:
    explicit LogChecker(World& world)
        : world_(world), nodes_(static_cast<std::size_t>(world.node_count())) {}

    void on_crash(NodeId node, Instant) override {
        auto& state = nodes_[slot(node)];
        const auto* machine = world_.machine<LogNode>(node);
        if (machine != nullptr && machine->recovered()) {
            state.issued = machine->issued();
            state.acked = machine->acknowledged();
        }
        state.verified = false;
    }

    void on_restart(NodeId node, bool wiped, Instant) override {
        if (wiped) nodes_[slot(node)] = NodeState{};
    }

    void on_step(NodeId node, Instant, const io::Event&, const io::Outbox&) override {
        auto* machine = world_.machine<LogNode>(node);
        if (machine == nullptr) return;
        const std::string who = "log checker: node " + node.to_string();
        if (machine->log().state() == log::PartitionLog::State::needs_repair) {
            world_.fail(who + " needs repair, but no corruption at rest was injected");
            return;
        }
        auto& state = nodes_[slot(node)];
        if (!state.verified && machine->recovered()) {
            state.verified = true;
            verify_recovery(who, state, *machine->recovered(), machine->log().log_end());
        }
        for (const auto& batch : machine->take_read_batches()) check_read(who, *machine, batch);
    }

    [[nodiscard]] std::uint64_t recoveries() const noexcept { return recoveries_; }
    [[nodiscard]] std::uint64_t unsynced_losses() const noexcept { return unsynced_losses_; }
    [[nodiscard]] std::uint64_t reads_checked() const noexcept { return reads_checked_; }

private:
    struct NodeState {
        std::vector<StoredBatch> issued;
        std::vector<StoredBatch> acked;
        bool verified = false;
    };

    // `end` is the log end right after recovery (retention may have removed
    // even acknowledged batches, but never the end of the log).
    void verify_recovery(const std::string& who, const NodeState& state,
                         const std::vector<StoredBatch>& recovered, Offset end) {
        ++recoveries_;
        // Retention may have dropped a prefix, and a crash may have undone a
        // removal that was not yet durable: compare where both have batches.
        std::size_t first = 0;
        while (first < recovered.size() && !state.issued.empty() &&
               recovered[first].base < state.issued.front().base) {
            ++first;
        }
        auto issued = state.issued.begin();
        if (first < recovered.size()) {
            issued =
                std::find_if(state.issued.begin(), state.issued.end(),
                             [&](const StoredBatch& b) { return b.base == recovered[first].base; });
            if (issued == state.issued.end() && !state.issued.empty()) {
                world_.fail(who + " recovered " + describe(recovered[first]) +
                            ", which was never appended");
                return;
            }
        }
        for (std::size_t i = first; i < recovered.size(); ++i) {
            if (issued == state.issued.end() || !(*issued == recovered[i])) {
                world_.fail(who + " recovered " + describe(recovered[i]) +
                            " where the appended log differs: not a prefix");
                return;
            }
            ++issued;
        }
        if (!state.acked.empty() && state.acked.back().last >= end) {
            world_.fail(who + " lost acknowledged " + describe(state.acked.back()) +
                        ": recovered up to offset " + end.to_string());
            return;
        }
        if (issued != state.issued.end()) ++unsynced_losses_;
    }

    void check_read(const std::string& who, const LogNode& machine, const StoredBatch& batch) {
        ++reads_checked_;
        const auto& issued = machine.issued();
        const auto found =
            std::lower_bound(issued.begin(), issued.end(), batch.base,
                             [](const StoredBatch& b, Offset base) { return b.base < base; });
        if (found == issued.end() || !(*found == batch)) {
            world_.fail(who + " read " + describe(batch) +
                        ", which differs from what was appended");
        }
    }

    World& world_;
    std::vector<NodeState> nodes_;
    std::uint64_t recoveries_ = 0;
    std::uint64_t unsynced_losses_ = 0;
    std::uint64_t reads_checked_ = 0;
};

constexpr Duration kLiveness = Duration::seconds(5);

}  // namespace

namespace {

ScenarioReport run_log_scenario(const ScenarioOptions& requested, const char* name,
                                bool ack_before_fsync) {
    ScenarioOptions options = requested;
    ScenarioReport report;
    const auto plan = prepare(*find_scenario(name), options, report);
    if (!plan) return report;
    World world(options.seed, options.nodes, *plan);
    world.set_recorder(options.recorder);
    Prng shape = world.fork_prng();
    LogNodeParams params;
    // Small segments and reads, so rolls, retention and multi-read scans happen.
    params.log.segment_bytes_max = 4096 << shape.uniform(5);
    params.log.retention_bytes_max = shape.chance(0.5) ? params.log.segment_bytes_max * 4 : 0;
    // Segment files retention drops are reused by later rolls (0-2 spares).
    params.log.spare_segments_max = shape.uniform(3);
    params.log.read_bytes_max = 1024 << shape.uniform(4);
    params.log.fsync_before_ack = !ack_before_fsync;
    // 0: a second write goes out whenever one is in flight (two in flight often).
    params.log.flush_bytes_min = shape.chance(0.5) ? 0 : params.log.flush_bytes_min;
    // 1-8 writes in flight, and often writes capped small, so a backlog
    // streams as many writes in flight that a crash can cut anywhere.
    params.log.flushes_in_flight_max = 1 + shape.uniform(8);
    params.log.flush_bytes_max = shape.chance(0.5) ? 1024 << shape.uniform(4) : 0;
    for (int i = 1; i <= options.nodes; ++i) {
        world.set_factory(NodeId(i), factory_of<LogNode>([params](NodeId self, Prng prng) {
                              return LogNode(self, prng, params);
                          }));
    }
    LogChecker checker(world);
    world.add_observer(checker);
    NemesisParams nemesis_params;
    nemesis_params.down_max = options.nodes;  // nodes are independent: any may be down
    Nemesis nemesis(world, world.fork_prng(), nemesis_params);
    world.start();
    nemesis.start(Instant::zero() + options.duration);
    world.run_until(Instant::zero() + options.duration);

    world.plan().clear();
    nemesis.heal();
    std::vector<std::size_t> acked_at_heal;
    for (int i = 1; i <= options.nodes; ++i) {
        const auto* machine = world.machine<LogNode>(NodeId(i));
        acked_at_heal.push_back(machine == nullptr ? 0 : machine->acknowledged().size());
    }
    world.run_until(world.now() + kLiveness);
    for (int i = 1; i <= options.nodes && !world.stopped(); ++i) {
        const auto* machine = world.machine<LogNode>(NodeId(i));
        if (machine == nullptr || machine->log().state() != log::PartitionLog::State::ready ||
            !machine->recovered() ||
            machine->acknowledged().size() <= acked_at_heal[static_cast<std::size_t>(i - 1)]) {
            world.fail("liveness: node " + std::to_string(i) +
                       "'s log did not recover and take appends after healing");
        }
    }
    record_outcome(world, report);
    report.stats = {{"recoveries_checked", checker.recoveries()},
                    {"crashes_losing_unsynced", checker.unsynced_losses()},
                    {"reads_checked", checker.reads_checked()}};
    return report;
}

}  // namespace

ScenarioReport run_log(const ScenarioOptions& options) {
    return run_log_scenario(options, "log", false);
}

// The canary: a log that acknowledges appends before their fsync. The
// checkers must catch it losing acknowledged batches in a crash.
ScenarioReport run_log_ack_canary(const ScenarioOptions& options) {
    return run_log_scenario(options, "canary-log-ack-before-fsync", true);
}

}  // namespace samsa::sim

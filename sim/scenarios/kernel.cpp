// The `kernel` scenario: the simulator tests itself. KernelNodes exchange
// sequenced messages and persist what they receive, under every fault the
// plan turns on; checkers verify the network and disk models from outside:
// - partitions: no message is delivered across a cut link;
// - durability: a recovered node's file holds, as a prefix of what it wrote,
//   every record it had made durable - and, across a sweep, crashes do lose
//   unsynced records sometimes (the disk model is really exercised);
// - liveness: once healed, every message sent is received and made durable.
#include <map>
#include <set>
#include <tuple>

#include "sim/nemesis.h"
#include "sim/scenario.h"
#include "sim/scenarios/kernel_node.h"
#include "sim/world.h"

namespace samsa::sim {

namespace {

std::size_t slot(NodeId node) {
    return static_cast<std::size_t>(node.value() - 1);
}

std::string describe(const RecordId& id) {
    return "record(from=" + std::to_string(id.from) + " session=" + std::to_string(id.session) +
           " seq=" + std::to_string(id.sequence) + ")";
}

// Keeps its own map of cut links from the announcements, independent of the
// network model's, and checks every delivery against it.
class PartitionChecker final : public Observer {
public:
    explicit PartitionChecker(World& world)
        : world_(world), cut_(static_cast<std::size_t>(world.node_count() * world.node_count())) {}

    void on_cut(NodeId from, NodeId to, bool cut, Instant) override { cut_[link(from, to)] = cut; }

    void on_deliver(NodeId from, NodeId to, const io::Bytes&, Instant) override {
        ++deliveries_;
        if (cut_[link(from, to)]) {
            world_.fail("partition checker: a message from node " + from.to_string() +
                        " reached node " + to.to_string() + " across a cut link");
        }
    }

    [[nodiscard]] std::uint64_t deliveries() const noexcept { return deliveries_; }

private:
    std::size_t link(NodeId from, NodeId to) const {
        return slot(from) * static_cast<std::size_t>(world_.node_count()) + slot(to);
    }
    World& world_;
    std::vector<bool> cut_;
    std::uint64_t deliveries_ = 0;
};

class DurabilityChecker final : public Observer {
public:
    explicit DurabilityChecker(World& world)
        : world_(world), nodes_(static_cast<std::size_t>(world.node_count())) {}

    void on_crash(NodeId node, Instant) override {
        auto& state = nodes_[slot(node)];
        const auto* machine = world_.machine<KernelNode>(node);
        if (machine != nullptr && machine->recovered()) {
            state.durable = machine->durable_records();
            state.written = machine->written_records();
        }  // else it crashed while recovering: the expectation stands
        state.verified = false;
        ++crashes_;
    }

    void on_restart(NodeId node, bool wiped, Instant) override {
        if (!wiped) return;
        nodes_[slot(node)] = NodeState{};  // an empty disk promises nothing
    }

    void on_step(NodeId node, Instant, const io::Event&, const io::Outbox&) override {
        auto& state = nodes_[slot(node)];
        const auto* machine = world_.machine<KernelNode>(node);
        if (state.verified || machine == nullptr || !machine->recovered()) return;
        state.verified = true;
        verify(node, state, machine->recovered_records());
    }

    [[nodiscard]] std::uint64_t recoveries() const noexcept { return recoveries_; }
    [[nodiscard]] std::uint64_t unsynced_losses() const noexcept { return unsynced_losses_; }
    [[nodiscard]] std::uint64_t records_lost() const noexcept { return records_lost_; }

private:
    struct NodeState {
        std::vector<RecordId> durable;
        std::vector<RecordId> written;
        bool verified = false;
    };

    void verify(NodeId node, const NodeState& state, const std::vector<RecordId>& recovered) {
        ++recoveries_;
        const std::string who = "durability checker: node " + node.to_string();
        if (recovered.size() > state.written.size()) {
            world_.fail(who + " recovered " + std::to_string(recovered.size()) +
                        " records but had written only " + std::to_string(state.written.size()));
            return;
        }
        for (std::size_t i = 0; i < recovered.size(); ++i) {
            if (!(recovered[i] == state.written[i])) {
                world_.fail(who + " recovered " + describe(recovered[i]) + " at position " +
                            std::to_string(i) + " where it wrote " + describe(state.written[i]));
                return;
            }
        }
        if (recovered.size() < state.durable.size()) {
            world_.fail(who + " lost durable records: recovered " +
                        std::to_string(recovered.size()) + " of " +
                        std::to_string(state.durable.size()) + " fsynced, first missing " +
                        describe(state.durable[recovered.size()]));
            return;
        }
        if (recovered.size() < state.written.size()) {
            ++unsynced_losses_;
            records_lost_ += state.written.size() - recovered.size();
        }
    }

    World& world_;
    std::vector<NodeState> nodes_;
    std::uint64_t crashes_ = 0;
    std::uint64_t recoveries_ = 0;
    std::uint64_t unsynced_losses_ = 0;
    std::uint64_t records_lost_ = 0;
};

// After healing: every message sent inside [from, until) must end up durable
// at its destination by the end of the run.
class LivenessChecker final : public Observer {
public:
    LivenessChecker(World& world, Instant from, Instant until)
        : world_(world), from_(from), until_(until) {}

    void on_send(NodeId, NodeId to, const io::Bytes& payload, Instant now) override {
        if (now < from_ || now >= until_) return;
        const auto id = KernelNode::decode_message(payload);
        if (id) expected_.emplace_back(to, *id);
    }

    void check() {
        for (const auto& [to, id] : expected_) {
            const auto* machine = world_.machine<KernelNode>(to);
            const auto& durable = machine == nullptr ? empty_ : machine->durable_records();
            if (std::find(durable.begin(), durable.end(), id) == durable.end()) {
                world_.fail("liveness checker: after healing, " + describe(id) + " sent to node " +
                            to.to_string() + " never became durable there");
                return;
            }
        }
    }

    [[nodiscard]] std::size_t expected() const noexcept { return expected_.size(); }

private:
    World& world_;
    Instant from_;
    Instant until_;
    std::vector<std::pair<NodeId, RecordId>> expected_;
    const std::vector<RecordId> empty_;
};

constexpr Duration kSettle = Duration::seconds(1);
constexpr Duration kLivenessSend = Duration::seconds(3);
constexpr Duration kDrain = Duration::seconds(2);

}  // namespace

ScenarioReport run_kernel(const ScenarioOptions& requested) {
    ScenarioOptions options = requested;
    ScenarioReport report;
    const auto plan = prepare(*find_scenario("kernel"), options, report);
    if (!plan) return report;

    World world(options.seed, options.nodes, *plan);
    world.set_recorder(options.recorder);
    KernelNodeParams params;
    params.node_count = options.nodes;
    for (int i = 1; i <= options.nodes; ++i) {
        world.set_factory(NodeId(i), factory_of<KernelNode>([params](NodeId self, Prng prng) {
                              return KernelNode(self, prng, params);
                          }));
    }
    PartitionChecker partitions(world);
    DurabilityChecker durability(world);
    world.add_observer(partitions);
    world.add_observer(durability);
    Nemesis nemesis(world, world.fork_prng());

    // Safety phase: faults run freely.
    const Instant safety_end = Instant::zero() + options.duration;
    world.start();
    nemesis.start(safety_end);
    world.run_until(safety_end);

    // Liveness phase: heal everything; then every message must get through.
    const Instant heal_at = world.now();
    LivenessChecker liveness(world, heal_at + kSettle, heal_at + kSettle + kLivenessSend);
    world.add_observer(liveness);
    world.plan().clear();
    nemesis.heal();
    world.run_until(heal_at + kSettle + kLivenessSend + kDrain);
    if (!world.stopped()) liveness.check();

    record_outcome(world, report);
    report.stats = {
        {"deliveries", partitions.deliveries()},
        {"recoveries_checked", durability.recoveries()},
        {"crashes_losing_unsynced", durability.unsynced_losses()},
        {"unsynced_records_lost", durability.records_lost()},
        {"liveness_messages", liveness.expected()},
    };
    return report;
}

}  // namespace samsa::sim

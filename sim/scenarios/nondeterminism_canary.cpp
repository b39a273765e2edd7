// The `canary-nondeterminism` scenario: a machine that is deliberately not
// deterministic, to prove that --check-determinism catches such machines. It
// keeps heap objects in an unordered_set keyed by pointer and sends the value
// of whichever comes first in iteration order - an order that depends on the
// addresses the allocator hands out, which differ from run to run.
#include <memory>
#include <unordered_set>

#include "sim/scenario.h"
#include "sim/world.h"

namespace samsa::sim {

namespace {

class AddressDependentNode {
public:
    AddressDependentNode(NodeId self, int node_count) : self_(self), node_count_(node_count) {}

    void step(Instant, const io::Event& event, io::Outbox& out) {
        if (std::holds_alternative<io::MessageReceived>(event)) return;
        auto item = std::make_shared<std::uint64_t>(counter_++);
        items_.push_back(item);
        order_.insert(item.get());
        if (items_.size() > 8) {
            order_.erase(items_.front().get());
            items_.erase(items_.begin());
        }
        const std::uint64_t first = **order_.begin();
        const NodeId peer(1 + (self_.value() % node_count_));
        out.push(io::Send{peer, io::Bytes{static_cast<std::uint8_t>(first)}});
        out.push(io::SetTimer{TimerId(1), Duration::milliseconds(10)});
    }

private:
    NodeId self_;
    int node_count_;
    std::uint64_t counter_ = 0;
    std::vector<std::shared_ptr<std::uint64_t>> items_;
    std::unordered_set<const std::uint64_t*> order_;
};

}  // namespace

ScenarioReport run_nondeterminism_canary(const ScenarioOptions& requested) {
    ScenarioOptions options = requested;
    options.faults = "none";  // the machine itself is the fault
    ScenarioReport report;
    const auto plan = prepare(*find_scenario("canary-nondeterminism"), options, report);
    if (!plan) return report;
    World world(options.seed, options.nodes, *plan);
    world.set_recorder(options.recorder);
    const int nodes = options.nodes;
    for (int i = 1; i <= nodes; ++i) {
        world.set_factory(NodeId(i), factory_of<AddressDependentNode>([nodes](NodeId self, Prng) {
                              return AddressDependentNode(self, nodes);
                          }));
    }
    world.start();
    world.run_until(Instant::zero() + options.duration);
    record_outcome(world, report);
    return report;
}

}  // namespace samsa::sim

// Benchmarks of the simulator kernel (sim/world.h) and its network model
// (sim/network.h), with a same-run reference: a raw binary heap of
// (time, sequence) keys of the same size as the kernel's queue. The machine
// that runs these is shared and noisy, so results are read as ratios to the
// reference measured in the same run (bench/run.sh prints them).
//
// Rates are per CPU second of the benchmark thread (Google Benchmark's
// default), which a busy neighbour disturbs less than wall time.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <variant>
#include <vector>

#include "core/base/ids.h"
#include "core/base/prng.h"
#include "core/base/time.h"
#include "core/io/seam.h"
#include "sim/fault_plan.h"
#include "sim/network.h"
#include "sim/scenario.h"
#include "sim/world.h"

namespace samsa::bench {
namespace {

constexpr std::uint64_t kSeed = 1;
constexpr Duration kTick = Duration::milliseconds(1);  // the timer machines' period
// Simulated time run per benchmark iteration: 1000 ticks, so an iteration of
// BM_KernelTimerEvents processes 1000 events per node.
constexpr Duration kSlice = Duration::seconds(1);
constexpr std::int64_t kTicksPerSlice = kSlice.count_ns() / kTick.count_ns();

// ---- Trivial machines -------------------------------------------------------

// Re-arms one timer on Start and on every TimerFired; nothing else.
class TimerMachine {
public:
    void step(Instant /*now*/, const io::Event& event, io::Outbox& out) {
        if (std::holds_alternative<io::TimerFired>(event) ||
            std::holds_alternative<io::Start>(event)) {
            out.push(io::SetTimer{TimerId(1), kTick});
        }
    }
};

// On Start sends one message to the next node (1 -> 2, ..., N -> 1); answers
// every message it receives with a copy sent back to the sender. So N
// messages are always in flight, each bouncing between one pair of nodes.
class PingPongMachine {
public:
    PingPongMachine(NodeId self, int node_count, std::size_t payload_size, std::uint64_t* delivered)
        : next_(NodeId(self.value() % node_count + 1)),
          payload_size_(payload_size),
          delivered_(delivered) {}

    void step(Instant /*now*/, const io::Event& event, io::Outbox& out) {
        if (const auto* message = std::get_if<io::MessageReceived>(&event)) {
            ++*delivered_;
            out.push(io::Send{message->from, message->payload});
        } else if (std::holds_alternative<io::Start>(event)) {
            out.push(io::Send{next_, io::Bytes(payload_size_, std::uint8_t{0x5a})});
        }
    }

private:
    NodeId next_;
    std::size_t payload_size_;
    std::uint64_t* delivered_;  // owned by the benchmark; counts deliveries
};

// Starts every node of `world` and runs the Start events, so that the timed
// loop sees only the steady state.
void start_world(sim::World& world) {
    world.start(Instant::zero());
    world.run_until(Instant::zero());
}

// ---- Kernel -----------------------------------------------------------------

// Events per second of the kernel with trivial handlers: N timers, one per
// node, each re-armed every tick.
void BM_KernelTimerEvents(benchmark::State& state) {
    const int nodes = static_cast<int>(state.range(0));
    sim::World world(kSeed, nodes, sim::FaultPlan::none());
    for (int i = 1; i <= nodes; ++i) {
        world.set_factory(
            NodeId(i), sim::factory_of<TimerMachine>([](NodeId, Prng) { return TimerMachine{}; }));
    }
    start_world(world);
    const std::uint64_t before = world.events_processed();
    for (auto _ : state) {
        world.run_until(world.now() + kSlice);
    }
    if (world.stopped()) state.SkipWithError("the world stopped");
    state.SetItemsProcessed(static_cast<std::int64_t>(world.events_processed() - before));
    state.counters["queue"] = static_cast<double>(nodes);
}
BENCHMARK(BM_KernelTimerEvents)->ArgName("nodes")->Arg(1)->Arg(16)->Arg(256);

// Messages per second through the whole kernel: N nodes ping-ponging,
// with an empty or a 16-byte payload.
void BM_KernelMessages(benchmark::State& state) {
    const int nodes = static_cast<int>(state.range(0));
    const auto payload_size = static_cast<std::size_t>(state.range(1));
    std::uint64_t delivered = 0;
    sim::World world(kSeed, nodes, sim::FaultPlan::none());
    for (int i = 1; i <= nodes; ++i) {
        world.set_factory(NodeId(i), sim::factory_of<PingPongMachine>([&](NodeId self, Prng) {
                              return PingPongMachine(self, nodes, payload_size, &delivered);
                          }));
    }
    start_world(world);
    const std::uint64_t delivered_before = delivered;
    for (auto _ : state) {
        world.run_until(world.now() + kSlice);
    }
    if (world.stopped()) state.SkipWithError("the world stopped");
    // Every event of the steady state is one delivery, so this is events/s too.
    state.SetItemsProcessed(static_cast<std::int64_t>(delivered - delivered_before));
}
BENCHMARK(BM_KernelMessages)->ArgNames({"nodes", "payload"})->ArgsProduct({{3, 16}, {0, 16}});

// ---- Network model ----------------------------------------------------------

sim::FaultPlan network_plan(bool faulty) {
    sim::FaultPlan plan = sim::FaultPlan::none();
    if (faulty) {
        plan.set(sim::FaultKind::loss, 0.05);
        plan.set(sim::FaultKind::duplicate, 0.05);
        plan.set(sim::FaultKind::reorder, 0.05);
    }
    return plan;
}

// Messages per second through sim::Network alone: send() decides the copies
// and their arrival instants, arrive() is asked about each copy. 16 nodes;
// faults 0 is FaultPlan::none(), faults 1 turns on loss, duplication and
// reordering at 5% each.
void BM_NetworkModelSend(benchmark::State& state) {
    constexpr int kNodes = 16;
    const sim::FaultPlan plan = network_plan(state.range(0) != 0);
    sim::FaultCounters counters;
    sim::Network network(kNodes, sim::NetworkParams{}, Prng(kSeed), plan, counters);
    Instant now = Instant::zero();
    std::uint64_t sent = 0;
    std::uint64_t arrived = 0;
    for (auto _ : state) {
        const int from = static_cast<int>(sent % kNodes) + 1;
        const int to = static_cast<int>((sent * 7 + 3) % kNodes) + 1;
        const auto copies = network.send(NodeId(from), NodeId(to), now);
        for (int i = 0; i < copies.count; ++i) {
            const auto decision = network.arrive(NodeId(from), NodeId(to), copies.at[i]);
            benchmark::DoNotOptimize(decision);
            ++arrived;
        }
        ++sent;
        now += Duration::microseconds(1);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(sent));
    state.counters["arrivals"] =
        benchmark::Counter(static_cast<double>(arrived), benchmark::Counter::kIsRate);
    state.counters["faults_fired"] = static_cast<double>(counters.total());
}
BENCHMARK(BM_NetworkModelSend)->ArgName("faults")->Arg(0)->Arg(1);

// ---- Reference --------------------------------------------------------------

struct ReferenceKey {
    std::int64_t at;
    std::uint64_t sequence;
};

bool later(const ReferenceKey& a, const ReferenceKey& b) noexcept {
    if (a.at != b.at) return a.at > b.at;
    return a.sequence > b.sequence;
}

// The same-run reference for BM_KernelTimerEvents: a raw binary heap of
// (time, sequence) keys holding as many entries as the kernel's queue (one
// per node), each pop followed by the push of its successor one tick later,
// and as many pop+push pairs per iteration as the kernel processes events.
void BM_ReferenceHeap(benchmark::State& state) {
    const std::int64_t size = state.range(0);
    std::vector<ReferenceKey> heap;
    heap.reserve(static_cast<std::size_t>(size) + 1);
    std::uint64_t sequence = 0;
    for (std::int64_t i = 0; i < size; ++i) {
        heap.push_back(ReferenceKey{0, sequence++});
        std::push_heap(heap.begin(), heap.end(), later);
    }
    const std::int64_t per_iteration = size * kTicksPerSlice;
    for (auto _ : state) {
        for (std::int64_t i = 0; i < per_iteration; ++i) {
            std::pop_heap(heap.begin(), heap.end(), later);
            const ReferenceKey top = heap.back();
            heap.pop_back();
            heap.push_back(ReferenceKey{top.at + kTick.count_ns(), sequence++});
            std::push_heap(heap.begin(), heap.end(), later);
        }
        benchmark::DoNotOptimize(heap.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * per_iteration);
    state.counters["queue"] = static_cast<double>(size);
}
BENCHMARK(BM_ReferenceHeap)->ArgName("size")->Arg(1)->Arg(16)->Arg(256);

// ---- A whole scenario -------------------------------------------------------

// One `kernel` scenario per iteration: 5 nodes, a 10 s safety phase with a
// swarm fault plan, then its healed liveness phase. sim_speed is simulated
// seconds per second (x real time); items are kernel events.
void BM_KernelScenario(benchmark::State& state) {
    double simulated_seconds = 0.0;
    std::uint64_t events = 0;
    for (auto _ : state) {
        const sim::ScenarioReport report = sim::run_kernel(
            sim::ScenarioOptions{kSeed, 5, Duration::seconds(10), "swarm", nullptr});
        if (!report.passed()) {
            state.SkipWithError("the kernel scenario failed");
            break;
        }
        simulated_seconds += (report.simulated_end - Instant::zero()).seconds_f();
        events += report.events;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(events));
    state.counters["sim_speed"] =
        benchmark::Counter(simulated_seconds, benchmark::Counter::kIsRate);
    state.counters["sim_seconds"] =
        benchmark::Counter(simulated_seconds, benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_KernelScenario)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace samsa::bench

BENCHMARK_MAIN();

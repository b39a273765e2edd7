// Acceptance tests of the simulated network (sim/network.h): partitions, loss
// and duplication rates, FIFO links, bounded link queues and clogging - both
// on sim::Network directly and through sim::World with small test machines.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "core/base/prng.h"
#include "core/io/seam.h"
#include "sim/fault_plan.h"
#include "sim/network.h"
#include "sim/world.h"
#include "tests/unit/printers.h"

namespace samsa::sim {
namespace {

const Instant kT0 = Instant::zero();

// ---- Through the world: partitions ----------------------------------------------

// Sends one message to every peer on each tick, `rounds` times.
class Chatter {
public:
    Chatter(NodeId self, int node_count, int rounds)
        : self_(self), node_count_(node_count), rounds_(rounds) {}

    void step(Instant, const io::Event& event, io::Outbox& out) {
        if (std::holds_alternative<io::MessageReceived>(event)) return;
        if (std::holds_alternative<io::TimerFired>(event)) {
            for (int peer = 1; peer <= node_count_; ++peer) {
                if (peer == self_.value()) continue;
                out.push(io::Send{NodeId(peer), io::Bytes{static_cast<std::uint8_t>(round_)}});
            }
            ++round_;
        }
        if (round_ < rounds_) out.push(io::SetTimer{TimerId(1), Duration::milliseconds(1)});
    }

private:
    NodeId self_;
    int node_count_;
    int rounds_;
    int round_ = 0;
};

using Link = std::pair<int, int>;

class LinkCounter final : public Observer {
public:
    void on_send(NodeId from, NodeId to, const io::Bytes&, Instant) override {
        ++sent[{from.value(), to.value()}];
    }
    void on_deliver(NodeId from, NodeId to, const io::Bytes&, Instant) override {
        ++delivered[{from.value(), to.value()}];
    }
    std::map<Link, int> sent;
    std::map<Link, int> delivered;
};

void install_chatter(World& world, int rounds) {
    const int nodes = world.node_count();
    for (int i = 1; i <= nodes; ++i) {
        world.set_factory(NodeId(i), factory_of<Chatter>([nodes, rounds](NodeId self, Prng) {
                              return Chatter(self, nodes, rounds);
                          }));
    }
}

bool same_side(int a, int b) {
    return (a <= 2) == (b <= 2);
}

TEST(NetworkPartition, TwoWayCutDropsEverythingAcrossAndNothingInside) {
    constexpr int kRounds = 200;
    World world(1, 4, FaultPlan::none());
    LinkCounter counter;
    world.add_observer(counter);
    install_chatter(world, kRounds);
    for (int a : {1, 2}) {
        for (int b : {3, 4}) {
            world.set_cut(NodeId(a), NodeId(b), true);
            world.set_cut(NodeId(b), NodeId(a), true);
        }
    }
    world.start();
    world.run_until(kT0 + Duration::seconds(2));

    int cross_sent = 0;
    for (int from = 1; from <= 4; ++from) {
        for (int to = 1; to <= 4; ++to) {
            if (from == to) continue;
            const Link link{from, to};
            EXPECT_EQ(counter.sent[link], kRounds) << from << "->" << to;
            if (same_side(from, to)) {
                EXPECT_EQ(counter.delivered[link], counter.sent[link]) << from << "->" << to;
            } else {
                EXPECT_EQ(counter.delivered[link], 0) << from << "->" << to;
                cross_sent += counter.sent[link];
            }
        }
    }
    EXPECT_EQ(cross_sent, 8 * kRounds);
    EXPECT_EQ(world.counters().count(FaultKind::partition_drop),
              static_cast<std::uint64_t>(cross_sent));
    EXPECT_EQ(world.counters().count(FaultKind::loss), 0U);
}

TEST(NetworkPartition, OneWayCutBlocksOnlyItsDirection) {
    constexpr int kRounds = 100;
    World world(2, 2, FaultPlan::none());
    LinkCounter counter;
    world.add_observer(counter);
    install_chatter(world, kRounds);
    world.set_cut(NodeId(1), NodeId(2), true);
    world.start();
    world.run_until(kT0 + Duration::seconds(1));

    const Link forward{1, 2};
    const Link backward{2, 1};
    EXPECT_EQ(counter.sent[forward], kRounds);
    EXPECT_EQ(counter.delivered[forward], 0);
    EXPECT_EQ(counter.sent[backward], kRounds);
    EXPECT_EQ(counter.delivered[backward], kRounds);
    EXPECT_TRUE(world.network().is_cut(NodeId(1), NodeId(2)));
    EXPECT_FALSE(world.network().is_cut(NodeId(2), NodeId(1)));
}

TEST(NetworkPartition, HealRestoresDelivery) {
    constexpr int kRounds = 100;
    World world(3, 2, FaultPlan::none());
    LinkCounter counter;
    world.add_observer(counter);
    install_chatter(world, kRounds);
    world.set_cut(NodeId(1), NodeId(2), true);
    world.set_cut(NodeId(2), NodeId(1), true);
    world.start();
    // Rounds tick every 1ms: heal after ~half of them.
    world.schedule(kT0 + Duration::microseconds(50500), "heal", [&] { world.heal_network(); });
    world.run_until(kT0 + Duration::seconds(1));
    for (const Link& link : {Link{1, 2}, Link{2, 1}}) {
        EXPECT_EQ(counter.sent[link], kRounds);
        EXPECT_GT(counter.delivered[link], 0);
        EXPECT_LT(counter.delivered[link], kRounds);
    }
}

// ---- On the model directly -------------------------------------------------------

struct Net {
    explicit Net(std::uint64_t seed, NetworkParams params = {}, int nodes = 3)
        : network(nodes, params, Prng(seed), plan, counters) {}
    FaultPlan plan = FaultPlan::none();
    FaultCounters counters;
    Network network;
};

const NodeId kA(1);
const NodeId kB(2);
const NodeId kC(3);

TEST(NetworkModel, CutDropsMessagesAlreadyInFlight) {
    Net net(1);
    const auto copies = net.network.send(kA, kB, kT0);
    ASSERT_EQ(copies.count, 1);
    EXPECT_EQ(net.network.in_flight(kA, kB), 1U);
    net.network.set_cut(kA, kB, true);
    const auto decision = net.network.arrive(kA, kB, copies.at[0]);
    EXPECT_EQ(decision.what, Network::Arrival::drop);
    EXPECT_EQ(net.network.in_flight(kA, kB), 0U);
    EXPECT_EQ(net.counters.count(FaultKind::partition_drop), 1U);

    EXPECT_EQ(net.network.send(kA, kB, kT0).count, 0);  // dropped at send
    EXPECT_EQ(net.network.in_flight(kA, kB), 0U);
    net.network.heal();
    EXPECT_FALSE(net.network.is_cut(kA, kB));
    EXPECT_EQ(net.network.send(kA, kB, kT0).count, 1);
}

// Sends `n` messages on one link, each delivered right away, and returns how
// many were sent as 0, 1 and 2 copies.
std::array<int, 3> copies_histogram(Net& net, int n) {
    std::array<int, 3> histogram{};
    Instant now = kT0;
    for (int i = 0; i < n; ++i) {
        now += Duration::milliseconds(1);
        const auto copies = net.network.send(kA, kB, now);
        ++histogram[static_cast<std::size_t>(copies.count)];
        for (int c = 0; c < copies.count; ++c) {
            EXPECT_GE(copies.at[c], now);
            EXPECT_EQ(net.network.arrive(kA, kB, copies.at[c]).what, Network::Arrival::deliver);
        }
    }
    EXPECT_EQ(net.network.in_flight(kA, kB), 0U);
    return histogram;
}

TEST(NetworkModel, LossRateWithinBinomialBounds) {
    constexpr int kN = 10000;
    constexpr double kP = 0.1;
    const double sigma = std::sqrt(kN * kP * (1 - kP));
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        Net net(seed);
        net.plan.set(FaultKind::loss, kP);
        const auto histogram = copies_histogram(net, kN);
        EXPECT_NEAR(histogram[0], kN * kP, 4 * sigma) << "seed " << seed;
        EXPECT_EQ(histogram[2], 0);
        EXPECT_EQ(net.counters.count(FaultKind::loss), static_cast<std::uint64_t>(histogram[0]));
    }
}

TEST(NetworkModel, DuplicateRateWithinBinomialBounds) {
    constexpr int kN = 10000;
    constexpr double kP = 0.05;
    const double sigma = std::sqrt(kN * kP * (1 - kP));
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        Net net(seed);
        net.plan.set(FaultKind::duplicate, kP);
        const auto histogram = copies_histogram(net, kN);
        EXPECT_EQ(histogram[0], 0);
        EXPECT_NEAR(histogram[2], kN * kP, 4 * sigma) << "seed " << seed;
        EXPECT_EQ(net.counters.count(FaultKind::duplicate),
                  static_cast<std::uint64_t>(histogram[2]));
    }
}

TEST(NetworkModel, NoFaultsMeansNoLossAndNoDuplicates) {
    Net net(9);
    const auto histogram = copies_histogram(net, 5000);
    EXPECT_EQ(histogram[1], 5000);
    EXPECT_EQ(net.counters.total(), 0U);
}

// Arrival instants of `n` back-to-back sends on one link (sent faster than
// the latency, so independent latencies alone would reorder them).
std::vector<Instant> arrivals(Net& net, int n) {
    std::vector<Instant> at;
    Instant now = kT0;
    for (int i = 0; i < n; ++i) {
        now += Duration::microseconds(10);
        const auto copies = net.network.send(kA, kB, now);
        EXPECT_EQ(copies.count, 1);
        at.push_back(copies.at[0]);
    }
    return at;
}

TEST(NetworkModel, LinksAreFifoWithoutReorder) {
    NetworkParams params;
    params.link_queue_max = 100000;
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        Net net(seed, params);
        net.plan.set(FaultKind::latency_tail, 0.2);  // long tails must not reorder either
        const auto at = arrivals(net, 2000);
        for (std::size_t i = 1; i < at.size(); ++i) {
            ASSERT_LE(at[i - 1], at[i]) << "seed " << seed << " message " << i;
        }
        EXPECT_GT(net.counters.count(FaultKind::latency_tail), 0U);
    }
}

TEST(NetworkModel, ReorderLetsMessagesOvertake) {
    NetworkParams params;
    params.link_queue_max = 100000;
    Net net(4, params);
    net.plan.set(FaultKind::reorder, 1.0);
    const auto at = arrivals(net, 2000);
    int overtaken = 0;
    for (std::size_t i = 1; i < at.size(); ++i) overtaken += at[i] < at[i - 1] ? 1 : 0;
    EXPECT_GT(overtaken, 100);
    EXPECT_EQ(net.counters.count(FaultKind::reorder), 2000U);
}

TEST(NetworkModel, LatencyIsAtLeastTheMinimum) {
    NetworkParams params;
    Net net(6, params);
    Instant now = kT0;
    for (int i = 0; i < 1000; ++i) {
        now += Duration::milliseconds(5);
        const auto copies = net.network.send(kA, kC, now);
        ASSERT_EQ(copies.count, 1);
        EXPECT_GE(copies.at[0] - now, params.latency_min);
        EXPECT_EQ(net.network.arrive(kA, kC, copies.at[0]).what, Network::Arrival::deliver);
    }
}

TEST(NetworkModel, SmallLinkQueueOverflows) {
    NetworkParams params;
    Net net(2, params);
    net.plan.set(FaultKind::queue_overflow, 1.0);
    const std::uint32_t limit = params.small_link_queue_max;
    std::vector<Instant> pending;
    int dropped = 0;
    for (std::uint32_t i = 0; i < limit + 12; ++i) {
        const auto copies = net.network.send(kA, kB, kT0);
        if (copies.count == 0) {
            ++dropped;
        } else {
            pending.push_back(copies.at[0]);
        }
    }
    EXPECT_EQ(pending.size(), limit);
    EXPECT_EQ(dropped, 12);
    EXPECT_EQ(net.network.in_flight(kA, kB), limit);
    EXPECT_EQ(net.counters.count(FaultKind::queue_overflow), 12U);
    // Other links have queues of their own.
    EXPECT_EQ(net.network.send(kB, kA, kT0).count, 1);
    EXPECT_EQ(net.network.send(kA, kC, kT0).count, 1);
    // One arrival frees one slot.
    EXPECT_EQ(net.network.arrive(kA, kB, pending[0]).what, Network::Arrival::deliver);
    EXPECT_EQ(net.network.send(kA, kB, kT0).count, 1);
    EXPECT_EQ(net.network.send(kA, kB, kT0).count, 0);
    EXPECT_EQ(net.counters.count(FaultKind::queue_overflow), 13U);
}

// link_queue_max bounds the messages in flight on a link; a duplicated
// copy is in flight too (arrive() consumes it), so it must respect the bound.
TEST(NetworkModel, DuplicatesDoNotOverfillTheLinkQueue) {
    NetworkParams params;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        Net net(seed, params);
        net.plan.set(FaultKind::queue_overflow, 1.0);
        net.plan.set(FaultKind::duplicate, 0.5);
        std::uint32_t peak = 0;
        for (int i = 0; i < 20; ++i) {
            (void)net.network.send(kA, kB, kT0);
            peak = std::max(peak, net.network.in_flight(kA, kB));
        }
        EXPECT_LE(peak, params.small_link_queue_max) << "seed " << seed;
    }
}

TEST(NetworkModel, DefaultLinkQueueIsBoundedToo) {
    NetworkParams params;
    params.link_queue_max = 16;
    Net net(2, params);
    for (int i = 0; i < 16; ++i) ASSERT_EQ(net.network.send(kA, kB, kT0).count, 1);
    EXPECT_EQ(net.network.send(kA, kB, kT0).count, 0);
    EXPECT_EQ(net.network.in_flight(kA, kB), 16U);
    EXPECT_EQ(net.counters.count(FaultKind::queue_overflow), 1U);
}

TEST(NetworkModel, ClogHoldsMessagesUntilItEnds) {
    Net net(3);
    const auto copies = net.network.send(kA, kB, kT0);
    ASSERT_EQ(copies.count, 1);
    const Instant clog_end = kT0 + Duration::milliseconds(100);
    net.network.clog(kA, kB, clog_end);

    auto decision = net.network.arrive(kA, kB, copies.at[0]);
    EXPECT_EQ(decision.what, Network::Arrival::wait);
    EXPECT_EQ(decision.until, clog_end);
    decision = net.network.arrive(kA, kB, clog_end - Duration::nanoseconds(1));
    EXPECT_EQ(decision.what, Network::Arrival::wait);
    EXPECT_EQ(net.network.in_flight(kA, kB), 1U);  // waiting is still in flight
    decision = net.network.arrive(kA, kB, clog_end);
    EXPECT_EQ(decision.what, Network::Arrival::deliver);
    EXPECT_EQ(net.network.in_flight(kA, kB), 0U);

    // Sent while clogged: held at arrival until the clog's end (so that
    // healing the clog early can release it), then delivered.
    const Instant clog2_end = kT0 + Duration::milliseconds(300);
    net.network.clog(kA, kB, clog2_end);
    const auto held = net.network.send(kA, kB, kT0 + Duration::milliseconds(200));
    ASSERT_EQ(held.count, 1);
    ASSERT_LT(held.at[0], clog2_end);
    decision = net.network.arrive(kA, kB, held.at[0]);
    EXPECT_EQ(decision.what, Network::Arrival::wait);
    EXPECT_EQ(decision.until, clog2_end);
    EXPECT_EQ(net.network.arrive(kA, kB, clog2_end).what, Network::Arrival::deliver);

    // Clogs never shorten: a shorter clog does not end a longer one.
    net.network.clog(kA, kB, kT0 + Duration::seconds(5));
    net.network.clog(kA, kB, kT0 + Duration::seconds(1));
    ASSERT_EQ(net.network.send(kA, kB, kT0 + Duration::seconds(1)).count, 1);
    decision = net.network.arrive(kA, kB, kT0 + Duration::seconds(2));
    EXPECT_EQ(decision.what, Network::Arrival::wait);
    EXPECT_EQ(decision.until, kT0 + Duration::seconds(5));
}

TEST(NetworkModel, ClogNodeAndUnclogAll) {
    Net net(5);
    const Instant until = kT0 + Duration::seconds(1);
    net.network.clog_node(kB, until);
    const Instant now = kT0 + Duration::milliseconds(1);
    std::vector<std::pair<NodeId, NodeId>> clogged = {{kA, kB}, {kB, kA}, {kC, kB}, {kB, kC}};
    for (const auto& [from, to] : clogged) {
        const auto copies = net.network.send(from, to, kT0);
        ASSERT_EQ(copies.count, 1);
        const auto decision = net.network.arrive(from, to, copies.at[0]);
        EXPECT_EQ(decision.what, Network::Arrival::wait);
        EXPECT_EQ(decision.until, until);
    }
    const auto free_copies = net.network.send(kA, kC, kT0);
    ASSERT_EQ(free_copies.count, 1);
    EXPECT_LT(free_copies.at[0], until);
    EXPECT_EQ(net.network.arrive(kA, kC, free_copies.at[0]).what, Network::Arrival::deliver);

    EXPECT_EQ(net.network.arrive(kA, kB, now).what, Network::Arrival::wait);
    net.network.unclog_all(now);
    for (const auto& [from, to] : clogged) {
        EXPECT_EQ(net.network.arrive(from, to, now).what, Network::Arrival::deliver);
    }
}

// A clogged link in the world: nothing arrives before the clog ends, and
// everything sent arrives after it (FIFO is kept).
class DeliveryLog final : public Observer {
public:
    void on_deliver(NodeId from, NodeId, const io::Bytes& payload, Instant now) override {
        if (from == NodeId(1)) deliveries.emplace_back(payload.at(0), now);
    }
    std::vector<std::pair<int, Instant>> deliveries;
};

TEST(NetworkWorld, ClogDelaysButDoesNotDrop) {
    constexpr int kRounds = 50;
    World world(8, 2, FaultPlan::none());
    DeliveryLog recorder;
    world.add_observer(recorder);
    install_chatter(world, kRounds);
    const Instant clog_end = kT0 + Duration::milliseconds(500);
    world.network().clog(NodeId(1), NodeId(2), clog_end);
    world.start();
    world.run_until(kT0 + Duration::seconds(2));
    ASSERT_EQ(recorder.deliveries.size(), static_cast<std::size_t>(kRounds));
    for (std::size_t i = 0; i < recorder.deliveries.size(); ++i) {
        EXPECT_EQ(recorder.deliveries[i].first, static_cast<int>(i));
        EXPECT_GE(recorder.deliveries[i].second, clog_end);
    }
}

// World::heal_network() unclogs every link (Network::unclog_all): messages a
// clog was holding are released then, not at the end the clog would have had.
TEST(NetworkWorld, HealReleasesMessagesHeldByAClog) {
    constexpr int kRounds = 50;
    World world(8, 2, FaultPlan::none());
    DeliveryLog log;
    world.add_observer(log);
    install_chatter(world, kRounds);
    world.network().clog(NodeId(1), NodeId(2), kT0 + Duration::seconds(10));
    world.start();
    const Instant heal_at = kT0 + Duration::milliseconds(200);
    world.schedule(heal_at, "heal", [&] { world.heal_network(); });
    world.run_until(kT0 + Duration::seconds(20));
    ASSERT_EQ(log.deliveries.size(), static_cast<std::size_t>(kRounds));
    for (const auto& [sequence, at] : log.deliveries) {
        EXPECT_LT(at, heal_at + Duration::milliseconds(10)) << "message " << sequence;
    }
}

}  // namespace
}  // namespace samsa::sim

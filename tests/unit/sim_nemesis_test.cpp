// Tests of the nemesis (sim/nemesis.h): it injects the faults its plan turns
// on, respects down_max, and heal() leaves the world whole - every node up and
// running, no cut or clogged link, the disks roomy - with no new faults after.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "core/base/prng.h"
#include "core/io/seam.h"
#include "sim/fault_plan.h"
#include "sim/nemesis.h"
#include "sim/world.h"
#include "tests/unit/printers.h"

namespace samsa::sim {
namespace {

const Instant kT0 = Instant::zero();

Instant at_ms(std::int64_t ms) {
    return kT0 + Duration::milliseconds(ms);
}

// Sends a sequenced message to every peer each millisecond, and writes a
// byte to its disk (the nemesis crashes some nodes at their next write).
class Chatter {
public:
    Chatter(NodeId self, int nodes) : self_(self), nodes_(nodes) {}
    void step(Instant, const io::Event& event, io::Outbox& out) {
        if (std::holds_alternative<io::MessageReceived>(event)) return;
        if (std::holds_alternative<io::IoCompleted>(event)) return;
        if (std::holds_alternative<io::Start>(event)) {
            out.push(io::Open{IoToken(1), FileId(1), "log", true, false});
        }
        if (std::holds_alternative<io::TimerFired>(event)) {
            out.push(io::Write{IoToken(2), FileId(1), sequence_, io::Bytes{1}});
            for (int peer = 1; peer <= nodes_; ++peer) {
                if (peer == self_.value()) continue;
                io::Bytes payload(8);
                for (int i = 0; i < 8; ++i)
                    payload[static_cast<std::size_t>(i)] =
                        static_cast<std::uint8_t>(sequence_ >> (8 * i));
                out.push(io::Send{NodeId(peer), std::move(payload)});
            }
            ++sequence_;
        }
        out.push(io::SetTimer{TimerId(1), Duration::milliseconds(1)});
    }

private:
    NodeId self_;
    int nodes_;
    std::uint64_t sequence_ = 0;
};

// Measures how long each message took, by (from, to, payload).
class Latencies final : public Observer {
public:
    void on_send(NodeId from, NodeId to, const io::Bytes& payload, Instant now) override {
        sent_[{from.value(), to.value(), payload}] = now;
    }
    void on_deliver(NodeId from, NodeId to, const io::Bytes& payload, Instant now) override {
        const auto found = sent_.find({from.value(), to.value(), payload});
        if (found == sent_.end() || found->second < measure_from) return;
        worst = std::max(worst, now - found->second);
        ++measured;
    }
    void on_crash(NodeId, Instant now) override { crashes.push_back(now); }
    void on_cut(NodeId, NodeId, bool cut, Instant now) override {
        if (cut) cuts.push_back(now);
    }

    Instant measure_from = Instant::from_nanoseconds(INT64_MAX);
    Duration worst;
    int measured = 0;
    std::vector<Instant> crashes;
    std::vector<Instant> cuts;

private:
    std::map<std::tuple<int, int, io::Bytes>, Instant> sent_;
};

void install_chatter(World& world) {
    const int nodes = world.node_count();
    for (int i = 1; i <= nodes; ++i) {
        world.set_factory(NodeId(i), factory_of<Chatter>([nodes](NodeId self, Prng) {
                              return Chatter(self, nodes);
                          }));
    }
}

FaultPlan only(std::initializer_list<std::pair<FaultKind, double>> rates) {
    FaultPlan plan = FaultPlan::none();
    for (const auto& [kind, rate] : rates) plan.set(kind, rate);
    return plan;
}

TEST(Nemesis, InjectsWhatThePlanTurnsOnAndRespectsDownMax) {
    World world(1, 5, only({{FaultKind::crash, 120.0}, {FaultKind::partition, 60.0}}));
    install_chatter(world);
    Latencies observer;
    world.add_observer(observer);
    Nemesis nemesis(world, world.fork_prng());
    world.start();
    nemesis.start(at_ms(5000));
    int most_down = 0;
    for (int ms = 10; ms <= 5000; ms += 10) {
        world.run_until(at_ms(ms));
        int down = 0;
        for (int i = 1; i <= 5; ++i) down += world.is_up(NodeId(i)) ? 0 : 1;
        most_down = std::max(most_down, down);
    }
    EXPECT_GE(world.counters().count(FaultKind::crash), 3U);
    EXPECT_GT(world.counters().count(FaultKind::partition), 0U);
    EXPECT_EQ(world.counters().count(FaultKind::pause), 0U);
    EXPECT_EQ(world.counters().count(FaultKind::clog), 0U);
    EXPECT_LE(most_down, 2);  // a minority of five
    EXPECT_GT(most_down, 0);
}

TEST(Nemesis, NoNewFaultsAfterUntil) {
    World world(2, 3, only({{FaultKind::crash, 300.0}, {FaultKind::partition, 300.0}}));
    install_chatter(world);
    Latencies observer;
    world.add_observer(observer);
    Nemesis nemesis(world, world.fork_prng());
    world.start();
    nemesis.start(at_ms(2000));
    world.run_until(at_ms(8000));
    ASSERT_FALSE(observer.crashes.empty());
    ASSERT_FALSE(observer.cuts.empty());
    for (const Instant at : observer.crashes) EXPECT_LE(at, at_ms(2000)) << at.to_string();
    for (const Instant at : observer.cuts) EXPECT_LE(at, at_ms(2000)) << at.to_string();
}

TEST(Nemesis, HealLeavesEveryNodeUpAndEveryLinkWhole) {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        World world(seed, 5,
                    only({{FaultKind::crash, 120.0},
                          {FaultKind::pause, 120.0},
                          {FaultKind::partition, 120.0},
                          {FaultKind::no_space, 120.0}}));
        install_chatter(world);
        const std::uint64_t capacity = world.disk(NodeId(1)).capacity();
        Nemesis nemesis(world, world.fork_prng());
        world.start();
        nemesis.start(at_ms(3000));
        world.run_until(at_ms(3000));
        world.plan().clear();
        nemesis.heal();
        world.run_until(at_ms(3100));
        for (int i = 1; i <= 5; ++i) {
            const NodeId node(i);
            EXPECT_TRUE(world.is_up(node)) << "seed " << seed << " node " << i;
            EXPECT_FALSE(world.is_paused(node)) << "seed " << seed << " node " << i;
            EXPECT_EQ(world.disk(node).capacity(), capacity) << "seed " << seed;
            for (int j = 1; j <= 5; ++j) EXPECT_FALSE(world.network().is_cut(node, NodeId(j)));
        }
    }
}

// After heal() the network is whole: a message sent then arrives after the
// usual sub-millisecond latency, not after a clog. (A swizzle clogs its nodes
// one by one over the following steps, from actions it schedules ahead.)
TEST(Nemesis, NoLinkIsCloggedAfterHeal) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        World world(seed, 5, only({{FaultKind::swizzle, 600.0}}));
        install_chatter(world);
        Latencies observer;
        world.add_observer(observer);
        Nemesis nemesis(world, world.fork_prng());
        world.start();
        nemesis.start(at_ms(2000));
        world.run_until(at_ms(2000));
        world.plan().clear();
        nemesis.heal();
        observer.measure_from = world.now() + Duration::nanoseconds(1);  // sent after heal()
        world.run_until(at_ms(5000));
        EXPECT_GT(world.counters().count(FaultKind::swizzle), 0U);
        EXPECT_GT(observer.measured, 1000);
        EXPECT_LT(observer.worst, Duration::milliseconds(100)) << "seed " << seed;
    }
}

}  // namespace
}  // namespace samsa::sim

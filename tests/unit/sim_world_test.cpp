// Tests of sim::World with small test machines: determinism, timers,
// crash/restart, pause/resume, clock drift, per-file I/O order, observers -
// and of the scenarios and fault plans built on it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/base/prng.h"
#include "core/io/seam.h"
#include "sim/fault_plan.h"
#include "sim/scenario.h"
#include "sim/world.h"
#include "tests/unit/printers.h"

namespace samsa::sim {
namespace {

const Instant kT0 = Instant::zero();

Instant at_ms(std::int64_t ms) {
    return kT0 + Duration::milliseconds(ms);
}

io::Bytes bytes_of(const std::string& text) {
    return io::Bytes(text.begin(), text.end());
}

std::string string_of(const io::Bytes& bytes) {
    return std::string(bytes.begin(), bytes.end());
}

// A machine whose behaviour is a function the test supplies; it counts the
// events its own incarnation has seen.
using Script = std::function<void(NodeId self, Instant now, const io::Event&, io::Outbox&)>;

class Scripted {
public:
    Scripted(NodeId self, const Script* script) : self_(self), script_(script) {}
    void step(Instant now, const io::Event& event, io::Outbox& out) {
        ++steps_;
        (*script_)(self_, now, event, out);
    }
    [[nodiscard]] int steps() const noexcept { return steps_; }

private:
    NodeId self_;
    const Script* script_;
    int steps_ = 0;
};

void install(World& world, NodeId node, const Script& script) {
    world.set_factory(node, factory_of<Scripted>(
                                [&script](NodeId self, Prng) { return Scripted(self, &script); }));
}

const Script kIdle = [](NodeId, Instant, const io::Event&, io::Outbox&) {};

const io::TimerFired* as_timer(const io::Event& event) {
    return std::get_if<io::TimerFired>(&event);
}
const io::IoCompleted* as_io(const io::Event& event) {
    return std::get_if<io::IoCompleted>(&event);
}
bool is_start(const io::Event& event) {
    return std::holds_alternative<io::Start>(event);
}

// ---- (a) determinism -----------------------------------------------------------------

// Uses its random stream for everything: peers, payloads, timer periods, disk.
class Pinger {
public:
    Pinger(NodeId self, Prng prng, int nodes) : self_(self), prng_(prng), nodes_(nodes) {}
    void step(Instant, const io::Event& event, io::Outbox& out) {
        if (is_start(event)) {
            out.push(io::Open{IoToken(1), FileId(1), "log", true, false});
            arm(out);
        } else if (as_timer(event) != nullptr) {
            const NodeId peer(static_cast<std::int32_t>(1 + prng_.uniform(nodes_)));
            out.push(io::Send{peer, io::Bytes{static_cast<std::uint8_t>(prng_.next_u64())}});
            out.push(io::Write{IoToken(++tokens_), FileId(1), offset_++, io::Bytes{1}});
            if (prng_.chance(0.3)) out.push(io::Fsync{IoToken(++tokens_), FileId(1)});
            arm(out);
        } else if (const auto* m = std::get_if<io::MessageReceived>(&event)) {
            if (!m->payload.empty() && m->payload[0] % 2 == 0) {
                out.push(
                    io::Send{m->from, io::Bytes{static_cast<std::uint8_t>(m->payload[0] + 1)}});
            }
        }
    }

private:
    void arm(io::Outbox& out) {
        out.push(io::SetTimer{TimerId(1), Duration::microseconds(prng_.range(500, 5000))});
    }
    NodeId self_;
    Prng prng_;
    int nodes_;
    std::uint64_t tokens_ = 1;
    std::uint64_t offset_ = 0;
};

std::pair<std::uint64_t, std::uint64_t> run_pingers(std::uint64_t seed) {
    Prng plan_prng(seed);
    World world(seed, 3, FaultPlan::all(plan_prng));
    for (int i = 1; i <= 3; ++i) {
        world.set_factory(NodeId(i), factory_of<Pinger>([](NodeId self, Prng prng) {
                              return Pinger(self, prng, 3);
                          }));
    }
    world.start();
    world.schedule(at_ms(300), "crash", [&] { world.crash(NodeId(2)); });
    world.schedule(at_ms(400), "restart", [&] { world.restart(NodeId(2), false); });
    world.run_until(at_ms(1000));
    return {world.digest().value(), world.events_processed()};
}

TEST(WorldDeterminism, SameSeedSameDigestDifferentSeedDifferentDigest) {
    const auto first = run_pingers(1);
    EXPECT_GT(first.second, 500U);
    EXPECT_EQ(run_pingers(1), first);
    std::set<std::uint64_t> digests{first.first};
    for (std::uint64_t seed = 2; seed <= 10; ++seed) digests.insert(run_pingers(seed).first);
    EXPECT_EQ(digests.size(), 10U);
}

ScenarioOptions kernel_options(std::uint64_t seed, Duration duration = Duration::seconds(5)) {
    return ScenarioOptions{seed, 3, duration, "swarm", nullptr};
}

TEST(WorldDeterminism, KernelDigestDependsOnlyOnTheSeed) {
    const auto one = run_kernel(kernel_options(1));
    ASSERT_TRUE(one.passed()) << one.failure.value_or("") << one.error.value_or("");
    EXPECT_EQ(run_kernel(kernel_options(1)).digest, one.digest);
    std::set<std::uint64_t> digests{one.digest};
    for (std::uint64_t seed = 2; seed <= 10; ++seed) {
        const auto other = run_kernel(kernel_options(seed));
        EXPECT_NE(other.digest, one.digest) << "seed " << seed;
        digests.insert(other.digest);
    }
    EXPECT_EQ(digests.size(), 10U);
}

// ---- (b) the determinism check ------------------------------------------------------------

TEST(WorldDeterminism, CheckCatchesTheNondeterministicCanary) {
    const ScenarioInfo* canary = find_scenario("canary-nondeterminism");
    ASSERT_NE(canary, nullptr);
    const auto result = check_determinism(*canary, ScenarioOptions{1, 3, Duration::seconds(5)});
    EXPECT_FALSE(result.deterministic());
    ASSERT_TRUE(result.divergence.has_value());
    EXPECT_TRUE(result.divergence->first.has_value());
    EXPECT_TRUE(result.divergence->second.has_value());
    EXPECT_FALSE(result.divergence->second_detail.empty());
    if (result.divergence->first && result.divergence->second) {
        EXPECT_NE(*result.divergence->first, *result.divergence->second);
        EXPECT_EQ(result.divergence->first->index, result.divergence->index);
    }
}

TEST(WorldDeterminism, KernelPassesTheDeterminismCheck) {
    const ScenarioInfo* kernel = find_scenario("kernel");
    ASSERT_NE(kernel, nullptr);
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        const auto result = check_determinism(*kernel, kernel_options(seed));
        EXPECT_TRUE(result.deterministic())
            << "seed " << seed << ": " << result.divergence->second_detail;
        EXPECT_EQ(result.first.digest, result.second.digest);
        EXPECT_EQ(result.first.events, result.second.events);
        EXPECT_TRUE(result.first.passed()) << result.first.failure.value_or("");
    }
}

// ---- (c) timers ---------------------------------------------------------------------------

struct TimerLog {
    Instant started;
    std::vector<std::pair<std::uint64_t, Instant>> fired;  // timer, local time
};

// Runs one node whose Start pushes `on_start` and which logs every timer.
TimerLog run_timers(std::vector<io::Effect> on_start, FaultPlan plan = FaultPlan::none()) {
    TimerLog log;
    const Script script = [&](NodeId, Instant now, const io::Event& event, io::Outbox& out) {
        if (is_start(event)) {
            log.started = now;
            for (const auto& effect : on_start) out.push(io::Effect(effect));
        } else if (const auto* timer = as_timer(event)) {
            log.fired.emplace_back(timer->timer.value(), now);
        }
    };
    World world(7, 1, plan);
    install(world, NodeId(1), script);
    world.start(at_ms(10));
    world.run_until(at_ms(2000));
    return log;
}

TEST(WorldTimers, FireAfterTheirDuration) {
    const auto log = run_timers({io::SetTimer{TimerId(1), Duration::milliseconds(100)}});
    ASSERT_EQ(log.fired.size(), 1U);
    EXPECT_EQ(log.fired[0].first, 1U);
    EXPECT_EQ(log.fired[0].second - log.started, Duration::milliseconds(100));
}

TEST(WorldTimers, RearmingReplacesTheDeadline) {
    auto log = run_timers({io::SetTimer{TimerId(1), Duration::milliseconds(100)},
                           io::SetTimer{TimerId(1), Duration::milliseconds(300)}});
    ASSERT_EQ(log.fired.size(), 1U);
    EXPECT_EQ(log.fired[0].second - log.started, Duration::milliseconds(300));

    log = run_timers({io::SetTimer{TimerId(1), Duration::milliseconds(300)},
                      io::SetTimer{TimerId(1), Duration::milliseconds(100)}});
    ASSERT_EQ(log.fired.size(), 1U);
    EXPECT_EQ(log.fired[0].second - log.started, Duration::milliseconds(100));
}

TEST(WorldTimers, CancelSuppressesAndCancelOfIdleIsANoOp) {
    const auto log = run_timers({io::SetTimer{TimerId(1), Duration::milliseconds(100)},
                                 io::SetTimer{TimerId(2), Duration::milliseconds(200)},
                                 io::CancelTimer{TimerId(1)}, io::CancelTimer{TimerId(7)}});
    ASSERT_EQ(log.fired.size(), 1U);
    EXPECT_EQ(log.fired[0].first, 2U);
    EXPECT_EQ(log.fired[0].second - log.started, Duration::milliseconds(200));
}

TEST(WorldTimers, LateTimersNeverFireBeforeTheirDeadline) {
    FaultPlan plan = FaultPlan::none();
    plan.set(FaultKind::timer_late, 1.0);
    const auto log = run_timers({io::SetTimer{TimerId(1), Duration::milliseconds(100)}}, plan);
    ASSERT_EQ(log.fired.size(), 1U);
    EXPECT_GT(log.fired[0].second - log.started, Duration::milliseconds(100));
}

TEST(WorldTimers, EarlyFiresAreObservedAndMachinesMustRecheck) {
    FaultPlan plan = FaultPlan::none();
    plan.set(FaultKind::timer_early, 1.0);
    const auto log = run_timers({io::SetTimer{TimerId(1), Duration::seconds(1)}}, plan);
    ASSERT_FALSE(log.fired.empty());
    const Instant deadline = log.started + Duration::seconds(1);
    EXPECT_LT(log.fired.front().second, deadline) << "no early fire was observed";
    EXPECT_GE(log.fired.front().second, log.started);
}

TEST(WorldTimers, AMachineThatRechecksGetsItsDeadline) {
    // The contract's recipe: on an early fire, re-arm for the rest.
    std::uint64_t early_fires = 0;
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        FaultPlan plan = FaultPlan::none();
        plan.set(FaultKind::timer_early, 0.5);
        Instant deadline;
        int early = 0;
        int on_time = 0;
        const Script script = [&](NodeId, Instant now, const io::Event& event, io::Outbox& out) {
            if (is_start(event)) {
                deadline = now + Duration::seconds(1);
                out.push(io::SetTimer{TimerId(1), Duration::seconds(1)});
            } else if (as_timer(event) != nullptr) {
                if (now < deadline) {
                    ++early;
                    out.push(io::SetTimer{TimerId(1), deadline - now});
                } else {
                    ++on_time;
                }
            }
        };
        World world(seed, 1, plan);
        install(world, NodeId(1), script);
        world.start();
        world.run_until(at_ms(3000));
        EXPECT_EQ(on_time, 1) << "seed " << seed;
        EXPECT_EQ(world.counters().count(FaultKind::timer_early),
                  static_cast<std::uint64_t>(early));
        early_fires += static_cast<std::uint64_t>(early);
    }
    EXPECT_GT(early_fires, 0U);
}

TEST(WorldTimers, TimersDieWithTheirIncarnation) {
    int fired = 0;
    const Script script = [&](NodeId, Instant, const io::Event& event, io::Outbox& out) {
        if (is_start(event)) out.push(io::SetTimer{TimerId(1), Duration::milliseconds(100)});
        if (as_timer(event) != nullptr) ++fired;
    };
    World world(1, 1, FaultPlan::none());
    install(world, NodeId(1), script);
    world.start();
    world.run_until(at_ms(50));
    world.crash(NodeId(1));
    world.restart(NodeId(1), false);  // boots 1ms later and arms again, for t=151ms
    world.run_until(at_ms(120));
    EXPECT_EQ(fired, 0);
    world.run_until(at_ms(500));
    EXPECT_EQ(fired, 1);
}

// ---- (d) crash and restart ----------------------------------------------------------------

// Opens "data", makes its name durable, then reads it back; the first
// incarnation that finds it empty writes "a" + fsync, then "b" without one.
class Store {
public:
    struct Log {
        int starts = 0;
        int messages = 0;
        std::vector<std::string> reads;
        bool wrote_b = false;
    };
    explicit Store(Log* log) : log_(log) {}

    void step(Instant, const io::Event& event, io::Outbox& out) {
        if (is_start(event)) {
            ++log_->starts;
            out.push(io::Open{IoToken(1), FileId(1), "data", true, false});
        } else if (std::holds_alternative<io::MessageReceived>(event)) {
            ++log_->messages;
            ++messages_;
        } else if (const auto* done = as_io(event)) {
            on_io(*done, out);
        }
    }
    [[nodiscard]] int messages() const noexcept { return messages_; }

private:
    void on_io(const io::IoCompleted& done, io::Outbox& out) {
        ASSERT_EQ(done.status, io::IoStatus::ok) << io::describe(io::Event{done});
        switch (done.token.value()) {
            case 1: out.push(io::SyncDir{IoToken(2)}); break;
            case 2: out.push(io::Read{IoToken(3), FileId(1), 0, 4096}); break;
            case 3:
                log_->reads.push_back(string_of(done.data));
                if (done.data.empty()) {
                    out.push(io::Write{IoToken(4), FileId(1), 0, bytes_of("a")});
                    out.push(io::Fsync{IoToken(5), FileId(1)});
                }
                break;
            case 5: out.push(io::Write{IoToken(6), FileId(1), 1, bytes_of("b")}); break;
            case 6: log_->wrote_b = true; break;
            default: break;
        }
    }
    Log* log_;
    int messages_ = 0;
};

// Sends a message to node `to` every millisecond.
const Script kPingEveryMs = [](NodeId, Instant, const io::Event& event, io::Outbox& out) {
    if (std::holds_alternative<io::MessageReceived>(event)) return;
    if (as_timer(event) != nullptr) out.push(io::Send{NodeId(1), io::Bytes{7}});
    out.push(io::SetTimer{TimerId(1), Duration::milliseconds(1)});
};

TEST(WorldCrash, OnlyFsyncedDataSurvivesAndTheMachineStartsAfresh) {
    Store::Log log;
    World world(3, 2, FaultPlan::none());
    world.set_factory(NodeId(1), factory_of<Store>([&log](NodeId, Prng) { return Store(&log); }));
    install(world, NodeId(2), kPingEveryMs);
    world.start();
    world.run_until(at_ms(500));
    ASSERT_TRUE(log.wrote_b);
    EXPECT_EQ(world.disk(NodeId(1)).contents("data"), bytes_of("ab"));
    EXPECT_EQ(world.disk(NodeId(1)).unsynced_operations("data"), 1U);
    ASSERT_NE(world.machine<Store>(NodeId(1)), nullptr);
    const int first_life_messages = world.machine<Store>(NodeId(1))->messages();
    EXPECT_GT(first_life_messages, 400);

    world.crash(NodeId(1));
    EXPECT_FALSE(world.is_up(NodeId(1)));
    EXPECT_EQ(world.machine<Store>(NodeId(1)), nullptr);
    EXPECT_EQ(world.disk(NodeId(1)).contents("data"), bytes_of("a"));
    const int messages_at_crash = log.messages;
    world.run_until(at_ms(1000));
    EXPECT_EQ(log.messages, messages_at_crash) << "a crashed node received messages";
    EXPECT_EQ(log.starts, 1);

    world.restart(NodeId(1), false);
    EXPECT_TRUE(world.is_up(NodeId(1)));
    world.run_until(at_ms(1100));
    EXPECT_EQ(log.starts, 2);
    EXPECT_EQ(log.reads, (std::vector<std::string>{"", "a"}));
    ASSERT_NE(world.machine<Store>(NodeId(1)), nullptr);
    const int second_life_messages = world.machine<Store>(NodeId(1))->messages();
    EXPECT_GT(second_life_messages, 0);
    EXPECT_LT(second_life_messages, 150);  // a new instance counts from zero
    EXPECT_EQ(log.messages, messages_at_crash + second_life_messages);

    // A wiped restart comes back empty.
    world.crash(NodeId(1));
    world.restart(NodeId(1), true);
    world.run_until(at_ms(1200));
    EXPECT_EQ(log.starts, 3);
    ASSERT_EQ(log.reads.size(), 3U);
    EXPECT_EQ(log.reads[2], "");
}

TEST(WorldCrash, CrashAfterNextWriteLosesThatWrite) {
    Store::Log log;
    World world(4, 1, FaultPlan::none());
    world.set_factory(NodeId(1), factory_of<Store>([&log](NodeId, Prng) { return Store(&log); }));
    world.start();
    // Arm before the machine's writes: the first one ("a", before its fsync)
    // reaches the disk and the node dies on the spot.
    bool after_ran = false;
    world.crash_after_next_write(NodeId(1), [&] { after_ran = true; });
    world.run_until(at_ms(500));
    EXPECT_TRUE(after_ran);
    EXPECT_FALSE(world.is_up(NodeId(1)));
    EXPECT_FALSE(log.wrote_b);
    ASSERT_TRUE(world.disk(NodeId(1)).contents("data").has_value());
    EXPECT_EQ(world.disk(NodeId(1)).contents("data"), io::Bytes{});
}

// ---- (e) pause and resume --------------------------------------------------------------

TEST(WorldPause, MessagesToAPausedNodeWaitForResumeInOrder) {
    std::vector<std::pair<int, Instant>> received;
    int sent = 0;
    const Script sender = [&](NodeId, Instant, const io::Event& event, io::Outbox& out) {
        if (as_timer(event) != nullptr && sent < 300) {
            out.push(io::Send{NodeId(2), io::Bytes{static_cast<std::uint8_t>(sent % 256),
                                                   static_cast<std::uint8_t>(sent / 256)}});
            ++sent;
        }
        if (!std::holds_alternative<io::MessageReceived>(event))
            out.push(io::SetTimer{TimerId(1), Duration::milliseconds(1)});
    };
    const Script receiver = [&](NodeId, Instant now, const io::Event& event, io::Outbox&) {
        if (const auto* m = std::get_if<io::MessageReceived>(&event)) {
            received.emplace_back(m->payload[0] + 256 * m->payload[1], now);
        }
    };
    World world(5, 2, FaultPlan::none());
    install(world, NodeId(1), sender);
    install(world, NodeId(2), receiver);
    world.start();
    world.schedule(at_ms(50), "pause", [&] { world.pause(NodeId(2)); });
    world.schedule(at_ms(200), "resume", [&] {
        EXPECT_TRUE(world.is_paused(NodeId(2)));
        world.resume(NodeId(2));
    });
    world.run_until(at_ms(1000));
    EXPECT_FALSE(world.is_paused(NodeId(2)));
    ASSERT_EQ(received.size(), 300U);
    int at_resume = 0;
    for (std::size_t i = 0; i < received.size(); ++i) {
        EXPECT_EQ(received[i].first, static_cast<int>(i)) << "out of order";
        const Instant at = received[i].second;
        EXPECT_FALSE(at > at_ms(50) && at < at_ms(200)) << "delivered while paused: #" << i;
        at_resume += at == at_ms(200) ? 1 : 0;
    }
    EXPECT_GT(at_resume, 140);  // everything held during the pause, released at once
}

// ---- (f) clock drift ---------------------------------------------------------------------

TEST(WorldClock, DriftMakesLocalTimeRunFast) {
    Instant local_start;
    Instant local_fired;
    Instant virtual_fired;
    const Script script = [&](NodeId, Instant now, const io::Event& event, io::Outbox& out) {
        if (is_start(event)) {
            local_start = now;
            out.push(io::SetTimer{TimerId(1), Duration::seconds(1)});
        }
        if (as_timer(event) != nullptr) local_fired = now;
    };
    class FireTime final : public Observer {
    public:
        explicit FireTime(Instant& at) : at_(at) {}
        void on_step(NodeId, Instant now, const io::Event& event, const io::Outbox&) override {
            if (as_timer(event) != nullptr) at_ = now;
        }
        Instant& at_;
    } observer(virtual_fired);
    World world(1, 3, FaultPlan::none());
    install(world, NodeId(1), script);
    install(world, NodeId(2), kIdle);
    install(world, NodeId(3), kIdle);
    world.add_observer(observer);
    world.set_clock_drift(NodeId(1), 10000);  // +1%
    world.set_clock_drift(NodeId(3), -10000);
    world.start();
    world.run_until(at_ms(10000));
    EXPECT_EQ(world.local_time(NodeId(1)), at_ms(10100));
    EXPECT_EQ(world.local_time(NodeId(2)), at_ms(10000));
    EXPECT_EQ(world.local_time(NodeId(3)), at_ms(9900));
    // 1s of a clock that runs 1% fast is 1/1.01 s = 0.990099s of virtual time.
    EXPECT_NEAR(static_cast<double>((virtual_fired - kT0).count_ns()), 990099010.0, 1000.0);
    EXPECT_GE(local_fired - local_start, Duration::seconds(1));
    EXPECT_LE(local_fired - local_start, Duration::seconds(1) + Duration::microseconds(1));

    world.jump_clock(NodeId(2), Duration::seconds(5));
    EXPECT_EQ(world.local_time(NodeId(2)), at_ms(15000));
}

// A node's `now` is a monotonic clock: changing its drift mid-run may change
// its rate from then on, but must not move it backwards.
TEST(WorldClock, ChangingDriftMidRunKeepsLocalTimeMonotonic) {
    World world(1, 1, FaultPlan::none());
    install(world, NodeId(1), kIdle);
    world.set_clock_drift(NodeId(1), 10000);
    world.start();
    world.run_until(at_ms(10000));
    const Instant before = world.local_time(NodeId(1));
    EXPECT_EQ(before, at_ms(10100));
    world.set_clock_drift(NodeId(1), 0);
    EXPECT_GE(world.local_time(NodeId(1)), before) << "the clock went back";
    world.run_until(at_ms(11000));
    EXPECT_GE(world.local_time(NodeId(1)), before + Duration::milliseconds(1000));
}

// ---- (g) per-file FIFO -------------------------------------------------------------------

// A machine that creates file "f" (FileId 1, made durable), then pushes what
// `issue` pushes, recording the token of every completion in `completions`.
Script create_then(std::vector<std::uint64_t>& completions,
                   std::function<void(io::Outbox&)> issue) {
    return [&completions, issue = std::move(issue), ready = 0](
               NodeId, Instant, const io::Event& event, io::Outbox& out) mutable {
        if (is_start(event)) {
            out.push(io::Open{IoToken(1), FileId(1), "f", true, false});
            out.push(io::SyncDir{IoToken(2)});
        } else if (const auto* done = as_io(event)) {
            completions.push_back(done->token.value());
            if ((done->token.value() == 1 || done->token.value() == 2) && ++ready == 2) issue(out);
        }
    };
}

TEST(WorldDisk, WriteThenFsyncIssuedTogetherIsDurable) {
    DiskParams slow_writes;
    slow_writes.latency_min = Duration::microseconds(1);
    slow_writes.latency_mean = Duration::milliseconds(10);       // writes: slow
    slow_writes.fsync_latency_mean = Duration::microseconds(1);  // fsyncs: fast
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        std::vector<std::uint64_t> completions;
        const Script script = create_then(completions, [](io::Outbox& out) {
            out.push(io::Write{IoToken(3), FileId(1), 0, bytes_of("x")});
            out.push(io::Fsync{IoToken(4), FileId(1)});
        });
        World world(seed, 1, FaultPlan::none(), WorldParams{{}, slow_writes});
        install(world, NodeId(1), script);
        class CrashAfterFsync final : public Observer {
        public:
            explicit CrashAfterFsync(World& w) : world_(w) {}
            void on_step(NodeId node, Instant now, const io::Event& event,
                         const io::Outbox&) override {
                const auto* done = as_io(event);
                if (done == nullptr || done->token != IoToken(4)) return;
                world_.schedule(now, "crash", [this, node] { world_.crash(node); });
            }
            World& world_;
        } crasher(world);
        world.add_observer(crasher);
        world.start();
        world.run_until(at_ms(1000));
        EXPECT_FALSE(world.is_up(NodeId(1))) << "seed " << seed;
        // The write completed before the fsync that followed it.
        EXPECT_EQ(completions, (std::vector<std::uint64_t>{1, 2, 3, 4})) << "seed " << seed;
        EXPECT_EQ(world.disk(NodeId(1)).contents("f"), bytes_of("x")) << "seed " << seed;
    }
}

// A may_pass_fsync Write may complete before an earlier Fsync, never before an
// earlier write; what follows it (an Fsync, a plain Write) waits for both.
TEST(WorldDisk, AWriteMayPassAnEarlierFsyncButNoEarlierWrite) {
    DiskParams slow_fsyncs;
    slow_fsyncs.latency_min = Duration::microseconds(1);
    slow_fsyncs.latency_mean = Duration::microseconds(10);       // writes: fast
    slow_fsyncs.fsync_latency_mean = Duration::milliseconds(5);  // fsyncs: slow
    int passed = 0;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        std::vector<std::uint64_t> completions;
        const Script script = create_then(completions, [](io::Outbox& out) {
            out.push(io::Write{IoToken(3), FileId(1), 0, bytes_of("aaaa")});
            out.push(io::Fsync{IoToken(4), FileId(1)});
            out.push(io::Write{IoToken(5), FileId(1), 2, bytes_of("bb"), true});
            out.push(io::Fsync{IoToken(6), FileId(1)});
            out.push(io::Write{IoToken(7), FileId(1), 4, bytes_of("c")});
        });
        World world(seed, 1, FaultPlan::none(), WorldParams{{}, slow_fsyncs});
        install(world, NodeId(1), script);
        world.start();
        world.run_until(at_ms(1000));
        ASSERT_EQ(completions.size(), 7U) << "seed " << seed;
        const auto position = [&](std::uint64_t token) {
            return std::find(completions.begin(), completions.end(), token) - completions.begin();
        };
        EXPECT_LT(position(3), position(5)) << "seed " << seed;  // after the earlier write
        EXPECT_LT(position(4), position(6)) << "seed " << seed;  // fsyncs in order
        EXPECT_LT(position(5), position(6)) << "seed " << seed;
        EXPECT_LT(position(6), position(7)) << "seed " << seed;  // a plain write waits
        if (position(5) < position(4)) ++passed;
        EXPECT_EQ(world.disk(NodeId(1)).contents("f"), bytes_of("aabbc")) << "seed " << seed;
    }
    EXPECT_GT(passed, 10) << "the write should usually overtake the slow fsync";
}

// ---- Observers -------------------------------------------------------------------------

// Observer::on_step is documented to run "after a machine stepped and its
// effects were scheduled", and hands the observer the step's Outbox: the
// effects it sees must be the ones the machine pushed.
TEST(WorldObserver, OnStepSeesTheEffectsTheMachinePushed) {
    const Script script = [](NodeId, Instant, const io::Event& event, io::Outbox& out) {
        if (!is_start(event)) return;
        out.push(io::Send{NodeId(2), io::Bytes{1, 2, 3}});
        out.push(io::Open{IoToken(1), FileId(1), "name", true, false});
        out.push(io::Write{IoToken(2), FileId(1), 0, io::Bytes{4, 5}});
    };
    class Capture final : public Observer {
    public:
        void on_step(NodeId node, Instant, const io::Event& event, const io::Outbox& out) override {
            if (node == NodeId(1) && is_start(event)) effects = out.effects();
        }
        std::vector<io::Effect> effects;
    } capture;
    World world(1, 2, FaultPlan::none());
    install(world, NodeId(1), script);
    install(world, NodeId(2), kIdle);
    world.add_observer(capture);
    world.start();
    world.run_until(at_ms(100));
    ASSERT_EQ(capture.effects.size(), 3U);
    const auto* send = std::get_if<io::Send>(&capture.effects[0]);
    const auto* open = std::get_if<io::Open>(&capture.effects[1]);
    const auto* write = std::get_if<io::Write>(&capture.effects[2]);
    ASSERT_TRUE(send != nullptr && open != nullptr && write != nullptr);
    EXPECT_EQ(send->payload, (io::Bytes{1, 2, 3}));
    EXPECT_EQ(open->name, "name");
    EXPECT_EQ(write->data, (io::Bytes{4, 5}));
}

TEST(WorldObserver, SeesSendsDeliveriesCrashesRestartsAndCuts) {
    class Counts final : public Observer {
    public:
        void on_send(NodeId, NodeId, const io::Bytes&, Instant) override { ++sends; }
        void on_deliver(NodeId, NodeId, const io::Bytes&, Instant) override { ++deliveries; }
        void on_crash(NodeId, Instant) override { ++crashes; }
        void on_restart(NodeId, bool wiped, Instant) override { wipes += wiped ? 1 : 0; }
        void on_cut(NodeId, NodeId, bool cut, Instant) override { cuts += cut ? 1 : -1; }
        int sends = 0, deliveries = 0, crashes = 0, wipes = 0, cuts = 0;
    } counts;
    World world(2, 2, FaultPlan::none());
    install(world, NodeId(1), kIdle);
    install(world, NodeId(2), kPingEveryMs);
    world.add_observer(counts);
    world.start();
    world.run_until(at_ms(100));
    world.set_cut(NodeId(2), NodeId(1), true);
    EXPECT_EQ(counts.cuts, 1);
    world.heal_network();
    EXPECT_EQ(counts.cuts, 0);
    world.crash(NodeId(1));
    world.crash(NodeId(1));  // already down: nothing happens
    world.restart(NodeId(1), true);
    world.restart(NodeId(1), true);  // already up: nothing happens
    world.run_until(at_ms(200));
    EXPECT_EQ(counts.crashes, 1);
    EXPECT_EQ(counts.wipes, 1);
    EXPECT_GE(counts.sends, 195);
    EXPECT_GT(counts.deliveries, 190);
    EXPECT_LE(counts.deliveries, counts.sends);
}

// ---- World bookkeeping ----------------------------------------------------------------------

TEST(WorldClients, RequestsReachTheNodeAndRepliesTheSink) {
    World world(1, 2, FaultPlan::none());
    const Script echo = [](NodeId, Instant, const io::Event& event, io::Outbox& out) {
        if (const auto* request = std::get_if<io::ClientRequest>(&event)) {
            out.push(io::ClientReply{request->client, request->sequence, request->frame});
            if (request->sequence == 1) out.push(io::ClientClose{request->client});
        }
    };
    install(world, NodeId(1), echo);
    install(world, NodeId(2), echo);
    std::vector<std::pair<NodeId, io::Effect>> sunk;
    world.set_client_sink(
        [&](NodeId node, io::Effect effect) { sunk.emplace_back(node, std::move(effect)); });
    world.start();
    world.run_until(world.now() + Duration::milliseconds(1));
    const std::uint64_t before = world.digest().value();
    EXPECT_TRUE(world.deliver_client(NodeId(1), io::ClientRequest{ClientId(7), 0, {1}}));
    EXPECT_TRUE(world.deliver_client(NodeId(1), io::ClientRequest{ClientId(7), 1, {2}}));
    EXPECT_NE(world.digest().value(), before);  // client steps are part of the run's digest
    world.crash(NodeId(2));
    EXPECT_FALSE(world.deliver_client(NodeId(2), io::ClientRequest{ClientId(8), 0, {3}}));
    ASSERT_EQ(sunk.size(), 3U);
    EXPECT_EQ(sunk[0].first, NodeId(1));
    const auto* first = std::get_if<io::ClientReply>(&sunk[0].second);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->sequence, 0U);
    EXPECT_EQ(first->frame, std::optional(io::Bytes{1}));
    EXPECT_TRUE(std::holds_alternative<io::ClientClose>(sunk[2].second));
}

TEST(World, FailStopsTheRunAndKeepsTheFirstFailure) {
    World world(1, 2, FaultPlan::none());
    install(world, NodeId(1), kIdle);
    install(world, NodeId(2), kPingEveryMs);
    world.start();
    world.schedule(at_ms(10), "first", [&] { world.fail("first failure"); });
    world.schedule(at_ms(20), "second", [&] { world.fail("second failure"); });
    world.run_until(at_ms(100));
    EXPECT_TRUE(world.stopped());
    ASSERT_TRUE(world.failure().has_value());
    EXPECT_NE(world.failure()->find("first failure"), std::string::npos);
    EXPECT_NE(world.failure()->find("t=0.010000000"), std::string::npos) << *world.failure();
    EXPECT_EQ(world.now(), at_ms(10));
    EXPECT_FALSE(world.step());
}

TEST(World, ScheduledActionsRunAtTheirInstantAndRunUntilEndsThere) {
    World world(1, 1, FaultPlan::none());
    install(world, NodeId(1), kIdle);
    world.start();
    std::vector<Instant> ran;
    world.schedule(at_ms(30), "b", [&] { ran.push_back(world.now()); });
    world.schedule(at_ms(10), "a", [&] { ran.push_back(world.now()); });
    const auto before = world.digest().value();
    world.run_until(at_ms(50));
    EXPECT_EQ(ran, (std::vector<Instant>{at_ms(10), at_ms(30)}));
    EXPECT_EQ(world.now(), at_ms(50));
    EXPECT_NE(world.digest().value(), before);
    EXPECT_EQ(world.events_processed(), 3U);  // a start and two actions
}

TEST(WorldDeathTest, MisuseAborts) {
    EXPECT_DEATH(
        {
            World world(1, 2, FaultPlan::none());
            install(world, NodeId(1), kIdle);
            world.start();
        },
        "every node needs a factory");
    EXPECT_DEATH(
        {
            World world(1, 1, FaultPlan::none());
            world.jump_clock(NodeId(1), Duration::milliseconds(-1));
        },
        "never jumps back");
    EXPECT_DEATH(
        {
            World world(1, 1, FaultPlan::none());
            (void)world.is_up(NodeId(2));
        },
        "assertion failed");
}

// ---- (h) the kernel scenario (fault plans: sim_fault_plan_test.cpp) ----------------

TEST(KernelScenario, PassesTwentySeeds) {
    std::uint64_t recoveries = 0;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        const auto report = run_kernel(kernel_options(seed, Duration::seconds(10)));
        EXPECT_TRUE(report.passed())
            << "seed " << seed << ": " << report.failure.value_or("") << report.error.value_or("")
            << "\n  " << replay_command(report);
        EXPECT_GT(report.stat("deliveries"), 0U) << "seed " << seed;
        EXPECT_GT(report.stat("liveness_messages"), 0U) << "seed " << seed;
        EXPECT_EQ(report.simulated_end, kT0 + Duration::seconds(16)) << "seed " << seed;
        recoveries += report.stat("recoveries_checked");
    }
    EXPECT_GT(recoveries, 60U);  // at least the three first starts of each seed
}

TEST(KernelScenario, BadOptionsAreReportedNotRun) {
    auto options = kernel_options(1);
    options.nodes = 65;
    auto report = run_kernel(options);
    EXPECT_FALSE(report.passed());
    ASSERT_TRUE(report.error.has_value());
    EXPECT_NE(report.error->find("--nodes"), std::string::npos);
    EXPECT_EQ(report.events, 0U);

    options = kernel_options(1);
    options.faults = "loss,bogus";
    report = run_kernel(options);
    ASSERT_TRUE(report.error.has_value());
    EXPECT_NE(report.error->find("bogus"), std::string::npos);

    options = kernel_options(7);
    options.nodes = 0;  // the scenario's default
    options.duration = Duration::milliseconds(1500);
    report = run_kernel(options);
    EXPECT_EQ(report.options.nodes, 5);
    EXPECT_EQ(replay_command(report),
              "samsa sim --scenario kernel --seed 7 --nodes 5 --duration 1500ms --faults swarm");
    EXPECT_EQ(find_scenario("no-such-scenario"), nullptr);
}

}  // namespace
}  // namespace samsa::sim

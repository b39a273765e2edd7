// The partition log, hosted by a scripted test machine: appends, reads,
// restarts, segment rolls, bad input, disk faults, truncation, retention,
// crashes with unsynced data and flipped bits on reads. Tests marked as run
// on both drivers go through the simulator's World and the io_uring Driver.
#include "core/log/partition_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/seam.h"
#include "core/log/batch.h"
#include "core/log/batch_builder.h"
#include "core/log/log_types.h"
#include "runtime/driver.h"
#include "sim/fault_plan.h"
#include "sim/world.h"
#include "tests/unit/log_batches.h"

namespace samsa {
namespace {

using log::AppendResult;
using log::LogConfig;
using log::LogError;
using log::PartitionLog;
using State = log::PartitionLog::State;

// What a host saw; shared so it outlives the host (a crash destroys it).
struct Journal {
    std::vector<io::Bytes> sent;                    // batches accepted by append(), as given
    std::vector<AppendResult> accepted;             // append()'s results, parallel to `sent`
    std::vector<LogError> rejected;                 // append()'s synchronous failures
    std::vector<AppendResult> completed;            // take_completed(), in order
    std::vector<log::ReadResult> inbox;             // take_reads() not yet consumed
    std::vector<std::vector<io::Bytes>> read_sets;  // one per read_all phase
    std::optional<LogError> read_error;
};

struct Host;
// A phase runs after every step until it returns true; then the next one runs.
using Phase = std::function<bool(Host&, io::Outbox&)>;

struct Host {
    Host(LogConfig config, std::vector<Phase> script)
        : log(std::move(config), 1), phases(std::move(script)), j(std::make_shared<Journal>()) {}

    void step(Instant, const io::Event& event, io::Outbox& out) {
        if (std::holds_alternative<io::Start>(event)) {
            log.start(out);
        } else if (const auto* done = std::get_if<io::IoCompleted>(&event)) {
            if (log.owns(done->token)) log.on_io(*done, out);
        }
        advance(out);
    }
    void drain() {
        for (auto& done : log.take_completed()) j->completed.push_back(done);
        for (auto& read : log.take_reads()) j->inbox.push_back(std::move(read));
    }
    void advance(io::Outbox& out) {
        while (phase < phases.size()) {
            drain();
            if (!phases[phase](*this, out)) break;
            ++phase;
        }
        drain();
    }
    [[nodiscard]] bool done() const noexcept { return phase == phases.size(); }

    PartitionLog log;
    std::vector<Phase> phases;
    std::size_t phase = 0;
    std::shared_ptr<Journal> j;
};

io::Bytes make_batch(std::size_t index, std::size_t value_bytes = 40) {
    return testing::make_log_batch(index, 1 + index % 4, value_bytes);
}

// ---- Phases -------------------------------------------------------------------

Phase ready() {
    return [](Host& h, io::Outbox&) { return h.log.state() == State::ready; };
}

// Appends `count` new batches in one step, each with distinct contents.
Phase append(std::size_t count, std::int32_t epoch = 7, std::size_t value_bytes = 40) {
    return [=](Host& h, io::Outbox& out) {
        for (std::size_t i = 0; i < count; ++i) {
            io::Bytes batch = make_batch(h.j->sent.size() + h.j->rejected.size(), value_bytes);
            auto result = h.log.append(batch, epoch, out);
            if (result.ok()) {
                h.j->sent.push_back(std::move(batch));
                h.j->accepted.push_back(result.value());
            } else {
                h.j->rejected.push_back(result.error());
            }
        }
        return true;
    };
}

// Every accepted append has completed and the log is ready again.
Phase idle() {
    return [](Host& h, io::Outbox&) {
        return h.j->completed.size() == h.j->accepted.size() && h.log.state() == State::ready;
    };
}

Phase run(std::function<void(Host&, io::Outbox&)> body) {
    return [body = std::move(body)](Host& h, io::Outbox& out) {
        body(h, out);
        return true;
    };
}

// Reads every batch from `from` (log_start when unset) to readable_end into a
// new read set, `max_bytes` at a time.
Phase read_all(std::optional<Offset> from = std::nullopt, std::uint32_t max_bytes = 1000) {
    struct Cursor {
        bool begun = false;
        bool waiting = false;
        std::uint64_t id = 0;
        Offset next;
    };
    auto cursor = std::make_shared<Cursor>();
    return [=](Host& h, io::Outbox& out) {
        Cursor& c = *cursor;
        if (!c.begun) {
            c.begun = true;
            c.next = from.value_or(h.log.log_start());
            h.j->read_sets.emplace_back();
        }
        while (true) {
            if (c.waiting) {
                auto& inbox = h.j->inbox;
                const auto found = std::find_if(inbox.begin(), inbox.end(),
                                                [&](const auto& r) { return r.id == c.id; });
                if (found == inbox.end()) return false;
                log::ReadResult result = std::move(*found);
                inbox.erase(found);
                c.waiting = false;
                if (result.error || result.batches.empty()) {
                    h.j->read_error = result.error.value_or(LogError::corrupt_log);
                    return true;
                }
                auto spans = log::split_batches(result.batches, SIZE_MAX);
                if (!spans.ok()) {
                    h.j->read_error = LogError::corrupt_log;
                    return true;
                }
                for (const auto& span : spans.value()) {
                    const auto first = result.batches.begin() + static_cast<long>(span.offset);
                    h.j->read_sets.back().emplace_back(first,
                                                       first + static_cast<long>(span.length));
                    c.next = span.header.last_offset().next();
                }
            }
            if (c.next >= h.log.readable_end()) return true;
            auto issued = h.log.read(c.next, max_bytes, out);
            if (!issued.ok()) {
                h.j->read_error = issued.error();
                return true;
            }
            c.id = issued.value();
            c.waiting = true;
            h.drain();
        }
    };
}

// ---- Runners ------------------------------------------------------------------

constexpr NodeId kNode(1);

class SimRunner {
public:
    explicit SimRunner(std::uint64_t seed = 1) : world_(seed, 1, sim::FaultPlan::none()) {
        world_.set_factory(kNode, sim::factory_of<Host>([this](NodeId, Prng) { return make_(); }));
    }
    // The host the next (re)start builds.
    void set_next(Host host) {
        make_ = [host = std::move(host)] { return host; };
    }
    std::shared_ptr<Journal> start(Host host) {
        auto journal = host.j;
        set_next(std::move(host));
        world_.start(world_.now());
        settle();
        return journal;
    }
    std::shared_ptr<Journal> restart(Host host) {
        auto journal = host.j;
        set_next(std::move(host));
        world_.crash(kNode);
        world_.restart(kNode, false);
        settle();
        return journal;
    }
    void settle(Duration budget = Duration::seconds(30)) {
        world_.run_until(world_.now() + budget);
        EXPECT_TRUE(host() != nullptr && host()->done()) << "the simulated script did not finish";
    }
    Host* host() { return world_.machine<Host>(kNode); }
    sim::World& world() { return world_; }

private:
    sim::World world_;
    std::function<Host()> make_;
};

class RealRunner {
public:
    RealRunner() {
        std::string pattern = "/tmp/samsa-plog-XXXXXX";
        const char* made = ::mkdtemp(pattern.data());
        SAMSA_ASSERT(made != nullptr);
        dir_ = made;
    }
    ~RealRunner() {
        driver_.reset();
        std::filesystem::remove_all(dir_);
    }
    std::shared_ptr<Journal> start(Host host) {
        auto journal = host.j;
        driver_.reset();
        driver_ = std::make_unique<runtime::Driver>(dir_);
        host_ = &driver_->host(std::move(host));
        driver_->start();
        Host* hosted = host_;
        const bool finished =
            driver_->run_until([hosted] { return hosted->done(); }, std::chrono::seconds(30));
        EXPECT_TRUE(finished) << "the real script did not finish: "
                              << driver_->failure().value_or("timeout");
        return journal;
    }
    std::shared_ptr<Journal> restart(Host host) { return start(std::move(host)); }
    Host* host() { return host_; }

private:
    std::string dir_;
    std::unique_ptr<runtime::Driver> driver_;
    Host* host_ = nullptr;
};

// ---- Checks -------------------------------------------------------------------

// Equal except for the broker-owned baseOffset and partitionLeaderEpoch.
// `read` holds exactly the batches `indices` of the journal, with their offsets.
void expect_batches(const std::vector<io::Bytes>& read, const Journal& j,
                    const std::vector<std::size_t>& indices,
                    std::optional<std::int32_t> epoch = 7) {
    ASSERT_EQ(read.size(), indices.size());
    for (std::size_t i = 0; i < read.size(); ++i) {
        const std::size_t k = indices[i];
        EXPECT_EQ(log::base_offset_of(read[i]), j.accepted[k].base) << "batch " << i;
        EXPECT_TRUE(testing::same_batch(read[i], j.sent[k])) << "batch " << i;
        if (epoch) {
            EXPECT_EQ(log::partition_leader_epoch_of(read[i]), *epoch) << "batch " << i;
        }
        EXPECT_TRUE(log::validate_batch(read[i], SIZE_MAX).ok()) << "batch " << i;
    }
}

std::vector<std::size_t> range(std::size_t from, std::size_t to) {
    std::vector<std::size_t> out;
    for (std::size_t i = from; i < to; ++i) out.push_back(i);
    return out;
}

void expect_contiguous_success(const Journal& j) {
    ASSERT_EQ(j.completed.size(), j.accepted.size());
    for (std::size_t i = 0; i < j.completed.size(); ++i) {
        const auto& done = j.completed[i];
        EXPECT_FALSE(done.error.has_value()) << "append " << i;
        EXPECT_EQ(done.id, j.accepted[i].id);
        EXPECT_EQ(done.base, j.accepted[i].base);
        EXPECT_EQ(done.last, j.accepted[i].last);
        if (i > 0) {
            EXPECT_EQ(done.base, j.completed[i - 1].last.next()) << "append " << i;
        }
    }
}

// ---- Scenarios on both drivers --------------------------------------------------

template <class Runner>
void append_and_read(Runner& runner) {
    auto j = runner.start(Host(
        LogConfig{}, {ready(), append(20), idle(), append(1), append(29), idle(), read_all()}));
    ASSERT_EQ(j->accepted.size(), 50U);
    EXPECT_TRUE(j->rejected.empty());
    expect_contiguous_success(*j);
    EXPECT_EQ(j->completed.front().base, Offset(0));
    EXPECT_EQ(runner.host()->log.log_end(), j->completed.back().last.next());
    EXPECT_FALSE(j->read_error.has_value());
    ASSERT_EQ(j->read_sets.size(), 1U);
    expect_batches(j->read_sets[0], *j, range(0, 50));
}

template <class Runner>
void restart_recovers(Runner& runner) {
    auto first = runner.start(Host(LogConfig{}, {ready(), append(10), idle(), append(15), idle()}));
    expect_contiguous_success(*first);
    const Offset end = runner.host()->log.log_end();
    EXPECT_EQ(end, first->completed.back().last.next());
    auto second = runner.restart(Host(LogConfig{}, {ready(), read_all()}));
    EXPECT_EQ(runner.host()->log.log_end(), end);
    EXPECT_EQ(runner.host()->log.log_start(), Offset(0));
    EXPECT_FALSE(second->read_error.has_value());
    ASSERT_EQ(second->read_sets.size(), 1U);
    expect_batches(second->read_sets[0], *first, range(0, 25));
}

template <class Runner>
void segments_roll(Runner& runner) {
    LogConfig config;
    config.segment_bytes_max = 2048;
    std::vector<Phase> script = {ready()};
    for (int wave = 0; wave < 12; ++wave) {
        script.push_back(append(5));
        script.push_back(idle());
    }
    script.push_back(read_all());
    auto first = runner.start(Host(config, script));
    ASSERT_EQ(first->accepted.size(), 60U);
    expect_contiguous_success(*first);
    const std::size_t segments = runner.host()->log.segment_count();
    EXPECT_GT(segments, 3U);
    const Offset end = runner.host()->log.log_end();
    ASSERT_EQ(first->read_sets.size(), 1U);
    expect_batches(first->read_sets[0], *first, range(0, 60));

    // After a restart only the tail is scanned; older segments index lazily,
    // for reads from the middle and from the start alike.
    const Offset middle = first->accepted[33].base.plus(1);  // inside batch 33
    auto second = runner.restart(Host(config, {ready(), read_all(middle, 300), read_all()}));
    EXPECT_EQ(runner.host()->log.segment_count(), segments);
    EXPECT_EQ(runner.host()->log.log_end(), end);
    EXPECT_FALSE(second->read_error.has_value());
    ASSERT_EQ(second->read_sets.size(), 2U);
    expect_batches(second->read_sets[0], *first, range(33, 60));
    expect_batches(second->read_sets[1], *first, range(0, 60));
}

TEST(PartitionLogSim, AppendsCompleteContiguouslyAndReadBack) {
    SimRunner runner;
    append_and_read(runner);
}
TEST(PartitionLogUring, AppendsCompleteContiguouslyAndReadBack) {
    RealRunner runner;
    append_and_read(runner);
}
TEST(PartitionLogSim, RestartRecoversTheLog) {
    SimRunner runner;
    restart_recovers(runner);
}
TEST(PartitionLogUring, RestartRecoversTheLog) {
    RealRunner runner;
    restart_recovers(runner);
}
TEST(PartitionLogSim, SegmentsRollAndReadAcrossBoundaries) {
    SimRunner runner;
    segments_roll(runner);
}
TEST(PartitionLogUring, SegmentsRollAndReadAcrossBoundaries) {
    RealRunner runner;
    segments_roll(runner);
}

// ---- Simulator-only scenarios ---------------------------------------------------

io::Bytes edited(io::Bytes batch, const std::function<void(io::Bytes&)>& edit) {
    edit(batch);
    return batch;
}

void store_i32(io::Bytes& batch, std::size_t at, std::int32_t value) {
    for (int i = 0; i < 4; ++i) {
        batch[at + static_cast<std::size_t>(i)] =
            static_cast<std::uint8_t>(static_cast<std::uint32_t>(value) >> (24 - 8 * i));
    }
}

TEST(PartitionLogSim, BadBatchesAreRejectedAndChangeNothing) {
    namespace at = log::batch_layout;
    LogConfig config;
    config.batch_bytes_max = 1024;
    const io::Bytes good = make_batch(100);
    const std::int32_t length = static_cast<std::int32_t>(good.size() - 12);
    struct Case {
        const char* name;
        io::Bytes batch;
        LogError error;
    };
    const std::vector<Case> cases = {
        {"bad crc", edited(good, [](io::Bytes& b) { b[at::records + 3] ^= 0x10; }),
         LogError::corrupt_message},
        {"long batchLength",
         edited(good, [&](io::Bytes& b) { store_i32(b, at::batch_length, length + 1); }),
         LogError::corrupt_message},
        {"short batchLength",
         edited(good, [&](io::Bytes& b) { store_i32(b, at::batch_length, length - 1); }),
         LogError::corrupt_message},
        {"magic 0", edited(good, [](io::Bytes& b) { b[at::magic] = 0; }),
         LogError::unsupported_version},
        {"magic 7", edited(good, [](io::Bytes& b) { b[at::magic] = 7; }),
         LogError::corrupt_message},
        {"truncated record",
         edited(good,
                [&](io::Bytes& b) {
                    b.resize(b.size() - 5);
                    store_i32(b, at::batch_length, length - 5);
                    log::seal_crc(b);
                }),
         LogError::corrupt_message},
        {"record count too high",
         edited(good,
                [](io::Bytes& b) {
                    store_i32(b, at::records_count, 9);
                    log::seal_crc(b);
                }),
         LogError::invalid_record},
        {"oversize", make_batch(101, 600), LogError::message_too_large},
    };
    std::vector<std::pair<std::string, LogError>> outcomes;
    Offset end_before;
    std::uint64_t size_before = 0;
    Offset end_after;
    std::uint64_t size_after = 0;
    SimRunner runner;
    auto j = runner.start(
        Host(config, {ready(), append(5), idle(), read_all(), run([&](Host& h, io::Outbox& out) {
                          end_before = h.log.log_end();
                          size_before = h.log.size_bytes();
                          for (const auto& c : cases) {
                              auto result = h.log.append(c.batch, 7, out);
                              outcomes.emplace_back(c.name,
                                                    result.ok() ? LogError::busy : result.error());
                          }
                          end_after = h.log.log_end();
                          size_after = h.log.size_bytes();
                      }),
                      idle(), read_all(), append(1), idle(), read_all()}));
    ASSERT_EQ(outcomes.size(), cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
        EXPECT_EQ(outcomes[i].second, cases[i].error)
            << cases[i].name << ": got " << log::to_string(outcomes[i].second);
    }
    EXPECT_EQ(end_after, end_before);
    EXPECT_EQ(size_after, size_before);
    ASSERT_EQ(j->read_sets.size(), 3U);
    expect_batches(j->read_sets[0], *j, range(0, 5));
    expect_batches(j->read_sets[1], *j, range(0, 5));
    expect_contiguous_success(*j);
    expect_batches(j->read_sets[2], *j, range(0, 6));
    EXPECT_EQ(log::kafka_error_code(LogError::corrupt_message), 2);
    EXPECT_EQ(log::kafka_error_code(LogError::unsupported_version), 43);
    EXPECT_EQ(log::kafka_error_code(LogError::invalid_record), 87);
    EXPECT_EQ(log::kafka_error_code(LogError::message_too_large), 10);
}

TEST(PartitionLogSim, FailedFlushesFailTheirAppendsAndGiveOffsetsBack) {
    SimRunner runner;
    sim::World& world = runner.world();
    struct Fault {
        std::function<void()> set;
        std::function<void()> clear;
        LogError error;
    };
    const std::vector<Fault> faults = {
        {[&] { world.plan().set(sim::FaultKind::write_eio, 1.0); }, [&] { world.plan().clear(); },
         LogError::io_error},
        {[&] { world.plan().set(sim::FaultKind::fsync_eio, 1.0); }, [&] { world.plan().clear(); },
         LogError::io_error},
        {[&] { world.disk(kNode).set_capacity(world.disk(kNode).used_bytes()); },
         [&] { world.disk(kNode).set_capacity(1ULL << 30); }, LogError::no_space},
    };
    std::vector<std::size_t> good;      // indices of appends that must survive
    std::vector<std::size_t> reads_ok;  // read sets taken while faulted
    std::vector<Phase> script = {ready()};
    for (const auto& fault : faults) {
        script.push_back(append(3));
        script.push_back(idle());
        script.push_back(run([&](Host&, io::Outbox&) { fault.set(); }));
        script.push_back(append(3));
        script.push_back([&](Host& h, io::Outbox&) {
            if (h.j->completed.size() != h.j->accepted.size()) return false;
            const std::size_t n = h.j->accepted.size();
            for (std::size_t i = n - 3; i < n; ++i) {
                EXPECT_EQ(h.j->completed[i].error, std::optional(fault.error)) << "append " << i;
            }
            for (std::size_t i = n - 6; i < n - 3; ++i) good.push_back(i);
            fault.clear();
            return true;
        });
        script.push_back(idle());
        script.push_back(append(1));
        script.push_back(idle());
        script.push_back(run([&](Host& h, io::Outbox&) {
            const std::size_t n = h.j->accepted.size();
            // The failed offsets are given again.
            EXPECT_EQ(h.j->completed[n - 1].base, h.j->completed[n - 5].last.next());
            EXPECT_FALSE(h.j->completed[n - 1].error.has_value());
            good.push_back(n - 1);
        }));
        script.push_back(read_all());
    }
    auto j = runner.start(Host(LogConfig{}, script));
    EXPECT_FALSE(j->read_error.has_value());
    ASSERT_EQ(j->read_sets.size(), faults.size());
    EXPECT_EQ(good.size(), 12U);
    std::vector<std::size_t> so_far;
    for (std::size_t round = 0; round < faults.size(); ++round) {
        so_far.insert(so_far.end(), good.begin() + static_cast<long>(4 * round),
                      good.begin() + static_cast<long>(4 * round + 4));
        expect_batches(j->read_sets[round], *j, so_far);
    }
    // The same after a restart: nothing of the failed flushes came back.
    auto second = runner.restart(Host(LogConfig{}, {ready(), read_all()}));
    ASSERT_EQ(second->read_sets.size(), 1U);
    expect_batches(second->read_sets[0], *j, good);
}

TEST(PartitionLogSim, TruncationCutsDurablyAtBatchBoundaries) {
    std::optional<LogError> non_boundary, while_busy, below_start;
    Offset cut;
    SimRunner runner;
    auto j = runner.start(
        Host(LogConfig{},
             {ready(), append(10), idle(), append(10), idle(), run([&](Host& h, io::Outbox& out) {
                  cut = h.j->accepted[10].base;
                  auto odd = h.log.truncate_to(cut.plus(1), out);  // inside batch 10 (3 records)
                  if (!odd.ok()) non_boundary = odd.error();
                  auto past = h.log.truncate_to(h.log.log_end().next(), out);
                  if (!past.ok()) below_start = past.error();
              }),
              append(1), run([&](Host& h, io::Outbox& out) {
                  auto busy = h.log.truncate_to(cut, out);
                  if (!busy.ok()) while_busy = busy.error();
              }),
              idle(), run([&](Host& h, io::Outbox& out) {
                  EXPECT_TRUE(h.log.truncate_to(cut, out).ok());
                  EXPECT_EQ(h.log.log_end(), cut);
              }),
              ready(), read_all(), append(3), idle(), read_all()}));
    EXPECT_EQ(non_boundary, std::optional(LogError::offset_out_of_range));
    EXPECT_EQ(below_start, std::optional(LogError::offset_out_of_range));
    EXPECT_EQ(while_busy, std::optional(LogError::busy));
    EXPECT_FALSE(j->read_error.has_value());
    ASSERT_EQ(j->read_sets.size(), 2U);
    expect_batches(j->read_sets[0], *j, range(0, 10));
    ASSERT_EQ(j->accepted.size(), 24U);
    EXPECT_EQ(j->accepted[21].base, cut);
    std::vector<std::size_t> kept = range(0, 10);
    for (std::size_t i = 21; i < 24; ++i) kept.push_back(i);
    expect_batches(j->read_sets[1], *j, kept);
    const Offset end = runner.host()->log.log_end();
    auto second = runner.restart(Host(LogConfig{}, {ready(), read_all()}));
    EXPECT_EQ(runner.host()->log.log_end(), end);
    ASSERT_EQ(second->read_sets.size(), 1U);
    expect_batches(second->read_sets[0], *j, kept);
}

TEST(PartitionLogSim, RetentionDropsWholeOldSegments) {
    LogConfig config;
    config.segment_bytes_max = 2048;
    config.retention_bytes_max = 4096;
    std::vector<Phase> script = {ready()};
    for (int wave = 0; wave < 12; ++wave) {
        script.push_back(append(5));
        script.push_back(idle());
    }
    std::optional<LogError> below;
    std::size_t segments_before = 0;
    script.push_back(run([&](Host& h, io::Outbox& out) {
        segments_before = h.log.segment_count();
        h.log.apply_retention(out);
        EXPECT_GT(h.log.log_start(), Offset(0));
        EXPECT_LT(h.log.segment_count(), segments_before);
        EXPECT_GE(h.log.size_bytes(), config.retention_bytes_max);
        auto r = h.log.read(Offset(h.log.log_start().value() - 1), 1000, out);
        if (!r.ok()) below = r.error();
    }));
    script.push_back(read_all());
    SimRunner runner;
    auto j = runner.start(Host(config, script));
    expect_contiguous_success(*j);
    EXPECT_EQ(below, std::optional(LogError::offset_out_of_range));
    const Offset start = runner.host()->log.log_start();
    std::size_t first = 0;
    while (first < j->accepted.size() && j->accepted[first].base != start) ++first;
    ASSERT_LT(first, j->accepted.size()) << "log start is not a batch base";
    ASSERT_EQ(j->read_sets.size(), 1U);
    expect_batches(j->read_sets[0], *j, range(first, 60));
    auto second = runner.restart(Host(config, {ready(), read_all()}));
    EXPECT_EQ(runner.host()->log.log_start(), start);
    ASSERT_EQ(second->read_sets.size(), 1U);
    expect_batches(second->read_sets[0], *j, range(first, 60));
}

TEST(PartitionLogSim, CrashWithUnsyncedDataKeepsTheAcknowledgedPrefix) {
    for (std::uint64_t seed = 1; seed <= 8; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        SimRunner runner(seed);
        sim::World& world = runner.world();
        world.plan().set(sim::FaultKind::torn_write, 1.0);
        world.plan().set(sim::FaultKind::partial_flush, 0.5);
        Host after(LogConfig{}, {ready(), read_all()});
        auto second = after.j;
        Host before(LogConfig{}, {ready(), append(10), idle(), run([&](Host&, io::Outbox&) {
                                      world.crash_after_next_write(
                                          kNode, [&] { world.restart(kNode, false); });
                                  }),
                                  append(1), append(6), [](Host&, io::Outbox&) { return false; }});
        auto first = before.j;
        runner.set_next(std::move(before));
        world.start();
        world.step();  // the first Start builds `before`; the restart builds `after`
        runner.set_next(std::move(after));
        runner.settle();
        std::size_t acked = 0;
        for (const auto& done : first->completed) acked += done.error ? 0 : 1;
        EXPECT_GE(acked, 10U);
        ASSERT_EQ(second->read_sets.size(), 1U);
        EXPECT_FALSE(second->read_error.has_value());
        const auto& read = second->read_sets[0];
        ASSERT_GE(read.size(), acked);
        ASSERT_LE(read.size(), first->sent.size());
        expect_batches(read, *first, range(0, read.size()));
        const Offset end =
            read.empty() ? Offset(0) : log::parse_header(read.back()).value().last_offset().next();
        EXPECT_EQ(runner.host()->log.log_end(), end);
    }
}

// Reads re-read flipped bits until the batches are right. partitionLeaderEpoch
// (bytes 12..15) is outside the CRC: the log checks it against the epoch it
// recorded at append, so before the restart the epoch is checked too. After a
// restart, batches found on disk have no trusted epoch until the leader-epoch
// cache exists (issue 3, not built yet), so there only the rest is checked.
TEST(PartitionLogSim, ReadsSurviveFlippedBits) {
    LogConfig config;
    config.segment_bytes_max = 4096;
    SimRunner runner;
    sim::World& world = runner.world();
    std::vector<Phase> script = {ready()};
    for (int wave = 0; wave < 6; ++wave) {
        script.push_back(append(5));
        script.push_back(idle());
    }
    script.push_back(
        run([&](Host&, io::Outbox&) { world.plan().set(sim::FaultKind::read_bitflip, 0.3); }));
    script.push_back(read_all());
    script.push_back(read_all(Offset(17), 300));
    auto j = runner.start(Host(config, script));
    EXPECT_FALSE(j->read_error.has_value());
    ASSERT_EQ(j->read_sets.size(), 2U);
    expect_batches(j->read_sets[0], *j, range(0, 30));
    std::size_t first = 0;
    while (j->accepted[first].last < Offset(17)) ++first;
    expect_batches(j->read_sets[1], *j, range(first, 30));
    // Recovery and lazy indexing under flipped bits too.
    auto second = runner.restart(Host(config, {ready(), read_all(Offset(17), 300), read_all()}));
    EXPECT_EQ(runner.host()->log.state(), State::ready);
    EXPECT_FALSE(second->read_error.has_value());
    ASSERT_EQ(second->read_sets.size(), 2U);
    expect_batches(second->read_sets[0], *j, range(first, 30), std::nullopt);
    expect_batches(second->read_sets[1], *j, range(0, 30), std::nullopt);
}

}  // namespace
}  // namespace samsa

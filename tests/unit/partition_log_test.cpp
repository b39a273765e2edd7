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
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/seam.h"
#include "core/log/batch.h"
#include "core/log/batch_builder.h"
#include "core/log/log_types.h"
#include "core/log/valid_batch.h"
#include "runtime/driver.h"
#include "sim/fault_plan.h"
#include "sim/world.h"
#include "tests/unit/log_batches.h"
#include "tests/unit/partition_log_harness.h"

namespace samsa {
namespace {

using namespace plog_test;  // the harness is the vocabulary of these tests

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

// Appends `count` batches of one size: one record each, a two-digit index in
// its key. Segments of them then have batches at the same positions.
Phase append_equal(std::size_t count) {
    return append_made(count, 7, [](std::size_t index) {
        return testing::make_log_batch(10 + index % 90, 1, 40);
    });
}

// Waves of equal appends, each followed by retention.
void add_waves(std::vector<Phase>& script, int waves) {
    for (int wave = 0; wave < waves; ++wave) {
        script.push_back(append_equal(5));
        script.push_back(idle());
        script.push_back(run([](Host& h, io::Outbox& out) { h.log.apply_retention(out); }));
        script.push_back(quiet());
    }
}

// Retention keeps a dropped segment's file as a spare and a later roll writes
// over it. At a restart the last segment's own batches are followed by the
// former segment's (older offsets, valid CRCs, and with equal batch sizes at
// exactly the next batch position): recovery ends the log there and cuts the
// file, rather than finding corruption, and serves exactly what was appended.
template <class Runner>
void spare_segments_are_reused(
    Runner& runner, bool direct_io, const std::function<void()>& before_restart = [] {}) {
    // Direct I/O pads each write to whole pages: segments of several pages
    // keep stale pages past the data.
    LogConfig config;
    config.segment_bytes_max = direct_io ? 16384 : 2048;
    config.retention_bytes_max = 2 * config.segment_bytes_max;
    config.spare_segments_max = 1;
    config.direct_io = direct_io;
    std::vector<Phase> script = {ready()};
    add_waves(script, direct_io ? 150 : 23);
    script.push_back(read_all());
    auto j = runner.start(Host(config, script));
    expect_contiguous_success(*j);
    const log::PartitionLog& log = runner.host()->log;
    EXPECT_GE(log.segments_recycled(), 2U);
    EXPECT_EQ(log.spare_count(), 1U);
    const Offset start = log.log_start();
    const Offset end = log.log_end();
    std::size_t first = 0;
    while (first < j->accepted.size() && j->accepted[first].base != start) ++first;
    ASSERT_LT(first, j->accepted.size()) << "log start is not a batch base";
    ASSERT_EQ(j->read_sets.size(), 1U);
    expect_batches(j->read_sets[0], *j, range(first, j->accepted.size()));
    before_restart();
    auto second = runner.restart(Host(config, {ready(), read_all()}));
    EXPECT_EQ(runner.host()->log.state(), State::ready);
    EXPECT_EQ(runner.host()->log.log_start(), start);
    EXPECT_EQ(runner.host()->log.log_end(), end);
    EXPECT_EQ(runner.host()->log.spare_count(), 1U);
    ASSERT_EQ(second->read_sets.size(), 1U);
    expect_batches(second->read_sets[0], *j, range(first, j->accepted.size()));
    // And the log goes on: more rolls reuse the spare again.
    const std::uint64_t before = runner.host()->log.segments_recycled();
    std::vector<Phase> more = {ready()};
    add_waves(more, direct_io ? 60 : 8);
    more.push_back(read_all(runner.host()->log.log_end()));
    auto third = runner.restart(Host(config, more));
    EXPECT_EQ(runner.host()->log.state(), State::ready);
    EXPECT_GT(runner.host()->log.segments_recycled(), before);
    (void)third;
}

TEST(PartitionLogSim, SpareSegmentFilesAreReusedAndTheirOldBatchesEndTheLog) {
    for (const bool direct : {false, true}) {
        SCOPED_TRACE(direct ? "direct I/O" : "buffered");
        SimRunner runner;
        sim::World& world = runner.world();
        spare_segments_are_reused(runner, direct, [&] {
            // The last segment's file holds more than its data: a former
            // segment's batches follow.
            const auto names = world.disk(kNode).names();
            std::string tail;
            std::uint64_t sealed = 0;
            for (const auto& name : names) {
                if (!log::PartitionLog::parse_segment_name("p0-", name)) continue;
                if (!tail.empty()) sealed += world.disk(kNode).contents(tail)->size();
                tail = name;
            }
            ASSERT_FALSE(tail.empty());
            const std::uint64_t tail_data = runner.host()->log.size_bytes() - sealed;
            EXPECT_GT(world.disk(kNode).contents(tail)->size(),
                      direct ? io::align_up(tail_data) : tail_data);
        });
    }
}
TEST(PartitionLogUring, SpareSegmentFilesAreReusedAndTheirOldBatchesEndTheLog) {
    for (const bool direct : {false, true}) {
        SCOPED_TRACE(direct ? "direct I/O" : "buffered");
        RealRunner runner;
        spare_segments_are_reused(runner, direct);
    }
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

// A torn tail of any length, shorter than a length field included, is cut at
// restart on real files (direct I/O leaves page padding there as well).
TEST(PartitionLogUring, TornTailsOfAnyLengthAreCut) {
    for (const std::size_t garbage : {1, 7, 11, 12, 100, 5000}) {
        SCOPED_TRACE("garbage bytes: " + std::to_string(garbage));
        RealRunner runner;
        auto first = runner.start(Host(LogConfig{}, {ready(), append(10), idle()}));
        expect_contiguous_success(*first);
        const Offset end = runner.host()->log.log_end();
        runner.start(Host(LogConfig{}, {ready()}));  // closes the first driver
        {
            const auto name = runner.dir() + "/" + PartitionLog::segment_name("p0-", Offset(0));
            std::ofstream tail(name, std::ios::binary | std::ios::app);
            tail << std::string(garbage, '\x5a');
        }
        auto second = runner.restart(Host(LogConfig{}, {ready(), read_all(), append(1), idle()}));
        EXPECT_EQ(second->read_sets.size(), 1U);
        EXPECT_FALSE(second->read_error.has_value());
        if (!second->read_sets.empty()) expect_batches(second->read_sets[0], *first, range(0, 10));
        ASSERT_EQ(second->completed.size(), 1U);
        EXPECT_EQ(second->completed[0].base, end);
    }
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
                          // Checked already, but against a larger limit than the log's.
                          auto checked = log::take_batches(make_batch(101, 600), SIZE_MAX);
                          ASSERT_TRUE(checked.ok() && checked.value().size() == 1);
                          auto result = h.log.append(std::move(checked.value()[0]), 7, out);
                          outcomes.emplace_back("checked, oversize",
                                                result.ok() ? LogError::busy : result.error());
                          end_after = h.log.log_end();
                          size_after = h.log.size_bytes();
                      }),
                      idle(), read_all(), append(1), idle(), read_all()}));
    ASSERT_EQ(outcomes.size(), cases.size() + 1);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        EXPECT_EQ(outcomes[i].second, cases[i].error)
            << cases[i].name << ": got " << log::to_string(outcomes[i].second);
    }
    EXPECT_EQ(outcomes.back().second, LogError::message_too_large)
        << "got " << log::to_string(outcomes.back().second);
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

// `config` decides whether the three appends of a step go out as one write
// or as two writes in flight at once (flush_bytes_min = 0).
void failed_flushes_give_offsets_back(const LogConfig& config) {
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
        // Large enough to grow the file past its last padded page: writes
        // into space the file already has cannot run out of it.
        script.push_back(append(3, 7, 4096));
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
    auto j = runner.start(Host(config, script));
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
    auto second = runner.restart(Host(config, {ready(), read_all()}));
    ASSERT_EQ(second->read_sets.size(), 1U);
    expect_batches(second->read_sets[0], *j, good);
}

TEST(PartitionLogSim, FailedFlushesFailTheirAppendsAndGiveOffsetsBack) {
    failed_flushes_give_offsets_back(LogConfig{});
}

TEST(PartitionLogSim, FailedFlushesFailTheirAppendsAndGiveOffsetsBackWithTwoInFlight) {
    LogConfig config;
    config.flush_bytes_min = 0;
    failed_flushes_give_offsets_back(config);
}

TEST(PartitionLogSim, FailedFlushesFailTheirAppendsAndGiveOffsetsBackWithOneWritePerBatch) {
    LogConfig config;
    config.flush_bytes_min = 0;
    config.flush_bytes_max = 1;  // a batch larger than the cap goes alone
    failed_flushes_give_offsets_back(config);
}

// A backlog larger than flush_bytes_max goes out as several writes, up to
// flushes_in_flight_max of them at once; the rest follow as they complete.
void backlog_streams_as_capped_writes(bool fsync_before_ack) {
    LogConfig config;
    config.fsync_before_ack = fsync_before_ack;
    config.flush_bytes_min = 0;
    config.flush_bytes_max = 1;  // one batch per write
    config.flushes_in_flight_max = 3;
    std::uint64_t before = 0;
    std::uint64_t at_once = 0;
    SimRunner runner;
    auto j = runner.start(Host(config, {ready(), run([&](Host& h, io::Outbox& out) {
                                            before = h.log.flushes_issued();
                                            append(10)(h, out);
                                            at_once = h.log.flushes_issued() - before;
                                        }),
                                        idle(), read_all()}));
    EXPECT_EQ(at_once, 3U);
    EXPECT_EQ(runner.host()->log.flushes_issued(), before + 10);
    expect_contiguous_success(*j);
    ASSERT_EQ(j->read_sets.size(), 1U);
    expect_batches(j->read_sets[0], *j, range(0, 10));
    if (!fsync_before_ack) return;  // a restart may lose what no fsync covered
    auto second = runner.restart(Host(config, {ready(), read_all()}));
    ASSERT_EQ(second->read_sets.size(), 1U);
    expect_batches(second->read_sets[0], *j, range(0, 10));
}

TEST(PartitionLogSim, ABacklogStreamsAsCappedWritesInFlightTogether) {
    backlog_streams_as_capped_writes(true);
    backlog_streams_as_capped_writes(false);
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
// recorded at append and, after a restart, against its checkpointed leader
// epochs, so a flip there is caught like any other, before and after.
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
    expect_batches(second->read_sets[0], *j, range(first, 30));
    expect_batches(second->read_sets[1], *j, range(0, 30));
}

}  // namespace
}  // namespace samsa

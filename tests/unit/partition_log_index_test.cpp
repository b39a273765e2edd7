// The partition log's metadata: index files written on roll and loaded at
// start-up (and rebuilt when damaged), lookups by timestamp, retention and
// rolling by age, and leader epochs checkpointed across restarts.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/log/segment_index.h"
#include "tests/unit/partition_log_harness.h"

namespace samsa {
namespace {

using namespace plog_test;  // the harness is the vocabulary of these tests

// Batch i carries timestamp 1000 + i (tests/unit/log_batches.h).
constexpr std::int64_t kFirstTimestamp = 1000;

LogConfig small_segments() {
    LogConfig config;
    config.segment_bytes_max = 2048;
    config.index_interval_bytes = 256;
    return config;
}

std::vector<Phase> waves(std::size_t count, std::size_t per_wave = 5) {
    std::vector<Phase> script = {ready()};
    for (std::size_t wave = 0; wave < count; ++wave) {
        script.push_back(append(per_wave));
        script.push_back(idle());
    }
    return script;
}

// Ready, then (noting how many segments were indexed at ready) until all are.
std::vector<Phase> until_indexed(std::size_t& indexed_at_ready, std::size_t segments) {
    return {ready(),
            run([&](Host& h, io::Outbox&) { indexed_at_ready = h.log.indexed_segment_count(); }),
            [segments](Host& h, io::Outbox&) { return h.log.indexed_segment_count() == segments; }};
}

TEST(PartitionLogIndex, SealedSegmentsGetIndexFilesThatTheNextStartLoads) {
    SimRunner runner;
    auto first = runner.start(Host(small_segments(), waves(12)));
    expect_contiguous_success(*first);
    const std::size_t segments = runner.host()->log.segment_count();
    ASSERT_GT(segments, 3U);
    // Before a restart every segment is indexed (the log wrote them all).
    EXPECT_EQ(runner.host()->log.indexed_segment_count(), segments);
    std::size_t files = 0;
    for (const auto& name : runner.world().disk(kNode).names()) {
        files += name.ends_with(".index") ? 1 : 0;
    }
    EXPECT_EQ(files, segments - 1);  // the active segment has none

    // After a restart: the tail's index comes from the recovery scan, every
    // sealed segment's from its file, loaded after recovery - none rebuilt.
    std::size_t indexed_at_ready = 0;
    std::vector<Phase> script = until_indexed(indexed_at_ready, segments);
    script.push_back(read_all());
    script.push_back(quiet());  // the rebuilt index files are written before the run ends
    auto second = runner.restart(Host(small_segments(), script));
    EXPECT_EQ(indexed_at_ready, 1U);
    EXPECT_EQ(runner.host()->log.indexes_rebuilt(), 0U);
    ASSERT_EQ(second->read_sets.size(), 1U);
    expect_batches(second->read_sets[0], *first, range(0, 60));
}

std::vector<std::string> index_files(const std::string& dir) {
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() == ".index") found.push_back(entry.path().string());
    }
    std::sort(found.begin(), found.end());
    return found;
}

// The index file at `path` decodes and describes its segment.
bool index_file_valid(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const io::Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string segment = path;
    segment.replace(segment.size() - 6, 6, ".log");
    const std::string name = std::filesystem::path(segment).filename().string();
    const auto base = PartitionLog::parse_segment_name("p0-", name);
    return base &&
           log::SegmentIndex::decode(bytes, *base, std::filesystem::file_size(segment)).ok();
}

TEST(PartitionLogIndex, DamagedOrMissingIndexFilesAreRebuilt) {
    RealRunner runner;
    auto first = runner.start(Host(small_segments(), waves(12)));
    expect_contiguous_success(*first);
    const std::size_t segments = runner.host()->log.segment_count();
    runner.start(Host(small_segments(), {ready()}));  // closes the first driver
    const auto files = index_files(runner.dir());
    ASSERT_EQ(files.size(), segments - 1);
    ASSERT_GE(files.size(), 3U);
    for (const auto& file : files) EXPECT_TRUE(index_file_valid(file)) << file;
    {
        std::fstream damaged(files[0], std::ios::in | std::ios::out | std::ios::binary);
        damaged.seekp(30);
        damaged.put('\x77');
    }
    ASSERT_TRUE(std::filesystem::remove(files[1]));
    EXPECT_FALSE(index_file_valid(files[0]));

    std::size_t indexed_at_ready = 0;
    std::vector<Phase> script = until_indexed(indexed_at_ready, segments);
    script.push_back(find_time(kFirstTimestamp + 3));
    script.push_back(read_all());
    script.push_back(quiet());  // the rebuilt index files are written before the run ends
    auto second = runner.restart(Host(small_segments(), script));
    EXPECT_EQ(indexed_at_ready, 1U);  // sealed segments' indexes load after recovery
    EXPECT_EQ(runner.host()->log.indexes_rebuilt(), 2U);  // the damaged one and the missing one
    ASSERT_EQ(second->time_matches.size(), 1U);
    ASSERT_TRUE(second->time_matches[0].has_value());
    EXPECT_EQ(second->time_matches[0]->offset, first->accepted[3].base);
    expect_batches(second->read_sets.at(0), *first, range(0, 60));
    runner.start(Host(small_segments(), {ready()}));
    for (const auto& file : files) EXPECT_TRUE(index_file_valid(file)) << file;
}

TEST(PartitionLogIndex, FindsTheFirstOffsetAtOrAfterATimestamp) {
    SimRunner runner;
    std::vector<Phase> script = waves(12);
    // Before the first batch, inside, on a segment boundary's far side, past the end.
    for (const std::int64_t at : {0, 1000, 1001, 1017, 1042, 1059, 1060, 5000}) {
        script.push_back(find_time(at));
    }
    auto first = runner.start(Host(small_segments(), script));
    const auto expect_answers = [&](const Journal& j) {
        ASSERT_EQ(j.time_matches.size(), 8U);
        const std::vector<std::optional<std::size_t>> want = {0, 0, 1, 17, 42, 59, {}, {}};
        for (std::size_t i = 0; i < want.size(); ++i) {
            SCOPED_TRACE("lookup " + std::to_string(i));
            ASSERT_EQ(j.time_matches[i].has_value(), want[i].has_value());
            if (!want[i]) continue;
            EXPECT_EQ(j.time_matches[i]->offset, first->accepted[*want[i]].base);
            EXPECT_EQ(j.time_matches[i]->timestamp_ms,
                      kFirstTimestamp + static_cast<std::int64_t>(*want[i]));
        }
    };
    expect_answers(*first);
    // After a restart the same answers come from the loaded index files.
    std::vector<Phase> again = {ready()};
    for (const std::int64_t at : {0, 1000, 1001, 1017, 1042, 1059, 1060, 5000}) {
        again.push_back(find_time(at));
    }
    auto second = runner.restart(Host(small_segments(), again));
    expect_answers(*second);
}

TEST(PartitionLogIndex, RetentionByAgeDropsSegmentsWhoseNewestRecordIsOld) {
    LogConfig config = small_segments();
    config.retention_ms = 20;
    SimRunner runner;
    std::vector<Phase> script = waves(12);
    std::vector<std::size_t> segments;
    const auto retain_at = [&](std::int64_t now) {
        return run([&, now](Host& h, io::Outbox& out) {
            h.log.apply_retention(out);  // no time given: nothing is old
            segments.push_back(h.log.segment_count());
            h.log.apply_retention(out, now);
            segments.push_back(h.log.segment_count());
        });
    };
    script.push_back(retain_at(kFirstTimestamp + 10));  // nothing older than 20 ms
    script.push_back(retain_at(kFirstTimestamp + 45));  // batches 0..24 expire
    script.push_back(idle());
    script.push_back(read_all());
    auto j = runner.start(Host(config, script));
    ASSERT_EQ(segments.size(), 4U);
    EXPECT_EQ(segments[0], segments[1]);
    EXPECT_EQ(segments[1], segments[2]);
    EXPECT_LT(segments[3], segments[2]);
    // The new log start is a segment base after every expired batch's segment.
    const Offset start = runner.host()->log.log_start();
    EXPECT_GT(start, Offset(0));
    EXPECT_LE(start, j->accepted[25].base);
    const auto first_kept =
        static_cast<std::size_t>(std::find_if(j->accepted.begin(), j->accepted.end(),
                                              [&](const auto& a) { return a.base == start; }) -
                                 j->accepted.begin());
    ASSERT_LT(first_kept, 60U);
    expect_batches(j->read_sets.at(0), *j, range(first_kept, 60));
}

TEST(PartitionLogIndex, SegmentsRollByAge) {
    LogConfig config;  // 64 MiB segments: only age rolls them
    config.segment_ms = 4;
    SimRunner runner;
    auto j = runner.start(Host(config, waves(20, 1)));
    expect_contiguous_success(*j);
    // Timestamps 1000..1019: a new segment once a batch is > 4 ms newer than the first.
    EXPECT_EQ(runner.host()->log.segment_count(), 4U);
}

// After a restart only the tail segment's batches are known one by one: a
// truncation into an older segment must wait until a read has walked it.
TEST(PartitionLogIndex, TruncationIntoASegmentNotYetWalkedIsBusyUntilARead) {
    SimRunner runner;
    auto first = runner.start(Host(small_segments(), waves(12)));
    const Offset cut = first->accepted[7].base;
    std::optional<LogError> before_read;
    bool after_read = false;
    auto second =
        runner.restart(Host(small_segments(), {ready(), run([&](Host& h, io::Outbox& out) {
                                                   auto status = h.log.truncate_to(cut, out);
                                                   if (!status.ok()) before_read = status.error();
                                               }),
                                               read_all(), run([&](Host& h, io::Outbox& out) {
                                                   after_read = h.log.truncate_to(cut, out).ok();
                                               }),
                                               idle(), read_all()}));
    EXPECT_EQ(before_read, LogError::busy);
    EXPECT_TRUE(after_read);
    EXPECT_EQ(runner.host()->log.log_end(), cut);
    ASSERT_EQ(second->read_sets.size(), 2U);
    expect_batches(second->read_sets[1], *first, range(0, 7));
}

TEST(PartitionLogEpochs, AnOlderEpochIsRefusedAndNothingChanges) {
    SimRunner runner;
    std::optional<LogError> refused;
    auto j = runner.start(Host(LogConfig{}, {ready(), append(2, 7), idle(), append(1, 9), idle(),
                                             run([&](Host& h, io::Outbox& out) {
                                                 const Offset end = h.log.log_end();
                                                 auto r = h.log.append(make_batch(50), 8, out);
                                                 if (!r.ok()) refused = r.error();
                                                 EXPECT_EQ(h.log.log_end(), end);
                                             })}));
    EXPECT_EQ(refused, LogError::stale_epoch);
    EXPECT_EQ(log::kafka_error_code(LogError::stale_epoch), 74);  // FENCED_LEADER_EPOCH
    const auto& entries = runner.host()->log.epochs().entries();
    ASSERT_EQ(entries.size(), 2U);
    EXPECT_EQ(entries[0].epoch, 7);
    EXPECT_EQ(entries[1].epoch, 9);
    EXPECT_EQ(entries[1].start, j->accepted[2].base);
}

TEST(PartitionLogEpochs, CheckpointsSurviveRestartsAndTruncation) {
    SimRunner runner;
    auto first = runner.start(Host(
        LogConfig{}, {ready(), append(3, 2), idle(), append(3, 4), idle(), append(3, 6), idle()}));
    const auto before = runner.host()->log.epochs();
    ASSERT_EQ(before.size(), 3U);
    auto second = runner.restart(Host(LogConfig{}, {ready()}));
    EXPECT_EQ(runner.host()->log.epochs(), before);
    // Truncating into epoch 4 forgets epoch 6, durably once the next flush runs.
    const Offset cut = first->accepted[4].base;
    auto third =
        runner.restart(Host(LogConfig{}, {ready(), run([&](Host& h, io::Outbox& out) {
                                              EXPECT_TRUE(h.log.truncate_to(cut, out).ok());
                                          }),
                                          idle(), append(1, 5), idle()}));
    auto fourth = runner.restart(Host(LogConfig{}, {ready()}));
    const auto& entries = runner.host()->log.epochs().entries();
    ASSERT_EQ(entries.size(), 3U);
    EXPECT_EQ(entries[1].epoch, 4);
    EXPECT_EQ(entries[2].epoch, 5);
    EXPECT_EQ(entries[2].start, cut);
}

}  // namespace
}  // namespace samsa

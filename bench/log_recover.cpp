// samsa-log-load recover DIR: phase B, the timed recovery.
//
// A fresh process opens the directory phase A (or a crash) left behind with a
// default PartitionLog on runtime::Driver and times start() -> the log's
// state() leaving `recovering`, with steady_clock, in the host's step. The
// host sees every effect the log emits and every completion it gets back, so
// it counts the recovery's disk work (lists, opens, reads and bytes read,
// truncates, fsyncs) without touching the driver, and open_ms: start() -> the
// first Read, i.e. the directory listing plus one Open per segment, the part
// that grows with the number of segments. Then it checks the result:
// log_end() is what phase A reached, the torn tail (if the shell added one)
// is gone from the file, and reads at offset 0 (the oldest segment, indexed
// lazily by that read) and at log_end() - 1 return the batches holding them.
// One JSON line goes to stdout.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/io/seam.h"
#include "core/log/batch.h"
#include "core/log/log_types.h"
#include "core/log/partition_log.h"
#include "runtime/driver.h"

namespace samsa::bench {
namespace {

using Clock = std::chrono::steady_clock;
using log::PartitionLog;

struct RecoverStats {
    Clock::time_point begin;
    Clock::time_point first_read;  // list + every open done: the part that grows with the log
    Clock::time_point ready;
    bool recovered = false;
    bool finished = false;
    std::string problem;  // empty: every check passed
    PartitionLog::State state = PartitionLog::State::recovering;
    std::uint64_t lists = 0, opens = 0, reads = 0, read_bytes = 0, truncates = 0, fsyncs = 0;
    std::int64_t log_start = 0, log_end = 0;
    std::size_t segments = 0;
    std::uint64_t log_bytes = 0;
    bool first_ok = false, last_ok = false;
};

class RecoverHost {
public:
    explicit RecoverHost(std::shared_ptr<RecoverStats> stats)
        : log_(log::LogConfig{}, 1), stats_(std::move(stats)) {}

    void step(Instant, const io::Event& event, io::Outbox& out) {
        const std::size_t before = out.size();
        if (std::holds_alternative<io::Start>(event)) {
            stats_->begin = Clock::now();
            log_.start(out);
        } else if (const auto* done = std::get_if<io::IoCompleted>(&event)) {
            if (read_tokens_.erase(done->token.value()) > 0)
                stats_->read_bytes += done->data.size();
            if (log_.owns(done->token)) log_.on_io(*done, out);
        }
        if (!stats_->recovered) {
            count(out, before);
            if (log_.state() != PartitionLog::State::recovering) on_recovered(out);
        } else {
            collect_reads();
        }
    }

private:
    void count(const io::Outbox& out, std::size_t from);
    void on_recovered(io::Outbox& out);
    void collect_reads();
    void check(const log::ReadResult& read, Offset offset, bool& ok);

    PartitionLog log_;
    std::shared_ptr<RecoverStats> stats_;
    std::set<std::uint64_t> read_tokens_;  // recovery's reads, to add up the bytes they return
    std::uint64_t first_id_ = 0;
    std::uint64_t last_id_ = 0;
    int reads_left_ = 0;
};

void RecoverHost::count(const io::Outbox& out, std::size_t from) {
    for (std::size_t i = from; i < out.size(); ++i) {
        const io::Effect& effect = out.effects()[i];
        if (const auto* read = std::get_if<io::Read>(&effect)) {
            if (stats_->reads == 0) stats_->first_read = Clock::now();
            ++stats_->reads;
            read_tokens_.insert(read->token.value());
        }
        stats_->lists += std::holds_alternative<io::List>(effect) ? 1 : 0;
        stats_->opens += std::holds_alternative<io::Open>(effect) ? 1 : 0;
        stats_->truncates += std::holds_alternative<io::Truncate>(effect) ? 1 : 0;
        stats_->fsyncs += std::holds_alternative<io::Fsync>(effect) ? 1 : 0;
    }
}

void RecoverHost::on_recovered(io::Outbox& out) {
    stats_->ready = Clock::now();
    stats_->recovered = true;
    stats_->state = log_.state();
    stats_->log_start = log_.log_start().value();
    stats_->log_end = log_.log_end().value();
    stats_->segments = log_.segment_count();
    stats_->log_bytes = log_.size_bytes();
    if (log_.state() != PartitionLog::State::ready) {
        stats_->problem = "log not ready after recovery";
        stats_->finished = true;
        return;
    }
    if (log_.log_end() == log_.log_start()) {  // nothing to read back
        stats_->finished = true;
        return;
    }
    // Not timed: the first read of an old segment builds its index, which
    // recovery left for later on purpose.
    auto first = log_.read(log_.log_start(), 1, out);
    auto last = log_.read(log_.log_end().plus(-1), 1, out);
    if (!first.ok() || !last.ok()) {
        stats_->problem = "read refused after recovery";
        stats_->finished = true;
        return;
    }
    first_id_ = first.value();
    last_id_ = last.value();
    reads_left_ = 2;
}

void RecoverHost::check(const log::ReadResult& read, Offset offset, bool& ok) {
    if (read.error || read.batches.empty()) return;
    const auto header = log::parse_header(read.batches);
    ok = header.ok() && header.value().base_offset <= offset &&
         offset <= header.value().last_offset();
}

void RecoverHost::collect_reads() {
    for (const auto& read : log_.take_reads()) {
        if (read.id == first_id_) check(read, log_.log_start(), stats_->first_ok);
        if (read.id == last_id_) check(read, log_.log_end().plus(-1), stats_->last_ok);
        --reads_left_;
    }
    if (reads_left_ > 0) return;
    if (!stats_->first_ok) stats_->problem = "read at log_start failed";
    if (!stats_->last_ok) stats_->problem = "read at log_end - 1 failed";
    stats_->finished = true;
}

struct DiskView {
    std::size_t segment_files = 0;
    std::uint64_t bytes = 0;
    std::string tail;  // the newest segment file: names sort by base offset
    std::uint64_t tail_bytes = 0;
};

DiskView look_at(const std::string& dir) {
    DiskView view;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (!PartitionLog::parse_segment_name("p0-", name)) continue;
        ++view.segment_files;
        view.bytes += entry.file_size();
        if (name > view.tail) {
            view.tail = name;
            view.tail_bytes = entry.file_size();
        }
    }
    return view;
}

const char* state_name(PartitionLog::State state) {
    switch (state) {
        case PartitionLog::State::recovering: return "recovering";
        case PartitionLog::State::ready: return "ready";
        case PartitionLog::State::repairing: return "repairing";
        case PartitionLog::State::needs_repair: return "needs_repair";
    }
    return "?";
}

void print_json(const RecoverStats& s, const DiskView& before, const DiskView& after,
                std::int64_t expect_end, const std::string& failure) {
    const double ms = std::chrono::duration<double, std::milli>(s.ready - s.begin).count();
    const auto opened = s.reads > 0 ? s.first_read : s.ready;
    const double open_ms = std::chrono::duration<double, std::milli>(opened - s.begin).count();
    const auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
    std::printf(
        "{\"mode\": \"recover\", \"ok\": %s, \"failure\": \"%s\", \"state\": \"%s\", "
        "\"recover_ms\": %.3f, \"open_ms\": %.3f, \"segments\": %zu, \"segment_files\": %zu, "
        "\"log_bytes\": %llu, "
        "\"disk_bytes_before\": %llu, \"tail_bytes_before\": %llu, \"tail_bytes\": %llu, "
        "\"cut_bytes\": %llu, \"log_start\": %lld, \"log_end\": %lld, \"expect_end\": %lld, "
        "\"lists\": %llu, \"opens\": %llu, \"reads\": %llu, \"read_bytes\": %llu, "
        "\"truncates\": %llu, \"fsyncs\": %llu, \"first_read_ok\": %s, \"last_read_ok\": %s}\n",
        failure.empty() ? "true" : "false", failure.c_str(), state_name(s.state), ms, open_ms,
        s.segments, before.segment_files, u(s.log_bytes), u(before.bytes), u(before.tail_bytes),
        u(after.tail_bytes), u(before.tail_bytes - after.tail_bytes),
        static_cast<long long>(s.log_start), static_cast<long long>(s.log_end),
        static_cast<long long>(expect_end), u(s.lists), u(s.opens), u(s.reads), u(s.read_bytes),
        u(s.truncates), u(s.fsyncs), s.first_ok ? "true" : "false", s.last_ok ? "true" : "false");
}

}  // namespace

int run_recover(const std::string& dir, std::int64_t expect_end) {
    if (!std::filesystem::is_directory(dir)) {
        std::fprintf(stderr, "samsa-log-load recover: %s is not a directory\n", dir.c_str());
        return 2;
    }
    const DiskView before = look_at(dir);
    auto stats = std::make_shared<RecoverStats>();
    std::string failure;
    {
        runtime::Driver driver(dir);
        driver.host(RecoverHost(stats));
        driver.start();
        if (!driver.run_until([stats] { return stats->finished; }, std::chrono::minutes(10))) {
            failure = driver.failure().value_or("timeout");
        }
    }
    const DiskView after = look_at(dir);
    if (failure.empty()) failure = stats->problem;
    if (failure.empty() && expect_end >= 0 && stats->log_end != expect_end) {
        failure = "log_end " + std::to_string(stats->log_end) + " != expected " +
                  std::to_string(expect_end);
    }
    if (failure.empty() && after.bytes != stats->log_bytes) {
        failure = "the files' sizes do not add up to the log's";  // the cut did not land
    }
    print_json(*stats, before, after, expect_end, failure);
    return failure.empty() ? 0 : 1;
}

}  // namespace samsa::bench

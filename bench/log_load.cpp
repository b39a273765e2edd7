// samsa-log-load: a load driver for the partition log on real files.
//
// Runs one PartitionLog on runtime::Driver (io_uring + Asio) in a fresh
// directory and prints one JSON line of results, for bench/log_bench.sh to
// compare with fio measured in the same run. Modes:
//
//   nofsync      fsync_before_ack=false; --inflight appends of --batch-bytes
//                batches kept in flight until --bytes are written (or
//                --seconds pass). Reports MB/s.
//   groupcommit  fsync_before_ack=true; --inflight appenders, each with one
//                batch in flight, re-appending on completion, for --seconds.
//                --rate-mbps caps the offered load (token bucket). Reports
//                MB/s and append latency percentiles (steady_clock from
//                append() to take_completed()).
//   tailread     appends --fill-bytes without fsync (not timed), then one
//                reader reads --window-bytes ending at readable_end(), again
//                and again, for --seconds. Reports GB/s of batches returned.
//   recover      two processes (bench/log_bench.sh runs both). With
//                --prepare-bytes N: fills a fresh directory with N bytes as
//                nofsync does, prints the log_end reached, and _Exit()s with
//                no clean shutdown - a crash, as far as the log can tell.
//                Without it: recovers the directory left behind and times
//                start() -> ready (log_recover.cpp); --expect-end checks it.
//
// Batches are built once into a pool (BatchBuilder, --record-bytes values);
// each append copies one, so building is not measured.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/io/seam.h"
#include "core/log/batch_builder.h"
#include "core/log/log_types.h"
#include "core/log/partition_log.h"
#include "runtime/allocator.h"
#include "runtime/driver.h"

namespace samsa::bench {

// Phase B of `recover`, in log_recover.cpp: times recovery of `dir` and checks
// it; `expect_end` < 0 skips the log_end check.
int run_recover(const std::string& dir, std::int64_t expect_end);

namespace {

using Clock = std::chrono::steady_clock;
using log::LogConfig;
using log::PartitionLog;

struct Options {
    std::string mode;
    std::string dir;
    double seconds = 5.0;
    std::uint64_t bytes = 0;  // 0: time-based only
    std::size_t inflight = 64;
    std::size_t batch_bytes = 64 * 1024;
    std::size_t record_bytes = 1024;
    double rate_mbps = 0.0;  // 0: unlimited
    std::uint64_t fill_bytes = 256ULL << 20;
    std::uint32_t window_bytes = 1U << 20;
    std::uint64_t prepare_bytes = 0;  // recover: > 0 is phase A (fill, then crash)
    std::int64_t expect_end = -1;     // recover: the log_end phase A reached
    std::uint64_t segment_bytes = 0;  // 0: LogConfig's default
    int direct = -1;                  // -1: LogConfig's default; else 0/1
    int preallocate = -1;
    std::int64_t flush_bytes_min = -1;  // -1: LogConfig's default
    std::uint64_t warmup_bytes = 0;     // nofsync/groupcommit: appended first, not timed
    std::uint64_t retention_bytes = 0;  // > 0: retention applied as the log grows
    std::int64_t spares = -1;           // -1: LogConfig's default spare_segments_max
};

struct Stats {
    Clock::time_point begin;
    Clock::time_point end;
    std::uint64_t bytes = 0;
    std::uint64_t appends = 0;
    std::uint64_t errors = 0;
    std::uint64_t reads = 0;
    std::uint64_t read_bytes = 0;
    std::int64_t log_end = 0;
    std::uint64_t flushes = 0;   // writes the log issued (bytes / flushes: the mean write)
    std::uint64_t recycled = 0;  // rolls that reused a spare segment file
    std::vector<double> latency_us;
    bool finished = false;
};

struct Pool {
    std::vector<io::Bytes> batches;
    std::int64_t records_per_batch = 0;
};

// Batches of `record_bytes` values, as many records as fit in `batch_bytes`.
std::shared_ptr<const Pool> build_pool(const Options& o, std::size_t count) {
    auto pool = std::make_shared<Pool>();
    for (std::size_t b = 0; b < count; ++b) {
        log::BatchBuilder builder;
        std::string key = "key-" + std::to_string(b);
        std::string value(o.record_bytes, static_cast<char>('a' + b % 26));
        const auto* k = reinterpret_cast<const std::uint8_t*>(key.data());
        const auto* v = reinterpret_cast<const std::uint8_t*>(value.data());
        const std::size_t per_record = o.record_bytes + key.size() + 16;
        while (builder.record_count() == 0 || builder.size_bytes() + per_record <= o.batch_bytes) {
            builder.add(
                log::RecordInput{std::span(k, key.size()), std::span(v, value.size()), {}, 1000});
        }
        pool->records_per_batch = static_cast<std::int64_t>(builder.record_count());
        pool->batches.push_back(builder.build());
    }
    return pool;
}

enum class Phase : std::uint8_t { fill, append, read, drain };

class LoadHost {
public:
    LoadHost(Options o, LogConfig config, std::shared_ptr<const Pool> pool,
             std::shared_ptr<Stats> stats)
        : o_(std::move(o)),
          log_(std::move(config), 1),
          pool_(std::move(pool)),
          stats_(std::move(stats)) {}

    void step(Instant, const io::Event& event, io::Outbox& out) {
        if (std::holds_alternative<io::Start>(event)) {
            log_.start(out);
        } else if (const auto* done = std::get_if<io::IoCompleted>(&event)) {
            if (log_.owns(done->token)) log_.on_io(*done, out);
        } else if (std::holds_alternative<io::TimerFired>(event)) {
            timer_armed_ = false;
        }
        pump(out);
    }

private:
    void pump(io::Outbox& out);
    void begin(io::Outbox& out);
    void collect_appends(Clock::time_point now);
    void issue_appends(Clock::time_point now, io::Outbox& out);
    void collect_reads();
    void issue_reads(io::Outbox& out);
    void arm_timer(io::Outbox& out);
    [[nodiscard]] bool out_of_budget(Clock::time_point now) const;

    Options o_;
    PartitionLog log_;
    std::shared_ptr<const Pool> pool_;
    std::shared_ptr<Stats> stats_;
    Phase phase_ = Phase::fill;
    bool begun_ = false;
    bool timer_armed_ = false;
    bool read_in_flight_ = false;
    std::size_t outstanding_ = 0;
    std::size_t next_batch_ = 0;
    std::uint64_t issued_bytes_ = 0;
    std::uint64_t fill_done_bytes_ = 0;
    std::unordered_map<std::uint64_t, std::pair<Clock::time_point, std::size_t>> sent_;
};

void LoadHost::begin(io::Outbox& out) {
    begun_ = true;
    const bool fill = o_.mode == "tailread" || o_.warmup_bytes > 0;
    phase_ = fill ? Phase::fill : Phase::append;
    stats_->begin = Clock::now();
    if (o_.rate_mbps > 0 && !fill) arm_timer(out);
}

void LoadHost::arm_timer(io::Outbox& out) {
    if (timer_armed_) return;
    timer_armed_ = true;
    out.push(io::SetTimer{TimerId(1), Duration::microseconds(200)});
}

bool LoadHost::out_of_budget(Clock::time_point now) const {
    if (phase_ == Phase::fill) {
        return issued_bytes_ >= (o_.mode == "tailread" ? o_.fill_bytes : o_.warmup_bytes);
    }
    if (o_.bytes > 0 && issued_bytes_ >= o_.bytes) return true;
    return std::chrono::duration<double>(now - stats_->begin).count() >= o_.seconds;
}

void LoadHost::collect_appends(Clock::time_point now) {
    for (const auto& done : log_.take_completed()) {
        const auto found = sent_.find(done.id);
        if (found == sent_.end()) continue;
        --outstanding_;
        if (done.error) {
            ++stats_->errors;
        } else if (phase_ == Phase::fill) {
            fill_done_bytes_ += found->second.second;
        } else {
            stats_->bytes += found->second.second;
            ++stats_->appends;
            stats_->latency_us.push_back(
                std::chrono::duration<double, std::micro>(now - found->second.first).count());
            stats_->end = now;
        }
        sent_.erase(found);
    }
}

void LoadHost::issue_appends(Clock::time_point now, io::Outbox& out) {
    const double elapsed = std::chrono::duration<double>(now - stats_->begin).count();
    const double allowed = o_.rate_mbps * 1e6 * elapsed;
    while (outstanding_ < o_.inflight && !out_of_budget(now)) {
        const io::Bytes& batch = pool_->batches[next_batch_ % pool_->batches.size()];
        if (o_.rate_mbps > 0 && static_cast<double>(issued_bytes_ + batch.size()) > allowed) {
            arm_timer(out);
            break;
        }
        // A fresh copy, as a batch arriving from the network would be.
        auto result = log_.append(io::copy_of(batch), 0, out);
        if (!result.ok()) {
            if (result.error() != log::LogError::backpressure) ++stats_->errors;
            break;
        }
        ++next_batch_;
        ++outstanding_;
        issued_bytes_ += batch.size();
        sent_.emplace(result.value().id, std::make_pair(Clock::now(), batch.size()));
    }
}

void LoadHost::collect_reads() {
    for (const auto& read : log_.take_reads()) {
        read_in_flight_ = false;
        if (read.error) {
            ++stats_->errors;
            continue;
        }
        ++stats_->reads;
        stats_->read_bytes += read.batches.size();
        stats_->end = Clock::now();
    }
}

void LoadHost::issue_reads(io::Outbox& out) {
    if (read_in_flight_) return;
    const auto window_batches = static_cast<std::int64_t>(o_.window_bytes / o_.batch_bytes);
    const std::int64_t back = std::max<std::int64_t>(1, window_batches) * pool_->records_per_batch;
    Offset from = log_.readable_end().plus(-back);
    if (from < log_.log_start()) from = log_.log_start();
    auto issued = log_.read(from, o_.window_bytes, out);
    if (!issued.ok()) {
        ++stats_->errors;
        phase_ = Phase::drain;
        return;
    }
    read_in_flight_ = true;
}

void LoadHost::pump(io::Outbox& out) {
    if (log_.state() != PartitionLog::State::ready) return;
    if (!begun_) begin(out);
    auto now = Clock::now();
    collect_appends(now);
    stats_->log_end = log_.log_end().value();
    stats_->flushes = log_.flushes_issued();
    stats_->recycled = log_.segments_recycled();
    collect_reads();
    if (stats_->errors > 0) phase_ = Phase::drain;
    if (phase_ == Phase::fill && out_of_budget(now) && outstanding_ == 0) {
        // The warm-up is over: the timed part starts from here.
        phase_ = o_.mode == "tailread" ? Phase::read : Phase::append;
        issued_bytes_ = 0;
        stats_->begin = now = Clock::now();
        if (o_.rate_mbps > 0 && phase_ == Phase::append) arm_timer(out);
    }
    if (o_.retention_bytes > 0) log_.apply_retention(out);
    if (phase_ == Phase::read &&
        std::chrono::duration<double>(now - stats_->begin).count() >= o_.seconds) {
        phase_ = Phase::drain;
    }
    if (phase_ == Phase::fill || phase_ == Phase::append) {
        // One write for the appends of this step.
        log_.append_together(out, [&] { issue_appends(now, out); });
    }
    // Reads served from the log's cache complete at once, with no I/O to
    // wake this host again: keep going here, a bounded number at a time.
    for (int served = 0; phase_ == Phase::read && served < 64; ++served) {
        issue_reads(out);
        if (!read_in_flight_) break;
        collect_reads();
        if (read_in_flight_) break;  // waiting for the disk
    }
    if (phase_ == Phase::read && !read_in_flight_) arm_timer(out);
    if (phase_ == Phase::append && out_of_budget(now)) phase_ = Phase::drain;
    if (phase_ == Phase::drain && outstanding_ == 0 && !read_in_flight_) stats_->finished = true;
    if (o_.rate_mbps > 0 && !stats_->finished && phase_ == Phase::append) arm_timer(out);
}

double percentile(std::vector<double>& values, double p) {
    if (values.empty()) return 0.0;
    std::sort(values.begin(), values.end());
    const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
    return values[index];
}

void print_json(const Options& o, Stats& s, const char* failure) {
    const double secs = std::chrono::duration<double>(s.end - s.begin).count();
    const double mbps = secs > 0 ? static_cast<double>(s.bytes) / secs / 1e6 : 0.0;
    const double gbps = secs > 0 ? static_cast<double>(s.read_bytes) / secs / 1e9 : 0.0;
    const double p50 = percentile(s.latency_us, 0.50);
    const double p99 = percentile(s.latency_us, 0.99);
    std::printf(
        "{\"mode\": \"%s\", \"ok\": %s, \"failure\": \"%s\", \"seconds\": %.3f, "
        "\"bytes\": %llu, \"appends\": %llu, \"errors\": %llu, \"mb_per_s\": %.1f, "
        "\"p50_us\": %.1f, \"p99_us\": %.1f, \"reads\": %llu, \"read_bytes\": %llu, "
        "\"read_gb_per_s\": %.3f, \"inflight\": %zu, \"batch_bytes\": %zu, "
        "\"rate_mbps\": %.1f, \"log_end\": %lld, \"flushes\": %llu, \"recycled\": %llu}\n",
        o.mode.c_str(), failure[0] == '\0' && s.errors == 0 ? "true" : "false", failure, secs,
        static_cast<unsigned long long>(s.bytes), static_cast<unsigned long long>(s.appends),
        static_cast<unsigned long long>(s.errors), mbps, p50, p99,
        static_cast<unsigned long long>(s.reads), static_cast<unsigned long long>(s.read_bytes),
        gbps, o.inflight, o.batch_bytes, o.rate_mbps, static_cast<long long>(s.log_end),
        static_cast<unsigned long long>(s.flushes), static_cast<unsigned long long>(s.recycled));
}

int run(const Options& o) {
    LogConfig config;
    config.fsync_before_ack = o.mode == "groupcommit";
    if (o.segment_bytes > 0) config.segment_bytes_max = o.segment_bytes;
    if (o.direct >= 0) config.direct_io = o.direct != 0;
    if (o.preallocate >= 0) config.preallocate = o.preallocate != 0;
    if (o.flush_bytes_min >= 0)
        config.flush_bytes_min = static_cast<std::uint64_t>(o.flush_bytes_min);
    config.retention_bytes_max = o.retention_bytes;
    if (o.spares >= 0) config.spare_segments_max = static_cast<std::size_t>(o.spares);
    auto pool = build_pool(o, 16);
    auto stats = std::make_shared<Stats>();
    std::filesystem::remove_all(o.dir);
    std::filesystem::create_directories(o.dir);
    std::string failure;
    {
        runtime::Driver driver(o.dir);
        driver.host(LoadHost(o, config, pool, stats));
        driver.start();
        const auto limit = std::chrono::milliseconds(static_cast<long>(o.seconds * 1000) + 120000);
        if (!driver.run_until([stats] { return stats->finished; }, limit)) {
            failure = driver.failure().value_or("timeout");
        }
    }
    std::filesystem::remove_all(o.dir);
    print_json(o, *stats, failure.c_str());
    return failure.empty() && stats->errors == 0 ? 0 : 1;
}

// Phase A of `recover`: fill a fresh directory like nofsync, then end the
// process without destroying the driver or the log. Every append has been
// written (no fsync), so the data sits in the page cache and survives the
// process; what recovery then finds is what a killed broker leaves.
int run_prepare(Options o) {
    o.bytes = o.prepare_bytes;
    o.seconds = 3600.0;
    LogConfig config;
    config.fsync_before_ack = false;
    auto pool = build_pool(o, 16);
    auto stats = std::make_shared<Stats>();
    std::filesystem::remove_all(o.dir);
    std::filesystem::create_directories(o.dir);
    // On the heap and never freed: _Exit skips every destructor anyway.
    auto* driver = new runtime::Driver(o.dir);
    driver->host(LoadHost(o, config, pool, stats));
    driver->start();
    std::string failure;
    if (!driver->run_until([stats] { return stats->finished; }, std::chrono::hours(1))) {
        failure = driver->failure().value_or("timeout");
    }
    print_json(o, *stats, failure.c_str());
    std::fflush(stdout);
    std::_Exit(failure.empty() && stats->errors == 0 ? 0 : 1);
}

int usage() {
    std::fprintf(stderr,
                 "usage: samsa-log-load nofsync|groupcommit|tailread DIR [--seconds S] "
                 "[--bytes N] [--inflight N] [--batch-bytes N] [--record-bytes N] "
                 "[--rate-mbps X] [--fill-bytes N] [--window-bytes N] [--segment-bytes N]\n"
                 "       [--direct 0|1] [--preallocate 0|1] [--flush-bytes-min N]\n"
                 "       [--warmup-bytes N] [--retention-bytes N] [--spares N]\n"
                 "       samsa-log-load recover DIR --prepare-bytes N   (fill, then crash)\n"
                 "       samsa-log-load recover DIR [--expect-end OFFSET]  (time recovery)\n");
    return 2;
}

bool parse(int argc, char** argv, Options& o) {
    if (argc < 3) return false;
    o.mode = argv[1];
    o.dir = argv[2];
    if (o.mode != "nofsync" && o.mode != "groupcommit" && o.mode != "tailread" &&
        o.mode != "recover") {
        return false;
    }
    if (o.mode == "groupcommit") o.batch_bytes = 16 * 1024;
    for (int i = 3; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        const char* value = argv[i + 1];
        if (flag == "--seconds")
            o.seconds = std::strtod(value, nullptr);
        else if (flag == "--bytes")
            o.bytes = std::strtoull(value, nullptr, 10);
        else if (flag == "--inflight")
            o.inflight = std::strtoull(value, nullptr, 10);
        else if (flag == "--batch-bytes")
            o.batch_bytes = std::strtoull(value, nullptr, 10);
        else if (flag == "--record-bytes")
            o.record_bytes = std::strtoull(value, nullptr, 10);
        else if (flag == "--rate-mbps")
            o.rate_mbps = std::strtod(value, nullptr);
        else if (flag == "--fill-bytes")
            o.fill_bytes = std::strtoull(value, nullptr, 10);
        else if (flag == "--prepare-bytes")
            o.prepare_bytes = std::strtoull(value, nullptr, 10);
        else if (flag == "--direct")
            o.direct = std::atoi(value);
        else if (flag == "--preallocate")
            o.preallocate = std::atoi(value);
        else if (flag == "--flush-bytes-min")
            o.flush_bytes_min = std::strtoll(value, nullptr, 10);
        else if (flag == "--warmup-bytes")
            o.warmup_bytes = std::strtoull(value, nullptr, 10);
        else if (flag == "--retention-bytes")
            o.retention_bytes = std::strtoull(value, nullptr, 10);
        else if (flag == "--spares")
            o.spares = std::strtoll(value, nullptr, 10);
        else if (flag == "--segment-bytes")
            o.segment_bytes = std::strtoull(value, nullptr, 10);
        else if (flag == "--expect-end")
            o.expect_end = std::strtoll(value, nullptr, 10);
        else if (flag == "--window-bytes") {
            o.window_bytes = static_cast<std::uint32_t>(std::strtoul(value, nullptr, 10));
        } else {
            return false;
        }
    }
    return (argc - 3) % 2 == 0 && o.inflight > 0 && o.batch_bytes > 0;
}

}  // namespace
}  // namespace samsa::bench

int main(int argc, char** argv) {
    samsa::runtime::tune_allocator();  // as the broker does
    samsa::bench::Options options;
    if (!samsa::bench::parse(argc, argv, options)) return samsa::bench::usage();
    if (options.mode == "recover") {
        if (options.prepare_bytes > 0) return samsa::bench::run_prepare(options);
        return samsa::bench::run_recover(options.dir, options.expect_end);
    }
    return samsa::bench::run(options);
}

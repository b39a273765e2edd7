// samsa-kafka-perf: a producer / consumer performance tool for any Kafka
// protocol broker (samsa, Kafka, librdkafka's mock cluster), on librdkafka's C
// API. bench/kafka_bench.sh runs it against samsa and the mock in one run.
//
//   samsa-kafka-perf --bootstrap HOST:PORT --topic T --mode produce|consume
//       [--records N] [--size BYTES] [--inflight K] [--acks 0|1|all]
//       [--idempotence] [--linger-ms MS] [--timeout-s S] [--partition P]
//       [--conf key=value[,key=value...]]
//
// produce  N records of BYTES random payload bytes, no key. At most K records
//          are unacknowledged at any time (an application-level window over
//          librdkafka's queue: a record leaves the window at its delivery
//          report). Latency is per record, steady_clock from the produce call
//          to its delivery report. Elapsed time runs from the first produce
//          call to the last delivery report. Before the clock starts, one
//          Metadata request for the topic (which makes the broker auto-create
//          it) and the connections are set up; that time is `startup_s`.
// consume  assigns every partition of the topic from the beginning (no group
//          membership: the group.id librdkafka insists on is a throwaway one,
//          nothing is committed), stops after N records or the timeout.
//          Elapsed time runs from the first record received to the last;
//          `first_record_s` is the time before the first one.
//
// Prints one human line, then one JSON line: records, errors, elapsed_s,
// records_per_s, mb_per_s (10^6 payload bytes per second), lat_us
// {p50,p99,p999,max,mean} (produce), timed_out. Exits 0 unless the arguments are
// wrong or the client cannot be created; errors and timeouts are reported,
// not fatal, so a partial run still prints what it got.
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace samsa::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::int32_t kAnyPartition = -1;  // RD_KAFKA_PARTITION_UA

struct Options {
    std::string bootstrap = "127.0.0.1:9092";
    std::string topic;
    std::string mode = "produce";
    std::int64_t records = 1'000'000;
    std::int64_t size = 100;
    std::int64_t inflight = 10'000;
    std::string acks = "all";
    bool idempotence = false;
    int linger_ms = 5;
    double timeout_s = 120.0;
    std::int32_t partition = kAnyPartition;
    std::vector<std::pair<std::string, std::string>> conf;  // raw librdkafka properties
};

void usage(const char* argv0) {
    std::fprintf(stderr,
                 "usage: %s --bootstrap HOST:PORT --topic T --mode produce|consume\n"
                 "          [--records N] [--size BYTES] [--inflight K] [--acks 0|1|all]\n"
                 "          [--idempotence] [--linger-ms MS] [--timeout-s S] [--partition P]\n"
                 "          [--conf key=value[,key=value...]]\n",
                 argv0);
}

bool parse_int(std::string_view text, std::int64_t& out) {
    if (text.empty()) return false;
    char* end = nullptr;
    std::string copy(text);
    long long v = std::strtoll(copy.c_str(), &end, 10);
    if (end == nullptr || *end != '\0') return false;
    out = v;
    return true;
}

// Appends the key=value items of a comma-separated --conf value to o.conf.
bool parse_conf_list(std::string_view value, Options& o) {
    std::string_view rest = value;
    while (!rest.empty()) {
        std::size_t comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        std::size_t eq = item.find('=');
        if (eq == std::string_view::npos) {
            std::fprintf(stderr, "--conf: '%.*s' is not key=value\n", static_cast<int>(item.size()),
                         item.data());
            return false;
        }
        o.conf.emplace_back(item.substr(0, eq), item.substr(eq + 1));
        rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    }
    return true;
}

// Stores the integer value `n` of option `arg`; false if `arg` takes no integer.
bool set_int_option(std::string_view arg, std::int64_t n, Options& o) {
    if (arg == "--records") {
        o.records = n;
    } else if (arg == "--size") {
        o.size = n;
    } else if (arg == "--inflight" || arg == "--batch") {
        o.inflight = n;
    } else if (arg == "--linger-ms") {
        o.linger_ms = static_cast<int>(n);
    } else if (arg == "--partition") {
        o.partition = static_cast<std::int32_t>(n);
    } else {
        return false;
    }
    return true;
}

// Checks the parsed options as a whole; prints the first problem.
bool validate_options(const Options& o) {
    if (o.topic.empty()) {
        std::fprintf(stderr, "--topic is required\n");
        return false;
    }
    if (o.mode != "produce" && o.mode != "consume") {
        std::fprintf(stderr, "--mode must be produce or consume\n");
        return false;
    }
    if (o.acks != "0" && o.acks != "1" && o.acks != "all" && o.acks != "-1") {
        std::fprintf(stderr, "--acks must be 0, 1 or all\n");
        return false;
    }
    if (o.records <= 0 || o.size < 0 || o.inflight <= 0 || o.timeout_s <= 0) {
        std::fprintf(stderr,
                     "--records and --inflight must be > 0, --size >= 0, --timeout-s > 0\n");
        return false;
    }
    return true;
}

bool parse_args(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--idempotence") {
            o.idempotence = true;
            continue;
        }
        if (arg == "-h" || arg == "--help") return false;
        if (i + 1 >= argc) {
            std::fprintf(stderr, "%s needs a value\n", argv[i]);
            return false;
        }
        std::string_view value = argv[++i];
        std::int64_t n = 0;
        if (arg == "--bootstrap") {
            o.bootstrap = value;
        } else if (arg == "--topic") {
            o.topic = value;
        } else if (arg == "--mode") {
            o.mode = value;
        } else if (arg == "--acks") {
            o.acks = value;
        } else if (arg == "--timeout-s") {
            o.timeout_s = std::atof(std::string(value).c_str());
        } else if (arg == "--conf") {
            if (!parse_conf_list(value, o)) return false;
        } else if (parse_int(value, n)) {
            if (!set_int_option(arg, n, o)) {
                std::fprintf(stderr, "unknown option %s\n", argv[i - 1]);
                return false;
            }
        } else {
            std::fprintf(stderr, "bad value or unknown option: %s %s\n", argv[i - 1], argv[i]);
            return false;
        }
    }
    return validate_options(o);
}

double seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

// Sets one property; on failure prints why and returns false.
bool set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
    char err[512];
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
        std::fprintf(stderr, "config %s=%s: %s\n", key.c_str(), value.c_str(), err);
        return false;
    }
    return true;
}

// Percentile by nearest rank over sorted values.
double percentile(const std::vector<std::int64_t>& sorted, double q) {
    if (sorted.empty()) return 0.0;
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return static_cast<double>(sorted[rank - 1]);
}

// Fetches metadata for `topic` until it has partitions with leaders (a
// Metadata request for an unknown topic makes an auto-creating broker create
// it) or `deadline` passes. Returns the partition ids (empty on failure).
std::vector<std::int32_t> topic_partitions(rd_kafka_t* rk, rd_kafka_topic_t* rkt,
                                           Clock::time_point deadline, std::string& error) {
    std::vector<std::int32_t> parts;
    while (Clock::now() < deadline) {
        const rd_kafka_metadata_t* md = nullptr;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            error = rd_kafka_err2str(err);
        } else {
            parts.clear();
            bool ready = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                         md->topics[0].partition_cnt > 0;
            if (md->topic_cnt == 1 && md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                error = rd_kafka_err2str(md->topics[0].err);
            }
            for (int i = 0; ready && i < md->topics[0].partition_cnt; ++i) {
                const rd_kafka_metadata_partition_t& p = md->topics[0].partitions[i];
                if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR || p.leader < 0) ready = false;
                parts.push_back(p.id);
            }
            rd_kafka_metadata_destroy(md);
            if (ready) return parts;
        }
        usleep(100'000);
    }
    parts.clear();
    return parts;
}

struct Result {
    std::int64_t records = 0;
    std::int64_t bytes = 0;
    std::int64_t errors = 0;
    std::string first_error;
    double elapsed_s = 0.0;
    double startup_s = 0.0;  // produce: metadata + connect; consume: time to the first record
    bool timed_out = false;
    std::vector<std::int64_t> lat_ns;  // produce only
    int partitions = 0;
};

struct ProduceState {
    std::vector<std::int64_t> sent_ns;  // per record: produce call, ns after `origin`
    std::vector<std::int64_t> lat_ns;   // successful records only
    Clock::time_point origin;
    Clock::time_point last_report;
    std::int64_t reported = 0;  // delivery reports seen, success or not
    std::int64_t delivered = 0;
    std::int64_t errors = 0;
    std::string first_error;
};

void on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* opaque) {
    auto* st = static_cast<ProduceState*>(opaque);
    Clock::time_point now = Clock::now();
    st->last_report = now;
    ++st->reported;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (st->errors++ == 0) st->first_error = rd_kafka_err2str(m->err);
        return;
    }
    auto idx = static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(m->_private));
    std::int64_t at =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - st->origin).count();
    st->lat_ns.push_back(at - st->sent_ns[idx]);
    ++st->delivered;
}

Clock::time_point deadline_after(Clock::time_point begin, double timeout_s) {
    return begin +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
}

// Applies the --conf properties; false (after printing why) if one fails.
bool set_user_conf(rd_kafka_conf_t* conf, const Options& o) {
    bool ok = true;
    for (const auto& [k, v] : o.conf) ok = ok && set(conf, k, v);
    return ok;
}

bool configure_producer(rd_kafka_conf_t* conf, const Options& o) {
    std::string acks = o.acks == "all" ? "-1" : o.acks;
    // librdkafka's own queue must hold the whole window.
    std::int64_t queue_msgs = std::max<std::int64_t>(o.inflight + 1000, 100'000);
    bool ok = set(conf, "bootstrap.servers", o.bootstrap) && set(conf, "acks", acks) &&
              set(conf, "linger.ms", std::to_string(o.linger_ms)) &&
              set(conf, "queue.buffering.max.messages",
                  std::to_string(std::min<std::int64_t>(queue_msgs, 10'000'000))) &&
              set(conf, "enable.idempotence", o.idempotence ? "true" : "false") &&
              set(conf, "allow.auto.create.topics", "true");
    return ok && set_user_conf(conf, o);
}

// Records the lack of usable topic metadata in `r`.
void note_no_metadata(Result& r, const std::string& md_error) {
    r.timed_out = true;
    r.errors = 1;
    r.first_error = "no metadata for the topic: " + md_error;
}

// Everything one produce run works with.
struct Producer {
    rd_kafka_t* rk = nullptr;
    rd_kafka_topic_t* rkt = nullptr;
    std::vector<char> payload;
    ProduceState st;
    Clock::time_point deadline;
    std::int64_t submitted = 0;
    std::int64_t submit_errors = 0;
    std::string submit_error;
};

// Polls for delivery reports until fewer than `limit` records are unreported;
// false if the deadline passes first.
bool wait_for_reports(Producer& p, std::int64_t limit) {
    while (p.submitted - p.st.reported >= limit) {
        if (Clock::now() >= p.deadline) return false;
        rd_kafka_poll(p.rk, 100);
    }
    return true;
}

// Submits record `i`, retrying while librdkafka's queue is full; false if
// the queue stayed full until the deadline.
bool submit_record(Producer& p, std::int32_t partition, std::int64_t i) {
    void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(i));
    for (;;) {
        p.st.sent_ns[static_cast<std::size_t>(i)] =
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - p.st.origin)
                .count();
        // Flags 0: librdkafka neither copies nor frees the payload, which
        // outlives the handle.
        if (rd_kafka_produce(p.rkt, partition, 0, p.payload.data(), p.payload.size(), nullptr, 0,
                             opaque) == 0) {
            ++p.submitted;
            return true;
        }
        rd_kafka_resp_err_t e = rd_kafka_last_error();
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && Clock::now() < p.deadline) {
            rd_kafka_poll(p.rk, 10);
            continue;
        }
        if (p.submit_errors++ == 0) p.submit_error = rd_kafka_err2str(e);
        return e != RD_KAFKA_RESP_ERR__QUEUE_FULL;
    }
}

void produce_records(Producer& p, const Options& o, Result& r) {
    for (std::int64_t i = 0; i < o.records && !r.timed_out; ++i) {
        // The window: wait for delivery reports while K records are out.
        if (!wait_for_reports(p, o.inflight)) {
            r.timed_out = true;
            break;
        }
        if (!submit_record(p, o.partition, i)) r.timed_out = true;
        // Serve delivery reports now and then while the window is wide open.
        if ((i & 1023) == 1023) rd_kafka_poll(p.rk, 0);
    }
    // Drain: every submitted record gets its report, or the deadline passes.
    if (!wait_for_reports(p, 1)) r.timed_out = true;
}

void collect_produce_result(Producer& p, const Options& o, Result& r) {
    ProduceState& st = p.st;
    r.records = st.delivered;
    r.bytes = st.delivered * o.size;
    r.errors += st.errors + p.submit_errors;
    if (r.first_error.empty()) r.first_error = st.errors > 0 ? st.first_error : p.submit_error;
    r.elapsed_s = seconds(st.last_report - st.origin);
    r.lat_ns = std::move(st.lat_ns);
}

int run_produce(const Options& o, Result& r) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (!configure_producer(conf, o)) {
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    Producer p;
    p.st.sent_ns.assign(static_cast<std::size_t>(o.records), 0);
    p.st.lat_ns.reserve(static_cast<std::size_t>(o.records));
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &p.st);
    char err[512];
    p.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (p.rk == nullptr) {
        std::fprintf(stderr, "rd_kafka_new: %s\n", err);
        return 1;
    }
    p.rkt = rd_kafka_topic_new(p.rk, o.topic.c_str(), nullptr);

    p.payload.resize(static_cast<std::size_t>(o.size));
    std::mt19937_64 rng(42);
    for (char& c : p.payload) c = static_cast<char>(rng());

    Clock::time_point begin = Clock::now();
    p.deadline = deadline_after(begin, o.timeout_s);
    std::string md_error;
    r.partitions = static_cast<int>(topic_partitions(p.rk, p.rkt, p.deadline, md_error).size());
    if (r.partitions == 0) note_no_metadata(r, md_error);

    p.st.origin = Clock::now();
    r.startup_s = seconds(p.st.origin - begin);
    p.st.last_report = p.st.origin;
    produce_records(p, o, r);
    collect_produce_result(p, o, r);

    // Leave promptly: anything still queued after a timeout is purged.
    rd_kafka_purge(p.rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(p.rk, 0);
    rd_kafka_topic_destroy(p.rkt);
    rd_kafka_destroy(p.rk);
    return 0;
}

bool configure_consumer(rd_kafka_conf_t* conf, const Options& o) {
    // librdkafka's consumer needs a group.id; with assign() and no commits it
    // never reaches the broker as a group.
    std::string group = "samsa-kafka-perf-" + std::to_string(getpid());
    bool ok = set(conf, "bootstrap.servers", o.bootstrap) && set(conf, "group.id", group) &&
              set(conf, "enable.auto.commit", "false") &&
              set(conf, "enable.auto.offset.store", "false") &&
              set(conf, "enable.partition.eof", "false") &&
              set(conf, "auto.offset.reset", "earliest");
    return ok && set_user_conf(conf, o);
}

// Looks up the topic's partitions and assigns all of them from the beginning;
// failures are recorded in `r` (which then counts as timed out).
void assign_all_partitions(rd_kafka_t* rk, const Options& o, Clock::time_point deadline,
                           Result& r) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
    std::string md_error;
    std::vector<std::int32_t> parts = topic_partitions(rk, rkt, deadline, md_error);
    rd_kafka_topic_destroy(rkt);
    r.partitions = static_cast<int>(parts.size());
    if (parts.empty()) {
        note_no_metadata(r, md_error);
        return;
    }
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(parts.size()));
    for (std::int32_t p : parts) {
        rd_kafka_topic_partition_list_add(list, o.topic.c_str(), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        r.errors = 1;
        r.first_error = std::string("assign: ") + rd_kafka_err2str(e);
        r.timed_out = true;
    }
}

// Receive times of the first and last records consumed.
struct ConsumeClock {
    Clock::time_point first{};
    Clock::time_point last{};
};

// Counts (up to o.records) and frees one batch of messages received at `now`.
void take_batch(rd_kafka_message_t** msgs, ssize_t n, Clock::time_point now, const Options& o,
                Result& r, ConsumeClock& clock) {
    for (ssize_t i = 0; i < n; ++i) {
        rd_kafka_message_t* m = msgs[i];
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (r.records == 0) clock.first = now;
            if (r.records < o.records) {
                ++r.records;
                r.bytes += static_cast<std::int64_t>(m->len);
            }
            clock.last = now;
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (r.errors++ == 0) r.first_error = rd_kafka_message_errstr(m);
        }
        rd_kafka_message_destroy(m);
    }
}

void consume_records(rd_kafka_queue_t* queue, const Options& o, Clock::time_point deadline,
                     Result& r, ConsumeClock& clock) {
    std::vector<rd_kafka_message_t*> batch(4096);
    while (!r.timed_out && r.records < o.records) {
        if (Clock::now() >= deadline) {
            r.timed_out = true;
            break;
        }
        ssize_t n = rd_kafka_consume_batch_queue(queue, 100, batch.data(), batch.size());
        if (n < 0) {
            if (r.errors++ == 0) r.first_error = rd_kafka_err2str(rd_kafka_last_error());
            continue;
        }
        if (n == 0) continue;
        take_batch(batch.data(), n, Clock::now(), o, r, clock);
    }
}

int run_consume(const Options& o, Result& r) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (!configure_consumer(conf, o)) {
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk == nullptr) {
        std::fprintf(stderr, "rd_kafka_new: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk);

    Clock::time_point begin = Clock::now();
    Clock::time_point deadline = deadline_after(begin, o.timeout_s);
    assign_all_partitions(rk, o, deadline, r);

    ConsumeClock clock;
    consume_records(queue, o, deadline, r, clock);
    if (r.records > 0) {
        r.elapsed_s = seconds(clock.last - clock.first);
        r.startup_s = seconds(clock.first - begin);
    }
    rd_kafka_queue_destroy(queue);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

void report(const Options& o, Result& r) {
    double rps = r.elapsed_s > 0 ? static_cast<double>(r.records) / r.elapsed_s : 0.0;
    double mbps = r.elapsed_s > 0 ? static_cast<double>(r.bytes) / r.elapsed_s / 1e6 : 0.0;
    std::sort(r.lat_ns.begin(), r.lat_ns.end());
    double p50 = percentile(r.lat_ns, 0.50) / 1e3;
    double p99 = percentile(r.lat_ns, 0.99) / 1e3;
    double p999 = percentile(r.lat_ns, 0.999) / 1e3;
    double max = r.lat_ns.empty() ? 0.0 : static_cast<double>(r.lat_ns.back()) / 1e3;
    double mean = 0.0;
    for (std::int64_t ns : r.lat_ns) mean += static_cast<double>(ns);
    mean = r.lat_ns.empty() ? 0.0 : mean / static_cast<double>(r.lat_ns.size()) / 1e3;
    bool produce = o.mode == "produce";

    std::printf("%s %s: %lld records of %lld B in %.3f s: %.0f records/s, %.2f MB/s",
                o.mode.c_str(), o.topic.c_str(), static_cast<long long>(r.records),
                static_cast<long long>(o.size), r.elapsed_s, rps, mbps);
    if (produce) {
        std::printf("; latency us p50 %.0f p99 %.0f p99.9 %.0f max %.0f mean %.0f", p50, p99, p999,
                    max, mean);
    }
    std::printf("; %lld errors%s%s%s\n", static_cast<long long>(r.errors),
                r.first_error.empty() ? "" : " (first: ", r.first_error.c_str(),
                r.first_error.empty() ? "" : ")");
    if (r.timed_out) std::printf("  TIMED OUT after %.1f s\n", o.timeout_s);

    std::printf(
        "{\"tool\":\"samsa-kafka-perf\",\"mode\":\"%s\",\"topic\":\"%s\",\"bootstrap\":\"%s\","
        "\"size\":%lld,\"inflight\":%lld,\"acks\":\"%s\",\"idempotence\":%s,\"linger_ms\":%d,"
        "\"partitions\":%d,\"records\":%lld,\"bytes\":%lld,\"elapsed_s\":%.6f,"
        "\"records_per_s\":%.1f,\"mb_per_s\":%.3f,",
        o.mode.c_str(), json_escape(o.topic).c_str(), json_escape(o.bootstrap).c_str(),
        static_cast<long long>(o.size), static_cast<long long>(o.inflight), o.acks.c_str(),
        o.idempotence ? "true" : "false", o.linger_ms, r.partitions,
        static_cast<long long>(r.records), static_cast<long long>(r.bytes), r.elapsed_s, rps, mbps);
    if (produce) {
        std::printf(
            "\"lat_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f},"
            "\"startup_s\":%.3f,",
            p50, p99, p999, max, mean, r.startup_s);
    } else {
        std::printf("\"first_record_s\":%.3f,", r.startup_s);
    }
    std::printf("\"errors\":%lld,\"first_error\":\"%s\",\"timed_out\":%s}\n",
                static_cast<long long>(r.errors), json_escape(r.first_error).c_str(),
                r.timed_out ? "true" : "false");
    std::fflush(stdout);
}

}  // namespace
}  // namespace samsa::bench

int main(int argc, char** argv) {
    using namespace samsa::bench;
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "-h" || std::string_view(argv[i]) == "--help") {
            usage(argv[0]);
            return 0;
        }
    }
    Options o;
    if (!parse_args(argc, argv, o)) {
        usage(argv[0]);
        return 2;
    }
    Result r;
    int rc = o.mode == "produce" ? run_produce(o, r) : run_consume(o, r);
    if (rc != 0) return rc;
    report(o, r);
    return 0;
}

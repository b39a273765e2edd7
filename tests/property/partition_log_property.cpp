// Properties of the partition log: random sequences of append, read, truncate,
// retention and restart, run on the simulator's World without faults, agree
// with a simple in-memory model (a vector of batches plus a log start). Every
// operation runs to completion before the next one starts, so a restart must
// keep the whole log. Segments are small, so rolls happen often.
//
// A failure prints the seed and the shrunk operations; replay with
// RC_PARAMS="seed=<seed>" or deepen with RC_PARAMS="max_success=300".
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/io/seam.h"
#include "core/log/batch.h"
#include "core/log/batch_builder.h"
#include "core/log/log_types.h"
#include "core/log/partition_log.h"
#include "sim/fault_plan.h"
#include "sim/world.h"
#include "tests/unit/log_batches.h"

namespace samsa {
namespace {

using log::LogConfig;
using log::LogError;
using log::PartitionLog;
using State = log::PartitionLog::State;

constexpr NodeId kNode(1);
constexpr std::int32_t kEpoch = 5;

// (kind, a, b): kind 0-8 append a%5+1 records of b%301-byte values (kind 8
// under a new leader epoch); 9-11 read from the fraction a/1001 of [0, log
// end] with max_bytes b*8+1; 12 truncate at the fraction a/1001 of the model's
// batch boundaries; 13-14 retention; 15 restart; 16-17 look up the offset of
// a timestamp (batch i's records carry 1000 + i, so they never decrease).
using Op = std::tuple<int, int, int>;

rc::Gen<std::vector<Op>> operations() {
    // inRange scales with the size; full size keeps every kind of operation
    // and every fraction likely from the first test on.
    return rc::gen::container<std::vector<Op>>(
        rc::gen::resize(100, rc::gen::tuple(rc::gen::inRange(0, 18), rc::gen::inRange(0, 1001),
                                            rc::gen::inRange(0, 1000))));
}

struct ModelBatch {
    Offset base;
    Offset last;
    io::Bytes bytes;  // as sent: baseOffset and partitionLeaderEpoch not yet set
    std::int32_t epoch = kEpoch;
};

enum class Wait : std::uint8_t { none, ready, append, read, verify, repair, time };

// Everything that outlives a host (a crash destroys it): the operations, the
// model, and what the current operation waits for.
struct Context {
    std::vector<Op> ops;
    std::size_t next = 0;
    std::size_t current = 0;  // the operation under way, for messages
    std::vector<ModelBatch> model;
    Offset start{0};
    std::string failure;
    bool restart_requested = false;

    Wait wait = Wait::ready;
    std::uint64_t id = 0;  // the append or read waited for
    Offset read_from;      // the read's offset, or the verification's cursor
    std::uint32_t max_bytes = 0;
    std::size_t expected = 0;              // verify: index of the next model batch
    std::optional<Offset> truncate_after;  // verify: retry this truncation afterwards
    int truncate_attempts = 0;
    std::vector<log::AppendResult> completed;
    std::vector<log::ReadResult> reads;
    std::size_t batch_counter = 0;
    std::int32_t epoch = kEpoch;
    std::int64_t target_ms = 0;    // the timestamp looked up
    std::size_t segments_max = 0;  // for the statistics
    int restarts = 0;
    int truncations = 0;
    int retained = 0;

    [[nodiscard]] Offset end() const { return model.empty() ? start : model.back().last.next(); }
    void fail(const std::string& what) {
        if (failure.empty()) {
            failure = "op " + std::to_string(current) + " (from 0): " + what;
        }
    }
    // The model batch holding `offset`, or model.size().
    [[nodiscard]] std::size_t batch_at(Offset offset) const {
        for (std::size_t i = 0; i < model.size(); ++i) {
            if (model[i].base <= offset && offset <= model[i].last) return i;
        }
        return model.size();
    }
};

std::string str(Offset offset) {
    return offset.to_string();
}

io::Bytes make_batch(std::size_t index, int records, int value_bytes) {
    return testing::make_log_batch(index, static_cast<std::size_t>(records),
                                   static_cast<std::size_t>(value_bytes));
}

// Checks that `bytes` holds model batches from index `first` on, in order.
// Returns how many, or nullopt (after recording the failure).
std::optional<std::size_t> check_batches(Context& c, const io::Bytes& bytes, std::size_t first,
                                         const std::string& what) {
    auto spans = log::split_batches(bytes, SIZE_MAX);
    if (!spans.ok()) {
        c.fail(what + ": the read returned bytes that are not batches");
        return std::nullopt;
    }
    std::size_t k = first;
    for (const auto& span : spans.value()) {
        const std::span<const std::uint8_t> stored(bytes.data() + span.offset, span.length);
        if (k >= c.model.size()) {
            c.fail(what + ": batch at " + str(span.header.base_offset) + " past the model's end " +
                   str(c.end()));
            return std::nullopt;
        }
        const ModelBatch& want = c.model[k];
        if (span.header.base_offset != want.base || span.header.last_offset() != want.last) {
            c.fail(what + ": batch [" + str(span.header.base_offset) + ", " +
                   str(span.header.last_offset()) + "] where the model has [" + str(want.base) +
                   ", " + str(want.last) + "]");
            return std::nullopt;
        }
        if (!testing::same_batch(stored, want.bytes)) {
            c.fail(what + ": the bytes of the batch at " + str(want.base) + " differ");
            return std::nullopt;
        }
        if (log::partition_leader_epoch_of(stored) != want.epoch) {
            c.fail(what + ": the batch at " + str(want.base) + " lost its leader epoch");
            return std::nullopt;
        }
        ++k;
    }
    return k - first;
}

struct Host {
    Host(std::shared_ptr<Context> context, LogConfig config)
        : log(std::move(config), 1), c(std::move(context)) {}

    void step(Instant, const io::Event& event, io::Outbox& out) {
        if (std::holds_alternative<io::Start>(event)) {
            log.start(out);
        } else if (const auto* done = std::get_if<io::IoCompleted>(&event)) {
            if (log.owns(done->token)) log.on_io(*done, out);
        }
        while (c->failure.empty() && !c->restart_requested) {
            for (auto& done : log.take_completed()) c->completed.push_back(done);
            for (auto& read : log.take_reads()) c->reads.push_back(std::move(read));
            if (!progress(out)) break;
        }
    }

    // Moves the current operation on; false when it must wait for the disk.
    bool progress(io::Outbox& out);
    bool on_ready(io::Outbox& out);
    bool on_append();
    bool on_read();
    bool on_verify(io::Outbox& out);
    bool on_repaired(io::Outbox& out);
    bool on_time();
    void begin_time(std::int64_t target, io::Outbox& out);
    void begin(const Op& op, io::Outbox& out);
    void begin_append(int records, int value_bytes, io::Outbox& out);
    void begin_read(Offset from, std::uint32_t max_bytes, io::Outbox& out);
    void begin_truncate(Offset offset, io::Outbox& out);
    void begin_retention(io::Outbox& out);
    void begin_verify(Offset from, io::Outbox& out);
    bool issue_verify_read(io::Outbox& out);
    std::optional<log::ReadResult> take_read();
    void check_ends(const std::string& what);

    PartitionLog log;
    std::shared_ptr<Context> c;
};

bool Host::progress(io::Outbox& out) {
    switch (c->wait) {
        case Wait::ready: return on_ready(out);
        case Wait::append: return on_append();
        case Wait::read: return on_read();
        case Wait::verify: return on_verify(out);
        case Wait::repair: return on_repaired(out);
        case Wait::time: return on_time();
        case Wait::none: break;
    }
    if (c->next >= c->ops.size()) return false;
    if (std::get<0>(c->ops[c->next]) == 15) {
        c->current = c->next;
        c->restart_requested = true;  // the test crashes and restarts the node
        return false;
    }
    c->current = c->next;
    begin(c->ops[c->next], out);
    if (c->wait == Wait::none) ++c->next;
    return true;
}

void Host::check_ends(const std::string& what) {
    if (log.log_end() != c->end()) {
        c->fail(what + ": log_end " + str(log.log_end()) + ", model " + str(c->end()));
    }
    if (log.readable_end() != c->end()) {
        c->fail(what + ": readable_end " + str(log.readable_end()) + ", model " + str(c->end()));
    }
    if (log.log_start() != c->start) {
        c->fail(what + ": log_start " + str(log.log_start()) + ", model " + str(c->start));
    }
    // The leader-epoch cache (checkpointed across restarts) knows every batch's epoch.
    for (const auto& batch : c->model) {
        if (log.epochs().epoch_for(batch.base) != batch.epoch) {
            c->fail(what + ": the epoch cache has no epoch " + std::to_string(batch.epoch) +
                    " for the batch at " + str(batch.base));
            return;
        }
    }
}

// After a (re)start: the whole log must be back, then read back identically.
bool Host::on_ready(io::Outbox& out) {
    if (log.state() == State::recovering) return false;
    if (log.state() != State::ready) {
        c->fail("recovery ended in state " + std::to_string(static_cast<int>(log.state())));
        return false;
    }
    check_ends("after recovery");
    if (c->next >= c->ops.size() || std::get<0>(c->ops[c->next]) != 15) {
        c->wait = Wait::none;  // the first start: nothing to read back
        return true;
    }
    begin_verify(c->start, out);  // after a restart; its end completes the op
    return true;
}

void Host::begin(const Op& op, io::Outbox& out) {
    const auto [kind, a, b] = op;
    if (kind <= 8) {
        if (kind == 8) ++c->epoch;
        begin_append(a % 5 + 1, b % 301, out);
    } else if (kind <= 11) {
        const std::int64_t span = c->end().value() + 1;
        begin_read(Offset(span * a / 1001), static_cast<std::uint32_t>(b) * 8 + 1, out);
    } else if (kind >= 16) {
        begin_time(1000 + static_cast<std::int64_t>(c->batch_counter + 2) * a / 1001 - 1, out);
    } else if (kind == 12) {
        std::vector<Offset> boundaries;
        for (const auto& batch : c->model) boundaries.push_back(batch.base);
        boundaries.push_back(c->end());
        const auto index = boundaries.size() * static_cast<std::size_t>(a) / 1001;
        begin_truncate(boundaries[index], out);
    } else {
        begin_retention(out);
    }
}

void Host::begin_append(int records, int value_bytes, io::Outbox& out) {
    io::Bytes batch = make_batch(c->batch_counter++, records, value_bytes);
    auto result = log.append(batch, c->epoch, out);
    if (!result.ok()) {
        c->fail(std::string("append refused: ") + log::to_string(result.error()));
        return;
    }
    const Offset want = c->end();
    if (result.value().base != want || result.value().last != want.plus(records - 1)) {
        c->fail("append got [" + str(result.value().base) + ", " + str(result.value().last) +
                "], model expects base " + str(want) + " and " + std::to_string(records) +
                " records");
        return;
    }
    c->model.push_back(
        ModelBatch{result.value().base, result.value().last, std::move(batch), c->epoch});
    c->id = result.value().id;
    c->wait = Wait::append;
}

bool Host::on_append() {
    const auto found = std::find_if(c->completed.begin(), c->completed.end(),
                                    [&](const auto& done) { return done.id == c->id; });
    if (found == c->completed.end()) return false;
    const log::AppendResult done = *found;
    c->completed.erase(found);
    const ModelBatch& want = c->model.back();
    if (done.error) {
        c->fail(std::string("append failed: ") + log::to_string(*done.error));
    } else if (done.base != want.base || done.last != want.last) {
        c->fail("append completed as [" + str(done.base) + ", " + str(done.last) + "]");
    }
    check_ends("after append");
    c->segments_max = std::max(c->segments_max, log.segment_count());
    c->wait = Wait::none;
    ++c->next;
    return true;
}

std::optional<log::ReadResult> Host::take_read() {
    const auto found = std::find_if(c->reads.begin(), c->reads.end(),
                                    [&](const auto& read) { return read.id == c->id; });
    if (found == c->reads.end()) return std::nullopt;
    log::ReadResult result = std::move(*found);
    c->reads.erase(found);
    return result;
}

void Host::begin_read(Offset from, std::uint32_t max_bytes, io::Outbox& out) {
    auto issued = log.read(from, max_bytes, out);
    if (!issued.ok()) {
        if (from >= c->start) {
            c->fail("read at " + str(from) + " refused: " + log::to_string(issued.error()));
        } else if (issued.error() != LogError::offset_out_of_range) {
            c->fail("read below log start at " + str(from) + ": " + log::to_string(issued.error()));
        }
        return;  // done
    }
    c->id = issued.value();
    c->read_from = from;
    c->max_bytes = max_bytes;
    c->wait = Wait::read;
}

bool Host::on_read() {
    auto result = take_read();
    if (!result) return false;
    c->wait = Wait::none;
    ++c->next;
    const Offset from = c->read_from;
    const std::string what = "read at " + str(from);
    if (from < c->start) {
        if (result->error != LogError::offset_out_of_range) {
            c->fail(what + " below log start " + str(c->start) + " did not fail out of range");
        }
        return true;
    }
    if (result->error) {
        c->fail(what + ": " + log::to_string(*result->error));
        return true;
    }
    if (from == c->end()) {
        if (!result->batches.empty()) c->fail(what + " (the end) returned data");
        return true;
    }
    if (result->batches.empty()) {
        c->fail(what + " returned nothing");
        return true;
    }
    const auto count = check_batches(*c, result->batches, c->batch_at(from), what);
    if (count && *count > 1) {  // at least one batch, then about max_bytes
        const std::size_t last = c->batch_at(from) + *count - 1;
        if (result->batches.size() - c->model[last].bytes.size() >= c->max_bytes) {
            c->fail(what + ": " + std::to_string(result->batches.size()) + " bytes for max_bytes " +
                    std::to_string(c->max_bytes));
        }
    }
    return true;
}

// Reads everything from `from` to the end, comparing with the model.
void Host::begin_verify(Offset from, io::Outbox& out) {
    c->read_from = from;
    c->expected = c->batch_at(from);
    c->wait = Wait::verify;
    issue_verify_read(out);
}

bool Host::issue_verify_read(io::Outbox& out) {
    if (c->read_from >= c->end()) {
        if (c->expected != c->model.size()) {
            c->fail("verification ended at model batch " + std::to_string(c->expected) + " of " +
                    std::to_string(c->model.size()));
        }
        c->wait = Wait::none;
        if (c->truncate_after) {
            const Offset offset = *c->truncate_after;
            c->truncate_after.reset();
            begin_truncate(offset, out);
        } else {
            ++c->next;
        }
        return true;
    }
    auto issued = log.read(c->read_from, 700, out);
    if (!issued.ok()) {
        c->fail("verification read at " + str(c->read_from) +
                " refused: " + log::to_string(issued.error()));
        return false;
    }
    c->id = issued.value();
    return true;
}

bool Host::on_verify(io::Outbox& out) {
    auto result = take_read();
    if (!result) return false;
    const std::string what = "verification read at " + str(c->read_from);
    if (result->error || result->batches.empty()) {
        c->fail(what + ": " + (result->error ? log::to_string(*result->error) : "nothing"));
        return false;
    }
    const auto count = check_batches(*c, result->batches, c->expected, what);
    if (!count) return false;
    c->expected += *count;
    c->read_from = c->model[c->expected - 1].last.next();
    return issue_verify_read(out);
}

void Host::begin_truncate(Offset offset, io::Outbox& out) {
    auto status = log.truncate_to(offset, out);
    if (!status.ok() && status.error() == LogError::busy && offset < c->end() &&
        c->truncate_attempts < 2) {
        // A segment found at start-up is indexed by the first read through it.
        ++c->truncate_attempts;
        c->truncate_after = offset;
        begin_verify(offset, out);
        return;
    }
    c->truncate_attempts = 0;
    if (!status.ok()) {
        c->fail("truncate_to(" + str(offset) + ") refused: " + log::to_string(status.error()));
        return;
    }
    while (!c->model.empty() && c->model.back().base >= offset) c->model.pop_back();
    ++c->truncations;
    c->read_from = offset;
    c->wait = Wait::repair;
}

bool Host::on_repaired(io::Outbox& out) {
    if (log.state() == State::repairing) return false;
    if (log.state() != State::ready) {
        c->fail("truncation ended in state " + std::to_string(static_cast<int>(log.state())));
        return false;
    }
    check_ends("after truncate_to(" + str(c->read_from) + ")");
    begin_verify(c->start, out);
    return true;
}

void Host::begin_retention(io::Outbox& out) {
    log.apply_retention(out);
    const Offset start = log.log_start();
    const bool boundary =
        start == c->end() || std::any_of(c->model.begin(), c->model.end(),
                                         [&](const auto& batch) { return batch.base == start; });
    if (start < c->start || start > c->end() || !boundary) {
        c->fail("retention moved log start from " + str(c->start) + " to " + str(start) +
                ", not a batch boundary of [" + str(c->start) + ", " + str(c->end()) + "]");
        return;
    }
    if (start != c->start) ++c->retained;
    std::erase_if(c->model, [&](const auto& batch) { return batch.base < start; });
    c->start = start;
    check_ends("after retention");
    begin_verify(start, out);
}

// The model's answer: the first batch (in offset order) with a timestamp at or
// after the target; every record of a batch has the same timestamp.
void Host::begin_time(std::int64_t target, io::Outbox& out) {
    auto issued = log.find_offset_by_time(target, out);
    if (!issued.ok()) {
        c->fail("time lookup refused: " + std::string(log::to_string(issued.error())));
        return;
    }
    c->id = issued.value();
    c->target_ms = target;
    c->wait = Wait::time;
}

bool Host::on_time() {
    auto result = take_read();
    if (!result) return false;
    c->wait = Wait::none;
    ++c->next;
    const std::string what = "time lookup of " + std::to_string(c->target_ms);
    if (result->error) return c->fail(what + ": " + log::to_string(*result->error)), true;
    std::optional<log::TimeMatch> want;
    for (const auto& batch : c->model) {
        const std::int64_t timestamp = log::parse_header(batch.bytes).value().max_timestamp;
        if (timestamp >= c->target_ms) {
            want = log::TimeMatch{batch.base, timestamp};
            break;
        }
    }
    const auto& got = result->time_match;
    if (got.has_value() != want.has_value() ||
        (got && (got->offset != want->offset || got->timestamp_ms != want->timestamp_ms))) {
        c->fail(what + ": got " + (got ? str(got->offset) : "none") + ", model " +
                (want ? str(want->offset) : "none"));
    }
    return true;
}

struct Setup {
    std::uint64_t seed;
    std::uint64_t segment_bytes_max;
    std::uint64_t retention_segments;
};

// Runs `ops` to the end (or the first disagreement) and returns the failure.
std::string run(const Setup& setup, std::vector<Op> ops, std::shared_ptr<Context>& c) {
    LogConfig config;
    config.segment_bytes_max = setup.segment_bytes_max;
    config.retention_bytes_max = setup.segment_bytes_max * setup.retention_segments;
    config.spare_segments_max = setup.seed % 3;  // 0: retention removes segment files
    // Writes capped small, 1-4 in flight, or the defaults.
    config.flushes_in_flight_max = 1 + (setup.seed / 3) % 4;
    config.flush_bytes_max = (setup.seed / 12) % 2 == 0 ? 512 : config.flush_bytes_max;
    c = std::make_shared<Context>();
    c->ops = std::move(ops);
    sim::World world(setup.seed, 1, sim::FaultPlan::none());
    world.set_factory(kNode,
                      sim::factory_of<Host>([c, config](NodeId, Prng) { return Host(c, config); }));
    world.start(world.now());
    while (true) {
        world.run_until(world.now() + Duration::seconds(60));
        if (!c->failure.empty()) return c->failure;
        if (c->restart_requested) {
            world.crash(kNode);
            c->restart_requested = false;
            c->completed.clear();
            c->reads.clear();
            c->wait = Wait::ready;
            ++c->restarts;
            world.restart(kNode, false);
            continue;
        }
        if (c->wait != Wait::none || c->next < c->ops.size()) {
            return "op " + std::to_string(c->next) + " never finished (wait state " +
                   std::to_string(static_cast<int>(c->wait)) + ")";
        }
        return {};
    }
}

RC_GTEST_PROP(PartitionLogProperty, AgreesWithModel, ()) {
    const Setup setup{*rc::gen::resize(100, rc::gen::inRange<std::uint64_t>(1, 1000000)),
                      *rc::gen::resize(100, rc::gen::inRange<std::uint64_t>(1024, 8193)),
                      *rc::gen::resize(100, rc::gen::inRange<std::uint64_t>(2, 5))};
    const auto ops = *operations();
    std::shared_ptr<Context> c;
    const std::string failure = run(setup, ops, c);
    RC_CLASSIFY(c->segments_max > 1, "rolled");
    RC_CLASSIFY(c->restarts > 0, "restarted");
    RC_CLASSIFY(c->truncations > 0, "truncated");
    RC_CLASSIFY(c->retained > 0, "retention removed segments");
    RC_CLASSIFY(c->epoch > kEpoch, "several epochs");
    RC_CLASSIFY(ops.size() > 20, "long");
    if (!failure.empty()) RC_FAIL(failure);
}

}  // namespace
}  // namespace samsa

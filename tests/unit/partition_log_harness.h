// The scripted test host of the partition-log tests, its two runners (the
// simulator's World and the io_uring Driver on a temporary directory) and the
// checks they share.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

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
#include "core/log/partition_log.h"
#include "core/log/valid_batch.h"
#include "runtime/driver.h"
#include "sim/fault_plan.h"
#include "sim/world.h"
#include "tests/unit/log_batches.h"

namespace samsa::plog_test {

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
    std::vector<std::optional<log::TimeMatch>> time_matches;  // one per find_time phase
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

inline io::Bytes make_batch(std::size_t index, std::size_t value_bytes = 40) {
    return testing::make_log_batch(index, 1 + index % 4, value_bytes);
}

// ---- Phases -------------------------------------------------------------------

inline Phase ready() {
    return [](Host& h, io::Outbox&) { return h.log.state() == State::ready; };
}

// Waits until the log has no I/O of its own outstanding (background index
// writes included), so a run ends with everything it started on disk.
inline Phase quiet() {
    return [](Host& h, io::Outbox&) { return h.log.quiet(); };
}

// Appends `count` new batches in one step, each with distinct contents. Every
// other one goes in checked already, as the broker hands them over.
// Appends `count` batches, `make(index)` each (index counts every append of the
// journal); every other one goes in as a batch validated already.
inline Phase append_made(std::size_t count, std::int32_t epoch,
                         std::function<io::Bytes(std::size_t)> make) {
    return [=](Host& h, io::Outbox& out) {
        for (std::size_t i = 0; i < count; ++i) {
            const std::size_t index = h.j->sent.size() + h.j->rejected.size();
            io::Bytes batch = make(index);
            auto result =
                index % 2 == 0
                    ? h.log.append(batch, epoch, out)
                    : h.log.append(std::move(log::take_batches(batch, SIZE_MAX).value().front()),
                                   epoch, out);
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

inline Phase append(std::size_t count, std::int32_t epoch = 7, std::size_t value_bytes = 40) {
    return append_made(count, epoch,
                       [value_bytes](std::size_t index) { return make_batch(index, value_bytes); });
}

// Every accepted append has completed and the log is ready again.
inline Phase idle() {
    return [](Host& h, io::Outbox&) {
        return h.j->completed.size() == h.j->accepted.size() && h.log.state() == State::ready;
    };
}

inline Phase run(std::function<void(Host&, io::Outbox&)> body) {
    return [body = std::move(body)](Host& h, io::Outbox& out) {
        body(h, out);
        return true;
    };
}

// Reads every batch from `from` (log_start when unset) to readable_end into a
// new read set, `max_bytes` at a time; checks each read keeps to it.
inline Phase read_all(std::optional<Offset> from = std::nullopt, std::uint32_t max_bytes = 1000) {
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
                // Within the limit, or one batch alone (at least one comes back).
                EXPECT_TRUE(result.batches.size() <= max_bytes || spans.value().size() == 1)
                    << result.batches.size() << " bytes in " << spans.value().size()
                    << " batches for a read of at most " << max_bytes;
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

// Looks up the offset of `timestamp_ms` and records the answer.
inline Phase find_time(std::int64_t timestamp_ms) {
    auto waiting = std::make_shared<std::optional<std::uint64_t>>();
    return [=](Host& h, io::Outbox& out) {
        if (!*waiting) {
            auto issued = h.log.find_offset_by_time(timestamp_ms, out);
            if (!issued.ok()) {
                h.j->read_error = issued.error();
                return true;
            }
            *waiting = issued.value();
            h.drain();
        }
        auto& inbox = h.j->inbox;
        const auto found = std::find_if(inbox.begin(), inbox.end(),
                                        [&](const auto& r) { return r.id == **waiting; });
        if (found == inbox.end()) return false;
        if (found->error) h.j->read_error = found->error;
        h.j->time_matches.push_back(found->time_match);
        inbox.erase(found);
        return true;
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
    [[nodiscard]] const std::string& dir() const { return dir_; }

private:
    std::string dir_;
    std::unique_ptr<runtime::Driver> driver_;
    Host* host_ = nullptr;
};

// ---- Checks -------------------------------------------------------------------

// Equal except for the broker-owned baseOffset and partitionLeaderEpoch.
// `read` holds exactly the batches `indices` of the journal, with their offsets.
inline void expect_batches(const std::vector<io::Bytes>& read, const Journal& j,
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

inline std::vector<std::size_t> range(std::size_t from, std::size_t to) {
    std::vector<std::size_t> out;
    for (std::size_t i = from; i < to; ++i) out.push_back(i);
    return out;
}

inline void expect_contiguous_success(const Journal& j) {
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

}  // namespace samsa::plog_test

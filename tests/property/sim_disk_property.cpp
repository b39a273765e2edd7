// Properties of the simulated disk: for any sequence of writes, fsyncs,
// truncations and crashes on one file, what reads see matches a model of the
// page cache, and what a crash leaves matches a model of the durable state -
// exactly (no faults), or as the fault plan allows (partial flush, torn write).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

#include "core/base/prng.h"
#include "core/io/seam.h"
#include "sim/disk.h"
#include "sim/fault_plan.h"

namespace samsa::sim {
namespace {

using io::Bytes;

// (kind, a, b): kind 0-4 write b%40+1 bytes at a%80, 5-6 fsync, 7 truncate to
// a%100, 8 crash (and reopen).
using Op = std::tuple<int, int, int>;

rc::Gen<std::vector<Op>> operations() {
    return rc::gen::container<std::vector<Op>>(rc::gen::tuple(
        rc::gen::inRange(0, 9), rc::gen::inRange(0, 1000), rc::gen::inRange(0, 1000)));
}

struct Change {
    bool is_write = true;
    std::uint64_t offset = 0;  // truncate: the new size
    Bytes data;
};

void apply(Bytes& file, const Change& change, std::size_t length) {
    if (!change.is_write) {
        file.resize(change.offset, 0);
        return;
    }
    if (file.size() < change.offset + change.data.size())
        file.resize(change.offset + change.data.size(), 0);
    std::copy_n(change.data.begin(), length, file.begin() + static_cast<long>(change.offset));
}

// Drives one file of a SimDisk through `ops` and keeps the model alongside.
// `on_crash(durable, unsynced, after)` checks what a crash left.
template <class CheckCrash>
void run(std::uint64_t seed, const FaultPlan& plan, const std::vector<Op>& ops,
         CheckCrash check_crash) {
    FaultCounters counters;
    SimDisk disk(DiskParams{}, Prng(seed), plan, counters);
    std::uint64_t token = 0;
    auto exec = [&](const io::Effect& op) {
        const auto done = disk.execute(op);
        RC_ASSERT(done.has_value());
        RC_ASSERT(done->status == io::IoStatus::ok);
    };
    exec(io::Open{IoToken(++token), FileId(1), "f", true, false});
    exec(io::SyncDir{IoToken(++token)});

    Bytes durable;
    std::vector<Change> unsynced;
    Bytes current;
    auto crash = [&] {
        disk.crash();
        const Bytes after = disk.contents("f").value_or(Bytes{});
        check_crash(durable, unsynced, after);
        durable = after;  // nothing is pending after a crash
        current = after;
        unsynced.clear();
        exec(io::Open{IoToken(++token), FileId(1), "f", false, false});
    };
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const auto [kind, a, b] = ops[i];
        if (kind <= 4) {
            Change change{true, static_cast<std::uint64_t>(a % 80), Bytes(b % 40 + 1)};
            for (std::size_t j = 0; j < change.data.size(); ++j)
                change.data[j] = static_cast<std::uint8_t>(1 + (i * 37 + j) % 255);
            exec(io::Write{IoToken(++token), FileId(1), change.offset, change.data});
            apply(current, change, change.data.size());
            unsynced.push_back(change);
        } else if (kind <= 6) {
            exec(io::Fsync{IoToken(++token), FileId(1)});
            durable = current;
            unsynced.clear();
        } else if (kind == 7) {
            Change change{false, static_cast<std::uint64_t>(a % 100), {}};
            exec(io::Truncate{IoToken(++token), FileId(1), change.offset});
            apply(current, change, 0);
            unsynced.push_back(change);
        } else {
            crash();
        }
        RC_ASSERT(disk.contents("f") == std::optional<Bytes>(current));
        RC_ASSERT(disk.unsynced_operations("f") == unsynced.size());
    }
    crash();
}

RC_GTEST_PROP(SimDiskProperty, CrashKeepsExactlyTheLastFsyncedState, ()) {
    const auto seed = *rc::gen::arbitrary<std::uint64_t>();
    run(seed, FaultPlan::none(), *operations(),
        [](const Bytes& durable, const std::vector<Change>&, const Bytes& after) {
            RC_ASSERT(after == durable);
        });
}

RC_GTEST_PROP(SimDiskProperty, PartialFlushKeepsAPrefixOfTheUnsyncedChanges, ()) {
    const auto seed = *rc::gen::arbitrary<std::uint64_t>();
    FaultPlan plan = FaultPlan::none();
    plan.set(FaultKind::partial_flush, 1.0);
    run(seed, plan, *operations(),
        [](const Bytes& durable, const std::vector<Change>& unsynced, const Bytes& after) {
            Bytes state = durable;
            bool matched = state == after;
            for (const auto& change : unsynced) {
                apply(state, change, change.is_write ? change.data.size() : 0);
                matched = matched || state == after;
            }
            RC_ASSERT(matched);
        });
}

RC_GTEST_PROP(SimDiskProperty, TornWriteKeepsAStrictPrefixOfTheFirstUnsyncedWrite, ()) {
    const auto seed = *rc::gen::arbitrary<std::uint64_t>();
    FaultPlan plan = FaultPlan::none();
    plan.set(FaultKind::torn_write, 1.0);
    run(seed, plan, *operations(),
        [](const Bytes& durable, const std::vector<Change>& unsynced, const Bytes& after) {
            if (unsynced.empty() || !unsynced[0].is_write || unsynced[0].data.size() < 2) {
                RC_ASSERT(after == durable);
                return;
            }
            bool matched = false;
            for (std::size_t k = 1; k < unsynced[0].data.size() && !matched; ++k) {
                Bytes torn = durable;
                apply(torn, unsynced[0], k);
                matched = torn == after;
            }
            RC_ASSERT(matched);
        });
}

}  // namespace
}  // namespace samsa::sim

// Tests of the simulated disk (sim/disk.h), driven directly through
// SimDisk::execute(): crash durability, torn writes, partial flushes,
// namespace durability, injected I/O errors, ENOSPC and the plain API.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/prng.h"
#include "core/io/seam.h"
#include "sim/disk.h"
#include "sim/fault_plan.h"
#include "tests/unit/printers.h"

namespace samsa::sim {
namespace {

using io::Bytes;
using io::IoStatus;

const FileId kF(1);
const FileId kG(2);

Bytes filled(std::size_t n, std::uint8_t value) {
    return Bytes(n, value);
}

Bytes pattern(std::size_t n, std::uint8_t salt = 0) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>((i * 7 + salt) % 251);
    return out;
}

Bytes concat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// A disk with a fault plan and counters of its own, and one-line helpers for
// each operation.
class DiskHarness {
public:
    explicit DiskHarness(std::uint64_t seed = 1, DiskParams params = {})
        : disk(params, Prng(seed), plan, counters) {}

    io::IoCompleted run(const io::Effect& op) {
        auto done = disk.execute(op);
        EXPECT_TRUE(done.has_value()) << io::describe(op);
        return done.value_or(io::IoCompleted{});
    }
    IoStatus open(FileId file, const std::string& name, bool create = true,
                  bool exclusive = false) {
        return run(io::Open{next(), file, name, create, exclusive}).status;
    }
    IoStatus write(FileId file, std::uint64_t offset, const Bytes& data) {
        return run(io::Write{next(), file, offset, data}).status;
    }
    IoStatus fsync(FileId file) { return run(io::Fsync{next(), file}).status; }
    IoStatus truncate(FileId file, std::uint64_t size) {
        return run(io::Truncate{next(), file, size}).status;
    }
    io::IoCompleted read(FileId file, std::uint64_t offset, std::uint32_t length) {
        return run(io::Read{next(), file, offset, length});
    }
    IoStatus remove(const std::string& name) { return run(io::Remove{next(), name}).status; }
    IoStatus rename(const std::string& from, const std::string& to) {
        return run(io::Rename{next(), from, to}).status;
    }
    IoStatus sync_dir() { return run(io::SyncDir{next()}).status; }

    // Creates `name` as `file` holding `data`, all of it durable.
    void make_durable(FileId file, const std::string& name, const Bytes& data) {
        ASSERT_EQ(open(file, name), IoStatus::ok);
        ASSERT_EQ(write(file, 0, data), IoStatus::ok);
        ASSERT_EQ(fsync(file), IoStatus::ok);
        ASSERT_EQ(sync_dir(), IoStatus::ok);
    }
    Bytes file(const std::string& name) const {
        const auto data = disk.contents(name);
        EXPECT_TRUE(data.has_value()) << name << " is missing";
        return data.value_or(Bytes{});
    }

    FaultPlan plan = FaultPlan::none();
    FaultCounters counters;
    SimDisk disk;

private:
    IoToken next() { return IoToken(++tokens_); }
    std::uint64_t tokens_ = 0;
};

// ---- (a) a crash loses exactly the unsynced writes -----------------------------------

TEST(DiskCrash, LosesExactlyTheUnsyncedWrite) {
    DiskHarness h;
    const Bytes a = pattern(100, 1);
    const Bytes b = filled(50, 0xbb);
    ASSERT_EQ(h.open(kF, "f"), IoStatus::ok);
    ASSERT_EQ(h.write(kF, 0, a), IoStatus::ok);
    ASSERT_EQ(h.fsync(kF), IoStatus::ok);
    ASSERT_EQ(h.write(kF, 100, b), IoStatus::ok);
    ASSERT_EQ(h.sync_dir(), IoStatus::ok);
    EXPECT_EQ(h.file("f"), concat(a, b));  // reads see the page cache
    EXPECT_EQ(h.disk.unsynced_operations("f"), 1U);

    h.disk.crash();
    EXPECT_EQ(h.file("f"), a);
    EXPECT_EQ(h.disk.unsynced_operations("f"), 0U);
    EXPECT_EQ(h.counters.count(FaultKind::lost_unsynced), 1U);

    // Handles died with the process; reopening shows the durable state.
    EXPECT_EQ(h.write(kF, 0, b), IoStatus::bad_file);
    const auto reopened = h.run(io::Open{IoToken(99), kF, "f", false, false});
    EXPECT_EQ(reopened.status, IoStatus::ok);
    EXPECT_EQ(reopened.size, a.size());
    EXPECT_EQ(h.read(kF, 0, 1000).data, a);
}

TEST(DiskCrash, RollsBackEveryKindOfUnsyncedChange) {
    DiskHarness h;
    const Bytes a = pattern(100, 3);
    h.make_durable(kF, "f", a);
    ASSERT_EQ(h.write(kF, 50, filled(100, 0x11)), IoStatus::ok);  // overwrite and extend
    ASSERT_EQ(h.truncate(kF, 30), IoStatus::ok);                  // shrink
    ASSERT_EQ(h.write(kF, 200, filled(10, 0x22)), IoStatus::ok);  // past the end, with a gap
    ASSERT_EQ(h.truncate(kF, 500), IoStatus::ok);                 // grow
    ASSERT_EQ(h.write(kF, 0, filled(5, 0x33)), IoStatus::ok);     // overwrite synced bytes
    EXPECT_EQ(h.file("f").size(), 500U);
    EXPECT_EQ(h.disk.unsynced_operations("f"), 5U);
    h.disk.crash();
    EXPECT_EQ(h.file("f"), a);
}

TEST(DiskCrash, UnsyncedOverwriteOfSyncedBytesIsRolledBack) {
    DiskHarness h;
    const Bytes a = pattern(64, 5);
    h.make_durable(kF, "f", a);
    ASSERT_EQ(h.write(kF, 10, filled(20, 0xee)), IoStatus::ok);
    Bytes expected_now = a;
    std::fill_n(expected_now.begin() + 10, 20, 0xee);
    EXPECT_EQ(h.file("f"), expected_now);
    h.disk.crash();
    EXPECT_EQ(h.file("f"), a);
}

TEST(DiskCrash, KeepsEverythingUpToTheLastFsync) {
    DiskHarness h;
    const Bytes a = pattern(10, 1);
    const Bytes b = pattern(20, 2);
    h.make_durable(kF, "f", a);
    ASSERT_EQ(h.write(kF, 10, b), IoStatus::ok);
    ASSERT_EQ(h.truncate(kF, 25), IoStatus::ok);
    ASSERT_EQ(h.fsync(kF), IoStatus::ok);
    ASSERT_EQ(h.write(kF, 25, pattern(30, 3)), IoStatus::ok);
    h.disk.crash();
    const Bytes ab = concat(a, b);
    EXPECT_EQ(h.file("f"), Bytes(ab.begin(), ab.begin() + 25));
}

TEST(DiskCrash, NothingUnsyncedNothingLost) {
    DiskHarness h;
    h.make_durable(kF, "f", pattern(10));
    h.disk.crash();
    EXPECT_EQ(h.file("f"), pattern(10));
    EXPECT_EQ(h.counters.count(FaultKind::lost_unsynced), 0U);
}

TEST(DiskCrash, FsyncCoversOnlyItsFile) {
    DiskHarness h;
    h.make_durable(kF, "f", pattern(10, 1));
    h.make_durable(kG, "g", pattern(10, 2));
    ASSERT_EQ(h.write(kF, 10, filled(5, 1)), IoStatus::ok);
    ASSERT_EQ(h.write(kG, 10, filled(5, 2)), IoStatus::ok);
    ASSERT_EQ(h.fsync(kG), IoStatus::ok);
    h.disk.crash();
    EXPECT_EQ(h.file("f"), pattern(10, 1));
    EXPECT_EQ(h.file("g"), concat(pattern(10, 2), filled(5, 2)));
}

// ---- (b) torn writes ------------------------------------------------------------------

TEST(DiskTornWrite, AppendIsTornIntoANonEmptyStrictPrefix) {
    const Bytes a = filled(100, 0xaa);
    const Bytes b = filled(4096, 0xbb);
    std::set<std::size_t> tears;
    for (std::uint64_t seed = 1; seed <= 30; ++seed) {
        DiskHarness h(seed);
        h.plan.set(FaultKind::torn_write, 1.0);
        h.make_durable(kF, "f", a);
        ASSERT_EQ(h.write(kF, a.size(), b), IoStatus::ok);
        h.disk.crash();
        const Bytes after = h.file("f");
        // Shape: A, then k bytes of B with 0 < k < |B|, then zeros to the end of B's range.
        ASSERT_EQ(after.size(), a.size() + b.size()) << "seed " << seed;
        EXPECT_TRUE(std::equal(a.begin(), a.end(), after.begin())) << "seed " << seed;
        std::size_t k = 0;
        while (a.size() + k < after.size() && after[a.size() + k] == 0xbb) ++k;
        EXPECT_GT(k, 0U) << "seed " << seed << ": none of the write survived";
        EXPECT_LT(k, b.size()) << "seed " << seed << ": all of the write survived";
        EXPECT_TRUE(std::all_of(after.begin() + static_cast<long>(a.size() + k), after.end(),
                                [](std::uint8_t x) { return x == 0; }))
            << "seed " << seed;
        EXPECT_EQ(h.counters.count(FaultKind::torn_write), 1U) << "seed " << seed;
        EXPECT_EQ(h.counters.count(FaultKind::lost_unsynced), 1U) << "seed " << seed;
        tears.insert(k);
    }
    EXPECT_GT(tears.size(), 20U);  // the tear point is drawn, not fixed
}

TEST(DiskTornWrite, OverwriteIsTornOverTheOldBytes) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        DiskHarness h(seed);
        h.plan.set(FaultKind::torn_write, 1.0);
        h.make_durable(kF, "f", filled(4096, 0xaa));
        ASSERT_EQ(h.write(kF, 0, filled(4096, 0xbb)), IoStatus::ok);
        h.disk.crash();
        const Bytes after = h.file("f");
        ASSERT_EQ(after.size(), 4096U);
        const auto k =
            static_cast<std::size_t>(std::find(after.begin(), after.end(), 0xaa) - after.begin());
        EXPECT_GT(k, 0U) << "seed " << seed;
        EXPECT_LT(k, 4096U) << "seed " << seed;
        EXPECT_TRUE(std::all_of(after.begin(), after.begin() + static_cast<long>(k),
                                [](std::uint8_t x) { return x == 0xbb; }));
        EXPECT_TRUE(std::all_of(after.begin() + static_cast<long>(k), after.end(),
                                [](std::uint8_t x) { return x == 0xaa; }));
        EXPECT_EQ(h.counters.count(FaultKind::torn_write), 1U);
    }
}

TEST(DiskTornWrite, OnlyTheFirstUnsyncedWriteIsTornAndLaterOnesAreLost) {
    DiskHarness h(4);
    h.plan.set(FaultKind::torn_write, 1.0);
    h.make_durable(kF, "f", filled(10, 0xaa));
    ASSERT_EQ(h.write(kF, 10, filled(100, 0xbb)), IoStatus::ok);
    ASSERT_EQ(h.write(kF, 110, filled(100, 0xcc)), IoStatus::ok);
    h.disk.crash();
    const Bytes after = h.file("f");
    ASSERT_EQ(after.size(), 110U);
    EXPECT_EQ(std::count(after.begin(), after.end(), 0xcc), 0);
    const auto torn = std::count(after.begin(), after.end(), 0xbb);
    EXPECT_GT(torn, 0);
    EXPECT_LT(torn, 100);
}

TEST(DiskTornWrite, ASingleByteWriteCannotTear) {
    DiskHarness h;
    h.plan.set(FaultKind::torn_write, 1.0);
    h.make_durable(kF, "f", filled(10, 0xaa));
    ASSERT_EQ(h.write(kF, 10, filled(1, 0xbb)), IoStatus::ok);
    h.disk.crash();
    EXPECT_EQ(h.file("f"), filled(10, 0xaa));
    EXPECT_EQ(h.counters.count(FaultKind::torn_write), 0U);
}

// ---- (c) partial flush ------------------------------------------------------------------

TEST(DiskPartialFlush, KeepsAPrefixOfTheUnsyncedWritesInOrder) {
    const Bytes a = pattern(100, 9);
    // The model: the file after each unsynced operation.
    std::vector<Bytes> states{a};
    auto model_write = [&](std::uint64_t offset, const Bytes& data) {
        Bytes next = states.back();
        if (next.size() < offset + data.size()) next.resize(offset + data.size(), 0);
        std::copy(data.begin(), data.end(), next.begin() + static_cast<long>(offset));
        states.push_back(next);
    };
    model_write(100, filled(50, 0x11));
    model_write(120, filled(60, 0x22));
    states.push_back(Bytes(states.back().begin(), states.back().begin() + 150));  // truncate 150
    model_write(150, filled(40, 0x44));

    std::set<std::size_t> outcomes;
    for (std::uint64_t seed = 1; seed <= 80; ++seed) {
        DiskHarness h(seed);
        h.plan.set(FaultKind::partial_flush, 1.0);
        h.make_durable(kF, "f", a);
        ASSERT_EQ(h.write(kF, 100, filled(50, 0x11)), IoStatus::ok);
        ASSERT_EQ(h.write(kF, 120, filled(60, 0x22)), IoStatus::ok);
        ASSERT_EQ(h.truncate(kF, 150), IoStatus::ok);
        ASSERT_EQ(h.write(kF, 150, filled(40, 0x44)), IoStatus::ok);
        ASSERT_EQ(h.file("f"), states.back());
        h.disk.crash();
        const Bytes after = h.file("f");
        const auto match = std::find(states.begin(), states.end(), after);
        ASSERT_NE(match, states.end()) << "seed " << seed << ": not a prefix of the writes";
        const auto kept = static_cast<std::size_t>(match - states.begin());
        outcomes.insert(kept);
        EXPECT_EQ(h.counters.count(FaultKind::partial_flush), 1U);
        EXPECT_EQ(h.counters.count(FaultKind::lost_unsynced), kept == 4 ? 0U : 1U);
    }
    // Every prefix, from none of the writes to all of them, comes up.
    EXPECT_EQ(outcomes, (std::set<std::size_t>{0, 1, 2, 3, 4}));
}

// ---- (d) namespace durability --------------------------------------------------------------

TEST(DiskNamespace, CreationWithoutSyncDirVanishes) {
    DiskHarness h;
    ASSERT_EQ(h.open(kF, "new"), IoStatus::ok);
    ASSERT_EQ(h.write(kF, 0, pattern(10)), IoStatus::ok);
    ASSERT_EQ(h.fsync(kF), IoStatus::ok);  // the data is durable, the name is not
    EXPECT_EQ(h.disk.names(), std::vector<std::string>{"new"});
    h.disk.crash();
    EXPECT_FALSE(h.disk.contents("new").has_value());
    EXPECT_TRUE(h.disk.names().empty());
    EXPECT_EQ(h.open(kF, "new", false), IoStatus::not_found);
}

TEST(DiskNamespace, CreationWithSyncDirSurvivesEvenEmpty) {
    DiskHarness h;
    ASSERT_EQ(h.open(kF, "empty"), IoStatus::ok);
    ASSERT_EQ(h.sync_dir(), IoStatus::ok);
    h.disk.crash();
    EXPECT_EQ(h.file("empty"), Bytes{});
}

TEST(DiskNamespace, RemovalWithoutSyncDirIsUndoneByACrash) {
    DiskHarness h;
    h.make_durable(kF, "old", pattern(32, 4));
    ASSERT_EQ(h.remove("old"), IoStatus::ok);
    EXPECT_FALSE(h.disk.contents("old").has_value());
    EXPECT_EQ(h.open(kG, "old", false), IoStatus::not_found);
    h.disk.crash();
    EXPECT_EQ(h.file("old"), pattern(32, 4));
}

TEST(DiskNamespace, RemovalAfterSyncDirSticks) {
    DiskHarness h;
    h.make_durable(kF, "old", pattern(32, 4));
    ASSERT_EQ(h.remove("old"), IoStatus::ok);
    ASSERT_EQ(h.sync_dir(), IoStatus::ok);
    h.disk.crash();
    EXPECT_FALSE(h.disk.contents("old").has_value());
    EXPECT_TRUE(h.disk.names().empty());
}

TEST(DiskNamespace, RecreatedNameRevertsToTheDurableFile) {
    DiskHarness h;
    h.make_durable(kF, "f", pattern(16, 1));
    ASSERT_EQ(h.remove("f"), IoStatus::ok);
    ASSERT_EQ(h.open(kG, "f"), IoStatus::ok);
    ASSERT_EQ(h.write(kG, 0, pattern(8, 2)), IoStatus::ok);
    ASSERT_EQ(h.fsync(kG), IoStatus::ok);
    EXPECT_EQ(h.file("f"), pattern(8, 2));
    h.disk.crash();
    EXPECT_EQ(h.file("f"), pattern(16, 1));
}

TEST(DiskNamespace, RemovedFileComesBackWithoutItsUnsyncedWrites) {
    DiskHarness h;
    h.make_durable(kF, "f", pattern(16, 1));
    ASSERT_EQ(h.write(kF, 16, pattern(16, 2)), IoStatus::ok);
    ASSERT_EQ(h.remove("f"), IoStatus::ok);
    h.disk.crash();
    EXPECT_EQ(h.file("f"), pattern(16, 1));
}

TEST(DiskNamespace, RenameWithoutSyncDirIsUndoneByACrash) {
    DiskHarness h;
    h.make_durable(kF, "old", pattern(32, 4));
    ASSERT_EQ(h.rename("old", "new"), IoStatus::ok);
    EXPECT_EQ(h.disk.names(), std::vector<std::string>{"new"});
    EXPECT_EQ(h.file("new"), pattern(32, 4));
    h.disk.crash();
    EXPECT_EQ(h.disk.names(), std::vector<std::string>{"old"});
    EXPECT_EQ(h.file("old"), pattern(32, 4));
}

TEST(DiskNamespace, RenameAfterSyncDirSticksWithTheFileItsWritesAndNothingElse) {
    DiskHarness h;
    h.make_durable(kF, "old", pattern(32, 4));
    ASSERT_EQ(h.rename("old", "new"), IoStatus::ok);
    ASSERT_EQ(h.sync_dir(), IoStatus::ok);
    // The open handle still reaches the file under its new name.
    ASSERT_EQ(h.write(kF, 0, pattern(8, 9)), IoStatus::ok);
    ASSERT_EQ(h.fsync(kF), IoStatus::ok);
    ASSERT_EQ(h.write(kF, 8, pattern(8, 3)), IoStatus::ok);  // never synced
    h.disk.crash();
    EXPECT_EQ(h.disk.names(), std::vector<std::string>{"new"});
    const Bytes before = pattern(32, 4);
    EXPECT_EQ(h.file("new"), concat(pattern(8, 9), Bytes(before.begin() + 8, before.end())));
}

TEST(DiskNamespace, RenameNeverReplacesAndNeedsItsSource) {
    DiskHarness h;
    h.make_durable(kF, "a", pattern(8, 1));
    h.make_durable(kG, "b", pattern(8, 2));
    EXPECT_EQ(h.rename("a", "b"), IoStatus::already_exists);
    EXPECT_EQ(h.rename("c", "d"), IoStatus::not_found);
    EXPECT_EQ(h.file("a"), pattern(8, 1));
    EXPECT_EQ(h.file("b"), pattern(8, 2));
}

// ---- (e) injected I/O errors ----------------------------------------------------------------

TEST(DiskFaults, ReadBitflipFlipsExactlyOneBitOfTheCopy) {
    DiskHarness h;
    const Bytes data = pattern(64, 7);
    h.make_durable(kF, "f", data);
    h.plan.set(FaultKind::read_bitflip, 1.0);
    std::set<std::size_t> flipped_bits;
    for (int i = 0; i < 100; ++i) {
        const auto done = h.read(kF, 0, 64);
        ASSERT_EQ(done.status, IoStatus::ok);
        ASSERT_EQ(done.data.size(), data.size());
        int differing = 0;
        for (std::size_t j = 0; j < data.size(); ++j) {
            const auto x = static_cast<std::uint8_t>(done.data[j] ^ data[j]);
            differing += std::popcount(x);
            if (x != 0) flipped_bits.insert(j * 8 + static_cast<std::size_t>(std::countr_zero(x)));
        }
        EXPECT_EQ(differing, 1);
    }
    EXPECT_EQ(h.file("f"), data);  // the file itself is intact
    EXPECT_EQ(h.counters.count(FaultKind::read_bitflip), 100U);
    EXPECT_GT(flipped_bits.size(), 40U);
    // An empty read has no bit to flip.
    EXPECT_TRUE(h.read(kF, 64, 10).data.empty());
}

TEST(DiskFaults, ReadEio) {
    DiskHarness h;
    h.make_durable(kF, "f", pattern(10));
    h.plan.set(FaultKind::read_eio, 1.0);
    const auto done = h.read(kF, 0, 10);
    EXPECT_EQ(done.status, IoStatus::io_error);
    EXPECT_TRUE(done.data.empty());
    EXPECT_EQ(h.counters.count(FaultKind::read_eio), 1U);
}

TEST(DiskFaults, WriteEioChangesNothing) {
    DiskHarness h;
    h.make_durable(kF, "f", pattern(10));
    h.plan.set(FaultKind::write_eio, 1.0);
    EXPECT_EQ(h.write(kF, 5, filled(100, 0xff)), IoStatus::io_error);
    EXPECT_EQ(h.file("f"), pattern(10));
    EXPECT_EQ(h.disk.unsynced_operations("f"), 0U);
    EXPECT_EQ(h.counters.count(FaultKind::write_eio), 1U);
}

TEST(DiskFaults, FsyncEioLeavesTheWritesUnsynced) {
    DiskHarness h;
    const Bytes a = pattern(10, 1);
    const Bytes b = pattern(10, 2);
    h.make_durable(kF, "f", a);
    ASSERT_EQ(h.write(kF, 10, b), IoStatus::ok);
    h.plan.set(FaultKind::fsync_eio, 1.0);
    EXPECT_EQ(h.fsync(kF), IoStatus::io_error);
    EXPECT_EQ(h.disk.unsynced_operations("f"), 1U);
    EXPECT_EQ(h.counters.count(FaultKind::fsync_eio), 1U);
    h.disk.crash();
    EXPECT_EQ(h.file("f"), a);
}

TEST(DiskFaults, ALaterFsyncStillCoversWritesAfterFsyncEio) {
    DiskHarness h;
    const Bytes a = pattern(10, 1);
    const Bytes b = pattern(10, 2);
    h.make_durable(kF, "f", a);
    ASSERT_EQ(h.write(kF, 10, b), IoStatus::ok);
    h.plan.set(FaultKind::fsync_eio, 1.0);
    ASSERT_EQ(h.fsync(kF), IoStatus::io_error);
    h.plan.set(FaultKind::fsync_eio, 0.0);
    ASSERT_EQ(h.fsync(kF), IoStatus::ok);
    h.disk.crash();
    EXPECT_EQ(h.file("f"), concat(a, b));
}

// ---- (f) ENOSPC
// ----------------------------------------------------------------------------------

TEST(DiskSpace, WritesBeyondCapacityFailAndChangeNothing) {
    DiskHarness h;
    h.disk.set_capacity(100);
    EXPECT_EQ(h.disk.capacity(), 100U);
    ASSERT_EQ(h.open(kF, "f"), IoStatus::ok);
    ASSERT_EQ(h.write(kF, 0, pattern(60)), IoStatus::ok);
    EXPECT_EQ(h.disk.used_bytes(), 60U);

    EXPECT_EQ(h.write(kF, 60, filled(50, 1)), IoStatus::no_space);
    EXPECT_EQ(h.file("f"), pattern(60));
    EXPECT_EQ(h.disk.unsynced_operations("f"), 1U);

    EXPECT_EQ(h.write(kF, 60, filled(40, 1)), IoStatus::ok);  // exactly full
    EXPECT_EQ(h.disk.used_bytes(), 100U);
    EXPECT_EQ(h.write(kF, 0, filled(100, 2)), IoStatus::ok);  // overwrites need no space
    EXPECT_EQ(h.write(kF, 100, filled(1, 3)), IoStatus::no_space);
    EXPECT_EQ(h.truncate(kF, 101), IoStatus::no_space);
    EXPECT_EQ(h.file("f"), filled(100, 2));

    // Space is shared by all files.
    ASSERT_EQ(h.truncate(kF, 50), IoStatus::ok);
    ASSERT_EQ(h.open(kG, "g"), IoStatus::ok);
    EXPECT_EQ(h.write(kG, 0, filled(51, 4)), IoStatus::no_space);
    EXPECT_EQ(h.write(kG, 0, filled(50, 4)), IoStatus::ok);
    EXPECT_EQ(h.disk.used_bytes(), 100U);
}

TEST(DiskSpace, FileCountIsBounded) {
    DiskParams params;
    params.files_max = 2;
    DiskHarness h(1, params);
    EXPECT_EQ(h.open(FileId(1), "a"), IoStatus::ok);
    EXPECT_EQ(h.open(FileId(2), "b"), IoStatus::ok);
    EXPECT_EQ(h.open(FileId(3), "c"), IoStatus::no_space);
    EXPECT_EQ(h.open(FileId(3), "a"), IoStatus::ok);  // an existing file needs no new entry
}

// ---- (g) the plain API
// ----------------------------------------------------------------------------

TEST(DiskApi, WipeRemovesEverything) {
    DiskHarness h;
    h.make_durable(kF, "f", pattern(10));
    h.make_durable(kG, "g", pattern(10));
    ASSERT_EQ(h.remove("g"), IoStatus::ok);  // pending, not yet durable
    h.disk.wipe();
    EXPECT_TRUE(h.disk.names().empty());
    EXPECT_EQ(h.disk.used_bytes(), 0U);
    EXPECT_EQ(h.write(kF, 0, pattern(1)), IoStatus::bad_file);
    h.disk.crash();
    EXPECT_TRUE(h.disk.names().empty());
}

TEST(DiskApi, UnknownFileIdIsBadFile) {
    DiskHarness h;
    const FileId bogus(42);
    EXPECT_EQ(h.write(bogus, 0, pattern(1)), IoStatus::bad_file);
    EXPECT_EQ(h.read(bogus, 0, 1).status, IoStatus::bad_file);
    EXPECT_EQ(h.fsync(bogus), IoStatus::bad_file);
    EXPECT_EQ(h.truncate(bogus, 0), IoStatus::bad_file);

    ASSERT_EQ(h.open(kF, "f"), IoStatus::ok);
    EXPECT_FALSE(h.disk.execute(io::Close{kF}).has_value());  // Close has no completion
    EXPECT_EQ(h.write(kF, 0, pattern(1)), IoStatus::bad_file);
    EXPECT_EQ(h.open(kF, "f"), IoStatus::ok);  // the id can be reused
}

TEST(DiskApi, OpenModes) {
    DiskHarness h;
    EXPECT_EQ(h.open(kF, "missing", false), IoStatus::not_found);
    EXPECT_TRUE(h.disk.names().empty());
    ASSERT_EQ(h.open(kF, "f", true, true), IoStatus::ok);
    ASSERT_EQ(h.write(kF, 0, pattern(12)), IoStatus::ok);
    EXPECT_EQ(h.open(kG, "f", true, true), IoStatus::already_exists);
    const auto again = h.run(io::Open{IoToken(7), kG, "f", true, false});
    EXPECT_EQ(again.status, IoStatus::ok);
    EXPECT_EQ(again.token, IoToken(7));
    EXPECT_EQ(again.size, 12U);
    // Two handles, one file.
    ASSERT_EQ(h.write(kG, 12, pattern(3)), IoStatus::ok);
    EXPECT_EQ(h.read(kF, 0, 100).data.size(), 15U);
}

TEST(DiskApi, RemoveAndListNames) {
    DiskHarness h;
    for (const char* name : {"b", "a", "c"}) {
        ASSERT_EQ(h.open(FileId(static_cast<std::uint32_t>(name[0])), name), IoStatus::ok);
    }
    const auto listed = h.run(io::List{IoToken(5)});
    EXPECT_EQ(listed.status, IoStatus::ok);
    EXPECT_EQ(listed.names, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(listed.size, 3U);
    EXPECT_EQ(h.remove("b"), IoStatus::ok);
    EXPECT_EQ(h.remove("b"), IoStatus::not_found);
    EXPECT_EQ(h.disk.names(), (std::vector<std::string>{"a", "c"}));
}

TEST(DiskApi, ReadsAreShortAtTheEnd) {
    DiskHarness h;
    ASSERT_EQ(h.open(kF, "f"), IoStatus::ok);
    ASSERT_EQ(h.write(kF, 0, pattern(10)), IoStatus::ok);
    const auto tail = h.read(kF, 5, 100);
    EXPECT_EQ(tail.status, IoStatus::ok);
    EXPECT_EQ(tail.size, 5U);
    const Bytes ten = pattern(10);
    EXPECT_EQ(tail.data, Bytes(ten.begin() + 5, ten.end()));
    const auto past = h.read(kF, 20, 10);
    EXPECT_EQ(past.status, IoStatus::ok);
    EXPECT_TRUE(past.data.empty());
    EXPECT_EQ(past.size, 0U);
    // A write past the end leaves a hole of zeros.
    ASSERT_EQ(h.write(kF, 15, filled(1, 9)), IoStatus::ok);
    EXPECT_EQ(h.read(kF, 10, 6).data, (Bytes{0, 0, 0, 0, 0, 9}));
}

TEST(DiskApi, CompletionsCarryTokenAndSize) {
    DiskHarness h;
    ASSERT_EQ(h.open(kF, "f"), IoStatus::ok);
    const auto written = h.run(io::Write{IoToken(11), kF, 0, pattern(33)});
    EXPECT_EQ(written.token, IoToken(11));
    EXPECT_EQ(written.size, 33U);
    const auto truncated = h.run(io::Truncate{IoToken(12), kF, 7});
    EXPECT_EQ(truncated.token, IoToken(12));
    EXPECT_EQ(truncated.size, 7U);
}

TEST(DiskApi, LatencyModel) {
    DiskParams params;
    DiskHarness h(3, params);
    for (int i = 0; i < 200; ++i) {
        EXPECT_GE(h.disk.latency(io::Write{IoToken(1), kF, 0, {}}), params.latency_min);
        EXPECT_GE(h.disk.latency(io::Fsync{IoToken(1), kF}), params.latency_min);
    }
    EXPECT_EQ(h.counters.count(FaultKind::slow_io), 0U);
    h.plan.set(FaultKind::slow_io, 1.0);
    (void)h.disk.latency(io::Read{IoToken(1), kF, 0, 1});
    EXPECT_EQ(h.counters.count(FaultKind::slow_io), 1U);
}

// A write whose end lies past 2^64 - a machine's offset arithmetic gone
// wrong - must fail cleanly rather than scribble outside the file. Run in a
// child process, so memory corruption fails this test only.
TEST(DiskApi, WriteAtAnAbsurdOffsetFailsCleanly) {
    EXPECT_EXIT(
        {
            DiskHarness h;
            h.make_durable(kF, "f", pattern(8));
            const auto status = h.write(kF, ~0ULL - 1, filled(4, 0xee));
            const bool unchanged = h.file("f") == pattern(8);
            std::exit(status != IoStatus::ok && unchanged ? 0 : 3);
        },
        ::testing::ExitedWithCode(0), "");
    EXPECT_EXIT(
        {
            // No wrap-around of the end, but of used bytes (other files
            // count) + growth.
            DiskHarness h;
            h.make_durable(kF, "f", pattern(8));
            h.make_durable(kG, "g", pattern(100));
            const auto status = h.write(kF, ~0ULL - 4, filled(4, 0xee));
            const bool unchanged = h.file("f") == pattern(8);
            std::exit(status != IoStatus::ok && unchanged ? 0 : 3);
        },
        ::testing::ExitedWithCode(0), "");
}

TEST(DiskApiDeathTest, OpeningAnOpenFileIdAborts) {
    DiskHarness h;
    ASSERT_EQ(h.open(kF, "f"), IoStatus::ok);
    EXPECT_DEATH((void)h.open(kF, "g"), "Open of a FileId already open");
    EXPECT_DEATH((void)h.disk.execute(io::Send{NodeId(1), {}}), "not a disk operation");
}

// ---- Direct files and reservations ------------------------------------------

TEST(DiskDirect, AlignedWritesWorkAndReservationsCheckFreeSpace) {
    DiskHarness h(1, DiskParams{.capacity_bytes = 1 << 20});
    io::Open open{IoToken(100), kF, "d", true, false};
    open.direct = true;
    open.reserve_bytes = 512 << 10;
    ASSERT_EQ(h.run(open).status, IoStatus::ok);
    EXPECT_EQ(h.write(kF, 4096, filled(8192, 0x5a)), IoStatus::ok);
    EXPECT_EQ(h.read(kF, 4100, 3).data, filled(3, 0x5a));
    // An empty file asking for more than is free is refused, and not opened.
    io::Open greedy{IoToken(101), kG, "g", true, false};
    greedy.reserve_bytes = 2 << 20;
    EXPECT_EQ(h.run(greedy).status, IoStatus::no_space);
    EXPECT_EQ(h.write(kG, 0, filled(1, 1)), IoStatus::bad_file);
}

TEST(DiskApiDeathTest, MisalignedWriteToADirectFileAborts) {
    DiskHarness h;
    io::Open open{IoToken(100), kF, "d", true, false};
    open.direct = true;
    ASSERT_EQ(h.run(open).status, IoStatus::ok);
    EXPECT_DEATH((void)h.write(kF, 0, filled(100, 1)), "misaligned write");
    EXPECT_DEATH((void)h.write(kF, 100, filled(4096, 1)), "misaligned write");
}

}  // namespace
}  // namespace samsa::sim

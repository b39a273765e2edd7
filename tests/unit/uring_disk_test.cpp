// Tests of runtime::UringDisk against a real directory: the seam's disk
// contract (per-file order, short reads only at end of file, error statuses,
// exactly one completion per token) and the ring's bound on work in flight.
#include "runtime/uring_disk.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "core/io/seam.h"
#include "tests/unit/printers.h"
#include "tests/unit/temp_dir.h"

namespace samsa::runtime {
namespace {

using io::IoStatus;

class TempDir : public testing::TempDir {
public:
    TempDir() : testing::TempDir("samsa-uring") {}
};

io::Bytes bytes_of(const std::string& text) {
    return io::Bytes(text.begin(), text.end());
}

std::string text_of(const io::Bytes& bytes) {
    return std::string(bytes.begin(), bytes.end());
}

std::string file_contents(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Collects exactly `count` completions, sleeping on the eventfd between
// reaps the way an event loop would; fails the test after 10 s.
std::vector<io::IoCompleted> wait_for(UringDisk& disk, std::size_t count) {
    std::vector<io::IoCompleted> all;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        for (auto& done : disk.reap()) all.push_back(std::move(done));
        if (all.size() >= count) break;
        if (std::chrono::steady_clock::now() > deadline) {
            ADD_FAILURE() << "timed out with " << all.size() << " of " << count << " completions";
            break;
        }
        pollfd ready{disk.event_fd(), POLLIN, 0};
        ::poll(&ready, 1, 100);
        eventfd_t counter = 0;
        (void)::eventfd_read(disk.event_fd(), &counter);
    }
    EXPECT_EQ(all.size(), count);
    return all;
}

io::IoCompleted one(UringDisk& disk, io::Effect operation) {
    disk.submit(std::move(operation));
    auto done = wait_for(disk, 1);
    return done.empty() ? io::IoCompleted{} : std::move(done.front());
}

io::Open open(std::uint64_t token, std::uint32_t file, std::string name, bool create = true,
              bool exclusive = false) {
    return io::Open{IoToken(token), FileId(file), std::move(name), create, exclusive};
}

io::Write write(std::uint64_t token, std::uint32_t file, std::uint64_t offset, std::string text) {
    return io::Write{IoToken(token), FileId(file), offset, bytes_of(text)};
}

io::Read read(std::uint64_t token, std::uint32_t file, std::uint64_t offset, std::uint32_t length) {
    return io::Read{IoToken(token), FileId(file), offset, length};
}

// 8 bytes that say which write they came from.
std::string record(std::uint32_t index) {
    std::string text = std::to_string(index);
    text.insert(0, 8 - text.size(), '0');
    return text;
}

TEST(UringDisk, CreatesMissingDataDirectory) {
    TempDir dir;
    const std::string nested = dir.path() + "/a/b";
    UringDisk disk(nested);
    EXPECT_TRUE(std::filesystem::is_directory(nested));
    EXPECT_GE(disk.event_fd(), 0);
}

TEST(UringDisk, OpenCreateWriteFsyncReadBack) {
    TempDir dir;
    UringDisk disk(dir.path());
    auto opened = one(disk, open(1, 7, "a.log"));
    EXPECT_EQ(opened.token, IoToken(1));
    EXPECT_EQ(opened.status, IoStatus::ok);
    EXPECT_EQ(opened.size, 0U);
    auto written = one(disk, write(2, 7, 0, "hello"));
    EXPECT_EQ(written.status, IoStatus::ok);
    EXPECT_EQ(written.size, 5U);
    EXPECT_EQ(one(disk, io::Fsync{IoToken(3), FileId(7)}).status, IoStatus::ok);
    auto got = one(disk, read(4, 7, 0, 5));
    EXPECT_EQ(got.status, IoStatus::ok);
    EXPECT_EQ(got.size, 5U);
    EXPECT_EQ(text_of(got.data), "hello");
    EXPECT_EQ(file_contents(dir.path() + "/a.log"), "hello");
    EXPECT_EQ(one(disk, io::SyncDir{IoToken(5)}).status, IoStatus::ok);
}

TEST(UringDisk, OperationsOnOneFileTakeEffectInIssueOrder) {
    TempDir dir;
    UringDisk disk(dir.path());
    // All four submitted before any completes: the Write waits for the Open,
    // the Read for the Write.
    disk.submit(open(1, 1, "fifo.log"));
    disk.submit(write(2, 1, 0, "first"));
    disk.submit(io::Fsync{IoToken(3), FileId(1)});
    disk.submit(read(4, 1, 0, 64));
    const auto done = wait_for(disk, 4);
    ASSERT_EQ(done.size(), 4U);
    for (std::size_t i = 0; i < done.size(); ++i) {
        EXPECT_EQ(done[i].token, IoToken(i + 1));
        EXPECT_EQ(done[i].status, IoStatus::ok);
    }
    EXPECT_EQ(text_of(done[3].data), "first");
    // Each token completes exactly once.
    EXPECT_TRUE(disk.reap().empty());
    EXPECT_EQ(disk.operations_pending(), 0U);
}

// Group commit's pattern: write, fsync, then a write that may pass that
// fsync, rewriting the end of the first. The passing write still follows the
// earlier write, and what comes after it (an fsync, a plain write) follows it.
TEST(UringDisk, AWriteThatMayPassAnFsyncStillFollowsEarlierWrites) {
    TempDir dir;
    UringDisk disk(dir.path());
    ASSERT_EQ(one(disk, open(1, 1, "gc.log")).status, IoStatus::ok);
    for (std::uint64_t round = 0; round < 200; ++round) {
        const std::uint64_t base = 10 + round * 10;
        disk.submit(write(base, 1, 0, std::string(64, 'a')));
        disk.submit(io::Fsync{IoToken(base + 1), FileId(1)});
        io::Write passing = write(base + 2, 1, 32, std::string(64, 'b'));
        passing.may_pass_fsync = true;
        disk.submit(std::move(passing));
        disk.submit(io::Fsync{IoToken(base + 3), FileId(1)});
        disk.submit(write(base + 4, 1, 96, "c"));
        std::vector<std::uint64_t> order;
        for (const auto& done : wait_for(disk, 5)) {
            EXPECT_EQ(done.status, IoStatus::ok);
            order.push_back(done.token.value() - base);
        }
        ASSERT_EQ(order.size(), 5U);
        const auto at = [&](std::uint64_t k) {
            return std::find(order.begin(), order.end(), k) - order.begin();
        };
        EXPECT_LT(at(0), at(2)) << "round " << round;
        EXPECT_LT(at(1), at(3)) << "round " << round;
        EXPECT_LT(at(2), at(3)) << "round " << round;
        EXPECT_LT(at(3), at(4)) << "round " << round;
        EXPECT_EQ(file_contents(dir.path() + "/gc.log"),
                  std::string(32, 'a') + std::string(64, 'b') + "c")
            << "round " << round;
    }
    EXPECT_EQ(disk.operations_pending(), 0U);
}

// poll() is what an event loop calls between its own handlers: it takes the
// kernel's completions and starts what they unblock, so the second write of a
// file goes out without anyone reaping. The completions wait for reap(), and
// the eventfd says so.
TEST(UringDisk, PollStartsWhatACompletionUnblocksWithoutReaping) {
    TempDir dir;
    UringDisk disk(dir.path());
    ASSERT_EQ(one(disk, open(1, 1, "poll.log")).status, IoStatus::ok);
    disk.submit(write(2, 1, 0, std::string(64, 'a')));
    disk.submit(write(3, 1, 32, std::string(64, 'b')));  // waits for the first
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (disk.operations_pending() > 0 && std::chrono::steady_clock::now() < deadline) {
        disk.poll();
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    ASSERT_EQ(disk.operations_pending(), 0U) << "the second write never started";
    pollfd ready{disk.event_fd(), POLLIN, 0};
    EXPECT_EQ(::poll(&ready, 1, 0), 1) << "completions wait, and the eventfd must say so";
    const auto done = disk.reap();
    ASSERT_EQ(done.size(), 2U);
    EXPECT_EQ(done[0].token, IoToken(2));
    EXPECT_EQ(done[1].token, IoToken(3));
    EXPECT_EQ(file_contents(dir.path() + "/poll.log"), std::string(32, 'a') + std::string(64, 'b'));
}

TEST(UringDisk, ReadIsShortOnlyAtEndOfFile) {
    TempDir dir;
    UringDisk disk(dir.path());
    one(disk, open(1, 1, "short.log"));
    one(disk, write(2, 1, 0, "0123456789"));
    auto tail = one(disk, read(3, 1, 5, 100));
    EXPECT_EQ(tail.status, IoStatus::ok);
    EXPECT_EQ(tail.size, 5U);
    EXPECT_EQ(text_of(tail.data), "56789");
    auto beyond = one(disk, read(4, 1, 100, 10));
    EXPECT_EQ(beyond.status, IoStatus::ok);
    EXPECT_EQ(beyond.size, 0U);
    EXPECT_TRUE(beyond.data.empty());
    auto nothing = one(disk, read(5, 1, 0, 0));
    EXPECT_EQ(nothing.status, IoStatus::ok);
    EXPECT_TRUE(nothing.data.empty());
}

TEST(UringDisk, ExclusiveCreateOfExistingFileFails) {
    TempDir dir;
    UringDisk disk(dir.path());
    EXPECT_EQ(one(disk, open(1, 1, "x.log")).status, IoStatus::ok);
    EXPECT_EQ(one(disk, open(2, 2, "x.log", true, true)).status, IoStatus::already_exists);
    // Without exclusive, create opens the existing file.
    EXPECT_EQ(one(disk, open(3, 3, "x.log", true, false)).status, IoStatus::ok);
}

TEST(UringDisk, OpenOfMissingFileWithoutCreateFails) {
    TempDir dir;
    UringDisk disk(dir.path());
    auto done = one(disk, open(1, 1, "missing.log", false));
    EXPECT_EQ(done.status, IoStatus::not_found);
    EXPECT_EQ(done.size, 0U);
    // The FileId did not become open.
    EXPECT_EQ(one(disk, read(2, 1, 0, 1)).status, IoStatus::bad_file);
}

TEST(UringDisk, RemoveAndList) {
    TempDir dir;
    UringDisk disk(dir.path());
    one(disk, open(1, 1, "b.log"));
    one(disk, open(2, 2, "a.log"));
    auto listed = one(disk, io::List{IoToken(3)});
    EXPECT_EQ(listed.status, IoStatus::ok);
    EXPECT_EQ(listed.names, (std::vector<std::string>{"a.log", "b.log"}));
    EXPECT_EQ(listed.size, 2U);
    EXPECT_EQ(one(disk, io::Remove{IoToken(4), "a.log"}).status, IoStatus::ok);
    EXPECT_EQ(one(disk, io::List{IoToken(5)}).names, std::vector<std::string>{"b.log"});
    EXPECT_EQ(one(disk, io::Remove{IoToken(6), "a.log"}).status, IoStatus::not_found);
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/a.log"));
}

TEST(UringDisk, NamespaceOperationsKeepIssueOrder) {
    TempDir dir;
    UringDisk disk(dir.path());
    one(disk, open(1, 1, "gone.log"));
    // Issued together: the Open must see the Remove, and the List the Open.
    disk.submit(io::Remove{IoToken(2), "gone.log"});
    disk.submit(open(3, 2, "gone.log", false));
    disk.submit(open(4, 3, "new.log"));
    disk.submit(io::List{IoToken(5)});
    const auto done = wait_for(disk, 4);
    ASSERT_EQ(done.size(), 4U);
    EXPECT_EQ(done[0].status, IoStatus::ok);
    EXPECT_EQ(done[1].status, IoStatus::not_found);
    EXPECT_EQ(done[2].status, IoStatus::ok);
    EXPECT_EQ(done[3].names, std::vector<std::string>{"new.log"});
}

TEST(UringDisk, TruncateShrinksAndGrowsWithZeros) {
    TempDir dir;
    UringDisk disk(dir.path());
    one(disk, open(1, 1, "t.log"));
    one(disk, write(2, 1, 0, "abcdefgh"));
    auto shrunk = one(disk, io::Truncate{IoToken(3), FileId(1), 3});
    EXPECT_EQ(shrunk.status, IoStatus::ok);
    EXPECT_EQ(shrunk.size, 3U);
    EXPECT_EQ(text_of(one(disk, read(4, 1, 0, 64)).data), "abc");
    EXPECT_EQ(one(disk, io::Truncate{IoToken(5), FileId(1), 6}).status, IoStatus::ok);
    EXPECT_EQ(text_of(one(disk, read(6, 1, 0, 64)).data), std::string("abc\0\0\0", 6));
}

TEST(UringDisk, TruncateKeepsItsPlaceInTheFileQueue) {
    TempDir dir;
    UringDisk disk(dir.path());
    one(disk, open(1, 1, "q.log"));
    disk.submit(write(2, 1, 0, "0123456789"));
    disk.submit(io::Truncate{IoToken(3), FileId(1), 4});
    disk.submit(write(4, 1, 4, "xy"));
    disk.submit(read(5, 1, 0, 64));
    const auto done = wait_for(disk, 4);
    ASSERT_EQ(done.size(), 4U);
    for (std::size_t i = 0; i < done.size(); ++i) EXPECT_EQ(done[i].token, IoToken(i + 2));
    EXPECT_EQ(text_of(done[3].data), "0123xy");
}

TEST(UringDisk, OperationsOnAFileThatIsNotOpenFailWithBadFile) {
    TempDir dir;
    UringDisk disk(dir.path());
    EXPECT_EQ(one(disk, write(1, 99, 0, "x")).status, IoStatus::bad_file);
    EXPECT_EQ(one(disk, read(2, 99, 0, 1)).status, IoStatus::bad_file);
    EXPECT_EQ(one(disk, io::Fsync{IoToken(3), FileId(99)}).status, IoStatus::bad_file);
    EXPECT_EQ(one(disk, io::Truncate{IoToken(4), FileId(99), 0}).status, IoStatus::bad_file);
    // Close has no completion, and what follows it sees the file closed.
    one(disk, open(5, 1, "c.log"));
    disk.submit(write(6, 1, 0, "before"));
    disk.submit(io::Close{FileId(1)});
    disk.submit(write(7, 1, 0, "after"));
    const auto done = wait_for(disk, 2);
    ASSERT_EQ(done.size(), 2U);
    EXPECT_EQ(done[0].status, IoStatus::ok);
    EXPECT_EQ(done[1].status, IoStatus::bad_file);
    EXPECT_TRUE(disk.reap().empty());
    EXPECT_EQ(file_contents(dir.path() + "/c.log"), "before");
}

TEST(UringDisk, NamesMustBePlain) {
    TempDir dir;
    UringDisk disk(dir.path() + "/data");
    for (const std::string name : {"../escape.log", "sub/x.log", ".", "..", "", "/abs"}) {
        EXPECT_EQ(one(disk, open(1, 1, name)).status, IoStatus::io_error) << name;
        EXPECT_EQ(one(disk, io::Remove{IoToken(2), name}).status, IoStatus::io_error) << name;
    }
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/escape.log"));
}

TEST(UringDisk, ThousandWritesInFlightOnOneFileLandInPlace) {
    TempDir dir;
    UringDisk disk(dir.path());
    constexpr std::uint32_t writes = 1000;
    one(disk, open(1, 1, "many.log"));
    for (std::uint32_t i = 0; i < writes; ++i) disk.submit(write(100 + i, 1, i * 8ULL, record(i)));
    disk.submit(io::Fsync{IoToken(99), FileId(1)});
    EXPECT_LE(disk.operations_in_flight(), UringDisk::operations_in_flight_max);
    const auto done = wait_for(disk, writes + 1);
    ASSERT_EQ(done.size(), writes + 1);
    for (std::uint32_t i = 0; i < writes; ++i) {
        ASSERT_EQ(done[i].token, IoToken(100 + i));  // one file: completions in issue order
        ASSERT_EQ(done[i].status, IoStatus::ok);
        ASSERT_EQ(done[i].size, 8U);
    }
    const std::string contents = file_contents(dir.path() + "/many.log");
    ASSERT_EQ(contents.size(), writes * 8U);
    for (std::uint32_t i = 0; i < writes; ++i) ASSERT_EQ(contents.substr(i * 8, 8), record(i));
}

TEST(UringDisk, ThousandWritesOnTenFilesLandInPlace) {
    TempDir dir;
    UringDisk disk(dir.path());
    constexpr std::uint32_t files = 10;
    constexpr std::uint32_t writes = 1000;
    for (std::uint32_t f = 0; f < files; ++f) disk.submit(open(f, f, "f" + std::to_string(f)));
    // Interleaved across files, each file's writes in offset order.
    for (std::uint32_t i = 0; i < writes; ++i) {
        const std::uint32_t file = i % files;
        disk.submit(write(1000 + i, file, (i / files) * 8ULL, record(i)));
    }
    const auto done = wait_for(disk, files + writes);
    for (const auto& completion : done) ASSERT_EQ(completion.status, IoStatus::ok);
    for (std::uint32_t f = 0; f < files; ++f) {
        const std::string contents = file_contents(dir.path() + "/f" + std::to_string(f));
        ASSERT_EQ(contents.size(), writes / files * 8);
        for (std::uint32_t k = 0; k < writes / files; ++k) {
            ASSERT_EQ(contents.substr(k * 8, 8), record(k * files + f));
        }
    }
}

TEST(UringDisk, MoreFilesThanRingSlotsWaitAndAllComplete) {
    TempDir dir;
    UringDisk disk(dir.path());
    constexpr std::uint32_t files = UringDisk::operations_in_flight_max + 100;
    // Opens are namespace operations: they run one after another.
    for (std::uint32_t f = 0; f < files; ++f) disk.submit(open(f, f, "g" + std::to_string(f)));
    EXPECT_EQ(disk.operations_in_flight(), 1U);
    for (const auto& completion : wait_for(disk, files)) ASSERT_EQ(completion.status, IoStatus::ok);
    // Writes to different files may all run at once - up to the ring's size.
    for (std::uint32_t f = 0; f < files; ++f) {
        disk.submit(write(1000 + 2ULL * f, f, 0, record(f)));
        disk.submit(io::Fsync{IoToken(1001 + 2ULL * f), FileId(f)});
        ASSERT_LE(disk.operations_in_flight(), UringDisk::operations_in_flight_max);
    }
    EXPECT_EQ(disk.operations_in_flight(), UringDisk::operations_in_flight_max);
    const auto done = wait_for(disk, 2ULL * files);
    for (const auto& completion : done) ASSERT_EQ(completion.status, IoStatus::ok);
    EXPECT_EQ(disk.operations_pending(), 0U);
    EXPECT_EQ(one(disk, io::List{IoToken(1 << 20)}).size, files);
    for (std::uint32_t f = 0; f < files; ++f) {
        ASSERT_EQ(file_contents(dir.path() + "/g" + std::to_string(f)), record(f));
    }
}

TEST(UringDisk, FilesSurviveReopeningTheDirectory) {
    TempDir dir;
    {
        UringDisk disk(dir.path());
        one(disk, open(1, 1, "kept.log"));
        one(disk, write(2, 1, 0, "durable"));
        one(disk, io::Fsync{IoToken(3), FileId(1)});
        one(disk, io::SyncDir{IoToken(4)});
    }
    UringDisk disk(dir.path());
    auto opened = one(disk, open(5, 1, "kept.log", false));
    EXPECT_EQ(opened.status, IoStatus::ok);
    EXPECT_EQ(opened.size, 7U);
    EXPECT_EQ(text_of(one(disk, read(6, 1, 0, 64)).data), "durable");
}

TEST(UringDisk, DestructorWaitsForOperationsInFlight) {
    TempDir dir;
    {
        UringDisk disk(dir.path());
        one(disk, open(1, 1, "busy.log"));
        for (std::uint32_t i = 0; i < 300; ++i) {
            disk.submit(open(10 + i, 10 + i, "busy" + std::to_string(i)));
        }
        disk.submit(write(2, 1, 0, std::string(1 << 20, 'z')));
    }  // must neither hang nor leave the kernel writing into freed memory
    UringDisk disk(dir.path());
    EXPECT_EQ(one(disk, open(1, 1, "busy.log", false)).status, IoStatus::ok);
}

// ---- Direct files (O_DIRECT) ----------------------------------------------

io::Open open_direct(std::uint64_t token, std::uint32_t file, std::string name,
                     std::uint64_t reserve = 0) {
    io::Open open{IoToken(token), FileId(file), std::move(name), true, false};
    open.direct = true;
    open.reserve_bytes = reserve;
    return open;
}

std::string pattern(std::size_t size, char seed) {
    std::string text(size, ' ');
    for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>(seed + i % 23);
    return text;
}

TEST(UringDiskDirect, AlignedWritesAndReadsOfAnyRange) {
    TempDir dir;
    UringDisk disk(dir.path());
    ASSERT_EQ(one(disk, open_direct(1, 1, "d.log")).status, IoStatus::ok);
    const std::string first = pattern(8192, 'a');
    const std::string second = pattern(4096, 'K');
    EXPECT_EQ(one(disk, write(2, 1, 0, first)).size, 8192U);
    EXPECT_EQ(one(disk, write(3, 1, 8192, second)).size, 4096U);
    const std::string all = first + second;
    // Unaligned offsets and lengths come back exactly as asked.
    EXPECT_EQ(text_of(one(disk, read(4, 1, 100, 5000)).data), all.substr(100, 5000));
    EXPECT_EQ(text_of(one(disk, read(5, 1, 4095, 2)).data), all.substr(4095, 2));
    // Short only at the end of the file; nothing past it.
    EXPECT_EQ(text_of(one(disk, read(6, 1, 12000, 1000)).data), all.substr(12000));
    EXPECT_EQ(one(disk, read(7, 1, 20000, 10)).size, 0U);
    EXPECT_EQ(one(disk, io::Fsync{IoToken(8), FileId(1)}).status, IoStatus::ok);
    EXPECT_EQ(file_contents(dir.path() + "/d.log"), all);
}

TEST(UringDiskDirect, RewritesOfTheSamePageLandInIssueOrder) {
    TempDir dir;
    UringDisk disk(dir.path());
    ASSERT_EQ(one(disk, open_direct(1, 1, "d.log")).status, IoStatus::ok);
    // The way a log rewrites its partial last page: each version in flight at once.
    for (std::uint32_t i = 0; i < 64; ++i) {
        std::string page(4096, '\0');
        page.replace(0, (i + 1) * 8, std::string((i + 1) * 8, static_cast<char>('A' + i % 26)));
        disk.submit(write(10 + i, 1, 0, page));
    }
    for (const auto& done : wait_for(disk, 64)) EXPECT_EQ(done.status, IoStatus::ok);
    const std::string contents = file_contents(dir.path() + "/d.log");
    ASSERT_EQ(contents.size(), 4096U);
    EXPECT_EQ(contents.substr(0, 512), std::string(512, static_cast<char>('A' + 63 % 26)));
}

TEST(UringDiskDirect, ReservationKeepsTheSizeAndAllocatesBlocks) {
    TempDir dir;
    UringDisk disk(dir.path());
    const auto opened = one(disk, open_direct(1, 1, "r.log", 4 << 20));
    ASSERT_EQ(opened.status, IoStatus::ok);
    EXPECT_EQ(opened.size, 0U);
    struct stat status {};
    ASSERT_EQ(::stat((dir.path() + "/r.log").c_str(), &status), 0);
    EXPECT_EQ(status.st_size, 0);
    EXPECT_GE(static_cast<std::uint64_t>(status.st_blocks) * 512, 4U << 20);
    // Reopening a file with data reserves nothing more and reports its size.
    EXPECT_EQ(one(disk, write(2, 1, 0, pattern(4096, 'x'))).status, IoStatus::ok);
    disk.submit(io::Close{FileId(1)});
    EXPECT_EQ(one(disk, open_direct(3, 2, "r.log", 4 << 20)).size, 4096U);
}

TEST(UringDiskDirect, ReservationLargerThanTheDiskFailsWithNoSpace) {
    TempDir dir;
    UringDisk disk(dir.path());
    // 4 TiB: more than the test machines have free, less than ext4's file size limit.
    EXPECT_EQ(one(disk, open_direct(1, 1, "big.log", std::uint64_t{1} << 42)).status,
              IoStatus::no_space);
    EXPECT_EQ(one(disk, write(2, 1, 0, pattern(4096, 'x'))).status, IoStatus::bad_file);
}

TEST(UringDiskDirectDeathTest, MisalignedWriteIsAProgrammingError) {
    TempDir dir;
    EXPECT_DEATH(
        {
            UringDisk disk(dir.path());
            one(disk, open_direct(1, 1, "d.log"));
            one(disk, write(2, 1, 0, "not a page"));
        },
        "misaligned write");
}

TEST(AlignedBufferPool, RecyclesTheSmallestBufferThatFits) {
    AlignedBufferPool pool;
    AlignedBuffer small = pool.take(5000);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(small.data()) % io::direct_alignment, 0U);
    EXPECT_EQ(small.capacity(), 8192U);
    AlignedBuffer large = pool.take(100000);
    const std::uint8_t* large_memory = large.data();
    pool.give(std::move(small));
    pool.give(std::move(large));
    EXPECT_EQ(pool.kept(), 2U);
    EXPECT_EQ(pool.take(9000).data(), large_memory);
    for (int i = 0; i < 100; ++i) pool.give(AlignedBuffer(4096));
    EXPECT_EQ(pool.kept(), AlignedBufferPool::buffers_kept_max);
}

}  // namespace
}  // namespace samsa::runtime

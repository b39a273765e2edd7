// The simulated disk of one node: files whose writes stay pending until fsync.
//
// Each file keeps its current contents (what reads see: the page cache) and an
// undo log of the writes and truncations made since its last successful fsync.
// A crash rolls the undo log back, so exactly the durable state survives -
// unless the fault plan says that some unsynced writes did reach the platter
// (partial_flush) or that the write in flight was torn (torn_write): then a
// prefix of the unsynced writes is kept, and the write after them is kept only
// up to a random byte. Creations, renames and removals of files are durable
// only after sync_dir(); a crash forgets newer ones. Reads may fail (EIO) or come back
// with a flipped bit; writes and fsyncs may fail with EIO; writes that would
// exceed the capacity fail with ENOSPC. A file opened `direct` accepts only
// aligned writes (a misaligned one is a bug in the machine: an assertion), and
// a reservation (Open::reserve_bytes) fails with ENOSPC when the space is not
// free; it is not held afterwards (a simplification: later writes are
// checked against the capacity as usual).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/prng.h"
#include "core/base/time.h"
#include "core/io/seam.h"
#include "sim/fault_plan.h"

namespace samsa::sim {

struct DiskParams {
    std::uint64_t capacity_bytes = 1ULL << 30;
    Duration latency_min = Duration::microseconds(10);
    Duration latency_mean = Duration::microseconds(40);         // reads, writes, namespace ops
    Duration fsync_latency_mean = Duration::microseconds(300);  // fsync, sync_dir
    Duration slow_io_mean = Duration::milliseconds(40);         // extra, when slow_io fires
    std::size_t files_max = 4096;
    std::uint64_t file_bytes_max = 1ULL << 40;  // larger offsets fail with too_large
};

class SimDisk {
public:
    SimDisk(DiskParams params, Prng prng, const FaultPlan& plan, FaultCounters& counters);

    // Carries out one disk operation of the seam and returns its completion.
    // Close returns nullopt (it has no completion).
    std::optional<io::IoCompleted> execute(const io::Effect& operation);
    // How long `operation` takes, drawn from the latency model.
    Duration latency(const io::Effect& operation);

    // The process died: open handles vanish and non-durable state is lost.
    void crash();
    // Every file is gone (a replaced or reformatted disk).
    void wipe();

    void set_capacity(std::uint64_t bytes) noexcept { capacity_bytes_ = bytes; }
    [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_bytes_; }
    [[nodiscard]] std::uint64_t used_bytes() const noexcept;
    // Whether `growth` more bytes fit under the capacity.
    bool fits(std::uint64_t growth);

    // Inspection, for checkers and tests: what reads would see now.
    [[nodiscard]] std::optional<io::Bytes> contents(const std::string& name) const;
    [[nodiscard]] std::vector<std::string> names() const;
    [[nodiscard]] std::size_t unsynced_operations(const std::string& name) const;

private:
    // One write or truncation since the last fsync, with what it overwrote.
    struct Undo {
        bool is_write = true;
        std::uint64_t offset = 0;  // write: where; truncate: the new size
        io::Bytes written;         // write: the new bytes
        io::Bytes overwritten;     // old bytes in [offset, min(end, old_size))
        std::uint64_t old_size = 0;
    };
    struct File {
        io::Bytes data;
        std::vector<Undo> unsynced;
        bool durable_entry = false;  // its directory entry survives a crash
    };
    using FilePtr = std::shared_ptr<File>;

    io::IoCompleted open(const io::Open& op);
    io::IoCompleted write(const io::Write& op);
    io::IoCompleted read(const io::Read& op);
    io::IoCompleted fsync(const io::Fsync& op);
    io::IoCompleted truncate(const io::Truncate& op);
    io::IoCompleted remove(const io::Remove& op);
    io::IoCompleted rename(const io::Rename& op);
    io::IoCompleted list(const io::List& op);
    io::IoCompleted sync_dir(const io::SyncDir& op);
    File* handle(FileId file);

    static void apply(File& file, const Undo& undo, std::uint64_t length);
    static void roll_back(File& file, const std::vector<Undo>& unsynced);
    void crash_file(File& file);

    DiskParams params_;
    Prng prng_;
    const FaultPlan& plan_;
    FaultCounters& counters_;
    std::uint64_t capacity_bytes_;
    std::uint64_t used_upper_ = 0;              // at least used_bytes(): see fits()
    std::map<std::string, FilePtr> files_;      // the namespace as processes see it
    std::map<std::string, FilePtr> removed_;    // removed, but not yet durably
    std::map<std::uint32_t, FilePtr> handles_;  // open FileIds
    std::set<std::uint32_t> direct_handles_;    // open FileIds with io::Open::direct
};

}  // namespace samsa::sim

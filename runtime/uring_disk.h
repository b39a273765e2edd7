// The production disk: the seam's disk operations on one data directory,
// carried out through io_uring.
//
// Theory of operation. submit() takes one disk effect of core/io/seam.h and
// queues it; reap() hands back, without blocking, every completion that is
// ready. The io_uring signals an eventfd on each completion, so an event loop
// can sleep on event_fd() and call reap() when it becomes readable.
//
// Ordering. The seam promises that operations on one file take effect in issue
// order. io_uring does not: two SQEs in flight may run in either order (writes
// are punted to worker threads, and IOSQE_IO_LINK chains break on the first
// short result). So each FileId has a FIFO queue and only its head is in the
// kernel; the next operation is submitted when the head has completed. Files
// are independent of one another, so many files still keep the device busy.
// The one exception is a Write marked may_pass_fsync: it may start as soon as
// only Fsyncs are ahead of it in its queue, so it runs while they do.
// The namespace (Open, Remove, List, SyncDir) has one more queue of its own;
// an Open waits in both its file's queue and the namespace queue, so it sees
// the effect of every Remove issued before it - the simulator does the same.
//
// Limits. At most operations_in_flight_max operations are in the kernel at
// once (the ring's size); the rest wait in their queues and are never lost.
// Truncate, List and Close have no io_uring operation in liburing 2.3 and run
// synchronously when they reach the head of their queue; Truncate and List
// still deliver their completion through reap(), in order.
//
// Direct files (io::Open::direct) are opened with O_DIRECT: their writes go
// out from the io::Bytes itself when it is page-aligned (large ones are, see
// io::Bytes), else from a copy in a page-aligned buffer recycled through a
// pool; their reads
// are widened to aligned boundaries and cut back to what was asked. A
// filesystem that refuses O_DIRECT (tmpfs) gets buffered I/O, same rules.
// Open::reserve_bytes becomes fallocate(FALLOC_FL_KEEP_SIZE) on an empty file.
//
// Setup (creating the directory, the eventfd and the ring) happens once at
// process start; if it fails the constructor throws std::system_error, which
// the process's entry point reports. Everything after setup reports failure
// as an io::IoStatus in the completion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/io/seam.h"
#include "runtime/aligned_buffer.h"

struct io_uring;  // liburing's ring; kept out of this header

namespace samsa::runtime {

class UringDisk {
public:
    // The ring's size: operations in the kernel at once.
    static constexpr unsigned operations_in_flight_max = 256;
    // Operations accepted but not completed. A machine that queues this many
    // has a runaway loop: the seam has no back-pressure for disk effects.
    static constexpr std::size_t operations_queued_max = std::size_t{1} << 20;

    // Opens (creating it, with its parents, if missing) the data directory.
    explicit UringDisk(std::string data_dir);
    // Waits for the operations in the kernel, then closes every file.
    ~UringDisk();
    UringDisk(const UringDisk&) = delete;
    UringDisk& operator=(const UringDisk&) = delete;

    // Queues one disk effect: Open, Close, Write, Read, Fsync, Truncate,
    // Remove, List or SyncDir. Anything else is a programmer error.
    void submit(io::Effect operation);
    // Becomes readable when reap() may have something to return.
    [[nodiscard]] int event_fd() const noexcept { return event_fd_; }
    // Every completion that is ready, in completion order. Never blocks.
    [[nodiscard]] std::vector<io::IoCompleted> reap();
    // Takes the kernel's completions now and starts what they unblock (the
    // next write of a file, say) without waiting for the owner to reap: an
    // event loop calls it between its own handlers, so the device is not
    // left idle while they run. Completions still reach the owner through
    // reap(); the eventfd is signalled if any are waiting. Never blocks.
    void poll();

    [[nodiscard]] const std::string& data_dir() const noexcept { return data_dir_; }
    // Operations submitted and not yet completed (queued or in the kernel).
    [[nodiscard]] std::size_t operations_pending() const noexcept { return operations_.size(); }
    [[nodiscard]] unsigned operations_in_flight() const noexcept { return in_flight_; }

private:
    using OperationId = std::uint64_t;
    using QueueKey = std::uint64_t;

    struct Operation {
        io::Effect effect;
        std::vector<QueueKey> queues;    // one, or two for Open
        io::Bytes buffer;                // Read: the bytes read so far
        std::uint64_t done_bytes = 0;    // Read, Write: progress through short transfers
        std::uint64_t total_bytes = 0;   // Read, Write: the whole transfer
        int retries = 0;                 // EINTR/EAGAIN resubmissions so far
        AlignedBuffer aligned;           // direct files: the transfer's memory
        std::uint64_t aligned_skip = 0;  // direct reads: bytes before the asked offset
        bool buffered_fallback = false;  // Open: O_DIRECT refused, opened without it
        bool scheduled = false;          // in runnable_ or started
    };
    struct OpenFile {
        int fd = -1;
        bool direct = false;
    };

    void enqueue(OperationId id, Operation& operation);
    // Whether nothing ahead of `id` in its queues holds it back: it is at the
    // head, or it is a may_pass_fsync Write with only Fsyncs ahead.
    bool may_start(OperationId id, const Operation& operation) const;
    void schedule_if_ready(OperationId id, Operation& operation);
    void run_runnable();
    void start(OperationId id, Operation& operation);
    void start_open(OperationId id, Operation& operation, const io::Open& open);
    void start_close(OperationId id, const io::Close& close);
    void start_write(OperationId id, Operation& operation, const io::Write& write);
    void start_read(OperationId id, Operation& operation, const io::Read& read);
    void start_fsync(OperationId id, const io::Fsync& fsync);
    void start_truncate(OperationId id, const io::Truncate& truncate);
    void start_remove(OperationId id, const io::Remove& remove);
    void start_rename(OperationId id, const io::Rename& rename);
    void start_list(OperationId id, const io::List& list);
    void start_sync_dir(OperationId id);

    // Puts the next kernel request of an operation (first or continued) in the ring.
    void prepare(OperationId id, Operation& operation);
    void on_kernel_result(OperationId id, int result);
    void on_open_result(OperationId id, Operation& operation, const io::Open& open, int result);
    void finish_read(OperationId id, Operation& operation);
    void on_write_result(OperationId id, Operation& operation, int result);
    void on_read_result(OperationId id, Operation& operation, int result);

    // Delivers a completion and lets the operations behind `id` go.
    void complete(OperationId id, io::IoCompleted done);
    void complete(OperationId id, io::IoStatus status, std::uint64_t size = 0);
    void finish(OperationId id);
    [[nodiscard]] int descriptor(FileId file) const;
    [[nodiscard]] bool is_direct(FileId file) const;

    void submit_prepared();
    // Takes the completions, starts what they unblock, submits: reap() and poll().
    void advance();
    void drain_completion_queue();
    void notify_if_ready();
    void wait_for_kernel() noexcept;
    void release() noexcept;
    [[noreturn]] void fail_setup(int error, const char* what);

    std::string data_dir_;
    std::unique_ptr<io_uring> ring_;
    bool ring_ready_ = false;
    int dir_fd_ = -1;
    int event_fd_ = -1;
    unsigned in_flight_ = 0;
    unsigned prepared_ = 0;  // in the ring, not yet submitted to the kernel
    bool notified_ = false;  // the eventfd was signalled since the last reap()
    OperationId next_id_ = 1;
    std::unordered_map<OperationId, Operation> operations_;
    std::unordered_map<QueueKey, std::deque<OperationId>> queues_;
    std::deque<OperationId> runnable_;                   // may start (may_start), not started yet
    std::unordered_map<std::uint32_t, OpenFile> files_;  // by open FileId
    AlignedBufferPool buffers_;
    std::vector<io::IoCompleted> ready_;  // completions for the next reap()
};

}  // namespace samsa::runtime

#include "runtime/uring_disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>  // RENAME_NOREPLACE
#include <filesystem>
#include <limits>
#include <string_view>
#include <system_error>
#include <utility>

#include "core/base/result.h"

namespace samsa::runtime {

namespace {

// A Write that may start while Fsyncs of its file are ahead of it.
bool passes_fsyncs(const io::Effect& effect) {
    const auto* write = std::get_if<io::Write>(&effect);
    return write != nullptr && write->may_pass_fsync;
}

template <class... Fs>
struct Overloaded : Fs... {
    using Fs::operator()...;
};

// FileIds are 32-bit, so this key can never collide with a file's queue.
constexpr std::uint64_t namespace_queue = std::uint64_t{1} << 32;
// One kernel request moves at most this much; the kernel caps a transfer near
// 2 GiB anyway, and the loop over short transfers carries on from there.
constexpr std::uint64_t transfer_bytes_max = std::uint64_t{1} << 30;
// EINTR/EAGAIN from the kernel are resubmitted this many times, then reported.
constexpr int retries_max = 16;
// The largest file offset the kernel accepts.
constexpr std::uint64_t offset_max = std::numeric_limits<off_t>::max();
constexpr mode_t file_mode = 0644;

io::IoStatus status_of_errno(int error) {
    switch (error) {
        case ENOSPC:
        case EDQUOT: return io::IoStatus::no_space;
        case ENOENT: return io::IoStatus::not_found;
        case EEXIST: return io::IoStatus::already_exists;
        case EFBIG: return io::IoStatus::too_large;
        case EBADF: return io::IoStatus::bad_file;
        default: return io::IoStatus::io_error;  // EIO, and anything the seam has no word for
    }
}

// A machine's whole world is the one data directory, and the simulator has no
// subdirectories: a name with '/' (or "." / "..") could reach outside it or
// into places List never shows, so it is refused rather than interpreted.
bool is_plain_name(const std::string& name) {
    return !name.empty() && name != "." && name != ".." &&
           name.find_first_of(std::string_view("/\0", 2)) == std::string::npos;
}

bool is_disk_operation(const io::Effect& operation) {
    return !std::holds_alternative<io::Send>(operation) &&
           !std::holds_alternative<io::SetTimer>(operation) &&
           !std::holds_alternative<io::CancelTimer>(operation) &&
           !std::holds_alternative<io::ClientReply>(operation) &&
           !std::holds_alternative<io::ClientClose>(operation);
}

// Operations that need a kernel request (and so a slot in the ring).
bool uses_ring(const io::Effect& operation) {
    return std::holds_alternative<io::Open>(operation) ||
           std::holds_alternative<io::Write>(operation) ||
           std::holds_alternative<io::Read>(operation) ||
           std::holds_alternative<io::Fsync>(operation) ||
           std::holds_alternative<io::Remove>(operation) ||
           std::holds_alternative<io::Rename>(operation) ||
           std::holds_alternative<io::SyncDir>(operation);
}

std::vector<std::uint64_t> queues_of(const io::Effect& operation) {
    const auto file_queue = [](FileId file) { return std::uint64_t{file.value()}; };
    return std::visit(
        Overloaded{
            [&](const io::Open& e) {
                return std::vector<std::uint64_t>{file_queue(e.file), namespace_queue};
            },
            [&](const io::Close& e) { return std::vector<std::uint64_t>{file_queue(e.file)}; },
            [&](const io::Write& e) { return std::vector<std::uint64_t>{file_queue(e.file)}; },
            [&](const io::Read& e) { return std::vector<std::uint64_t>{file_queue(e.file)}; },
            [&](const io::Fsync& e) { return std::vector<std::uint64_t>{file_queue(e.file)}; },
            [&](const io::Truncate& e) { return std::vector<std::uint64_t>{file_queue(e.file)}; },
            [](const auto&) { return std::vector<std::uint64_t>{namespace_queue}; },
        },
        operation);
}

IoToken token_of(const io::Effect& operation) {
    return std::visit(Overloaded{
                          [](const io::Send&) -> IoToken { SAMSA_UNREACHABLE("no token"); },
                          [](const io::SetTimer&) -> IoToken { SAMSA_UNREACHABLE("no token"); },
                          [](const io::CancelTimer&) -> IoToken { SAMSA_UNREACHABLE("no token"); },
                          [](const io::Close&) -> IoToken { SAMSA_UNREACHABLE("no token"); },
                          [](const io::ClientReply&) -> IoToken { SAMSA_UNREACHABLE("no token"); },
                          [](const io::ClientClose&) -> IoToken { SAMSA_UNREACHABLE("no token"); },
                          [](const auto& e) -> IoToken { return e.token; },
                      },
                      operation);
}

// The sorted names in the directory, without "." and "..", or an errno.
Result<std::vector<std::string>, int> list_directory(int dir_fd) {
    // A descriptor of its own: readdir moves the position of the one it reads.
    const int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Failure{errno};
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
        const int error = errno;
        ::close(fd);
        return Failure{error};
    }
    std::vector<std::string> names;
    int error = 0;
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(dir);
        if (entry == nullptr) {
            error = errno;  // 0 at the end of the directory
            break;
        }
        const std::string_view name(entry->d_name);
        if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(dir);
    if (error != 0) return Failure{error};
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

UringDisk::UringDisk(std::string data_dir)
    : data_dir_(std::move(data_dir)), ring_(std::make_unique<io_uring>()) {
    std::error_code error;
    std::filesystem::create_directories(data_dir_, error);
    if (error) fail_setup(error.value(), "cannot create data directory");
    dir_fd_ = ::open(data_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) fail_setup(errno, "cannot open data directory");
    event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event_fd_ < 0) fail_setup(errno, "eventfd");
    const int init = io_uring_queue_init(operations_in_flight_max, ring_.get(), 0);
    if (init < 0) fail_setup(-init, "io_uring_queue_init");
    ring_ready_ = true;
    const int registered = io_uring_register_eventfd(ring_.get(), event_fd_);
    if (registered < 0) fail_setup(-registered, "io_uring_register_eventfd");
    SAMSA_ASSERT(dir_fd_ >= 0 && event_fd_ >= 0);
}

UringDisk::~UringDisk() {
    wait_for_kernel();
    release();
}

void UringDisk::fail_setup(int error, const char* what) {
    release();
    throw std::system_error(error, std::generic_category(), std::string(what) + ": " + data_dir_);
}

void UringDisk::release() noexcept {
    for (const auto& [file, open] : files_) ::close(open.fd);
    files_.clear();
    if (ring_ready_) io_uring_queue_exit(ring_.get());
    ring_ready_ = false;
    if (event_fd_ >= 0) ::close(event_fd_);
    if (dir_fd_ >= 0) ::close(dir_fd_);
    event_fd_ = -1;
    dir_fd_ = -1;
}

// The kernel may still write into buffers this object owns, so it must be done
// with every request before they are freed. Operations cut short here never
// complete: the owner is going away.
void UringDisk::wait_for_kernel() noexcept {
    if (!ring_ready_) return;
    while (in_flight_ > 0) {
        const int submitted = io_uring_submit_and_wait(ring_.get(), 1);
        if (submitted == -EINTR) continue;
        if (submitted < 0) return;  // the ring is unusable; nothing more will complete
        prepared_ = 0;
        io_uring_cqe* cqe = nullptr;
        while (io_uring_peek_cqe(ring_.get(), &cqe) == 0 && cqe != nullptr) {
            const auto found = operations_.find(io_uring_cqe_get_data64(cqe));
            SAMSA_ASSERT(found != operations_.end());
            // A file opened now would otherwise leak its descriptor.
            if (std::holds_alternative<io::Open>(found->second.effect) && cqe->res >= 0) {
                ::close(cqe->res);
            }
            io_uring_cqe_seen(ring_.get(), cqe);
            --in_flight_;
        }
    }
}

void UringDisk::submit(io::Effect operation) {
    SAMSA_ASSERT_MSG(is_disk_operation(operation), "UringDisk::submit of a non-disk effect");
    SAMSA_ASSERT_MSG(operations_.size() < operations_queued_max, "operations_queued_max exceeded");
    const OperationId id = next_id_++;
    Operation& entry = operations_.try_emplace(id).first->second;
    entry.effect = std::move(operation);
    enqueue(id, entry);
    run_runnable();
    submit_prepared();
    notify_if_ready();
}

std::vector<io::IoCompleted> UringDisk::reap() {
    notified_ = false;  // the owner has been woken; later completions signal anew
    submit_prepared();  // requests the kernel refused last time (EAGAIN, EBUSY)
    advance();
    if (prepared_ > 0) notify_if_ready();  // still refused: be called again
    return std::exchange(ready_, {});
}

void UringDisk::enqueue(OperationId id, Operation& operation) {
    operation.queues = queues_of(operation.effect);
    SAMSA_ASSERT(!operation.queues.empty());
    for (const QueueKey key : operation.queues) queues_[key].push_back(id);
    schedule_if_ready(id, operation);
}

bool UringDisk::may_start(OperationId id, const Operation& operation) const {
    const bool passes_fsync = passes_fsyncs(operation.effect);
    return std::all_of(operation.queues.begin(), operation.queues.end(), [&](QueueKey key) {
        const auto queue = queues_.find(key);
        SAMSA_ASSERT(queue != queues_.end());
        if (!passes_fsync) return queue->second.front() == id;
        for (const OperationId ahead : queue->second) {
            if (ahead == id) return true;
            if (!std::holds_alternative<io::Fsync>(operations_.at(ahead).effect)) return false;
        }
        SAMSA_UNREACHABLE("operation missing from its queue");
    });
}

void UringDisk::schedule_if_ready(OperationId id, Operation& operation) {
    if (operation.scheduled || !may_start(id, operation)) return;
    operation.scheduled = true;
    runnable_.push_back(id);
}

// Starts operations in the order they became runnable. Synchronous ones finish
// at once and may make more runnable; the loop takes those too. It stops when
// the next one needs a ring slot and none is free: a completion frees one.
void UringDisk::run_runnable() {
    while (!runnable_.empty()) {
        const OperationId id = runnable_.front();
        Operation& operation = operations_.at(id);
        if (uses_ring(operation.effect) && in_flight_ >= operations_in_flight_max) return;
        runnable_.pop_front();
        start(id, operation);
    }
}

// Each start_* ends by preparing a kernel request or by completing `id`; after
// completing, `operation` is gone and must not be touched.
void UringDisk::start(OperationId id, Operation& operation) {
    std::visit(Overloaded{
                   [&](const io::Open& e) { start_open(id, operation, e); },
                   [&](const io::Close& e) { start_close(id, e); },
                   [&](const io::Write& e) { start_write(id, operation, e); },
                   [&](const io::Read& e) { start_read(id, operation, e); },
                   [&](const io::Fsync& e) { start_fsync(id, e); },
                   [&](const io::Truncate& e) { start_truncate(id, e); },
                   [&](const io::Remove& e) { start_remove(id, e); },
                   [&](const io::Rename& e) { start_rename(id, e); },
                   [&](const io::List& e) { start_list(id, e); },
                   [&](const io::SyncDir&) { start_sync_dir(id); },
                   [](const auto&) { SAMSA_UNREACHABLE("not a disk operation"); },
               },
               operation.effect);
}

void UringDisk::start_open(OperationId id, Operation& operation, const io::Open& open) {
    if (!is_plain_name(open.name)) return complete(id, io::IoStatus::io_error);
    SAMSA_ASSERT_MSG(!files_.contains(open.file.value()), "Open of a FileId already open");
    prepare(id, operation);
}

void UringDisk::start_close(OperationId id, const io::Close& close) {
    // Everything issued before the Close has completed (it is at the head of
    // the file's queue). close() of a local file does not fail in a way worth
    // reporting, and Close has no completion to report it in.
    if (const auto found = files_.find(close.file.value()); found != files_.end()) {
        ::close(found->second.fd);
        files_.erase(found);
    }
    finish(id);
}

void UringDisk::start_write(OperationId id, Operation& operation, const io::Write& write) {
    if (descriptor(write.file) < 0) return complete(id, io::IoStatus::bad_file);
    if (write.offset > offset_max || write.data.size() > offset_max - write.offset) {
        return complete(id, io::IoStatus::too_large);
    }
    operation.total_bytes = write.data.size();
    if (write.data.empty()) return complete(id, io::IoStatus::ok, 0);
    if (is_direct(write.file)) {
        SAMSA_ASSERT_MSG(write.offset % io::direct_alignment == 0 &&
                             write.data.size() % io::direct_alignment == 0,
                         "misaligned write to a direct file");
        // Large io::Bytes are page-aligned already; only the rest is copied.
        if (reinterpret_cast<std::uintptr_t>(write.data.data()) % io::direct_alignment != 0) {
            operation.aligned = buffers_.take(write.data.size());
            std::copy(write.data.begin(), write.data.end(), operation.aligned.data());
            io::Bytes().swap(std::get<io::Write>(operation.effect).data);  // copied: free it now
        }
    }
    prepare(id, operation);
}

void UringDisk::start_read(OperationId id, Operation& operation, const io::Read& read) {
    if (descriptor(read.file) < 0) return complete(id, io::IoStatus::bad_file);
    // Bytes beyond the largest offset cannot exist: that part is past the end.
    const std::uint64_t readable = read.offset < offset_max ? offset_max - read.offset : 0;
    const std::uint64_t length = std::min<std::uint64_t>(read.length, readable);
    if (length == 0) return complete(id, io::IoStatus::ok, 0);
    if (is_direct(read.file)) {
        // Widened to aligned boundaries; finish_read() cuts out what was asked.
        operation.aligned_skip = read.offset % io::direct_alignment;
        operation.total_bytes = io::align_up(operation.aligned_skip + length);
        operation.aligned = buffers_.take(operation.total_bytes);
    } else {
        operation.total_bytes = length;
        operation.buffer.resize(length);
    }
    prepare(id, operation);
}

void UringDisk::start_fsync(OperationId id, const io::Fsync& fsync) {
    if (descriptor(fsync.file) < 0) return complete(id, io::IoStatus::bad_file);
    prepare(id, operations_.at(id));
}

void UringDisk::start_truncate(OperationId id, const io::Truncate& truncate) {
    const int fd = descriptor(truncate.file);
    if (fd < 0) return complete(id, io::IoStatus::bad_file);
    if (truncate.size > offset_max) return complete(id, io::IoStatus::too_large);
    int result = 0;
    for (int attempt = 0; attempt <= retries_max; ++attempt) {
        result = ::ftruncate(fd, static_cast<off_t>(truncate.size));
        if (result == 0 || errno != EINTR) break;
    }
    if (result != 0) return complete(id, status_of_errno(errno));
    complete(id, io::IoStatus::ok, truncate.size);
}

void UringDisk::start_remove(OperationId id, const io::Remove& remove) {
    if (!is_plain_name(remove.name)) return complete(id, io::IoStatus::io_error);
    prepare(id, operations_.at(id));
}

void UringDisk::start_rename(OperationId id, const io::Rename& rename) {
    if (!is_plain_name(rename.from) || !is_plain_name(rename.to)) {
        return complete(id, io::IoStatus::io_error);
    }
    prepare(id, operations_.at(id));
}

void UringDisk::start_list(OperationId id, const io::List& list) {
    auto names = list_directory(dir_fd_);
    if (!names) return complete(id, status_of_errno(names.error()));
    io::IoCompleted done;
    done.token = list.token;
    done.names = std::move(names).value();
    done.size = done.names.size();
    complete(id, std::move(done));
}

void UringDisk::start_sync_dir(OperationId id) {
    prepare(id, operations_.at(id));
}

void UringDisk::prepare(OperationId id, Operation& operation) {
    SAMSA_ASSERT(in_flight_ < operations_in_flight_max);
    io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
    // Every request in the ring counts in in_flight_, which the ring's size bounds.
    SAMSA_ASSERT_MSG(sqe != nullptr, "io_uring submission queue full");
    const std::uint64_t done = operation.done_bytes;
    std::visit(
        Overloaded{
            [&](const io::Open& e) {
                int flags = O_RDWR | O_CLOEXEC;
                if (e.create) flags |= O_CREAT;
                // A refused O_DIRECT open may have created the file already.
                if (e.create && e.exclusive && !operation.buffered_fallback) flags |= O_EXCL;
                if (e.direct && !operation.buffered_fallback) flags |= O_DIRECT;
                io_uring_prep_openat(sqe, dir_fd_, e.name.c_str(), flags, file_mode);
            },
            [&](const io::Write& e) {
                SAMSA_ASSERT(done < operation.total_bytes);
                const auto length =
                    std::min<std::uint64_t>(operation.total_bytes - done, transfer_bytes_max);
                const std::uint8_t* from =
                    operation.aligned.empty() ? e.data.data() : operation.aligned.data();
                io_uring_prep_write(sqe, descriptor(e.file), from + done,
                                    static_cast<unsigned>(length), e.offset + done);
            },
            [&](const io::Read& e) {
                SAMSA_ASSERT(done < operation.total_bytes);
                const auto length =
                    std::min<std::uint64_t>(operation.total_bytes - done, transfer_bytes_max);
                std::uint8_t* into =
                    operation.aligned.empty() ? operation.buffer.data() : operation.aligned.data();
                io_uring_prep_read(sqe, descriptor(e.file), into + done,
                                   static_cast<unsigned>(length),
                                   e.offset - operation.aligned_skip + done);
            },
            [&](const io::Fsync& e) {
                io_uring_prep_fsync(sqe, descriptor(e.file), IORING_FSYNC_DATASYNC);
            },
            [&](const io::Remove& e) { io_uring_prep_unlinkat(sqe, dir_fd_, e.name.c_str(), 0); },
            [&](const io::Rename& e) {
                io_uring_prep_renameat(sqe, dir_fd_, e.from.c_str(), dir_fd_, e.to.c_str(),
                                       RENAME_NOREPLACE);
            },
            [&](const io::SyncDir&) { io_uring_prep_fsync(sqe, dir_fd_, 0); },
            [](const auto&) { SAMSA_UNREACHABLE("no kernel request for this operation"); },
        },
        operation.effect);
    io_uring_sqe_set_data64(sqe, id);
    ++prepared_;
    ++in_flight_;
}

void UringDisk::submit_prepared() {
    while (prepared_ > 0) {
        const int submitted = io_uring_submit(ring_.get());
        if (submitted == -EINTR) continue;
        // Out of kernel resources for now: the requests stay in the ring and
        // reap() tries again (notify_if_ready makes sure it is called).
        if (submitted == -EAGAIN || submitted == -EBUSY) return;
        SAMSA_ASSERT_MSG(submitted >= 0, "io_uring_submit failed");
        SAMSA_ASSERT(static_cast<unsigned>(submitted) <= prepared_);
        prepared_ -= static_cast<unsigned>(submitted);
        if (submitted == 0) return;
    }
}

void UringDisk::poll() {
    advance();
    notify_if_ready();
}

void UringDisk::advance() {
    drain_completion_queue();
    run_runnable();
    submit_prepared();
}

// Terminates: nothing is submitted inside the loop, so only requests already
// in the kernel (at most in_flight_) can add completions while it runs.
void UringDisk::drain_completion_queue() {
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(ring_.get(), &cqe) == 0 && cqe != nullptr) {
        const OperationId id = io_uring_cqe_get_data64(cqe);
        const int result = cqe->res;
        io_uring_cqe_seen(ring_.get(), cqe);
        on_kernel_result(id, result);
    }
}

void UringDisk::notify_if_ready() {
    // Completions made without the kernel (and submissions still to retry)
    // would otherwise wait for an unrelated wake-up. One signal per reap() is
    // enough: the eventfd stays readable until the owner reads it and reaps.
    if (notified_ || (ready_.empty() && prepared_ == 0)) return;
    const int written = ::eventfd_write(event_fd_, 1);
    SAMSA_ASSERT_MSG(written == 0, "eventfd_write failed");
    notified_ = true;
}

void UringDisk::on_kernel_result(OperationId id, int result) {
    SAMSA_ASSERT(in_flight_ > 0);
    --in_flight_;
    const auto found = operations_.find(id);
    SAMSA_ASSERT_MSG(found != operations_.end(), "completion of an unknown operation");
    Operation& operation = found->second;
    if ((result == -EINTR || result == -EAGAIN) && operation.retries < retries_max) {
        ++operation.retries;
        return prepare(id, operation);
    }
    std::visit(Overloaded{
                   [&](const io::Open& e) { on_open_result(id, operation, e, result); },
                   [&](const io::Write&) { on_write_result(id, operation, result); },
                   [&](const io::Read&) { on_read_result(id, operation, result); },
                   [&](const auto&) {
                       complete(id, result < 0 ? status_of_errno(-result) : io::IoStatus::ok);
                   },
               },
               operation.effect);
}

void UringDisk::on_open_result(OperationId id, Operation& operation, const io::Open& open,
                               int result) {
    if (result == -EINVAL && open.direct && !operation.buffered_fallback) {
        operation.buffered_fallback = true;  // no O_DIRECT here (tmpfs): same rules, buffered
        return prepare(id, operation);
    }
    if (result < 0) return complete(id, status_of_errno(-result));
    struct stat status {};
    if (::fstat(result, &status) != 0) {
        const int error = errno;
        ::close(result);
        return complete(id, status_of_errno(error));
    }
    SAMSA_ASSERT(status.st_size >= 0);
    if (open.reserve_bytes > 0 && status.st_size == 0 && open.reserve_bytes <= offset_max &&
        ::fallocate(result, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(open.reserve_bytes)) != 0) {
        const int error = errno;
        // A filesystem without fallocate just allocates as writes come.
        if (error == ENOSPC || error == EDQUOT) {
            ::close(result);
            return complete(id, io::IoStatus::no_space);
        }
    }
    files_.emplace(open.file.value(), OpenFile{result, open.direct});
    complete(id, io::IoStatus::ok, static_cast<std::uint64_t>(status.st_size));
}

void UringDisk::on_write_result(OperationId id, Operation& operation, int result) {
    if (result < 0) return complete(id, status_of_errno(-result));
    // A file that accepts no bytes of a non-empty write will not accept them
    // on a retry either; report it rather than spin.
    if (result == 0) return complete(id, io::IoStatus::io_error);
    operation.done_bytes += static_cast<std::uint64_t>(result);
    SAMSA_ASSERT(operation.done_bytes <= operation.total_bytes);
    if (operation.done_bytes < operation.total_bytes) return prepare(id, operation);
    complete(id, io::IoStatus::ok, operation.total_bytes);
}

void UringDisk::on_read_result(OperationId id, Operation& operation, int result) {
    if (result < 0) return complete(id, status_of_errno(-result));
    operation.done_bytes += static_cast<std::uint64_t>(result);
    SAMSA_ASSERT(operation.done_bytes <= operation.total_bytes);
    // A read that returns nothing is at the end of the file; anything else
    // short is continued, so a Read is short only at the end of the file. A
    // direct read that stops off an aligned boundary has met the end too.
    const bool aligned =
        operation.aligned.empty() || operation.done_bytes % io::direct_alignment == 0;
    if (result > 0 && aligned && operation.done_bytes < operation.total_bytes) {
        return prepare(id, operation);
    }
    finish_read(id, operation);
}

void UringDisk::finish_read(OperationId id, Operation& operation) {
    io::IoCompleted done;
    done.token = token_of(operation.effect);
    if (operation.aligned.empty()) {
        operation.buffer.resize(operation.done_bytes);
        done.data = std::move(operation.buffer);
    } else if (operation.done_bytes > operation.aligned_skip) {
        const auto& read = std::get<io::Read>(operation.effect);
        const std::uint64_t length =
            std::min<std::uint64_t>(operation.done_bytes - operation.aligned_skip, read.length);
        const std::uint8_t* from = operation.aligned.data() + operation.aligned_skip;
        done.data = io::copy_of({from, static_cast<std::size_t>(length)});
    }
    done.size = done.data.size();
    complete(id, std::move(done));
}

void UringDisk::complete(OperationId id, io::IoStatus status, std::uint64_t size) {
    io::IoCompleted done;
    done.token = token_of(operations_.at(id).effect);
    done.status = status;
    done.size = status == io::IoStatus::ok ? size : 0;
    complete(id, std::move(done));
}

void UringDisk::complete(OperationId id, io::IoCompleted done) {
    SAMSA_ASSERT(done.status == io::IoStatus::ok || (done.data.empty() && done.names.empty()));
    ready_.push_back(std::move(done));
    finish(id);
}

void UringDisk::finish(OperationId id) {
    const auto found = operations_.find(id);
    SAMSA_ASSERT(found != operations_.end());
    buffers_.give(std::move(found->second.aligned));
    const std::vector<QueueKey> keys = std::move(found->second.queues);
    operations_.erase(found);
    for (const QueueKey key : keys) {
        const auto queue = queues_.find(key);
        SAMSA_ASSERT(queue != queues_.end());
        // Usually the head; a may_pass_fsync Write may finish behind Fsyncs.
        const auto position = std::find(queue->second.begin(), queue->second.end(), id);
        SAMSA_ASSERT(position != queue->second.end());
        queue->second.erase(position);
        if (queue->second.empty()) {
            queues_.erase(queue);
            continue;
        }
        // What may start now: the head, and Writes that only Fsyncs hold up.
        // Queues are short (a machine keeps a few operations per file).
        for (const OperationId next : queue->second) {
            Operation& waiting = operations_.at(next);
            schedule_if_ready(next, waiting);
            if (!std::holds_alternative<io::Fsync>(waiting.effect) &&
                !passes_fsyncs(waiting.effect)) {
                break;  // nothing behind it can start before it finishes
            }
        }
    }
}

int UringDisk::descriptor(FileId file) const {
    const auto found = files_.find(file.value());
    return found == files_.end() ? -1 : found->second.fd;
}

bool UringDisk::is_direct(FileId file) const {
    const auto found = files_.find(file.value());
    return found != files_.end() && found->second.direct;
}

}  // namespace samsa::runtime

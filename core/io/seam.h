// The seam between samsa's pure state machines and the world.
//
// Theory of operation. A state machine never performs I/O. It is driven by one
// call, step(now, event, outbox): `now` is the node's monotonic time (real or
// virtual), `event` is something that happened, and the machine answers by
// appending effects - requests for the world to act - to `outbox`. The driver
// (runtime/ in production, sim/ in simulation) carries the effects out and,
// later, reports their outcome as new events. Requests that complete carry a
// token chosen by the machine, so the machine matches completions without
// callbacks or futures.
//
//          events: Start, MessageReceived, TimerFired, IoCompleted,
//                  ClientRequest, ClientGone
//   driver ---------------------------------------------------------> machine
//          <---------------------------------------------------------
//          effects: Send, SetTimer, CancelTimer, Open, Close, Write, Read,
//                   Fsync, Truncate, Remove, Rename, List, SyncDir,
//                   ClientReply, ClientClose
//
// Contract, identical for both drivers:
// - Start is the first event after every process start. Nothing of the
//   previous incarnation survives except what the disk holds durably.
// - Messages may be lost, duplicated, delayed and reordered. They arrive whole
//   or not at all.
// - A timer may fire late, early, or more than once per SetTimer: TimerFired
//   is a prompt to compare `now` with the machine's own deadline (and re-arm
//   if early). SetTimer on an armed timer re-arms it, and a re-armed or
//   cancelled timer never fires for its old arming.
// - Disk operations on the same file take effect in the order they were issued
//   (so Write then Fsync, issued together, makes the write durable). Operations
//   on different files are unordered. One exception, asked for per Write: a
//   Write with `may_pass_fsync` still follows every earlier operation on its
//   file except Fsyncs, which it may overtake - it may take effect while they
//   run, and they may or may not make it durable (a later Fsync does). Group
//   commit uses it to write the next batch while the last one is being synced. Every operation that
//   carries a token completes exactly once with that token, unless the process crashes first.
// - Operations on names - Open, Remove, Rename, List, SyncDir - take effect
//   in the order they were issued, among themselves (Open also in its file's
//   order): Rename, SyncDir, Open makes the new name durable before the
//   opened file's first Write.
// - Written data is durable only once an Fsync issued after it has completed
//   successfully. Creating, renaming and removing files is durable only after
//   SyncDir.
//   A crash loses what is not durable and may tear the sector being written.
// - Reads may return corrupted bytes (machines verify checksums) or fail.
// - Client connections (the Kafka protocol's clients, not peers) deliver
//   whole request frames in order, numbered from 0 per connection; every
//   ClientRequest is answered by exactly one ClientReply with its sequence
//   (possibly without bytes), in any order: the driver writes replies in
//   sequence order. A client may go away at any time (ClientGone); replies to
//   it are then dropped.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/base/assert.h"
#include "core/base/ids.h"
#include "core/base/time.h"

namespace samsa::io {

// Large byte buffers are allocated page-aligned, so a Write of one can go
// straight to an O_DIRECT file without being copied into aligned memory
// first; small ones are allocated as usual.
//
// Growing without a value leaves the new bytes uninitialised: Bytes(n) and
// resize(n) are for buffers about to be filled (a read, a memcpy). Spell the
// zeros out, Bytes(n, 0) and resize(n, 0), where zeros are meant. Zeroing
// first was a whole extra pass over every byte on the produce path.
template <class T>
struct PageAlignedLargeAllocator {
    using value_type = T;
    static constexpr std::size_t aligned_from_bytes = std::size_t{64} << 10;
    static constexpr std::align_val_t page{4096};

    PageAlignedLargeAllocator() noexcept = default;
    template <class U>
    PageAlignedLargeAllocator(const PageAlignedLargeAllocator<U>&) noexcept {}  // NOLINT

    T* allocate(std::size_t n) {
        const std::size_t bytes = n * sizeof(T);
        if (bytes >= aligned_from_bytes) return static_cast<T*>(::operator new(bytes, page));
        return static_cast<T*>(::operator new(bytes));
    }
    void deallocate(T* memory, std::size_t n) noexcept {
        const std::size_t bytes = n * sizeof(T);
        // Unsized forms: clang enables sized deallocation only on request.
        if (bytes >= aligned_from_bytes) {
            ::operator delete(memory, page);
        } else {
            ::operator delete(memory);
        }
    }
    template <class U>
    void construct(U* at) noexcept {
        ::new (static_cast<void*>(at)) U;  // default-initialised: no zeroing
    }
    template <class U, class... Args>
    void construct(U* at, Args&&... args) {
        ::new (static_cast<void*>(at)) U(std::forward<Args>(args)...);
    }
    template <class U>
    bool operator==(const PageAlignedLargeAllocator<U>&) const noexcept {
        return true;
    }
};

using Bytes = std::vector<std::uint8_t, PageAlignedLargeAllocator<std::uint8_t>>;

// Appends `bytes` to `out`. For large copies: vector::insert with this
// allocator copies element by element (libstdc++ hands only std::allocator's
// copies to memmove), measured at less than half of memcpy's speed.
inline void append(Bytes& out, std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) return;
    const std::size_t at = out.size();
    out.resize(at + bytes.size());
    std::memcpy(out.data() + at, bytes.data(), bytes.size());
}

// A copy of `bytes`, made with memcpy (the range constructor copies element
// by element, like insert).
inline Bytes copy_of(std::span<const std::uint8_t> bytes) {
    Bytes out;
    out.reserve(bytes.size());
    append(out, bytes);
    return out;
}

// ---- Events: what happened --------------------------------------------------

// The process (re)started. The machine recovers from its disk.
struct Start {};

struct MessageReceived {
    NodeId from;
    Bytes payload;
};

struct TimerFired {
    TimerId timer;
};

// The outcome of a disk operation.
enum class IoStatus : std::uint8_t {
    ok,
    not_found,       // Open without create, Remove of a missing file
    already_exists,  // Open with exclusive create
    io_error,        // EIO
    no_space,        // ENOSPC
    bad_file,        // a FileId that is not open
    too_large,       // EFBIG: beyond the largest file size
};
const char* to_string(IoStatus status) noexcept;

struct IoCompleted {
    IoToken token;
    IoStatus status = IoStatus::ok;
    std::uint64_t size = 0;          // Open: file size. Write: bytes written. Read: bytes read.
    Bytes data;                      // Read: the bytes read (may be short at end of file).
    std::vector<std::string> names;  // List: file names, sorted.
};

// One whole request frame from a client connection (without the 4-byte
// size prefix); `sequence` counts from 0 on each connection.
struct ClientRequest {
    ClientId client;
    std::uint64_t sequence = 0;
    Bytes frame;
};

// The connection is gone (closed by the peer, failed, or ClientClose).
struct ClientGone {
    ClientId client;
};

using Event =
    std::variant<Start, MessageReceived, TimerFired, IoCompleted, ClientRequest, ClientGone>;

// ---- Effects: what the machine asks for -------------------------------------

struct Send {
    NodeId to;
    Bytes payload;
};

struct SetTimer {
    TimerId timer;
    Duration after;
};

struct CancelTimer {
    TimerId timer;
};

// Writes to a file opened `direct` bypass the page cache (O_DIRECT): their
// offset and size must be multiples of this. Reads have no such rule.
inline constexpr std::uint64_t direct_alignment = 4096;
inline constexpr std::uint64_t align_down(std::uint64_t n) noexcept {
    return n / direct_alignment * direct_alignment;
}
inline constexpr std::uint64_t align_up(std::uint64_t n) noexcept {
    return align_down(n + direct_alignment - 1);
}

// Opens `name` as `file` (an id the machine chooses and has not open already).
// Completion carries the file's size.
struct Open {
    IoToken token;
    FileId file;
    std::string name;
    bool create = false;     // create if missing
    bool exclusive = false;  // with create: fail with already_exists if present
    // Writes go around the page cache; each must be aligned (direct_alignment).
    // A filesystem without O_DIRECT gets buffered I/O under the same rules.
    bool direct = false;
    // When the file is empty after opening: reserve this many bytes of disk
    // for it without changing its size (fallocate KEEP_SIZE), so later writes
    // need no block allocation. A full disk fails the Open with no_space.
    std::uint64_t reserve_bytes = 0;
};

// Releases `file`; no completion. Pending operations on it still complete.
struct Close {
    FileId file;
};

struct Write {
    IoToken token;
    FileId file;
    std::uint64_t offset = 0;
    Bytes data;
    // May take effect before earlier Fsyncs of the file complete (see above).
    // Not for a write over bytes that are the last durable copy of something
    // whose new copy one of those Fsyncs is still making durable: a crash
    // could then keep neither (a file of two slots written in turn, say).
    bool may_pass_fsync = false;
};

struct Read {
    IoToken token;
    FileId file;
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
};

// Makes the file's data and size durable (fdatasync).
struct Fsync {
    IoToken token;
    FileId file;
};

struct Truncate {
    IoToken token;
    FileId file;
    std::uint64_t size = 0;
};

struct Remove {
    IoToken token;
    std::string name;
};

// Renames file `from` to `to` (durable, like a creation, after SyncDir).
// Fails with already_exists when `to` exists (it is never replaced), and with
// not_found when `from` does not.
struct Rename {
    IoToken token;
    std::string from;
    std::string to;
};

struct List {
    IoToken token;
};

// Makes creations and removals of files durable (fsync of the directory).
struct SyncDir {
    IoToken token;
};

// The answer to request `sequence` of `client` (a frame without the size
// prefix), or no bytes at all for a request that has none (acks=0).
struct ClientReply {
    ClientId client;
    std::uint64_t sequence = 0;
    std::optional<Bytes> frame;
};

// Drops the connection (a client that broke the protocol).
struct ClientClose {
    ClientId client;
};

using Effect = std::variant<Send, SetTimer, CancelTimer, Open, Close, Write, Read, Fsync, Truncate,
                            Remove, List, SyncDir, ClientReply, ClientClose, Rename>;

// Where a step puts its effects. Bounded: a machine that emits more than
// effects_max effects in one step has a bug (an unbounded loop or queue).
class Outbox {
public:
    static constexpr std::size_t default_effects_max = 1 << 16;

    explicit Outbox(std::size_t effects_max = default_effects_max) : effects_max_(effects_max) {}

    template <class E>
    requires std::constructible_from<Effect, E&&>
    void push(E&& effect) {
        SAMSA_ASSERT_MSG(effects_.size() < effects_max_, "outbox effects_max exceeded");
        effects_.emplace_back(std::forward<E>(effect));
    }

    [[nodiscard]] std::vector<Effect>& effects() noexcept { return effects_; }
    [[nodiscard]] const std::vector<Effect>& effects() const noexcept { return effects_; }
    [[nodiscard]] bool empty() const noexcept { return effects_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return effects_.size(); }
    void clear() noexcept { effects_.clear(); }

private:
    std::vector<Effect> effects_;
    std::size_t effects_max_;
};

// The state-machine concept. Every machine in core/ satisfies it, and both
// drivers accept any machine that does.
template <class M>
concept StateMachine = requires(M& machine, Instant now, const Event& event, Outbox& out) {
    { machine.step(now, event, out) } -> std::same_as<void>;
};

// One-line human-readable renderings, for traces, golden files and reports.
std::string describe(const Event& event);
std::string describe(const Effect& effect);

// Short kind names ("message", "timer", "io", "start"; "send", "write", ...).
const char* kind_name(const Event& event) noexcept;
const char* kind_name(const Effect& effect) noexcept;

}  // namespace samsa::io

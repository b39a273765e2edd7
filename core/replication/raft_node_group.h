// One group of a RaftNode: its Raft machine, its log and hard-state file, and
// the storage work between them. Internal to raft_node*.cpp.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "core/replication/raft_node.h"

namespace samsa::replication {

struct Proposal {
    ClientId client;
    std::uint64_t sequence = 0;
    raft::Index index;
    raft::Term term;
};

// The hard-state file: two 32-byte slots 4 KiB apart (so a torn write of one
// never touches the other), written in turn; the valid slot with the higher
// sequence number wins. Slot: magic u32, sequence u64, term i32, vote i32
// (-1: none), commit i64, CRC-32C of the 28 bytes before it.
struct StateSlots {
    static constexpr std::uint32_t magic = 0x52485331;  // "RHS1"
    static constexpr std::uint64_t slot_stride = 4096;
    static constexpr std::uint32_t slot_bytes = 32;
    static constexpr std::uint32_t file_bytes = slot_stride + slot_bytes;

    static io::Bytes encode(std::uint64_t sequence, const raft::HardState& state);
    struct Slot {
        std::uint64_t sequence = 0;
        raft::HardState state;
    };
    // nullopt: bytes that are not a valid slot. `blank`: all zero (never written).
    static std::optional<Slot> decode(std::span<const std::uint8_t> bytes, bool& blank);
};

struct RaftNode::Group {
    Group(RaftGroupId group_id, log::LogConfig config)
        : id(group_id), log(std::move(config), group_id.value() + 1) {}

    enum class StateStep : std::uint8_t { opening, syncing, reading, ready };

    RaftGroupId id;
    log::PartitionLog log;
    std::unique_ptr<raft::Raft> raft;  // once recovered
    bool stepped = false;

    // Recovery: the log read back whole, and the hard state.
    bool log_read = false;
    std::optional<std::uint64_t> recovery_read;
    int read_failures = 0;
    std::vector<raft::Entry> restored;
    StateStep state_step = StateStep::opening;
    int state_rereads = 0;

    // The hard-state file.
    raft::HardState durable_state;
    std::uint64_t state_sequence = 0;  // of the newest durable slot
    std::optional<raft::HardState> state_writing;
    std::optional<raft::HardState> state_next;
    int state_ops_left = 0;
    bool persist_commit = false;  // set every commit_persist_ticks
    bool state_failed = false;

    // Log writes waiting, in order: a truncation or an entry to append.
    struct Op {
        std::optional<raft::Index> truncate_from;
        raft::Entry entry;
    };
    std::deque<Op> ops;
    struct InFlight {
        std::uint64_t id = 0;  // the log's append id
        raft::Entry entry;
    };
    std::deque<InFlight> in_flight;
    bool backoff = false;  // a write failed: wait for the retry timer

    std::map<std::uint64_t, raft::ReadRequest> reads;  // the log's read id -> request
    std::deque<Proposal> proposals;
    std::vector<EntryDigest> digests;
    bool stalled = false;
    raft::Index commit_seen;  // the highest commit this incarnation's Raft reported  // the log
                              // needs repair from a replica (not built yet)
};

}  // namespace samsa::replication

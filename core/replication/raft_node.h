// A node's Raft host: many Raft groups on one node, their logs on disk, their
// messages batched per peer.
//
// Theory of operation. RaftNode is a whole machine for the seam
// (step(now, event, outbox)). It hosts `groups` Raft groups (group g is
// RaftGroupId(g), every node a voter at the start) and drives each one's
// raft::Raft: it feeds it ticks and messages, carries out its Ready and
// reports back what became durable.
//
// Storage. Each group's log is a log::PartitionLog (the storage issue's
// partition log *is* the Raft log): entry `i` is the record batch at offset
// i - 1, one record whose key is the entry kind and whose value is the
// payload, and the batch's partitionLeaderEpoch is the entry's term. A
// group's term, vote and commit live in `raft-<g>.state`, two checksummed
// slots written in turn, so a torn write leaves the previous one. Raft is told
// an entry or a hard state is durable only after the fsync that covers it
// completes. A write that fails is retried (the log gives the offsets back);
// truncations wait until the log has no appends in flight.
//
// Batching. Everything the groups address to one peer during a step goes out
// as one PeerBatch (core/raft/peer_batch.h, Cap'n Proto on the wire): a tick
// advances every group at once, so the heartbeats of all groups to a peer
// travel together, one message per peer per tick. An idle group adds a few
// bytes to it and no message of its own.
//
// Proposals are client requests (the simulator's workload; the cluster issue
// will put Kafka produce here): `proposal_request` frames, answered once the
// entry is committed - or as soon as it is known lost (truncated, or another
// entry committed at its index) or refused (not the leader).
//
// Identity. At its first boot (params.first_boot) a node writes `raft-node`,
// naming itself. A node that later starts with no `raft-node` lost its disk:
// it could vote again in a term it already voted in, so it comes back as a
// follower that never votes or campaigns (it still replicates and its durable
// acknowledgements still count), and remembers that. Bringing it back as a
// voter takes a membership change under a new identity (the cluster issue).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/base/prng.h"
#include "core/io/seam.h"
#include "core/log/partition_log.h"
#include "core/raft/peer_batch.h"
#include "core/raft/raft.h"

namespace samsa::replication {

using raft::RaftGroupId;

// Deliberate bugs for the simulator's canaries: each must be caught by a
// checker. Never set outside the canary scenarios.
enum class HostBug : std::uint8_t {
    none,
    ack_before_fsync,  // tell Raft entries are durable when their write is issued
};

struct RaftNodeParams {
    NodeId self;
    std::vector<NodeId> nodes;  // every node of the cluster, sorted; all voters at the start
    std::uint32_t groups = 1;
    Duration tick = Duration::milliseconds(10);
    raft::RaftConfig raft;  // template: id, voters and learners are filled in per group
    log::LogConfig log;     // template: file_prefix is set per group
    bool first_boot = true;
    std::size_t pending_proposals_max = 4096;  // per node, awaiting commit
    // Entries of the durable log kept as digests for checkers (the simulator).
    bool keep_digests = false;
    Duration retry_backoff = Duration::milliseconds(20);
    // A hard state that changes only the commit index is written at most once
    // per this many ticks (term and vote changes are written at once).
    std::uint32_t commit_persist_ticks = 10;
    HostBug bug = HostBug::none;
};

// ---- Client proposals: the request and answer frames ----

enum class ProposalStatus : std::uint8_t {
    committed = 0,
    not_leader = 1,  // `leader` may name the leader this node knows
    lost = 2,        // appended, then replaced before it committed
    busy = 3,        // not started yet, too many pending, or uncommitted bytes
    bad_request = 4,
};

struct ProposalAnswer {
    ProposalStatus status = ProposalStatus::bad_request;
    raft::Index index;  // committed: where
    raft::Term term;
    std::optional<NodeId> leader;
};

// Request: u32 group, then the payload. Answer: u8 status, i64 index,
// i32 term, i32 leader (-1 none). Big-endian.
io::Bytes encode_proposal(RaftGroupId group, std::span<const std::uint8_t> payload);
io::Bytes encode_answer(const ProposalAnswer& answer);
std::optional<ProposalAnswer> decode_answer(std::span<const std::uint8_t> frame);

// ---- Entries as record batches ----

io::Bytes entry_to_batch(const raft::Entry& entry);
// One batch (as the log stores it, offset index - 1) back into an entry.
std::optional<raft::Entry> batch_to_entry(std::span<const std::uint8_t> batch);

// What checkers see of one entry of a group's log.
struct EntryDigest {
    raft::Index index;
    raft::Term term;
    std::uint64_t hash = 0;  // over kind and payload
    bool operator==(const EntryDigest&) const = default;
};
std::uint64_t entry_hash(const raft::Entry& entry);

class RaftNode {
public:
    RaftNode(RaftNodeParams params, Prng prng);
    RaftNode(RaftNode&&) noexcept;
    RaftNode& operator=(RaftNode&&) noexcept;
    ~RaftNode();

    void step(Instant now, const io::Event& event, io::Outbox& out);

    // ---- Observation (tests, checkers) ----
    [[nodiscard]] bool running() const noexcept;   // every group recovered
    [[nodiscard]] bool may_vote() const noexcept;  // false after a lost disk
    [[nodiscard]] std::uint32_t group_count() const noexcept { return params_.groups; }
    // nullptr until the group has recovered.
    [[nodiscard]] const raft::Raft* raft(RaftGroupId group) const;
    // The last hard state the disk confirmed durable (recovered or fsynced).
    [[nodiscard]] const raft::HardState& durable_hard_state(RaftGroupId group) const;
    // The last index (and its term) Raft was told is durable.
    [[nodiscard]] raft::Index durable_index(RaftGroupId group) const;
    // The log as written (keep_digests): index order, after truncations.
    [[nodiscard]] const std::vector<EntryDigest>& digests(RaftGroupId group) const;
    // The high watermark a client may be shown: the leader's commit once it
    // committed an entry of its own term; nullopt otherwise.
    [[nodiscard]] std::optional<raft::Index> high_watermark(RaftGroupId group) const;
    // Indexes cut from the log since the last call: (group, truncate_from,
    // the highest commit the group's Raft had reported before). For the
    // no-truncation-below-commit checker.
    struct Truncation {
        RaftGroupId group;
        raft::Index from;
        raft::Index commit;
    };
    std::vector<Truncation> take_truncations();
    // The groups the last step() touched (any input to their Raft, any
    // storage report), each once: checkers look only at these.
    [[nodiscard]] const std::vector<RaftGroupId>& stepped_groups() const noexcept;
    [[nodiscard]] std::size_t pending_proposals() const noexcept;
    [[nodiscard]] std::uint64_t batches_sent() const noexcept { return batches_sent_; }
    [[nodiscard]] std::uint64_t messages_sent() const noexcept { return messages_sent_; }
    [[nodiscard]] std::uint64_t malformed_batches() const noexcept { return malformed_batches_; }

private:
    struct Group;
    enum class Phase : std::uint8_t { listing, marker, groups, running, refused };

    // raft_node.cpp: events, identity, proposals, batching.
    void on_start(io::Outbox& out);
    void on_own_io(const io::IoCompleted& done, io::Outbox& out);
    void on_listed(const io::IoCompleted& done, io::Outbox& out);
    void on_marker_io(const io::IoCompleted& done, io::Outbox& out);
    void write_marker(bool voting, io::Outbox& out);
    void start_groups(io::Outbox& out);
    void on_message(const io::MessageReceived& message, io::Outbox& out);
    void on_tick(Instant now, io::Outbox& out);
    void on_request(const io::ClientRequest& request, io::Outbox& out);
    void answer(ClientId client, std::uint64_t sequence, const ProposalAnswer& answer,
                io::Outbox& out);
    void send_batches(io::Outbox& out);
    void touch(Group& group);
    IoToken next_token() noexcept { return IoToken(++token_counter_); }

    // raft_node_group.cpp: one group's recovery, Ready and storage.
    void start_group(Group& group, io::Outbox& out);
    // A token for an operation on the group's hard-state file.
    IoToken state_token(const Group& group);
    void start_group_state(Group& group, io::Outbox& out);
    void on_state_io(Group& group, const io::IoCompleted& done, io::Outbox& out);
    void on_state_read(Group& group, const io::IoCompleted& done, io::Outbox& out);
    void on_state_written(Group& group, const io::IoCompleted& done, io::Outbox& out);
    void on_log_io(Group& group, const io::IoCompleted& done, io::Outbox& out);
    void continue_recovery(Group& group, io::Outbox& out);
    void on_recovery_read(Group& group, const log::ReadResult& result);
    bool take_log_results(Group& group, io::Outbox& out);
    void maybe_run(Group& group, io::Outbox& out);
    void drain(Group& group, io::Outbox& out);
    void apply_ready(Group& group, raft::Ready ready, io::Outbox& out);
    void truncate_view(Group& group, raft::Index from, io::Outbox& out);
    void answer_committed(Group& group, raft::Index commit, io::Outbox& out);
    void pump(Group& group, io::Outbox& out);
    void pump_ops(Group& group, io::Outbox& out);
    void write_state(Group& group, io::Outbox& out);
    void after_log(Group& group, io::Outbox& out);
    void on_appended(Group& group, const log::AppendResult& result, io::Outbox& out);
    void on_follower_read(Group& group, const log::ReadResult& result);
    void arm_retry(io::Outbox& out);

    RaftNodeParams params_;
    Prng prng_;
    Phase phase_ = Phase::listing;
    bool may_vote_ = true;
    std::uint64_t token_counter_ = 0;
    IoToken awaiting_;  // the identity step in flight
    bool marker_writing_ = false;
    bool marker_failed_ = false;
    int marker_ops_left_ = 0;
    int marker_rereads_ = 0;
    std::optional<std::uint32_t> marker_size_;
    std::uint64_t malformed_batches_ = 0;
    std::vector<std::string> names_;
    Instant next_tick_;
    std::uint64_t ticks_ = 0;
    bool retry_armed_ = false;
    std::vector<std::unique_ptr<Group>> groups_;
    std::map<std::uint64_t, std::uint32_t> state_tokens_;  // token -> group (state files)
    std::map<NodeId, raft::PeerBatch> outgoing_;
    std::vector<RaftGroupId> stepped_;
    std::vector<Truncation> truncations_;
    std::size_t pending_proposals_ = 0;
    std::uint64_t batches_sent_ = 0;
    std::uint64_t messages_sent_ = 0;
};

}  // namespace samsa::replication

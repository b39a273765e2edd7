// What one node sends another: the Raft messages of many groups, batched.
//
// A node hosting thousands of groups does not send one network message per
// group message. Everything its groups address to one peer during a step
// (typically every group's heartbeat on a tick) travels as one PeerBatch, so
// an idle group costs a few bytes in a message that goes out anyway. On the
// wire a batch is a Cap'n Proto message (net/raft/peer_codec.h); here it is a
// plain struct. `from` and `to` are the batch's; each message's own from/to
// equal them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/raft/messages.h"

namespace samsa::raft {

// A Raft group's number, unique across the cluster (a partition's group).
using RaftGroupId = StrongId<struct RaftGroupIdTag, std::uint32_t>;

struct GroupMessage {
    RaftGroupId group;
    Message message;
};

struct PeerBatch {
    NodeId from;
    NodeId to;
    std::vector<GroupMessage> messages;
};

// Limits a decoder enforces (a batch beyond them is refused whole) and an
// encoder's caller respects.
struct PeerBatchLimits {
    static constexpr std::size_t messages_max = std::size_t{1} << 16;
    static constexpr std::size_t entries_max = std::size_t{1} << 16;  // over all messages
    static constexpr std::size_t bytes_max = std::size_t{64} << 20;   // the encoded batch
};

}  // namespace samsa::raft

// Majority arithmetic over a set of voters: the index a majority has reached,
// and the outcome of an election.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "core/raft/types.h"

namespace samsa::raft {

// A majority of n voters.
inline constexpr std::size_t quorum_size(std::size_t voters) noexcept {
    return voters / 2 + 1;
}

// The largest index that at least a majority of `voters` have reached, given
// each voter's index (`index_of`).
Index quorum_index(const std::vector<NodeId>& voters, const std::function<Index(NodeId)>& index_of);

enum class VoteOutcome : std::uint8_t { pending, won, lost };

// Tallies the votes received (true: granted) from `voters`; other nodes'
// answers are ignored.
VoteOutcome tally(const std::vector<NodeId>& voters, const std::map<NodeId, bool>& votes);

}  // namespace samsa::raft

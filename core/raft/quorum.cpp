#include "core/raft/quorum.h"

#include <algorithm>

#include "core/base/assert.h"

namespace samsa::raft {

Index quorum_index(const std::vector<NodeId>& voters,
                   const std::function<Index(NodeId)>& index_of) {
    SAMSA_ASSERT(!voters.empty());
    std::vector<Index> indexes;
    indexes.reserve(voters.size());
    for (NodeId voter : voters) indexes.push_back(index_of(voter));
    // Descending: the quorum-th largest is reached by a majority.
    std::sort(indexes.begin(), indexes.end(), std::greater<>());
    const std::size_t q = quorum_size(voters.size());
    SAMSA_ASSERT(q >= 1 && q <= indexes.size());
    return indexes[q - 1];
}

VoteOutcome tally(const std::vector<NodeId>& voters, const std::map<NodeId, bool>& votes) {
    SAMSA_ASSERT(!voters.empty());
    std::size_t granted = 0;
    std::size_t refused = 0;
    for (NodeId voter : voters) {
        const auto it = votes.find(voter);
        if (it == votes.end()) continue;
        ++(it->second ? granted : refused);
    }
    const std::size_t q = quorum_size(voters.size());
    if (granted >= q) return VoteOutcome::won;
    if (refused > voters.size() - q) return VoteOutcome::lost;
    return VoteOutcome::pending;
}

}  // namespace samsa::raft

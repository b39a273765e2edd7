#include "sim/scenarios/raft_cluster.h"

#include <memory>
#include <vector>

namespace samsa::sim {

void install_raft_nodes(World& world, const replication::RaftNodeParams& params) {
    auto starts = std::make_shared<std::vector<int>>(world.node_count() + 1, 0);
    for (int n = 1; n <= world.node_count(); ++n) {
        world.set_factory(
            NodeId(n), factory_of<replication::RaftNode>([params, starts](NodeId self, Prng prng) {
                auto mine = params;
                mine.self = self;
                mine.first_boot = (*starts)[self.value()]++ == 0;
                return replication::RaftNode(mine, prng);
            }));
    }
}

}  // namespace samsa::sim

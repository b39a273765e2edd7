// Installs a cluster of RaftNodes in a simulated world: node n gets `params`
// with self = n, first_boot only at its first start (later starts on an
// empty disk are lost disks). Shared by the `raft` scenario and benchmarks.
#pragma once

#include "core/replication/raft_node.h"
#include "sim/world.h"

namespace samsa::sim {

void install_raft_nodes(World& world, const replication::RaftNodeParams& params);

}  // namespace samsa::sim

// The nemesis: injects the faults that are events of their own - crashes,
// pauses, partitions, clogs, swizzles, full disks, clock jumps - as
// independent Poisson processes whose rates come from the fault plan, each
// fault healed after a drawn duration. heal() ends the safety phase: no new
// faults, every node up and running, the network whole, the disks roomy.
#pragma once

#include <vector>

#include "core/base/prng.h"
#include "sim/world.h"

namespace samsa::sim {

struct NemesisParams {
    int down_max = 0;  // nodes crashed or paused at once; 0: a minority of the nodes
    Duration downtime_mean = Duration::seconds(2);
    Duration pause_mean = Duration::seconds(1);
    Duration partition_mean = Duration::seconds(3);
    Duration clog_mean = Duration::seconds(2);
    Duration no_space_mean = Duration::seconds(2);
    Duration clock_jump_mean = Duration::milliseconds(500);
    Duration swizzle_step = Duration::milliseconds(200);
    Duration armed_crash_max = Duration::seconds(1);  // a crash waiting for a write
    // Distinct nodes whose disk may be wiped over the run (-1: no limit). A
    // Raft member that lost its disk never votes again, so a Raft cluster
    // stays live only while a majority has never lost one.
    int wiped_nodes_max = -1;
};

class Nemesis {
public:
    Nemesis(World& world, Prng prng, NemesisParams params = {});

    // Starts every enabled fault process; nothing new starts after `until`.
    void start(Instant until);
    // Stops injecting, then heals every fault still in force.
    void heal();

private:
    void arm(FaultKind kind);
    void fire(FaultKind kind);
    Duration draw(Duration mean);
    bool pick_up_node(NodeId& node);
    [[nodiscard]] int down_count() const;

    void crash_one();
    void pause_one();
    void partition();
    void clog_one();
    void swizzle();
    void fill_disk();
    void jump_clock();

    World& world_;
    Prng prng_;
    NemesisParams params_;
    Instant until_;
    bool active_ = false;
    bool partitioned_ = false;
    std::vector<bool> crashed_;                  // by node index: crashed by us, restart pending
    std::vector<bool> wiped_;                    // by node index: a wipe was decided
    std::vector<std::uint64_t> saved_capacity_;  // by node index: 0 unless filled
};

}  // namespace samsa::sim

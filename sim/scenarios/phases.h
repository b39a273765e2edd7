// The phases every workload scenario runs: a safety phase with faults
// running freely, then healing - no new faults, every node back up, the
// network whole - after which the workload settles for the liveness phase.
#pragma once

#include "sim/nemesis.h"
#include "sim/world.h"

namespace samsa::sim {

// Workload: start() begins its traffic, settle() ends its churn.
template <class Workload>
void run_safety_then_heal(World& world, Nemesis& nemesis, Workload& workload, Duration safety) {
    world.start();
    workload.start();
    nemesis.start(Instant::zero() + safety);
    world.run_until(Instant::zero() + safety);
    world.plan().clear();
    nemesis.heal();
    workload.settle();
}

}  // namespace samsa::sim

// `samsa sim` and `samsa sim-sweep`: run scenarios from the command line and
// print their reports.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "sim/scenario.h"

namespace samsa::sim {

struct SimCommand {
    std::string scenario = "kernel";
    ScenarioOptions options;
    bool check_determinism = false;
};

// Runs one scenario and prints its report. Returns the process exit code:
// 0 passed, 1 a checker or the determinism check failed, 2 bad options.
int run_sim_command(const SimCommand& command, std::ostream& out);

struct SweepCommand {
    std::string scenario = "kernel";
    std::uint64_t first_seed = 1;
    std::uint64_t seeds = 200;
    int nodes = 0;
    Duration duration = Duration::zero();
    std::string faults = "swarm";
    bool check_determinism = true;
    bool require_fault_coverage = true;
    // For canaries: the sweep passes only if at least one seed fails and
    // every failure message contains this text (the checker's name), or one
    // of its '|'-separated alternatives.
    std::string expect_failure;
};

// Runs `seeds` consecutive seeds. Fails if any seed fails, if any run is not
// deterministic, or (with require_fault_coverage) if a fault kind the sweep
// could inject never fired. With expect_failure, see there.
int run_sweep_command(const SweepCommand& command, std::ostream& out);

// "60s", "1500ms", "2m", "250us", "42" (seconds). Returns false if malformed.
bool parse_duration(const std::string& text, Duration& duration);

}  // namespace samsa::sim

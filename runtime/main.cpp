// The `samsa` command: one binary, one subcommand per job: `sim` and
// `sim-sweep` (the simulator), `broker` (one Kafka-protocol broker), and the
// clients `topic`, `produce`, `consume` and `group`. The cluster subcommands
// arrive with their issue.
#include <CLI/CLI.hpp>
#include <iostream>

#include "runtime/allocator.h"
#include "runtime/broker_command.h"
#include "runtime/client_commands.h"
#include "sim/cli.h"

namespace {

// CLI11 validator for durations such as 60s, 1500ms, 2m.
struct DurationValidator : public CLI::Validator {
    DurationValidator() {
        name_ = "DURATION";
        func_ = [](const std::string& text) {
            samsa::Duration ignored;
            return samsa::sim::parse_duration(text, ignored)
                       ? std::string()
                       : "'" + text + "' is not a duration (e.g. 60s, 1500ms, 2m)";
        };
    }
};

samsa::Duration duration_of(const std::string& text) {
    samsa::Duration duration;
    if (!text.empty()) samsa::sim::parse_duration(text, duration);
    return duration;
}

std::string scenario_list() {
    std::string text = "Scenarios:\n";
    for (const auto& info : samsa::sim::scenarios()) {
        text += "  " + std::string(info.name) + " - " + info.description + "\n";
    }
    return text;
}

}  // namespace

int main(int argc, char** argv) {
    samsa::runtime::tune_allocator();
    CLI::App app{"samsa: a Kafka-compatible distributed commit log"};
    app.require_subcommand(1);

    samsa::sim::SimCommand sim;
    std::string sim_duration;
    auto* sim_app = app.add_subcommand("sim", "Run one deterministic simulation from a seed");
    sim_app->footer(scenario_list());
    sim_app->add_option("--scenario", sim.scenario, "Scenario to run")->capture_default_str();
    sim_app->add_option("--seed", sim.options.seed, "The seed: replays the run exactly")
        ->capture_default_str();
    sim_app->add_option("--nodes", sim.options.nodes, "Nodes in the simulated cluster")
        ->check(CLI::Range(1, 64));
    sim_app->add_option("--duration", sim_duration, "Simulated time of the safety phase")
        ->check(DurationValidator());
    sim_app
        ->add_option("--faults", sim.options.faults,
                     "swarm | none | all | list of kinds/groups, e.g. crash,network,loss=0.1")
        ->capture_default_str();
    sim_app->add_flag("--check-determinism", sim.check_determinism,
                      "Run twice and report the first divergent event");

    samsa::sim::SweepCommand sweep;
    std::string sweep_duration;
    auto* sweep_app = app.add_subcommand("sim-sweep", "Run many seeds, with determinism checks");
    sweep_app->add_option("--scenario", sweep.scenario, "Scenario to run")->capture_default_str();
    sweep_app->add_option("--first-seed", sweep.first_seed, "First seed")->capture_default_str();
    sweep_app->add_option("--seeds", sweep.seeds, "How many seeds")->capture_default_str();
    sweep_app->add_option("--nodes", sweep.nodes, "Nodes in the simulated cluster")
        ->check(CLI::Range(1, 64));
    sweep_app->add_option("--duration", sweep_duration, "Simulated time of the safety phase")
        ->check(DurationValidator());
    sweep_app->add_option("--faults", sweep.faults, "Fault plan (see `samsa sim --help`)")
        ->capture_default_str();
    bool no_determinism = false;
    sweep_app->add_flag("--no-determinism", no_determinism, "Skip the determinism check");
    bool no_coverage = false;
    sweep_app->add_flag("--no-fault-coverage", no_coverage,
                        "Do not require every fault kind to fire across the sweep");
    sweep_app->add_option("--expect-failure", sweep.expect_failure,
                          "Canaries: pass only if some seed fails and every failure names TEXT");

    samsa::runtime::BrokerArguments broker;
    auto* broker_app = samsa::runtime::add_broker_command(app, broker);

    samsa::runtime::ClientCommands client;
    samsa::runtime::add_client_commands(app, client);

    CLI11_PARSE(app, argc, argv);

    if (auto status = samsa::runtime::run_client_commands(client, std::cout, std::cerr)) {
        return *status;
    }

    if (broker_app->parsed()) {
        return samsa::runtime::run_broker_command(broker, std::cout, std::cerr);
    }
    if (sim_app->parsed()) {
        sim.options.duration = duration_of(sim_duration);
        return samsa::sim::run_sim_command(sim, std::cout);
    }
    sweep.duration = duration_of(sweep_duration);
    sweep.check_determinism = !no_determinism;
    sweep.require_fault_coverage = !no_coverage;
    return samsa::sim::run_sweep_command(sweep, std::cout);
}

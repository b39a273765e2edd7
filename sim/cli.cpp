#include "sim/cli.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <ostream>

namespace samsa::sim {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string fixed(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

void print_report(const ScenarioReport& report, double wall_seconds, std::ostream& out) {
    out << "samsa sim: scenario=" << report.scenario << " seed=" << report.options.seed
        << " nodes=" << report.options.nodes << " duration=" << report.options.duration.to_string()
        << " faults=" << report.options.faults << "\n";
    out << "fault plan: " << report.plan << "\n";
    out << "faults fired: " << report.fired.to_string() << "\n";
    if (!report.stats.empty()) {
        out << "stats:";
        for (const auto& [name, value] : report.stats) out << " " << name << "=" << value;
        out << "\n";
    }
    const double simulated = static_cast<double>(report.simulated_end.nanoseconds()) / 1e9;
    out << "events: " << report.events << " in " << fixed(simulated, 3) << "s simulated, "
        << fixed(wall_seconds, 3) << "s wall";
    if (wall_seconds > 0) out << " (" << fixed(simulated / wall_seconds, 0) << "x real time)";
    out << "\n";
    out << "checkers: " << (report.failure ? "FAILED: " + *report.failure : std::string("ok"))
        << "\n";
}

void print_divergence(const Divergence& divergence, std::ostream& out) {
    out << "determinism: DIVERGED at event #" << divergence.index << "\n";
    out << "  run 1: " << (divergence.first ? divergence.first->to_string() : "(ended)") << "\n";
    out << "  run 2: " << (divergence.second ? divergence.second->to_string() : "(ended)") << "\n";
    if (!divergence.second_detail.empty()) {
        out << "  run 2 event: " << divergence.second_detail << "\n";
    }
}

}  // namespace

bool parse_duration(const std::string& text, Duration& duration) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0 || digits > 12) return false;
    const std::int64_t value = std::stoll(text.substr(0, digits));
    const std::string unit = text.substr(digits);
    if (unit.empty() || unit == "s") {
        duration = Duration::seconds(value);
    } else if (unit == "ms") {
        duration = Duration::milliseconds(value);
    } else if (unit == "us") {
        duration = Duration::microseconds(value);
    } else if (unit == "m") {
        duration = Duration::seconds(value * 60);
    } else if (unit == "h") {
        duration = Duration::seconds(value * 3600);
    } else {
        return false;
    }
    return true;
}

int run_sim_command(const SimCommand& command, std::ostream& out) {
    const ScenarioInfo* info = find_scenario(command.scenario);
    if (info == nullptr) {
        out << "samsa sim: unknown scenario '" << command.scenario << "'; known:";
        for (const auto& each : scenarios()) out << " " << each.name;
        out << "\n";
        return 2;
    }
    const auto start = std::chrono::steady_clock::now();
    auto run = run_scenario(*info, command.options, command.check_determinism);
    const ScenarioReport& report = run.first;
    const std::optional<Divergence>& divergence = run.divergence;
    if (report.error) {
        out << "samsa sim: " << *report.error << "\n";
        return 2;
    }
    const double runs = command.check_determinism ? 2.0 : 1.0;
    print_report(report, seconds_since(start) / runs, out);
    if (command.check_determinism) {
        if (divergence) {
            print_divergence(*divergence, out);
        } else {
            out << "determinism: ok (2 runs, " << report.events << " events identical)\n";
        }
    }
    out << "digest: " << hex64(report.digest) << "\n";
    const bool passed = report.passed() && !divergence;
    if (!passed) out << "replay: " << replay_command(report) << "\n";
    out << "verdict: " << (passed ? "PASS" : "FAIL") << "\n";
    return passed ? 0 : 1;
}

namespace {

// Whether `text` contains one of the '|'-separated alternatives.
bool names_any(const std::string& text, const std::string& alternatives) {
    std::size_t from = 0;
    while (from <= alternatives.size() && !alternatives.empty()) {
        const std::size_t bar = std::min(alternatives.find('|', from), alternatives.size());
        const std::string one = alternatives.substr(from, bar - from);
        if (!one.empty() && text.find(one) != std::string::npos) return true;
        from = bar + 1;
    }
    return false;
}

}  // namespace

int run_sweep_command(const SweepCommand& command, std::ostream& out) {
    const ScenarioInfo* info = find_scenario(command.scenario);
    if (info == nullptr || command.seeds == 0) {
        out << "samsa sim-sweep: unknown scenario '" << command.scenario << "' or no seeds\n";
        return 2;
    }
    const auto start = std::chrono::steady_clock::now();
    FaultCounters total;
    std::uint64_t failed = 0;
    std::uint64_t expected_failures = 0;
    std::uint64_t events = 0;
    std::map<std::string, std::uint64_t> stats;
    for (std::uint64_t seed = command.first_seed; seed < command.first_seed + command.seeds;
         ++seed) {
        ScenarioOptions options{seed, command.nodes, command.duration, command.faults, nullptr};
        auto run = run_scenario(*info, options, command.check_determinism);
        const ScenarioReport& report = run.first;
        const std::optional<Divergence>& divergence = run.divergence;
        if (report.error) {
            out << "samsa sim-sweep: " << *report.error << "\n";
            return 2;
        }
        total.merge(report.fired);
        events += report.events;
        for (const auto& [name, value] : report.stats) stats[name] += value;
        if (report.passed() && !divergence) continue;
        ++failed;
        if (report.failure && names_any(*report.failure, command.expect_failure)) {
            ++expected_failures;
        }
        out << "FAIL seed " << seed << ": "
            << (report.failure ? *report.failure
                               : "nondeterministic at event #" + std::to_string(divergence->index))
            << "\n  replay: " << replay_command(report) << " --check-determinism\n";
    }
    out << "sweep: scenario=" << command.scenario << " seeds=" << command.first_seed << ".."
        << command.first_seed + command.seeds - 1 << " events=" << events
        << " wall=" << fixed(seconds_since(start), 1) << "s\n";
    out << "faults fired: " << total.to_string() << "\n";
    out << "stats:";
    for (const auto& [name, value] : stats) out << " " << name << "=" << value;
    out << "\n";
    std::uint64_t uncovered = 0;
    if (command.require_fault_coverage && command.faults == "swarm") {
        for (const auto& kind : kFaultKinds) {
            const auto& groups = info->fault_groups;
            if (std::find(groups.begin(), groups.end(), kind.group) == groups.end()) continue;
            if (total.count(kind.kind) != 0) continue;
            ++uncovered;
            out << "COVERAGE: fault kind '" << kind.name << "' never fired in this sweep\n";
        }
    }
    for (const char* name : info->sweep_required_stats) {
        if (stats[name] != 0) continue;
        ++uncovered;
        out << "COVERAGE: stat '" << name << "' stayed 0 across the sweep\n";
    }
    out << "sweep: " << command.seeds - failed << " seeds passed, " << failed << " failed\n";
    if (!command.expect_failure.empty()) {
        const bool caught = failed > 0 && expected_failures == failed;
        out << "canary: " << expected_failures << " of " << failed << " failures name '"
            << command.expect_failure << "': " << (caught ? "CAUGHT" : "NOT CAUGHT") << "\n";
        return caught ? 0 : 1;
    }
    return failed == 0 && uncovered == 0 ? 0 : 1;
}

}  // namespace samsa::sim

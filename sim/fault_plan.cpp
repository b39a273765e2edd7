#include "sim/fault_plan.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace samsa::sim {

using G = FaultGroup;
using K = FaultKind;

// Rates: probabilities per message / operation / crash, or events per
// simulated minute for the nemesis kinds, or ppm for clock drift.
const std::array<FaultKindInfo, kFaultKindCount> kFaultKinds = {{
    {K::loss, "loss", G::network, 0.001, 0.10},
    {K::duplicate, "duplicate", G::network, 0.001, 0.05},
    {K::reorder, "reorder", G::network, 0.001, 0.10},
    {K::latency_tail, "latency_tail", G::network, 0.001, 0.05},
    {K::queue_overflow, "queue_overflow", G::network, 1.0, 1.0},
    {K::partition_drop, "partition_drop", G::network, 0.0, 0.0},
    {K::partition, "partition", G::network, 0.5, 6.0},
    {K::clog, "clog", G::network, 0.5, 6.0},
    {K::swizzle, "swizzle", G::network, 0.2, 3.0},
    {K::crash, "crash", G::process, 0.5, 6.0},
    {K::wipe, "wipe", G::process, 0.05, 0.3},
    {K::pause, "pause", G::process, 0.5, 6.0},
    {K::torn_write, "torn_write", G::disk, 0.2, 0.9},
    {K::partial_flush, "partial_flush", G::disk, 0.2, 0.9},
    {K::read_bitflip, "read_bitflip", G::disk, 0.001, 0.05},
    {K::read_eio, "read_eio", G::disk, 0.001, 0.05},
    {K::write_eio, "write_eio", G::disk, 0.001, 0.03},
    {K::fsync_eio, "fsync_eio", G::disk, 0.001, 0.03},
    {K::slow_io, "slow_io", G::disk, 0.001, 0.05},
    {K::no_space, "no_space", G::disk, 0.2, 3.0},
    {K::lost_unsynced, "lost_unsynced", G::disk, 0.0, 0.0},
    {K::clock_drift, "clock_drift", G::time, 100.0, 50000.0},
    {K::clock_jump, "clock_jump", G::time, 0.2, 3.0},
    {K::timer_late, "timer_late", G::time, 0.001, 0.05},
    {K::timer_early, "timer_early", G::time, 0.001, 0.05},
    {K::timer_twice, "timer_twice", G::time, 0.001, 0.05},
}};

const FaultKindInfo& info(FaultKind kind) noexcept {
    const auto& entry = kFaultKinds[static_cast<std::size_t>(kind)];
    SAMSA_ASSERT(entry.kind == kind);
    return entry;
}

std::optional<FaultKind> fault_kind_from_name(std::string_view name) noexcept {
    for (const auto& entry : kFaultKinds) {
        if (name == entry.name) return entry.kind;
    }
    return std::nullopt;
}

const char* to_string(FaultGroup group) noexcept {
    switch (group) {
        case G::network: return "network";
        case G::process: return "process";
        case G::disk: return "disk";
        case G::time: return "time";
    }
    return "?";
}

namespace {

bool configurable(const FaultKindInfo& kind) {
    return kind.swarm_high > 0.0;
}

std::optional<FaultGroup> group_from_name(std::string_view name) {
    for (auto group : {G::network, G::process, G::disk, G::time}) {
        if (name == to_string(group)) return group;
    }
    return std::nullopt;
}

std::string format_rate(double rate) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", rate);
    return buffer;
}

}  // namespace

double FaultPlan::draw_rate(const FaultKindInfo& kind, Prng& prng) {
    if (kind.swarm_low == kind.swarm_high) return kind.swarm_low;
    const double log_low = std::log(kind.swarm_low);
    const double log_high = std::log(kind.swarm_high);
    return std::exp(log_low + prng.unit() * (log_high - log_low));
}

FaultPlan FaultPlan::all(Prng& prng) {
    FaultPlan plan;
    for (const auto& kind : kFaultKinds) {
        if (configurable(kind)) plan.set(kind.kind, draw_rate(kind, prng));
    }
    return plan;
}

FaultPlan FaultPlan::swarm(Prng& prng) {
    FaultPlan plan;
    for (const auto& kind : kFaultKinds) {
        if (!configurable(kind)) continue;
        const bool on = prng.chance(0.5);
        const double rate = draw_rate(kind, prng);  // drawn either way: plans stay aligned
        if (on) plan.set(kind.kind, rate);
    }
    return plan;
}

std::optional<FaultPlan> FaultPlan::parse(std::string_view spec, Prng& prng, std::string& error) {
    if (spec == "swarm" || spec.empty()) return swarm(prng);
    if (spec == "none") return none();
    if (spec == "all") return all(prng);
    const FaultPlan drawn = all(prng);  // rates for kinds named without a value
    FaultPlan plan;
    while (!spec.empty()) {
        const std::size_t comma = spec.find(',');
        std::string_view item = spec.substr(0, comma);
        spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
        const std::size_t equals = item.find('=');
        const std::string_view name = item.substr(0, equals);
        if (auto group = group_from_name(name); group && equals == std::string_view::npos) {
            for (const auto& kind : kFaultKinds) {
                if (kind.group == *group && configurable(kind))
                    plan.set(kind.kind, drawn.rate(kind.kind));
            }
            continue;
        }
        const auto kind = fault_kind_from_name(name);
        if (!kind || !configurable(info(*kind))) {
            error = "unknown fault kind '" + std::string(name) + "'";
            return std::nullopt;
        }
        double rate = drawn.rate(*kind);
        if (equals != std::string_view::npos) {
            const std::string text(item.substr(equals + 1));
            char* end = nullptr;
            rate = std::strtod(text.c_str(), &end);
            if (text.empty() || *end != '\0' || !(rate >= 0.0)) {
                error = "bad rate in '" + std::string(item) + "'";
                return std::nullopt;
            }
        }
        plan.set(*kind, rate);
    }
    return plan;
}

std::string FaultPlan::to_string() const {
    std::string text;
    for (const auto& kind : kFaultKinds) {
        if (!enabled(kind.kind)) continue;
        if (!text.empty()) text += ' ';
        text += std::string(kind.name) + "=" + format_rate(rate(kind.kind));
    }
    return text.empty() ? "(none)" : text;
}

std::uint64_t FaultCounters::total() const noexcept {
    std::uint64_t sum = 0;
    for (auto n : counts_) sum += n;
    return sum;
}

void FaultCounters::merge(const FaultCounters& other) noexcept {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
}

std::string FaultCounters::to_string() const {
    std::string text;
    for (const auto& kind : kFaultKinds) {
        const auto n = count(kind.kind);
        if (n == 0) continue;
        if (!text.empty()) text += ' ';
        text += std::string(kind.name) + "=" + std::to_string(n);
    }
    return text.empty() ? "(none)" : text;
}

}  // namespace samsa::sim

// The fault plan: which faults a simulation injects, and how often.
//
// "Swarm" testing (TigerBeetle, Groce et al.): rather than one fixed mix of
// faults, every seed draws its own plan - each kind on or off, and a rate for
// each that is on - so some runs are calm, some are storms, and rare
// interactions get their turn. Every kind is described once, in kFaultKinds;
// the counters of fired faults use the same table.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/prng.h"

namespace samsa::sim {

enum class FaultKind : std::uint8_t {
    // network, decided per message
    loss,
    duplicate,
    reorder,
    latency_tail,
    queue_overflow,  // on: link queues are small, so bursts overflow them
    partition_drop,  // counter only: a message dropped at a cut link
    // network, decided by the nemesis (rate = events per simulated minute)
    partition,
    clog,
    swizzle,
    // processes (nemesis)
    crash,
    wipe,  // rate = probability that a restart comes back with an empty disk
    pause,
    // disk, decided per operation (rate = probability)
    torn_write,     // per crash: the write in flight is torn
    partial_flush,  // per crash: a prefix of the unsynced writes did reach the disk
    read_bitflip,
    read_eio,
    write_eio,
    fsync_eio,
    slow_io,
    no_space,       // nemesis: the disk is full for a while
    lost_unsynced,  // counter only: a crash lost unsynced bytes
    // time
    clock_drift,  // on: each node's clock runs fast or slow (rate = max drift, ppm)
    clock_jump,   // nemesis
    timer_late,   // per timer
    timer_early,
    timer_twice,
};

inline constexpr std::size_t kFaultKindCount = static_cast<std::size_t>(FaultKind::timer_twice) + 1;

enum class FaultGroup : std::uint8_t { network, process, disk, time };

struct FaultKindInfo {
    FaultKind kind;
    const char* name;
    FaultGroup group;
    double swarm_low;   // a swarm draw picks a rate log-uniformly in [low, high]
    double swarm_high;  // 0, 0: a counter only, never configured
};

extern const std::array<FaultKindInfo, kFaultKindCount> kFaultKinds;

const FaultKindInfo& info(FaultKind kind) noexcept;
std::optional<FaultKind> fault_kind_from_name(std::string_view name) noexcept;
const char* to_string(FaultGroup group) noexcept;

class FaultPlan {
public:
    // Nothing fires.
    static FaultPlan none() { return FaultPlan(); }
    // Every configurable kind on, each at a rate drawn from the seed.
    static FaultPlan all(Prng& prng);
    // Swarm: each configurable kind on with probability 1/2, at a drawn rate.
    static FaultPlan swarm(Prng& prng);
    // "swarm" | "none" | "all" | a comma list of kinds, groups (network,
    // process, disk, time) and kind=rate overrides. Returns nullopt and sets
    // `error` on a bad spec.
    static std::optional<FaultPlan> parse(std::string_view spec, Prng& prng, std::string& error);

    [[nodiscard]] double rate(FaultKind kind) const noexcept {
        return rates_[static_cast<std::size_t>(kind)];
    }
    [[nodiscard]] bool enabled(FaultKind kind) const noexcept { return rate(kind) > 0.0; }
    void set(FaultKind kind, double rate) noexcept {
        rates_[static_cast<std::size_t>(kind)] = rate;
    }

    // Turns off every fault (the liveness phase heals the world).
    void clear() noexcept { rates_.fill(0.0); }

    // "loss=0.0123 crash=2.5 ..." listing the kinds that are on.
    [[nodiscard]] std::string to_string() const;

private:
    static double draw_rate(const FaultKindInfo& kind, Prng& prng);
    std::array<double, kFaultKindCount> rates_{};
};

// How many faults of each kind fired in a run.
class FaultCounters {
public:
    void add(FaultKind kind, std::uint64_t n = 1) noexcept {
        counts_[static_cast<std::size_t>(kind)] += n;
    }
    [[nodiscard]] std::uint64_t count(FaultKind kind) const noexcept {
        return counts_[static_cast<std::size_t>(kind)];
    }
    [[nodiscard]] std::uint64_t total() const noexcept;
    void merge(const FaultCounters& other) noexcept;
    // "crash=3 loss=120 ..." listing kinds that fired, in table order.
    [[nodiscard]] std::string to_string() const;

private:
    std::array<std::uint64_t, kFaultKindCount> counts_{};
};

}  // namespace samsa::sim

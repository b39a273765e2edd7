// samsa-raft-sim-bench: how fast the simulator runs a Raft cluster, and how
// fast Raft elects a new leader after the leader crashes (simulated time).
//
//   samsa-raft-sim-bench speed [--groups 100] [--seconds 60] [--rate 100] [--tick-ms 10]
//       3 RaftNodes hosting `groups` groups, no faults, about `rate` proposals
//       per second (closed loop, 1 KiB at most), every Raft checker on after
//       every event. Prints simulated seconds per wall second, and the same
//       run without proposals (an idle cluster) as the reference.
//   samsa-raft-sim-bench election [--seeds 200] [--groups 10] [--tick-ms 10]
//       For each seed: 3 nodes settle, the node leading group 0 crashes, and
//       the time until every group it led has a new leader is measured in
//       election timeouts (election_timeout_ticks x tick). Prints the share of
//       seeds within 2 timeouts and the p50/p99/max.
// Each mode ends with one JSON line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/scenarios/raft_checkers.h"
#include "sim/scenarios/raft_cluster.h"
#include "sim/scenarios/raft_workload.h"
#include "sim/world.h"

namespace samsa::sim {
namespace {

struct Args {
    std::string mode;
    std::uint32_t groups = 0;
    std::int64_t seconds = 60;
    int rate = 100;
    std::int64_t tick_ms = 10;
    int seeds = 200;
    bool direct_io = true;
};

replication::RaftNodeParams node_params(const Args& args) {
    replication::RaftNodeParams params;
    params.nodes = {NodeId(1), NodeId(2), NodeId(3)};
    params.groups = args.groups;
    params.tick = Duration::milliseconds(args.tick_ms);
    params.raft.election_timeout_ticks = 10;
    params.keep_digests = true;
    params.log.direct_io = args.direct_io;
    return params;
}

double wall_seconds(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Simulated seconds per wall second of one run; `rate` 0: no proposals.
double run_speed(const Args& args, int rate, std::uint64_t& events, std::uint64_t& committed) {
    World world(1, 3, FaultPlan::none());
    const auto params = node_params(args);
    install_raft_nodes(world, params);
    RaftCheckers checkers(world, 3, params.groups,
                          RaftCheckerLimits::from(params.raft, params.pending_proposals_max, 1100));
    world.add_observer(checkers);
    RaftWorkloadParams load;
    load.groups = params.groups;
    load.in_flight = rate > 0 ? std::max(1, rate / 100) : 0;
    load.think_mean = Duration::milliseconds(10);
    load.payload_bytes_max = 1024;
    std::uint64_t acks = 0;
    RaftWorkload workload(world, world.fork_prng(), load,
                          [&](raft::RaftGroupId g, raft::Index i, raft::Term t, std::uint64_t h) {
                              ++acks;
                              checkers.on_ack(g, i, t, h);
                          });
    world.start();
    world.run_until(Instant::zero() + Duration::seconds(3));  // elections
    workload.start();
    const Instant from = world.now();
    const std::uint64_t events_before = world.events_processed();
    const auto start = std::chrono::steady_clock::now();
    world.run_until(from + Duration::seconds(args.seconds));
    const double wall = wall_seconds(start);
    if (world.failure()) std::fprintf(stderr, "checker failure: %s\n", world.failure()->c_str());
    events = world.events_processed() - events_before;
    committed = acks;
    return static_cast<double>(args.seconds) / wall;
}

int speed(Args args) {
    if (args.groups == 0) args.groups = 100;
    std::uint64_t events = 0;
    std::uint64_t committed = 0;
    std::uint64_t idle_events = 0;
    std::uint64_t idle_committed = 0;
    const double idle = run_speed(args, 0, idle_events, idle_committed);
    const double loaded = run_speed(args, args.rate, events, committed);
    std::printf(
        "3 nodes x %u groups, tick %lld ms: idle %.0fx real time (%llu events), "
        "%.0f proposals/s committed: %.0fx real time (%llu events)\n",
        args.groups, static_cast<long long>(args.tick_ms), idle,
        static_cast<unsigned long long>(idle_events),
        static_cast<double>(committed) / static_cast<double>(args.seconds), loaded,
        static_cast<unsigned long long>(events));
    std::printf(
        "{\"mode\":\"speed\",\"groups\":%u,\"tick_ms\":%lld,\"seconds\":%lld,"
        "\"idle_x_real_time\":%.1f,\"loaded_x_real_time\":%.1f,"
        "\"proposals_per_s\":%.1f,\"events\":%llu}\n",
        args.groups, static_cast<long long>(args.tick_ms), static_cast<long long>(args.seconds),
        idle, loaded, static_cast<double>(committed) / static_cast<double>(args.seconds),
        static_cast<unsigned long long>(events));
    return 0;
}

std::optional<NodeId> leader_of(World& world, raft::RaftGroupId group) {
    for (int n = 1; n <= world.node_count(); ++n) {
        auto* node = world.machine<replication::RaftNode>(NodeId(n));
        if (node == nullptr || node->raft(group) == nullptr) continue;
        if (node->raft(group)->role() == raft::Role::leader) return NodeId(n);
    }
    return std::nullopt;
}

// Simulated time from the crash of group 0's leader until every group it
// led has a leader again; nullopt if that never happened within 30 s.
std::optional<Duration> election_after_crash(const Args& args, std::uint64_t seed) {
    World world(seed, 3, FaultPlan::none());
    const auto params = node_params(args);
    install_raft_nodes(world, params);
    world.start();
    Prng prng(seed);
    world.run_until(Instant::zero() + Duration::seconds(3) +
                    Duration::milliseconds(static_cast<std::int64_t>(prng.uniform(1000))));
    const auto victim = leader_of(world, raft::RaftGroupId(0));
    if (!victim) return std::nullopt;
    std::vector<raft::RaftGroupId> led;
    for (std::uint32_t g = 0; g < params.groups; ++g) {
        if (leader_of(world, raft::RaftGroupId(g)) == victim) led.emplace_back(g);
    }
    world.crash(*victim);
    const Instant crashed = world.now();
    const Instant deadline = crashed + Duration::seconds(30);
    while (world.now() < deadline) {
        world.run_until(world.now() + Duration::milliseconds(1));
        const bool all = std::all_of(led.begin(), led.end(), [&](raft::RaftGroupId g) {
            return leader_of(world, g).has_value();
        });
        if (all) return world.now() - crashed;
    }
    return std::nullopt;
}

int election(Args args) {
    if (args.groups == 0) args.groups = 10;
    const Duration timeout = Duration::milliseconds(args.tick_ms * 10);
    std::vector<double> ratios;
    int failed = 0;
    for (int seed = 1; seed <= args.seeds; ++seed) {
        const auto took = election_after_crash(args, static_cast<std::uint64_t>(seed));
        if (!took) {
            ++failed;
            continue;
        }
        ratios.push_back(static_cast<double>(took->count_ns()) /
                         static_cast<double>(timeout.count_ns()));
    }
    std::sort(ratios.begin(), ratios.end());
    const auto within =
        std::count_if(ratios.begin(), ratios.end(), [](double r) { return r <= 2.0; });
    auto pct = [&](double p) {
        if (ratios.empty()) return 0.0;
        return ratios[std::min(ratios.size() - 1, static_cast<std::size_t>(p * ratios.size()))];
    };
    const double share = static_cast<double>(within) / static_cast<double>(args.seeds);
    std::printf(
        "%d seeds, %u groups, election timeout %lld ms: new leaders within 2 timeouts in "
        "%.1f%% of seeds; p50 %.2f, p99 %.2f, max %.2f timeouts; %d never\n",
        args.seeds, args.groups, static_cast<long long>(timeout.count_ns() / 1000000),
        100.0 * share, pct(0.5), pct(0.99), ratios.empty() ? 0.0 : ratios.back(), failed);
    std::printf(
        "{\"mode\":\"election\",\"seeds\":%d,\"groups\":%u,\"within_2_timeouts\":%.4f,"
        "\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"never\":%d}\n",
        args.seeds, args.groups, share, pct(0.5), pct(0.99), ratios.empty() ? 0.0 : ratios.back(),
        failed);
    return 0;
}

}  // namespace
}  // namespace samsa::sim

int main(int argc, char** argv) {
    samsa::sim::Args args;
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: samsa-raft-sim-bench speed|election [--groups N] "
                     "[--seconds S] [--rate R] [--tick-ms T] [--seeds N]\n");
        return 2;
    }
    args.mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const long long value = std::atoll(argv[i + 1]);
        if (flag == "--groups") {
            args.groups = static_cast<std::uint32_t>(value);
        } else if (flag == "--seconds") {
            args.seconds = value;
        } else if (flag == "--rate") {
            args.rate = static_cast<int>(value);
        } else if (flag == "--tick-ms") {
            args.tick_ms = value;
        } else if (flag == "--seeds") {
            args.seeds = static_cast<int>(value);
        } else if (flag == "--direct-io") {
            args.direct_io = value != 0;
        } else {
            std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
            return 2;
        }
    }
    if (args.mode == "speed") return samsa::sim::speed(args);
    if (args.mode == "election") return samsa::sim::election(args);
    std::fprintf(stderr, "unknown mode %s\n", args.mode.c_str());
    return 2;
}

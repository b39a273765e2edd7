#include "sim/nemesis.h"

#include <algorithm>

namespace samsa::sim {

namespace {
constexpr FaultKind kNemesisKinds[] = {
    FaultKind::crash,   FaultKind::pause,    FaultKind::partition, FaultKind::clog,
    FaultKind::swizzle, FaultKind::no_space, FaultKind::clock_jump};
std::size_t index_of(NodeId node) {
    return static_cast<std::size_t>(node.value() - 1);
}
}  // namespace

Nemesis::Nemesis(World& world, Prng prng, NemesisParams params)
    : world_(world),
      prng_(prng),
      params_(params),
      crashed_(static_cast<std::size_t>(world.node_count()), false),
      wiped_(static_cast<std::size_t>(world.node_count()), false),
      saved_capacity_(static_cast<std::size_t>(world.node_count()), 0) {
    if (params_.down_max <= 0) params_.down_max = std::max(1, (world.node_count() - 1) / 2);
}

Duration Nemesis::draw(Duration mean) {
    return Duration::nanoseconds(
        static_cast<std::int64_t>(prng_.exponential(static_cast<double>(mean.count_ns()))));
}

void Nemesis::start(Instant until) {
    until_ = until;
    active_ = true;
    for (FaultKind kind : kNemesisKinds) arm(kind);
}

void Nemesis::arm(FaultKind kind) {
    const double per_minute = world_.plan().rate(kind);
    if (!active_ || per_minute <= 0.0) return;
    const Instant at =
        world_.now() + draw(Duration::nanoseconds(static_cast<std::int64_t>(60e9 / per_minute)));
    if (at > until_) return;
    world_.schedule(at, std::string("nemesis ") + info(kind).name, [this, kind] {
        if (!active_) return;
        fire(kind);
        arm(kind);
    });
}

void Nemesis::fire(FaultKind kind) {
    switch (kind) {
        case FaultKind::crash: crash_one(); break;
        case FaultKind::pause: pause_one(); break;
        case FaultKind::partition: partition(); break;
        case FaultKind::clog: clog_one(); break;
        case FaultKind::swizzle: swizzle(); break;
        case FaultKind::no_space: fill_disk(); break;
        case FaultKind::clock_jump: jump_clock(); break;
        default: SAMSA_UNREACHABLE("not a nemesis fault");
    }
}

int Nemesis::down_count() const {
    int down = 0;
    for (int i = 1; i <= world_.node_count(); ++i) {
        const NodeId node(i);
        if (!world_.is_up(node) || world_.is_paused(node) || crashed_[index_of(node)]) ++down;
    }
    return down;
}

bool Nemesis::pick_up_node(NodeId& node) {
    std::vector<NodeId> candidates;
    for (int i = 1; i <= world_.node_count(); ++i) {
        const NodeId candidate(i);
        if (world_.is_up(candidate) && !world_.is_paused(candidate) &&
            !crashed_[index_of(candidate)]) {
            candidates.push_back(candidate);
        }
    }
    if (candidates.empty()) return false;
    node = candidates[prng_.uniform(candidates.size())];
    return true;
}

void Nemesis::crash_one() {
    NodeId node;
    if (down_count() >= params_.down_max || !pick_up_node(node)) return;
    world_.counters().add(FaultKind::crash);
    crashed_[index_of(node)] = true;
    bool wipe = prng_.chance(world_.plan().rate(FaultKind::wipe));
    if (wipe && params_.wiped_nodes_max >= 0 && !wiped_[index_of(node)] &&
        std::count(wiped_.begin(), wiped_.end(), true) >= params_.wiped_nodes_max) {
        wipe = false;
    }
    if (wipe) wiped_[index_of(node)] = true;
    const Duration downtime = draw(params_.downtime_mean);
    auto schedule_restart = [this, node, wipe, downtime] {
        world_.schedule(world_.now() + downtime, "nemesis restart", [this, node, wipe] {
            if (!crashed_[index_of(node)]) return;
            crashed_[index_of(node)] = false;
            if (wipe) world_.counters().add(FaultKind::wipe);
            world_.restart(node, wipe);
        });
    };
    if (prng_.chance(0.5)) {
        world_.crash_after_next_write(node, schedule_restart);  // crash mid-I/O
        // A node that never writes again is crashed anyway, so the slot frees up.
        world_.schedule(world_.now() + params_.armed_crash_max, "nemesis armed crash",
                        [this, node, schedule_restart] {
                            if (!crashed_[index_of(node)] || !world_.is_up(node)) return;
                            world_.crash_after_next_write(node, nullptr);
                            world_.crash(node);
                            schedule_restart();
                        });
    } else {
        world_.crash(node);
        schedule_restart();
    }
}

void Nemesis::pause_one() {
    NodeId node;
    if (down_count() >= params_.down_max || !pick_up_node(node)) return;
    world_.counters().add(FaultKind::pause);
    world_.pause(node);
    world_.schedule(world_.now() + draw(params_.pause_mean), "nemesis resume",
                    [this, node] { world_.resume(node); });
}

void Nemesis::partition() {
    const int n = world_.node_count();
    if (partitioned_ || n < 2) return;
    world_.counters().add(FaultKind::partition);
    partitioned_ = true;
    // Shapes: 0 isolate one node, 1 split in two sides, 2 one-way cuts.
    const auto shape = prng_.uniform(3);
    std::vector<bool> side(static_cast<std::size_t>(n), false);
    if (shape == 0) {
        side[prng_.uniform(static_cast<std::uint64_t>(n))] = true;
    } else {
        for (auto&& member : side) member = prng_.chance(0.5);
    }
    for (int from = 1; from <= n; ++from) {
        for (int to = 1; to <= n; ++to) {
            if (from == to) continue;
            const bool across = side[index_of(NodeId(from))] != side[index_of(NodeId(to))];
            const bool cut =
                shape == 2 ? (across && side[index_of(NodeId(from))]) || prng_.chance(0.1) : across;
            if (cut) world_.set_cut(NodeId(from), NodeId(to), true);
        }
    }
    world_.schedule(world_.now() + draw(params_.partition_mean), "nemesis heal partition", [this] {
        if (!partitioned_) return;
        partitioned_ = false;
        world_.heal_network();
    });
}

void Nemesis::clog_one() {
    const int n = world_.node_count();
    if (n < 2) return;
    world_.counters().add(FaultKind::clog);
    const auto from =
        NodeId(static_cast<std::int32_t>(1 + prng_.uniform(static_cast<std::uint64_t>(n))));
    auto to =
        NodeId(static_cast<std::int32_t>(1 + prng_.uniform(static_cast<std::uint64_t>(n - 1))));
    if (to >= from) to = NodeId(to.value() + 1);
    world_.network().clog(from, to, world_.now() + draw(params_.clog_mean));
}

void Nemesis::swizzle() {
    // FoundationDB's swizzle-clog: clog a random subset of nodes one by one,
    // then unclog them one by one in a different random order.
    const int n = world_.node_count();
    if (n < 2) return;
    world_.counters().add(FaultKind::swizzle);
    std::vector<NodeId> chosen;
    for (int i = 1; i <= n; ++i) {
        if (prng_.chance(0.5)) chosen.emplace_back(i);
    }
    if (chosen.empty())
        chosen.emplace_back(
            static_cast<std::int32_t>(1 + prng_.uniform(static_cast<std::uint64_t>(n))));
    std::vector<std::size_t> unclog_order(chosen.size());
    for (std::size_t i = 0; i < unclog_order.size(); ++i) unclog_order[i] = i;
    for (std::size_t i = unclog_order.size(); i > 1; --i) {
        std::swap(unclog_order[i - 1], unclog_order[prng_.uniform(i)]);
    }
    const Duration step = params_.swizzle_step;
    const Instant unclog_start = world_.now() + step * static_cast<std::int64_t>(chosen.size() + 1);
    for (std::size_t i = 0; i < chosen.size(); ++i) {
        const Instant clog_at = world_.now() + step * static_cast<std::int64_t>(i);
        const Instant unclog_at = unclog_start + step * static_cast<std::int64_t>(unclog_order[i]);
        const NodeId node = chosen[i];
        world_.schedule(clog_at, "nemesis swizzle clog", [this, node, unclog_at] {
            if (active_) world_.network().clog_node(node, unclog_at);
        });
    }
}

void Nemesis::fill_disk() {
    NodeId node;
    if (!pick_up_node(node)) return;
    auto& saved = saved_capacity_[index_of(node)];
    if (saved != 0) return;
    world_.counters().add(FaultKind::no_space);
    SimDisk& disk = world_.disk(node);
    saved = disk.capacity();
    disk.set_capacity(disk.used_bytes());
    world_.schedule(world_.now() + draw(params_.no_space_mean), "nemesis free disk", [this, node] {
        auto& capacity = saved_capacity_[index_of(node)];
        if (capacity == 0) return;
        world_.disk(node).set_capacity(capacity);
        capacity = 0;
    });
}

void Nemesis::jump_clock() {
    NodeId node;
    if (!pick_up_node(node)) return;
    world_.counters().add(FaultKind::clock_jump);
    world_.jump_clock(node, draw(params_.clock_jump_mean));
}

void Nemesis::heal() {
    active_ = false;
    partitioned_ = false;
    world_.heal_network();
    for (int i = 1; i <= world_.node_count(); ++i) {
        const NodeId node(i);
        world_.resume(node);
        auto& capacity = saved_capacity_[index_of(node)];
        if (capacity != 0) world_.disk(node).set_capacity(capacity);
        capacity = 0;
        world_.crash_after_next_write(node, nullptr);  // disarm
        crashed_[index_of(node)] = false;
        if (!world_.is_up(node)) world_.restart(node, false);
    }
}

}  // namespace samsa::sim

#include "sim/world.h"

#include <algorithm>

#include "core/base/hash.h"

namespace samsa::sim {

namespace {

__extension__ using Int128 = __int128;

template <class... Fs>
struct Overloaded : Fs... {
    using Fs::operator()...;
};

std::uint64_t hash_bytes_of(const io::Bytes& bytes) {
    return hash_bytes(bytes);
}

std::uint64_t hash_effect(const io::Effect& effect) {
    const std::uint64_t kind = effect.index();
    return std::visit(
        Overloaded{
            [&](const io::Send& e) {
                return hash_combine(hash_combine(kind, static_cast<std::uint64_t>(e.to.value())),
                                    hash_bytes_of(e.payload));
            },
            [&](const io::SetTimer& e) {
                return hash_combine(hash_combine(kind, e.timer.value()),
                                    static_cast<std::uint64_t>(e.after.count_ns()));
            },
            [&](const io::CancelTimer& e) { return hash_combine(kind, e.timer.value()); },
            [&](const io::Open& e) {
                return hash_combine(hash_combine(kind, e.token.value() ^ (e.file.value() * 31ULL)),
                                    hash_string(e.name) + e.create * 2 + e.exclusive);
            },
            [&](const io::Close& e) { return hash_combine(kind, e.file.value()); },
            [&](const io::Write& e) {
                return hash_combine(hash_combine(kind, e.token.value() ^ (e.file.value() * 31ULL)),
                                    hash_combine(e.offset, hash_bytes_of(e.data)));
            },
            [&](const io::Read& e) {
                return hash_combine(hash_combine(kind, e.token.value() ^ (e.file.value() * 31ULL)),
                                    hash_combine(e.offset, e.length));
            },
            [&](const io::Fsync& e) {
                return hash_combine(kind, e.token.value() ^ (e.file.value() * 31ULL));
            },
            [&](const io::Truncate& e) {
                return hash_combine(hash_combine(kind, e.token.value() ^ (e.file.value() * 31ULL)),
                                    e.size);
            },
            [&](const io::Remove& e) {
                return hash_combine(hash_combine(kind, e.token.value()), hash_string(e.name));
            },
            [&](const io::Rename& e) {
                return hash_combine(hash_combine(kind, e.token.value()),
                                    hash_combine(hash_string(e.from), hash_string(e.to)));
            },
            [&](const io::List& e) { return hash_combine(kind, e.token.value()); },
            [&](const io::SyncDir& e) { return hash_combine(kind, e.token.value()); },
            [&](const io::ClientReply& e) {
                return hash_combine(
                    hash_combine(kind, e.client.value()),
                    hash_combine(e.sequence, e.frame ? hash_bytes_of(*e.frame) : 0));
            },
            [&](const io::ClientClose& e) { return hash_combine(kind, e.client.value()); },
        },
        effect);
}

// The queue of a disk operation: data operations are ordered per FileId,
// namespace operations among themselves; Open joins both.
constexpr std::uint64_t kNamespaceQueue = ~0ULL;
std::uint64_t file_queue(const io::Effect& operation) {
    return std::visit(Overloaded{
                          [](const io::Open& e) -> std::uint64_t { return e.file.value(); },
                          [](const io::Close& e) -> std::uint64_t { return e.file.value(); },
                          [](const io::Write& e) -> std::uint64_t { return e.file.value(); },
                          [](const io::Read& e) -> std::uint64_t { return e.file.value(); },
                          [](const io::Fsync& e) -> std::uint64_t { return e.file.value(); },
                          [](const io::Truncate& e) -> std::uint64_t { return e.file.value(); },
                          [](const auto&) -> std::uint64_t { return kNamespaceQueue; },
                      },
                      operation);
}

}  // namespace

std::uint64_t hash_effects(const std::vector<io::Effect>& effects) {
    std::uint64_t running = effects.size();
    for (const auto& effect : effects) running = hash_combine(running, hash_effect(effect));
    return running;
}

std::uint64_t hash_event(const io::Event& event) {
    return std::visit(Overloaded{
                          [](const io::Start&) -> std::uint64_t { return 1; },
                          [](const io::MessageReceived& e) {
                              return hash_combine(static_cast<std::uint64_t>(e.from.value()),
                                                  hash_bytes_of(e.payload));
                          },
                          [](const io::TimerFired& e) { return hash_combine(3, e.timer.value()); },
                          [](const io::IoCompleted& e) {
                              std::uint64_t h = hash_combine(e.token.value(),
                                                             static_cast<std::uint64_t>(e.status));
                              h = hash_combine(h, e.size);
                              h = hash_combine(h, hash_bytes_of(e.data));
                              for (const auto& name : e.names)
                                  h = hash_combine(h, hash_string(name));
                              return h;
                          },
                          [](const io::ClientRequest& e) {
                              return hash_combine(hash_combine(5, e.client.value()),
                                                  hash_combine(e.sequence, hash_bytes_of(e.frame)));
                          },
                          [](const io::ClientGone& e) { return hash_combine(6, e.client.value()); },
                      },
                      event);
}

World::World(std::uint64_t seed, int node_count, FaultPlan plan, WorldParams params)
    : params_(params),
      prng_(seed),
      plan_(plan),
      network_(node_count, params.network, prng_.fork(), plan_, counters_),
      queue_(params.events_max) {
    SAMSA_ASSERT(node_count >= 1);
    nodes_.resize(static_cast<std::size_t>(node_count));
    held_.resize(static_cast<std::size_t>(node_count * node_count));
    for (int i = 0; i < node_count; ++i) {
        Node& node = nodes_[static_cast<std::size_t>(i)];
        node.id = NodeId(i + 1);
        node.prng = prng_.fork();
        node.disk = std::make_unique<SimDisk>(params.disk, prng_.fork(), plan_, counters_);
        const double drift_max_ppm = plan_.rate(FaultKind::clock_drift);
        if (drift_max_ppm > 0.0) {
            counters_.add(FaultKind::clock_drift);
            node.drift_ppm = static_cast<std::int64_t>((prng_.unit() * 2.0 - 1.0) * drift_max_ppm);
        }
    }
}

World::~World() = default;

World::Node& World::node_state(NodeId node) {
    SAMSA_ASSERT(node.value() >= 1 && node.value() <= node_count());
    return nodes_[static_cast<std::size_t>(node.value() - 1)];
}

const World::Node& World::node_state(NodeId node) const {
    return const_cast<World*>(this)->node_state(node);
}

void World::set_factory(NodeId node, MachineFactory factory) {
    node_state(node).factory = std::move(factory);
}

void World::start(Instant at) {
    for (auto& node : nodes_) {
        SAMSA_ASSERT_MSG(node.factory, "every node needs a factory before start()");
        node.up = true;
        queue_.push(at, StartEvent{node.id, node.incarnation});
    }
}

bool World::step() {
    if (stopped_ || queue_.empty()) return false;
    auto popped = queue_.pop();
    SAMSA_ASSERT(popped.at >= now_);
    now_ = popped.at;
    dispatch(popped.sequence, popped.payload);
    return !stopped_;
}

void World::run_until(Instant deadline) {
    while (!stopped_ && !queue_.empty() && queue_.next_time() <= deadline) step();
    if (!stopped_) now_ = std::max(now_, deadline);
}

void World::dispatch(std::uint64_t /*sequence*/, Pending& pending) {
    std::visit(Overloaded{
                   [](std::monostate&) { SAMSA_UNREACHABLE("empty event"); },
                   [this](StartEvent& e) { on_start(e); },
                   [this](DeliverEvent& e) { on_deliver(e); },
                   [this](TimerEvent& e) { on_timer(e); },
                   [this](IoEvent& e) { on_io(e); },
                   [this](DeferredEvent& e) { on_deferred(e); },
                   [this](ActionEvent& e) { on_action(e); },
                   [this](ReleaseEvent& e) { on_release(e); },
               },
               pending);
}

void World::on_start(StartEvent& event) {
    Node& node = node_state(event.node);
    if (event.incarnation != node.incarnation || !node.up) return;
    node.machine = node.factory(node.id, node.prng.fork());
    SAMSA_ASSERT(node.machine != nullptr);
    run_machine(node, io::Start{}, EventKind::start, 0);
}

void World::on_deliver(DeliverEvent& event) {
    const auto decision = network_.arrive(event.from, event.to, now_);
    if (decision.what == Network::Arrival::wait) {  // behind a clog, in arrival order
        auto& held = held_[link_index(event.from, event.to)];
        if (held.empty()) queue_.push(decision.until, ReleaseEvent{event.from, event.to});
        held.push_back(std::move(event));
        return;
    }
    Node& node = node_state(event.to);
    const std::uint64_t payload_hash =
        hash_combine(static_cast<std::uint64_t>(event.from.value()), hash_bytes_of(event.payload));
    if (decision.what == Network::Arrival::drop || !node.up || node.machine == nullptr) {
        record(event.to, EventKind::drop, payload_hash, 0, [] { return std::string("dropped"); });
        return;
    }
    for (auto* observer : observers_)
        observer->on_deliver(event.from, event.to, event.payload, now_);
    run_machine(node, io::MessageReceived{event.from, std::move(event.payload)}, EventKind::deliver,
                payload_hash);
}

void World::on_timer(TimerEvent& event) {
    Node& node = node_state(event.node);
    if (event.incarnation != node.incarnation || !node.up) return;
    const auto found = node.timer_generations.find(event.timer.value());
    if (found == node.timer_generations.end() || found->second != event.generation) return;
    run_machine(node, io::TimerFired{event.timer}, EventKind::timer, event.timer.value());
}

void World::on_io(IoEvent& event) {
    Node& node = node_state(event.node);
    if (event.incarnation != node.incarnation || !node.up) return;  // lost in the crash
    auto done = node.disk->execute(event.operation);
    if (!done) return;  // Close
    if (node.crash_after_write && std::holds_alternative<io::Write>(event.operation)) {
        auto after = std::move(node.crash_after_write);
        record(node.id, EventKind::io, hash_event(*done), 0, [] { return std::string("crash"); });
        crash(node.id);
        after();
        return;
    }
    io::Event completion = std::move(*done);
    const std::uint64_t payload_hash = hash_event(completion);
    run_machine(node, std::move(completion), EventKind::io, payload_hash);
}

void World::on_deferred(DeferredEvent& event) {
    Node& node = node_state(event.node);
    if (event.incarnation != node.incarnation || !node.up) return;
    const std::uint64_t payload_hash = hash_event(event.event);
    run_machine(node, std::move(event.event), EventKind::deferred, payload_hash);
}

void World::on_action(ActionEvent& event) {
    record(NodeId(0), EventKind::action, hash_string(event.label), 0,
           [&] { return "action " + event.label; });
    event.action();
}

void World::on_release(const ReleaseEvent& event) {
    const std::size_t link = link_index(event.from, event.to);
    if (held_[link].empty()) return;  // released early by heal_network()
    const Instant until = network_.clogged_until(event.from, event.to);
    if (until > now_) {
        queue_.push(until, event);  // the clog was extended
        return;
    }
    release_held(link);
}

void World::release_held(std::size_t link) {
    for (auto& held : held_[link]) queue_.push(now_, std::move(held));
    held_[link].clear();
}

std::size_t World::link_index(NodeId from, NodeId to) const {
    return static_cast<std::size_t>((from.value() - 1) * node_count() + (to.value() - 1));
}

void World::run_machine(Node& node, io::Event event, EventKind kind, std::uint64_t payload_hash) {
    if (node.paused) {
        node.deferred.push_back(std::move(event));
        return;
    }
    outbox_.clear();
    node.machine->step(local_time(node.id), event, outbox_);
    const std::uint64_t effects_hash = hash_effects(outbox_.effects());
    record(node.id, kind, payload_hash, effects_hash, [&] {
        std::string text = io::describe(event) + " ->";
        for (const auto& effect : outbox_.effects()) text += " [" + io::describe(effect) + "]";
        return text;
    });
    // Observers see the effects intact; apply_effects() moves payloads out.
    for (auto* observer : observers_) observer->on_step(node.id, now_, event, outbox_);
    apply_effects(node);
}

void World::apply_effects(Node& node) {
    for (auto& effect : outbox_.effects()) {
        if (auto* send = std::get_if<io::Send>(&effect)) {
            for (auto* observer : observers_)
                observer->on_send(node.id, send->to, send->payload, now_);
            const auto copies = network_.send(node.id, send->to, now_);
            for (int i = 0; i < copies.count; ++i) {
                io::Bytes payload = i + 1 < copies.count ? send->payload : std::move(send->payload);
                queue_.push(copies.at[i], DeliverEvent{node.id, send->to, std::move(payload)});
            }
        } else if (auto* set = std::get_if<io::SetTimer>(&effect)) {
            schedule_timer(node, *set);
        } else if (auto* cancel = std::get_if<io::CancelTimer>(&effect)) {
            ++node.timer_generations[cancel->timer.value()];
        } else if (std::holds_alternative<io::ClientReply>(effect) ||
                   std::holds_alternative<io::ClientClose>(effect)) {
            if (client_sink_) client_sink_(node.id, std::move(effect));
        } else {
            schedule_io(node, std::move(effect));
        }
    }
}

void World::schedule_timer(Node& node, const io::SetTimer& set) {
    const std::uint64_t generation = ++node.timer_generations[set.timer.value()];
    const Duration delay = to_virtual(node, std::max(set.after, Duration::zero()));
    Duration fire = delay;
    if (prng_.chance(plan_.rate(FaultKind::timer_late))) {
        counters_.add(FaultKind::timer_late);
        fire += Duration::nanoseconds(static_cast<std::int64_t>(
            prng_.exponential(static_cast<double>(params_.timer_late_mean.count_ns()))));
    }
    const TimerEvent event{node.id, node.incarnation, set.timer, generation};
    queue_.push(now_ + fire, event);
    if (delay > Duration::microseconds(10) && prng_.chance(plan_.rate(FaultKind::timer_early))) {
        // Strictly between now and the deadline, so a machine that re-arms makes progress.
        counters_.add(FaultKind::timer_early);
        const auto early =
            1 + static_cast<std::int64_t>(prng_.unit() * static_cast<double>(delay.count_ns() - 1));
        queue_.push(now_ + Duration::nanoseconds(early), event);
    }
    if (prng_.chance(plan_.rate(FaultKind::timer_twice))) {
        counters_.add(FaultKind::timer_twice);
        queue_.push(now_ + fire + Duration::microseconds(prng_.range(1, 5000)), event);
    }
}

void World::schedule_io(Node& node, io::Effect operation) {
    const Duration latency = node.disk->latency(operation);
    const std::uint64_t queue = file_queue(operation);
    const auto* write = std::get_if<io::Write>(&operation);
    const bool passes_fsync = write != nullptr && write->may_pass_fsync;
    const bool is_fsync = std::holds_alternative<io::Fsync>(operation);
    Instant done = now_ + latency;
    Node::IoTail& tail = node.io_tails[queue];
    done = std::max(done, passes_fsync ? tail.data : tail.all);
    if (std::holds_alternative<io::Open>(operation)) {
        Node::IoTail& names = node.io_tails[kNamespaceQueue];
        done = std::max(done, names.all);
        names.all = names.data = done;
    }
    // A Write that passes Fsyncs may finish before them; what follows still
    // waits for both.
    tail.all = std::max(tail.all, done);
    if (!is_fsync) tail.data = done;
    queue_.push(done, IoEvent{node.id, node.incarnation, std::move(operation)});
}

void World::fail(std::string message) {
    if (failure_) return;
    failure_ = "t=" + now_.to_string() + " event #" + std::to_string(events_) + ": " + message;
    stopped_ = true;
}

void World::crash(NodeId id) {
    Node& node = node_state(id);
    if (!node.up) return;
    // Observers see the machine one last time before it is gone.
    for (auto* observer : observers_) observer->on_crash(id, now_);
    node.up = false;
    node.paused = false;
    node.machine.reset();
    ++node.incarnation;
    node.timer_generations.clear();
    node.io_tails.clear();
    node.deferred.clear();
    node.crash_after_write = nullptr;
    node.disk->crash();
}

void World::crash_after_next_write(NodeId id, std::function<void()> after) {
    Node& node = node_state(id);
    if (node.up) node.crash_after_write = std::move(after);
}

void World::restart(NodeId id, bool wipe_disk) {
    Node& node = node_state(id);
    if (node.up) return;
    if (wipe_disk) node.disk->wipe();
    node.up = true;
    queue_.push(now_ + params_.boot_delay, StartEvent{id, node.incarnation});
    for (auto* observer : observers_) observer->on_restart(id, wipe_disk, now_);
}

void World::pause(NodeId id) {
    Node& node = node_state(id);
    if (node.up) node.paused = true;
}

void World::resume(NodeId id) {
    Node& node = node_state(id);
    if (!node.paused) return;
    node.paused = false;
    for (auto& event : node.deferred) {
        queue_.push(now_, DeferredEvent{id, node.incarnation, std::move(event)});
    }
    node.deferred.clear();
}

void World::set_cut(NodeId from, NodeId to, bool cut) {
    network_.set_cut(from, to, cut);
    for (auto* observer : observers_) observer->on_cut(from, to, cut, now_);
}

void World::heal_network() {
    for (int from = 1; from <= node_count(); ++from) {
        for (int to = 1; to <= node_count(); ++to) {
            if (network_.is_cut(NodeId(from), NodeId(to))) set_cut(NodeId(from), NodeId(to), false);
        }
    }
    network_.unclog_all(now_);
    for (std::size_t link = 0; link < held_.size(); ++link) release_held(link);
}

void World::jump_clock(NodeId node, Duration forward) {
    SAMSA_ASSERT_MSG(forward >= Duration::zero(), "a monotonic clock never jumps back");
    node_state(node).clock_offset_ns += forward.count_ns();
}

void World::set_clock_drift(NodeId node, std::int64_t drift_ppm) {
    SAMSA_ASSERT(drift_ppm > -1000000);
    Node& state = node_state(node);
    // Rebase the offset so the clock continues from where it is now.
    const Instant before = local_time_at(state, now_);
    state.drift_ppm = drift_ppm;
    state.clock_offset_ns += (before - local_time_at(state, now_)).count_ns();
}

void World::schedule(Instant at, std::string label, std::function<void()> action) {
    SAMSA_ASSERT(at >= now_);
    queue_.push(at, ActionEvent{std::move(label), std::move(action)});
}

bool World::deliver_client(NodeId node_id, io::Event event) {
    SAMSA_ASSERT(std::holds_alternative<io::ClientRequest>(event) ||
                 std::holds_alternative<io::ClientGone>(event));
    Node& node = node_state(node_id);
    if (!node.up || node.machine == nullptr) return false;
    const std::uint64_t payload_hash = hash_event(event);
    run_machine(node, std::move(event), EventKind::client, payload_hash);
    return true;
}

SimDisk& World::disk(NodeId node) {
    return *node_state(node).disk;
}

bool World::is_up(NodeId node) const {
    return node_state(node).up;
}

bool World::is_paused(NodeId node) const {
    return node_state(node).paused;
}

Instant World::local_time(NodeId id) const {
    return local_time_at(node_state(id), now_);
}

Instant World::local_time_at(const Node& node, Instant at) {
    const std::int64_t virtual_ns = at.nanoseconds();
    const auto drift =
        static_cast<std::int64_t>(static_cast<Int128>(virtual_ns) * node.drift_ppm / 1000000);
    return Instant::from_nanoseconds(node.clock_offset_ns + virtual_ns + drift);
}

Duration World::to_virtual(const Node& node, Duration local) const {
    if (node.drift_ppm == 0) return local;
    // local = virtual * (1 + ppm/1e6): invert, rounding up, then step until the
    // node's clock really has advanced by `local` (floors in local_time()).
    const auto scaled = static_cast<Int128>(local.count_ns()) * 1000000;
    const auto divisor = static_cast<Int128>(1000000 + node.drift_ppm);
    Duration delay =
        Duration::nanoseconds(static_cast<std::int64_t>((scaled + divisor - 1) / divisor));
    const Instant target = local_time(node.id) + local;
    while (local_time_at(node, now_ + delay) < target) delay += Duration::nanoseconds(1);
    return delay;
}

}  // namespace samsa::sim

// The simulated world: one thread, virtual time, N nodes.
//
// Theory of operation. Everything that will happen is an event in one queue
// ordered by (virtual time, sequence). step() takes the earliest event and
// carries it out: a node starts, a message arrives, a timer fires, a disk
// operation takes effect, or a scheduled action (a fault, a phase change)
// runs. Events addressed to a machine become a call to its step(now, event,
// outbox), with `now` read from that node's drifting clock; the effects it
// returns are turned into future events by the network and disk models. One
// seed drives every random draw, every event is folded into a digest, and
// observers (the checkers) look at the world after every event.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/base/prng.h"
#include "core/io/any_machine.h"
#include "core/io/seam.h"
#include "sim/disk.h"
#include "sim/event_queue.h"
#include "sim/fault_plan.h"
#include "sim/network.h"
#include "sim/trace.h"

namespace samsa::sim {

using io::AnyMachine;
using io::MachineBox;

// Builds a fresh machine for a node at every (re)start. The Prng is the
// machine's own stream, forked anew for each incarnation.
using MachineFactory = std::function<std::unique_ptr<AnyMachine>(NodeId self, Prng prng)>;

// Checkers and scenario drivers watch the world through this interface.
class Observer {
public:
    virtual ~Observer() = default;
    // After a machine stepped, before its effects are carried out.
    virtual void on_step(NodeId, Instant, const io::Event&, const io::Outbox&) {}
    virtual void on_send(NodeId /*from*/, NodeId /*to*/, const io::Bytes&, Instant) {}
    virtual void on_deliver(NodeId /*from*/, NodeId /*to*/, const io::Bytes&, Instant) {}
    // Before the machine is destroyed, so checkers can read its last state.
    virtual void on_crash(NodeId, Instant) {}
    virtual void on_restart(NodeId, bool /*wiped*/, Instant) {}
    virtual void on_cut(NodeId /*from*/, NodeId /*to*/, bool /*cut*/, Instant) {}
};

struct WorldParams {
    NetworkParams network;
    DiskParams disk;
    Duration boot_delay = Duration::milliseconds(1);  // restart to Start
    Duration timer_late_mean = Duration::milliseconds(20);
    std::size_t events_max = 1 << 22;  // events pending in the queue at once
};

class World {
public:
    World(std::uint64_t seed, int node_count, FaultPlan plan, WorldParams params = {});
    ~World();
    World(const World&) = delete;
    World& operator=(const World&) = delete;

    // Nodes are numbered 1..node_count. Each needs a factory before start().
    void set_factory(NodeId node, MachineFactory factory);
    // Schedules every node's first Start at `at`.
    void start(Instant at = Instant::zero());

    // Runs one event. Returns false when nothing is left or the run stopped.
    bool step();
    // Runs every event up to and including `deadline`; the clock ends there.
    void run_until(Instant deadline);

    [[nodiscard]] Instant now() const noexcept { return now_; }
    [[nodiscard]] int node_count() const noexcept { return static_cast<int>(nodes_.size()); }
    [[nodiscard]] std::uint64_t events_processed() const noexcept { return events_; }
    [[nodiscard]] const Digest& digest() const noexcept { return digest_; }

    // A checker failed: record the first failure and stop the run.
    void fail(std::string message);
    [[nodiscard]] bool stopped() const noexcept { return stopped_; }
    [[nodiscard]] const std::optional<std::string>& failure() const noexcept { return failure_; }

    // ---- Faults (the nemesis and tests call these) ----
    void crash(NodeId node);
    // Crashes `node` the moment its next Write reaches the disk, before the
    // machine hears of it - the write is then unsynced, so the crash loses or
    // tears it. `after` runs right after that crash; nullptr disarms.
    void crash_after_next_write(NodeId node, std::function<void()> after);
    void restart(NodeId node, bool wipe_disk);
    void pause(NodeId node);
    void resume(NodeId node);
    void set_cut(NodeId from, NodeId to, bool cut);
    void heal_network();
    void jump_clock(NodeId node, Duration forward);
    void set_clock_drift(NodeId node, std::int64_t drift_ppm);
    // Runs `action` at `at` as an event of its own (it is part of the digest).
    void schedule(Instant at, std::string label, std::function<void()> action);

    // Client connections (the Kafka protocol's clients). A simulated client
    // hands a node a ClientRequest or ClientGone event now; the node's
    // ClientReply and ClientClose effects go to the sink (dropped without one,
    // as if the client had gone). Down or paused nodes: see deliver_client().
    using ClientSink = std::function<void(NodeId node, io::Effect effect)>;
    void set_client_sink(ClientSink sink) { client_sink_ = std::move(sink); }
    // Delivers a client event to `node` now; false (and nothing happens) when
    // the node is down - its connections died with it.
    bool deliver_client(NodeId node, io::Event event);

    [[nodiscard]] Network& network() noexcept { return network_; }
    [[nodiscard]] SimDisk& disk(NodeId node);
    [[nodiscard]] FaultPlan& plan() noexcept { return plan_; }
    [[nodiscard]] FaultCounters& counters() noexcept { return counters_; }
    [[nodiscard]] const FaultCounters& counters() const noexcept { return counters_; }
    // A new random stream for a scenario component (nemesis, workload, ...).
    [[nodiscard]] Prng fork_prng() { return prng_.fork(); }

    // ---- Observation ----
    void add_observer(Observer& observer) { observers_.push_back(&observer); }
    void set_recorder(Recorder* recorder) noexcept { recorder_ = recorder; }
    [[nodiscard]] bool is_up(NodeId node) const;
    [[nodiscard]] bool is_paused(NodeId node) const;
    [[nodiscard]] Instant local_time(NodeId node) const;
    // The running machine of `node` as an M, or nullptr when it is down.
    template <class M>
    M* machine(NodeId node) {
        auto* box = dynamic_cast<MachineBox<M>*>(node_state(node).machine.get());
        return box == nullptr ? nullptr : &box->machine();
    }

private:
    struct StartEvent {
        NodeId node;
        std::uint32_t incarnation;
    };
    struct DeliverEvent {
        NodeId from;
        NodeId to;
        io::Bytes payload;
    };
    struct TimerEvent {
        NodeId node;
        std::uint32_t incarnation;
        TimerId timer;
        std::uint64_t generation;
    };
    struct IoEvent {
        NodeId node;
        std::uint32_t incarnation;
        io::Effect operation;
    };
    struct DeferredEvent {  // held while the node was paused
        NodeId node;
        std::uint32_t incarnation;
        io::Event event;
    };
    struct ActionEvent {
        std::string label;
        std::function<void()> action;
    };
    struct ReleaseEvent {  // a clog on from -> to may have cleared
        NodeId from;
        NodeId to;
    };
    using Pending = std::variant<std::monostate, StartEvent, DeliverEvent, TimerEvent, IoEvent,
                                 DeferredEvent, ActionEvent, ReleaseEvent>;

    struct Node {
        NodeId id;
        MachineFactory factory;
        std::unique_ptr<AnyMachine> machine;
        std::unique_ptr<SimDisk> disk;
        Prng prng{0};  // forks a stream for each incarnation's machine
        std::uint32_t incarnation = 0;
        bool up = false;
        bool paused = false;
        std::int64_t clock_offset_ns = 0;
        std::int64_t drift_ppm = 0;
        std::unordered_map<std::uint64_t, std::uint64_t> timer_generations;  // lookups only
        // Per queue (file, namespace): when its last operation completes, and
        // its last one other than an Fsync (what a may_pass_fsync Write waits
        // for). Lookups only.
        struct IoTail {
            Instant all;
            Instant data;
        };
        std::unordered_map<std::uint64_t, IoTail> io_tails;
        std::vector<io::Event> deferred;
        std::function<void()> crash_after_write;  // armed by crash_after_next_write()
    };

    Node& node_state(NodeId node);
    const Node& node_state(NodeId node) const;

    void dispatch(std::uint64_t sequence, Pending& pending);
    void on_start(StartEvent& event);
    void on_deliver(DeliverEvent& event);
    void on_timer(TimerEvent& event);
    void on_io(IoEvent& event);
    void on_deferred(DeferredEvent& event);
    void on_action(ActionEvent& event);
    void on_release(const ReleaseEvent& event);
    void release_held(std::size_t link);
    [[nodiscard]] std::size_t link_index(NodeId from, NodeId to) const;

    // Steps the machine of `node` (or holds the event while it is paused).
    void run_machine(Node& node, io::Event event, EventKind kind, std::uint64_t payload_hash);
    void apply_effects(Node& node);
    void schedule_timer(Node& node, const io::SetTimer& set);
    void schedule_io(Node& node, io::Effect operation);
    // Folds one event into the digest and the determinism recorder; `detail`
    // renders it, and is only called when the recorder finds a divergence.
    template <class Detail>
    void record(NodeId node, EventKind kind, std::uint64_t payload_hash, std::uint64_t effects_hash,
                const Detail& detail) {
        const EventRecord entry{events_++, now_, node, kind, payload_hash, effects_hash};
        digest_.add(entry);
        if (recorder_ != nullptr && !recorder_->observe(entry)) {
            recorder_->set_detail(detail());
            stopped_ = true;
        }
    }
    Duration to_virtual(const Node& node, Duration local) const;
    static Instant local_time_at(const Node& node, Instant at);

    WorldParams params_;
    Prng prng_;
    FaultPlan plan_;
    FaultCounters counters_;
    Network network_;
    std::vector<Node> nodes_;
    std::vector<std::vector<DeliverEvent>> held_;  // by link: messages waiting behind a clog
    EventQueue<Pending> queue_;
    io::Outbox outbox_;
    std::vector<Observer*> observers_;
    Recorder* recorder_ = nullptr;
    ClientSink client_sink_;
    Digest digest_;
    Instant now_;
    std::uint64_t events_ = 0;
    bool stopped_ = false;
    std::optional<std::string> failure_;
};

// Builds a MachineFactory for machine type M from `make(self, prng) -> M`.
template <io::StateMachine M, class Make>
MachineFactory factory_of(Make make) {
    return [make = std::move(make)](NodeId self, Prng prng) -> std::unique_ptr<AnyMachine> {
        return std::make_unique<MachineBox<M>>(make(self, prng));
    };
}

// A digest of a sequence of effects, as folded into each event's record.
std::uint64_t hash_effects(const std::vector<io::Effect>& effects);
// A digest of one event, as folded into each event's record.
std::uint64_t hash_event(const io::Event& event);

}  // namespace samsa::sim

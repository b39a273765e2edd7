// The simulated network: which messages arrive, when, and how often.
//
// A pure model with no queue of its own: the world asks it what happens to a
// message when it is sent (dropped, or arriving at one or two instants) and
// again when an arrival instant comes (deliver, drop at a cut link, or wait
// behind a clog). Links are directed (from, to) pairs. By default a link is
// FIFO with a per-link latency drawn from a distribution with a long tail;
// the fault plan adds loss, duplication, reordering, tiny queues, partitions
// and clogging.
#pragma once

#include <cstdint>
#include <vector>

#include "core/base/ids.h"
#include "core/base/prng.h"
#include "core/base/time.h"
#include "sim/fault_plan.h"

namespace samsa::sim {

struct NetworkParams {
    Duration latency_min = Duration::microseconds(50);
    Duration latency_mean = Duration::microseconds(150);  // exponential, above the minimum
    Duration tail_mean = Duration::milliseconds(30);      // extra, when latency_tail fires
    Duration reorder_mean = Duration::milliseconds(5);    // extra, when reorder fires
    Duration duplicate_mean = Duration::milliseconds(2);  // the copy's extra delay
    std::uint32_t link_queue_max = 4096;                  // messages in flight per link
    std::uint32_t small_link_queue_max = 8;               // ... when queue_overflow is on
};

class Network {
public:
    Network(int node_count, NetworkParams params, Prng prng, const FaultPlan& plan,
            FaultCounters& counters);

    struct Copies {
        int count = 0;  // 0: dropped at send
        Instant at[2];
    };
    // A message from -> to, sent at `now`.
    Copies send(NodeId from, NodeId to, Instant now);

    enum class Arrival { deliver, drop, wait };
    struct ArrivalDecision {
        Arrival what = Arrival::deliver;
        Instant until;  // for wait: when to look again
    };
    // A copy's arrival instant has come.
    ArrivalDecision arrive(NodeId from, NodeId to, Instant now);

    // Partitions: a cut link drops everything that would cross it.
    void set_cut(NodeId from, NodeId to, bool cut);
    [[nodiscard]] bool is_cut(NodeId from, NodeId to) const;
    void heal();

    // Clogging: a clogged link holds messages until `until`, then releases
    // them. Clogging a node clogs every link into and out of it.
    void clog(NodeId from, NodeId to, Instant until);
    void clog_node(NodeId node, Instant until);
    void unclog_all(Instant now);

    [[nodiscard]] int node_count() const noexcept { return node_count_; }
    [[nodiscard]] std::uint32_t in_flight(NodeId from, NodeId to) const;
    [[nodiscard]] Instant clogged_until(NodeId from, NodeId to) const;

private:
    struct Link {
        double latency_scale = 1.0;
        Instant last_arrival;  // FIFO: later messages arrive no earlier
        Instant clogged_until;
        std::uint32_t in_flight = 0;
        bool cut = false;
    };
    Link& link(NodeId from, NodeId to);
    const Link& link(NodeId from, NodeId to) const;
    Duration draw_latency(const Link& link);
    Duration exponential(Duration mean);

    int node_count_;
    NetworkParams params_;
    Prng prng_;
    const FaultPlan& plan_;
    FaultCounters& counters_;
    std::vector<Link> links_;
};

}  // namespace samsa::sim

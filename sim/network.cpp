#include "sim/network.h"

#include <algorithm>

namespace samsa::sim {

Network::Network(int node_count, NetworkParams params, Prng prng, const FaultPlan& plan,
                 FaultCounters& counters)
    : node_count_(node_count),
      params_(params),
      prng_(prng),
      plan_(plan),
      counters_(counters),
      links_(static_cast<std::size_t>(node_count * node_count)) {
    SAMSA_ASSERT(node_count > 0);
    // Some links are slower than others: a per-link scale in [0.5, 2).
    for (auto& each : links_) each.latency_scale = 0.5 + 1.5 * prng_.unit();
}

Network::Link& Network::link(NodeId from, NodeId to) {
    SAMSA_ASSERT(from.value() >= 1 && from.value() <= node_count_);
    SAMSA_ASSERT(to.value() >= 1 && to.value() <= node_count_);
    return links_[static_cast<std::size_t>((from.value() - 1) * node_count_ + (to.value() - 1))];
}

const Network::Link& Network::link(NodeId from, NodeId to) const {
    return const_cast<Network*>(this)->link(from, to);
}

Duration Network::exponential(Duration mean) {
    return Duration::nanoseconds(
        static_cast<std::int64_t>(prng_.exponential(static_cast<double>(mean.count_ns()))));
}

Duration Network::draw_latency(const Link& each) {
    const auto mean_ns = static_cast<double>(params_.latency_mean.count_ns()) * each.latency_scale;
    Duration latency = params_.latency_min +
                       Duration::nanoseconds(static_cast<std::int64_t>(prng_.exponential(mean_ns)));
    if (prng_.chance(plan_.rate(FaultKind::latency_tail))) {
        counters_.add(FaultKind::latency_tail);
        latency += exponential(params_.tail_mean);
    }
    return latency;
}

Network::Copies Network::send(NodeId from, NodeId to, Instant now) {
    Link& each = link(from, to);
    Copies copies;
    if (each.cut) {
        counters_.add(FaultKind::partition_drop);
        return copies;
    }
    if (prng_.chance(plan_.rate(FaultKind::loss))) {
        counters_.add(FaultKind::loss);
        return copies;
    }
    const std::uint32_t queue_max = plan_.enabled(FaultKind::queue_overflow)
                                        ? params_.small_link_queue_max
                                        : params_.link_queue_max;
    if (each.in_flight >= queue_max) {
        counters_.add(FaultKind::queue_overflow);
        return copies;
    }
    Instant arrival = now + draw_latency(each);
    if (prng_.chance(plan_.rate(FaultKind::reorder))) {
        // Held back without holding back the messages behind it.
        counters_.add(FaultKind::reorder);
        arrival += exponential(params_.reorder_mean);
    } else {
        arrival = std::max(arrival, each.last_arrival);
        each.last_arrival = arrival;
    }
    copies.at[copies.count++] = arrival;
    ++each.in_flight;
    if (each.in_flight < queue_max && prng_.chance(plan_.rate(FaultKind::duplicate))) {
        counters_.add(FaultKind::duplicate);
        copies.at[copies.count++] = arrival + exponential(params_.duplicate_mean);
        ++each.in_flight;
    }
    return copies;
}

Network::ArrivalDecision Network::arrive(NodeId from, NodeId to, Instant now) {
    Link& each = link(from, to);
    SAMSA_ASSERT(each.in_flight > 0);
    if (each.cut) {
        --each.in_flight;
        counters_.add(FaultKind::partition_drop);
        return {Arrival::drop, now};
    }
    if (now < each.clogged_until) return {Arrival::wait, each.clogged_until};
    --each.in_flight;
    return {Arrival::deliver, now};
}

void Network::set_cut(NodeId from, NodeId to, bool cut) {
    link(from, to).cut = cut;
}

bool Network::is_cut(NodeId from, NodeId to) const {
    return link(from, to).cut;
}

void Network::heal() {
    for (auto& each : links_) each.cut = false;
}

void Network::clog(NodeId from, NodeId to, Instant until) {
    Link& each = link(from, to);
    each.clogged_until = std::max(each.clogged_until, until);
}

void Network::clog_node(NodeId node, Instant until) {
    for (int other = 1; other <= node_count_; ++other) {
        if (other == node.value()) continue;
        clog(node, NodeId(other), until);
        clog(NodeId(other), node, until);
    }
}

void Network::unclog_all(Instant now) {
    for (auto& each : links_) each.clogged_until = std::min(each.clogged_until, now);
}

std::uint32_t Network::in_flight(NodeId from, NodeId to) const {
    return link(from, to).in_flight;
}

Instant Network::clogged_until(NodeId from, NodeId to) const {
    return link(from, to).clogged_until;
}

}  // namespace samsa::sim

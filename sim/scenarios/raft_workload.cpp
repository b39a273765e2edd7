#include "sim/scenarios/raft_workload.h"

#include <algorithm>

namespace samsa::sim {

using replication::ProposalStatus;

RaftWorkload::RaftWorkload(World& world, Prng prng, RaftWorkloadParams params, AckSink on_ack)
    : world_(world), prng_(prng), params_(params), on_ack_(std::move(on_ack)) {
    world_.set_client_sink(
        [this](NodeId node, io::Effect effect) { on_sink(node, std::move(effect)); });
    world_.add_observer(*this);
}

RaftWorkload::~RaftWorkload() {
    world_.set_client_sink({});
}

void RaftWorkload::start() {
    for (int slot = 0; slot < params_.in_flight; ++slot) schedule_next(slot);
}

void RaftWorkload::settle() {
    settled_ = true;
}

void RaftWorkload::schedule_next(int slot) {
    if (settled_) return;
    const auto wait =
        Duration::nanoseconds(1 + static_cast<std::int64_t>(prng_.exponential(
                                      static_cast<double>(params_.think_mean.count_ns()))));
    world_.schedule(world_.now() + wait, "raft propose", [this, slot] { propose(slot); });
}

RaftWorkload::Connection& RaftWorkload::connection(NodeId node) {
    Connection& conn = connections_[node];
    if (!conn.alive) {
        conn = Connection{ClientId(next_client_++), 0, true};
        ++counts_["connections"];
    }
    return conn;
}

void RaftWorkload::propose(int slot) {
    if (settled_) return;
    const raft::RaftGroupId group(static_cast<std::uint32_t>(prng_.uniform(params_.groups)));
    NodeId node(1 + static_cast<std::int32_t>(
                        prng_.uniform(static_cast<std::uint64_t>(world_.node_count()))));
    if (const auto it = leaders_.find(group.value()); it != leaders_.end()) node = it->second;
    // A unique payload: its number, then filler.
    const std::string label = "p" + std::to_string(next_payload_++) + ":";
    io::Bytes payload(label.begin(), label.end());
    payload.resize(payload.size() + prng_.uniform(params_.payload_bytes_max), 0x5a);
    raft::Entry entry;
    entry.payload = payload;
    const std::uint64_t hash = replication::entry_hash(entry);
    Connection& conn = connection(node);
    const std::uint64_t sequence = conn.sequence++;
    // Registered first: a node may answer (or crash) within the delivery.
    const auto key = std::make_pair(conn.id.value(), sequence);
    outstanding_[key] = Outstanding{slot, node, group, hash, world_.now()};
    io::ClientRequest request{conn.id, sequence, replication::encode_proposal(group, payload)};
    if (!world_.deliver_client(node, std::move(request))) {
        outstanding_.erase(key);
        connections_[node].alive = false;
        leaders_.erase(group.value());
        ++counts_["proposals_to_down_nodes"];
        schedule_next(slot);
        return;
    }
    ++counts_["proposals"];
    if (outstanding_.contains(key)) {
        world_.schedule(world_.now() + params_.answer_timeout, "raft answer timeout",
                        [this, key] { expire(ClientId(key.first), key.second); });
    }
}

void RaftWorkload::expire(ClientId client, std::uint64_t sequence) {
    const auto it = outstanding_.find({client.value(), sequence});
    if (it == outstanding_.end() || settled_) return;  // after healing every answer must come
    ++counts_["outcome_unknown_timeout"];
    const int slot = it->second.slot;
    outstanding_.erase(it);
    schedule_next(slot);
}

void RaftWorkload::on_sink(NodeId, io::Effect effect) {
    auto* reply = std::get_if<io::ClientReply>(&effect);
    if (reply == nullptr) return;  // ClientClose: the node never closes these
    const auto it = outstanding_.find({reply->client.value(), reply->sequence});
    if (it == outstanding_.end()) return;  // timed out already
    const Outstanding outstanding = it->second;
    outstanding_.erase(it);
    const auto answer = reply->frame ? replication::decode_answer(*reply->frame) : std::nullopt;
    SAMSA_ASSERT_MSG(answer.has_value(), "a RaftNode answered with a malformed frame");
    on_answer(outstanding, *answer);
    schedule_next(outstanding.slot);
}

void RaftWorkload::on_answer(const Outstanding& outstanding,
                             const replication::ProposalAnswer& answer) {
    switch (answer.status) {
        case ProposalStatus::committed:
            ++counts_["committed"];
            leaders_[outstanding.group.value()] = outstanding.node;
            on_ack_(outstanding.group, answer.index, answer.term, outstanding.hash);
            return;
        case ProposalStatus::not_leader:
            ++counts_["not_leader"];
            if (answer.leader) {
                leaders_[outstanding.group.value()] = *answer.leader;
            } else {
                leaders_.erase(outstanding.group.value());
            }
            return;
        case ProposalStatus::lost:
            ++counts_["lost"];
            leaders_.erase(outstanding.group.value());
            return;
        case ProposalStatus::busy: ++counts_["busy"]; return;
        case ProposalStatus::bad_request: SAMSA_UNREACHABLE("the workload sent a bad proposal");
    }
}

void RaftWorkload::on_crash(NodeId node, Instant) {
    const auto conn = connections_.find(node);
    if (conn == connections_.end() || !conn->second.alive) return;
    conn->second.alive = false;
    std::vector<int> slots;
    for (auto it = outstanding_.begin(); it != outstanding_.end();) {
        if (it->first.first != conn->second.id.value()) {
            ++it;
            continue;
        }
        ++counts_["outcome_unknown_crash"];
        slots.push_back(it->second.slot);
        it = outstanding_.erase(it);
    }
    for (int slot : slots) schedule_next(slot);
}

std::size_t RaftWorkload::unanswered() const {
    return outstanding_.size();
}

std::string RaftWorkload::describe_unanswered() const {
    std::string text;
    for (const auto& [key, o] : outstanding_) {
        text += " group " + std::to_string(o.group.value()) + " at node " +
                std::to_string(o.node.value()) + " since " + o.sent.to_string() + ";";
        if (text.size() > 400) break;
    }
    return text;
}

std::vector<std::pair<std::string, std::uint64_t>> RaftWorkload::stats() const {
    return {counts_.begin(), counts_.end()};
}

}  // namespace samsa::sim

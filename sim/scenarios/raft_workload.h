// The `raft` scenario's clients: proposals to the groups of a RaftNode
// cluster, through the nodes' client connections.
//
// Up to `in_flight` proposals are outstanding at once, each to a random group
// at the node the workload believes leads it (a not_leader answer names the
// leader it knows). A committed answer goes to the checkers (`on_ack`); a
// proposal whose node crashed, whose connection died, or that waited past
// `answer_timeout` has an unknown outcome and counts as such. In the liveness
// phase no new proposal starts, and every outstanding one on a live
// connection must be answered.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/prng.h"
#include "core/replication/raft_node.h"
#include "sim/world.h"

namespace samsa::sim {

struct RaftWorkloadParams {
    std::uint32_t groups = 1;
    int in_flight = 8;
    Duration think_mean = Duration::milliseconds(5);  // between an answer and the next proposal
    Duration answer_timeout = Duration::seconds(3);
    std::size_t payload_bytes_max = 256;
};

class RaftWorkload final : public Observer {
public:
    // on_ack(group, index, term, entry hash) for every committed answer.
    using AckSink = std::function<void(raft::RaftGroupId, raft::Index, raft::Term, std::uint64_t)>;

    RaftWorkload(World& world, Prng prng, RaftWorkloadParams params, AckSink on_ack);
    ~RaftWorkload() override;

    void start();
    // The liveness phase: no new proposals from now on.
    void settle();
    // Outstanding proposals on live connections (they must all be answered).
    [[nodiscard]] std::size_t unanswered() const;
    [[nodiscard]] std::string describe_unanswered() const;

    void on_crash(NodeId node, Instant now) override;

    [[nodiscard]] std::vector<std::pair<std::string, std::uint64_t>> stats() const;

private:
    struct Connection {
        ClientId id;
        std::uint64_t sequence = 0;
        bool alive = false;
    };
    struct Outstanding {
        int slot = 0;
        NodeId node;
        raft::RaftGroupId group;
        std::uint64_t hash = 0;
        Instant sent;
    };

    void propose(int slot);
    void schedule_next(int slot);
    void on_sink(NodeId node, io::Effect effect);
    void on_answer(const Outstanding& outstanding, const replication::ProposalAnswer& answer);
    void expire(ClientId client, std::uint64_t sequence);
    Connection& connection(NodeId node);

    World& world_;
    Prng prng_;
    RaftWorkloadParams params_;
    AckSink on_ack_;
    bool settled_ = false;
    std::uint64_t next_client_ = 1;
    std::uint64_t next_payload_ = 1;
    std::map<NodeId, Connection> connections_;
    std::map<std::pair<std::uint64_t, std::uint64_t>, Outstanding> outstanding_;  // (client, seq)
    std::map<std::uint32_t, NodeId> leaders_;  // the leader each group is believed to have
    std::map<std::string, std::uint64_t> counts_;
};

}  // namespace samsa::sim

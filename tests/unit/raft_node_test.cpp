// Tests of replication::RaftNode - many Raft groups per node, logs on the
// partition log, hard state in two slots, messages batched per peer - on
// the simulated world without faults, and of its codecs.
#include "core/replication/raft_node.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/replication/raft_node_group.h"
#include "sim/world.h"

namespace samsa::replication {
namespace {

using sim::World;

raft::Entry entry(std::int64_t index, std::int32_t term, raft::EntryKind kind, std::string text) {
    return raft::Entry{raft::Term(term), raft::Index(index), kind,
                       io::Bytes(text.begin(), text.end())};
}

TEST(RaftEntries, RoundTripThroughRecordBatches) {
    for (const auto& e :
         {entry(1, 1, raft::EntryKind::noop, ""), entry(7, 3, raft::EntryKind::normal, "payload"),
          entry(1000000, 99, raft::EntryKind::config, std::string(5000, 'c'))}) {
        const io::Bytes batch = entry_to_batch(e);
        const auto back = batch_to_entry(batch);
        ASSERT_TRUE(back.has_value());
        EXPECT_EQ(*back, e);
    }
}

TEST(RaftEntries, DamagedBatchesAreRefused) {
    const io::Bytes batch = entry_to_batch(entry(5, 2, raft::EntryKind::normal, "abc"));
    for (std::size_t at = 0; at < batch.size(); ++at) {
        io::Bytes flipped = batch;
        flipped[at] ^= 0x10;
        const auto back = batch_to_entry(flipped);
        // baseOffset and partitionLeaderEpoch are outside the CRC: they may
        // decode, into another index or term. Everything else is refused.
        if (at < 8 || (at >= 12 && at < 16)) continue;
        EXPECT_FALSE(back.has_value()) << "flip at " << at;
    }
    EXPECT_FALSE(batch_to_entry(std::span(batch).first(batch.size() - 1)).has_value());
}

TEST(RaftProposals, AnswersRoundTripAndGarbageIsRefused) {
    const ProposalAnswer answer{ProposalStatus::committed, raft::Index(42), raft::Term(7),
                                NodeId(3)};
    const auto back = decode_answer(encode_answer(answer));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->status, answer.status);
    EXPECT_EQ(back->index, answer.index);
    EXPECT_EQ(back->term, answer.term);
    EXPECT_EQ(back->leader, answer.leader);
    io::Bytes bad = encode_answer(answer);
    bad[0] = 200;
    EXPECT_FALSE(decode_answer(bad).has_value());
    EXPECT_FALSE(decode_answer(io::Bytes{1, 2, 3}).has_value());
}

TEST(RaftStateSlots, NewestValidSlotWinsAndDamageIsSeen) {
    const raft::HardState state{raft::Term(9), NodeId(2), raft::Index(40)};
    const io::Bytes slot = StateSlots::encode(17, state);
    bool blank = true;
    const auto back = StateSlots::decode(slot, blank);
    ASSERT_TRUE(back.has_value());
    EXPECT_FALSE(blank);
    EXPECT_EQ(back->sequence, 17u);
    EXPECT_EQ(back->state, state);
    for (std::size_t at = 0; at < slot.size(); ++at) {
        io::Bytes flipped = slot;
        flipped[at] ^= 0x01;
        EXPECT_FALSE(StateSlots::decode(flipped, blank).has_value()) << "flip at " << at;
        EXPECT_FALSE(blank);
    }
    const io::Bytes zeros(StateSlots::slot_bytes, 0);
    EXPECT_FALSE(StateSlots::decode(zeros, blank).has_value());
    EXPECT_TRUE(blank);
}

// A calm three-node cluster of RaftNodes in the simulator.
class RaftNodeCluster : public ::testing::Test {
protected:
    static constexpr int kNodes = 3;

    void build(std::uint32_t groups, std::uint64_t seed = 7) {
        world_ = std::make_unique<World>(seed, kNodes, sim::FaultPlan::none());
        params_.nodes = {NodeId(1), NodeId(2), NodeId(3)};
        params_.groups = groups;
        params_.keep_digests = true;
        for (int n = 1; n <= kNodes; ++n) {
            world_->set_factory(NodeId(n),
                                sim::factory_of<RaftNode>([this](NodeId self, Prng prng) {
                                    auto mine = params_;
                                    mine.self = self;
                                    mine.first_boot = starts_[self.value()]++ == 0;
                                    return RaftNode(mine, prng);
                                }));
        }
        world_->set_client_sink([this](NodeId, io::Effect effect) {
            if (auto* reply = std::get_if<io::ClientReply>(&effect)) {
                answers_[reply->sequence] = decode_answer(*reply->frame);
            }
        });
        world_->start();
    }

    RaftNode* node(int n) { return world_->machine<RaftNode>(NodeId(n)); }

    std::optional<NodeId> leader_of(std::uint32_t group) {
        for (int n = 1; n <= kNodes; ++n) {
            RaftNode* machine = node(n);
            if (machine == nullptr || machine->raft(raft::RaftGroupId(group)) == nullptr) continue;
            if (machine->raft(raft::RaftGroupId(group))->role() == raft::Role::leader) {
                return NodeId(n);
            }
        }
        return std::nullopt;
    }

    // Proposes at the group's leader and runs until the answer comes.
    std::optional<ProposalAnswer> propose(std::uint32_t group, const std::string& text) {
        const auto leader = leader_of(group);
        if (!leader) return std::nullopt;
        const std::uint64_t sequence = next_sequence_++;
        io::Bytes payload(text.begin(), text.end());
        world_->deliver_client(
            *leader, io::ClientRequest{ClientId(1), sequence,
                                       encode_proposal(raft::RaftGroupId(group), payload)});
        for (int i = 0; i < 200 && !answers_.contains(sequence); ++i) {
            world_->run_until(world_->now() + Duration::milliseconds(10));
        }
        return answers_.contains(sequence) ? answers_[sequence] : std::nullopt;
    }

    void run_for(Duration d) { world_->run_until(world_->now() + d); }

    std::unique_ptr<World> world_;
    RaftNodeParams params_;
    std::map<int, int> starts_;
    std::map<std::uint64_t, std::optional<ProposalAnswer>> answers_;
    std::uint64_t next_sequence_ = 0;
};

TEST_F(RaftNodeCluster, EveryGroupElectsALeaderAndCommitsProposals) {
    build(20);
    run_for(Duration::seconds(3));
    for (std::uint32_t g = 0; g < 20; ++g) {
        ASSERT_TRUE(leader_of(g).has_value()) << "group " << g;
        const auto answer = propose(g, "hello-" + std::to_string(g));
        ASSERT_TRUE(answer.has_value()) << "group " << g;
        EXPECT_EQ(answer->status, ProposalStatus::committed);
        EXPECT_GE(answer->index.value(), 2);  // after the leader's noop
    }
    run_for(Duration::milliseconds(500));
    for (std::uint32_t g = 0; g < 20; ++g) {
        const raft::RaftGroupId id(g);
        EXPECT_EQ(node(1)->digests(id), node(2)->digests(id)) << "group " << g;
        EXPECT_EQ(node(1)->digests(id), node(3)->digests(id)) << "group " << g;
    }
}

TEST_F(RaftNodeCluster, HeartbeatsOfAllGroupsTravelAsOneMessagePerPeerPerTick) {
    build(100);
    run_for(Duration::seconds(3));
    for (std::uint32_t g = 0; g < 100; ++g) ASSERT_TRUE(leader_of(g).has_value());
    std::vector<std::uint64_t> batches_before;
    std::vector<std::uint64_t> messages_before;
    for (int n = 1; n <= kNodes; ++n) {
        batches_before.push_back(node(n)->batches_sent());
        messages_before.push_back(node(n)->messages_sent());
    }
    const Duration idle = Duration::seconds(2);
    run_for(idle);
    std::uint64_t batches = 0;
    std::uint64_t messages = 0;
    for (int n = 1; n <= kNodes; ++n) {
        batches += node(n)->batches_sent() - batches_before[static_cast<std::size_t>(n - 1)];
        messages += node(n)->messages_sent() - messages_before[static_cast<std::size_t>(n - 1)];
    }
    // 100 idle groups, their leaders spread over the nodes: per tick, each
    // node sends each peer at most two network messages - one with all its
    // heartbeats, one with all its answers to the peer's heartbeats.
    const auto ticks = static_cast<std::uint64_t>(idle.count_ns() / params_.tick.count_ns());
    EXPECT_LE(batches, 2 * ticks * kNodes * (kNodes - 1));
    EXPECT_GT(messages, batches * 20);  // many groups' messages in each
}

TEST_F(RaftNodeCluster, ARestartedNodeRecoversItsLogAndHardState) {
    build(4);
    run_for(Duration::seconds(3));
    for (int i = 0; i < 10; ++i) {
        const auto answer =
            propose(static_cast<std::uint32_t>(i % 4), "entry-" + std::to_string(i));
        ASSERT_TRUE(answer.has_value());
        ASSERT_EQ(answer->status, ProposalStatus::committed);
    }
    run_for(Duration::milliseconds(500));
    std::map<std::uint32_t, std::vector<EntryDigest>> before;
    std::map<std::uint32_t, raft::HardState> state_before;
    for (std::uint32_t g = 0; g < 4; ++g) {
        before[g] = node(2)->digests(raft::RaftGroupId(g));
        state_before[g] = node(2)->durable_hard_state(raft::RaftGroupId(g));
    }
    world_->crash(NodeId(2));
    world_->restart(NodeId(2), false);
    run_for(Duration::seconds(1));
    ASSERT_NE(node(2), nullptr);
    ASSERT_TRUE(node(2)->running());
    EXPECT_TRUE(node(2)->may_vote());
    for (std::uint32_t g = 0; g < 4; ++g) {
        const auto& now = node(2)->digests(raft::RaftGroupId(g));
        ASSERT_GE(now.size(), before[g].size());
        EXPECT_TRUE(std::equal(before[g].begin(), before[g].end(), now.begin())) << "group " << g;
        EXPECT_GE(node(2)->durable_hard_state(raft::RaftGroupId(g)).term, state_before[g].term);
    }
}

TEST_F(RaftNodeCluster, ANodeThatLostItsDiskNeverVotesButCatchesUp) {
    build(2);
    run_for(Duration::seconds(3));
    for (int i = 0; i < 6; ++i)
        ASSERT_TRUE(propose(static_cast<std::uint32_t>(i % 2), "x").has_value());
    world_->crash(NodeId(3));
    world_->restart(NodeId(3), true);  // wiped
    run_for(Duration::seconds(2));
    ASSERT_NE(node(3), nullptr);
    EXPECT_FALSE(node(3)->may_vote());
    for (std::uint32_t g = 0; g < 2; ++g) {
        EXPECT_EQ(node(3)->digests(raft::RaftGroupId(g)), node(1)->digests(raft::RaftGroupId(g)));
    }
    // It remembers across another restart, and still never leads.
    world_->crash(NodeId(3));
    world_->restart(NodeId(3), false);
    run_for(Duration::seconds(1));
    ASSERT_NE(node(3), nullptr);
    EXPECT_FALSE(node(3)->may_vote());
    for (int n : {1, 2}) {
        world_->crash(NodeId(n));
        world_->restart(NodeId(n), false);
        run_for(Duration::seconds(2));
    }
    for (std::uint32_t g = 0; g < 2; ++g) {
        EXPECT_NE(node(3)->raft(raft::RaftGroupId(g))->role(), raft::Role::leader);
        EXPECT_TRUE(leader_of(g).has_value());
    }
}

TEST_F(RaftNodeCluster, ProposalsAtAFollowerNameTheLeader) {
    build(1);
    run_for(Duration::seconds(3));
    const auto leader = leader_of(0);
    ASSERT_TRUE(leader.has_value());
    const NodeId follower(leader->value() % kNodes + 1);
    const std::string text = "at-follower";
    world_->deliver_client(
        follower, io::ClientRequest{
                      ClientId(9), 0,
                      encode_proposal(raft::RaftGroupId(0), io::Bytes(text.begin(), text.end()))});
    run_for(Duration::milliseconds(50));
    ASSERT_TRUE(answers_.contains(0));
    ASSERT_TRUE(answers_[0].has_value());
    EXPECT_EQ(answers_[0]->status, ProposalStatus::not_leader);
    EXPECT_EQ(answers_[0]->leader, leader);
}

// Drives one RaftNode by hand through its start-up I/O.
template <class T>
const T* last_effect(const io::Outbox& out) {
    const T* found = nullptr;
    for (const auto& effect : out.effects()) {
        if (const auto* e = std::get_if<T>(&effect)) found = e;
    }
    return found;
}

io::IoCompleted completed(IoToken token, io::IoStatus status = io::IoStatus::ok) {
    io::IoCompleted done;
    done.token = token;
    done.status = status;
    return done;
}

RaftNodeParams one_group_of_three(bool first_boot) {
    RaftNodeParams params;
    params.nodes = {NodeId(1), NodeId(2), NodeId(3)};
    params.self = NodeId(1);
    params.groups = 1;
    params.first_boot = first_boot;
    return params;
}

// Starts `node` and answers its directory listing with `names`: what it does next.
io::Outbox start_with_files(RaftNode& node, std::vector<std::string> names) {
    io::Outbox out;
    node.step(Instant::zero(), io::Start{}, out);
    const auto* list = last_effect<io::List>(out);
    EXPECT_NE(list, nullptr);
    auto listed = completed(list != nullptr ? list->token : IoToken(0));
    listed.names = std::move(names);
    io::Outbox next;
    node.step(Instant::zero(), listed, next);
    return next;
}

// A read of the identity marker that fails (EIO) is tried again, like one
// whose bytes came back flipped: a transient error must not make a node
// refuse to take part for ever.
TEST(RaftNodeStartup, AMarkerReadThatFailsOnceIsTriedAgain) {
    const Instant now = Instant::zero();
    // First boot: an empty directory, so the node writes its marker.
    RaftNode first(one_group_of_three(true), Prng(1));
    const io::Outbox writes = start_with_files(first, {});
    const auto* marker_open = last_effect<io::Open>(writes);
    const auto* marker_write = last_effect<io::Write>(writes);
    ASSERT_NE(marker_open, nullptr);
    ASSERT_NE(marker_write, nullptr);
    const io::Bytes marker = marker_write->data;

    // Restart: the marker is there, its first read fails.
    RaftNode node(one_group_of_three(false), Prng(2));
    const io::Outbox opens = start_with_files(node, {marker_open->name});
    const auto* open = last_effect<io::Open>(opens);
    ASSERT_NE(open, nullptr);
    auto opened = completed(open->token);
    opened.size = marker.size();
    io::Outbox reads;
    node.step(now, opened, reads);
    const auto* read = last_effect<io::Read>(reads);
    ASSERT_NE(read, nullptr);
    io::Outbox again;
    node.step(now, completed(read->token, io::IoStatus::io_error), again);
    const auto* retry = last_effect<io::Read>(again);
    ASSERT_NE(retry, nullptr) << "a failed read of the marker must be tried again";
    auto good = completed(retry->token);
    good.data = marker;
    good.size = marker.size();
    io::Outbox started;
    node.step(now, good, started);
    EXPECT_TRUE(node.may_vote()) << "the node read its marker: it takes part and may vote";
    EXPECT_NE(last_effect<io::Close>(started), nullptr);
}

// The same for the open of the marker.
TEST(RaftNodeStartup, AMarkerOpenThatFailsOnceIsTriedAgain) {
    RaftNode node(one_group_of_three(false), Prng(3));
    const io::Outbox opens = start_with_files(node, {"raft-node"});
    const auto* open = last_effect<io::Open>(opens);
    ASSERT_NE(open, nullptr);
    ASSERT_EQ(open->name, "raft-node");
    io::Outbox again;
    node.step(Instant::zero(), completed(open->token, io::IoStatus::io_error), again);
    const auto* retry = last_effect<io::Open>(again);
    ASSERT_NE(retry, nullptr) << "a failed open of the marker must be tried again";
    EXPECT_EQ(retry->name, "raft-node");
    EXPECT_NE(retry->token, open->token);
}

}  // namespace
}  // namespace samsa::replication

// core/raft: scripted exchanges on 3 and 5 members through the in-test host
// and network (raft_cluster.h), one rule per test.
#include "core/raft/raft.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/raft/quorum.h"
#include "tests/unit/printers.h"
#include "tests/unit/raft_cluster.h"

namespace samsa::raft {
namespace {

using testing::Cluster;

std::string text(const Entry& entry) {
    return {entry.payload.begin(), entry.payload.end()};
}

template <class T>
std::size_t count_messages(Cluster& cluster, NodeId from) {
    std::size_t n = 0;
    for (const Message& m : cluster.network()) {
        n += m.from == from && std::holds_alternative<T>(m.body);
    }
    return n;
}

// Ticks one member until it leaves the follower role.
void tick_until_campaign(Cluster& cluster, int id) {
    for (int i = 0; i < 20 && cluster.raft(id).role() == Role::follower; ++i) cluster.tick(id);
    ASSERT_NE(cluster.raft(id).role(), Role::follower);
}

TEST(RaftLogView, TermRunsAnswerTermsAndHints) {
    RaftLog log(Index(0), Term(0));
    const int terms[] = {1, 1, 1, 2, 2, 4, 4, 4, 5};
    for (int i = 0; i < 9; ++i) log.append(Entry{Term(terms[i]), Index(i + 1), {}, {}});
    EXPECT_EQ(log.runs().size(), 5u);  // the base, then terms 1, 2, 4, 5
    EXPECT_EQ(*log.term_at(Index(5)), Term(2));
    EXPECT_EQ(*log.term_at(Index(6)), Term(4));
    EXPECT_FALSE(log.term_at(Index(10)).has_value());
    EXPECT_EQ(log.last_index_with_term_at_most(Index(9), Term(3)), Index(5));
    EXPECT_EQ(log.last_index_with_term_at_most(Index(4), Term(1)), Index(3));
    EXPECT_EQ(log.last_index_with_term_at_most(Index(9), Term(0)), Index(0));
    log.truncate_from(Index(5));
    EXPECT_EQ(log.last_index(), Index(4));
    EXPECT_EQ(log.last_term(), Term(2));
    EXPECT_TRUE(log.mark_durable(Index(4), Term(2)));
    EXPECT_FALSE(log.mark_durable(Index(3), Term(9)));  // stale report
    log.advance_base(Index(2));
    EXPECT_EQ(log.base_term(), Term(1));
    EXPECT_EQ(*log.term_at(Index(3)), Term(1));
    EXPECT_FALSE(log.term_at(Index(1)).has_value());
}

TEST(RaftQuorum, MajorityIndexAndTally) {
    const std::vector<NodeId> voters{NodeId(1), NodeId(2), NodeId(3), NodeId(4), NodeId(5)};
    const std::map<NodeId, Index> matches{{NodeId(1), Index(9)},
                                          {NodeId(2), Index(3)},
                                          {NodeId(3), Index(7)},
                                          {NodeId(4), Index(1)},
                                          {NodeId(5), Index(5)}};
    EXPECT_EQ(quorum_index(voters, [&](NodeId id) { return matches.at(id); }), Index(5));
    std::map<NodeId, bool> votes{{NodeId(1), true}, {NodeId(2), true}};
    EXPECT_EQ(tally(voters, votes), VoteOutcome::pending);
    votes[NodeId(9)] = true;  // not a voter
    EXPECT_EQ(tally(voters, votes), VoteOutcome::pending);
    votes[NodeId(3)] = true;
    EXPECT_EQ(tally(voters, votes), VoteOutcome::won);
    EXPECT_EQ(tally(voters, {{NodeId(1), false}, {NodeId(2), false}, {NodeId(3), false}}),
              VoteOutcome::lost);
}

TEST(RaftMembership, EncodesAndRefusesGarbage) {
    const Membership m{{NodeId(1), NodeId(3)}, {NodeId(7)}};
    EXPECT_EQ(decode_membership(encode_membership(m)), m);
    io::Bytes bad = encode_membership(m);
    bad.push_back(0);
    EXPECT_FALSE(decode_membership(bad).has_value());
    EXPECT_FALSE(decode_membership(io::Bytes{0, 0}).has_value());
}

TEST(RaftElection, RandomizedTimeoutIsWithinTToTwoT) {
    std::set<std::int32_t> seen;
    for (std::uint64_t seed = 1; seed < 200; ++seed) {
        RaftConfig config = Cluster::default_config();
        config.id = NodeId(1);
        config.voters = {NodeId(1), NodeId(2), NodeId(3)};
        Raft raft(config, Prng(seed));
        EXPECT_GE(raft.randomized_timeout_ticks(), 5);
        EXPECT_LT(raft.randomized_timeout_ticks(), 10);
        seen.insert(raft.randomized_timeout_ticks());
    }
    EXPECT_EQ(seen.size(), 5u);
}

TEST(RaftElection, ThreeMembersElectOneLeaderThatCommitsItsNoop) {
    Cluster cluster(3);
    const auto leader = cluster.elect();
    ASSERT_TRUE(leader.has_value());
    Raft& raft = cluster.raft(*leader);
    EXPECT_EQ(raft.term(), Term(1));
    const Entry* noop = cluster.member(*leader).written.at(Index(1));
    ASSERT_NE(noop, nullptr);
    EXPECT_EQ(noop->kind, EntryKind::noop);
    for (int id = 1; id <= 3; ++id) {
        EXPECT_EQ(cluster.raft(id).commit(), Index(1));
        EXPECT_EQ(cluster.raft(id).leader(), NodeId(*leader));
        if (id != *leader) {
            EXPECT_EQ(cluster.raft(id).role(), Role::follower);
        }
    }
}

TEST(RaftElection, CampaignMessagesWaitForTheDurableTermAndVote) {
    RaftConfig config = Cluster::default_config();
    config.pre_vote = false;
    Cluster cluster(3, 0, 1, config);
    tick_until_campaign(cluster, 1);
    EXPECT_EQ(cluster.raft(1).role(), Role::candidate);
    EXPECT_TRUE(cluster.network().empty());  // held until term 1 and the vote are durable
    EXPECT_GT(cluster.raft(1).held_messages(), 0u);
    cluster.flush(1);
    ASSERT_EQ(count_messages<VoteRequest>(cluster, NodeId(1)), 2u);
    // Member 2 grants, but its reply waits for its own vote to be durable.
    cluster.deliver(0);
    EXPECT_EQ(cluster.raft(2).vote(), NodeId(1));
    EXPECT_EQ(count_messages<VoteResponse>(cluster, NodeId(2)), 0u);
    cluster.flush(2);
    EXPECT_EQ(count_messages<VoteResponse>(cluster, NodeId(2)), 1u);
    EXPECT_EQ(cluster.member(2).durable_hard_state.vote, NodeId(1));
}

TEST(RaftElection, AMemberVotesOncePerTerm) {
    RaftConfig config = Cluster::default_config();
    config.pre_vote = false;
    Cluster cluster(3, 0, 1, config);
    cluster.raft(3).step(Message{NodeId(1), NodeId(3), Term(1), VoteRequest{false, false, {}, {}}});
    cluster.raft(3).step(Message{NodeId(2), NodeId(3), Term(1), VoteRequest{false, false, {}, {}}});
    cluster.drain(NodeId(3));
    cluster.flush(3);
    ASSERT_EQ(cluster.network().size(), 2u);
    for (const Message& m : cluster.network()) {
        EXPECT_EQ(std::get<VoteResponse>(m.body).granted, m.to == NodeId(1));
    }
    // After a restart from durable state it still refuses member 2.
    cluster.network().clear();
    cluster.restart(3);
    cluster.raft(3).step(Message{NodeId(2), NodeId(3), Term(1), VoteRequest{false, false, {}, {}}});
    cluster.drain(NodeId(3));
    ASSERT_EQ(cluster.network().size(), 1u);
    EXPECT_FALSE(std::get<VoteResponse>(cluster.network()[0].body).granted);
}

TEST(RaftElection, VotesOnlyForUpToDateLogs) {
    Cluster cluster(3);
    const int leader = *cluster.elect();
    ASSERT_TRUE(cluster.propose(leader, "x").ok());
    cluster.settle();
    const int other = leader == 1 ? 2 : 1;
    cluster.raft(other).step(
        Message{NodeId(9), NodeId(other), Term(7), VoteRequest{false, true, Index(1), Term(1)}});
    cluster.drain(NodeId(other));
    cluster.flush(other);
    EXPECT_EQ(cluster.raft(other).term(), Term(7));
    EXPECT_FALSE(cluster.raft(other).vote().has_value());
}

TEST(RaftElection, PreVoteKeepsAPartitionedMemberFromRaisingTerms) {
    Cluster cluster(3);
    const int leader = *cluster.elect();
    const int lonely = leader == 3 ? 1 : 3;
    cluster.isolate(lonely);
    cluster.run(40);
    EXPECT_EQ(cluster.raft(lonely).term(), Term(1));
    EXPECT_EQ(cluster.raft(lonely).role(), Role::pre_candidate);
    cluster.heal();
    cluster.run(10);
    EXPECT_EQ(cluster.leader(), leader);  // not deposed on its return
    EXPECT_EQ(cluster.raft(leader).term(), Term(1));
}

TEST(RaftElection, StickyFollowersIgnoreVotesWhileTheLeaderIsAlive) {
    RaftConfig config = Cluster::default_config();
    config.pre_vote = false;
    Cluster cluster(3, 0, 1, config);
    const int leader = *cluster.elect();
    const int a = leader == 1 ? 2 : 1;
    const int b = 6 - leader - a;
    cluster.isolate(b);
    cluster.run(20);  // b campaigns alone and raises its term
    EXPECT_GT(cluster.raft(b).term(), Term(1));
    cluster.heal();
    cluster.raft(a).step(Message{NodeId(b), NodeId(a), cluster.raft(b).term(),
                                 VoteRequest{false, false, Index(9), Term(9)}});
    cluster.drain(NodeId(a));
    EXPECT_EQ(cluster.raft(a).term(), Term(1));  // ignored: it heard from the leader
    EXPECT_EQ(cluster.raft(a).leader(), NodeId(leader));
}

TEST(RaftElection, CheckQuorumMakesAnIsolatedLeaderStepDown) {
    Cluster cluster(3);
    const int leader = *cluster.elect();
    cluster.isolate(leader);
    for (int i = 0; i < 12; ++i) cluster.tick(leader);
    EXPECT_EQ(cluster.raft(leader).role(), Role::follower);
    cluster.settle();
    const auto next = cluster.elect();
    ASSERT_TRUE(next.has_value());
    EXPECT_NE(*next, leader);
}

TEST(RaftElection, OfTwoSimultaneousPreCandidatesTheHigherIdStepsBack) {
    Cluster cluster(3);
    const int leader = *cluster.elect();
    const Term term = cluster.raft(leader).term();
    cluster.crash(leader);
    std::vector<int> others;
    for (int id = 1; id <= 3; ++id) {
        if (id != leader) others.push_back(id);
    }
    // Both time out before either hears from the other.
    tick_until_campaign(cluster, others[0]);
    tick_until_campaign(cluster, others[1]);
    cluster.settle();
    // Without the step back both would win their pre-votes, split the vote
    // in the next term and need another election timeout.
    const auto elected = cluster.leader();
    ASSERT_TRUE(elected.has_value());
    EXPECT_EQ(*elected, std::min(others[0], others[1]));
    EXPECT_EQ(cluster.raft(*elected).term(), next_term(term));
}

TEST(RaftElection, FiveMembersElectWithTwoDown) {
    Cluster cluster(5);
    cluster.crash(1);
    cluster.crash(2);
    const auto leader = cluster.elect();
    ASSERT_TRUE(leader.has_value());
    ASSERT_TRUE(cluster.propose(*leader, "five").ok());
    cluster.settle();
    for (int id = 3; id <= 5; ++id) EXPECT_EQ(cluster.raft(id).commit(), Index(2));
    cluster.restart(1);
    cluster.restart(2);
    cluster.run(5);
    for (int id = 1; id <= 5; ++id) EXPECT_EQ(cluster.raft(id).commit(), Index(2));
}

TEST(RaftReplication, CommitCountsOnlyDurableMatches) {
    Cluster cluster(3);
    const int leader = *cluster.elect();
    const int a = leader == 1 ? 2 : 1;
    const int b = 6 - leader - a;
    ASSERT_EQ(cluster.propose(leader, "p").value(), Index(2));
    while (!cluster.network().empty()) cluster.deliver(0);  // both followers append, not durable
    EXPECT_EQ(cluster.raft(leader).commit(), Index(1));
    cluster.flush(a);  // one durable follower, the leader's own write still pending
    while (!cluster.network().empty()) cluster.deliver(0);
    EXPECT_EQ(cluster.raft(leader).commit(), Index(1));
    cluster.flush(leader);  // now the leader and `a`: a majority
    EXPECT_EQ(cluster.raft(leader).commit(), Index(2));
    EXPECT_EQ(cluster.raft(b).log().durable_index(), Index(1));
}

TEST(RaftReplication, FollowersAcknowledgeOnlyDurableEntries) {
    Cluster cluster(3);
    const int leader = *cluster.elect();
    const int a = leader == 1 ? 2 : 1;
    ASSERT_TRUE(cluster.propose(leader, "q").ok());
    cluster.crash(6 - leader - a);
    while (!cluster.network().empty()) cluster.deliver(0);
    for (const Message& m : cluster.network()) {
        if (const auto* r = std::get_if<AppendResponse>(&m.body)) {
            EXPECT_LT(r->match_index, Index(2));
        }
    }
    cluster.flush(a);
    bool acked = false;
    for (const Message& m : cluster.network()) {
        if (const auto* r = std::get_if<AppendResponse>(&m.body))
            acked |= r->match_index == Index(2);
    }
    EXPECT_TRUE(acked);
}

TEST(RaftReplication, ANewLeaderCommitsOlderTermsOnlyThroughItsNoop) {
    RaftConfig config = Cluster::default_config();
    config.check_quorum = false;
    Cluster cluster(3, 0, 7, config);
    const int old_leader = *cluster.elect();
    const int a = old_leader == 1 ? 2 : 1;
    const int b = 6 - old_leader - a;
    cluster.cut(old_leader, b);
    ASSERT_EQ(cluster.propose(old_leader, "x").value(), Index(2));
    cluster.flush(old_leader);
    cluster.network().erase(std::remove_if(cluster.network().begin(), cluster.network().end(),
                                           [&](const Message& m) { return m.to != NodeId(a); }),
                            cluster.network().end());
    while (!cluster.network().empty()) cluster.deliver(0);  // `a` appends x ...
    cluster.flush(a);                                       // ... durably
    cluster.crash(old_leader);                              // before hearing the ack
    cluster.network().clear();
    cluster.heal();
    tick_until_campaign(cluster, a);
    for (int i = 0; i < 50 && cluster.raft(a).role() != Role::leader; ++i) {
        if (!cluster.network().empty()) {
            cluster.deliver(0);
        } else {
            cluster.flush(a);
            cluster.flush(b);
        }
    }
    ASSERT_EQ(cluster.raft(a).role(), Role::leader);
    // b now receives x (term 1) and the noop (term 2) durably; a's noop is not durable.
    while (!cluster.network().empty()) cluster.deliver(0);
    cluster.flush(b);
    while (!cluster.network().empty()) cluster.deliver(0);
    EXPECT_EQ(cluster.raft(b).log().durable_index(), Index(3));
    EXPECT_EQ(cluster.raft(a).commit(), Index(1));  // x has a durable majority, but is term 1
    cluster.flush(a);
    EXPECT_EQ(cluster.raft(a).commit(), Index(3));
}

// Delivers everything in flight except what `drop` says, flushing everyone.
template <class Drop>
void settle_dropping(Cluster& cluster, Drop drop) {
    for (auto& [id, member] : cluster.members()) cluster.flush(id.value());
    for (int round = 0; round < 100 && !cluster.network().empty(); ++round) {
        while (!cluster.network().empty()) {
            if (drop(cluster.network().front())) {
                cluster.network().erase(cluster.network().begin());
            } else {
                cluster.deliver(0);
            }
        }
        for (auto& [id, member] : cluster.members()) cluster.flush(id.value());
    }
}

// Ticks one member until it campaigns in `term` (pre-vote off).
void campaign_for(Cluster& cluster, int id, Term term) {
    for (int i = 0; i < 100 && cluster.raft(id).term() < term; ++i) cluster.tick(id);
    ASSERT_EQ(cluster.raft(id).term(), term);
}

// Figure 8 of the Raft paper: an entry of an older term replicated on a
// majority by a later leader must not count as committed, because a leader
// with a newer last term can still be elected and overwrite it.
TEST(RaftReplication, Figure8OlderTermEntriesAreNotCommittedByCounting) {
    RaftConfig config = Cluster::default_config();
    config.pre_vote = false;
    config.check_quorum = false;
    config.append_entries_bytes_max = 0;  // one entry per append
    Cluster cluster(5, 0, 8, config);
    tick_until_campaign(cluster, 1);
    cluster.settle();
    ASSERT_EQ(cluster.leader(), 1);
    // Term 1: X reaches only member 2.
    for (int other : {3, 4, 5}) {
        cluster.cut(1, other);
        cluster.cut(other, 1);
    }
    ASSERT_EQ(cluster.propose(1, "X").value(), Index(2));
    cluster.settle();
    cluster.crash(1);
    cluster.heal();
    // Term 2: member 5 wins with 3 and 4; its noop 2:2 stays with it.
    cluster.isolate(2);
    campaign_for(cluster, 5, Term(2));
    settle_dropping(cluster, [](const Message& m) {
        return m.from == NodeId(5) && std::holds_alternative<AppendRequest>(m.body);
    });
    ASSERT_EQ(cluster.raft(5).role(), Role::leader);
    cluster.crash(5);
    cluster.heal();
    // Term 3: member 1 wins with 2, 3 and 4 and gets X (index 2, term 1) onto 3 and 4,
    // but its noop 3:3 reaches no one.
    cluster.restart(1);
    for (int i = 0; i < 5 && cluster.raft(1).role() != Role::leader; ++i) {
        campaign_for(cluster, 1, next_term(cluster.raft(1).term()));
        // Appends that would give someone the noop are lost.
        settle_dropping(cluster, [&](const Message& m) {
            const auto* append = std::get_if<AppendRequest>(&m.body);
            return append != nullptr && !append->entries.empty() &&
                   append->entries.back().index > Index(2) &&
                   cluster.raft(m.to.value()).log().matches(append->prev_index, append->prev_term);
        });
    }
    ASSERT_EQ(cluster.raft(1).role(), Role::leader);
    ASSERT_EQ(cluster.raft(1).term(), Term(3));
    ASSERT_EQ(cluster.raft(1).progress(NodeId(3))->match(), Index(2));
    ASSERT_EQ(cluster.raft(1).progress(NodeId(4))->match(), Index(2));
    EXPECT_EQ(cluster.raft(1).commit(), Index(1));  // X is on 1, 2, 3 but of term 1
    // Member 5 can indeed still win (its last term 2 beats X's 1) and replace X.
    cluster.crash(1);
    cluster.restart(5);
    campaign_for(cluster, 5, Term(4));
    cluster.settle();
    cluster.run(3);
    ASSERT_EQ(cluster.leader(), 5);
    EXPECT_EQ(cluster.member(3).durable.at(Index(2))->term, Term(2));
}

TEST(RaftReplication, DivergentSuffixIsTruncatedAboveTheCommitIndex) {
    RaftConfig config = Cluster::default_config();
    config.check_quorum = false;
    Cluster cluster(3, 0, 3, config);
    const int old_leader = *cluster.elect();
    cluster.isolate(old_leader);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(cluster.propose(old_leader, "lost").ok());
    cluster.flush(old_leader);
    cluster.network().clear();
    const int a = old_leader == 1 ? 2 : 1;
    int rounds = 0;
    while (cluster.leader() == old_leader && rounds++ < 50) {
        cluster.tick(a);
        cluster.tick(6 - old_leader - a);
        cluster.settle();
    }
    const int leader = *cluster.leader();
    ASSERT_NE(leader, old_leader);
    ASSERT_TRUE(cluster.propose(leader, "kept").ok());
    cluster.heal();
    cluster.run(5);
    const auto& log = cluster.member(old_leader).durable;
    EXPECT_EQ(log.last_index(), cluster.raft(leader).log().last_index());
    EXPECT_EQ(text(*log.at(Index(3))), "kept");
    EXPECT_EQ(cluster.raft(old_leader).commit(), cluster.raft(leader).commit());
}

TEST(RaftReplication, RejectionHintsSkipWholeTerms) {
    RaftConfig config = Cluster::default_config();
    config.pre_vote = false;
    RaftConfig follower_config = config;
    follower_config.id = NodeId(2);
    follower_config.voters = {NodeId(1), NodeId(2), NodeId(3)};
    // A follower with 30 entries of term 1 that the leader of term 3 never had.
    std::vector<Entry> entries;
    for (int i = 1; i <= 30; ++i) entries.push_back(Entry{Term(1), Index(i), {}, {}});
    Raft follower(follower_config, Prng(1),
                  Restored{HardState{Term(2), {}, Index(0)}, Index(0), Term(0),
                           Membership{follower_config.voters, {}}, entries});
    follower.step(
        Message{NodeId(1), NodeId(2), Term(3), AppendRequest{Index(40), Term(2), {}, Index(0)}});
    const Ready ready = follower.take_ready();
    ASSERT_EQ(ready.messages.size(), 0u);  // held: term 3 is not durable yet
    follower.on_hard_state_durable(*ready.hard_state);
    const Ready released = follower.take_ready();
    ASSERT_EQ(released.messages.size(), 1u);
    const auto& reject = std::get<AppendResponse>(released.messages[0].body);
    EXPECT_FALSE(reject.success);
    EXPECT_EQ(reject.last_index, Index(30));
    EXPECT_EQ(reject.hint_index, Index(30));  // everything up to 30 has term <= 2
    EXPECT_EQ(reject.hint_term, Term(1));
}

TEST(RaftReplication, APipelineIsBoundedByCountAndBytes) {
    RaftConfig config = Cluster::default_config();
    config.inflight_appends_max = 2;
    config.append_entries_bytes_max = 1;
    Cluster cluster(3, 0, 1, config);
    const int leader = *cluster.elect();
    const int a = leader == 1 ? 2 : 1;
    cluster.cut(a, leader);  // acks are lost
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(cluster.propose(leader, "e").ok());
    std::size_t to_a = 0;
    for (const Message& m : cluster.network()) {
        if (m.to == NodeId(a) && std::holds_alternative<AppendRequest>(m.body)) {
            ++to_a;
            EXPECT_EQ(std::get<AppendRequest>(m.body).entries.size(), 1u);
        }
    }
    EXPECT_EQ(to_a, 2u);
    EXPECT_EQ(cluster.raft(leader).progress(NodeId(a))->state(), Progress::State::replicate);
    EXPECT_EQ(cluster.raft(leader).progress(NodeId(a))->inflight_count(), 2u);
}

TEST(RaftReplication, UncommittedBytesAreLimited) {
    RaftConfig config = Cluster::default_config();
    config.uncommitted_bytes_max = 10;
    Cluster cluster(3, 0, 1, config);
    const int leader = *cluster.elect();
    EXPECT_TRUE(cluster.propose(leader, "123456").ok());
    auto refused = cluster.propose(leader, "123456");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error(), ProposeError::too_many_uncommitted_bytes);
    cluster.settle();
    EXPECT_EQ(cluster.raft(leader).uncommitted_bytes(), 0u);
    EXPECT_TRUE(cluster.propose(leader, "123456").ok());
    EXPECT_EQ(cluster.propose(leader == 1 ? 2 : 1, "x").error(), ProposeError::not_leader);
}

TEST(RaftReplication, HeartbeatsCarryOnlyTermAndCommit) {
    Cluster cluster(3);
    const int leader = *cluster.elect();
    ASSERT_TRUE(cluster.propose(leader, "hb").ok());
    cluster.settle();
    cluster.tick(leader);
    std::size_t heartbeats = 0;
    for (const Message& m : cluster.network()) {
        if (const auto* hb = std::get_if<Heartbeat>(&m.body)) {
            ++heartbeats;
            EXPECT_EQ(hb->commit, Index(2));
            EXPECT_EQ(m.term, Term(1));
        }
    }
    EXPECT_EQ(heartbeats, 2u);
}

TEST(RaftReplication, DuplicatedAndReorderedMessagesAreHarmless) {
    Cluster cluster(5, 0, 11);
    const int leader = *cluster.elect();
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(cluster.propose(leader, "d" + std::to_string(i)).ok());
        auto& net = cluster.network();
        const std::size_t n = net.size();
        for (std::size_t k = 0; k < n; ++k) net.push_back(net[k]);  // duplicate all
        std::reverse(net.begin(), net.end());                       // and reorder
        while (!net.empty()) cluster.deliver(cluster.prng().uniform(net.size()));
        for (int id = 1; id <= 5; ++id) cluster.flush(id);
    }
    cluster.run(5);
    for (int id = 1; id <= 5; ++id) {
        EXPECT_EQ(cluster.raft(id).commit(), Index(21));
        EXPECT_EQ(text(*cluster.member(id).durable.at(Index(21))), "d19");
    }
}

TEST(RaftReplication, ACrashLosesOnlyTheUnstableTail) {
    Cluster cluster(3);
    const int leader = *cluster.elect();
    const int a = leader == 1 ? 2 : 1;
    ASSERT_TRUE(cluster.propose(leader, "kept").ok());
    cluster.settle();
    cluster.isolate(leader);
    ASSERT_TRUE(cluster.propose(leader, "unstable").ok());
    EXPECT_EQ(cluster.raft(leader).log().last_index(), Index(3));
    cluster.crash(leader);
    cluster.restart(leader);
    EXPECT_EQ(cluster.raft(leader).log().last_index(), Index(2));
    EXPECT_EQ(cluster.raft(leader).commit(), Index(2));
    EXPECT_EQ(cluster.raft(leader).term(), Term(1));
    EXPECT_EQ(cluster.raft(leader).role(), Role::follower);
    cluster.heal();
    cluster.run(30);
    EXPECT_EQ(cluster.raft(a).commit(), cluster.raft(leader).commit());
}

TEST(RaftReplication, OldEntriesAreReadFromStorageForAFollower) {
    RaftConfig config = Cluster::default_config();
    config.entry_cache_bytes_max = 0;  // keep nothing durable and committed in memory
    Cluster cluster(3, 0, 5, config);
    const int leader = *cluster.elect();
    const int lagging = leader == 1 ? 2 : 1;
    cluster.crash(lagging);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(cluster.propose(leader, "r" + std::to_string(i)).ok());
    cluster.settle();
    cluster.restart(lagging);
    cluster.run(10);
    EXPECT_GT(cluster.reads_served, 0u);
    EXPECT_EQ(cluster.raft(lagging).commit(), Index(11));
    ASSERT_NE(cluster.member(lagging).durable.at(Index(11)), nullptr);
    EXPECT_EQ(text(*cluster.member(lagging).durable.at(Index(11))), "r9");
}

TEST(RaftReplication, AFollowerBehindTheLogStartStartsOverThere) {
    Cluster cluster(3, 0, 9);
    const int leader = *cluster.elect();
    const int lagging = leader == 1 ? 2 : 1;
    cluster.crash(lagging);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(cluster.propose(leader, "s" + std::to_string(i)).ok());
    cluster.settle();
    cluster.raft(leader).on_log_start_advanced(Index(8));  // retention removed 1..7
    EXPECT_EQ(cluster.raft(leader).log().base_index(), Index(7));
    cluster.restart(lagging);
    cluster.run(10);
    const auto& log = cluster.member(lagging).durable;
    EXPECT_EQ(log.base_index, Index(7));
    EXPECT_EQ(log.last_index(), Index(11));
    EXPECT_EQ(text(*log.at(Index(8))), "s6");
    EXPECT_EQ(cluster.raft(lagging).commit(), Index(11));
    EXPECT_EQ(cluster.raft(lagging).log().base_index(), Index(7));
}

// The property test found this: a follower acknowledged the new base as
// matching before its log reset was durable; a crash brought back its old,
// different entries, which the leader's next heartbeat then committed.
TEST(RaftReplication, ALogResetIsAcknowledgedOnlyOnceDurable) {
    RaftConfig config;
    config.id = NodeId(2);
    config.voters = {NodeId(1), NodeId(2), NodeId(3)};
    // Its durable log: four entries of term 1, which the new leader's log
    // does not have (its base 4 is of term 2).
    Restored restored;
    restored.hard_state.term = Term(1);
    restored.base_membership = {config.voters, {}};
    for (int i = 1; i <= 4; ++i) {
        restored.entries.push_back(Entry{Term(1), Index(i), EntryKind::normal, {}});
    }
    Raft follower(config, Prng(3), restored);
    (void)follower.take_ready();
    follower.step(Message{NodeId(1), NodeId(2), Term(2),
                          InstallLogStart{Index(4), Term(2), {config.voters, {}}, Index(5)}});
    Ready ready = follower.take_ready();
    ASSERT_TRUE(ready.reset.has_value());
    ASSERT_TRUE(ready.hard_state.has_value());
    follower.on_hard_state_durable(*ready.hard_state);
    std::vector<Message> sent = std::move(ready.messages);
    for (Message& m : follower.take_ready().messages) sent.push_back(std::move(m));
    ASSERT_FALSE(sent.empty());
    for (const Message& m : sent) {
        const auto* response = std::get_if<AppendResponse>(&m.body);
        ASSERT_NE(response, nullptr);
        EXPECT_TRUE(response->success);
        EXPECT_EQ(response->match_index, Index(0)) << "acknowledged before the reset was durable";
    }
    follower.on_log_durable(Index(4), Term(2));  // the host made the reset durable
    bool acknowledged = false;
    for (const Message& m : follower.take_ready().messages) {
        if (const auto* response = std::get_if<AppendResponse>(&m.body)) {
            acknowledged |= response->success && response->match_index == Index(4);
        }
    }
    EXPECT_TRUE(acknowledged);
}

TEST(RaftTransfer, ToACaughtUpFollower) {
    Cluster cluster(3);
    const int leader = *cluster.elect();
    const int target = leader == 1 ? 2 : 1;
    ASSERT_TRUE(cluster.raft(leader).transfer_leadership(NodeId(target)).ok());
    cluster.drain(NodeId(leader));
    EXPECT_EQ(count_messages<TimeoutNow>(cluster, NodeId(leader)), 1u);
    EXPECT_EQ(cluster.propose(leader, "no").error(), ProposeError::transferring_leadership);
    cluster.run(3);
    EXPECT_EQ(cluster.leader(), target);
    EXPECT_EQ(cluster.raft(target).term(), Term(2));
}

TEST(RaftTransfer, CatchesALaggingTargetUpFirst) {
    Cluster cluster(3);
    const int leader = *cluster.elect();
    const int target = leader == 1 ? 2 : 1;
    cluster.cut(leader, target);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster.propose(leader, "c").ok());
    cluster.settle();
    ASSERT_TRUE(cluster.raft(leader).transfer_leadership(NodeId(target)).ok());
    cluster.drain(NodeId(leader));
    EXPECT_EQ(count_messages<TimeoutNow>(cluster, NodeId(leader)), 0u);
    cluster.heal();
    cluster.run(4);
    EXPECT_EQ(cluster.leader(), target);
    EXPECT_EQ(cluster.raft(target).log().last_index(), cluster.raft(leader).log().last_index());
}

TEST(RaftTransfer, AbortsAfterAnElectionTimeout) {
    Cluster cluster(3);
    const int leader = *cluster.elect();
    const int target = leader == 1 ? 2 : 1;
    cluster.crash(target);
    cluster.settle();
    ASSERT_TRUE(cluster.raft(leader).transfer_leadership(NodeId(target)).ok());
    EXPECT_TRUE(cluster.raft(leader).transferee().has_value());
    cluster.run(5);
    EXPECT_FALSE(cluster.raft(leader).transferee().has_value());
    EXPECT_EQ(cluster.leader(), leader);
    EXPECT_TRUE(cluster.propose(leader, "again").ok());
}

TEST(RaftMembership, AddCatchUpPromoteAndRemove) {
    Cluster cluster(3, 0, 4);
    const int leader = *cluster.elect();
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(cluster.propose(leader, "m").ok());
    cluster.settle();
    cluster.add_member(NodeId(4));
    Raft& raft = cluster.raft(leader);
    // Not a learner yet: cannot be promoted.
    EXPECT_EQ(raft.propose_config_change({ConfigChange::Kind::promote_learner, NodeId(4)}).error(),
              ProposeError::invalid_config_change);
    ASSERT_TRUE(raft.propose_config_change({ConfigChange::Kind::add_learner, NodeId(4)}).ok());
    EXPECT_TRUE(raft.membership().is_learner(NodeId(4)));
    // One change at a time.
    EXPECT_EQ(raft.propose_config_change({ConfigChange::Kind::remove_voter, NodeId(3)}).error(),
              ProposeError::config_change_pending);
    cluster.drain(NodeId(leader));
    cluster.settle();
    cluster.run(3);
    EXPECT_EQ(cluster.raft(4).commit(), raft.commit());
    ASSERT_TRUE(raft.propose_config_change({ConfigChange::Kind::promote_learner, NodeId(4)}).ok());
    cluster.drain(NodeId(leader));
    cluster.run(3);
    EXPECT_TRUE(cluster.raft(4).membership().is_voter(NodeId(4)));
    EXPECT_EQ(raft.membership().voters.size(), 4u);
    ASSERT_TRUE(
        raft.propose_config_change({ConfigChange::Kind::remove_voter, NodeId(leader)}).ok());
    cluster.drain(NodeId(leader));
    cluster.run(3);
    EXPECT_NE(raft.role(), Role::leader);  // it removed itself, then stepped down
    const auto next = cluster.elect();
    ASSERT_TRUE(next.has_value());
    EXPECT_NE(*next, leader);
    EXPECT_EQ(cluster.raft(*next).membership().voters.size(), 3u);
}

TEST(RaftMembership, ALeaderThatRemovedItselfCanStillFinishTheChange) {
    Cluster cluster(2);
    const int leader = *cluster.elect();
    const int other = 3 - leader;
    cluster.isolate(leader);
    ASSERT_TRUE(cluster.raft(leader)
                    .propose_config_change({ConfigChange::Kind::remove_voter, NodeId(leader)})
                    .ok());
    cluster.drain(NodeId(leader));
    cluster.flush(leader);
    cluster.network().clear();
    for (int i = 0; i < 12; ++i) cluster.tick(leader);  // check-quorum: it steps down
    ASSERT_EQ(cluster.raft(leader).role(), Role::follower);
    // Only the old leader holds the change, so only it can win: it must campaign
    // although its latest (uncommitted) config no longer lists it.
    cluster.heal();
    cluster.run(60);
    EXPECT_EQ(cluster.leader(), other);
    EXPECT_EQ(cluster.raft(other).membership().voters, std::vector<NodeId>{NodeId(other)});
    EXPECT_EQ(cluster.raft(other).commit(), cluster.raft(other).log().last_index());
}

TEST(RaftMembership, ALaggingLearnerIsNotPromoted) {
    Cluster cluster(3, 1);
    const int leader = *cluster.elect();
    EXPECT_EQ(cluster.raft(4).role(), Role::follower);
    cluster.crash(4);
    ASSERT_TRUE(cluster.propose(leader, "l").ok());
    cluster.settle();
    EXPECT_EQ(cluster.raft(leader)
                  .propose_config_change({ConfigChange::Kind::promote_learner, NodeId(4)})
                  .error(),
              ProposeError::learner_not_caught_up);
    cluster.run(30);  // learners never campaign
    EXPECT_EQ(cluster.leader(), leader);
}

}  // namespace
}  // namespace samsa::raft

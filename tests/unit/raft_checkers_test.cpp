// The judging pieces of the `raft` scenario's checkers (sim/scenarios/
// raft_checks.h): each passes a correct history and reports a broken one.
#include <gtest/gtest.h>

#include "sim/scenarios/raft_checks.h"

namespace samsa::sim::raft_checks {
namespace {

EntryDigest digest(std::int64_t index, std::int32_t term, std::uint64_t hash) {
    return EntryDigest{Index(index), Term(term), hash};
}

// A log of digests (index i has hash 100 * term + i) with the given terms.
std::vector<EntryDigest> log_of(std::initializer_list<std::int32_t> terms, std::int64_t first = 1) {
    std::vector<EntryDigest> log;
    std::int64_t index = first;
    for (const std::int32_t term : terms) {
        log.push_back(digest(index, term, static_cast<std::uint64_t>(100 * term + index)));
        ++index;
    }
    return log;
}

raft::RaftLog raft_log_of(std::initializer_list<std::int32_t> terms) {
    raft::RaftLog log(Index(0), Term(0));
    std::int64_t index = 1;
    for (const std::int32_t term : terms)
        log.append(raft::Entry{Term(term), Index(index++), raft::EntryKind::normal, {}});
    return log;
}

LogCopy copy_of(const std::vector<EntryDigest>& log) {
    LogCopy copy;
    for (const EntryDigest& entry : log) EXPECT_FALSE(copy.append(entry, std::nullopt));
    return copy;
}

bool mentions(const Violation& violation, const std::string& text) {
    return violation.has_value() && violation->find(text) != std::string::npos;
}

TEST(RaftChecks, OneLeaderPerTerm) {
    LeaderLog leaders;
    bool fresh = false;
    EXPECT_FALSE(leaders.record(Term(1), NodeId(1), fresh));
    EXPECT_TRUE(fresh);
    EXPECT_FALSE(leaders.record(Term(1), NodeId(1), fresh));
    EXPECT_FALSE(fresh);
    EXPECT_FALSE(leaders.record(Term(2), NodeId(2), fresh));
    const Violation twice = leaders.record(Term(1), NodeId(3), fresh);
    EXPECT_TRUE(mentions(twice, "node 1 and node 3 both led term 1")) << twice.value_or("");
    EXPECT_EQ(leaders.terms_led(), 2U);
}

TEST(RaftChecks, DurableTermAndVoteNeverGoBack) {
    const raft::HardState voted{Term(3), NodeId(2), Index(5)};
    EXPECT_FALSE(check_durable_order({Term(3), std::nullopt, Index(0)}, voted));
    EXPECT_FALSE(check_durable_order(voted, voted));
    EXPECT_FALSE(check_durable_order(voted, {Term(4), std::nullopt, Index(5)}));
    EXPECT_TRUE(mentions(check_durable_order(voted, {Term(2), NodeId(2), Index(5)}),
                         "durable term went back from 3 to 2"));
    EXPECT_TRUE(mentions(check_durable_order(voted, {Term(3), NodeId(1), Index(5)}),
                         "changed from node 2 to node 1"));
    EXPECT_TRUE(
        mentions(check_durable_order(voted, {Term(3), std::nullopt, Index(5)}), "to nobody"));
}

TEST(RaftChecks, ANodeThatLostItsDiskNeverVotes) {
    EXPECT_FALSE(check_lost_disk(false, raft::Role::follower, std::nullopt, std::nullopt));
    EXPECT_TRUE(mentions(check_lost_disk(true, raft::Role::follower, std::nullopt, std::nullopt),
                         "may vote"));
    EXPECT_TRUE(mentions(check_lost_disk(false, raft::Role::candidate, std::nullopt, std::nullopt),
                         "candidate"));
    EXPECT_TRUE(mentions(check_lost_disk(false, raft::Role::follower, std::nullopt, NodeId(3)),
                         "voted for node 3"));
}

TEST(RaftChecks, LogCopyKeepsAContiguousChainedLog) {
    LogCopy copy = copy_of(log_of({1, 1, 2}));
    EXPECT_EQ(copy.last_index(), Index(3));
    EXPECT_TRUE(copy.anchored());
    EXPECT_EQ(copy.chain_at(Index(3)), copy_of(log_of({1, 1, 2})).chain_at(Index(3)));
    EXPECT_NE(copy.chain_at(Index(3)), copy_of(log_of({1, 2, 2})).chain_at(Index(3)));
    EXPECT_TRUE(mentions(copy.append(digest(5, 2, 1), std::nullopt), "jumps"));
    EXPECT_TRUE(mentions(copy.append(digest(4, 1, 1), std::nullopt), "goes back in term"));
    const auto removed = copy.truncate_from(Index(2));
    ASSERT_EQ(removed.size(), 2U);
    EXPECT_EQ(removed.front().index, Index(2));
    EXPECT_EQ(copy.last_index(), Index(1));
    copy.keep_up_to(Index(0));
    EXPECT_TRUE(copy.empty());

    LogCopy late;  // starts after a base, nobody anchored it
    EXPECT_FALSE(late.append(digest(4, 2, 7), std::nullopt));
    EXPECT_FALSE(late.anchored());
    LogCopy anchored;
    EXPECT_FALSE(anchored.append(digest(4, 2, 7), std::uint64_t{42}));
    EXPECT_TRUE(anchored.anchored());
    EXPECT_EQ(anchored.chain_at(Index(4)), 42U);
}

TEST(RaftChecks, RegistryComparesEntriesAndChains) {
    ChainRegistry registry;
    const LogCopy a = copy_of(log_of({1, 1, 2}));
    const LogCopy b = copy_of(log_of({1, 1, 2}));
    NodeId first;
    for (const EntryDigest& entry : a.digests()) {
        EXPECT_FALSE(registry.observe(NodeId(1), entry, a.chain_at(entry.index), true, first));
    }
    for (const EntryDigest& entry : b.digests()) {
        EXPECT_FALSE(registry.observe(NodeId(2), entry, b.chain_at(entry.index), true, first));
    }
    EXPECT_EQ(first, NodeId(1));
    EXPECT_EQ(registry.anchor(a.digests()[1]), a.chain_at(Index(2)));
    // Another term at index 3: no conflict.
    EXPECT_FALSE(registry.observe(NodeId(3), digest(3, 3, 9), 1, true, first));
    // The same (index, term) with another entry.
    EXPECT_TRUE(mentions(registry.observe(NodeId(3), digest(3, 2, 9), 1, true, first),
                         "with different entries"));
    // The same entry over a different prefix.
    std::vector<EntryDigest> forked = log_of({1, 1, 2});
    forked[0].hash = 5;
    const LogCopy c = copy_of(forked);
    EXPECT_TRUE(mentions(registry.observe(NodeId(3), forked[2], c.chain_at(Index(3)), true, first),
                         "differ below"));
}

TEST(RaftChecks, LogMatchingOverWholeLogs) {
    EXPECT_FALSE(check_log_matching(log_of({1, 1, 2}), log_of({1, 1, 2, 2})));
    EXPECT_FALSE(check_log_matching(log_of({1, 1, 2}), log_of({1, 1, 3})));  // diverging tail
    EXPECT_FALSE(check_log_matching(log_of({1, 2}, 3), log_of({1, 1, 1, 2})));
    std::vector<EntryDigest> forked = log_of({1, 1, 2});
    forked[1].hash = 77;
    EXPECT_TRUE(mentions(check_log_matching(log_of({1, 1, 2}), forked),
                         "both hold index 3 of term 2, yet at index 2"));
}

TEST(RaftChecks, LeaderNeverCutsWhatItHolds) {
    const raft::RaftLog view = raft_log_of({1, 1, 3});  // elected in term 3
    // The host carries out a cut Raft made before the election: (3, 2) is
    // no longer in the view.
    EXPECT_FALSE(check_leader_truncation(Term(3), view, log_of({2, 2}, 3)));
    EXPECT_TRUE(mentions(check_leader_truncation(Term(3), view, log_of({3}, 3)), "its own entry"));
    EXPECT_TRUE(mentions(check_leader_truncation(Term(3), view, log_of({1}, 2)), "still holds"));
}

TEST(RaftChecks, LeaderLogOnlyGrows) {
    raft::RaftLog view = raft_log_of({1, 2, 2});
    EXPECT_FALSE(check_leader_log(Index(2), Term(2), view));
    EXPECT_TRUE(mentions(check_leader_log(Index(3), Term(1), view), "changed from term 1"));
    view.truncate_from(Index(3));
    EXPECT_TRUE(mentions(check_leader_log(Index(3), Term(2), view), "shrank from index 3 to 2"));
}

TEST(RaftChecks, CommitNeedsADurableQuorum) {
    const EntryDigest entry = digest(5, 2, 9);
    const std::vector<NodeId> voters{NodeId(1), NodeId(2), NodeId(3)};
    const std::vector<std::optional<EntryDigest>> two{entry, std::nullopt, entry};
    EXPECT_FALSE(check_commit_quorum(Index(5), entry, voters, two));
    const std::vector<std::optional<EntryDigest>> one{entry, digest(5, 1, 9), std::nullopt};
    EXPECT_TRUE(mentions(check_commit_quorum(Index(5), entry, voters, one),
                         "with only 1 of 3 voters holding it durably"));
}

TEST(RaftChecks, ClaimedDurableSurvivesACrash) {
    EXPECT_FALSE(check_recovered(log_of({1, 1}), log_of({1, 1, 2})));
    EXPECT_FALSE(check_recovered({}, {}));
    EXPECT_TRUE(mentions(check_recovered(log_of({1, 1, 2}), log_of({1, 1})),
                         "its recovered log is [1..2]"));
    EXPECT_TRUE(mentions(check_recovered(log_of({1, 1}), log_of({1, 2})), "but recovered"));
}

TEST(RaftChecks, OracleHoldsOneEntryPerIndex) {
    Oracle oracle;
    bool fresh = false;
    EXPECT_FALSE(oracle.commit(NodeId(1), Term(1), digest(1, 1, 1), fresh));
    EXPECT_TRUE(fresh);
    EXPECT_FALSE(oracle.commit(NodeId(2), Term(2), digest(1, 1, 1), fresh));
    EXPECT_FALSE(fresh);
    EXPECT_FALSE(oracle.commit(NodeId(2), Term(3), digest(2, 3, 1), fresh));
    EXPECT_EQ(oracle.committed_before(Term(3)), Index(1));
    EXPECT_EQ(oracle.committed_before(Term(4)), Index(2));
    EXPECT_EQ(oracle.commit_term(Index(1)), Term(1));
    EXPECT_TRUE(mentions(oracle.commit(NodeId(3), Term(3), digest(1, 2, 1), fresh),
                         "node 3 has (index 1, term 2"));
}

TEST(RaftChecks, NewLeaderHoldsEarlierCommits) {
    Oracle oracle;
    bool fresh = false;
    for (const EntryDigest& entry : log_of({1, 1})) {
        ASSERT_FALSE(oracle.commit(NodeId(1), Term(1), entry, fresh));
    }
    EXPECT_FALSE(check_leader_complete(oracle, Term(2), raft_log_of({1, 1, 2}), LogCopy{}));
    EXPECT_TRUE(
        mentions(check_leader_complete(oracle, Term(2), raft_log_of({1}), LogCopy{}), "ends at"));
    EXPECT_TRUE(mentions(check_leader_complete(oracle, Term(2), raft_log_of({1, 2}), LogCopy{}),
                         "holds term 2"));
    EXPECT_TRUE(mentions(check_leader_complete(oracle, Term(2), raft_log_of({1, 1}),
                                               copy_of({digest(1, 1, 101), digest(2, 1, 5)})),
                         "it wrote"));
    // Committed in term 3, while a stale candidate of term 2 gathered votes.
    ASSERT_FALSE(oracle.commit(NodeId(1), Term(3), digest(3, 3, 303), fresh));
    EXPECT_FALSE(check_leader_complete(oracle, Term(2), raft_log_of({1, 1}), LogCopy{}));
}

TEST(RaftChecks, NoTruncationOfCommittedEntries) {
    Oracle oracle;
    bool fresh = false;
    ASSERT_FALSE(oracle.commit(NodeId(1), Term(3), digest(4, 2, 204), fresh));
    const auto removed = log_of({2}, 4);
    EXPECT_FALSE(check_truncation(Index(5), Index(4), Term(3), {}, oracle));
    EXPECT_TRUE(mentions(check_truncation(Index(4), Index(4), std::nullopt, removed, oracle),
                         "at or below its commit 4"));
    EXPECT_TRUE(mentions(check_truncation(Index(4), Index(3), Term(3), removed, oracle),
                         "committed in term 3"));
    // A follower still in term 2 may lose it to a stale leader.
    EXPECT_FALSE(check_truncation(Index(4), Index(3), Term(2), removed, oracle));
    EXPECT_FALSE(check_truncation(Index(4), Index(3), std::nullopt, removed, oracle));
    // A divergent entry at a committed index may go.
    EXPECT_FALSE(check_truncation(Index(4), Index(3), Term(3), log_of({1}, 4), oracle));
}

TEST(RaftChecks, HighWatermarkNeverGoesBack) {
    WatermarkLog marks;
    EXPECT_FALSE(marks.expose(Term(1), Index(3)));
    EXPECT_FALSE(marks.expose(Term(1), Index(5)));
    EXPECT_FALSE(marks.expose(Term(3), Index(7)));
    EXPECT_FALSE(marks.expose(Term(2), Index(6)));  // a deposed leader, stale
    EXPECT_EQ(marks.stale(), 1U);
    EXPECT_EQ(marks.max(), Index(7));
    EXPECT_TRUE(mentions(marks.expose(Term(3), Index(6)), "lowered its high watermark"));
    EXPECT_TRUE(mentions(marks.expose(Term(4), Index(6)), "went back from 7"));
    EXPECT_TRUE(mentions(marks.expose(Term(2), Index(8)), "after the leader of later term 3"));
}

TEST(RaftChecks, AcknowledgedProposalsAreCommitted) {
    Oracle oracle;
    bool fresh = false;
    ASSERT_FALSE(oracle.commit(NodeId(1), Term(2), digest(1, 2, 11), fresh));
    EXPECT_FALSE(check_ack(oracle, Index(1), digest(1, 2, 11), true));
    EXPECT_FALSE(check_ack(oracle, Index(2), digest(2, 2, 12), false));  // not seen yet
    EXPECT_TRUE(
        mentions(check_ack(oracle, Index(2), digest(2, 2, 12), true), "no replica ever committed"));
    EXPECT_TRUE(mentions(check_ack(oracle, Index(1), digest(1, 2, 12), false), "is committed"));
    EXPECT_TRUE(mentions(check_ack(oracle, Index(0), digest(1, 2, 11), false), "above every high"));
}

TEST(RaftChecks, OneUncommittedConfigChange) {
    const raft::Membership three{{NodeId(1), NodeId(2), NodeId(3)}, {}};
    const raft::Membership four{{NodeId(1), NodeId(2), NodeId(3)}, {NodeId(4)}};
    std::vector<std::pair<Index, raft::Membership>> configs{{Index(3), four}};
    EXPECT_FALSE(check_membership(configs, Index(2), four));
    configs.emplace_back(Index(6), three);
    EXPECT_FALSE(check_membership(configs, Index(3), three));
    EXPECT_TRUE(mentions(check_membership(configs, Index(2), three), "are both above the commit"));
    const raft::Membership overlapping{{NodeId(1), NodeId(2)}, {NodeId(2)}};
    EXPECT_TRUE(mentions(check_membership({}, Index(0), overlapping), "not valid"));
    const std::vector<std::pair<Index, raft::Membership>> bad{{Index(4), overlapping}};
    EXPECT_TRUE(mentions(check_membership(bad, Index(2), three), "at index 4 is not a valid"));
}

TEST(RaftChecks, BoundsHold) {
    RaftCheckerLimits limits;
    limits.uncommitted_bytes_max = 1000;
    limits.inflight_appends_max = 4;
    limits.inflight_bytes_max = 100;
    limits.append_entries_bytes_max = 50;
    limits.entry_payload_bytes_max = 2000;
    limits.pending_proposals_max = 10;
    EXPECT_FALSE(check_group_bounds(2000, 0, limits));  // one big entry alone
    EXPECT_TRUE(mentions(check_group_bounds(2001, 0, limits), "uncommitted bytes"));
    EXPECT_TRUE(
        mentions(check_group_bounds(0, raft::Raft::held_messages_max + 1, limits), "messages"));
    EXPECT_FALSE(check_inflight(NodeId(2), 4, 99 + 2000, limits));
    EXPECT_TRUE(mentions(check_inflight(NodeId(2), 5, 0, limits), "5 appends in flight to node 2"));
    EXPECT_TRUE(mentions(check_inflight(NodeId(2), 1, 100 + 2000, limits), "bytes in flight"));
    EXPECT_FALSE(check_pending(10, limits));
    EXPECT_TRUE(mentions(check_pending(11, limits), "11 pending proposals"));
}

TEST(RaftChecks, ReplicasConvergeOnTheLeadersLog) {
    const auto leader = log_of({1, 1, 2, 2});
    EXPECT_FALSE(
        check_converged(NodeId(1), leader, Index(3), NodeId(2), log_of({1, 1, 2}), Index(3)));
    EXPECT_FALSE(check_converged(NodeId(1), leader, Index(3), NodeId(2), log_of({2}, 3), Index(3)));
    EXPECT_TRUE(
        mentions(check_converged(NodeId(1), leader, Index(3), NodeId(2), log_of({1, 1}), Index(2)),
                 "has commit 2"));
    EXPECT_TRUE(
        mentions(check_converged(NodeId(1), leader, Index(3), NodeId(2), log_of({1, 1}), Index(3)),
                 "lacks committed index 3"));
    EXPECT_TRUE(mentions(
        check_converged(NodeId(1), leader, Index(3), NodeId(2), log_of({1, 1, 3}), Index(3)),
        "where the leader (node 1) holds"));
}

}  // namespace
}  // namespace samsa::sim::raft_checks

// core/raft: golden traces. Each scenario drives a small group through the
// in-test host and network (raft_cluster.h) with a fixed script and records a
// transcript: one line per input to a member (tick, step of a message, a
// proposal, the storage's reports) followed by one indented line per output
// of the Ready that input produced (raft_describe.h). The transcript is
// compared with tests/golden/raft/<scenario>.txt; lines of the file starting
// with '#' are comments. SAMSA_UPDATE_GOLDEN=1 rewrites the files instead, so
// a deliberate change of behaviour shows up as a reviewable diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "core/raft/raft.h"
#include "tests/unit/raft_cluster.h"
#include "tests/unit/raft_describe.h"

#ifndef SAMSA_RAFT_GOLDEN_DIR
#error "SAMSA_RAFT_GOLDEN_DIR must name tests/golden/raft (set in tests/unit/meson.build)"
#endif

namespace samsa::raft {
namespace {

using testing::Cluster;
using testing::describe;

// A Cluster whose every input and every Ready is written to a transcript.
// It inherits privately so that a scenario cannot reach an input (tick_all,
// Cluster::settle...) that would bypass the recording.
class Recorder : private Cluster {
public:
    static constexpr int settle_rounds_max = 100;
    static constexpr int campaign_ticks_max = 40;

    explicit Recorder(int voters, std::uint64_t seed = 1) : Cluster(voters, 0, seed) {}

    using Cluster::member;
    using Cluster::raft;

    // Changes to the world, recorded as lines starting with "==".
    void add_member(int id) {
        world("n" + std::to_string(id) + " joins the network, with an empty log");
        Cluster::add_member(NodeId(id));
    }
    void cut(int from, int to) {
        world("cut n" + std::to_string(from) + "->n" + std::to_string(to));
        Cluster::cut(from, to);
    }
    void isolate(int id) {
        world("isolate n" + std::to_string(id));
        Cluster::isolate(id);
    }
    void heal() {
        world("heal all links");
        Cluster::heal();
    }

    [[nodiscard]] const std::vector<std::string>& lines() const { return lines_; }

    // A line that explains the script; part of the transcript.
    void note(const std::string& text) { lines_.push_back("-- " + text); }

    void tick(int id) {
        input(id, "tick");
        Cluster::tick(id);
    }

    // Ticks `id` until it leaves the follower role (pre-candidate or candidate).
    void tick_until_campaign(int id) {
        for (int i = 0; i < campaign_ticks_max && raft(id).role() == Role::follower; ++i) tick(id);
        ASSERT_NE(raft(id).role(), Role::follower) << "n" << id << " never campaigned";
    }

    Result<Index, ProposeError> propose(int id, const std::string& text) {
        auto result = raft(id).propose(io::Bytes(text.begin(), text.end()));
        input(id, "propose payload=" + testing::quoted(io::Bytes(text.begin(), text.end())) +
                      " -> " + outcome(result));
        drain(NodeId(id));
        return result;
    }

    Result<Index, ProposeError> change_config(int id, ConfigChange change) {
        auto result = raft(id).propose_config_change(change);
        input(id, "propose_config_change " + describe(change) + " -> " + outcome(result));
        drain(NodeId(id));
        return result;
    }

    Status<ProposeError> transfer_leadership(int id, int target) {
        auto status = raft(id).transfer_leadership(NodeId(target));
        input(id, "transfer_leadership target=n" + std::to_string(target) + " -> " +
                      (status.ok() ? std::string("ok") : to_string(status.error())));
        drain(NodeId(id));
        return status;
    }

    // Makes all of the member's pending writes durable. The reports the
    // cluster will make are computed first from the same writes, so that
    // they precede the Ready they cause.
    void flush(int id) {
        const testing::Member& m = member(id);
        if (!m.up || m.pending.empty()) return;
        testing::HostLog log = m.durable;
        std::optional<HardState> hard_state;
        bool log_written = false;
        for (const testing::PendingWrite& write : m.pending) {
            testing::apply_write(log, write);
            log_written |= write.reset || write.truncate_from || !write.entries.empty();
            if (write.hard_state) hard_state = write.hard_state;
        }
        if (log_written) {
            input(id, "log_durable index=" + log.last_index().to_string() +
                          " term=" + std::to_string(log.last_term().value()));
        }
        if (hard_state) input(id, "hard_state_durable " + describe(*hard_state));
        Cluster::flush(id);
    }

    // Delivers everything in flight, oldest first, including what the
    // deliveries send.
    void deliver_all() {
        while (!network().empty()) {
            const Message& next = network().front();
            if (!member(next.to.value()).up || is_cut(next.from, next.to)) {
                lines_.push_back("lost " + describe(next));
            }
            deliver(0);
        }
    }

    // Delivers and flushes (members in id order) until nothing is in flight.
    void settle() {
        for (int round = 0; round < settle_rounds_max; ++round) {
            bool idle = network().empty();
            for (const auto& [id, m] : members()) idle = idle && m.pending.empty();
            if (idle) return;
            deliver_all();
            for (const auto& [id, m] : members()) flush(id.value());
        }
        ADD_FAILURE() << "the cluster did not settle in " << settle_rounds_max << " rounds";
    }

private:
    static std::string outcome(const Result<Index, ProposeError>& result) {
        return result.ok() ? "index " + result.value().to_string()
                           : std::string("error ") + to_string(result.error());
    }

    void world(const std::string& what) { lines_.push_back("== " + what); }

    void input(int id, const std::string& what) {
        lines_.push_back(testing::describe(NodeId(id)) + " " + what);
    }

    void on_ready(NodeId, const Ready& ready) override {
        for (std::string& line : testing::describe(ready)) lines_.push_back("    " + line);
    }

    void on_deliver(const Message& message) override {
        input(message.to.value(), "step " + testing::describe(message));
    }

    std::vector<std::string> lines_;
};

// ---------------------------------------------------------------------------
// Comparison with the checked-in transcript.

bool update_requested() {
    const char* value = std::getenv("SAMSA_UPDATE_GOLDEN");
    return value != nullptr && std::string(value) == "1";
}

std::string golden_path(const std::string& scenario) {
    return std::string(SAMSA_RAFT_GOLDEN_DIR) + "/" + scenario + ".txt";
}

void write_golden(const std::string& path, const std::string& summary,
                  const std::vector<std::string>& actual) {
    std::ofstream out(path, std::ios::trunc);
    ASSERT_TRUE(out) << "cannot write " << path;
    out << "# " << summary << "\n";
    for (const std::string& line : actual) out << line << "\n";
    out.close();
    ASSERT_TRUE(out) << "writing " << path << " failed";
    std::printf("golden: rewrote %s (%zu lines)\n", path.c_str(), actual.size());
}

// The file's non-comment lines, each with its line number in the file.
struct GoldenLine {
    std::size_t number;
    std::string text;
};

std::vector<GoldenLine> read_golden(std::ifstream& in) {
    std::vector<GoldenLine> lines;
    std::string text;
    for (std::size_t number = 1; std::getline(in, text); ++number) {
        if (text.starts_with("#")) continue;
        lines.push_back({number, text});
    }
    return lines;
}

void check_golden(const std::string& scenario, const std::string& summary,
                  const std::vector<std::string>& actual) {
    const std::string path = golden_path(scenario);
    if (update_requested()) {
        write_golden(path, summary, actual);
        return;
    }
    std::ifstream in(path);
    ASSERT_TRUE(in) << "no golden file " << path
                    << "; create it with SAMSA_UPDATE_GOLDEN=1 and review it";
    const std::vector<GoldenLine> expected = read_golden(in);
    const std::size_t common = std::min(expected.size(), actual.size());
    std::size_t at = 0;
    while (at < common && expected[at].text == actual[at]) ++at;
    if (at == common && expected.size() == actual.size()) return;
    const std::size_t number = at < expected.size() ? expected[at].number
                               : expected.empty()   ? 1
                                                    : expected.back().number + 1;
    ADD_FAILURE() << "transcript differs from " << path << " at line " << number << "\n"
                  << "  expected: " << (at < expected.size() ? expected[at].text : "<end>") << "\n"
                  << "  actual:   " << (at < actual.size() ? actual[at] : "<end>") << "\n"
                  << "(" << expected.size() << " lines expected, " << actual.size()
                  << " produced). If the change is intended, rerun with "
                     "SAMSA_UPDATE_GOLDEN=1 and review the diff of tests/golden/raft/.";
}

// ---------------------------------------------------------------------------
// The scenarios. Each asserts what it claims, then compares its transcript.

void first_election(Recorder& r) {
    r.note("n1 times out first: pre-vote, vote (held until durable), then the noop");
    r.tick_until_campaign(1);
    r.settle();
    ASSERT_EQ(r.raft(1).role(), Role::leader);
    r.note("one proposal, committed once a majority holds it durably");
    const auto proposed = r.propose(1, "hello");
    ASSERT_TRUE(proposed.ok());
    EXPECT_EQ(proposed.value(), Index(2));
    r.settle();
    EXPECT_EQ(r.raft(1).commit(), Index(2));
    for (int id = 2; id <= 3; ++id) EXPECT_EQ(r.raft(id).commit(), Index(2));
    r.note("an idle tick of the leader: one heartbeat round, nothing changes");
    r.tick(1);
    r.settle();
}

// Elects n1 (the first scenario's opening) and commits `payload` at index 2.
// Runs `scenario` on three members and compares its transcript with the
// golden file `name` (not when the scenario itself failed).
void run_golden(void (*scenario)(Recorder&), const std::string& name, const std::string& summary) {
    Recorder r(3);
    scenario(r);
    if (::testing::Test::HasFailure()) return;
    check_golden(name, summary, r.lines());
}

void elect_n1_and_commit(Recorder& r, const std::string& payload) {
    r.note("n1 is elected in term 1 and commits " + payload + " at index 2");
    r.tick_until_campaign(1);
    r.settle();
    ASSERT_EQ(r.raft(1).role(), Role::leader);
    ASSERT_TRUE(r.propose(1, payload).ok());
    r.settle();
    ASSERT_EQ(r.raft(1).commit(), Index(2));
}

TEST(RaftGolden, FirstElectionAndOneCommittedProposal) {
    run_golden(first_election, "election",
               "(a) 3 members: n1 wins the first election (pre-vote, vote, noop) and commits "
               "one proposal");
}

void log_conflict_repair(Recorder& r) {
    elect_n1_and_commit(r, "a");
    r.note("n1 is cut off and appends two entries of term 1 that no one else gets");
    r.isolate(1);
    ASSERT_TRUE(r.propose(1, "lost-1").ok());
    ASSERT_TRUE(r.propose(1, "lost-2").ok());
    r.flush(1);
    r.note("n2 and n3 time out (n1 is not ticked); n2 wins term 2 and commits b at index 4");
    for (int i = 0; i < Recorder::campaign_ticks_max && r.raft(2).role() == Role::follower; ++i) {
        r.tick(3);
        r.tick(2);
    }
    r.settle();
    ASSERT_EQ(r.raft(2).role(), Role::leader);
    ASSERT_EQ(r.raft(2).term(), Term(2));
    ASSERT_TRUE(r.propose(2, "b").ok());
    r.settle();
    ASSERT_EQ(r.raft(2).commit(), Index(4));
    r.note("n2 hands over to n3, which leads term 3 with its noop at index 5");
    ASSERT_TRUE(r.transfer_leadership(2, 3).ok());
    r.settle();
    ASSERT_EQ(r.raft(3).role(), Role::leader);
    ASSERT_EQ(r.raft(3).commit(), Index(5));
    r.note(
        "n1 rejoins: deposed by n3's heartbeat, it rejects the probe after 4 with hint 4 (term "
        "1),");
    r.note("n3 jumps back over the whole term-1 run to 2, and n1 truncates from 3");
    r.heal();
    r.tick(3);
    r.settle();
    const testing::HostLog& log = r.member(1).durable;
    EXPECT_EQ(r.raft(1).role(), Role::follower);
    EXPECT_EQ(log.last_index(), Index(5));
    ASSERT_NE(log.at(Index(3)), nullptr);
    EXPECT_EQ(log.at(Index(3))->term, Term(2));
    EXPECT_EQ(log.at(Index(4))->payload, io::Bytes{'b'});
    EXPECT_EQ(r.raft(1).commit(), Index(5));
}

TEST(RaftGolden, LogConflictRepair) {
    run_golden(log_conflict_repair, "log_conflict_repair",
               "(b) 3 members: deposed leader n1 rejoins with uncommitted term-1 entries 3..4; "
               "leader n3 of term 3 probes, is rejected with a hint, and replaces them");
}

void leadership_transfer(Recorder& r) {
    r.note("n1 is elected; n2 misses the entry a, n3 acknowledges it");
    r.tick_until_campaign(1);
    r.settle();
    ASSERT_EQ(r.raft(1).role(), Role::leader);
    r.cut(1, 2);
    ASSERT_TRUE(r.propose(1, "a").ok());
    r.settle();
    ASSERT_EQ(r.raft(1).commit(), Index(2));
    r.heal();
    r.note("transfer to n2: proposals are refused while n2 is caught up, then TimeoutNow");
    ASSERT_TRUE(r.transfer_leadership(1, 2).ok());
    EXPECT_FALSE(r.propose(1, "refused").ok());
    r.tick(1);
    r.settle();
    ASSERT_EQ(r.raft(2).role(), Role::leader);
    EXPECT_EQ(r.raft(2).term(), Term(2));
    EXPECT_EQ(r.raft(1).role(), Role::follower);
    r.note("n2 leads term 2 and commits b; n1 refuses proposals as a follower");
    EXPECT_FALSE(r.propose(1, "refused").ok());
    ASSERT_TRUE(r.propose(2, "b").ok());
    r.settle();
    EXPECT_EQ(r.raft(2).commit(), Index(4));
}

TEST(RaftGolden, LeadershipTransfer) {
    run_golden(leadership_transfer, "leadership_transfer",
               "(c) 3 members: leader n1 catches lagging n2 up, sends it TimeoutNow, and n2 "
               "wins term 2 without pre-vote");
}

void config_change(Recorder& r) {
    elect_n1_and_commit(r, "a");
    r.note("n4 starts empty and is added as a learner; it catches up from index 1");
    r.add_member(4);
    ASSERT_TRUE(r.change_config(1, {ConfigChange::Kind::add_learner, NodeId(4)}).ok());
    r.settle();
    r.tick(1);
    r.settle();
    ASSERT_EQ(r.raft(4).commit(), r.raft(1).commit());
    r.note("n4 is promoted to voter");
    ASSERT_TRUE(r.change_config(1, {ConfigChange::Kind::promote_learner, NodeId(4)}).ok());
    r.settle();
    r.tick(1);
    r.settle();
    EXPECT_TRUE(r.raft(4).membership().is_voter(NodeId(4)));
    r.note("voter n3 is removed: in effect once appended, so n1 stops replicating to n3 at once");
    ASSERT_TRUE(r.change_config(1, {ConfigChange::Kind::remove_voter, NodeId(3)}).ok());
    r.settle();
    r.tick(1);
    r.settle();
    const Membership expected{{NodeId(1), NodeId(2), NodeId(4)}, {}};
    EXPECT_EQ(r.raft(1).membership(), expected);
    EXPECT_EQ(r.raft(4).membership(), expected);
    EXPECT_EQ(r.raft(1).commit(), r.raft(1).log().last_index());
    EXPECT_EQ(r.raft(4).commit(), r.raft(1).commit());
}

TEST(RaftGolden, ConfigChange) {
    run_golden(config_change, "config_change",
               "(d) 3 voters + new n4: add n4 as learner, it catches up, promote it, remove "
               "voter n3");
}

}  // namespace
}  // namespace samsa::raft

// A tiny in-test host and network for Raft groups, shared by the unit and
// property tests. Each member's host keeps its storage as two logs: `written`
// (everything the machine asked for, in order) and `durable` (what survived a
// flush); pending writes sit between them until flush(), and crash() drops
// them. The network is a bag of messages in flight that the test delivers,
// drops, duplicates or reorders at will; cut links drop messages at send and
// at delivery.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/base/prng.h"
#include "core/raft/raft.h"

namespace samsa::raft::testing {

// A host's log: the base (log start) and the entries after it.
struct HostLog {
    Index base_index;
    Term base_term;
    Membership base_membership;
    std::vector<Entry> entries;

    [[nodiscard]] Index last_index() const {
        return entries.empty() ? base_index : entries.back().index;
    }
    [[nodiscard]] Term last_term() const {
        return entries.empty() ? base_term : entries.back().term;
    }
    [[nodiscard]] const Entry* at(Index index) const {
        if (index <= base_index || index > last_index()) return nullptr;
        return &entries[static_cast<std::size_t>(index.distance_from(base_index) - 1)];
    }
};

// One Ready's storage writes, applied in order.
struct PendingWrite {
    std::optional<LogReset> reset;
    std::optional<Index> truncate_from;
    std::vector<Entry> entries;
    std::optional<HardState> hard_state;
};

inline void apply_write(HostLog& log, const PendingWrite& write) {
    if (write.reset) {
        log.base_index = write.reset->base_index;
        log.base_term = write.reset->base_term;
        log.base_membership = write.reset->membership;
        log.entries.clear();
    }
    if (write.truncate_from) {
        std::erase_if(log.entries, [&](const Entry& e) { return e.index >= *write.truncate_from; });
    }
    for (const Entry& entry : write.entries) {
        SAMSA_ASSERT(entry.index == log.last_index().next());
        log.entries.push_back(entry);
    }
}

struct Member {
    std::unique_ptr<Raft> raft;
    bool up = true;
    HostLog written;
    HostLog durable;
    HardState durable_hard_state;
    std::deque<PendingWrite> pending;
    std::uint64_t restarts = 0;
};

class Cluster {
public:
    // Members 1..voters are voters; voters+1..voters+learners are learners.
    explicit Cluster(int voters, int learners = 0, std::uint64_t seed = 1,
                     RaftConfig base = default_config())
        : prng_(seed), base_(std::move(base)) {
        for (int i = 1; i <= voters; ++i) base_.voters.emplace_back(i);
        for (int i = voters + 1; i <= voters + learners; ++i) base_.learners.emplace_back(i);
        for (int i = 1; i <= voters + learners; ++i) add_member(NodeId(i));
    }

    static RaftConfig default_config() {
        RaftConfig config;
        config.election_timeout_ticks = 5;
        config.heartbeat_ticks = 1;
        return config;
    }

    // A member that is not in the initial membership (to be added later).
    void add_member(NodeId id) {
        Member member;
        member.written.base_membership = Membership{base_.voters, base_.learners};
        member.durable = member.written;
        members_[id] = std::move(member);
        build(id);
    }

    Raft& raft(int id) { return *members_.at(NodeId(id)).raft; }
    Member& member(int id) { return members_.at(NodeId(id)); }
    std::map<NodeId, Member>& members() { return members_; }
    std::vector<Message>& network() { return network_; }
    Prng& prng() { return prng_; }

    // Takes the member's Ready and carries it out: writes become pending,
    // messages enter the network, reads are served from the written log.
    void drain(NodeId id) {
        for (int round = 0; round < 64; ++round) {
            Member& member = members_.at(id);
            if (!member.up) return;
            Ready ready = member.raft->take_ready();
            if (ready.empty()) return;
            on_ready(id, ready);
            PendingWrite write{ready.reset, ready.truncate_from, ready.entries, ready.hard_state};
            apply_write(member.written, write);
            if (write.reset || write.truncate_from || !write.entries.empty() || write.hard_state) {
                member.pending.push_back(std::move(write));
            }
            for (Message& message : ready.messages) send(std::move(message));
            for (const ReadRequest& read : ready.reads) serve_read(id, read);
        }
    }

    // Makes the first `count` pending writes (all by default) durable and
    // tells the machine.
    void flush(int id, std::size_t count = SIZE_MAX) {
        Member& member = members_.at(NodeId(id));
        if (!member.up || member.pending.empty()) return;
        std::optional<HardState> hard_state;
        bool log_written = false;
        for (std::size_t i = 0; i < count && !member.pending.empty(); ++i) {
            PendingWrite write = std::move(member.pending.front());
            member.pending.pop_front();
            apply_write(member.durable, write);
            log_written |= write.reset || write.truncate_from || !write.entries.empty();
            if (write.hard_state) hard_state = write.hard_state;
        }
        if (hard_state) {
            member.durable_hard_state = *hard_state;
            on_durable_hard_state(NodeId(id), *hard_state);
        }
        if (log_written) {
            member.raft->on_log_durable(member.durable.last_index(), member.durable.last_term());
        }
        if (hard_state) member.raft->on_hard_state_durable(*hard_state);
        drain(NodeId(id));
    }

    void tick(int id) {
        if (!members_.at(NodeId(id)).up) return;
        raft(id).tick();
        drain(NodeId(id));
    }
    void tick_all() {
        for (auto& [id, member] : members_) tick(id.value());
    }

    Result<Index, ProposeError> propose(int id, const std::string& text) {
        io::Bytes payload(text.begin(), text.end());
        auto result = raft(id).propose(std::move(payload));
        drain(NodeId(id));
        return result;
    }

    void crash(int id) {
        Member& member = members_.at(NodeId(id));
        member.up = false;
        member.pending.clear();
        member.written = member.durable;
    }
    void restart(int id) {
        Member& member = members_.at(NodeId(id));
        if (member.up) crash(id);
        member.up = true;
        ++member.restarts;
        build(NodeId(id));
        on_restart(NodeId(id));
    }

    // Links: cut(a, b) drops messages a -> b.
    void cut(int a, int b) { cuts_.insert({NodeId(a), NodeId(b)}); }
    void isolate(int id) {
        for (auto& [other, member] : members_) {
            if (other.value() == id) continue;
            cut(id, other.value());
            cut(other.value(), id);
        }
    }
    void heal() { cuts_.clear(); }
    [[nodiscard]] bool is_cut(NodeId from, NodeId to) const { return cuts_.contains({from, to}); }

    // Delivers the message at `position` in the network (any order).
    void deliver(std::size_t position) {
        Message message = std::move(network_.at(position));
        network_.erase(network_.begin() + static_cast<std::ptrdiff_t>(position));
        Member& member = members_.at(message.to);
        if (!member.up || is_cut(message.from, message.to)) return;
        on_deliver(message);
        member.raft->step(message);
        drain(message.to);
    }

    // Delivers everything in flight, flushing every member, until quiet.
    void settle(int rounds_max = 200) {
        for (int round = 0; round < rounds_max; ++round) {
            const bool idle = network_.empty() &&
                              std::all_of(members_.begin(), members_.end(), [](const auto& item) {
                                  return item.second.pending.empty();
                              });
            if (idle) return;
            while (!network_.empty()) deliver(0);
            for (auto& [id, member] : members_) flush(id.value());
        }
    }
    // Ticks everyone and settles, `ticks` times.
    void run(int ticks) {
        for (int i = 0; i < ticks; ++i) {
            tick_all();
            settle();
        }
    }

    // The current leader with the highest term, if any member is leader.
    std::optional<int> leader() {
        std::optional<int> found;
        Term best(-1);
        for (auto& [id, member] : members_) {
            if (member.up && member.raft->role() == Role::leader && member.raft->term() > best) {
                best = member.raft->term();
                found = id.value();
            }
        }
        return found;
    }

    // Runs ticks until a leader exists (at most ticks_max).
    std::optional<int> elect(int ticks_max = 100) {
        for (int i = 0; i < ticks_max; ++i) {
            if (auto found = leader(); found && stable(*found)) return found;
            tick_all();
            settle();
        }
        return leader();
    }

    // Hooks for checkers.
    virtual ~Cluster() = default;

protected:
    virtual void on_ready(NodeId, const Ready&) {}
    virtual void on_deliver(const Message&) {}
    virtual void on_durable_hard_state(NodeId, const HardState&) {}
    virtual void on_restart(NodeId) {}

private:
    bool stable(int id) { return raft(id).commit() >= raft(id).log().last_index(); }

    void build(NodeId id) {
        Member& member = members_.at(id);
        RaftConfig config = base_;
        config.id = id;
        Restored restored{member.durable_hard_state, member.durable.base_index,
                          member.durable.base_term, member.durable.base_membership,
                          member.durable.entries};
        member.raft = std::make_unique<Raft>(config, prng_.fork(), std::move(restored));
        member.written = member.durable;
    }

    void send(Message message) {
        if (is_cut(message.from, message.to) || !members_.contains(message.to)) return;
        network_.push_back(std::move(message));
    }

    void serve_read(NodeId id, const ReadRequest& read) {
        Member& member = members_.at(id);
        std::vector<Entry> entries;
        for (Index i = read.from; i <= read.to; i = i.next()) {
            const Entry* entry = member.written.at(i);
            if (entry == nullptr) break;
            entries.push_back(*entry);
        }
        ++reads_served;
        member.raft->on_entries_read(read.follower, std::move(entries));
    }

public:
    std::size_t reads_served = 0;

private:
    Prng prng_;
    RaftConfig base_;
    std::map<NodeId, Member> members_;
    std::vector<Message> network_;
    std::set<std::pair<NodeId, NodeId>> cuts_;
};

}  // namespace samsa::raft::testing

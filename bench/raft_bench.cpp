// Raft step throughput (core/raft): proposals committed per second through
// three pure raft::Raft machines and nothing else. The host loop below stands
// in for network and disk at zero cost: every message is delivered in memory
// at once (FIFO), and every Ready's writes count as durable the moment they
// are taken (on_log_durable / on_hard_state_durable right after take_ready),
// so what is left is the machines' own work - Ready plumbing, progress
// tracking, the entry cache, and the copies of entries into messages and
// Readies.
//
// Variants: 100 B and 1 KiB payloads; one proposal at a time (propose, then
// run until the group is quiet, i.e. committed everywhere) and pipelined (64
// proposals, then run until quiet). The same-run reference,
// BM_ReferenceCopy3, is what merely copying each entry into three in-memory
// vectors costs; divide by it, since the machine is shared and noisy.
//
// items/s = committed proposals per CPU second; bytes/s = their payload bytes.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "core/base/assert.h"
#include "core/base/prng.h"
#include "core/raft/raft.h"

namespace samsa::bench {
namespace {

using raft::Entry;
using raft::Index;
using raft::Message;
using raft::Raft;
using raft::Ready;

constexpr int members_count = 3;
// Messages one pump may deliver before the group counts as livelocked.
constexpr std::size_t pump_messages_max = std::size_t{1} << 20;
// Readies one input may produce (a handful in practice).
constexpr int drain_rounds_max = 64;
// Ticks member 1 gets to win the first election.
constexpr int election_ticks_max = 1000;

// Three members with zero-cost network and storage; member 1 leads.
class Group {
public:
    Group() {
        raft::RaftConfig config;
        for (int i = 1; i <= members_count; ++i) config.voters.emplace_back(i);
        for (int i = 1; i <= members_count; ++i) {
            config.id = NodeId(i);
            members_.push_back(std::make_unique<Raft>(config, Prng(static_cast<std::uint64_t>(i))));
        }
        for (int tick = 0; tick < election_ticks_max && !member1_leads(); ++tick) {
            member(1).tick();
            drain(1);
            pump();
        }
        SAMSA_ASSERT(member1_leads());
        SAMSA_ASSERT(member(1).commit() == member(1).log().last_index());  // its noop
    }

    // Proposes one payload at the leader and returns its index.
    Index propose(const io::Bytes& payload) {
        auto result = member(1).propose(payload);
        SAMSA_ASSERT(result.ok());
        drain(1);
        return result.value();
    }

    // Delivers messages (and everything they cause) until none is left.
    void pump() {
        for (std::size_t delivered = 0; !network_.empty(); ++delivered) {
            SAMSA_ASSERT(delivered < pump_messages_max);
            const Message message = std::move(network_.front());
            network_.pop_front();
            member(message.to.value()).step(message);
            drain(message.to.value());
            ++messages_delivered_;
        }
    }

    [[nodiscard]] Index leader_commit() const { return members_[0]->commit(); }
    [[nodiscard]] std::uint64_t messages_delivered() const { return messages_delivered_; }

private:
    [[nodiscard]] bool member1_leads() const { return members_[0]->role() == raft::Role::leader; }

    Raft& member(int id) { return *members_[static_cast<std::size_t>(id - 1)]; }

    // Carries out member `id`'s Readies: writes are durable at once, messages
    // join the network.
    void drain(int id) {
        Raft& raft = member(id);
        for (int round = 0; round < drain_rounds_max; ++round) {
            Ready ready = raft.take_ready();
            if (ready.empty()) return;
            SAMSA_ASSERT(!ready.reset.has_value());
            SAMSA_ASSERT(ready.reads.empty());  // nobody lags behind the cache
            if (!ready.entries.empty()) {
                const Entry& last = ready.entries.back();
                raft.on_log_durable(last.index, last.term);
            }
            if (ready.hard_state) raft.on_hard_state_durable(*ready.hard_state);
            for (Message& message : ready.messages) network_.push_back(std::move(message));
        }
        SAMSA_UNREACHABLE("a member kept producing Readies");
    }

    std::vector<std::unique_ptr<Raft>> members_;
    std::deque<Message> network_;
    std::uint64_t messages_delivered_ = 0;
};

io::Bytes make_payload(std::size_t size) {
    Prng prng(size);
    io::Bytes payload(size);
    for (auto& byte : payload) byte = static_cast<std::uint8_t>(prng.next_u64());
    return payload;
}

void report(benchmark::State& state, std::int64_t items, std::size_t payload_bytes) {
    state.SetItemsProcessed(items);
    state.SetBytesProcessed(items * static_cast<std::int64_t>(payload_bytes));
}

// state.range(0): payload bytes; state.range(1): proposals per round (1 is
// one at a time). Each round proposes, then runs the group until quiet.
void BM_RaftCommit(benchmark::State& state) {
    const auto payload_bytes = static_cast<std::size_t>(state.range(0));
    const auto batch = static_cast<int>(state.range(1));
    const io::Bytes payload = make_payload(payload_bytes);
    Group group;
    const std::uint64_t messages_before = group.messages_delivered();
    for (auto _ : state) {
        Index last;
        for (int i = 0; i < batch; ++i) last = group.propose(payload);
        group.pump();
        SAMSA_ASSERT(group.leader_commit() == last);
    }
    const auto items = static_cast<std::int64_t>(state.iterations()) * batch;
    report(state, items, payload_bytes);
    const auto messages = static_cast<double>(group.messages_delivered() - messages_before);
    state.counters["msgs_per_proposal"] =
        messages / static_cast<double>(std::max<std::int64_t>(items, 1));
}

// The reference: each proposal's entry copied into three vectors (leader and
// two followers), cleared every `batch` entries as a bounded log cache would.
void BM_ReferenceCopy3(benchmark::State& state) {
    const auto payload_bytes = static_cast<std::size_t>(state.range(0));
    const auto batch = static_cast<std::size_t>(state.range(1));
    const io::Bytes payload = make_payload(payload_bytes);
    std::vector<std::vector<Entry>> logs(members_count);
    for (auto& log : logs) log.reserve(batch);
    std::int64_t index = 0;
    for (auto _ : state) {
        ++index;
        for (auto& log : logs) {
            log.push_back(Entry{raft::Term(1), Index(index), raft::EntryKind::normal, payload});
            benchmark::DoNotOptimize(log.back().payload.data());
            if (log.size() == batch) log.clear();
        }
        benchmark::ClobberMemory();
    }
    report(state, static_cast<std::int64_t>(state.iterations()), payload_bytes);
}

void variants(benchmark::internal::Benchmark* benchmark) {
    benchmark->ArgNames({"payload", "batch"});
    for (const std::int64_t payload : {100, 1024}) {
        for (const std::int64_t batch : {1, 64}) benchmark->Args({payload, batch});
    }
}

void reference_variants(benchmark::internal::Benchmark* benchmark) {
    benchmark->ArgNames({"payload", "batch"});
    for (const std::int64_t payload : {100, 1024}) benchmark->Args({payload, 64});
}

BENCHMARK(BM_RaftCommit)->Apply(variants);
BENCHMARK(BM_ReferenceCopy3)->Apply(reference_variants);

}  // namespace
}  // namespace samsa::bench

BENCHMARK_MAIN();

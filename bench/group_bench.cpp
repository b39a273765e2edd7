// The group coordinator (core/group), driven directly - no network, no disk.
//
// GroupRebalanceAfterLeave/N: a Stable group of N members, each heartbeating
// every 3 s at its own phase; one member sends LeaveGroup. The others learn
// of the rebalance from their next heartbeat, rejoin, and get their new
// assignment from SyncGroup. Requests travel with a 1 ms round trip. The
// counter `assigned_ms` is the simulated time from the LeaveGroup to the last
// member holding its new assignment; `per_heartbeat` divides it by one
// heartbeat interval plus one round trip (the target: <= 1, plus the join and
// sync round trips every client needs). Wall time per iteration is the
// coordinator's CPU cost for the whole rebalance.
//
// OffsetCommits: commits of one partition each by a Stable member, each
// answered once its append is reported durable: the coordinator's own cost.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <queue>

#include "core/base/prng.h"
#include "core/group/coordinator.h"

namespace samsa::group {
namespace {

constexpr std::int64_t kHeartbeatMs = 3000;
constexpr std::int64_t kRoundTripMs = 1;

struct Bench {
    Coordinator coordinator;
    Instant now = Instant::zero() + Duration::seconds(1000);
    std::uint64_t sequence = 0;
    std::map<std::uint64_t, Reply> replies;

    Bench() {
        for (std::int32_t p = 0; p < GroupLimits{}.partitions; ++p) coordinator.loaded(p);
    }
    ReplyTo to(std::int16_t version) {
        return ReplyTo{ClientId(1), "bench", ++sequence, 0, version};
    }
    template <class Body>
    std::optional<Body> take(std::uint64_t wanted) {
        for (auto& reply : coordinator.take_replies())
            replies[reply.to.sequence] = std::move(reply);
        const auto found = replies.find(wanted);
        if (found == replies.end()) return std::nullopt;
        kafka::Reader reader(found->second.frame);
        reader.read_int32();
        auto body = Body::decode(found->second.to.version, reader);
        replies.erase(found);
        return std::move(body).value();
    }
    static kafka::JoinGroupRequest join_request(const std::string& member) {
        kafka::JoinGroupRequest request;
        request.group_id = "g";
        request.session_timeout_ms = 30000;
        request.rebalance_timeout_ms = 30000;
        request.member_id = member;
        request.group_instance_id = std::nullopt;
        request.protocol_type = "consumer";
        request.protocols.push_back({"range", io::Bytes(24, 1)});
        return request;
    }
    std::uint64_t join(const std::string& member) {
        const ReplyTo where = to(5);
        coordinator.join(now, where, join_request(member));
        return where.sequence;
    }
    std::uint64_t sync(const std::string& member, std::int32_t generation,
                       const std::vector<std::string>& everyone) {
        kafka::SyncGroupRequest request;
        request.group_id = "g";
        request.generation_id = generation;
        request.member_id = member;
        request.group_instance_id = std::nullopt;
        for (const auto& id : everyone) request.assignments.push_back({id, io::Bytes(16, 2)});
        const ReplyTo where = to(3);
        coordinator.sync(now, where, request);
        return where.sequence;
    }

    // N members joined and synced: Stable at generation `generation`.
    std::vector<std::string> stable_group(std::size_t n) {
        std::vector<std::string> ids;
        std::vector<std::uint64_t> joins;
        for (std::size_t i = 0; i < n; ++i) {
            ids.push_back(take<kafka::JoinGroupResponse>(join(""))->member_id);
        }
        // The first join completes a rebalance of its own; joining it again
        // lets the one that the others started complete with everyone.
        for (const auto& id : ids) joins.push_back(join(id));
        if (take<kafka::JoinGroupResponse>(joins.front()) && n > 1) joins.front() = join(ids[0]);
        std::string leader;
        std::int32_t generation = 0;
        for (const auto j : joins) {
            if (auto answer = take<kafka::JoinGroupResponse>(j)) {
                leader = answer->leader;
                generation = answer->generation_id;
            }
        }
        std::vector<std::uint64_t> syncs;
        for (const auto& id : ids)
            syncs.push_back(sync(id, generation, id == leader ? ids : std::vector<std::string>{}));
        for (const auto s : syncs) take<kafka::SyncGroupResponse>(s);
        return ids;
    }
};

void GroupRebalanceAfterLeave(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    Prng prng(42);
    double assigned_total_ms = 0;
    std::int64_t rebalances = 0;
    for (auto _ : state) {
        state.PauseTiming();
        Bench bench;
        auto ids = bench.stable_group(n);
        state.ResumeTiming();
        const Instant start = bench.now;
        kafka::LeaveGroupRequest leave;
        leave.group_id = "g";
        leave.members.push_back({ids.back(), std::nullopt});
        bench.coordinator.leave(bench.now, bench.to(3), leave);
        ids.pop_back();
        // Events in simulated time: (ms after the leave, member index, step).
        enum Step { heartbeat, rejoin, joined, synced };
        using Event = std::tuple<std::int64_t, std::size_t, int>;
        std::priority_queue<Event, std::vector<Event>, std::greater<>> events;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            events.emplace(static_cast<std::int64_t>(prng.uniform(kHeartbeatMs)), i, heartbeat);
        }
        std::map<std::size_t, std::uint64_t> pending;  // member -> request in flight
        std::size_t assigned = 0;
        std::int64_t last_ms = 0;
        std::int32_t generation = 0;
        std::string leader;
        while (!events.empty() && assigned < ids.size()) {
            auto [at, who, step] = events.top();
            events.pop();
            bench.now = start + Duration::milliseconds(at);
            if (step == heartbeat) {
                events.emplace(at + kRoundTripMs, who, rejoin);  // REBALANCE_IN_PROGRESS
            } else if (step == rejoin) {
                pending[who] = bench.join(ids[who]);
                // Every held JoinGroup is answered when the last member rejoins.
                for (auto& [member, request] : pending) {
                    if (auto answer = bench.take<kafka::JoinGroupResponse>(request)) {
                        generation = answer->generation_id;
                        leader = answer->leader;
                        events.emplace(at + kRoundTripMs, member, joined);
                    }
                }
            } else if (step == joined) {
                pending[who] = bench.sync(ids[who], generation,
                                          ids[who] == leader ? ids : std::vector<std::string>{});
                for (auto& [member, request] : pending) {
                    if (bench.take<kafka::SyncGroupResponse>(request)) {
                        ++assigned;
                        last_ms = std::max(last_ms, at + kRoundTripMs);
                    }
                }
            }
        }
        if (assigned < ids.size()) {
            state.SkipWithError("the rebalance did not complete");
            return;
        }
        assigned_total_ms += static_cast<double>(last_ms);
        ++rebalances;
    }
    const double mean = assigned_total_ms / static_cast<double>(rebalances);
    state.counters["assigned_ms"] = mean;
    state.counters["per_heartbeat"] = mean / static_cast<double>(kHeartbeatMs + kRoundTripMs);
}
BENCHMARK(GroupRebalanceAfterLeave)->Arg(10)->Arg(100)->Unit(benchmark::kMicrosecond);

void OffsetCommits(benchmark::State& state) {
    Bench bench;
    const auto ids = bench.stable_group(1);
    bench.coordinator.take_appends();
    std::int64_t offset = 0;
    for (auto _ : state) {
        kafka::OffsetCommitRequest request;
        request.group_id = "g";
        request.generation_id = 1;
        request.member_id = ids[0];
        request.group_instance_id = std::nullopt;
        auto& topic = request.topics.emplace_back();
        topic.name = "t";
        topic.partitions.push_back({0, ++offset, -1, std::nullopt});
        bench.coordinator.commit(bench.now, bench.to(7), request);
        for (const auto& append : bench.coordinator.take_appends()) {
            bench.coordinator.on_appended(append.id, true);
        }
        benchmark::DoNotOptimize(bench.coordinator.take_replies());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(OffsetCommits);

}  // namespace
}  // namespace samsa::group

BENCHMARK_MAIN();

// The `group` scenario: the life of one simulated consumer-group member.
#include <algorithm>

#include "core/group/errors.h"
#include "sim/scenarios/group_clients.h"

namespace samsa::sim::groups {

void GroupWorkload::boot(Member& member) {
    ++member.epoch;
    member.state = State::finding;
    member.member_id.clear();
    member.generation = -1;
    member.owned.clear();
    member.paused = false;
    member.deferred.clear();
    member.heartbeat_in_flight = false;
    member.commit_in_flight = false;
    ++counts_["member_boots"];
    open(member.connection);
    find_coordinator(member);
    later(member, heartbeat_interval(), [this](Member& m) { heartbeat_tick(m); });
    later(member, jitter(params_.commit_interval_mean), [this](Member& m) { commit_tick(m); });
    if (churning_ && params_.churn_interval_mean > Duration::zero()) {
        later(member, jitter(params_.churn_interval_mean), [this](Member& m) { churn(m); });
    }
}

void GroupWorkload::go_down(Member& member, bool tell_broker) {
    if (tell_broker && member.connection.alive) {
        // A clean close: the broker hears that the connection is gone.
        world_.deliver_client(broker_, io::ClientGone{member.connection.id});
    }
    drop(member.connection);
    ++member.epoch;
    member.state = State::down;
    member.paused = false;
    member.deferred.clear();
    member.owned.clear();
    member.heartbeat_in_flight = false;
    member.commit_in_flight = false;
}

void GroupWorkload::find_coordinator(Member& member) {
    if (member.state != State::stable) member.state = State::finding;
    send(member.connection, member.index, kFindApi, 2, [](Sent&) -> kafka::Request {
        kafka::FindCoordinatorRequest request;
        request.key = kGroup;
        return request;
    });
}

void GroupWorkload::rejoin(Member& member, bool forget_id, Duration after) {
    member.state = State::joining;
    member.owned.clear();
    if (forget_id) member.member_id.clear();
    ++member.round;
    ++counts_["rejoins"];
    if (after == Duration::zero()) return join(member);
    later(member, after, [this](Member& m) { join(m); });
}

void GroupWorkload::join(Member& member) {
    member.state = State::joining;
    const std::string id = member.member_id;
    const auto instance = member.instance;
    const std::int32_t session = params_.session_timeout_ms;
    send(member.connection, member.index, kJoinApi, 5,
         [id, instance, session](Sent& sent) -> kafka::Request {
             sent.member = id;
             sent.instance = instance;
             kafka::JoinGroupRequest request;
             request.group_id = kGroup;
             request.session_timeout_ms = session;
             request.rebalance_timeout_ms = session;
             request.member_id = id;
             request.group_instance_id = instance;
             request.protocol_type = "consumer";
             request.protocols.push_back({"range", encode_subscription()});
             return request;
         });
}

void GroupWorkload::on_join(Member& member, const kafka::JoinGroupResponse& answer) {
    const Duration backoff = Duration::milliseconds(20) + jitter(Duration::milliseconds(100));
    switch (answer.error_code) {
        case 0:
            member.member_id = answer.member_id;
            member.generation = answer.generation_id;
            member.state = State::syncing;
            if (member.never_sync) {
                member.state = State::stable;  // the canary: it believes it is in
                return;
            }
            return sync(member, answer);
        case group::kMemberIdRequired: member.member_id = answer.member_id; return join(member);
        case group::kUnknownMemberId:
        case group::kFencedInstanceId: return rejoin(member, true, backoff);
        case group::kRebalanceInProgress: return rejoin(member, false, Duration::zero());
        default: return rejoin(member, false, backoff);  // loading, not available, ...
    }
}

void GroupWorkload::sync(Member& member, const kafka::JoinGroupResponse& answer) {
    std::vector<kafka::SyncGroupRequest::Assignment> assignments;
    if (answer.leader == answer.member_id) {
        std::vector<std::string> ids;
        for (const auto& m : answer.members) ids.push_back(m.member_id);
        std::sort(ids.begin(), ids.end());
        const auto ranges = range_assign(ids.size());
        for (std::size_t i = 0; i < ids.size(); ++i) {
            assignments.push_back({ids[i], encode_assignment(ranges[i])});
        }
    }
    const std::string id = member.member_id;
    const auto instance = member.instance;
    const std::int32_t generation = member.generation;
    send(member.connection, member.index, kSyncApi, 3,
         [id, instance, generation, assignments](Sent& sent) -> kafka::Request {
             sent.member = id;
             sent.instance = instance;
             sent.generation = generation;
             kafka::SyncGroupRequest request;
             request.group_id = kGroup;
             request.generation_id = generation;
             request.member_id = id;
             request.group_instance_id = instance;
             request.assignments = assignments;
             return request;
         });
}

void GroupWorkload::on_sync(Member& member, const kafka::SyncGroupResponse& answer) {
    if (answer.error_code == 0) {
        member.owned = decode_assignment(answer.assignment).value_or(std::vector<std::int32_t>{});
        member.state = State::stable;
        ++counts_["syncs"];
        if (!member.owned.empty()) fetch(member);
        return;
    }
    const Duration backoff = Duration::milliseconds(20) + jitter(Duration::milliseconds(100));
    switch (answer.error_code) {
        case group::kRebalanceInProgress:
        case group::kIllegalGeneration: return rejoin(member, false, Duration::zero());
        case group::kUnknownMemberId:
        case group::kFencedInstanceId: return rejoin(member, true, Duration::zero());
        default: return rejoin(member, false, backoff);
    }
}

void GroupWorkload::on_member_error(Member& member, std::int16_t error) {
    if (member.state != State::stable && member.state != State::syncing) return;
    switch (error) {
        case group::kRebalanceInProgress:
        case group::kIllegalGeneration: return rejoin(member, false, Duration::zero());
        case group::kUnknownMemberId:
        case group::kFencedInstanceId:
            ++counts_["members_fenced"];
            return rejoin(member, true, Duration::zero());
        default: return;  // loading, not available: the next tick tries again
    }
}

// As a real client: about a quarter of the session timeout, never much more.
Duration GroupWorkload::heartbeat_interval() {
    const auto quarter = static_cast<double>(params_.session_timeout_ms) * 1e6 / 4;
    return Duration::nanoseconds(static_cast<std::int64_t>(quarter * (0.8 + 0.4 * prng_.unit())));
}

void GroupWorkload::heartbeat_tick(Member& member) {
    later(member, heartbeat_interval(), [this](Member& m) { heartbeat_tick(m); });
    if ((member.state != State::stable && member.state != State::syncing) ||
        member.heartbeat_in_flight || !member.connection.alive) {
        return;
    }
    member.heartbeat_in_flight = true;
    const std::string id = member.member_id;
    const auto instance = member.instance;
    const std::int32_t generation = member.generation;
    send(member.connection, member.index, kHeartbeatApi, 3,
         [id, instance, generation](Sent& sent) -> kafka::Request {
             sent.member = id;
             sent.instance = instance;
             sent.generation = generation;
             kafka::HeartbeatRequest request;
             request.group_id = kGroup;
             request.generation_id = generation;
             request.member_id = id;
             request.group_instance_id = instance;
             return request;
         });
}

void GroupWorkload::commit_tick(Member& member) {
    later(member, jitter(params_.commit_interval_mean), [this](Member& m) { commit_tick(m); });
    if (member.state != State::stable || member.owned.empty() || member.commit_in_flight ||
        !member.connection.alive) {
        return;
    }
    member.commit_in_flight = true;
    const std::string id = member.member_id;
    const auto instance = member.instance;
    const std::int32_t generation = member.generation;
    const auto owned = member.owned;
    send(member.connection, member.index, kCommitApi, 7,
         [this, id, instance, generation, owned](Sent& sent) -> kafka::Request {
             sent.member = id;
             sent.instance = instance;
             sent.generation = generation;
             kafka::OffsetCommitRequest request;
             request.group_id = kGroup;
             request.generation_id = generation;
             request.member_id = id;
             request.group_instance_id = instance;
             auto& topic = request.topics.emplace_back();
             topic.name = kTopic;
             for (const auto p : owned) {
                 // Drawn as the request reaches the broker: commits only grow.
                 std::int64_t offset = ++progress_[p];
                 if (params_.canary.commit_regress && prng_.chance(0.2)) offset -= 5;  // the bug
                 topic.partitions.push_back({p, offset, -1, std::string()});
                 sent.offsets.emplace_back(p, offset);
             }
             return request;
         });
}

void GroupWorkload::fetch(Member& member) {
    const auto owned = member.owned;
    send(member.connection, member.index, kFetchApi, 5, [owned](Sent&) -> kafka::Request {
        kafka::OffsetFetchRequest request;
        request.group_id = kGroup;
        request.topics = std::vector<kafka::OffsetFetchRequest::Topic>{{kTopic, owned}};
        return request;
    });
}

void GroupWorkload::leave(Member& member) {
    if (member.member_id.empty() || !member.connection.alive) return;
    member.state = State::leaving;
    ++counts_["leaves"];
    const std::string id = member.member_id;
    const auto instance = member.instance;
    send(member.connection, member.index, kLeaveApi, 3,
         [id, instance](Sent& sent) -> kafka::Request {
             sent.member = id;
             sent.instance = instance;
             kafka::LeaveGroupRequest request;
             request.group_id = kGroup;
             request.members.push_back({id, instance});
             return request;
         });
}

void GroupWorkload::pause(Member& member, Duration how_long) {
    member.paused = true;
    ++counts_["member_pauses"];
    const int index = member.index;
    const std::uint64_t epoch = member.epoch;
    world_.schedule(world_.now() + how_long, "group member resume", [this, index, epoch] {
        Member& m = members_[static_cast<std::size_t>(index)];
        if (m.epoch != epoch || !m.paused) return;
        m.paused = false;
        auto deferred = std::exchange(m.deferred, {});
        for (auto& action : deferred) action();
    });
}

// One churn event: leave, crash, pause or a quick restart, drawn by weight.
void GroupWorkload::churn(Member& member) {
    if (!churning_) return;
    const double total = params_.leave + params_.crash + params_.pause + params_.restart;
    double pick = prng_.unit() * total;
    const auto session = Duration::milliseconds(params_.session_timeout_ms);
    const int index = member.index;
    const auto come_back = [this, index](Duration after) {
        const std::uint64_t epoch = members_[static_cast<std::size_t>(index)].epoch;
        world_.schedule(world_.now() + after, "group member boot", [this, index, epoch] {
            Member& m = members_[static_cast<std::size_t>(index)];
            if (m.epoch == epoch && m.state == State::down) boot(m);
        });
    };
    if (pick < params_.leave) {
        if (member.state == State::stable) return leave(member);  // back once answered
        later(member, jitter(params_.churn_interval_mean), [this](Member& m) { churn(m); });
    } else if ((pick -= params_.leave) < params_.crash) {
        ++counts_["member_crashes"];
        go_down(member, prng_.chance(0.5));
        come_back(session * static_cast<std::int64_t>(1 + prng_.uniform(3)) / 2);
    } else if ((pick -= params_.crash) < params_.pause) {
        // Mostly past the session timeout (it must be fenced), sometimes shorter.
        const double factor = prng_.chance(0.7) ? 1.3 + prng_.unit() : 0.2 + 0.5 * prng_.unit();
        pause(member, Duration::nanoseconds(static_cast<std::int64_t>(
                          factor * static_cast<double>(session.count_ns()))));
        later(member, jitter(params_.churn_interval_mean), [this](Member& m) { churn(m); });
    } else {
        ++counts_["member_restarts"];
        go_down(member, prng_.chance(0.5));
        come_back(Duration::milliseconds(20) + jitter(Duration::milliseconds(200)));
    }
}

void GroupWorkload::handle(Member& member, const Pending& pending, const Answer& answer) {
    if (const auto* find = std::get_if<kafka::FindCoordinatorResponse>(&answer)) {
        if (find->error_code != 0) {
            later(member, Duration::milliseconds(100), [this](Member& m) { find_coordinator(m); });
        } else if (member.state != State::stable) {
            rejoin(member, false, Duration::zero());
        }
        return;
    }
    if (std::holds_alternative<kafka::LeaveGroupResponse>(answer)) {
        if (member.state != State::leaving) return;
        go_down(member, true);
        const int index = member.index;
        const std::uint64_t epoch = member.epoch;
        const Duration idle = churning_ ? jitter(Duration::seconds(1)) : Duration::milliseconds(10);
        world_.schedule(world_.now() + idle, "group member boot", [this, index, epoch] {
            Member& m = members_[static_cast<std::size_t>(index)];
            if (m.epoch == epoch && m.state == State::down) boot(m);
        });
        return;
    }
    if (std::holds_alternative<kafka::HeartbeatResponse>(answer))
        member.heartbeat_in_flight = false;
    if (std::holds_alternative<kafka::OffsetCommitResponse>(answer))
        member.commit_in_flight = false;
    if (pending.round != member.round) return;  // an answer to an earlier join attempt
    if (const auto* join = std::get_if<kafka::JoinGroupResponse>(&answer))
        return on_join(member, *join);
    if (const auto* synced = std::get_if<kafka::SyncGroupResponse>(&answer))
        return on_sync(member, *synced);
    if (const auto* beat = std::get_if<kafka::HeartbeatResponse>(&answer)) {
        if (beat->error_code != 0) on_member_error(member, beat->error_code);
        return;
    }
    if (const auto* commit = std::get_if<kafka::OffsetCommitResponse>(&answer)) {
        for (const auto& topic : commit->topics) {
            for (const auto& part : topic.partitions) {
                if (part.error_code != 0) return on_member_error(member, part.error_code);
            }
        }
    }
}

}  // namespace samsa::sim::groups

// Coordinator: membership - JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
// session expiry and the rebalance itself.
#include <algorithm>

#include "core/base/assert.h"
#include "core/group/coordinator.h"
#include "core/group/errors.h"
#include "net/kafka/api.h"

namespace samsa::group {

namespace {

constexpr std::int16_t kMemberIdRequiredVersion = 4;

Duration ms(std::int32_t value) {
    return Duration::milliseconds(value);
}

}  // namespace

const char* to_string(GroupState state) noexcept {
    switch (state) {
        case GroupState::empty: return "Empty";
        case GroupState::preparing_rebalance: return "PreparingRebalance";
        case GroupState::completing_rebalance: return "CompletingRebalance";
        case GroupState::stable: return "Stable";
        case GroupState::dead: return "Dead";
    }
    return "Dead";
}

void Coordinator::answer_join(const ReplyTo& to, std::int16_t error, const std::string& member_id) {
    kafka::JoinGroupResponse body;
    body.error_code = error;
    body.member_id = member_id;
    body.generation_id = -1;
    answer(to, body);
}

// Unique within this coordinator's life; `now` tells incarnations apart.
std::string Coordinator::new_member_id(Instant now, const std::string& client_id) {
    return (client_id.empty() ? std::string("member") : client_id) + "-" +
           std::to_string(++member_counter_) + "-" + std::to_string(now.nanoseconds());
}

bool Coordinator::protocols_match(const Group& group,
                                  const kafka::JoinGroupRequest& request) const {
    const auto others = std::count_if(group.members.begin(), group.members.end(),
                                      [&](auto& m) { return m.first != request.member_id; });
    if (others == 0) return true;
    if (request.protocol_type != group.protocol_type) return false;
    // Some protocol every other member supports, among this member's.
    return std::any_of(request.protocols.begin(), request.protocols.end(), [&](auto& offered) {
        return std::all_of(group.members.begin(), group.members.end(), [&](const auto& entry) {
            return entry.first == request.member_id ||
                   std::any_of(entry.second.protocols.begin(), entry.second.protocols.end(),
                               [&](const auto& p) { return p.first == offered.name; });
        });
    });
}

void Coordinator::join(Instant now, const ReplyTo& to, const kafka::JoinGroupRequest& request) {
    now_ = now;
    if (const auto error = check_group_id(request.group_id)) return answer_join(to, *error);
    if (request.session_timeout_ms < limits_.session_timeout_min_ms ||
        request.session_timeout_ms > limits_.session_timeout_max_ms) {
        return answer_join(to, kInvalidSessionTimeout, request.member_id);
    }
    if (request.protocol_type.empty() || request.protocols.empty()) {
        return answer_join(to, kInconsistentGroupProtocol, request.member_id);
    }
    for (const auto& protocol : request.protocols) {
        if (protocol.metadata.size() > limits_.member_metadata_bytes_max) {
            return answer_join(to, kInvalidRequest, request.member_id);
        }
    }
    if (find(request.group_id) == nullptr && groups_.size() >= limits_.groups_max) {
        return answer_join(to, kCoordinatorNotAvailable, request.member_id);
    }
    Group& group = group_for(request.group_id);
    if (!protocols_match(group, request)) {
        return answer_join(to, kInconsistentGroupProtocol, request.member_id);
    }
    if (!request.member_id.empty()) {
        if (const auto found = group.members.find(request.member_id);
            found != group.members.end()) {
            if (request.group_instance_id &&
                found->second.instance_id != request.group_instance_id) {
                return answer_join(to, kFencedInstanceId, request.member_id);
            }
            return join_known(now, group, found->second, to, request);
        }
        if (group.pending_members.erase(request.member_id) == 0 && !request.group_instance_id) {
            return answer_join(to, kUnknownMemberId, request.member_id);
        }
    }
    if (request.group_instance_id) {
        if (Member* member = rejoin_static(now, group, request, to)) {
            return join_known(now, group, *member, to, request);
        }
    }
    if (group.members.size() >= limits_.members_max) {
        return answer_join(to, kGroupMaxSizeReached, request.member_id);
    }
    if (request.member_id.empty() && !request.group_instance_id &&
        to.version >= kMemberIdRequiredVersion) {
        const std::string id = new_member_id(now, to.client_id);
        group.pending_members.emplace(id, now + ms(request.session_timeout_ms));
        return answer_join(to, kMemberIdRequired, id);
    }
    Member member;
    member.id = request.member_id.empty() ? new_member_id(now, to.client_id) : request.member_id;
    member.instance_id = request.group_instance_id;
    const std::string id = member.id;
    join_known(now, group, group.members.emplace(id, std::move(member)).first->second, to, request);
}

// A static member that restarts takes its old place under a new member id;
// whatever the old id still had waiting is fenced.
Coordinator::Member* Coordinator::rejoin_static(Instant now, Group& group,
                                                const kafka::JoinGroupRequest& request,
                                                const ReplyTo& to) {
    const auto old = std::find_if(group.members.begin(), group.members.end(), [&](auto& m) {
        return m.second.instance_id == request.group_instance_id;
    });
    if (old == group.members.end()) return nullptr;
    Member member = std::move(old->second);
    group.members.erase(old);
    if (member.join) answer_join(*member.join, kFencedInstanceId, member.id);
    if (member.sync) answer(*member.sync, kafka::SyncGroupResponse{0, kFencedInstanceId, {}});
    member.join.reset();
    member.sync.reset();
    const std::string old_id = member.id;
    member.id = request.member_id.empty() ? new_member_id(now, to.client_id) : request.member_id;
    if (group.leader == old_id) group.leader = member.id;
    if (group.state == GroupState::completing_rebalance) group.renamed[old_id] = member.id;
    const std::string id = member.id;
    return &group.members.emplace(id, std::move(member)).first->second;
}

void Coordinator::join_known(Instant now, Group& group, Member& member, const ReplyTo& to,
                             const kafka::JoinGroupRequest& request) {
    std::vector<std::pair<std::string, io::Bytes>> protocols;
    for (const auto& p : request.protocols) protocols.emplace_back(p.name, p.metadata);
    const bool unchanged = member.in_generation && protocols == member.protocols;
    member.protocols = std::move(protocols);
    member.client_id = to.client_id;
    member.session_timeout_ms = request.session_timeout_ms;
    member.rebalance_timeout_ms = request.rebalance_timeout_ms > 0 ? request.rebalance_timeout_ms
                                                                   : request.session_timeout_ms;
    member.session_deadline = now + ms(member.session_timeout_ms);
    group.protocol_type = request.protocol_type;
    const bool settled =
        group.state == GroupState::stable || group.state == GroupState::completing_rebalance;
    // Nothing changed for this member: it gets the current generation again.
    if (settled && unchanged && group.storing_generation) {
        if (member.join) answer_join(*member.join, kRebalanceInProgress, member.id);
        member.join = to;  // answered with the others once the generation is durable
        return;
    }
    if (settled && unchanged && (group.state != GroupState::stable || member.id != group.leader)) {
        member.join = to;
        answer_joined(group, member);
        member.join.reset();
        return;
    }
    if (member.join) answer_join(*member.join, kRebalanceInProgress, member.id);  // replaced
    member.join = to;
    prepare_rebalance(now, group);
    check_join_complete(group);
}

void Coordinator::prepare_rebalance(Instant now, Group& group) {
    if (group.state == GroupState::preparing_rebalance) return;
    std::int32_t longest = 0;
    for (auto& [id, member] : group.members) {
        longest = std::max(longest, member.rebalance_timeout_ms);
        if (member.sync) {
            answer(*member.sync, kafka::SyncGroupResponse{0, kRebalanceInProgress, {}});
            member.sync.reset();
        }
    }
    group.state = GroupState::preparing_rebalance;
    group.storing = false;
    group.storing_generation = false;
    group.rebalance_deadline = now + ms(longest);
}

void Coordinator::check_join_complete(Group& group) {
    if (group.state != GroupState::preparing_rebalance) return;
    const bool all = std::all_of(group.members.begin(), group.members.end(),
                                 [](const auto& m) { return m.second.join.has_value(); });
    if (all) complete_join(group);
}

std::string Coordinator::choose_protocol(const Group& group) const {
    // Each member votes for its most preferred protocol that all members support.
    std::map<std::string, std::size_t> votes;
    for (const auto& [id, member] : group.members) {
        for (const auto& [name, metadata] : member.protocols) {
            const bool everyone =
                std::all_of(group.members.begin(), group.members.end(), [&](const auto& other) {
                    return std::any_of(other.second.protocols.begin(), other.second.protocols.end(),
                                       [&](const auto& p) { return p.first == name; });
                });
            if (everyone) {
                ++votes[name];
                break;
            }
        }
    }
    SAMSA_ASSERT(!votes.empty());
    return std::max_element(votes.begin(), votes.end(),
                            [](const auto& a, const auto& b) { return a.second < b.second; })
        ->first;
}

// Ends PreparingRebalance: members that did not rejoin are dropped, the
// generation advances and every held JoinGroup is answered.
void Coordinator::complete_join(Group& group) {
    std::erase_if(group.members, [](const auto& m) { return !m.second.join.has_value(); });
    ++group.generation;
    group.rebalance_deadline.reset();
    group.renamed.clear();
    if (group.members.empty()) {
        group.state = GroupState::empty;
        group.leader.clear();
        group.protocol.clear();
        persist_group(group);
        return;
    }
    group.protocol = choose_protocol(group);
    if (!group.members.contains(group.leader)) group.leader = group.members.begin()->first;
    group.state = GroupState::completing_rebalance;
    for (auto& [id, member] : group.members) {
        member.in_generation = true;
        member.assignment.clear();
    }
    // The JoinGroups are answered once the generation is durable.
    group.storing_generation = true;
    persist_group(group, PendingAppend::Kind::generation);
}

void Coordinator::on_generation_stored(const PendingAppend& done, bool ok) {
    Group* group = find(done.group);
    if (group == nullptr || group->generation != done.generation ||
        group->state != GroupState::completing_rebalance || !group->storing_generation) {
        return;  // superseded by another rebalance
    }
    group->storing_generation = false;
    for (auto& [id, member] : group->members) {
        if (!member.join) continue;
        if (ok) {
            answer_joined(*group, member);
        } else {
            answer_join(*member.join, kCoordinatorNotAvailable, member.id);
        }
        member.join.reset();
    }
    if (!ok) prepare_rebalance(now_, *group);  // everyone joins again
}

void Coordinator::answer_joined(const Group& group, const Member& member) {
    kafka::JoinGroupResponse body;
    body.generation_id = group.generation;
    body.protocol_name = group.protocol;
    body.leader = group.leader;
    body.member_id = member.id;
    if (member.id == group.leader) {
        for (const auto& [id, other] : group.members) {
            const auto chosen =
                std::find_if(other.protocols.begin(), other.protocols.end(),
                             [&](const auto& p) { return p.first == group.protocol; });
            body.members.push_back(
                {id, other.instance_id,
                 chosen == other.protocols.end() ? io::Bytes{} : chosen->second});
        }
    }
    answer(*member.join, body);
}

Coordinator::MemberCheck Coordinator::check_member(const std::string& group_id,
                                                   const std::string& member_id,
                                                   const std::optional<std::string>& instance_id,
                                                   std::int32_t generation) {
    MemberCheck check;
    if (const auto error = check_group_id(group_id)) {
        check.error = *error;
        return check;
    }
    check.group = find(group_id);
    if (check.group == nullptr) {
        check.error = kUnknownMemberId;
        return check;
    }
    const auto found = check.group->members.find(member_id);
    if (found == check.group->members.end()) {
        // A static member's old id, replaced by a restart: fenced, not unknown.
        const bool fenced =
            instance_id &&
            std::any_of(check.group->members.begin(), check.group->members.end(),
                        [&](const auto& m) { return m.second.instance_id == instance_id; });
        check.error = fenced ? kFencedInstanceId : kUnknownMemberId;
        return check;
    }
    check.member = &found->second;
    if (instance_id && check.member->instance_id != instance_id) {
        check.error = kFencedInstanceId;
    } else if (generation != check.group->generation) {
        check.error = kIllegalGeneration;
    }
    return check;
}

void Coordinator::sync(Instant now, const ReplyTo& to, const kafka::SyncGroupRequest& request) {
    now_ = now;
    const auto check = check_member(request.group_id, request.member_id, request.group_instance_id,
                                    request.generation_id);
    if (check.error == 0 && check.group->state == GroupState::preparing_rebalance) {
        return answer(to, kafka::SyncGroupResponse{0, kRebalanceInProgress, {}});
    }
    if (check.error != 0) return answer(to, kafka::SyncGroupResponse{0, check.error, {}});
    Group& group = *check.group;
    Member& member = *check.member;
    member.session_deadline = now + ms(member.session_timeout_ms);
    if (group.state == GroupState::stable) {
        return answer(to, kafka::SyncGroupResponse{0, 0, member.assignment});
    }
    SAMSA_ASSERT(group.state == GroupState::completing_rebalance);
    if (member.sync) answer(*member.sync, kafka::SyncGroupResponse{0, kRebalanceInProgress, {}});
    member.sync = to;
    // Only the leader's assignments count; a follower's are ignored, as in Kafka.
    if (member.id != group.leader || group.storing) return;
    for (const auto& assignment : request.assignments) {
        auto found = group.members.find(assignment.member_id);
        if (found == group.members.end()) {
            const auto renamed = group.renamed.find(assignment.member_id);
            if (renamed != group.renamed.end()) found = group.members.find(renamed->second);
        }
        if (found != group.members.end()) found->second.assignment = assignment.assignment;
    }
    // The generation and assignment are durable before anyone acts on them:
    // a restarted coordinator must never hand out this generation again.
    group.storing = true;
    persist_group(group, PendingAppend::Kind::assignment);
}

void Coordinator::on_assignment_stored(const PendingAppend& done, bool ok) {
    Group* group = find(done.group);
    if (group == nullptr || group->generation != done.generation ||
        group->state != GroupState::completing_rebalance || !group->storing) {
        return;  // a rebalance started meanwhile
    }
    group->storing = false;
    if (ok) group->state = GroupState::stable;
    for (auto& [id, member] : group->members) {
        if (!member.sync) continue;
        answer(*member.sync, ok ? kafka::SyncGroupResponse{0, 0, member.assignment}
                                : kafka::SyncGroupResponse{0, kCoordinatorNotAvailable, {}});
        member.sync.reset();
    }
    if (!ok) prepare_rebalance(now_, *group);  // everyone joins again
}

void Coordinator::heartbeat(Instant now, const ReplyTo& to,
                            const kafka::HeartbeatRequest& request) {
    now_ = now;
    const auto check = check_member(request.group_id, request.member_id, request.group_instance_id,
                                    request.generation_id);
    if (check.member != nullptr) {
        check.member->session_deadline = now + ms(check.member->session_timeout_ms);
    }
    std::int16_t error = check.error;
    if (error == 0 && check.group->state == GroupState::preparing_rebalance) {
        error = kRebalanceInProgress;  // rejoin
    }
    answer(to, kafka::HeartbeatResponse{0, error});
}

void Coordinator::leave(Instant now, const ReplyTo& to, const kafka::LeaveGroupRequest& request) {
    now_ = now;
    kafka::LeaveGroupResponse body;
    std::vector<std::pair<std::string, std::optional<std::string>>> leaving;
    if (to.version < 3) {
        leaving.emplace_back(request.member_id, std::nullopt);
    } else {
        for (const auto& m : request.members)
            leaving.emplace_back(m.member_id, m.group_instance_id);
    }
    Group* group = check_group_id(request.group_id) ? nullptr : find(request.group_id);
    if (check_group_id(request.group_id)) body.error_code = *check_group_id(request.group_id);
    for (const auto& [member_id, instance_id] : leaving) {
        std::int16_t error = body.error_code != 0 ? body.error_code : kUnknownMemberId;
        if (group != nullptr) {
            auto found = group->members.find(member_id);
            if (member_id.empty() && instance_id) {  // by instance id alone
                found = std::find_if(group->members.begin(), group->members.end(),
                                     [&](auto& m) { return m.second.instance_id == instance_id; });
            }
            if (found != group->members.end()) {
                error =
                    instance_id && found->second.instance_id != instance_id ? kFencedInstanceId : 0;
                if (error == 0) remove_member(now, *group, found->first);
            }
        }
        if (to.version < 3) {
            body.error_code = error;
        } else {
            body.members.push_back({member_id, instance_id, error});
        }
    }
    answer(to, body);
}

void Coordinator::remove_member(Instant now, Group& group, const std::string& member_id) {
    auto found = group.members.find(member_id);
    SAMSA_ASSERT(found != group.members.end());
    if (found->second.join) answer_join(*found->second.join, kUnknownMemberId, member_id);
    if (found->second.sync) {
        answer(*found->second.sync, kafka::SyncGroupResponse{0, kUnknownMemberId, {}});
    }
    group.members.erase(found);
    if (group.state == GroupState::stable || group.state == GroupState::completing_rebalance) {
        prepare_rebalance(now, group);
    }
    check_join_complete(group);
}

void Coordinator::tick(Instant now) {
    now_ = now;
    for (auto& [name, group] : groups_) {
        std::erase_if(group.pending_members, [&](const auto& p) { return p.second <= now; });
        std::vector<std::string> expired;
        for (const auto& [id, member] : group.members) {
            // A member whose JoinGroup is held is waiting on the others, not gone.
            if (!member.join && member.session_deadline <= now) expired.push_back(id);
        }
        for (const auto& id : expired) remove_member(now, group, id);
        if (group.state == GroupState::preparing_rebalance && group.rebalance_deadline &&
            *group.rebalance_deadline <= now) {
            complete_join(group);
        }
    }
}

std::optional<Instant> Coordinator::next_deadline() const {
    std::optional<Instant> next;
    const auto consider = [&](Instant at) {
        if (!next || at < *next) next = at;
    };
    for (const auto& [name, group] : groups_) {
        for (const auto& [id, at] : group.pending_members) consider(at);
        for (const auto& [id, member] : group.members) {
            if (!member.join) consider(member.session_deadline);
        }
        if (group.state == GroupState::preparing_rebalance && group.rebalance_deadline) {
            consider(*group.rebalance_deadline);
        }
    }
    return next;
}

}  // namespace samsa::group

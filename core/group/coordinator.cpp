// Coordinator: committed offsets, the group catalogue and persistence in
// __consumer_offsets. Membership is in membership.cpp.
#include "core/group/coordinator.h"

#include <algorithm>

#include "core/base/assert.h"
#include "core/group/errors.h"
#include "core/group/records.h"
#include "net/kafka/api.h"

namespace samsa::group {

std::int32_t Coordinator::partition_of(const std::string& group) const noexcept {
    return java_string_hash_partition(group, limits_.partitions);
}

Coordinator::Group* Coordinator::find(const std::string& id) {
    const auto found = groups_.find(id);
    return found == groups_.end() ? nullptr : &found->second;
}

const Coordinator::Group* Coordinator::find(const std::string& id) const {
    const auto found = groups_.find(id);
    return found == groups_.end() ? nullptr : &found->second;
}

Coordinator::Group& Coordinator::group_for(const std::string& id) {
    auto [it, created] = groups_.try_emplace(id);
    if (created) it->second.id = id;
    return it->second;
}

std::optional<std::int16_t> Coordinator::check_group_id(const std::string& id) const {
    if (id.empty() || id.size() > limits_.group_id_bytes_max) return kInvalidGroupId;
    if (!is_loaded(partition_of(id))) return kCoordinatorLoadInProgress;
    return std::nullopt;
}

std::vector<Reply> Coordinator::take_replies() {
    std::vector<Reply> out;
    out.swap(replies_);
    return out;
}

std::vector<Append> Coordinator::take_appends() {
    std::vector<Append> out;
    out.swap(appends_);
    return out;
}

std::uint64_t Coordinator::append(
    std::int32_t partition, std::vector<std::pair<io::Bytes, std::optional<io::Bytes>>> records) {
    const std::uint64_t id = ++append_counter_;
    appends_.push_back({id, partition, std::move(records)});
    return id;
}

// The group's record: with its members and their assignments once the
// leader's assignment is in (a restarted coordinator resumes Stable), else
// without (its members rejoin).
GroupMetadata Coordinator::metadata_of(const Group& group) {
    GroupMetadata metadata{group.protocol_type, group.generation, group.protocol, group.leader, {}};
    if (group.state != GroupState::stable && !group.storing) return metadata;
    for (const auto& [id, member] : group.members) {
        const auto chosen = std::find_if(member.protocols.begin(), member.protocols.end(),
                                         [&](const auto& p) { return p.first == group.protocol; });
        metadata.members.push_back({id, member.instance_id, member.client_id, member.client_host,
                                    member.rebalance_timeout_ms, member.session_timeout_ms,
                                    chosen == member.protocols.end() ? io::Bytes{} : chosen->second,
                                    member.assignment});
    }
    return metadata;
}

void Coordinator::persist_group(const Group& group, PendingAppend::Kind kind) {
    std::vector<std::pair<io::Bytes, std::optional<io::Bytes>>> records;
    records.emplace_back(group_key(group.id), group_value(metadata_of(group)));
    const std::uint64_t id = append(partition_of(group.id), std::move(records));
    PendingAppend pending;
    pending.partition = partition_of(group.id);
    pending.group = group.id;
    pending.kind = kind;
    pending.generation = group.generation;
    pending_[id] = std::move(pending);
}

void Coordinator::commit(Instant now, const ReplyTo& to,
                         const kafka::OffsetCommitRequest& request) {
    now_ = now;
    kafka::OffsetCommitResponse body;
    std::int16_t error = 0;
    Group* group = nullptr;
    if (request.generation_id < 0 && request.member_id.empty()) {
        // A consumer outside any group (assign + commit) commits into an Empty group.
        if (const auto bad = check_group_id(request.group_id)) {
            error = *bad;
        } else {
            group = &group_for(request.group_id);
            if (group->state != GroupState::empty) error = kIllegalGeneration;
        }
    } else {
        const auto check = check_member(request.group_id, request.member_id,
                                        request.group_instance_id, request.generation_id);
        error = check.error;
        group = check.group;
        // As Kafka: a member may commit what it consumed while it rejoins, but not
        // between the join and the assignment (CompletingRebalance).
        if (error == 0 && group->state == GroupState::completing_rebalance) {
            error = kRebalanceInProgress;
        }
        if (check.member != nullptr && error == 0) {
            check.member->session_deadline =
                now + Duration::milliseconds(check.member->session_timeout_ms);
        }
    }
    PendingAppend pending{partition_of(request.group_id),
                          to,
                          request.group_id,
                          PendingAppend::Kind::commit,
                          {},
                          {},
                          0};
    std::vector<std::pair<io::Bytes, std::optional<io::Bytes>>> records;
    for (const auto& topic : request.topics) {
        auto& topic_answer = body.topics.emplace_back();
        topic_answer.name = topic.name;
        for (const auto& partition : topic.partitions) {
            std::int16_t code = error;
            if (code == 0 && partition.committed_metadata &&
                partition.committed_metadata->size() > limits_.offset_metadata_bytes_max) {
                code = kOffsetMetadataTooLarge;
            }
            topic_answer.partitions.push_back({partition.partition_index, code});
            if (code != 0) continue;
            const Committed committed{partition.committed_offset, partition.committed_leader_epoch,
                                      partition.committed_metadata};
            records.emplace_back(
                offset_key(request.group_id, topic.name, partition.partition_index),
                offset_value(committed, now.nanoseconds() / 1000000));
            pending.offsets.push_back({{topic.name, partition.partition_index}, committed});
        }
    }
    if (records.empty() || pending_.size() >= limits_.appends_in_flight_max) {
        if (!records.empty()) {  // too many waiting: retriable
            for (auto& t : body.topics) {
                for (auto& p : t.partitions) p.error_code = kCoordinatorNotAvailable;
            }
        }
        return answer(to, body);
    }
    pending.commit_answer = std::move(body);
    pending_[append(pending.partition, std::move(records))] = std::move(pending);
}

std::vector<std::pair<io::Bytes, std::optional<io::Bytes>>> Coordinator::snapshot(
    std::int32_t partition, Instant now) const {
    // Commits still being written count as done: the rewrite comes after
    // them in the log, so it must not bring back the values they replace.
    std::map<std::string, std::map<std::pair<std::string, std::int32_t>, Committed>> offsets;
    for (const auto& [id, group] : groups_) {
        if (partition_of(id) == partition) offsets[id] = group.offsets;
    }
    for (const auto& [append_id, pending] : pending_) {
        if (pending.kind != PendingAppend::Kind::commit || !offsets.contains(pending.group))
            continue;
        for (const auto& [key, committed] : pending.offsets)
            offsets[pending.group][key] = committed;
    }
    std::vector<std::pair<io::Bytes, std::optional<io::Bytes>>> records;
    for (const auto& [id, group_offsets] : offsets) {
        const Group& group = groups_.at(id);
        records.emplace_back(group_key(id), group_value(metadata_of(group)));
        for (const auto& [key, committed] : group_offsets) {
            records.emplace_back(offset_key(id, key.first, key.second),
                                 offset_value(committed, now.nanoseconds() / 1000000));
        }
    }
    return records;
}

void Coordinator::on_appended(std::uint64_t id, bool ok) {
    const auto found = pending_.find(id);
    if (found == pending_.end()) return;
    PendingAppend done = std::move(found->second);
    pending_.erase(found);
    switch (done.kind) {
        case PendingAppend::Kind::metadata: return;  // best effort: an Empty group
        case PendingAppend::Kind::assignment: return on_assignment_stored(done, ok);
        case PendingAppend::Kind::generation: return on_generation_stored(done, ok);
        case PendingAppend::Kind::commit: {
            if (ok) {
                if (Group* group = find(done.group)) {
                    for (const auto& [key, committed] : done.offsets)
                        group->offsets[key] = committed;
                }
            } else {
                for (auto& t : done.commit_answer.topics) {
                    for (auto& p : t.partitions) {
                        if (p.error_code == 0) p.error_code = kCoordinatorNotAvailable;
                    }
                }
            }
            return answer(*done.to, done.commit_answer);
        }
        case PendingAppend::Kind::delete_group: {
            auto waiting = deletes_.find(done.delete_index);
            if (waiting == deletes_.end()) return;
            for (auto& result : waiting->second.answer.results) {
                if (result.group_id == done.group && !ok)
                    result.error_code = kCoordinatorNotAvailable;
            }
            if (--waiting->second.waiting == 0) {
                answer(waiting->second.to, waiting->second.answer);
                deletes_.erase(waiting);
            }
            return;
        }
    }
}

void Coordinator::fetch(const ReplyTo& to, const kafka::OffsetFetchRequest& request) {
    kafka::OffsetFetchResponse body;
    const auto error = check_group_id(request.group_id);
    const Group* group = error ? nullptr : find(request.group_id);
    const auto entry = [&](std::int32_t partition, const std::string& topic) {
        kafka::OffsetFetchResponse::Topic::Partition part;
        part.partition_index = partition;
        part.committed_offset = -1;
        part.metadata = std::string();
        if (error) part.error_code = *error;
        if (group != nullptr) {
            if (auto found = group->offsets.find({topic, partition});
                found != group->offsets.end()) {
                part.committed_offset = found->second.offset;
                part.committed_leader_epoch = found->second.leader_epoch;
                part.metadata = found->second.metadata.value_or("");
            }
        }
        return part;
    };
    if (request.topics) {
        for (const auto& topic : *request.topics) {
            auto& t = body.topics.emplace_back();
            t.name = topic.name;
            for (const auto index : topic.partition_indexes)
                t.partitions.push_back(entry(index, topic.name));
        }
    } else if (group != nullptr) {  // v2+: every committed offset of the group
        for (const auto& [key, committed] : group->offsets) {
            if (body.topics.empty() || body.topics.back().name != key.first) {
                body.topics.emplace_back().name = key.first;
            }
            body.topics.back().partitions.push_back(entry(key.second, key.first));
        }
    }
    if (error) body.error_code = *error;
    answer(to, body);
}

void Coordinator::describe(const ReplyTo& to, const kafka::DescribeGroupsRequest& request) {
    kafka::DescribeGroupsResponse body;
    for (const auto& id : request.groups) {
        auto& out = body.groups.emplace_back();
        out.group_id = id;
        out.group_state = to_string(GroupState::dead);
        if (const auto error = check_group_id(id)) {
            out.error_code = *error;
            continue;
        }
        const Group* group = find(id);
        if (group == nullptr) continue;  // Dead, as Kafka says of an unknown group
        out.group_state = to_string(group->state);
        out.protocol_type = group->protocol_type;
        out.protocol_data = group->state == GroupState::stable ? group->protocol : std::string();
        for (const auto& [member_id, member] : group->members) {
            auto& m = out.members.emplace_back();
            m.member_id = member_id;
            m.group_instance_id = member.instance_id;
            m.client_id = member.client_id;
            m.client_host = member.client_host;
            const auto chosen =
                std::find_if(member.protocols.begin(), member.protocols.end(),
                             [&](const auto& p) { return p.first == group->protocol; });
            if (chosen != member.protocols.end()) m.member_metadata = chosen->second;
            if (group->state == GroupState::stable) m.member_assignment = member.assignment;
        }
    }
    answer(to, body);
}

void Coordinator::list(const ReplyTo& to) {
    kafka::ListGroupsResponse body;
    for (const auto& [id, group] : groups_) {
        if (group.state != GroupState::dead) body.groups.push_back({id, group.protocol_type});
    }
    answer(to, body);
}

void Coordinator::remove(Instant, const ReplyTo& to, const kafka::DeleteGroupsRequest& request) {
    PendingDelete waiting{to, {}, 0};
    const std::size_t index = ++delete_counter_;
    for (const auto& id : request.groups_names) {
        auto& result = waiting.answer.results.emplace_back();
        result.group_id = id;
        if (const auto error = check_group_id(id)) {
            result.error_code = *error;
            continue;
        }
        const auto found = groups_.find(id);
        if (found == groups_.end()) {
            result.error_code = kGroupIdNotFound;
            continue;
        }
        if (found->second.state != GroupState::empty) {
            result.error_code = kNonEmptyGroup;
            continue;
        }
        std::vector<std::pair<io::Bytes, std::optional<io::Bytes>>> records;
        for (const auto& [key, committed] : found->second.offsets) {
            records.emplace_back(offset_key(id, key.first, key.second), std::nullopt);
        }
        records.emplace_back(group_key(id), std::nullopt);
        groups_.erase(found);
        const std::uint64_t append_id = append(partition_of(id), std::move(records));
        pending_[append_id] = PendingAppend{
            partition_of(id), std::nullopt, id, PendingAppend::Kind::delete_group, {}, {}, index};
        ++waiting.waiting;
    }
    if (waiting.waiting == 0) return answer(to, waiting.answer);
    deletes_.emplace(index, std::move(waiting));
}

void Coordinator::load(std::int32_t, std::span<const std::uint8_t> key,
                       std::optional<std::span<const std::uint8_t>> value) {
    const auto parsed = parse_key(key);
    if (!parsed) return;      // not a record this coordinator writes
    if (parsed->partition) {  // an offset
        Group& group = group_for(parsed->group);
        const std::pair<std::string, std::int32_t> at{parsed->topic, *parsed->partition};
        if (!value) {
            group.offsets.erase(at);
        } else if (const auto committed = parse_offset_value(*value)) {
            group.offsets[at] = *committed;
        }
        return;
    }
    if (!value) {
        groups_.erase(parsed->group);
        return;
    }
    if (auto metadata = parse_group_value(*value)) {
        Group& group = group_for(parsed->group);
        group.protocol_type = metadata->protocol_type;
        group.generation = metadata->generation;
        group.protocol = metadata->protocol;
        group.leader = metadata->leader;
        group.members.clear();
        // Members rejoin: the stored members (written for Kafka's tools) are
        // not resumed yet - see "Not yet" in core/group/README.md.
        group.state = GroupState::empty;
    }
}

void Coordinator::loaded(std::int32_t partition) {
    loaded_.insert(partition);
}

std::optional<GroupState> Coordinator::state(const std::string& group) const {
    const Group* found = find(group);
    if (found == nullptr) return std::nullopt;
    return found->state;
}

std::int32_t Coordinator::generation(const std::string& group) const {
    const Group* found = find(group);
    return found == nullptr ? -1 : found->generation;
}

std::optional<Committed> Coordinator::committed(const std::string& group, const std::string& topic,
                                                std::int32_t partition) const {
    const Group* found = find(group);
    if (found == nullptr) return std::nullopt;
    const auto at = found->offsets.find({topic, partition});
    if (at == found->offsets.end()) return std::nullopt;
    return at->second;
}

std::vector<std::string> Coordinator::members(const std::string& group) const {
    std::vector<std::string> ids;
    if (const Group* found = find(group)) {
        for (const auto& [id, member] : found->members) ids.push_back(id);
    }
    return ids;
}

}  // namespace samsa::group

#include "sim/scenarios/group_checkers.h"

#include <algorithm>

#include "net/kafka/consumer_protocol.h"
#include "net/kafka/wire.h"

namespace samsa::sim::groups {

namespace {

std::string list(const std::vector<std::int32_t>& partitions) {
    std::string text;
    for (const auto p : partitions) text += (text.empty() ? "" : ",") + std::to_string(p);
    return "[" + text + "]";
}

}  // namespace

io::Bytes encode_subscription() {
    return kafka::encode_subscription({kTopic});
}

io::Bytes encode_assignment(const std::vector<std::int32_t>& partitions) {
    if (partitions.empty()) return {};
    return kafka::encode_assignment({{kTopic, partitions}});
}

std::optional<std::vector<std::int32_t>> decode_assignment(const io::Bytes& bytes) {
    const auto assignment = kafka::decode_assignment(bytes);
    if (!assignment) return std::nullopt;
    const auto found = assignment->find(kTopic);
    return found == assignment->end() ? std::vector<std::int32_t>{} : found->second;
}

Standing GroupTruth::standing(const Sent& sent) const {
    const auto joined = members.find(sent.generation);
    return {generation, joined != members.end() && joined->second.contains(sent.member),
            departed.contains(sent.member)};
}

void GroupTruth::learn_join(const Sent& sent, const kafka::JoinGroupResponse& answer) {
    generation = std::max(generation, answer.generation_id);
    auto& joined = members[answer.generation_id];
    joined.insert(answer.member_id);
    departed.erase(answer.member_id);
    for (const auto& member : answer.members) joined.insert(member.member_id);
    if (sent.instance) {
        auto& owner = instances[*sent.instance];
        if (!owner.empty() && owner != answer.member_id) {
            departed.insert(owner);  // fenced
            successors[owner] = answer.member_id;
        }
        owner = answer.member_id;
    }
}

bool GroupTruth::succeeded(std::string earlier, const std::string& later) const {
    for (std::size_t hops = 0; hops <= successors.size(); ++hops) {
        const auto next = successors.find(earlier);
        if (next == successors.end()) return false;
        if (next->second == later) return true;
        earlier = next->second;
    }
    return false;
}

void GroupTruth::learn_leave(const kafka::LeaveGroupResponse& answer) {
    if (answer.error_code != 0) return;
    for (const auto& member : answer.members) {
        if (member.error_code == 0) departed.insert(member.member_id);
    }
}

void SingleOwnerChecker::on_join(const GroupTruth& truth, const kafka::JoinGroupResponse& answer) {
    if (answer.generation_id < truth.generation) {
        fail_("single owner (22): JoinGroup answered " + answer.member_id + " with generation " +
              std::to_string(answer.generation_id) + " after generation " +
              std::to_string(truth.generation) + " was announced: generations went backwards");
    }
}

void SingleOwnerChecker::on_sync(const GroupTruth& truth, const Sent& sent,
                                 const kafka::SyncGroupResponse& answer) {
    const auto partitions = decode_assignment(answer.assignment);
    if (!partitions) {
        return fail_("single owner (22): SyncGroup answered " + sent.member +
                     " with an assignment that does not decode");
    }
    auto& owners = owners_[sent.generation];
    for (const auto p : *partitions) {
        ++assignments_;
        auto [at, fresh] = owners.try_emplace(p, sent.member);
        if (!fresh && at->second != sent.member && truth.succeeded(at->second, sent.member)) {
            at->second = sent.member;
        } else if (!fresh && at->second != sent.member) {
            return fail_("single owner (22): in generation " + std::to_string(sent.generation) +
                         " partition " + kTopic + "-" + std::to_string(p) +
                         " is assigned to both " + at->second + " and " + sent.member +
                         " (whose assignment is " + list(*partitions) + ")");
        }
    }
}

void FencingChecker::on_success(const char* what, const Standing& standing, const Sent& sent) {
    const std::string who = std::string(what) + " of member " + sent.member + " in generation " +
                            std::to_string(sent.generation);
    if (sent.generation < standing.generation) {
        return fail_("fencing (23): " + who + " was answered with success, but generation " +
                     std::to_string(standing.generation) + " had begun: a stale generation");
    }
    if (!standing.joined) {
        return fail_("fencing (23): " + who +
                     " was answered with success, but that member never joined that generation");
    }
    if (standing.departed) {
        return fail_("fencing (23): " + who +
                     " was answered with success, but that member had left or been fenced");
    }
}

void OffsetChecker::on_commit(const Sent& sent, const kafka::OffsetCommitResponse& answer) {
    for (const auto& topic : answer.topics) {
        for (const auto& part : topic.partitions) {
            if (part.error_code != 0 || topic.name != kTopic) continue;
            const auto offset =
                std::find_if(sent.offsets.begin(), sent.offsets.end(),
                             [&](const auto& o) { return o.first == part.partition_index; });
            if (offset == sent.offsets.end()) continue;
            ++commits_;
            auto [at, fresh] = acked_.try_emplace(part.partition_index, offset->second);
            if (!fresh && offset->second < at->second) {
                return fail_("committed offsets (24): " + sent.member + "'s commit of offset " +
                             std::to_string(offset->second) + " to " + kTopic + "-" +
                             std::to_string(part.partition_index) +
                             " was acknowledged after offset " + std::to_string(at->second) +
                             " had been: the committed offset went backwards");
            }
            at->second = std::max(at->second, offset->second);
        }
    }
}

void OffsetChecker::on_fetch(const kafka::OffsetFetchResponse& answer) {
    if (answer.error_code != 0) return;
    for (const auto& topic : answer.topics) {
        for (const auto& part : topic.partitions) {
            if (part.error_code != 0 || topic.name != kTopic) continue;
            ++fetches_;
            const auto at = acked_.find(part.partition_index);
            if (at != acked_.end() && part.committed_offset < at->second) {
                return fail_("committed offsets (24): OffsetFetch shows offset " +
                             std::to_string(part.committed_offset) + " for " + kTopic + "-" +
                             std::to_string(part.partition_index) + ", below the acknowledged " +
                             "commit of offset " + std::to_string(at->second));
            }
        }
    }
}

void LivenessChecker::check(const GroupTruth& truth, const std::vector<MemberView>& members,
                            const std::optional<kafka::DescribeGroupsResponse::Group>& described,
                            const std::string& bound) {
    std::string seen;
    for (const auto& m : members) {
        seen += " " + m.name + (m.stable ? "" : "(rejoining)") + "@" +
                std::to_string(m.generation) + list(m.owned);
    }
    const auto fail = [&](const std::string& what) { fail_(what + "; members:" + seen); };
    const std::string head = "rebalance liveness (25): " + bound + " after healing, ";
    std::map<std::int32_t, std::string> owner;
    for (const auto& member : members) {
        if (!member.stable || member.generation != truth.generation) {
            return fail(head + member.name + " (" + member.member_id + ") is not stable in the " +
                        "latest generation " + std::to_string(truth.generation) +
                        (member.stable
                             ? " (it is in generation " + std::to_string(member.generation) + ")"
                             : ""));
        }
        for (const auto p : member.owned) {
            if (auto [at, fresh] = owner.try_emplace(p, member.name); !fresh) {
                return fail(head + "partition " + std::to_string(p) + " is owned by " + at->second +
                            " and " + member.name);
            }
        }
    }
    for (std::int32_t p = 0; p < kPartitions; ++p) {
        if (!owner.contains(p)) {
            return fail(head + "partition " + kTopic + "-" + std::to_string(p) +
                        " has no live owner");
        }
    }
    if (!described || described->error_code != 0 || described->group_state != "Stable" ||
        described->members.size() != members.size()) {
        return fail(head + "the broker describes the group as " +
                    (described ? described->group_state + " with " +
                                     std::to_string(described->members.size()) + " members"
                               : std::string("nothing")) +
                    ", not Stable with its " + std::to_string(members.size()) + " live members");
    }
    for (const auto& m : described->members) {
        const bool live = std::any_of(members.begin(), members.end(), [&](const MemberView& v) {
            return v.member_id == m.member_id;
        });
        if (!live) return fail(head + "the group still holds member " + m.member_id);
    }
}

}  // namespace samsa::sim::groups

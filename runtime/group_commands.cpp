// Consumer groups for samsa's own clients (see group_commands.h).
#include "runtime/group_commands.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <set>
#include <thread>

namespace samsa::runtime {

using kafka::decode_assignment;
using kafka::decode_subscription;
using kafka::encode_assignment;
using kafka::encode_subscription;

namespace {

constexpr const char* kProtocolType = "consumer";
constexpr const char* kRangeProtocol = "range";
// Group requests answered with a retriable group error are asked again this
// often, this far apart.
constexpr int kGroupAttemptsMax = 40;
constexpr auto kGroupRetryDelay = std::chrono::milliseconds(250);
// JoinGroup + SyncGroup rounds before join() gives up.
constexpr int kJoinAttemptsMax = 100;
constexpr auto kCommitInterval = std::chrono::seconds(1);

volatile std::sig_atomic_t stop_flag = 0;

extern "C" void on_stop_signal(int) {
    stop_flag = 1;
}

std::string partitions_text(const std::vector<std::int32_t>& partitions) {
    std::string text = "[";
    for (std::size_t i = 0; i < partitions.size(); ++i) {
        text += (i == 0 ? "" : ",") + std::to_string(partitions[i]);
    }
    return text + "]";
}

std::string dash_if_empty(const std::string& text) {
    return text.empty() ? "-" : text;
}

// Sends `request` to the coordinator of `group`, asking FindCoordinator and
// the request again while the answer is a retriable group error.
template <class Response, class Request, class ErrorOf>
Result<Response, ClientError> call_coordinator(KafkaClient& client, const std::string& group,
                                               const Request& request, ErrorOf error_of) {
    for (int attempt = 1;; ++attempt) {
        auto connection = client.coordinator(group);
        if (!connection.ok()) return Failure{connection.error()};
        auto response = connection.value()->template call<Response>(request);
        if (!response.ok()) return Failure{response.error()};
        if (!is_retriable_group_error(error_of(response.value())) || attempt == kGroupAttemptsMax) {
            return response;
        }
        std::this_thread::sleep_for(kGroupRetryDelay);
    }
}

}  // namespace

std::map<std::string, TopicAssignment> range_assign(
    const std::map<std::string, std::vector<std::string>>& subscriptions,
    const std::map<std::string, std::int32_t>& partition_counts) {
    std::map<std::string, TopicAssignment> result;
    std::map<std::string, std::vector<std::string>> members_of;  // topic -> members, by id
    for (const auto& [member, topics] : subscriptions) {
        result[member];
        for (const auto& topic : std::set<std::string>(topics.begin(), topics.end())) {
            members_of[topic].push_back(member);
        }
    }
    for (const auto& [topic, members] : members_of) {
        const auto found = partition_counts.find(topic);
        if (found == partition_counts.end() || found->second <= 0) continue;
        const auto count = static_cast<std::size_t>(found->second);
        const std::size_t each = count / members.size();
        const std::size_t extra = count % members.size();
        std::size_t next = 0;
        for (std::size_t i = 0; i < members.size(); ++i) {
            const std::size_t take = each + (i < extra ? 1 : 0);
            if (take == 0) continue;
            auto& partitions = result[members[i]][topic];
            for (std::size_t j = 0; j < take; ++j) {
                partitions.push_back(static_cast<std::int32_t>(next++));
            }
        }
    }
    return result;
}

// ---------------------------------------------------------------------------
// group list | describe | delete

Status<ClientError> group_list(KafkaClient& client, std::ostream& out) {
    auto view = client.metadata(std::vector<std::string>{}, false);
    if (!view.ok()) return Failure{view.error()};
    std::vector<KafkaConnection*> brokers;
    for (const auto& [node_id, address] : view.value().brokers) {
        auto connection = client.broker(node_id);
        if (!connection.ok()) return Failure{connection.error()};
        brokers.push_back(connection.value());
    }
    if (brokers.empty()) brokers.push_back(&client.bootstrap());
    std::map<std::string, std::string> groups;  // id -> protocol type
    for (KafkaConnection* broker : brokers) {
        for (int attempt = 1;; ++attempt) {
            auto response = broker->call<kafka::ListGroupsResponse>(kafka::ListGroupsRequest{});
            if (!response.ok()) return Failure{response.error()};
            const std::int16_t code = response.value().error_code;
            if (is_retriable_group_error(code) && attempt < kGroupAttemptsMax) {
                std::this_thread::sleep_for(kGroupRetryDelay);
                continue;
            }
            if (code != 0) {
                return Failure{ClientError{"ListGroups on " + broker->address().to_string() + ": " +
                                           kafka_error_name(code)}};
            }
            for (const auto& group : response.value().groups) {
                groups[group.group_id] = group.protocol_type;
            }
            break;
        }
    }
    for (const auto& [id, type] : groups) out << id << "  " << dash_if_empty(type) << "\n";
    return {};
}

namespace {

struct OffsetRow {
    std::int64_t committed = -1;
    std::string member;  // the member assigned the partition, if any
};

// Log end offsets of the partitions of `topic` in `rows`; empty if the topic
// cannot be read (deleted since the offsets were committed).
std::map<std::int32_t, std::int64_t> end_offsets(KafkaClient& client, const std::string& topic) {
    auto partitions = topic_partitions(client, topic, false);
    if (!partitions.ok()) return {};
    auto ends = list_offsets(client, topic, partitions.value(), offset_latest);
    if (!ends.ok()) return {};
    return std::move(ends).value();
}

using OffsetRows = std::map<std::pair<std::string, std::int32_t>, OffsetRow>;

// Adds every offset `group` has committed to `rows` (OffsetFetch v2+ asks for
// all of them; v1 only for the partitions already in `rows`).
Status<ClientError> add_committed(KafkaClient& client, const std::string& group, OffsetRows& rows) {
    kafka::OffsetFetchRequest fetch;
    fetch.group_id = group;
    auto coordinator = client.coordinator(group);
    if (!coordinator.ok()) return Failure{coordinator.error()};
    const auto fetch_version = coordinator.value()->version_of(fetch.api_key);
    if (fetch_version && *fetch_version >= 2) {
        fetch.topics = std::nullopt;  // every committed offset
    } else {
        std::map<std::string, std::vector<std::int32_t>> asked;
        for (const auto& [key, row] : rows) asked[key.first].push_back(key.second);
        for (const auto& [topic, partitions] : asked) fetch.topics->push_back({topic, partitions});
    }
    auto fetched = call_coordinator<kafka::OffsetFetchResponse>(
        client, group, fetch,
        [](const kafka::OffsetFetchResponse& response) { return response.error_code; });
    if (!fetched.ok()) return Failure{fetched.error()};
    if (fetched.value().error_code != 0) {
        return Failure{ClientError{"cannot fetch the offsets of group '" + group +
                                   "': " + kafka_error_name(fetched.value().error_code)}};
    }
    for (const auto& topic : fetched.value().topics) {
        for (const auto& partition : topic.partitions) {
            if (partition.error_code != 0) {
                return Failure{
                    partition_error(topic.name, partition.partition_index, partition.error_code)};
            }
            if (partition.committed_offset >= 0) {
                rows[{topic.name, partition.partition_index}].committed =
                    partition.committed_offset;
            }
        }
    }
    return {};
}

void print_offsets(KafkaClient& client, const OffsetRows& rows, std::ostream& out) {
    std::map<std::string, std::map<std::int32_t, std::int64_t>> ends;
    for (const auto& [key, row] : rows) {
        if (ends.count(key.first) == 0) ends[key.first] = end_offsets(client, key.first);
    }
    out << "offsets:\n";
    for (const auto& [key, row] : rows) {
        const auto& topic_ends = ends[key.first];
        const auto end = topic_ends.find(key.second);
        out << "  topic " << key.first << "  partition " << key.second << "  committed-offset "
            << (row.committed >= 0 ? std::to_string(row.committed) : "-") << "  log-end-offset "
            << (end != topic_ends.end() ? std::to_string(end->second) : "-") << "  lag "
            << (row.committed >= 0 && end != topic_ends.end()
                    ? std::to_string(std::max<std::int64_t>(0, end->second - row.committed))
                    : "-")
            << "  member " << dash_if_empty(row.member) << "\n";
    }
}
}  // namespace

Status<ClientError> group_describe(KafkaClient& client, const std::string& group,
                                   std::ostream& out) {
    kafka::DescribeGroupsRequest describe;
    describe.groups.push_back(group);
    auto described = call_coordinator<kafka::DescribeGroupsResponse>(
        client, group, describe, [](const kafka::DescribeGroupsResponse& response) {
            return response.groups.empty() ? std::int16_t{0} : response.groups.front().error_code;
        });
    if (!described.ok()) return Failure{described.error()};
    if (described.value().groups.size() != 1) {
        return Failure{ClientError{"DescribeGroups did not answer for group '" + group + "'"}};
    }
    const auto& info = described.value().groups.front();
    if (info.error_code != 0) {
        return Failure{ClientError{"cannot describe group '" + group +
                                   "': " + kafka_error_name(info.error_code)}};
    }

    OffsetRows rows;
    std::vector<std::string> member_lines;
    for (const auto& member : info.members) {
        const auto assigned = decode_assignment(member.member_assignment);
        std::string text;
        if (!assigned) {
            text = "(unreadable)";
        } else {
            for (const auto& [topic, partitions] : *assigned) {
                text += (text.empty() ? "" : " ") + topic + partitions_text(partitions);
                for (const auto partition : partitions) {
                    rows[{topic, partition}].member = member.member_id;
                }
            }
        }
        member_lines.push_back(
            "  member " + member.member_id + "  client-id " + dash_if_empty(member.client_id) +
            "  host " + dash_if_empty(member.client_host) + "  assigned " + dash_if_empty(text));
    }

    if (auto added = add_committed(client, group, rows); !added.ok()) return added;
    if (info.group_state == "Dead" && info.members.empty() && rows.empty()) {
        return Failure{ClientError{"group '" + group + "' does not exist (state Dead)"}};
    }

    out << "group: " << group << "  state: " << info.group_state
        << "  protocol-type: " << dash_if_empty(info.protocol_type)
        << "  protocol: " << dash_if_empty(info.protocol_data)
        << "  members: " << info.members.size() << "\n";
    for (const auto& line : member_lines) out << line << "\n";
    if (rows.empty()) return {};
    print_offsets(client, rows, out);
    return {};
}

Status<ClientError> group_delete(KafkaClient& client, const std::string& group, std::ostream& out) {
    kafka::DeleteGroupsRequest request;
    request.groups_names.push_back(group);
    auto response = call_coordinator<kafka::DeleteGroupsResponse>(
        client, group, request, [](const kafka::DeleteGroupsResponse& answer) {
            return answer.results.empty() ? std::int16_t{0} : answer.results.front().error_code;
        });
    if (!response.ok()) return Failure{response.error()};
    if (response.value().results.size() != 1) {
        return Failure{ClientError{"DeleteGroups did not answer for group '" + group + "'"}};
    }
    const std::int16_t code = response.value().results.front().error_code;
    if (code == error_group_id_not_found) {
        return Failure{ClientError{"group '" + group + "' does not exist (GROUP_ID_NOT_FOUND)"}};
    }
    if (code == error_non_empty_group) {
        return Failure{ClientError{"cannot delete group '" + group +
                                   "': NON_EMPTY_GROUP (it still has members; stop them first)"}};
    }
    if (code != 0) {
        return Failure{
            ClientError{"cannot delete group '" + group + "': " + kafka_error_name(code)}};
    }
    out << "deleted group " << group << "\n";
    return {};
}

void add_group_commands(CLI::App& app, ClientCommands& commands) {
    const auto add_bootstrap = [](CLI::App& command, std::string& bootstrap) {
        command.add_option("--bootstrap", bootstrap, "HOST:PORT of a broker to start from")
            ->capture_default_str();
    };
    auto* group = app.add_subcommand("group", "List, describe or delete consumer groups");
    group->require_subcommand(1);
    commands.group_list_app = group->add_subcommand("list", "List groups and their protocol type");
    add_bootstrap(*commands.group_list_app, commands.bootstrap);
    commands.group_describe_app = group->add_subcommand(
        "describe", "State, members, assignments, committed offsets and lag of a group");
    commands.group_describe_app->add_option("group", commands.group_name, "Group id")->required();
    add_bootstrap(*commands.group_describe_app, commands.bootstrap);
    commands.group_delete_app = group->add_subcommand("delete", "Delete an empty group");
    commands.group_delete_app->add_option("group", commands.group_name, "Group id")->required();
    add_bootstrap(*commands.group_delete_app, commands.bootstrap);
}

// ---------------------------------------------------------------------------
// GroupMember

GroupMember::GroupMember(KafkaClient& client, std::string group, std::string topic,
                         std::int32_t session_timeout_ms, std::ostream& err)
    : client_(client),
      group_(std::move(group)),
      topic_(std::move(topic)),
      session_timeout_ms_(session_timeout_ms),
      err_(err) {}

void GroupMember::catch_stop_signals() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

bool GroupMember::stop_requested() noexcept {
    return stop_flag != 0;
}

Result<KafkaConnection*, ClientError> GroupMember::coordinator(bool find_again) {
    if (coordinator_ != nullptr && !find_again) return coordinator_;
    auto found = client_.coordinator(group_);
    if (!found.ok()) return Failure{found.error()};
    coordinator_ = found.value();
    return coordinator_;
}

Result<bool, ClientError> GroupMember::needs_rejoin(std::int16_t code, const char* what) {
    if (code == 0) return false;
    if (code == error_rebalance_in_progress || code == error_illegal_generation) {
        rejoin_needed_ = true;
        return true;
    }
    if (code == error_unknown_member_id) {
        member_id_.clear();
        generation_ = -1;
        rejoin_needed_ = true;
        return true;
    }
    if (is_retriable_group_error(code)) {
        coordinator_ = nullptr;  // ask FindCoordinator again
        rejoin_needed_ = true;
        std::this_thread::sleep_for(kGroupRetryDelay);
        return true;
    }
    return Failure{
        ClientError{std::string(what) + " for group '" + group_ + "': " + kafka_error_name(code)}};
}

Status<ClientError> GroupMember::join() {
    for (int attempt = 0; attempt < kJoinAttemptsMax; ++attempt) {
        auto joined = join_once();
        if (!joined.ok()) return Failure{joined.error()};
        if (joined.value()) return {};
    }
    return Failure{ClientError{"could not join group '" + group_ + "' in " +
                               std::to_string(kJoinAttemptsMax) + " attempts"}};
}

Result<bool, ClientError> GroupMember::join_once() {
    auto connection = coordinator(false);
    if (!connection.ok()) return Failure{connection.error()};
    kafka::JoinGroupRequest request;
    request.group_id = group_;
    request.session_timeout_ms = session_timeout_ms_;
    request.rebalance_timeout_ms = session_timeout_ms_;
    request.member_id = member_id_;
    request.protocol_type = kProtocolType;
    request.protocols.push_back({kRangeProtocol, encode_subscription({topic_})});
    auto joined = connection.value()->call<kafka::JoinGroupResponse>(request);
    if (!joined.ok()) return Failure{joined.error()};
    const auto& answer = joined.value();
    if (answer.error_code == error_member_id_required) {
        member_id_ = answer.member_id;
        return false;
    }
    if (auto rejoin = needs_rejoin(answer.error_code, "JoinGroup"); !rejoin.ok()) {
        return Failure{rejoin.error()};
    } else if (rejoin.value()) {
        return false;
    }
    generation_ = answer.generation_id;
    member_id_ = answer.member_id;

    kafka::SyncGroupRequest sync;
    sync.group_id = group_;
    sync.generation_id = generation_;
    sync.member_id = member_id_;
    if (answer.leader == member_id_) {
        auto assignments = lead(answer);
        if (!assignments.ok()) return Failure{assignments.error()};
        sync.assignments = std::move(assignments).value();
    }
    auto synced = connection.value()->call<kafka::SyncGroupResponse>(sync);
    if (!synced.ok()) return Failure{synced.error()};
    if (auto rejoin = needs_rejoin(synced.value().error_code, "SyncGroup"); !rejoin.ok()) {
        return Failure{rejoin.error()};
    } else if (rejoin.value()) {
        return false;
    }
    const auto assigned = decode_assignment(synced.value().assignment);
    if (!assigned) {
        return Failure{ClientError{"the leader of group '" + group_ +
                                   "' sent an assignment samsa cannot read"}};
    }
    const auto mine = assigned->find(topic_);
    assignment_ = mine == assigned->end() ? std::vector<std::int32_t>{} : mine->second;
    std::erase_if(committed_, [&](const auto& entry) {
        return std::find(assignment_.begin(), assignment_.end(), entry.first) == assignment_.end();
    });
    rejoin_needed_ = false;
    commit_refused_ = false;
    baseline_.reset();
    next_heartbeat_ = Clock::now() + heartbeat_interval();
    next_commit_ = Clock::now() + kCommitInterval;
    return true;
}

Result<std::vector<kafka::SyncGroupRequest::Assignment>, ClientError> GroupMember::lead(
    const kafka::JoinGroupResponse& joined) {
    std::map<std::string, std::vector<std::string>> subscriptions;
    std::set<std::string> topics;
    for (const auto& member : joined.members) {
        auto subscribed = decode_subscription(member.metadata);
        if (!subscribed) {
            return Failure{ClientError{"member " + member.member_id + " of group '" + group_ +
                                       "' sent a subscription samsa cannot read"}};
        }
        topics.insert(subscribed->begin(), subscribed->end());
        subscriptions[member.member_id] = std::move(subscribed).value();
    }
    std::map<std::string, std::int32_t> counts;
    if (!topics.empty()) {
        auto view = client_.metadata(std::vector<std::string>(topics.begin(), topics.end()), false);
        if (!view.ok()) return Failure{view.error()};
        for (const auto& topic : view.value().metadata.topics) {
            if (topic.error_code == 0) {
                counts[topic.name] = static_cast<std::int32_t>(topic.partitions.size());
            }
        }
    }
    std::vector<kafka::SyncGroupRequest::Assignment> assignments;
    for (const auto& [member, assignment] : range_assign(subscriptions, counts)) {
        assignments.push_back({member, encode_assignment(assignment)});
    }
    return assignments;
}

Result<Positions, ClientError> GroupMember::committed() {
    Positions positions;
    for (const auto partition : assignment_) positions[partition] = -1;
    if (assignment_.empty()) return positions;
    kafka::OffsetFetchRequest request;
    request.group_id = group_;
    request.topics->push_back({topic_, assignment_});
    auto response = call_coordinator<kafka::OffsetFetchResponse>(
        client_, group_, request, [](const kafka::OffsetFetchResponse& answer) {
            std::int16_t code = answer.error_code;
            for (const auto& topic : answer.topics) {
                for (const auto& partition : topic.partitions) {
                    if (code == 0) code = partition.error_code;
                }
            }
            return code;
        });
    if (!response.ok()) return Failure{response.error()};
    if (response.value().error_code != 0) {
        return Failure{ClientError{"OffsetFetch for group '" + group_ +
                                   "': " + kafka_error_name(response.value().error_code)}};
    }
    for (const auto& topic : response.value().topics) {
        if (topic.name != topic_) continue;
        for (const auto& partition : topic.partitions) {
            if (partition.error_code != 0) {
                return Failure{
                    partition_error(topic_, partition.partition_index, partition.error_code)};
            }
            if (positions.count(partition.partition_index) == 0) continue;
            positions[partition.partition_index] = partition.committed_offset;
            if (partition.committed_offset >= 0) {
                committed_[partition.partition_index] = partition.committed_offset;
            }
        }
    }
    return positions;
}

Result<std::map<std::int32_t, FetchPartition>, ClientError> GroupMember::partitions(
    bool from_beginning, const std::map<std::int32_t, FetchPartition>& before) {
    std::map<std::int32_t, FetchPartition> states;
    if (assignment_.empty()) return states;
    auto all = topic_partitions(client_, topic_, false);
    if (!all.ok()) return Failure{all.error()};
    PartitionLeaders assigned;
    for (const auto partition : assignment_) {
        const auto found = all.value().find(partition);
        if (found == all.value().end()) {
            return Failure{ClientError{"group '" + group_ + "' assigned partition " +
                                       std::to_string(partition) + ", which topic '" + topic_ +
                                       "' lacks"}};
        }
        assigned.insert(*found);
    }
    auto ends = list_offsets(client_, topic_, assigned, offset_latest);
    if (!ends.ok()) return Failure{ends.error()};
    auto positions = committed();
    if (!positions.ok()) return Failure{positions.error()};
    std::map<std::int32_t, std::int64_t> earliest;
    if (from_beginning) {
        auto starts = list_offsets(client_, topic_, assigned, offset_earliest);
        if (!starts.ok()) return Failure{starts.error()};
        earliest = std::move(starts).value();
    }
    for (const auto& [partition, leader] : assigned) {
        FetchPartition state{leader, 0, ends.value()[partition], partition_fetch_bytes_first};
        if (const auto kept = before.find(partition); kept != before.end()) {
            state.position = kept->second.position;
            state.fetch_bytes = kept->second.fetch_bytes;
        } else if (positions.value()[partition] >= 0) {
            state.position = positions.value()[partition];
        } else {
            state.position = from_beginning ? earliest[partition] : state.end_at_start;
        }
        states[partition] = state;
    }
    return states;
}

Result<bool, ClientError> GroupMember::poll(const Positions& positions) {
    const auto now = Clock::now();
    if (!baseline_) baseline_ = positions;
    // Commit first: a heartbeat may reveal a rebalance, and once one has
    // begun the coordinator refuses commits until the group is stable again.
    if (!rejoin_needed_ && (now >= next_commit_ || now >= next_heartbeat_)) {
        if (auto committed = commit(positions); !committed.ok()) return Failure{committed.error()};
        next_commit_ = now + kCommitInterval;
    }
    if (!rejoin_needed_ && now >= next_heartbeat_) {
        auto connection = coordinator(false);
        if (!connection.ok()) return Failure{connection.error()};
        kafka::HeartbeatRequest request;
        request.group_id = group_;
        request.generation_id = generation_;
        request.member_id = member_id_;
        auto response = connection.value()->call<kafka::HeartbeatResponse>(request);
        if (!response.ok()) return Failure{response.error()};
        next_heartbeat_ = now + heartbeat_interval();
        if (auto rejoin = needs_rejoin(response.value().error_code, "Heartbeat"); !rejoin.ok()) {
            return Failure{rejoin.error()};
        }
    }
    if (!rejoin_needed_) return false;
    // Commit what was consumed before giving the partitions up (unless the
    // coordinator just refused to).
    if (!member_id_.empty() && !commit_refused_) {
        if (auto committed = commit(positions); !committed.ok()) return Failure{committed.error()};
    }
    if (auto joined = join(); !joined.ok()) return Failure{joined.error()};
    return true;
}

Status<ClientError> GroupMember::commit(const Positions& positions, bool report_refusal) {
    if (member_id_.empty() || generation_ < 0) return {};
    kafka::OffsetCommitRequest request;
    request.group_id = group_;
    request.generation_id = generation_;
    request.member_id = member_id_;
    auto& topic = request.topics.emplace_back();
    topic.name = topic_;
    for (const auto& [partition, position] : positions) {
        if (position < 0) continue;
        const auto last = committed_.find(partition);
        if (last != committed_.end() && last->second == position) continue;
        auto& entry = topic.partitions.emplace_back();
        entry.partition_index = partition;
        entry.committed_offset = position;
    }
    if (topic.partitions.empty()) return {};
    auto connection = coordinator(false);
    if (!connection.ok()) return Failure{connection.error()};
    auto response = connection.value()->call<kafka::OffsetCommitResponse>(request);
    if (!response.ok()) return Failure{response.error()};
    std::int16_t lost = 0;
    bool progress_lost = false;  // records were printed from a partition not committed
    for (const auto& answer : response.value().topics) {
        for (const auto& partition : answer.partitions) {
            if (partition.error_code == 0) {
                const auto sent = positions.find(partition.partition_index);
                if (sent != positions.end()) committed_[partition.partition_index] = sent->second;
                continue;
            }
            auto rejoin = needs_rejoin(partition.error_code, "OffsetCommit");
            if (!rejoin.ok()) {
                return Failure{ClientError{"OffsetCommit for partition " +
                                           std::to_string(partition.partition_index) +
                                           " of topic '" + topic_ + "' in group '" + group_ +
                                           "': " + kafka_error_name(partition.error_code)}};
            }
            lost = partition.error_code;
            commit_refused_ = true;
            const auto sent = positions.find(partition.partition_index);
            const auto start =
                baseline_ ? baseline_->find(partition.partition_index) : positions.end();
            if (sent != positions.end() &&
                (!baseline_ || start == baseline_->end() || start->second != sent->second)) {
                progress_lost = true;
            }
        }
    }
    if (progress_lost && report_refusal) {
        err_ << "samsa consume: note: offsets not committed (" << kafka_error_name(lost)
             << "); records printed since the last commit may be printed again\n";
    }
    return {};
}

Status<ClientError> GroupMember::close(const Positions& positions) {
    if (member_id_.empty()) return {};
    if (auto committed = commit(positions, false); !committed.ok()) return committed;
    const bool pending = std::any_of(positions.begin(), positions.end(), [&](const auto& entry) {
        const auto last = committed_.find(entry.first);
        return entry.second >= 0 && (last == committed_.end() || last->second != entry.second);
    });
    if (rejoin_needed_ && pending) {
        // The group is rebalancing: rejoin once, then commit what is still ours.
        if (auto joined = join(); !joined.ok()) return joined;
        Positions kept;
        for (const auto& [partition, position] : positions) {
            if (std::find(assignment_.begin(), assignment_.end(), partition) != assignment_.end()) {
                kept[partition] = position;
            }
        }
        if (auto committed = commit(kept); !committed.ok()) return committed;
        const bool moved = std::any_of(positions.begin(), positions.end(), [&](const auto& entry) {
            const auto last = committed_.find(entry.first);
            return entry.second >= 0 && kept.count(entry.first) == 0 &&
                   (last == committed_.end() || last->second != entry.second);
        });
        if (moved) {
            err_ << "samsa consume: note: the group rebalanced at exit; offsets of partitions "
                    "it moved away were not committed and may be printed again\n";
        }
    }
    if (member_id_.empty()) return {};
    auto connection = coordinator(false);
    if (!connection.ok()) return Failure{connection.error()};
    kafka::LeaveGroupRequest request;
    request.group_id = group_;
    request.member_id = member_id_;
    request.members.push_back({member_id_, std::nullopt});
    auto response = connection.value()->call<kafka::LeaveGroupResponse>(request);
    if (!response.ok()) return Failure{response.error()};
    std::int16_t code = response.value().error_code;
    for (const auto& member : response.value().members) {
        if (code == 0) code = member.error_code;
    }
    member_id_.clear();
    generation_ = -1;
    if (code != 0 && code != error_unknown_member_id) {
        return Failure{
            ClientError{"LeaveGroup for group '" + group_ + "': " + kafka_error_name(code)}};
    }
    return {};
}

}  // namespace samsa::runtime

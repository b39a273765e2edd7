// Consumer groups for samsa's own clients: `samsa group list | describe |
// delete`, and GroupMember, the member of a group behind `samsa consume
// --group`. Every group request goes to the group's coordinator, found with
// FindCoordinator (KafkaClient::coordinator); list asks every broker.
//
// Assignment bytes follow Kafka's ConsumerProtocol: a Subscription is int16
// version, [topic string], user_data bytes (samsa writes v0 with user_data
// null; later versions append fields, which are ignored when read); an
// Assignment is int16 version, [topic string, [int32 partition]], user_data
// bytes (the same layout in every version).
//
// GroupMember, single-threaded, driven between fetch rounds by poll():
// join() finds the coordinator and sends JoinGroup with protocol type
// "consumer" and one protocol, "range", whose metadata is the Subscription
// to one topic; MEMBER_ID_REQUIRED is answered by joining again with the id
// handed out. The leader computes the range assignment (for each topic, its
// partitions in order cut into consecutive runs, the first `partitions %
// members` members by member id getting one more) for every member's
// subscription and sends it with SyncGroup; the others send an empty one.
// REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION from JoinGroup, SyncGroup,
// Heartbeat or OffsetCommit means join again under the same member id,
// UNKNOWN_MEMBER_ID join again without one. poll() heartbeats every third of
// the session timeout and commits changed positions every second and before
// each heartbeat; before a rejoin it tries to commit again. samsa's
// coordinator (unlike Kafka's) refuses commits once a rebalance has begun
// (REBALANCE_IN_PROGRESS), so records printed since the last commit may then
// be printed again by the partition's next owner: consume says so on stderr.
// The caller commits once more and leaves (close()) at exit.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "net/kafka/api.h"
#include "net/kafka/consumer_protocol.h"
#include "runtime/client_commands.h"
#include "runtime/kafka_client.h"

namespace samsa::runtime {

// Adds `group` with list, describe and delete (parsed into `commands`).
void add_group_commands(CLI::App& app, ClientCommands& commands);

// `samsa group list`: every group of every broker, "GROUP  PROTOCOL-TYPE"
// per line, sorted.
Status<ClientError> group_list(KafkaClient& client, std::ostream& out);

// `samsa group describe G`: state, protocol, members with their assigned
// partitions, and every committed offset with the log end offset and lag.
// A group the coordinator does not know (state Dead) is an error.
Status<ClientError> group_describe(KafkaClient& client, const std::string& group,
                                   std::ostream& out);

// `samsa group delete G`: DeleteGroups; only an Empty group can be deleted.
Status<ClientError> group_delete(KafkaClient& client, const std::string& group, std::ostream& out);

using kafka::TopicAssignment;  // ConsumerProtocol: net/kafka/consumer_protocol.h

// The range assignment: member id -> its partitions, given every member's
// subscribed topics and the partition count of each topic.
std::map<std::string, TopicAssignment> range_assign(
    const std::map<std::string, std::vector<std::string>>& subscriptions,
    const std::map<std::string, std::int32_t>& partition_counts);

// partition -> next offset to read (what is committed).
using Positions = std::map<std::int32_t, std::int64_t>;

class GroupMember {
public:
    GroupMember(KafkaClient& client, std::string group, std::string topic,
                std::int32_t session_timeout_ms, std::ostream& err);

    // Joins (or rejoins) and syncs until the group gives this member an
    // assignment; assignment() is then its partitions of the topic.
    Status<ClientError> join();
    [[nodiscard]] const std::vector<std::int32_t>& assignment() const noexcept {
        return assignment_;
    }

    // The committed offsets of the assigned partitions; -1 where none is.
    Result<Positions, ClientError> committed();

    // Where to read the assigned partitions: one the member already had
    // (in `before`) keeps its position; a new one starts at the committed
    // offset, or (none) at the log start if `from_beginning`, else at the
    // end. end_at_start is each partition's end offset now.
    Result<std::map<std::int32_t, FetchPartition>, ClientError> partitions(
        bool from_beginning, const std::map<std::int32_t, FetchPartition>& before);

    // Between fetch rounds: heartbeats and commits when due, and rejoins
    // when the group asks. True when it rejoined (assignment() changed).
    Result<bool, ClientError> poll(const Positions& positions);

    // Commits the positions that changed since the last commit. A refusal
    // because of a rebalance is not an error: the member rejoins, and (if
    // `report_refusal`) says on `err` what may be printed again.
    Status<ClientError> commit(const Positions& positions, bool report_refusal = true);

    // At exit: commits `positions` (rejoining once if the group is
    // rebalancing) and sends LeaveGroup.
    Status<ClientError> close(const Positions& positions);

    // SIGINT/SIGTERM set a flag the consumer checks between fetch rounds.
    static void catch_stop_signals();
    [[nodiscard]] static bool stop_requested() noexcept;

private:
    using Clock = std::chrono::steady_clock;

    Result<KafkaConnection*, ClientError> coordinator(bool find_again);
    // One JoinGroup + SyncGroup; nullopt when it must be tried again.
    Result<bool, ClientError> join_once();
    Result<std::vector<kafka::SyncGroupRequest::Assignment>, ClientError> lead(
        const kafka::JoinGroupResponse& joined);
    // Reacts to an error code of a membership request: true if rejoining
    // handles it, false (and nothing changed) for 0, a ClientError otherwise.
    Result<bool, ClientError> needs_rejoin(std::int16_t code, const char* what);
    [[nodiscard]] std::chrono::milliseconds heartbeat_interval() const noexcept {
        return std::chrono::milliseconds(session_timeout_ms_ / 3);
    }

    KafkaClient& client_;
    std::string group_;
    std::string topic_;
    std::int32_t session_timeout_ms_;
    std::ostream& err_;
    KafkaConnection* coordinator_ = nullptr;
    std::string member_id_;
    std::int32_t generation_ = -1;
    std::vector<std::int32_t> assignment_;
    bool rejoin_needed_ = false;
    bool commit_refused_ = false;  // a rebalance error answered a commit of this generation
    Positions committed_;          // what this member last committed, per partition
    // The positions of the first poll() since the last join: where printing
    // started, so a failed commit of these loses nothing.
    std::optional<Positions> baseline_;
    Clock::time_point next_heartbeat_{};
    Clock::time_point next_commit_{};
};

}  // namespace samsa::runtime

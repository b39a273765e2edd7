// The group coordinator: Kafka's classic consumer-group protocol as a pure
// state machine, for every group this broker coordinates.
//
// Theory of operation. A group moves through Empty -> PreparingRebalance ->
// CompletingRebalance -> Stable (and Dead once deleted). A rebalance starts
// when a member joins, leaves, changes its protocols or misses its session
// timeout. During PreparingRebalance every member must send JoinGroup again;
// those requests are held (answered later) until all known members have
// rejoined or the longest rebalance timeout passes, when the stragglers are
// removed. Then the generation advances, the protocol common to all members
// is chosen by vote, and every held JoinGroup is answered - the leader's
// answer carries every member's subscription. The group waits in
// CompletingRebalance for the leader's SyncGroup with the assignment; held
// SyncGroups of the others are answered with it, and the group is Stable.
// Heartbeats keep a member's session alive and tell it when to rejoin.
//
// Members: JoinGroup v4+ without a member id gets MEMBER_ID_REQUIRED with a
// fresh id to come back with; older versions are admitted at once. A static
// member (group.instance.id) that restarts takes over its old place: the old
// member id is fenced (FENCED_INSTANCE_ID) and, while the group is Stable and
// its protocols are unchanged, no rebalance happens. Cooperative clients
// revoke partitions themselves through repeated joins; the coordinator
// assigns nothing on its own, so it never revokes more than they ask.
//
// Time arrives as `now`; deadlines are Instants; next_deadline() tells the
// host when to call tick(). Answers are encoded response frames in
// take_replies(), each for a request identified by its ReplyTo.
//
// Persistence: committed offsets and group metadata are records of the
// internal topic __consumer_offsets (partition = Java hashCode(group) % N),
// in Kafka's own key/value layouts. The coordinator asks the host to append
// them (take_appends()) and answers an OffsetCommit or DeleteGroups only
// once on_appended() says they are durable. At start the host replays each
// partition's records through load(); until loaded() for a group's
// partition, its requests get COORDINATOR_LOAD_IN_PROGRESS. Replayed groups
// come back Empty with their generation and offsets; members rejoin.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/ids.h"
#include "core/base/time.h"
#include "core/io/seam.h"
#include "net/kafka/api.h"
#include "net/kafka/messages.h"

namespace samsa::group {

struct GroupLimits {
    std::int32_t session_timeout_min_ms = 6000;  // Kafka's group.min.session.timeout.ms
    std::int32_t session_timeout_max_ms = 1800000;
    std::size_t members_max = 1000;  // per group: GROUP_MAX_SIZE_REACHED beyond
    std::size_t groups_max = 100000;
    std::size_t group_id_bytes_max = 249;
    std::size_t member_metadata_bytes_max = 1 << 20;  // one protocol's subscription
    std::size_t offset_metadata_bytes_max = 4096;     // Kafka's offset.metadata.max.bytes
    std::size_t appends_in_flight_max = 10000;
    std::int32_t partitions = 8;  // of __consumer_offsets
};

// Where an answer goes: the request it answers.
struct ReplyTo {
    ClientId client;
    std::string client_id;  // from the request header (JoinGroup keeps it per member)
    std::uint64_t sequence = 0;
    std::int32_t correlation_id = 0;
    std::int16_t version = 0;
};

struct Reply {
    ReplyTo to;
    io::Bytes frame;  // a response frame without its size prefix
};

// Records for one partition of __consumer_offsets; a value absent is a tombstone.
struct Append {
    std::uint64_t id = 0;
    std::int32_t partition = 0;
    std::vector<std::pair<io::Bytes, std::optional<io::Bytes>>> records;
};

// A topic partition's committed offset.
struct GroupMetadata;

struct Committed {
    std::int64_t offset = -1;
    std::int32_t leader_epoch = -1;
    std::optional<std::string> metadata;
};

enum class GroupState : std::uint8_t {
    empty,
    preparing_rebalance,
    completing_rebalance,
    stable,
    dead
};
const char* to_string(GroupState state) noexcept;

class Coordinator {
public:
    explicit Coordinator(GroupLimits limits = {}) : limits_(limits) {}

    // The partition of __consumer_offsets holding `group` (Java's hashCode, as Kafka).
    [[nodiscard]] std::int32_t partition_of(const std::string& group) const noexcept;

    void join(Instant now, const ReplyTo& to, const kafka::JoinGroupRequest& request);
    void sync(Instant now, const ReplyTo& to, const kafka::SyncGroupRequest& request);
    void heartbeat(Instant now, const ReplyTo& to, const kafka::HeartbeatRequest& request);
    void leave(Instant now, const ReplyTo& to, const kafka::LeaveGroupRequest& request);
    void commit(Instant now, const ReplyTo& to, const kafka::OffsetCommitRequest& request);
    void fetch(const ReplyTo& to, const kafka::OffsetFetchRequest& request);
    void describe(const ReplyTo& to, const kafka::DescribeGroupsRequest& request);
    void list(const ReplyTo& to);
    void remove(Instant now, const ReplyTo& to, const kafka::DeleteGroupsRequest& request);

    // Sessions that expired and rebalances that timed out.
    void tick(Instant now);
    [[nodiscard]] std::optional<Instant> next_deadline() const;

    // Loading __consumer_offsets at start: every record of a partition, in order.
    void load(std::int32_t partition, std::span<const std::uint8_t> key,
              std::optional<std::span<const std::uint8_t>> value);
    void loaded(std::int32_t partition);
    [[nodiscard]] bool is_loaded(std::int32_t partition) const {
        return loaded_.contains(partition);
    }

    // Compaction of __consumer_offsets: every live record of `partition` (each
    // group's metadata and committed offsets, counting commits still being
    // written), to be appended as one rewrite after which everything older in
    // the partition is obsolete.
    [[nodiscard]] std::vector<std::pair<io::Bytes, std::optional<io::Bytes>>> snapshot(
        std::int32_t partition, Instant now) const;

    std::vector<Reply> take_replies();
    std::vector<Append> take_appends();
    void on_appended(std::uint64_t id, bool ok);

    // For tests, tools and checkers.
    [[nodiscard]] std::optional<GroupState> state(const std::string& group) const;
    [[nodiscard]] std::int32_t generation(const std::string& group) const;
    [[nodiscard]] std::optional<Committed> committed(const std::string& group,
                                                     const std::string& topic,
                                                     std::int32_t partition) const;
    [[nodiscard]] std::vector<std::string> members(const std::string& group) const;

private:
    struct Member {
        std::string id;
        std::optional<std::string> instance_id;
        std::string client_id;
        std::string client_host;
        std::int32_t session_timeout_ms = 0;
        std::int32_t rebalance_timeout_ms = 0;
        std::vector<std::pair<std::string, io::Bytes>> protocols;  // in preference order
        io::Bytes assignment;
        Instant session_deadline;
        bool in_generation = false;   // joined the current generation
        std::optional<ReplyTo> join;  // held until the rebalance completes
        std::optional<ReplyTo> sync;  // held until the leader's assignment
    };
    struct Group {
        std::string id;
        GroupState state = GroupState::empty;
        std::int32_t generation = 0;
        std::string protocol_type;
        std::string protocol;  // chosen in the last completed rebalance
        std::string leader;
        std::map<std::string, Member> members;           // by member id
        std::map<std::string, Instant> pending_members;  // MEMBER_ID_REQUIRED handed out
        std::optional<Instant> rebalance_deadline;
        std::map<std::pair<std::string, std::int32_t>, Committed> offsets;
        // CompletingRebalance: the leader's assignment is being made durable
        // (SyncGroups are answered once it is), and static members that
        // restarted meanwhile (old member id -> new) inherit their share.
        bool storing = false;
        std::map<std::string, std::string> renamed;
        // The new generation is being made durable; JoinGroups are answered
        // once it is, so a restarted coordinator never announces it again.
        bool storing_generation = false;
    };
    struct PendingAppend {
        std::int32_t partition = 0;
        std::optional<ReplyTo> to;  // answered once durable
        std::string group;
        enum class Kind : std::uint8_t { commit, delete_group, metadata, assignment, generation };
        Kind kind = Kind::metadata;
        std::vector<std::pair<std::pair<std::string, std::int32_t>, Committed>> offsets;
        kafka::OffsetCommitResponse commit_answer;
        std::size_t delete_index = 0;  // which DeleteGroups request answer this belongs to
        std::int32_t generation = 0;   // assignment: the generation it belongs to
    };

    Group* find(const std::string& id);
    const Group* find(const std::string& id) const;
    Group& group_for(const std::string& id);
    std::optional<std::int16_t> check_group_id(const std::string& id) const;
    std::string new_member_id(Instant now, const std::string& client_id);
    template <class Body>
    void answer(const ReplyTo& to, const Body& body) {
        replies_.push_back({to, kafka::encode_response(to.correlation_id, to.version, body)});
    }
    void answer_join(const ReplyTo& to, std::int16_t error, const std::string& member_id = {});
    Member* rejoin_static(Instant now, Group& group, const kafka::JoinGroupRequest& request,
                          const ReplyTo& to);
    void join_known(Instant now, Group& group, Member& member, const ReplyTo& to,
                    const kafka::JoinGroupRequest& request);
    void prepare_rebalance(Instant now, Group& group);
    void check_join_complete(Group& group);
    void complete_join(Group& group);
    struct MemberCheck {
        Group* group = nullptr;
        Member* member = nullptr;
        std::int16_t error = 0;
    };
    // The group and member a SyncGroup, Heartbeat or OffsetCommit names, or the error.
    MemberCheck check_member(const std::string& group_id, const std::string& member_id,
                             const std::optional<std::string>& instance_id,
                             std::int32_t generation);
    void answer_joined(const Group& group, const Member& member);
    void finish_sync(Group& group);
    void remove_member(Instant now, Group& group, const std::string& member_id);
    [[nodiscard]] bool protocols_match(const Group& group,
                                       const kafka::JoinGroupRequest& request) const;
    [[nodiscard]] std::string choose_protocol(const Group& group) const;
    static GroupMetadata metadata_of(const Group& group);
    void persist_group(const Group& group,
                       PendingAppend::Kind kind = PendingAppend::Kind::metadata);
    void on_assignment_stored(const PendingAppend& done, bool ok);
    void on_generation_stored(const PendingAppend& done, bool ok);
    std::uint64_t append(std::int32_t partition,
                         std::vector<std::pair<io::Bytes, std::optional<io::Bytes>>> records);

    GroupLimits limits_;
    Instant now_;  // of the latest request or tick: failures that restart a rebalance use it
    std::map<std::string, Group> groups_;
    std::set<std::int32_t> loaded_;
    std::vector<Reply> replies_;
    std::vector<Append> appends_;
    std::map<std::uint64_t, PendingAppend> pending_;
    std::uint64_t append_counter_ = 0;
    std::uint64_t member_counter_ = 0;
    // DeleteGroups answered once all their tombstones are durable.
    struct PendingDelete {
        ReplyTo to;
        kafka::DeleteGroupsResponse answer;
        std::size_t waiting = 0;
    };
    std::map<std::size_t, PendingDelete> deletes_;
    std::size_t delete_counter_ = 0;
};

}  // namespace samsa::group

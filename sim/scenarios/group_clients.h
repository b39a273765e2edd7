// The simulated clients of the `group` scenario: consumer-group members (and
// an admin) that speak the Kafka protocol to one simulated broker node.
//
// There are no sockets: a request is encoded with net/kafka, handed to the
// broker with World::deliver_client() after a drawn latency (in order per
// connection), and the broker's ClientReply comes back through the world's
// client sink. Every answer is decoded and shown to the checkers at the
// moment the broker emits it, paired with the request as the member sent it;
// the member hears it after another drawn latency. A crash of the broker
// kills every connection: members notice, reconnect and carry on.
//
// A member finds the coordinator, joins (JoinGroup v5, answering
// MEMBER_ID_REQUIRED), syncs (SyncGroup v3; the leader computes a range
// assignment of the topic's partitions), heartbeats (v3) on a timer, commits
// (OffsetCommit v7) increasing offsets of its partitions and reads them back
// (OffsetFetch v5). Behaviours drawn per seed: leave (LeaveGroup v3) and come
// back, crash and come back later (its session must time out), pause past its
// session timeout and resume (it must be fenced and rejoin), and for static
// members (group.instance.id) a quick restart on a new connection.
//
// Offsets: a commit's offset for a partition is drawn when the request
// reaches the broker, from one counter per partition that only grows, so
// the broker sees every partition's commits in increasing order.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/base/prng.h"
#include "net/kafka/messages.h"
#include "sim/scenarios/group_checkers.h"
#include "sim/world.h"

namespace samsa::sim::groups {

// Kafka API keys the clients use.
inline constexpr std::int16_t kCommitApi = 8;
inline constexpr std::int16_t kFetchApi = 9;
inline constexpr std::int16_t kFindApi = 10;
inline constexpr std::int16_t kJoinApi = 11;
inline constexpr std::int16_t kHeartbeatApi = 12;
inline constexpr std::int16_t kLeaveApi = 13;
inline constexpr std::int16_t kSyncApi = 14;
inline constexpr std::int16_t kDescribeApi = 15;
inline constexpr std::int16_t kCreateTopicsApi = 19;
inline constexpr std::int16_t kTopicAlreadyExists = 36;

// Deliberate bugs: each canary scenario turns one on, and a checker must catch it.
struct Canary {
    bool double_assign = false;   // 22: the leader gives partition 0 to two members
    bool accept_fenced = false;   // 23: a proxy turns fencing errors into success
    bool commit_regress = false;  // 24: members commit smaller offsets now and then
    bool never_sync = false;      // 25: member 0 joins but never sends SyncGroup
};

struct WorkloadParams {
    int members = 3;
    double static_share = 0.5;  // of members with a group.instance.id
    std::int32_t session_timeout_ms = 2000;
    Duration latency_min = Duration::microseconds(100);
    Duration latency_mean = Duration::milliseconds(1);
    Duration commit_interval_mean = Duration::milliseconds(300);
    Duration churn_interval_mean = Duration::seconds(4);  // per member; zero: no churn
    // Weights of the churn behaviours.
    double leave = 1;
    double crash = 1;
    double pause = 1;
    double restart = 1;  // a quick restart (static members: a takeover)
    Canary canary;
};

using Answer =
    std::variant<kafka::FindCoordinatorResponse, kafka::JoinGroupResponse, kafka::SyncGroupResponse,
                 kafka::HeartbeatResponse, kafka::OffsetCommitResponse, kafka::OffsetFetchResponse,
                 kafka::LeaveGroupResponse, kafka::CreateTopicsResponse,
                 kafka::DescribeGroupsResponse>;

class GroupWorkload final : public Observer {
public:
    GroupWorkload(World& world, Prng prng, WorkloadParams params, NodeId broker);
    ~GroupWorkload() override;

    void start();
    // The liveness phase: no more churn; every member that is down or paused comes back.
    void settle();
    // Asks the broker to describe the group (the answer is kept for the liveness check).
    void describe();

    void on_crash(NodeId node, Instant now) override;
    void on_restart(NodeId node, bool wiped, Instant now) override;

    [[nodiscard]] std::vector<MemberView> views() const;
    [[nodiscard]] const GroupTruth& truth() const noexcept { return truth_; }
    [[nodiscard]] const std::optional<kafka::DescribeGroupsResponse::Group>& described() const {
        return described_;
    }
    [[nodiscard]] LivenessChecker& liveness() noexcept { return liveness_; }
    [[nodiscard]] std::vector<std::pair<std::string, std::uint64_t>> stats() const;

private:
    enum class State : std::uint8_t { down, finding, joining, syncing, stable, leaving };
    struct Connection {
        ClientId id;
        std::uint64_t sequence = 0;
        Instant last_delivery;
        bool alive = false;
    };
    struct Member {
        int index = 0;
        std::string name;
        std::optional<std::string> instance;
        State state = State::down;
        std::string member_id;
        std::int32_t generation = -1;
        std::vector<std::int32_t> owned;
        std::uint64_t epoch = 0;  // this incarnation of the client process
        std::uint64_t round = 0;  // this join attempt: answers to older ones are ignored
        Connection connection;
        bool paused = false;
        std::vector<std::function<void()>> deferred;  // what happened while paused
        bool heartbeat_in_flight = false;
        bool commit_in_flight = false;
        bool never_sync = false;
    };
    struct Pending {
        int member = -1;  // -1: the admin
        ClientId client;
        std::uint64_t epoch = 0;
        std::uint64_t round = 0;
        std::int16_t api = 0;
        std::int16_t version = 0;
        Sent sent;
        Standing standing;  // the member's, when the request reached the broker
    };
    using Build = std::function<kafka::Request(Sent&)>;

    Duration latency();
    Duration jitter(Duration mean);
    // Runs `action` on the member after `after`, unless it restarted meanwhile;
    // while it is paused, actions wait for it to resume.
    void later(Member& member, Duration after, std::function<void(Member&)> action);
    void open(Connection& connection);
    void drop(Connection& connection);
    // Sends over `connection` after a latency; `build` runs when it reaches the broker.
    void send(Connection& connection, int member, std::int16_t api, std::int16_t version,
              Build build);
    void on_sink(NodeId node, io::Effect effect);
    void on_answer(const Pending& pending, const io::Bytes& frame);
    void check(const Pending& pending, Answer& answer);
    void disconnected(int member);

    // The member's life.
    void boot(Member& member);
    void go_down(Member& member, bool tell_broker);
    void find_coordinator(Member& member);
    void join(Member& member);
    void rejoin(Member& member, bool forget_id, Duration after);
    void sync(Member& member, const kafka::JoinGroupResponse& answer);
    Duration heartbeat_interval();
    void heartbeat_tick(Member& member);
    void commit_tick(Member& member);
    void fetch(Member& member);
    void leave(Member& member);
    void churn(Member& member);
    void pause(Member& member, Duration how_long);
    void handle(Member& member, const Pending& pending, const Answer& answer);
    void on_join(Member& member, const kafka::JoinGroupResponse& answer);
    void on_sync(Member& member, const kafka::SyncGroupResponse& answer);
    // What a member does about an error on a Heartbeat, OffsetCommit or SyncGroup.
    void on_member_error(Member& member, std::int16_t error);
    [[nodiscard]] std::vector<std::vector<std::int32_t>> range_assign(std::size_t members) const;

    // The admin: creates the topic, describes the group.
    void create_topic();

    World& world_;
    Prng prng_;
    WorkloadParams params_;
    NodeId broker_;
    std::vector<Member> members_;
    Connection admin_;
    bool topic_created_ = false;
    bool churning_ = true;
    std::map<std::pair<std::uint64_t, std::uint64_t>, Pending> pending_;  // (client, sequence)
    std::uint64_t next_client_ = 0;
    std::int32_t correlation_ = 0;
    std::map<std::int32_t, std::int64_t> progress_;  // partition -> the last offset handed out
    std::optional<kafka::DescribeGroupsResponse::Group> described_;

    GroupTruth truth_;
    SingleOwnerChecker owners_;
    FencingChecker fencing_;
    OffsetChecker offsets_;
    LivenessChecker liveness_;
    std::map<std::string, std::uint64_t> counts_;  // behaviours and answers, for the report
};

}  // namespace samsa::sim::groups

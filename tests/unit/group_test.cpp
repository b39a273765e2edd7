// The group coordinator on its own: requests in, encoded answers out,
// decoded with net/kafka; time advanced by hand.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/group/coordinator.h"
#include "core/group/errors.h"
#include "core/group/records.h"

namespace samsa::group {
namespace {

constexpr std::int32_t kSession = 10000;

class GroupTest : public ::testing::Test {
protected:
    GroupTest() {
        for (std::int32_t p = 0; p < GroupLimits{}.partitions; ++p) coordinator.loaded(p);
    }

    ReplyTo to(std::int16_t version) {
        return ReplyTo{ClientId(1), "client", ++sequence, static_cast<std::int32_t>(sequence),
                       version};
    }

    // The answer to request `sequence`, decoded, or nullopt if not answered (yet).
    template <class Body>
    std::optional<Body> answer_to(std::uint64_t wanted) {
        if (auto_store) store_group_metadata();
        for (auto& reply : coordinator.take_replies()) answers[reply.to.sequence] = reply;
        const auto found = answers.find(wanted);
        if (found == answers.end()) return std::nullopt;
        kafka::Reader reader(found->second.frame);
        reader.read_int32();
        auto body = Body::decode(found->second.to.version, reader);
        EXPECT_TRUE(body.ok());
        return body.ok() ? std::optional<Body>(std::move(body).value()) : std::nullopt;
    }

    static kafka::JoinGroupRequest join_request(const std::string& member,
                                                const std::string& protocol = "range",
                                                std::optional<std::string> instance = {}) {
        kafka::JoinGroupRequest request;
        request.group_id = "g";
        request.session_timeout_ms = kSession;
        request.rebalance_timeout_ms = 5000;
        request.member_id = member;
        request.group_instance_id = std::move(instance);
        request.protocol_type = "consumer";
        request.protocols.push_back({protocol, io::Bytes{1, 2, 3}});
        return request;
    }

    // Joins at v5 (MEMBER_ID_REQUIRED first); returns the request's sequence.
    std::uint64_t join(const std::string& member, std::int16_t version = 5,
                       std::optional<std::string> instance = {}) {
        const ReplyTo where = to(version);
        coordinator.join(now, where, join_request(member, "range", std::move(instance)));
        return where.sequence;
    }

    std::string new_member() {
        const auto first = answer_to<kafka::JoinGroupResponse>(join(""));
        EXPECT_TRUE(first.has_value());
        EXPECT_EQ(first->error_code, kMemberIdRequired);
        return first->member_id;
    }

    std::uint64_t sync(const std::string& member, std::int32_t generation,
                       std::vector<std::pair<std::string, io::Bytes>> assignments = {}) {
        kafka::SyncGroupRequest request;
        request.group_id = "g";
        request.generation_id = generation;
        request.member_id = member;
        request.group_instance_id = std::nullopt;
        for (auto& [id, bytes] : assignments) request.assignments.push_back({id, bytes});
        const ReplyTo where = to(3);
        coordinator.sync(now, where, request);
        store_appends();  // a leader's assignment is answered once durable
        return where.sequence;
    }

    // Reports the appends of group metadata (generations, assignments) as
    // durable; commits and deletions are left to the test.
    void store_group_metadata() {
        for (auto& append : coordinator.take_appends()) {
            const bool metadata =
                std::all_of(append.records.begin(), append.records.end(), [](const auto& record) {
                    const auto key = parse_key(record.first);
                    return key && !key->partition && record.second.has_value();
                });
            if (metadata) {
                coordinator.on_appended(append.id, true);
                written.push_back(std::move(append));
            } else {
                held.push_back(std::move(append));
            }
        }
    }

    // Reports every append asked for so far as durable (or failed), keeping the records.
    void store_appends(bool ok = true) {
        auto appends = coordinator.take_appends();
        appends.insert(appends.begin(), held.begin(), held.end());
        held.clear();
        for (auto& append : appends) {
            coordinator.on_appended(append.id, ok);
            if (ok) written.push_back(std::move(append));
        }
    }

    std::int16_t heartbeat(const std::string& member, std::int32_t generation) {
        kafka::HeartbeatRequest request{"g", generation, member, std::nullopt};
        const ReplyTo where = to(3);
        coordinator.heartbeat(now, where, request);
        return answer_to<kafka::HeartbeatResponse>(where.sequence)->error_code;
    }

    void advance(Duration by) {
        now = now + by;
        coordinator.tick(now);
    }

    Coordinator coordinator;
    Instant now = Instant::zero() + Duration::seconds(100);
    std::uint64_t sequence = 0;
    std::map<std::uint64_t, Reply> answers;
    std::vector<Append> written;
    std::vector<Append> held;  // appends not reported yet
    bool auto_store = true;
};

TEST_F(GroupTest, TwoMembersRebalanceAndTheLeadersAssignmentReachesBoth) {
    const std::string a = new_member();
    const auto a_join = answer_to<kafka::JoinGroupResponse>(join(a));
    ASSERT_TRUE(a_join.has_value());  // alone: the rebalance completes at once
    EXPECT_EQ(a_join->generation_id, 1);
    EXPECT_EQ(a_join->leader, a);
    EXPECT_EQ(answer_to<kafka::SyncGroupResponse>(sync(a, 1, {{a, {9}}}))->assignment,
              io::Bytes{9});
    EXPECT_EQ(coordinator.state("g"), GroupState::stable);

    const std::string b = new_member();
    const auto b_join = join(b);
    EXPECT_FALSE(answer_to<kafka::JoinGroupResponse>(b_join).has_value());  // waits for a
    EXPECT_EQ(heartbeat(a, 1), kRebalanceInProgress);
    const auto a_rejoin = join(a);
    const auto a_answer = answer_to<kafka::JoinGroupResponse>(a_rejoin);
    const auto b_answer = answer_to<kafka::JoinGroupResponse>(b_join);
    ASSERT_TRUE(a_answer && b_answer);
    EXPECT_EQ(a_answer->generation_id, 2);
    EXPECT_EQ(a_answer->members.size(), 2U);  // the leader sees every subscription
    EXPECT_TRUE(b_answer->members.empty());
    EXPECT_EQ(b_answer->protocol_name, "range");
    // The follower's SyncGroup waits; its own assignments are ignored.
    const auto b_sync = sync(b, 2, {{a, {66}}, {b, {66}}});
    EXPECT_FALSE(answer_to<kafka::SyncGroupResponse>(b_sync).has_value());
    const auto a_sync = sync(a, 2, {{a, {1}}, {b, {2}}});
    EXPECT_EQ(answer_to<kafka::SyncGroupResponse>(a_sync)->assignment, io::Bytes{1});
    EXPECT_EQ(answer_to<kafka::SyncGroupResponse>(b_sync)->assignment, io::Bytes{2});
    EXPECT_EQ(heartbeat(b, 2), 0);
    EXPECT_EQ(heartbeat(b, 1), kIllegalGeneration);
    EXPECT_EQ(heartbeat("stranger", 2), kUnknownMemberId);
}

TEST_F(GroupTest, AMemberThatStopsHeartbeatingIsRemoved) {
    const std::string a = new_member();
    answer_to<kafka::JoinGroupResponse>(join(a));
    sync(a, 1, {{a, {1}}});
    const std::string b = new_member();
    const auto b_join = join(b);
    answer_to<kafka::JoinGroupResponse>(join(a));
    answer_to<kafka::JoinGroupResponse>(b_join);
    sync(a, 2, {{a, {1}}, {b, {2}}});
    sync(b, 2);
    ASSERT_EQ(coordinator.state("g"), GroupState::stable);
    for (int i = 0; i < 6; ++i) {  // a keeps its session, b does not
        advance(Duration::seconds(2));
        EXPECT_EQ(heartbeat(a, 2), i < 4 ? 0 : kRebalanceInProgress) << i;
    }
    EXPECT_EQ(coordinator.members("g"), std::vector<std::string>{a});
    const auto rejoined = answer_to<kafka::JoinGroupResponse>(join(a));
    ASSERT_TRUE(rejoined.has_value());
    EXPECT_EQ(rejoined->generation_id, 3);
    EXPECT_EQ(rejoined->members.size(), 1U);
}

TEST_F(GroupTest, ARebalanceEndsAtItsTimeoutWithoutTheStragglers) {
    const std::string a = new_member();
    answer_to<kafka::JoinGroupResponse>(join(a));
    sync(a, 1, {});
    const std::string b = new_member();
    const auto b_join = join(b);  // a never rejoins
    ASSERT_TRUE(coordinator.next_deadline().has_value());
    advance(Duration::seconds(4));
    EXPECT_FALSE(answer_to<kafka::JoinGroupResponse>(b_join).has_value());
    advance(Duration::seconds(2));  // past the 5 s rebalance timeout
    const auto answer = answer_to<kafka::JoinGroupResponse>(b_join);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->leader, b);
    EXPECT_EQ(coordinator.members("g"), std::vector<std::string>{b});
}

TEST_F(GroupTest, AStaticMemberRestartingTakesItsPlaceWithoutARebalance) {
    const std::string leader = new_member();
    answer_to<kafka::JoinGroupResponse>(join(leader));
    sync(leader, 1, {});
    const auto first_join = join("", 5, "host-1");  // static: no MEMBER_ID_REQUIRED round
    answer_to<kafka::JoinGroupResponse>(join(leader));
    const auto first = answer_to<kafka::JoinGroupResponse>(first_join);
    ASSERT_TRUE(first.has_value());
    ASSERT_EQ(first->error_code, 0);
    const std::string old_id = first->member_id;
    sync(leader, 2, {{old_id, {7}}, {leader, {8}}});
    sync(old_id, 2);
    ASSERT_EQ(coordinator.state("g"), GroupState::stable);
    // The follower restarts with the same instance id and no member id.
    const auto restarted = answer_to<kafka::JoinGroupResponse>(join("", 5, "host-1"));
    ASSERT_TRUE(restarted.has_value());
    EXPECT_EQ(restarted->generation_id, 2);  // still generation 2: no rebalance
    EXPECT_NE(restarted->member_id, old_id);
    EXPECT_EQ(coordinator.state("g"), GroupState::stable);
    EXPECT_EQ(answer_to<kafka::SyncGroupResponse>(sync(restarted->member_id, 2))->assignment,
              io::Bytes{7});
    // The old id is fenced.
    kafka::HeartbeatRequest stale{"g", 2, old_id, std::string("host-1")};
    const ReplyTo where = to(3);
    coordinator.heartbeat(now, where, stale);
    EXPECT_EQ(answer_to<kafka::HeartbeatResponse>(where.sequence)->error_code, kFencedInstanceId);
}

TEST_F(GroupTest, BadJoinsGetKafkasErrors) {
    auto request = join_request("");
    request.group_id = "";
    coordinator.join(now, to(5), request);
    request.group_id = std::string(300, 'g');
    coordinator.join(now, to(5), request);
    request = join_request("");
    request.session_timeout_ms = 1;
    coordinator.join(now, to(5), request);
    request = join_request("nobody");
    coordinator.join(now, to(5), request);
    request = join_request("");
    request.protocols.front().metadata = io::Bytes(GroupLimits{}.member_metadata_bytes_max + 1);
    coordinator.join(now, to(5), request);
    const std::vector<std::int16_t> want = {kInvalidGroupId, kInvalidGroupId,
                                            kInvalidSessionTimeout, kUnknownMemberId,
                                            kInvalidRequest};
    for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(answer_to<kafka::JoinGroupResponse>(sequence - want.size() + 1 + i)->error_code,
                  want[i])
            << i;
    }
    // A member offering only protocols the group does not share.
    const std::string a = new_member();
    answer_to<kafka::JoinGroupResponse>(join(a));
    const ReplyTo where = to(5);
    coordinator.join(now, where, join_request("", "roundrobin"));
    EXPECT_EQ(answer_to<kafka::JoinGroupResponse>(where.sequence)->error_code,
              kInconsistentGroupProtocol);
}

kafka::OffsetCommitRequest commit_request(const std::string& member, std::int32_t generation,
                                          std::int64_t offset) {
    kafka::OffsetCommitRequest request;
    request.group_id = "g";
    request.generation_id = generation;
    request.member_id = member;
    request.group_instance_id = std::nullopt;
    auto& topic = request.topics.emplace_back();
    topic.name = "t";
    topic.partitions.push_back({0, offset, -1, std::string("m")});
    return request;
}

TEST_F(GroupTest, OffsetsAreAnsweredOnceDurableAndReplayedAfterARestart) {
    const std::string a = new_member();
    answer_to<kafka::JoinGroupResponse>(join(a));
    sync(a, 1, {});
    ReplyTo where = to(7);
    coordinator.commit(now, where, commit_request(a, 1, 42));
    EXPECT_FALSE(answer_to<kafka::OffsetCommitResponse>(where.sequence).has_value());
    store_group_metadata();
    auto appends = std::move(held);
    held.clear();
    ASSERT_EQ(appends.size(), 1U);  // the offsets
    EXPECT_EQ(appends[0].partition, coordinator.partition_of("g"));
    coordinator.on_appended(appends[0].id, true);
    written.push_back(appends[0]);
    EXPECT_EQ(answer_to<kafka::OffsetCommitResponse>(where.sequence)
                  ->topics.at(0)
                  .partitions.at(0)
                  .error_code,
              0);
    EXPECT_EQ(coordinator.committed("g", "t", 0)->offset, 42);
    // A failed append: a retriable error, and the offset unchanged.
    where = to(7);
    coordinator.commit(now, where, commit_request(a, 1, 50));
    store_group_metadata();
    ASSERT_EQ(held.size(), 1U);
    coordinator.on_appended(held.at(0).id, false);
    held.clear();
    EXPECT_EQ(answer_to<kafka::OffsetCommitResponse>(where.sequence)
                  ->topics.at(0)
                  .partitions.at(0)
                  .error_code,
              kCoordinatorNotAvailable);
    EXPECT_EQ(coordinator.committed("g", "t", 0)->offset, 42);
    // Stale generations and unknown members are refused.
    where = to(7);
    coordinator.commit(now, where, commit_request(a, 0, 60));
    EXPECT_EQ(answer_to<kafka::OffsetCommitResponse>(where.sequence)
                  ->topics.at(0)
                  .partitions.at(0)
                  .error_code,
              kIllegalGeneration);

    // A restarted coordinator replays the records.
    Coordinator again;
    for (const auto& append : written) {
        for (const auto& [key, value] : append.records) {
            again.load(append.partition, key,
                       value ? std::optional<std::span<const std::uint8_t>>(*value) : std::nullopt);
        }
    }
    EXPECT_FALSE(again.is_loaded(coordinator.partition_of("g")));
    for (std::int32_t p = 0; p < GroupLimits{}.partitions; ++p) again.loaded(p);
    EXPECT_EQ(again.committed("g", "t", 0)->offset, 42);
    EXPECT_EQ(again.committed("g", "t", 0)->metadata, "m");
    EXPECT_EQ(again.generation("g"), 1);
    EXPECT_EQ(again.state("g"), GroupState::empty);  // members rejoin
    EXPECT_TRUE(again.members("g").empty());
}

TEST_F(GroupTest, SyncGroupIsAnsweredOnlyOnceTheAssignmentIsDurable) {
    const std::string a = new_member();
    answer_to<kafka::JoinGroupResponse>(join(a));
    kafka::SyncGroupRequest request;
    request.group_id = "g";
    request.generation_id = 1;
    request.member_id = a;
    request.group_instance_id = std::nullopt;
    request.assignments.push_back({a, io::Bytes{5}});
    auto_store = false;
    ReplyTo where = to(3);
    coordinator.sync(now, where, request);
    EXPECT_FALSE(answer_to<kafka::SyncGroupResponse>(where.sequence).has_value());
    EXPECT_EQ(coordinator.state("g"), GroupState::completing_rebalance);
    store_appends(false);  // the disk failed: an error, and everyone joins again
    EXPECT_EQ(answer_to<kafka::SyncGroupResponse>(where.sequence)->error_code,
              kCoordinatorNotAvailable);
    EXPECT_EQ(coordinator.state("g"), GroupState::preparing_rebalance);
    auto_store = true;
    const auto again = answer_to<kafka::JoinGroupResponse>(join(a));
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->generation_id, 2);
    EXPECT_EQ(answer_to<kafka::SyncGroupResponse>(sync(a, 2, {{a, {6}}}))->assignment,
              io::Bytes{6});
    EXPECT_EQ(coordinator.state("g"), GroupState::stable);
}

TEST_F(GroupTest, MembersMayCommitWhileTheyRejoinButNotBeforeTheirAssignment) {
    const std::string a = new_member();
    answer_to<kafka::JoinGroupResponse>(join(a));
    sync(a, 1, {});
    const std::string b = new_member();
    const auto b_join = join(b);  // PreparingRebalance: a has not rejoined yet
    ReplyTo where = to(7);
    coordinator.commit(now, where, commit_request(a, 1, 10));
    store_appends();
    EXPECT_EQ(answer_to<kafka::OffsetCommitResponse>(where.sequence)
                  ->topics.at(0)
                  .partitions.at(0)
                  .error_code,
              0);
    answer_to<kafka::JoinGroupResponse>(join(a));
    answer_to<kafka::JoinGroupResponse>(b_join);  // CompletingRebalance at generation 2
    where = to(7);
    coordinator.commit(now, where, commit_request(a, 2, 11));
    EXPECT_EQ(answer_to<kafka::OffsetCommitResponse>(where.sequence)
                  ->topics.at(0)
                  .partitions.at(0)
                  .error_code,
              kRebalanceInProgress);
    EXPECT_EQ(coordinator.committed("g", "t", 0)->offset, 10);
}

TEST_F(GroupTest, RequestsWaitForTheirPartitionToLoad) {
    Coordinator cold;
    kafka::HeartbeatRequest request{"g", 1, "m", std::nullopt};
    cold.heartbeat(now, to(3), request);
    auto replies = cold.take_replies();
    ASSERT_EQ(replies.size(), 1U);
    kafka::Reader reader(replies[0].frame);
    reader.read_int32();
    EXPECT_EQ(kafka::HeartbeatResponse::decode(3, reader).value().error_code,
              kCoordinatorLoadInProgress);
}

TEST_F(GroupTest, OnlyEmptyGroupsCanBeDeleted) {
    const std::string a = new_member();
    answer_to<kafka::JoinGroupResponse>(join(a));
    kafka::DeleteGroupsRequest request;
    request.groups_names = {"g", "nope"};
    ReplyTo where = to(1);
    coordinator.remove(now, where, request);
    auto answer = answer_to<kafka::DeleteGroupsResponse>(where.sequence);
    EXPECT_EQ(answer->results.at(0).error_code, kNonEmptyGroup);
    EXPECT_EQ(answer->results.at(1).error_code, kGroupIdNotFound);
    kafka::LeaveGroupRequest leave;
    leave.group_id = "g";
    leave.member_id = a;
    where = to(1);
    coordinator.leave(now, where, leave);
    EXPECT_EQ(answer_to<kafka::LeaveGroupResponse>(where.sequence)->error_code, 0);
    EXPECT_EQ(coordinator.state("g"), GroupState::empty);
    store_appends();  // the group's metadata, now Empty
    request.groups_names = {"g"};
    where = to(1);
    coordinator.remove(now, where, request);
    EXPECT_FALSE(answer_to<kafka::DeleteGroupsResponse>(where.sequence).has_value());
    store_appends();
    EXPECT_EQ(answer_to<kafka::DeleteGroupsResponse>(where.sequence)->results.at(0).error_code, 0);
    EXPECT_FALSE(coordinator.state("g").has_value());
}

TEST(GroupRecords, KafkasPartitionOfAGroupAndRecordLayoutsRoundTrip) {
    // Java: "my-group".hashCode() == -1906497762, and 1906497762 % 50 == 12.
    EXPECT_EQ(java_string_hash_partition("my-group", 50), 12);
    EXPECT_EQ(java_string_hash_partition("", 8), 0);
    const auto key = parse_key(offset_key("g", "t", 3));
    ASSERT_TRUE(key.has_value());
    EXPECT_EQ(key->group, "g");
    EXPECT_EQ(key->topic, "t");
    EXPECT_EQ(key->partition, 3);
    const auto value = parse_offset_value(offset_value({77, 5, std::string("x")}, 1234));
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(value->offset, 77);
    EXPECT_EQ(value->leader_epoch, 5);
    EXPECT_EQ(value->metadata, "x");
    const MemberMetadata member{"m-1", std::string("host-a"), "c", "h", 300, 200, {1, 2}, {3}};
    const auto group = parse_group_value(group_value({"consumer", 9, "range", "m-1", {member}}));
    ASSERT_TRUE(group.has_value());
    EXPECT_EQ(group->generation, 9);
    ASSERT_EQ(group->members.size(), 1U);
    EXPECT_EQ(group->members[0].instance_id, "host-a");
    EXPECT_EQ(group->members[0].session_timeout_ms, 200);
    EXPECT_EQ(group->members[0].subscription, (io::Bytes{1, 2}));
    EXPECT_EQ(group->members[0].assignment, io::Bytes{3});
    EXPECT_EQ(group->protocol, "range");
    EXPECT_FALSE(parse_key(io::Bytes{0, 9, 0, 0}).has_value());
}

}  // namespace
}  // namespace samsa::group

// The checkers of the `group` scenario: invariants 22-25 of the simulator's
// list (consumer groups), fed online with every answer the broker emits to a
// simulated member, paired with the request as the member sent it.
//
// - SingleOwnerChecker (22): within a generation no partition is assigned to
//   two members (from the SyncGroup answers), and the generations JoinGroup
//   answers announce never go backwards.
// - FencingChecker (23): a Heartbeat, OffsetCommit or SyncGroup carrying a
//   stale generation, or the id of a member that is unknown in its generation
//   or has left or been fenced, is never answered with success.
// - OffsetChecker (24): per (group, partition), acknowledged commits never go
//   backwards, and no OffsetFetch answer shows less than the last acknowledged
//   commit - across broker restarts too.
// - LivenessChecker (25): at the end of the liveness phase every partition is
//   owned by exactly one live member, all in the group's latest generation,
//   and the broker describes the group as Stable with exactly those members.
//
// A restart on a wiped disk legitimately forgets the group: the checkers
// start over then (the single broker is its only replica).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/io/seam.h"
#include "net/kafka/messages.h"

namespace samsa::sim::groups {

inline const std::string kTopic = "orders";
inline const std::string kGroup = "orders-readers";
inline constexpr std::int32_t kPartitions = 6;

// ConsumerProtocol: a Subscription to kTopic, and an Assignment of partitions
// of kTopic (empty bytes: nothing assigned).
io::Bytes encode_subscription();
io::Bytes encode_assignment(const std::vector<std::int32_t>& partitions);
std::optional<std::vector<std::int32_t>> decode_assignment(const io::Bytes& bytes);

// A request as the member sent it (what the checkers judge an answer by).
struct Sent {
    std::int16_t api = 0;
    std::string member;
    std::optional<std::string> instance;
    std::int32_t generation = -1;
    std::vector<std::pair<std::int32_t, std::int64_t>> offsets;  // OffsetCommit
};

using Fail = std::function<void(std::string)>;

// What JoinGroup and LeaveGroup answers taught about the group: its latest
// generation, who joined each generation, who has left or was fenced.
// Where a member stood at some moment, by what the answers had taught.
struct Standing {
    std::int32_t generation = -1;  // the group's latest generation
    bool joined = false;           // the member joined the generation it names
    bool departed = false;         // the member had left or was fenced
};

struct GroupTruth {
    std::int32_t generation = -1;
    std::map<std::int32_t, std::set<std::string>> members;  // by generation
    std::set<std::string> departed;
    std::map<std::string, std::string> instances;  // static instance id -> its member id
    // A static member's restart took the place of a member id: old -> new.
    std::map<std::string, std::string> successors;
    // True if `later` took the place of `earlier` through static restarts.
    [[nodiscard]] bool succeeded(std::string earlier, const std::string& later) const;
    [[nodiscard]] Standing standing(const Sent& sent) const;
    void learn_join(const Sent& sent, const kafka::JoinGroupResponse& answer);
    void learn_leave(const kafka::LeaveGroupResponse& answer);
};

class SingleOwnerChecker {
public:
    explicit SingleOwnerChecker(Fail fail) : fail_(std::move(fail)) {}
    // Before the truth learns of it.
    void on_join(const GroupTruth& truth, const kafka::JoinGroupResponse& answer);
    // A static member that took another's place inherits its partitions.
    void on_sync(const GroupTruth& truth, const Sent& sent, const kafka::SyncGroupResponse& answer);
    void reset() { owners_.clear(); }
    [[nodiscard]] std::uint64_t assignments() const noexcept { return assignments_; }

private:
    Fail fail_;
    std::map<std::int32_t, std::map<std::int32_t, std::string>> owners_;  // gen -> partition -> id
    std::uint64_t assignments_ = 0;
};

class FencingChecker {
public:
    explicit FencingChecker(Fail fail) : fail_(std::move(fail)) {}
    // `what` names the API; called for every answer that reports success.
    // `standing` is taken when the broker validated the request: on its
    // arrival for OffsetCommit (answered only once durable), at the answer
    // for the others (a held SyncGroup is validated again when answered).
    void on_success(const char* what, const Standing& standing, const Sent& sent);
    // A Heartbeat/OffsetCommit/SyncGroup refused for its generation or member.
    void on_fenced() { ++fenced_; }
    [[nodiscard]] std::uint64_t fenced() const noexcept { return fenced_; }

private:
    Fail fail_;
    std::uint64_t fenced_ = 0;
};

class OffsetChecker {
public:
    explicit OffsetChecker(Fail fail) : fail_(std::move(fail)) {}
    void on_commit(const Sent& sent, const kafka::OffsetCommitResponse& answer);
    void on_fetch(const kafka::OffsetFetchResponse& answer);
    void reset() { acked_.clear(); }
    [[nodiscard]] std::uint64_t commits() const noexcept { return commits_; }
    [[nodiscard]] std::uint64_t fetches_checked() const noexcept { return fetches_; }

private:
    Fail fail_;
    std::map<std::int32_t, std::int64_t> acked_;  // partition -> highest acknowledged commit
    std::uint64_t commits_ = 0;
    std::uint64_t fetches_ = 0;
};

// One live member as it sees itself at the end of the liveness phase.
struct MemberView {
    std::string name;
    bool stable = false;  // joined and synced, not rejoining
    std::string member_id;
    std::int32_t generation = -1;
    std::vector<std::int32_t> owned;
};

class LivenessChecker {
public:
    explicit LivenessChecker(Fail fail) : fail_(std::move(fail)) {}
    // `described`: the broker's latest DescribeGroups answer for the group, if any.
    void check(const GroupTruth& truth, const std::vector<MemberView>& members,
               const std::optional<kafka::DescribeGroupsResponse::Group>& described,
               const std::string& bound);

private:
    Fail fail_;
};

}  // namespace samsa::sim::groups

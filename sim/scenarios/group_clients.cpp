#include "sim/scenarios/group_clients.h"

#include <algorithm>

#include "core/group/errors.h"
#include "net/kafka/api.h"

namespace samsa::sim::groups {

namespace {

// Errors that say "your generation or member id is no good".
bool fencing_error(std::int16_t error) {
    return error == group::kIllegalGeneration || error == group::kUnknownMemberId ||
           error == group::kFencedInstanceId;
}

template <class Body>
std::optional<Answer> decode(const io::Bytes& frame, std::int16_t version) {
    kafka::Reader reader(frame);
    reader.read_int32();  // the correlation id
    auto body = Body::decode(version, reader);
    if (!body.ok() || !reader.ok()) return std::nullopt;
    return Answer{std::move(body).value()};
}

std::optional<Answer> decode_answer(std::int16_t api, std::int16_t version,
                                    const io::Bytes& frame) {
    switch (api) {
        case kFindApi: return decode<kafka::FindCoordinatorResponse>(frame, version);
        case kJoinApi: return decode<kafka::JoinGroupResponse>(frame, version);
        case kSyncApi: return decode<kafka::SyncGroupResponse>(frame, version);
        case kHeartbeatApi: return decode<kafka::HeartbeatResponse>(frame, version);
        case kCommitApi: return decode<kafka::OffsetCommitResponse>(frame, version);
        case kFetchApi: return decode<kafka::OffsetFetchResponse>(frame, version);
        case kLeaveApi: return decode<kafka::LeaveGroupResponse>(frame, version);
        case kCreateTopicsApi: return decode<kafka::CreateTopicsResponse>(frame, version);
        case kDescribeApi: return decode<kafka::DescribeGroupsResponse>(frame, version);
        default: return std::nullopt;
    }
}

}  // namespace

GroupWorkload::GroupWorkload(World& world, Prng prng, WorkloadParams params, NodeId broker)
    : world_(world),
      prng_(prng),
      params_(params),
      broker_(broker),
      owners_([&world](std::string m) { world.fail(std::move(m)); }),
      fencing_([&world](std::string m) { world.fail(std::move(m)); }),
      offsets_([&world](std::string m) { world.fail(std::move(m)); }),
      liveness_([&world](std::string m) { world.fail(std::move(m)); }) {
    members_.resize(static_cast<std::size_t>(params_.members));
    for (int i = 0; i < params_.members; ++i) {
        Member& member = members_[static_cast<std::size_t>(i)];
        member.index = i;
        member.name = "member-" + std::to_string(i);
        if (prng_.chance(params_.static_share)) member.instance = "instance-" + std::to_string(i);
        member.never_sync = params_.canary.never_sync && i == 0;
    }
    world_.set_client_sink(
        [this](NodeId node, io::Effect effect) { on_sink(node, std::move(effect)); });
    world_.add_observer(*this);
}

GroupWorkload::~GroupWorkload() {
    world_.set_client_sink({});
}

Duration GroupWorkload::jitter(Duration mean) {
    return Duration::nanoseconds(
        1 + static_cast<std::int64_t>(prng_.exponential(static_cast<double>(mean.count_ns()))));
}

Duration GroupWorkload::latency() {
    return params_.latency_min + jitter(params_.latency_mean);
}

void GroupWorkload::start() {
    create_topic();
    for (auto& member : members_) {
        const int index = member.index;
        world_.schedule(world_.now() + jitter(Duration::milliseconds(300)), "group member boot",
                        [this, index] { boot(members_[static_cast<std::size_t>(index)]); });
    }
}

void GroupWorkload::settle() {
    churning_ = false;
    for (auto& member : members_) {
        if (member.paused) {
            member.paused = false;
            auto deferred = std::exchange(member.deferred, {});
            for (auto& action : deferred) action();
        }
        if (member.state == State::down) boot(member);
    }
}

void GroupWorkload::later(Member& member, Duration after, std::function<void(Member&)> action) {
    const int index = member.index;
    const std::uint64_t epoch = member.epoch;
    world_.schedule(world_.now() + after, "group member", [this, index, epoch, action] {
        Member& m = members_[static_cast<std::size_t>(index)];
        if (m.epoch != epoch) return;
        if (!m.paused) return action(m);
        m.deferred.push_back([this, index, epoch, action] {
            Member& again = members_[static_cast<std::size_t>(index)];
            if (again.epoch == epoch) action(again);
        });
    });
}

void GroupWorkload::open(Connection& connection) {
    connection.id = ClientId(++next_client_);
    connection.sequence = 0;
    connection.last_delivery = world_.now();
    connection.alive = true;
}

void GroupWorkload::drop(Connection& connection) {
    connection.alive = false;
}

void GroupWorkload::send(Connection& connection, int member, std::int16_t api, std::int16_t version,
                         Build build) {
    if (!connection.alive) return;
    const Instant at = std::max(world_.now() + latency(), connection.last_delivery);
    connection.last_delivery = at;
    const ClientId client = connection.id;
    Pending pending;
    pending.member = member;
    pending.client = client;
    pending.api = api;
    pending.version = version;
    if (member >= 0) {
        pending.epoch = members_[static_cast<std::size_t>(member)].epoch;
        pending.round = members_[static_cast<std::size_t>(member)].round;
    }
    world_.schedule(at, "group client request", [this, pending, build]() mutable {
        Connection& conn = pending.member >= 0
                               ? members_[static_cast<std::size_t>(pending.member)].connection
                               : admin_;
        if (!conn.alive || conn.id != pending.client) return;
        pending.sent.api = pending.api;
        const kafka::Request body = build(pending.sent);
        const std::string name =
            pending.member >= 0 ? members_[static_cast<std::size_t>(pending.member)].name : "admin";
        io::Bytes frame =
            kafka::encode_request_frame({pending.api, pending.version, ++correlation_, name}, body);
        frame.erase(frame.begin(), frame.begin() + 4);  // the listener strips the size
        const std::uint64_t sequence = conn.sequence++;
        const std::pair key{pending.client.value(), sequence};
        pending.standing = truth_.standing(pending.sent);
        pending_[key] = pending;
        if (world_.deliver_client(broker_,
                                  io::ClientRequest{pending.client, sequence, std::move(frame)})) {
            return;
        }
        pending_.erase(key);  // the broker is down: the connection is refused
        if (pending.member >= 0) return disconnected(pending.member);
        drop(admin_);
        world_.schedule(world_.now() + Duration::milliseconds(200), "group admin retry",
                        [this] { create_topic(); });
    });
}

void GroupWorkload::on_sink(NodeId, io::Effect effect) {
    if (auto* reply = std::get_if<io::ClientReply>(&effect)) {
        const auto found = pending_.find({reply->client.value(), reply->sequence});
        if (found == pending_.end()) return;
        const Pending pending = std::move(found->second);
        pending_.erase(found);
        if (reply->frame) on_answer(pending, *reply->frame);
        return;
    }
    const auto* close = std::get_if<io::ClientClose>(&effect);
    if (close == nullptr) return;
    ++counts_["closed_by_broker"];
    for (auto& member : members_) {
        if (member.connection.alive && member.connection.id == close->client) {
            disconnected(member.index);
        }
    }
    if (admin_.alive && admin_.id == close->client) drop(admin_);
}

void GroupWorkload::on_answer(const Pending& pending, const io::Bytes& frame) {
    auto answer = decode_answer(pending.api, pending.version, frame);
    if (!answer) {
        world_.fail("group: the broker's answer to API " + std::to_string(pending.api) + " v" +
                    std::to_string(pending.version) + " does not decode");
        return;
    }
    check(pending, *answer);
    if (pending.member < 0) {
        if (std::holds_alternative<kafka::CreateTopicsResponse>(*answer) && !topic_created_) {
            world_.schedule(world_.now() + Duration::milliseconds(200), "group admin retry",
                            [this] { create_topic(); });
        }
        return;
    }
    Member& member = members_[static_cast<std::size_t>(pending.member)];
    if (member.epoch != pending.epoch) return;
    later(member, latency(), [this, pending, answer = std::move(*answer)](Member& m) {
        // An answer on a connection the member has given up is never read.
        if (m.connection.alive && m.connection.id == pending.client) handle(m, pending, answer);
    });
}

void GroupWorkload::check(const Pending& pending, Answer& answer) {
    const Sent& sent = pending.sent;
    const bool proxy = params_.canary.accept_fenced;  // the canary: fencing errors become success
    if (auto* join = std::get_if<kafka::JoinGroupResponse>(&answer)) {
        if (join->error_code != 0) return;
        owners_.on_join(truth_, *join);
        truth_.learn_join(sent, *join);
    } else if (auto* sync = std::get_if<kafka::SyncGroupResponse>(&answer)) {
        if (proxy && fencing_error(sync->error_code)) sync->error_code = 0;
        if (fencing_error(sync->error_code)) fencing_.on_fenced();
        if (sync->error_code != 0) return;
        fencing_.on_success("SyncGroup", truth_.standing(sent), sent);
        owners_.on_sync(truth_, sent, *sync);
    } else if (auto* beat = std::get_if<kafka::HeartbeatResponse>(&answer)) {
        if (proxy && fencing_error(beat->error_code)) beat->error_code = 0;
        if (fencing_error(beat->error_code)) fencing_.on_fenced();
        if (beat->error_code == 0) fencing_.on_success("Heartbeat", truth_.standing(sent), sent);
    } else if (auto* commit = std::get_if<kafka::OffsetCommitResponse>(&answer)) {
        bool success = false;
        for (auto& topic : commit->topics) {
            for (auto& part : topic.partitions) {
                if (proxy && fencing_error(part.error_code)) part.error_code = 0;
                if (fencing_error(part.error_code)) fencing_.on_fenced();
                success = success || part.error_code == 0;
            }
        }
        if (success) fencing_.on_success("OffsetCommit", pending.standing, sent);
        offsets_.on_commit(sent, *commit);
    } else if (const auto* fetched = std::get_if<kafka::OffsetFetchResponse>(&answer)) {
        offsets_.on_fetch(*fetched);
    } else if (const auto* left = std::get_if<kafka::LeaveGroupResponse>(&answer)) {
        truth_.learn_leave(*left);
    } else if (const auto* created = std::get_if<kafka::CreateTopicsResponse>(&answer)) {
        const auto error = created->topics.empty() ? -1 : created->topics[0].error_code;
        if (error == 0 || error == kTopicAlreadyExists) topic_created_ = true;
    } else if (const auto* described = std::get_if<kafka::DescribeGroupsResponse>(&answer)) {
        if (!described->groups.empty() && described->groups[0].group_id == kGroup) {
            described_ = described->groups[0];
        }
    }
}

void GroupWorkload::disconnected(int index) {
    Member& member = members_[static_cast<std::size_t>(index)];
    if (member.state == State::down) return;
    drop(member.connection);
    member.heartbeat_in_flight = false;
    member.commit_in_flight = false;
    ++counts_["disconnects"];
    if (member.state == State::leaving) {
        go_down(member, false);
        const std::uint64_t epoch = member.epoch;
        world_.schedule(world_.now() + jitter(Duration::milliseconds(500)), "group member boot",
                        [this, index, epoch] {
                            Member& m = members_[static_cast<std::size_t>(index)];
                            if (m.epoch == epoch && m.state == State::down) boot(m);
                        });
        return;
    }
    later(member, Duration::milliseconds(20) + jitter(Duration::milliseconds(100)),
          [this](Member& m) {
              if (m.connection.alive) return;
              open(m.connection);
              find_coordinator(m);
          });
}

void GroupWorkload::on_crash(NodeId node, Instant) {
    if (node != broker_) return;
    pending_.clear();  // no answer will come
    for (auto& member : members_) {
        if (member.connection.alive) disconnected(member.index);
    }
    if (admin_.alive) drop(admin_);
}

void GroupWorkload::on_restart(NodeId node, bool wiped, Instant) {
    if (node != broker_ || !wiped) return;
    // A single broker on an empty disk has forgotten the group: start over.
    truth_ = GroupTruth{};
    owners_.reset();
    offsets_.reset();
    topic_created_ = false;
    ++counts_["wiped_restarts"];
    world_.schedule(world_.now() + Duration::milliseconds(50), "group admin retry",
                    [this] { create_topic(); });
}

void GroupWorkload::create_topic() {
    if (topic_created_) return;
    if (!admin_.alive) open(admin_);
    send(admin_, -1, kCreateTopicsApi, 4, [](Sent&) -> kafka::Request {
        kafka::CreateTopicsRequest request;
        auto& topic = request.topics.emplace_back();
        topic.name = kTopic;
        topic.num_partitions = kPartitions;
        topic.replication_factor = 1;
        return request;
    });
}

void GroupWorkload::describe() {
    if (!admin_.alive) open(admin_);
    send(admin_, -1, kDescribeApi, 4, [](Sent&) -> kafka::Request {
        kafka::DescribeGroupsRequest request;
        request.groups = {kGroup};
        return request;
    });
}

std::vector<MemberView> GroupWorkload::views() const {
    std::vector<MemberView> out;
    for (const auto& member : members_) {
        out.push_back({member.name, member.state == State::stable && !member.paused,
                       member.member_id, member.generation, member.owned});
    }
    return out;
}

std::vector<std::pair<std::string, std::uint64_t>> GroupWorkload::stats() const {
    std::vector<std::pair<std::string, std::uint64_t>> out(counts_.begin(), counts_.end());
    out.emplace_back("generations", static_cast<std::uint64_t>(std::max(0, truth_.generation)));
    out.emplace_back("assignments_checked", owners_.assignments());
    out.emplace_back("fenced_requests", fencing_.fenced());
    out.emplace_back("commits_acknowledged", offsets_.commits());
    out.emplace_back("fetches_checked", offsets_.fetches_checked());
    return out;
}

std::vector<std::vector<std::int32_t>> GroupWorkload::range_assign(std::size_t members) const {
    std::vector<std::vector<std::int32_t>> out(members);
    const auto n = static_cast<std::int32_t>(members);
    std::int32_t next = 0;
    for (std::int32_t i = 0; i < n; ++i) {
        const std::int32_t count = kPartitions / n + (i < kPartitions % n ? 1 : 0);
        for (std::int32_t k = 0; k < count; ++k) out[static_cast<std::size_t>(i)].push_back(next++);
    }
    if (params_.canary.double_assign && members >= 2 &&
        std::find(out[1].begin(), out[1].end(), 0) == out[1].end()) {
        out[1].push_back(0);  // the bug: partition 0 goes to the second member as well
    }
    return out;
}

}  // namespace samsa::sim::groups

// Broker: consumer groups - the glue between client requests, the group
// coordinator (core/group) and the internal topic __consumer_offsets.
#include <algorithm>

#include "core/broker/broker.h"
#include "core/log/batch_builder.h"
#include "net/kafka/api.h"

namespace samsa::broker {

namespace {

constexpr std::int8_t kGroupKey = 0;
constexpr std::int16_t kCoordinatorNotAvailable = 15;

}  // namespace

void Broker::add_offsets_topic(const std::vector<std::string>& names, io::Outbox& out) {
    const log::LogConfig saved = config_.log;
    config_.log = config_.offsets_log;
    Topic& topic =
        add_topic(kOffsetsTopic, static_cast<std::size_t>(config_.groups.partitions), names, out);
    config_.log = saved;
    for (std::size_t i = 0; i < topic.partitions.size(); ++i) {
        topic.partitions[i].offsets_partition = static_cast<std::int32_t>(i);
        topic.partitions[i].restored = false;  // loaded into the coordinator first
    }
}

// True if `body` is a group API (answered through the coordinator).
bool Broker::on_group_request(const io::ClientRequest& request, const kafka::RequestHeader& header,
                              const kafka::Request& body, io::Outbox& out) {
    const group::ReplyTo to{request.client, header.client_id.value_or(""), request.sequence,
                            header.correlation_id, header.api_version};
    if (const auto* find = std::get_if<kafka::FindCoordinatorRequest>(&body)) {
        kafka::FindCoordinatorResponse answer;
        if (find->key_type != kGroupKey) {
            answer.error_code = kCoordinatorNotAvailable;
            answer.error_message = "transactions are not served";
            answer.node_id = -1;
        } else {
            answer.error_message = std::nullopt;
            answer.node_id = config_.node_id.value();
            answer.host = config_.advertised_host;
            answer.port = config_.advertised_port;
        }
        reply(to.client, to.sequence, kafka::encode_response(to.correlation_id, to.version, answer),
              out);
        return true;
    }
    if (const auto* join = std::get_if<kafka::JoinGroupRequest>(&body)) {
        coordinator_.join(now_, to, *join);
    } else if (const auto* sync = std::get_if<kafka::SyncGroupRequest>(&body)) {
        coordinator_.sync(now_, to, *sync);
    } else if (const auto* beat = std::get_if<kafka::HeartbeatRequest>(&body)) {
        coordinator_.heartbeat(now_, to, *beat);
    } else if (const auto* leave = std::get_if<kafka::LeaveGroupRequest>(&body)) {
        coordinator_.leave(now_, to, *leave);
    } else if (const auto* commit = std::get_if<kafka::OffsetCommitRequest>(&body)) {
        coordinator_.commit(now_, to, *commit);
    } else if (const auto* fetch = std::get_if<kafka::OffsetFetchRequest>(&body)) {
        coordinator_.fetch(to, *fetch);
    } else if (const auto* describe = std::get_if<kafka::DescribeGroupsRequest>(&body)) {
        coordinator_.describe(to, *describe);
    } else if (std::holds_alternative<kafka::ListGroupsRequest>(body)) {
        coordinator_.list(to);
    } else if (const auto* remove = std::get_if<kafka::DeleteGroupsRequest>(&body)) {
        coordinator_.remove(now_, to, *remove);
    } else {
        return false;
    }
    group_deadline_stale_ = true;
    return true;
}

void Broker::pump_groups(io::Outbox& out) {
    // An append that fails at once answers its request at once: loop until quiet.
    for (int round = 0; round < 4; ++round) {
        auto appends = coordinator_.take_appends();
        for (const auto& append : appends) append_group_records(append, out);
        auto replies = coordinator_.take_replies();
        for (auto& answer : replies) {
            reply(answer.to.client, answer.to.sequence, std::move(answer.frame), out);
        }
        if (appends.empty() && replies.empty()) break;
    }
    arm_group_timer(out);
}

void Broker::append_group_records(const group::Append& append, io::Outbox& out) {
    Partition* partition = find_partition(kOffsetsTopic, append.partition);
    if (partition == nullptr || partition->log->state() != log::PartitionLog::State::ready) {
        group_deadline_stale_ = true;
        return coordinator_.on_appended(append.id, false);
    }
    log::BatchBuilder builder;
    const std::int64_t now_ms = now_.nanoseconds() / 1000000;
    for (const auto& [key, value] : append.records) {
        log::RecordInput record;
        record.key = std::span<const std::uint8_t>(key);
        if (value) record.value = std::span<const std::uint8_t>(*value);
        record.timestamp_ms = now_ms;
        builder.add(record);
    }
    io::Bytes batch = builder.build();
    const std::size_t size = batch.size();
    auto appended = partition->log->append(std::move(batch), 0, out);
    if (!appended.ok()) {
        group_deadline_stale_ = true;
        return coordinator_.on_appended(append.id, false);
    }
    touch(*partition);
    group_appends_[{partition->log.get(), appended.value().id}] = append.id;
    partition->group_bytes += size;
    if (partition->group_bytes >= config_.offsets_compact_bytes) compact_offsets(*partition, out);
}

// Appends every live record of the partition again, in batches; once all are
// durable, the segments before the first are obsolete and deleted.
void Broker::compact_offsets(Partition& partition, io::Outbox& out) {
    if (!partition.rewrite_appends.empty() || !partition.offsets_partition) return;
    const auto records = coordinator_.snapshot(*partition.offsets_partition, now_);
    partition.group_bytes = 0;
    partition.rewrite_failed = false;
    partition.rewrite_base = partition.log->log_end();
    constexpr std::size_t batch_bytes = 256 << 10;
    const std::int64_t now_ms = now_.nanoseconds() / 1000000;
    std::size_t next = 0;
    while (next < records.size()) {
        log::BatchBuilder builder;
        while (next < records.size() &&
               (builder.record_count() == 0 || builder.size_bytes() < batch_bytes)) {
            const auto& [key, value] = records[next++];
            log::RecordInput record;
            record.key = std::span<const std::uint8_t>(key);
            if (value) record.value = std::span<const std::uint8_t>(*value);
            record.timestamp_ms = now_ms;
            builder.add(record);
        }
        auto appended = partition.log->append(builder.build(), 0, out);
        if (!appended.ok()) {
            partition.rewrite_failed = true;
            break;
        }
        partition.rewrite_appends.insert(appended.value().id);
    }
    touch(partition);
    if (partition.rewrite_appends.empty() && !partition.rewrite_failed) {
        partition.log->delete_segments_before(partition.rewrite_base, out);  // nothing is live
    }
}

void Broker::on_rewrite_appended(Partition& partition, const log::AppendResult& done,
                                 io::Outbox& out) {
    partition.rewrite_appends.erase(done.id);
    if (done.error) partition.rewrite_failed = true;
    if (partition.rewrite_appends.empty() && !partition.rewrite_failed) {
        partition.log->delete_segments_before(partition.rewrite_base, out);
    }
}

void Broker::arm_group_timer(io::Outbox& out) {
    if (!group_deadline_stale_) return;
    group_deadline_stale_ = false;
    const auto deadline = coordinator_.next_deadline();
    if (group_timer_ && (!deadline || *deadline != group_timer_at_)) {
        out.push(io::CancelTimer{*group_timer_});
        group_timer_.reset();
    }
    if (!deadline || group_timer_) return;
    group_timer_ = TimerId(++timer_counter_);
    group_timer_at_ = *deadline;
    const Duration wait = *deadline > now_ ? *deadline - now_ : Duration::zero();
    out.push(io::SetTimer{*group_timer_, wait});
}

}  // namespace samsa::broker

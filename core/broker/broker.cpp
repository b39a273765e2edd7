#include "core/broker/broker.h"

#include <variant>

#include "net/kafka/api.h"

namespace samsa::broker {

// Auto-creation (when configured, and for v4+ when the client allows it): an
// unknown topic named in the request is created with the default partitions,
// and the request is answered once its logs are ready (on_metadata). A topic
// that is not ready is described as LEADER_NOT_AVAILABLE, with no partitions,
// so clients ask again, as they do of Kafka. (Listing partitions with leaders
// under that topic error makes librdkafka warn "TOPIC [0] is unknown
// (partition_cnt 0): ignoring leader (1) update".)
std::vector<std::string> Broker::auto_create(const kafka::MetadataRequest& request,
                                             io::Outbox& out) {
    std::vector<std::string> created;
    if (config_.auto_create_topics && request.allow_auto_topic_creation && request.topics) {
        for (const auto& wanted : *request.topics) {
            const TopicResult check = check_new_topic(wanted.name, -1, -1, 0);
            if (check.error_code != 0) continue;
            add_topic(wanted.name, check_partitions(-1, 0), {}, out);
            created.push_back(wanted.name);
        }
    }
    return created;
}

void Broker::on_metadata(const io::ClientRequest& request, std::int32_t correlation_id,
                         std::int16_t version, const kafka::MetadataRequest& body,
                         io::Outbox& out) {
    metadatas_.push_back(
        PendingMetadata{request.client, request.sequence, correlation_id, version, body, {}});
    metadatas_.back().waiting = auto_create(body, out);
    answer_ready_metadata(out);
}

void Broker::answer_ready_metadata(io::Outbox& out) {
    for (auto it = metadatas_.begin(); it != metadatas_.end();) {
        std::erase_if(it->waiting, [&](const std::string& name) {
            return topic_ready(name) || !topics_.contains(name);
        });
        if (!it->waiting.empty()) {
            ++it;
            continue;
        }
        reply(it->client, it->sequence,
              kafka::encode_response(it->correlation_id, it->version, metadata(it->request)), out);
        it = metadatas_.erase(it);
    }
}

kafka::MetadataResponse Broker::metadata(const kafka::MetadataRequest& request) const {
    kafka::MetadataResponse answer;
    const std::int32_t self = config_.node_id.value();
    answer.brokers.push_back(kafka::MetadataResponse::Broker{
        self, config_.advertised_host, config_.advertised_port, std::nullopt});
    answer.cluster_id = config_.cluster_id;
    answer.controller_id = self;  // a live broker present in brokers[]
    const auto describe = [&](const std::string& name) {
        kafka::MetadataResponse::Topic topic;
        topic.name = name;
        const auto found = topics_.find(name);
        if (found == topics_.end()) {
            topic.error_code = legal_topic_name(name) ? kUnknownTopicOrPartition : kInvalidTopic;
            return topic;
        }
        topic.is_internal = name == kOffsetsTopic;
        if (!topic_ready(name)) {
            topic.error_code = kLeaderNotAvailable;
            return topic;
        }
        for (std::size_t i = 0; i < found->second.partitions.size(); ++i) {
            // Recovered but not serving (a log needing repair from a replica).
            const bool ready =
                found->second.partitions[i].log->state() == log::PartitionLog::State::ready;
            kafka::MetadataResponse::Topic::Partition partition;
            partition.error_code = ready ? 0 : kLeaderNotAvailable;
            partition.partition_index = static_cast<std::int32_t>(i);
            partition.leader_id = self;
            partition.leader_epoch = 0;
            partition.replica_nodes = {self};
            partition.isr_nodes = {self};
            topic.partitions.push_back(std::move(partition));
        }
        return topic;
    };
    if (request.topics) {
        for (const auto& wanted : *request.topics) answer.topics.push_back(describe(wanted.name));
    } else {
        for (const auto& [name, topic] : topics_) answer.topics.push_back(describe(name));
    }
    return answer;
}

void Broker::step(Instant now, const io::Event& event, io::Outbox& out) {
    now_ = now;
    if (const auto* request = std::get_if<io::ClientRequest>(&event)) {
        if (!ready()) {
            if (waiting_.size() >= config_.requests_waiting_max) return close(request->client, out);
            waiting_.push_back(*request);
            return;
        }
        on_request(*request, out);
    } else if (const auto* done = std::get_if<io::IoCompleted>(&event)) {
        if (listing_ && done->token == *listing_) {
            on_listed(*done, out);
        } else if ((done->token.value() >> kComponentShift) == kBrokerComponent) {
            on_broker_io(*done, out);
        } else {
            on_log_io(*done, out);
        }
    } else if (const auto* fired = std::get_if<io::TimerFired>(&event)) {
        on_timer(fired->timer, out);
    } else if (const auto* gone = std::get_if<io::ClientGone>(&event)) {
        for (const auto& pending : data_) {
            if (pending.client == gone->client && pending.timer) {
                out.push(io::CancelTimer{*pending.timer});
            }
        }
        std::erase_if(data_,
                      [&](const PendingData& p) { return p.client == gone->client && p.timer; });
        std::erase_if(creates_, [&](const PendingCreate& c) { return c.client == gone->client; });
        std::erase_if(metadatas_,
                      [&](const PendingMetadata& m) { return m.client == gone->client; });
        // Its Produce/Fetch answers are still collected (the appends happen); the driver drops
        // them.
    } else if (std::holds_alternative<io::Start>(event)) {
        started_ = true;
        listing_ = next_token();  // the partitions already on disk
        out.push(io::List{*listing_});
    }
    update_ready();
    while (!waiting_.empty() && ready()) {
        const io::ClientRequest request = std::move(waiting_.front());
        waiting_.pop_front();
        on_request(request, out);
    }
    collect(out);
    advance_deletions(out);
    answer_ready_metadata(out);  // logs that became ready, topics deleted meanwhile
    pump_groups(out);
}

bool Broker::ready() const {
    return ready_;
}

// Topics created later do not hold requests back: only those found at start.
void Broker::update_ready() {
    if (ready_ || !started_ || listing_) return;
    for (const auto& [name, topic] : topics_) {
        if (name == kOffsetsTopic) continue;  // group requests wait for it on their own
        for (const auto& partition : topic.partitions) {
            if (partition.log->state() == log::PartitionLog::State::recovering) return;
        }
    }
    ready_ = true;
}

void Broker::reply(ClientId client, std::uint64_t sequence, std::optional<io::Bytes> frame,
                   io::Outbox& out) {
    ++stats_.answered;
    out.push(io::ClientReply{client, sequence, std::move(frame)});
}

void Broker::close(ClientId client, io::Outbox& out) {
    ++stats_.closed_connections;
    out.push(io::ClientClose{client});
}

void Broker::on_request(const io::ClientRequest& request, io::Outbox& out) {
    ++stats_.requests;
    auto parsed = kafka::parse_request(request.frame);
    if (!parsed.ok()) {
        const auto& error = parsed.error();
        if (error.kind == kafka::RequestErrorKind::unsupported_version &&
            error.header.api_key == kafka::ApiVersionsRequest::api_key) {
            // The v0 layout, which every client can read (kafka-compat.md).
            return reply(request.client, request.sequence,
                         kafka::encode_response(
                             error.header.correlation_id, 0,
                             kafka::api_versions_response(kafka::error_unsupported_version)),
                         out);
        }
        return close(request.client, out);
    }
    const auto& header = parsed.value().header;
    auto& body = parsed.value().body;  // Produce hands its records on to the log
    if (std::holds_alternative<kafka::ApiVersionsRequest>(body)) {
        return reply(request.client, request.sequence,
                     kafka::encode_response(header.correlation_id, header.api_version,
                                            kafka::api_versions_response(kafka::error_none)),
                     out);
    }
    if (const auto* wanted = std::get_if<kafka::MetadataRequest>(&body)) {
        return on_metadata(request, header.correlation_id, header.api_version, *wanted, out);
    }
    if (const auto* create = std::get_if<kafka::CreateTopicsRequest>(&body)) {
        return on_create_topics(request, header.correlation_id, header.api_version, *create, out);
    }
    if (const auto* drop = std::get_if<kafka::DeleteTopicsRequest>(&body)) {
        return on_delete_topics(request, header.correlation_id, header.api_version, *drop, out);
    }
    if (const auto* init = std::get_if<kafka::InitProducerIdRequest>(&body)) {
        return on_init_producer_id(request, header.correlation_id, header.api_version, *init, out);
    }
    if (const auto* describe = std::get_if<kafka::DescribeConfigsRequest>(&body)) {
        return reply(request.client, request.sequence,
                     kafka::encode_response(header.correlation_id, header.api_version,
                                            describe_configs(*describe)),
                     out);
    }
    PendingData pending{request.client,
                        request.sequence,
                        header.correlation_id,
                        header.api_version,
                        true,
                        {},
                        {},
                        {},
                        {}};
    if (auto* produce = std::get_if<kafka::ProduceRequest>(&body)) {
        return on_produce(std::move(pending), *produce, out);
    }
    if (const auto* fetch = std::get_if<kafka::FetchRequest>(&body)) {
        return on_fetch(std::move(pending), *fetch, out);
    }
    if (const auto* list = std::get_if<kafka::ListOffsetsRequest>(&body)) {
        return on_list_offsets(std::move(pending), *list, out);
    }
    if (on_group_request(request, header, body, out)) return;
    close(request.client, out);  // an API this broker does not serve
}

}  // namespace samsa::broker

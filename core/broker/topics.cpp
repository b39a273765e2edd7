// Broker: topics - discovery at start, creation, and their logs' I/O.
#include <algorithm>
#include <set>

#include "core/broker/broker.h"
#include "net/kafka/api.h"

namespace samsa::broker {

namespace {

constexpr std::size_t kTopicNameMax = 249;  // Kafka's limit

}  // namespace

bool legal_topic_name(const std::string& name) {
    if (name.empty() || name.size() > kTopicNameMax || name == "." || name == "..") return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
}

namespace {

// "<topic>-<partition>-<20 digits>.log" -> (topic, partition).
std::optional<std::pair<std::string, std::size_t>> partition_of(const std::string& file) {
    constexpr std::size_t digits = 20;
    const std::string suffix = ".log";
    if (file.size() < digits + suffix.size() + 4 ||
        file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return std::nullopt;
    }
    const std::size_t offset_at = file.size() - suffix.size() - digits;
    if (file[offset_at - 1] != '-') return std::nullopt;
    const std::size_t dash = file.rfind('-', offset_at - 2);
    if (dash == std::string::npos || dash == 0 || dash + 1 >= offset_at - 1) return std::nullopt;
    std::size_t partition = 0;
    for (std::size_t i = dash + 1; i < offset_at - 1; ++i) {
        if (file[i] < '0' || file[i] > '9' || partition > 1000000) return std::nullopt;
        partition = partition * 10 + static_cast<std::size_t>(file[i] - '0');
    }
    std::string topic = file.substr(0, dash);
    if (!legal_topic_name(topic)) return std::nullopt;
    return std::pair{std::move(topic), partition};
}

}  // namespace

IoToken Broker::next_token() noexcept {
    return IoToken((static_cast<std::uint64_t>(kBrokerComponent) << kComponentShift) |
                   ++token_counter_);
}

std::map<std::string, std::size_t> Broker::topics() const {
    std::map<std::string, std::size_t> all;
    for (const auto& [name, topic] : topics_) {
        if (name != kOffsetsTopic) all.emplace(name, topic.partitions.size());
    }
    return all;
}

// `names`: the data directory as listed once for every partition (each log
// picks out its own files), or nothing for a topic being created.
Broker::Topic& Broker::add_topic(const std::string& name, std::size_t partitions,
                                 const std::vector<std::string>& names, io::Outbox& out) {
    Topic& topic = topics_[name];
    // Partitions are found by address (by_component_, touched_): no reallocation later.
    SAMSA_ASSERT(topic.partitions.empty());
    topic.partitions.reserve(partitions);
    while (topic.partitions.size() < partitions) {
        log::LogConfig config = config_.log;
        config.file_prefix = name + "-" + std::to_string(topic.partitions.size()) + "-";
        SAMSA_ASSERT(next_component_ < (1U << 20));
        auto partition =
            std::make_unique<log::PartitionLog>(config, next_component_++, cache_budget_.get());
        partition->start(names, out);
        Partition& added = topic.partitions.emplace_back();
        added.log = std::move(partition);
        added.restored = names.empty();  // a new log has no producers to restore
        ++partition_count_;
        by_component_.emplace(next_component_ - 1, &topic.partitions.back());
        touch(topic.partitions.back());  // recovery may finish within start()
    }
    return topic;
}

bool Broker::topic_ready(const std::string& name) const {
    const auto found = topics_.find(name);
    if (found == topics_.end()) return false;
    return std::all_of(
        found->second.partitions.begin(), found->second.partitions.end(),
        [](const Partition& p) { return p.log->state() != log::PartitionLog::State::recovering; });
}

void Broker::on_listed(const io::IoCompleted& done, io::Outbox& out) {
    listing_.reset();
    if (done.status != io::IoStatus::ok) {  // try again: without it the topics are unknown
        listing_ = next_token();
        out.push(io::List{*listing_});
        return;
    }
    std::map<std::string, std::size_t> found;
    std::set<std::string> deleting;  // deletions a restart interrupted
    for (const auto& file : done.names) {
        if (const auto partition = partition_of(file)) {
            auto& count = found[partition->first];
            count = std::max(count, partition->second + 1);
        } else if (const auto block = producer_block_of(file)) {
            producer_block_found_ = std::max(producer_block_found_, *block);
        } else if (auto topic = deleting_topic_of(file)) {
            deleting.insert(std::move(*topic));
        }
    }
    for (const auto& name : deleting) start_deletion(name, {}, true, out);
    for (const auto& [name, partitions] : found) {
        if (name == kOffsetsTopic || deleting.contains(name)) continue;
        add_topic(name, partitions, done.names, out);
    }
    add_offsets_topic(done.names, out);  // found on disk or created
    reserve_producer_block(out);
}

void Broker::on_log_io(const io::IoCompleted& done, io::Outbox& out) {
    const auto found =
        by_component_.find(static_cast<std::uint32_t>(done.token.value() >> kComponentShift));
    if (found == by_component_.end()) return;  // a completion for a log that no longer exists
    Partition& owner = *found->second;
    SAMSA_ASSERT(owner.log->owns(done.token));
    owner.log->on_io(done, out);
    touch(owner);
    restore_producers(owner, out);
    answer_ready_creates(out);
}

std::size_t Broker::check_partitions(std::int32_t partitions, std::size_t assignments) const {
    if (assignments > 0) return assignments;
    return partitions == -1 ? static_cast<std::size_t>(config_.default_partitions)
                            : static_cast<std::size_t>(partitions);
}

Broker::TopicResult Broker::check_new_topic(const std::string& name, std::int32_t partitions,
                                            std::int16_t replication,
                                            std::size_t assignments) const {
    if (!legal_topic_name(name)) {
        return {name, kInvalidTopic, "topic names are 1-249 of [a-zA-Z0-9._-], not . or .."};
    }
    if (topics_.contains(name)) return {name, kTopicAlreadyExists, "topic exists"};
    if (being_deleted(name)) {
        return {name, kTopicAlreadyExists, "topic is marked for deletion; try again shortly"};
    }
    if (assignments > 0 && (partitions != -1 || replication != -1)) {
        return {name, kInvalidRequest, "both assignments and partitions/replication given"};
    }
    if (assignments == 0 && (partitions == 0 || partitions < -1)) {
        return {name, kInvalidPartitions, "partitions must be at least 1"};
    }
    if (assignments == 0 && replication != -1 && replication != 1) {
        return {name, kInvalidReplicationFactor, "this cluster has one broker"};
    }
    if (partition_count_ + check_partitions(partitions, assignments) > config_.partitions_max) {
        return {name, kPolicyViolation, "too many partitions on this broker"};
    }
    return {name, 0, std::nullopt};
}

void Broker::on_create_topics(const io::ClientRequest& request, std::int32_t correlation_id,
                              std::int16_t version, const kafka::CreateTopicsRequest& body,
                              io::Outbox& out) {
    PendingCreate create{request.client, request.sequence, correlation_id, version, {}, {}};
    std::map<std::string, int> mentions;
    for (const auto& topic : body.topics) ++mentions[topic.name];
    for (const auto& topic : body.topics) {
        TopicResult result = check_new_topic(topic.name, topic.num_partitions,
                                             topic.replication_factor, topic.assignments.size());
        if (mentions[topic.name] > 1) result = {topic.name, kInvalidRequest, "named twice"};
        for (const auto& assignment : topic.assignments) {
            const bool here = assignment.broker_ids.size() == 1 &&
                              assignment.broker_ids[0] == config_.node_id.value();
            if (result.error_code == 0 && !here) {
                result = {topic.name, kInvalidReplicaAssignment, "one replica, on this broker"};
            }
        }
        if (result.error_code == 0 && !body.validate_only) {
            add_topic(topic.name, check_partitions(topic.num_partitions, topic.assignments.size()),
                      {}, out);
            create.waiting.push_back(topic.name);
        }
        create.results.push_back(std::move(result));
    }
    creates_.push_back(std::move(create));
    answer_ready_creates(out);
}

void Broker::answer_ready_creates(io::Outbox& out) {
    for (auto it = creates_.begin(); it != creates_.end();) {
        std::erase_if(it->waiting, [&](const std::string& name) { return topic_ready(name); });
        if (!it->waiting.empty()) {
            ++it;
            continue;
        }
        kafka::CreateTopicsResponse answer;
        for (const auto& result : it->results) {
            answer.topics.push_back({result.name, result.error_code, result.message});
        }
        io::Bytes frame = kafka::encode_response(it->correlation_id, it->version, answer);
        reply(it->client, it->sequence, std::move(frame), out);
        it = creates_.erase(it);
    }
}

}  // namespace samsa::broker

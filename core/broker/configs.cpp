// Broker: DescribeConfigs - the settings topics and this broker really run
// with. Every value comes from BrokerConfig (topics have no overrides yet), so
// each is reported as a default and read-only: samsa does not serve
// AlterConfigs.
#include <algorithm>
#include <climits>

#include "core/broker/broker.h"

namespace samsa::broker {

namespace {

constexpr std::int8_t kTopicResource = 2;
constexpr std::int8_t kBrokerResource = 4;

// DescribeConfigs v1+ config_source and v3+ config_type values.
constexpr std::int8_t kSourceStaticBroker = 4;
constexpr std::int8_t kSourceDefault = 5;
enum class Type : std::int8_t { boolean = 1, string = 2, int32 = 3, int64 = 5, list = 7 };

struct Setting {
    std::string name;
    std::string value;
    Type type;
};

// Kafka writes "no limit" as -1 where samsa's configs use 0.
std::string limit_text(std::int64_t value) {
    return value == 0 ? "-1" : std::to_string(value);
}

std::vector<Setting> topic_settings(const log::LogConfig& log) {
    return {
        {"cleanup.policy", "delete", Type::list},
        {"compression.type", "producer", Type::string},
        {"index.interval.bytes", std::to_string(log.index_interval_bytes), Type::int32},
        {"max.message.bytes", std::to_string(log.batch_bytes_max), Type::int32},
        {"message.timestamp.type", "CreateTime", Type::string},
        {"min.insync.replicas", "1", Type::int32},
        {"retention.bytes", limit_text(static_cast<std::int64_t>(log.retention_bytes_max)),
         Type::int64},
        {"retention.ms", limit_text(log.retention_ms), Type::int64},
        {"segment.bytes", std::to_string(log.segment_bytes_max), Type::int32},
        // Without an age limit segments roll by size only: the longest age Kafka can say.
        {"segment.ms",
         log.segment_ms == 0 ? std::to_string(INT64_MAX) : std::to_string(log.segment_ms),
         Type::int64},
        {"unclean.leader.election.enable", "false", Type::boolean},
    };
}

std::vector<Setting> broker_settings(const BrokerConfig& config) {
    const log::LogConfig& log = config.log;
    return {
        {"advertised.listeners",
         "PLAINTEXT://" + config.advertised_host + ":" + std::to_string(config.advertised_port),
         Type::string},
        {"auto.create.topics.enable", config.auto_create_topics ? "true" : "false", Type::boolean},
        {"broker.id", std::to_string(config.node_id.value()), Type::int32},
        {"default.replication.factor", std::to_string(config.default_replication_factor),
         Type::int32},
        {"log.retention.bytes", limit_text(static_cast<std::int64_t>(log.retention_bytes_max)),
         Type::int64},
        {"log.retention.ms", limit_text(log.retention_ms), Type::int64},
        {"log.roll.ms",
         log.segment_ms == 0 ? std::to_string(INT64_MAX) : std::to_string(log.segment_ms),
         Type::int64},
        {"log.segment.bytes", std::to_string(log.segment_bytes_max), Type::int32},
        {"message.max.bytes", std::to_string(log.batch_bytes_max), Type::int32},
        {"min.insync.replicas", "1", Type::int32},
        {"num.partitions", std::to_string(config.default_partitions), Type::int32},
    };
}

}  // namespace

kafka::DescribeConfigsResponse Broker::describe_configs(
    const kafka::DescribeConfigsRequest& request) const {
    kafka::DescribeConfigsResponse answer;
    for (const auto& resource : request.resources) {
        auto& result = answer.results.emplace_back();
        result.resource_type = resource.resource_type;
        result.resource_name = resource.resource_name;
        result.error_message = std::nullopt;
        std::vector<Setting> settings;
        std::int8_t source = kSourceDefault;
        if (resource.resource_type == kTopicResource) {
            if (!topics_.contains(resource.resource_name)) {
                result.error_code = kUnknownTopicOrPartition;
                result.error_message = "no topic " + resource.resource_name;
                continue;
            }
            settings = topic_settings(config_.log);
        } else if (resource.resource_type == kBrokerResource) {
            // "" asks for the cluster-wide defaults, which on one broker are its own.
            if (!resource.resource_name.empty() &&
                resource.resource_name != std::to_string(config_.node_id.value())) {
                result.error_code = kInvalidRequest;
                result.error_message = "this is broker " + std::to_string(config_.node_id.value());
                continue;
            }
            settings = broker_settings(config_);
            source = kSourceStaticBroker;
        } else {
            result.error_code = kInvalidRequest;
            result.error_message = "only topic (2) and broker (4) resources have configs";
            continue;
        }
        for (const auto& setting : settings) {
            if (resource.configuration_keys &&
                std::find(resource.configuration_keys->begin(), resource.configuration_keys->end(),
                          setting.name) == resource.configuration_keys->end()) {
                continue;
            }
            auto& config = result.configs.emplace_back();
            config.name = setting.name;
            config.value = setting.value;
            config.read_only = true;  // no AlterConfigs
            config.is_default = source == kSourceDefault;
            config.config_source = source;
            config.config_type = static_cast<std::int8_t>(setting.type);
            config.documentation = std::nullopt;
        }
    }
    return answer;
}

}  // namespace samsa::broker

#include "net/kafka/consumer_protocol.h"

#include <algorithm>

namespace samsa::kafka {

namespace {

constexpr std::int16_t kSubscriptionVersion = 0;
constexpr std::int16_t kAssignmentVersion = 0;

}  // namespace

Bytes encode_subscription(const std::vector<std::string>& topics) {
    Bytes bytes;
    Writer writer(bytes);
    writer.write_int16(kSubscriptionVersion);
    writer.write_array_count(topics.size());
    for (const auto& topic : topics) writer.write_string(topic);
    writer.write_nullable_bytes(std::nullopt);  // user_data
    return bytes;
}

std::optional<std::vector<std::string>> decode_subscription(const Bytes& bytes) {
    Reader reader(bytes);
    const std::int16_t version = reader.read_int16();
    const auto count = reader.read_array_count(false, 2);
    if (!reader.ok() || version < 0 || !count) return std::nullopt;
    std::vector<std::string> topics;
    for (std::int32_t i = 0; i < *count && reader.ok(); ++i) topics.push_back(reader.read_string());
    // user_data and what later versions add are not needed here.
    if (!reader.ok()) return std::nullopt;
    return topics;
}

Bytes encode_assignment(const TopicAssignment& assignment) {
    Bytes bytes;
    Writer writer(bytes);
    writer.write_int16(kAssignmentVersion);
    writer.write_array_count(assignment.size());
    for (const auto& [topic, partitions] : assignment) {
        writer.write_string(topic);
        writer.write_array_count(partitions.size());
        for (const auto partition : partitions) writer.write_int32(partition);
    }
    writer.write_nullable_bytes(std::nullopt);  // user_data
    return bytes;
}

std::optional<TopicAssignment> decode_assignment(const Bytes& bytes) {
    TopicAssignment assignment;
    if (bytes.empty()) return assignment;  // no assignment (yet)
    Reader reader(bytes);
    const std::int16_t version = reader.read_int16();
    const auto topics = reader.read_array_count(false, 6);
    if (!reader.ok() || version < 0 || !topics) return std::nullopt;
    for (std::int32_t i = 0; i < *topics && reader.ok(); ++i) {
        const std::string topic = reader.read_string();
        const auto count = reader.read_array_count(false, 4);
        if (!reader.ok() || !count) return std::nullopt;
        auto& partitions = assignment[topic];
        for (std::int32_t j = 0; j < *count && reader.ok(); ++j) {
            partitions.push_back(reader.read_int32());
        }
        std::sort(partitions.begin(), partitions.end());
    }
    if (!reader.ok()) return std::nullopt;
    return assignment;
}

}  // namespace samsa::kafka

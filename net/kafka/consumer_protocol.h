// Kafka's ConsumerProtocol: the bytes consumer-group members put in JoinGroup
// (a subscription) and SyncGroup (an assignment). The broker never reads
// them; samsa's own group consumer and the group simulator do.
//   Subscription v0: int16 version, [] string topic, nullable bytes user_data
//   Assignment v0:   int16 version, [] (string topic, [] int32 partition),
//                    nullable bytes user_data
// Decoding reads what v0 has and ignores what later versions append.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/kafka/wire.h"

namespace samsa::kafka {

using TopicAssignment = std::map<std::string, std::vector<std::int32_t>>;

Bytes encode_subscription(const std::vector<std::string>& topics);
std::optional<std::vector<std::string>> decode_subscription(const Bytes& bytes);
Bytes encode_assignment(const TopicAssignment& assignment);
// Empty bytes (a member given nothing) decode as an empty assignment; the
// partitions of each topic come back sorted.
std::optional<TopicAssignment> decode_assignment(const Bytes& bytes);

}  // namespace samsa::kafka

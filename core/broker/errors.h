// The Kafka error codes the broker answers with (numbers from the protocol
// guide's error table), named once for every file of core/broker.
#pragma once

#include <cstdint>

namespace samsa::broker {

inline constexpr std::int16_t kOffsetOutOfRange = 1;
inline constexpr std::int16_t kUnknownTopicOrPartition = 3;
inline constexpr std::int16_t kLeaderNotAvailable = 5;
inline constexpr std::int16_t kCoordinatorLoadInProgress = 14;
inline constexpr std::int16_t kInvalidTopic = 17;  // INVALID_TOPIC_EXCEPTION
inline constexpr std::int16_t kTopicAlreadyExists = 36;
inline constexpr std::int16_t kInvalidPartitions = 37;
inline constexpr std::int16_t kInvalidReplicationFactor = 38;
inline constexpr std::int16_t kInvalidReplicaAssignment = 39;
inline constexpr std::int16_t kInvalidRequest = 42;
inline constexpr std::int16_t kPolicyViolation = 44;
inline constexpr std::int16_t kOutOfOrderSequence = 45;    // OUT_OF_ORDER_SEQUENCE_NUMBER
inline constexpr std::int16_t kInvalidProducerEpoch = 47;  // INVALID_PRODUCER_EPOCH
inline constexpr std::int16_t kInvalidRecord = 87;

}  // namespace samsa::broker

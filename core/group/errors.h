// The Kafka error codes the group coordinator answers with (numbers from the
// protocol guide's error table).
#pragma once

#include <cstdint>

namespace samsa::group {

inline constexpr std::int16_t kOffsetMetadataTooLarge = 12;
inline constexpr std::int16_t kCoordinatorLoadInProgress = 14;
inline constexpr std::int16_t kCoordinatorNotAvailable = 15;
inline constexpr std::int16_t kIllegalGeneration = 22;
inline constexpr std::int16_t kInconsistentGroupProtocol = 23;
inline constexpr std::int16_t kInvalidGroupId = 24;
inline constexpr std::int16_t kUnknownMemberId = 25;
inline constexpr std::int16_t kInvalidSessionTimeout = 26;
inline constexpr std::int16_t kRebalanceInProgress = 27;
inline constexpr std::int16_t kInvalidRequest = 42;
inline constexpr std::int16_t kNonEmptyGroup = 68;
inline constexpr std::int16_t kGroupIdNotFound = 69;
inline constexpr std::int16_t kMemberIdRequired = 79;
inline constexpr std::int16_t kGroupMaxSizeReached = 81;
inline constexpr std::int16_t kFencedInstanceId = 82;

}  // namespace samsa::group

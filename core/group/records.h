// The records of __consumer_offsets, in Kafka's own layouts (so Kafka's
// tools could read them): keys
//   offset commit  int16 version 1, string group, string topic, int32 partition
//   group          int16 version 2, string group
// and values
//   offset commit  int16 version 3, int64 offset, int32 leader epoch, string
//                  metadata, int64 commit timestamp (ms)
//   group          int16 version 3, string protocol type, int32 generation,
//                  nullable string protocol, nullable string leader, int64
//                  state timestamp, [] members (string id, nullable string
//                  instance id, string client id, string client host, int32
//                  rebalance timeout, int32 session timeout, bytes
//                  subscription, bytes assignment)
// A null value is a tombstone for its key.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/group/coordinator.h"

namespace samsa::group {

// Kafka's coordinator partition: abs(Java String.hashCode(group)) % partitions.
std::int32_t java_string_hash_partition(const std::string& utf8, std::int32_t partitions) noexcept;

struct MemberMetadata {
    std::string member_id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string client_host;
    std::int32_t rebalance_timeout_ms = 0;
    std::int32_t session_timeout_ms = 0;
    io::Bytes subscription;  // the chosen protocol's metadata
    io::Bytes assignment;
};

struct GroupMetadata {
    std::string protocol_type;
    std::int32_t generation = 0;
    std::string protocol;
    std::string leader;
    std::vector<MemberMetadata> members;  // written once the group is Stable
};

struct ParsedKey {
    std::string group;
    std::string topic;                      // offsets only
    std::optional<std::int32_t> partition;  // set: an offset commit key
};

io::Bytes offset_key(const std::string& group, const std::string& topic, std::int32_t partition);
io::Bytes offset_value(const Committed& committed, std::int64_t timestamp_ms);
io::Bytes group_key(const std::string& group);
io::Bytes group_value(const GroupMetadata& metadata);

std::optional<ParsedKey> parse_key(std::span<const std::uint8_t> key);
std::optional<Committed> parse_offset_value(std::span<const std::uint8_t> value);
std::optional<GroupMetadata> parse_group_value(std::span<const std::uint8_t> value);

}  // namespace samsa::group

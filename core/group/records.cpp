#include "core/group/records.h"

#include <climits>

#include "net/kafka/wire.h"

namespace samsa::group {

namespace {

constexpr std::int16_t kOffsetKeyVersion = 1;
constexpr std::int16_t kGroupKeyVersion = 2;
constexpr std::int16_t kValueVersion = 3;

// The UTF-16 code units of a UTF-8 string (invalid bytes count as themselves).
template <class Fn>
void for_each_utf16(const std::string& utf8, Fn&& fn) {
    std::size_t i = 0;
    while (i < utf8.size()) {
        const auto byte = static_cast<std::uint8_t>(utf8[i]);
        std::uint32_t code = byte;
        std::size_t extra = 0;
        if (byte >= 0xF0 && byte < 0xF8) {
            code = byte & 0x07U;
            extra = 3;
        } else if (byte >= 0xE0) {
            code = byte & 0x0FU;
            extra = 2;
        } else if (byte >= 0xC0) {
            code = byte & 0x1FU;
            extra = 1;
        }
        if (i + extra >= utf8.size()) {  // a truncated sequence: the byte as it is
            extra = 0;
            code = byte;
        }
        for (std::size_t k = 1; k <= extra; ++k) {
            code = (code << 6) | (static_cast<std::uint8_t>(utf8[i + k]) & 0x3FU);
        }
        i += extra + 1;
        if (code > 0xFFFF) {
            code -= 0x10000;
            fn(static_cast<std::uint16_t>(0xD800 + (code >> 10)));
            fn(static_cast<std::uint16_t>(0xDC00 + (code & 0x3FF)));
        } else {
            fn(static_cast<std::uint16_t>(code));
        }
    }
}

}  // namespace

std::int32_t java_string_hash_partition(const std::string& utf8, std::int32_t partitions) noexcept {
    std::uint32_t hash = 0;  // Java's int arithmetic, wrapping
    for_each_utf16(utf8, [&](std::uint16_t unit) { hash = hash * 31U + unit; });
    const auto value = static_cast<std::int32_t>(hash);
    const std::int32_t positive = value == INT32_MIN ? 0 : (value < 0 ? -value : value);
    return positive % partitions;
}

io::Bytes offset_key(const std::string& group, const std::string& topic, std::int32_t partition) {
    io::Bytes out;
    kafka::Writer writer(out);
    writer.write_int16(kOffsetKeyVersion);
    writer.write_string(group);
    writer.write_string(topic);
    writer.write_int32(partition);
    return out;
}

io::Bytes offset_value(const Committed& committed, std::int64_t timestamp_ms) {
    io::Bytes out;
    kafka::Writer writer(out);
    writer.write_int16(kValueVersion);
    writer.write_int64(committed.offset);
    writer.write_int32(committed.leader_epoch);
    writer.write_string(committed.metadata.value_or(""));
    writer.write_int64(timestamp_ms);
    return out;
}

io::Bytes group_key(const std::string& group) {
    io::Bytes out;
    kafka::Writer writer(out);
    writer.write_int16(kGroupKeyVersion);
    writer.write_string(group);
    return out;
}

io::Bytes group_value(const GroupMetadata& metadata) {
    io::Bytes out;
    kafka::Writer writer(out);
    writer.write_int16(kValueVersion);
    writer.write_string(metadata.protocol_type);
    writer.write_int32(metadata.generation);
    writer.write_nullable_string(metadata.protocol.empty() ? std::nullopt
                                                           : std::optional(metadata.protocol));
    writer.write_nullable_string(metadata.leader.empty() ? std::nullopt
                                                         : std::optional(metadata.leader));
    writer.write_int64(0);
    writer.write_array_count(metadata.members.size());
    for (const auto& member : metadata.members) {
        writer.write_string(member.member_id);
        writer.write_nullable_string(member.instance_id);
        writer.write_string(member.client_id);
        writer.write_string(member.client_host);
        writer.write_int32(member.rebalance_timeout_ms);
        writer.write_int32(member.session_timeout_ms);
        writer.write_bytes(member.subscription);
        writer.write_bytes(member.assignment);
    }
    return out;
}

std::optional<ParsedKey> parse_key(std::span<const std::uint8_t> key) {
    kafka::Reader reader(key);
    const std::int16_t version = reader.read_int16();
    ParsedKey parsed;
    parsed.group = reader.read_string();
    if (version == 0 || version == kOffsetKeyVersion) {
        parsed.topic = reader.read_string();
        parsed.partition = reader.read_int32();
    } else if (version != kGroupKeyVersion) {
        return std::nullopt;
    }
    if (!reader.ok() || !reader.at_end()) return std::nullopt;
    return parsed;
}

std::optional<Committed> parse_offset_value(std::span<const std::uint8_t> value) {
    kafka::Reader reader(value);
    const std::int16_t version = reader.read_int16();
    if (version != kValueVersion) return std::nullopt;
    Committed committed;
    committed.offset = reader.read_int64();
    committed.leader_epoch = reader.read_int32();
    committed.metadata = reader.read_string();
    reader.read_int64();
    if (!reader.ok()) return std::nullopt;
    return committed;
}

std::optional<GroupMetadata> parse_group_value(std::span<const std::uint8_t> value) {
    kafka::Reader reader(value);
    if (reader.read_int16() != kValueVersion) return std::nullopt;
    GroupMetadata metadata;
    metadata.protocol_type = reader.read_string();
    metadata.generation = reader.read_int32();
    metadata.protocol = reader.read_nullable_string().value_or("");
    metadata.leader = reader.read_nullable_string().value_or("");
    reader.read_int64();
    const auto count = reader.read_array_count(false, 2 + 2 + 2 + 2 + 4 + 4 + 4 + 4);
    for (std::int32_t i = 0; reader.ok() && i < count.value_or(0); ++i) {
        MemberMetadata member;
        member.member_id = reader.read_string();
        member.instance_id = reader.read_nullable_string();
        member.client_id = reader.read_string();
        member.client_host = reader.read_string();
        member.rebalance_timeout_ms = reader.read_int32();
        member.session_timeout_ms = reader.read_int32();
        member.subscription = reader.read_bytes();
        member.assignment = reader.read_bytes();
        metadata.members.push_back(std::move(member));
    }
    if (!reader.ok()) return std::nullopt;
    return metadata;
}

}  // namespace samsa::group

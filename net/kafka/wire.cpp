#include "net/kafka/wire.h"

#include <algorithm>
#include <limits>

#include "core/base/assert.h"

namespace samsa::kafka {

namespace {

// An unsigned 32-bit varint takes at most 5 bytes of 7 bits.
constexpr int varint_bytes_max = 5;

}  // namespace

const char* to_string(WireError error) noexcept {
    switch (error) {
        case WireError::truncated: return "truncated";
        case WireError::negative_length: return "negative_length";
        case WireError::length_exceeds_input: return "length_exceeds_input";
        case WireError::invalid_varint: return "invalid_varint";
        case WireError::trailing_bytes: return "trailing_bytes";
    }
    return "unknown";
}

void Reader::fail(WireError error) noexcept {
    if (error_.has_value()) return;
    error_ = error;
    error_offset_ = position_;
}

std::span<const std::uint8_t> Reader::take(std::size_t size) {
    if (!ok()) return {};
    if (size > remaining()) {
        fail(WireError::truncated);
        return {};
    }
    auto part = input_.subspan(position_, size);
    position_ += size;
    SAMSA_ASSERT(position_ <= input_.size());
    return part;
}

std::uint64_t Reader::read_big_endian(std::size_t size) {
    SAMSA_ASSERT(size <= sizeof(std::uint64_t));
    auto part = take(size);
    if (part.size() != size) return 0;
    std::uint64_t value = 0;
    for (std::uint8_t byte : part) value = (value << 8) | byte;
    return value;
}

std::int8_t Reader::read_int8() {
    return static_cast<std::int8_t>(read_big_endian(1));
}
std::int16_t Reader::read_int16() {
    return static_cast<std::int16_t>(read_big_endian(2));
}
std::int32_t Reader::read_int32() {
    return static_cast<std::int32_t>(read_big_endian(4));
}
std::int64_t Reader::read_int64() {
    return static_cast<std::int64_t>(read_big_endian(8));
}
std::uint16_t Reader::read_uint16() {
    return static_cast<std::uint16_t>(read_big_endian(2));
}
bool Reader::read_bool() {
    return read_big_endian(1) != 0;
}

std::uint32_t Reader::read_unsigned_varint() {
    std::uint32_t value = 0;
    for (int index = 0; index < varint_bytes_max; ++index) {
        auto part = take(1);
        if (part.empty()) return 0;
        // The fifth byte may carry only the top 4 bits of a 32-bit value.
        if (index == varint_bytes_max - 1 && part[0] > 0x0f) break;
        value |= static_cast<std::uint32_t>(part[0] & 0x7f) << (7 * index);
        if ((part[0] & 0x80) == 0) return value;
    }
    fail(WireError::invalid_varint);
    return 0;
}

Uuid Reader::read_uuid() {
    Uuid value{};
    auto part = take(value.size());
    if (part.size() == value.size()) std::copy(part.begin(), part.end(), value.begin());
    return value;
}

std::optional<std::size_t> Reader::read_length(std::size_t size, bool nullable) {
    std::int32_t length = size == 2 ? read_int16() : read_int32();
    if (!ok()) return 0;
    if (length == -1 && nullable) return std::nullopt;
    if (length < 0) {
        fail(WireError::negative_length);
        return 0;
    }
    if (static_cast<std::size_t>(length) > remaining()) {
        fail(WireError::length_exceeds_input);
        return 0;
    }
    return static_cast<std::size_t>(length);
}

std::string Reader::read_string() {
    auto part = take(read_length(2, false).value_or(0));
    return {reinterpret_cast<const char*>(part.data()), part.size()};
}

std::optional<std::string> Reader::read_nullable_string() {
    auto length = read_length(2, true);
    if (!length.has_value()) return std::nullopt;
    auto part = take(*length);
    return std::string(reinterpret_cast<const char*>(part.data()), part.size());
}

Bytes Reader::read_bytes() {
    return io::copy_of(take(read_length(4, false).value_or(0)));
}

std::optional<Bytes> Reader::read_nullable_bytes() {
    auto length = read_length(4, true);
    if (!length.has_value()) return std::nullopt;
    return io::copy_of(take(*length));
}

std::optional<std::int32_t> Reader::read_array_count(bool nullable, std::size_t element_bytes_min) {
    std::int32_t count = read_int32();
    if (!ok()) return 0;
    if (count == -1 && nullable) return std::nullopt;
    if (count < 0) {
        fail(WireError::negative_length);
        return 0;
    }
    // Elements of zero bytes (a struct with no fields in this version) are
    // still bounded: one element per remaining byte is the most we accept.
    std::size_t bytes_min = std::max<std::size_t>(element_bytes_min, 1);
    if (static_cast<std::size_t>(count) > remaining() / bytes_min) {
        fail(WireError::length_exceeds_input);
        return 0;
    }
    return count;
}

void Writer::write_big_endian(std::uint64_t value, std::size_t size) {
    SAMSA_ASSERT(size >= 1 && size <= sizeof(std::uint64_t));
    for (std::size_t index = size; index > 0; --index) {
        output_.push_back(static_cast<std::uint8_t>(value >> (8 * (index - 1))));
    }
}

void Writer::write_int8(std::int8_t value) {
    write_big_endian(static_cast<std::uint8_t>(value), 1);
}
void Writer::write_int16(std::int16_t value) {
    write_big_endian(static_cast<std::uint16_t>(value), 2);
}
void Writer::write_int32(std::int32_t value) {
    write_big_endian(static_cast<std::uint32_t>(value), 4);
}
void Writer::write_int64(std::int64_t value) {
    write_big_endian(static_cast<std::uint64_t>(value), 8);
}
void Writer::write_uint16(std::uint16_t value) {
    write_big_endian(value, 2);
}
void Writer::write_bool(bool value) {
    write_big_endian(value ? 1 : 0, 1);
}

void Writer::write_unsigned_varint(std::uint32_t value) {
    while (value >= 0x80) {
        output_.push_back(static_cast<std::uint8_t>(value | 0x80));
        value >>= 7;
    }
    output_.push_back(static_cast<std::uint8_t>(value));
}

void Writer::write_uuid(const Uuid& value) {
    output_.insert(output_.end(), value.begin(), value.end());
}

void Writer::write_string(std::string_view value) {
    SAMSA_ASSERT_MSG(value.size() <= std::numeric_limits<std::int16_t>::max(),
                     "a Kafka string holds at most 32767 bytes");
    write_int16(static_cast<std::int16_t>(value.size()));
    output_.insert(output_.end(), value.begin(), value.end());
}

void Writer::write_nullable_string(const std::optional<std::string>& value) {
    if (!value.has_value()) {
        write_int16(-1);
        return;
    }
    write_string(*value);
}

void Writer::write_bytes(std::span<const std::uint8_t> value) {
    SAMSA_ASSERT_MSG(value.size() <= std::numeric_limits<std::int32_t>::max(),
                     "Kafka bytes hold at most 2^31-1 bytes");
    write_int32(static_cast<std::int32_t>(value.size()));
    io::append(output_, value);  // record batches: large
}

void Writer::write_nullable_bytes(const std::optional<Bytes>& value) {
    if (!value.has_value()) {
        write_int32(-1);
        return;
    }
    write_bytes(*value);
}

void Writer::write_array_count(std::size_t count) {
    SAMSA_ASSERT_MSG(count <= std::numeric_limits<std::int32_t>::max(),
                     "a Kafka array holds at most 2^31-1 elements");
    write_int32(static_cast<std::int32_t>(count));
}

void Writer::write_null_array() {
    write_int32(-1);
}

void Writer::patch_int32(std::size_t position, std::int32_t value) {
    SAMSA_ASSERT(position + 4 <= output_.size());
    auto bits = static_cast<std::uint32_t>(value);
    for (std::size_t index = 0; index < 4; ++index) {
        output_[position + index] = static_cast<std::uint8_t>(bits >> (8 * (3 - index)));
    }
}

}  // namespace samsa::kafka

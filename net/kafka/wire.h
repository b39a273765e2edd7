// Primitive Kafka wire types: a bounds-checked Reader over untrusted bytes and
// a Writer that appends to a buffer. Both speak big-endian integers, int16-
// length strings, int32-length bytes and arrays, and unsigned varints (for
// the flexible versions to come).
//
// Theory of operation: the Reader's error is sticky. The first failed read
// records why and where, and every later read returns a zero value without
// touching the input, so generated decoders read field after field and check
// once at the end; a decoder can never run past the input or act on a count
// it has not checked against the bytes that remain. Writers are given values
// that the program built itself, so a value that cannot be encoded (a string
// over 32767 bytes) is a programmer error and asserts.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/seam.h"

namespace samsa::kafka {

using Bytes = io::Bytes;  // large ones page-aligned, see core/io/seam.h
using Uuid = std::array<std::uint8_t, 16>;

// Why a decode failed. Each is a malformed input, never a programmer error.
enum class WireError : std::uint8_t {
    truncated,             // the input ends inside a value
    negative_length,       // a length or count below -1, or -1 where null is not allowed
    length_exceeds_input,  // a length or count larger than the bytes that remain could hold
    invalid_varint,        // an unsigned varint longer than 5 bytes
    trailing_bytes,        // bytes left over after the last field
};
const char* to_string(WireError error) noexcept;

class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> input) : input_(input) {}

    std::int8_t read_int8();
    std::int16_t read_int16();
    std::int32_t read_int32();
    std::int64_t read_int64();
    std::uint16_t read_uint16();
    std::uint32_t read_unsigned_varint();
    bool read_bool();  // any non-zero byte is true, as in the reference broker
    Uuid read_uuid();

    std::string read_string();                          // int16 length, -1 rejected
    std::optional<std::string> read_nullable_string();  // int16 length, -1 is null
    Bytes read_bytes();                                 // int32 length, -1 rejected
    std::optional<Bytes> read_nullable_bytes();         // int32 length, -1 is null

    // Reads an int32 array count. Returns nullopt for null (-1) when
    // `nullable`, otherwise a count that `element_bytes_min`-byte elements can
    // fit in the remaining input: the caller may reserve that many. On error
    // the reader fails and the result is 0.
    std::optional<std::int32_t> read_array_count(bool nullable, std::size_t element_bytes_min);

    [[nodiscard]] bool ok() const noexcept { return !error_.has_value(); }
    [[nodiscard]] std::optional<WireError> error() const noexcept { return error_; }
    // Where the first error happened, in bytes from the start of the input.
    [[nodiscard]] std::size_t error_offset() const noexcept { return error_offset_; }
    [[nodiscard]] std::size_t position() const noexcept { return position_; }
    [[nodiscard]] std::size_t remaining() const noexcept { return input_.size() - position_; }
    [[nodiscard]] bool at_end() const noexcept { return position_ == input_.size(); }

    // Records an error found by the caller (the first one wins).
    void fail(WireError error) noexcept;

private:
    // Returns `size` bytes and advances, or an empty span after failing.
    std::span<const std::uint8_t> take(std::size_t size);
    std::uint64_t read_big_endian(std::size_t size);
    // Reads a length prefix of `size` bytes; -1 gives nullopt if `nullable`.
    std::optional<std::size_t> read_length(std::size_t size, bool nullable);

    std::span<const std::uint8_t> input_;
    std::size_t position_ = 0;
    std::optional<WireError> error_;
    std::size_t error_offset_ = 0;
};

class Writer {
public:
    explicit Writer(Bytes& output) : output_(output) {}

    void write_int8(std::int8_t value);
    void write_int16(std::int16_t value);
    void write_int32(std::int32_t value);
    void write_int64(std::int64_t value);
    void write_uint16(std::uint16_t value);
    void write_unsigned_varint(std::uint32_t value);
    void write_bool(bool value);
    void write_uuid(const Uuid& value);

    void write_string(std::string_view value);
    void write_nullable_string(const std::optional<std::string>& value);
    void write_bytes(std::span<const std::uint8_t> value);
    void write_nullable_bytes(const std::optional<Bytes>& value);
    void write_array_count(std::size_t count);
    void write_null_array();

    // Overwrites 4 bytes at `position` (a size prefix written before its frame).
    void patch_int32(std::size_t position, std::int32_t value);
    [[nodiscard]] std::size_t position() const noexcept { return output_.size(); }

private:
    void write_big_endian(std::uint64_t value, std::size_t size);

    Bytes& output_;
};

}  // namespace samsa::kafka

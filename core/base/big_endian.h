// Big-endian (network order) integers in byte buffers: the layout of every
// file format and wire field samsa writes itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "core/base/assert.h"

namespace samsa {

// Appends `value` to a byte container (push_back of std::uint8_t).
template <class T, class Out>
void put_be(Out& out, T value) {
    static_assert(std::is_integral_v<T>);
    const auto bits = static_cast<std::uint64_t>(static_cast<std::make_unsigned_t<T>>(value));
    for (std::size_t i = sizeof(T); i > 0; --i) {
        out.push_back(static_cast<std::uint8_t>(bits >> (8 * (i - 1))));
    }
}

// The T stored at `at`; the caller has checked that it fits.
template <class T>
T get_be(std::span<const std::uint8_t> bytes, std::size_t at = 0) {
    static_assert(std::is_integral_v<T>);
    SAMSA_ASSERT(at + sizeof(T) <= bytes.size());
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) value = (value << 8) | bytes[at + i];
    return static_cast<T>(static_cast<std::make_unsigned_t<T>>(value));
}

}  // namespace samsa

// Two implementations of one function. The portable one processes eight bytes
// per step with eight 256-entry tables ("slicing-by-8"): table k holds the CRC
// of a byte followed by k zero bytes, so the contributions of eight input
// bytes can be looked up independently and XORed together. The hardware one
// feeds eight bytes at a time to the SSE4.2 CRC32 instruction, which
// implements exactly this polynomial.
//
// The CRC32 instruction has a latency of three cycles but can start one per
// cycle, so a single dependent chain uses a third of it. For large inputs the
// hardware path therefore cuts a block into three consecutive equal streams
// A, B, C, runs three independent chains (A from the incoming state, B and C
// from zero) and joins them afterwards. The CRC register is linear: for
// streams of L bytes,
//     crc(A B C) = crc(A) * x^(16L) + crc(B) * x^(8L) + crc(C)   (mod P)
// so joining takes two multiplications by constants, done with PCLMULQDQ
// (carry-less multiply) and reduced modulo P by the CRC32 instruction itself.
// The constants depend only on L and are computed by the compiler.
#include "core/base/crc32c.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>

#include "core/base/assert.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#include <wmmintrin.h>
#define SAMSA_CRC32C_HAVE_SSE42 1
#else
#define SAMSA_CRC32C_HAVE_SSE42 0
#endif

namespace samsa {
namespace {

// The Castagnoli polynomial 0x1EDC6F41, bit-reversed: the CRC is reflected
// (least significant bit first), as Kafka, iSCSI and SSE4.2 define it.
constexpr std::uint32_t castagnoli_reflected = 0x82F63B78;
constexpr std::size_t slice_count = 8;

using CrcTables = std::array<std::array<std::uint32_t, 256>, slice_count>;

constexpr CrcTables make_tables() {
    CrcTables tables{};
    for (std::uint32_t byte = 0; byte < 256; ++byte) {
        std::uint32_t crc = byte;
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1U) != 0 ? (crc >> 1) ^ castagnoli_reflected : crc >> 1;
        }
        tables[0][byte] = crc;
    }
    for (std::size_t slice = 1; slice < slice_count; ++slice) {
        for (std::size_t byte = 0; byte < 256; ++byte) {
            const std::uint32_t previous = tables[slice - 1][byte];
            tables[slice][byte] = (previous >> 8) ^ tables[0][previous & 0xFFU];
        }
    }
    return tables;
}

// Built by the compiler: no static initialisation order to worry about.
constexpr CrcTables tables = make_tables();

// Little-endian regardless of the host, from bytes (no alignment needed).
std::uint32_t load_le32(const std::uint8_t* bytes) noexcept {
    return static_cast<std::uint32_t>(bytes[0]) | static_cast<std::uint32_t>(bytes[1]) << 8 |
           static_cast<std::uint32_t>(bytes[2]) << 16 | static_cast<std::uint32_t>(bytes[3]) << 24;
}

std::uint32_t lookup(std::size_t slice, std::uint32_t word, int shift) noexcept {
    return tables[slice][(word >> shift) & 0xFFU];
}

// `state` is the raw register (already inverted); so is the result.
std::uint32_t update_portable(std::uint32_t state, const std::uint8_t* data,
                              std::size_t size) noexcept {
    while (size >= slice_count) {
        const std::uint32_t low = state ^ load_le32(data);
        const std::uint32_t high = load_le32(data + 4);
        state = lookup(7, low, 0) ^ lookup(6, low, 8) ^ lookup(5, low, 16) ^ lookup(4, low, 24) ^
                lookup(3, high, 0) ^ lookup(2, high, 8) ^ lookup(1, high, 16) ^ lookup(0, high, 24);
        data += slice_count;
        size -= slice_count;
    }
    for (; size > 0; --size, ++data) state = (state >> 8) ^ tables[0][(state ^ *data) & 0xFFU];
    return state;
}

// Multiplication by x modulo P in the reflected representation, where bit i
// holds the coefficient of x^(31 - i): the same step as one bit of the CRC.
constexpr std::uint32_t times_x(std::uint32_t value) noexcept {
    return (value & 1U) != 0 ? (value >> 1) ^ castagnoli_reflected : value >> 1;
}

constexpr std::size_t word_bytes = 8;
constexpr std::size_t max_stream_words = detail::crc32c_stream_bytes / word_bytes;
static_assert(detail::crc32c_stream_bytes % word_bytes == 0);

// Three streams of `words` eight-byte words each.
constexpr std::size_t block_bytes(std::size_t words) noexcept {
    return 3 * word_bytes * words;
}

// Below this many words per stream, joining three streams (about 15 cycles of
// latency) costs more than it saves, so crc32c_hardware() finishes such a tail
// with one stream. Measured: three streams win from 96 bytes (4 words) on.
constexpr std::size_t min_stream_words = 4;

using ShiftConstants = std::array<std::uint32_t, 2 * max_stream_words + 1>;

// shift[n] = x^(64n - 33) mod P, the factor that moves a CRC register past n
// words. The 33 is what the instructions add back: the carry-less product of
// two reflected 32-bit values comes out one bit position low (x^1), and
// CRC32 of a 64-bit value from a zero register multiplies it by x^32. Index 0
// is unused; index 1 is x^31, which is bit 0.
constexpr ShiftConstants make_shift_constants() {
    ShiftConstants shift{};
    shift[1] = 1;
    for (std::size_t n = 2; n < shift.size(); ++n) {
        std::uint32_t value = shift[n - 1];
        for (std::size_t bit = 0; bit < 64; ++bit) value = times_x(value);
        shift[n] = value;
    }
    return shift;
}

constexpr ShiftConstants shift_constants = make_shift_constants();

enum class HardwarePath { none, single_stream, three_stream };

#if SAMSA_CRC32C_HAVE_SSE42
// x86 is little-endian, so this matches load_le32 byte for byte.
std::uint64_t load_word(const std::uint8_t* bytes) noexcept {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes, sizeof word);  // unaligned input is fine
    return word;
}

__attribute__((target("sse4.2"))) std::uint32_t update_sse42(std::uint32_t state,
                                                             const std::uint8_t* data,
                                                             std::size_t size) noexcept {
    std::uint64_t wide = state;
    for (; size >= 8; size -= 8, data += 8) {
        wide = _mm_crc32_u64(wide, load_word(data));
    }
    auto narrow = static_cast<std::uint32_t>(wide);
    for (; size > 0; --size, ++data) narrow = _mm_crc32_u8(narrow, *data);
    return narrow;
}

// crc(A) * x^(16L) + crc(B) * x^(8L) + crc(C) for streams of `words` words.
// Both products are taken at once (one per 64-bit lane) and XORed before the
// single reduction, which is linear.
__attribute__((target("sse4.2,pclmul"))) std::uint32_t join_streams(std::uint64_t first,
                                                                    std::uint64_t second,
                                                                    std::uint64_t third,
                                                                    std::size_t words) noexcept {
    const __m128i registers =
        _mm_set_epi64x(static_cast<long long>(second), static_cast<long long>(first));
    const __m128i factors = _mm_set_epi64x(shift_constants[words], shift_constants[2 * words]);
    const __m128i product = _mm_xor_si128(_mm_clmulepi64_si128(registers, factors, 0x00),
                                          _mm_clmulepi64_si128(registers, factors, 0x11));
    const auto folded = static_cast<std::uint64_t>(_mm_cvtsi128_si64(product));
    return static_cast<std::uint32_t>(_mm_crc32_u64(0, folded) ^ third);
}

// One block of three streams of `words` words, 1 <= words <= max_stream_words.
__attribute__((target("sse4.2,pclmul"))) std::uint32_t update_block(std::uint32_t state,
                                                                    const std::uint8_t* data,
                                                                    std::size_t words) noexcept {
    const std::size_t stream_bytes = words * word_bytes;
    const std::uint8_t* second = data + stream_bytes;
    const std::uint8_t* third = second + stream_bytes;
    std::uint64_t crc_first = state;
    std::uint64_t crc_second = 0;
    std::uint64_t crc_third = 0;
    for (std::size_t offset = 0; offset < stream_bytes; offset += word_bytes) {
        crc_first = _mm_crc32_u64(crc_first, load_word(data + offset));
        crc_second = _mm_crc32_u64(crc_second, load_word(second + offset));
        crc_third = _mm_crc32_u64(crc_third, load_word(third + offset));
    }
    return join_streams(crc_first, crc_second, crc_third, words);
}

// Full blocks while they fit, then one shorter block, then one stream for what
// is left: fewer than `min_words` words per stream, plus any odd bytes.
__attribute__((target("sse4.2,pclmul"))) std::uint32_t update_three_stream(
    std::uint32_t state, const std::uint8_t* data, std::size_t size,
    std::size_t min_words) noexcept {
    while (size >= block_bytes(min_words)) {
        const std::size_t words = std::min(size / block_bytes(1), max_stream_words);
        state = update_block(state, data, words);
        data += block_bytes(words);
        size -= block_bytes(words);
    }
    return update_sse42(state, data, size);
}
#endif

HardwarePath detect_hardware_path() noexcept {
#if SAMSA_CRC32C_HAVE_SSE42
    // Needed if the first CRC is taken during static initialisation, before
    // libgcc has filled in the CPU model.
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2") == 0) return HardwarePath::none;
    // SSE4.2 without PCLMULQDQ (first-generation Core i7) keeps one stream.
    if (__builtin_cpu_supports("pclmul") == 0) return HardwarePath::single_stream;
    return HardwarePath::three_stream;
#else
    return HardwarePath::none;
#endif
}

// Decided once per process; a function-local static so it is ready even
// during static initialisation.
HardwarePath hardware_path() noexcept {
    static const HardwarePath path = detect_hardware_path();
    return path;
}

}  // namespace

std::uint32_t crc32c_portable(std::span<const std::uint8_t> data, std::uint32_t crc) noexcept {
    return ~update_portable(~crc, data.data(), data.size());
}

bool crc32c_hardware_available() noexcept {
    return hardware_path() != HardwarePath::none;
}

std::uint32_t crc32c_hardware(std::span<const std::uint8_t> data, std::uint32_t crc) noexcept {
    SAMSA_ASSERT_MSG(crc32c_hardware_available(), "crc32c_hardware on a CPU without SSE4.2");
#if SAMSA_CRC32C_HAVE_SSE42
    if (hardware_path() == HardwarePath::three_stream) {
        return ~update_three_stream(~crc, data.data(), data.size(), min_stream_words);
    }
    return ~update_sse42(~crc, data.data(), data.size());
#else
    static_cast<void>(data);
    static_cast<void>(crc);
    SAMSA_UNREACHABLE("no hardware CRC-32C in this build");
#endif
}

namespace detail {

std::uint32_t crc32c_single_stream(std::span<const std::uint8_t> data, std::uint32_t crc) noexcept {
    SAMSA_ASSERT_MSG(crc32c_hardware_available(), "crc32c_single_stream without SSE4.2");
#if SAMSA_CRC32C_HAVE_SSE42
    return ~update_sse42(~crc, data.data(), data.size());
#else
    static_cast<void>(data);
    static_cast<void>(crc);
    SAMSA_UNREACHABLE("no hardware CRC-32C in this build");
#endif
}

bool crc32c_three_stream_available() noexcept {
    return hardware_path() == HardwarePath::three_stream;
}

std::uint32_t crc32c_three_stream(std::span<const std::uint8_t> data, std::uint32_t crc) noexcept {
    SAMSA_ASSERT_MSG(crc32c_three_stream_available(), "crc32c_three_stream without PCLMULQDQ");
#if SAMSA_CRC32C_HAVE_SSE42
    return ~update_three_stream(~crc, data.data(), data.size(), 1);
#else
    static_cast<void>(data);
    static_cast<void>(crc);
    SAMSA_UNREACHABLE("no hardware CRC-32C in this build");
#endif
}

}  // namespace detail

std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc) noexcept {
    if (crc32c_hardware_available()) return crc32c_hardware(data, crc);
    return crc32c_portable(data, crc);
}

}  // namespace samsa

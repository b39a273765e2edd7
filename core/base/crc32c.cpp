// Two implementations of one function. The portable one processes eight bytes
// per step with eight 256-entry tables ("slicing-by-8"): table k holds the CRC
// of a byte followed by k zero bytes, so the contributions of eight input
// bytes can be looked up independently and XORed together. The hardware one
// feeds eight bytes at a time to the SSE4.2 CRC32 instruction, which
// implements exactly this polynomial.
#include "core/base/crc32c.h"

#include <array>
#include <cstddef>
#include <cstring>

#include "core/base/assert.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
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

#if SAMSA_CRC32C_HAVE_SSE42
__attribute__((target("sse4.2"))) std::uint32_t update_sse42(std::uint32_t state,
                                                             const std::uint8_t* data,
                                                             std::size_t size) noexcept {
    std::uint64_t wide = state;
    for (; size >= 8; size -= 8, data += 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, data, sizeof word);  // unaligned input is fine
        wide = _mm_crc32_u64(wide, word);
    }
    auto narrow = static_cast<std::uint32_t>(wide);
    for (; size > 0; --size, ++data) narrow = _mm_crc32_u8(narrow, *data);
    return narrow;
}

bool detect_sse42() noexcept {
    // Needed if the first CRC is taken during static initialisation, before
    // libgcc has filled in the CPU model.
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
}
#endif

}  // namespace

std::uint32_t crc32c_portable(std::span<const std::uint8_t> data, std::uint32_t crc) noexcept {
    return ~update_portable(~crc, data.data(), data.size());
}

bool crc32c_hardware_available() noexcept {
#if SAMSA_CRC32C_HAVE_SSE42
    static const bool available = detect_sse42();
    return available;
#else
    return false;
#endif
}

std::uint32_t crc32c_hardware(std::span<const std::uint8_t> data, std::uint32_t crc) noexcept {
    SAMSA_ASSERT_MSG(crc32c_hardware_available(), "crc32c_hardware on a CPU without SSE4.2");
#if SAMSA_CRC32C_HAVE_SSE42
    return ~update_sse42(~crc, data.data(), data.size());
#else
    static_cast<void>(data);
    static_cast<void>(crc);
    SAMSA_UNREACHABLE("no hardware CRC-32C in this build");
#endif
}

std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc) noexcept {
    if (crc32c_hardware_available()) return crc32c_hardware(data, crc);
    return crc32c_portable(data, crc);
}

}  // namespace samsa

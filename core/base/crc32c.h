// CRC-32C (Castagnoli), the checksum of Kafka record batches (magic 2).
//
// The value is the finished CRC (initial value and final XOR 0xFFFFFFFF
// already applied), and `crc` is a previous finished value to continue from,
// so checksums chain: crc32c(b, crc32c(a)) == crc32c(a followed by b). Start
// with 0.
//
// crc32c() uses the SSE4.2 CRC32 instruction when the CPU has it (decided once
// per process) and the table-driven code otherwise. Both give the same value
// for the same bytes, so the choice never changes what the core computes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace samsa {

std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc = 0) noexcept;

// The table-driven path (slice-by-8), on every CPU. Exposed so that tests can
// hold the hardware path to it.
std::uint32_t crc32c_portable(std::span<const std::uint8_t> data, std::uint32_t crc = 0) noexcept;

// Whether this CPU and build can use the hardware path.
bool crc32c_hardware_available() noexcept;

// The hardware path itself. Requires crc32c_hardware_available(). Large
// inputs run three interleaved CRC32 streams when the CPU also has PCLMULQDQ
// (see crc32c.cpp); small ones, or CPUs without it, run one stream.
std::uint32_t crc32c_hardware(std::span<const std::uint8_t> data, std::uint32_t crc = 0) noexcept;

// Internals, exposed for tests and bench/crc_bench.cpp only.
namespace detail {

// Bytes per stream in a full three-stream block (a block is three of these).
// Inputs are cut into full blocks, then one shorter block, then < 24 bytes.
inline constexpr std::size_t crc32c_stream_bytes = 4096;

// The original hardware path: one dependent chain of CRC32 instructions.
// Requires crc32c_hardware_available().
std::uint32_t crc32c_single_stream(std::span<const std::uint8_t> data,
                                   std::uint32_t crc = 0) noexcept;

// Whether the three-stream path can run: SSE4.2 and PCLMULQDQ.
bool crc32c_three_stream_available() noexcept;

// The three-stream path with no small-input cut-off, so that tests reach every
// block shape (down to 8 bytes per stream). Requires
// crc32c_three_stream_available().
std::uint32_t crc32c_three_stream(std::span<const std::uint8_t> data,
                                  std::uint32_t crc = 0) noexcept;

}  // namespace detail

}  // namespace samsa

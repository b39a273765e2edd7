// CRC-32C throughput (core/base/crc32c.h) on record-batch-sized buffers: the
// original single-stream SSE4.2 loop, kept as the same-run reference, against
// the three-stream path and what crc32c() dispatches to. The machine is shared
// and noisy, so read the ratio of the rows of one run rather than absolutes.
//
// "GB" (shown as GB/s) is decimal gigabytes per CPU second of the benchmark thread;
// Google Benchmark's own bytes_per_second column is in binary units.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/base/crc32c.h"
#include "core/base/prng.h"

namespace samsa::bench {
namespace {

using CrcFunction = std::uint32_t (*)(std::span<const std::uint8_t>, std::uint32_t) noexcept;

std::vector<std::uint8_t> random_buffer(std::size_t size) {
    Prng prng(size);
    std::vector<std::uint8_t> bytes(size);
    for (auto& byte : bytes) byte = static_cast<std::uint8_t>(prng.next_u64());
    return bytes;
}

// Checksums one buffer of state.range(0) bytes per iteration, chaining the
// result so that iterations cannot be folded together.
void run(benchmark::State& state, CrcFunction crc, bool available) {
    if (!available) {
        state.SkipWithError("this CPU lacks the instructions for this path");
        return;
    }
    const auto buffer = random_buffer(static_cast<std::size_t>(state.range(0)));
    std::uint32_t running = 0;
    for (auto _ : state) {
        running = crc(buffer, running);
        benchmark::DoNotOptimize(running);
    }
    const auto bytes = static_cast<std::int64_t>(state.iterations()) * state.range(0);
    state.SetBytesProcessed(bytes);
    state.counters["GB"] =
        benchmark::Counter(static_cast<double>(bytes) / 1e9, benchmark::Counter::kIsRate);
}

void BM_Crc32cSingleStream(benchmark::State& state) {
    run(state, &detail::crc32c_single_stream, crc32c_hardware_available());
}

void BM_Crc32cThreeStream(benchmark::State& state) {
    run(state, &detail::crc32c_three_stream, detail::crc32c_three_stream_available());
}

void BM_Crc32cDispatched(benchmark::State& state) {
    run(state, &crc32c, true);
}

void BM_Crc32cPortable(benchmark::State& state) {
    run(state, &crc32c_portable, true);
}

// 4 KiB, 64 KiB, 1 MiB: a small batch, and the range the storage engine
// validates.
void sizes(benchmark::internal::Benchmark* benchmark) {
    for (const std::int64_t size : {4096, 65536, 1048576}) benchmark->Arg(size);
}

BENCHMARK(BM_Crc32cSingleStream)->Apply(sizes);
BENCHMARK(BM_Crc32cThreeStream)->Apply(sizes);
BENCHMARK(BM_Crc32cDispatched)->Apply(sizes);
BENCHMARK(BM_Crc32cPortable)->Apply(sizes);

}  // namespace
}  // namespace samsa::bench

BENCHMARK_MAIN();

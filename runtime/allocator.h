// glibc's malloc, set up for a process that moves large buffers.
//
// samsa allocates many short-lived buffers of 64 KiB to a few MiB: request
// frames, the log's flush writes, fetch answers. With glibc's default
// thresholds these did not come back from the free lists warm: measured here
// (2 cores, kernel 6.18), building 2 MiB answers out of cached batches ran at
// 2 GB/s, every buffer page-faulted afresh, and 36 GB/s with the settings
// below. tune_allocator() keeps allocations under 64 MiB in the heap and lets
// up to 512 MiB of free heap stay mapped; the process's memory is then its
// peak, not its current use. Call it first thing in main().
#pragma once

namespace samsa::runtime {

void tune_allocator() noexcept;

}  // namespace samsa::runtime

#include "runtime/allocator.h"

#include <malloc.h>

namespace samsa::runtime {

void tune_allocator() noexcept {
    constexpr int mmap_threshold = 64 << 20;
    constexpr int trim_threshold = 512 << 20;
    // Failure leaves glibc's defaults: slower, not wrong.
    (void)mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    (void)mallopt(M_TRIM_THRESHOLD, trim_threshold);
}

}  // namespace samsa::runtime

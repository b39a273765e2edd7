// Page-aligned memory for O_DIRECT transfers, and a pool that recycles it.
//
// O_DIRECT needs the buffer's address, the file offset and the length aligned
// to the device's logical block; 4 KiB (io::direct_alignment) covers every
// device in use. Fresh memory is slow to touch on these machines (every page
// faults on first use), so buffers go back to a pool after each transfer and
// the next transfer of a similar size reuses one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "core/base/assert.h"
#include "core/io/seam.h"

namespace samsa::runtime {

class AlignedBuffer {
public:
    AlignedBuffer() = default;
    // `capacity` is rounded up to a multiple of io::direct_alignment.
    explicit AlignedBuffer(std::size_t capacity) {
        capacity_ = io::align_up(capacity == 0 ? 1 : capacity);
        void* memory = std::aligned_alloc(io::direct_alignment, capacity_);
        SAMSA_ASSERT_MSG(memory != nullptr, "out of memory for an aligned buffer");
        memory_.reset(static_cast<std::uint8_t*>(memory));
    }

    [[nodiscard]] std::uint8_t* data() noexcept { return memory_.get(); }
    [[nodiscard]] const std::uint8_t* data() const noexcept { return memory_.get(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] bool empty() const noexcept { return memory_ == nullptr; }

private:
    struct Free {
        void operator()(std::uint8_t* memory) const noexcept { std::free(memory); }
    };
    std::unique_ptr<std::uint8_t, Free> memory_;
    std::size_t capacity_ = 0;
};

class AlignedBufferPool {
public:
    // What the pool keeps between transfers; beyond it buffers are freed.
    static constexpr std::size_t buffers_kept_max = 32;
    static constexpr std::size_t bytes_kept_max = std::size_t{256} << 20;

    // A buffer of at least `size` bytes: the smallest kept one that fits, or a
    // new one (sizes rounded up to a power of two, so they recycle well).
    AlignedBuffer take(std::size_t size) {
        std::size_t best = kept_.size();
        for (std::size_t i = 0; i < kept_.size(); ++i) {
            if (kept_[i].capacity() >= size &&
                (best == kept_.size() || kept_[i].capacity() < kept_[best].capacity())) {
                best = i;
            }
        }
        if (best == kept_.size()) return AlignedBuffer(power_of_two_at_least(size));
        AlignedBuffer found = std::move(kept_[best]);
        kept_[best] = std::move(kept_.back());
        kept_.pop_back();
        kept_bytes_ -= found.capacity();
        return found;
    }

    void give(AlignedBuffer buffer) {
        if (buffer.empty()) return;
        if (kept_.size() >= buffers_kept_max || kept_bytes_ + buffer.capacity() > bytes_kept_max) {
            return;  // freed here
        }
        kept_bytes_ += buffer.capacity();
        kept_.push_back(std::move(buffer));
    }

    [[nodiscard]] std::size_t kept() const noexcept { return kept_.size(); }

private:
    static std::size_t power_of_two_at_least(std::size_t n) noexcept {
        std::size_t size = io::direct_alignment;
        while (size < n) size *= 2;
        return size;
    }

    std::vector<AlignedBuffer> kept_;
    std::size_t kept_bytes_ = 0;
};

}  // namespace samsa::runtime

// A fixed-capacity FIFO ring. A full queue refuses the push (the caller pushes
// back on its producer); it never grows. The capacity is the named limit.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

#include "core/base/assert.h"

namespace samsa {

template <class T>
class BoundedQueue {
public:
    explicit BoundedQueue(std::size_t capacity_max)
        : slots_(std::make_unique<std::optional<T>[]>(capacity_max)), capacity_(capacity_max) {
        SAMSA_ASSERT(capacity_max > 0);
    }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] bool full() const noexcept { return size_ == capacity_; }

    // Returns false, leaving the queue unchanged, when it is full.
    [[nodiscard]] bool try_push(T value) {
        if (full()) return false;
        const std::size_t tail = (head_ + size_) % capacity_;
        SAMSA_ASSERT(!slots_[tail].has_value());
        slots_[tail].emplace(std::move(value));
        ++size_;
        return true;
    }

    T& front() {
        SAMSA_ASSERT(!empty());
        return *slots_[head_];
    }

    T& at(std::size_t index) {
        SAMSA_ASSERT(index < size_);
        return *slots_[(head_ + index) % capacity_];
    }

    T pop() {
        SAMSA_ASSERT(!empty());
        T value = std::move(*slots_[head_]);
        slots_[head_].reset();
        head_ = (head_ + 1) % capacity_;
        --size_;
        return value;
    }

    void clear() {
        while (!empty()) pop();
    }

private:
    std::unique_ptr<std::optional<T>[]> slots_;
    std::size_t capacity_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace samsa

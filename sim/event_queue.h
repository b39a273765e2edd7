// The simulator's event queue: a binary heap ordered by (time, sequence).
// The sequence number is the order of scheduling, so two events at the same
// instant run in the order they were scheduled - never in pointer or hash
// order. Payloads live in a slab and only small keys move inside the heap.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/base/assert.h"
#include "core/base/time.h"

namespace samsa::sim {

template <class Payload>
class EventQueue {
public:
    struct Popped {
        Instant at;
        std::uint64_t sequence;
        Payload payload;
    };

    explicit EventQueue(std::size_t events_max) : events_max_(events_max) {}

    [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }
    [[nodiscard]] Instant next_time() const {
        SAMSA_ASSERT(!heap_.empty());
        return heap_.front().at;
    }

    std::uint64_t push(Instant at, Payload payload) {
        SAMSA_ASSERT_MSG(heap_.size() < events_max_, "simulator events_max exceeded");
        std::uint32_t slot;
        if (free_slots_.empty()) {
            slot = static_cast<std::uint32_t>(slots_.size());
            slots_.push_back(std::move(payload));
        } else {
            slot = free_slots_.back();
            free_slots_.pop_back();
            slots_[slot] = std::move(payload);
        }
        const std::uint64_t sequence = next_sequence_++;
        heap_.push_back(Key{at, sequence, slot});
        std::push_heap(heap_.begin(), heap_.end(), later);
        return sequence;
    }

    Popped pop() {
        SAMSA_ASSERT(!heap_.empty());
        std::pop_heap(heap_.begin(), heap_.end(), later);
        const Key key = heap_.back();
        heap_.pop_back();
        Popped popped{key.at, key.sequence, std::move(slots_[key.slot])};
        free_slots_.push_back(key.slot);
        return popped;
    }

    void clear() {
        heap_.clear();
        slots_.clear();
        free_slots_.clear();
    }

private:
    struct Key {
        Instant at;
        std::uint64_t sequence;
        std::uint32_t slot;
    };
    // std heap functions build a max-heap; "later" puts the earliest on top.
    static bool later(const Key& a, const Key& b) noexcept {
        if (a.at != b.at) return a.at > b.at;
        return a.sequence > b.sequence;
    }

    std::vector<Key> heap_;
    std::vector<Payload> slots_;
    std::vector<std::uint32_t> free_slots_;
    std::uint64_t next_sequence_ = 0;
    std::size_t events_max_;
};

}  // namespace samsa::sim

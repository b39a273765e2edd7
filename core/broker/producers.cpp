#include "core/broker/producers.h"

#include <algorithm>
#include <climits>

#include "core/base/assert.h"

namespace samsa::broker {

std::int32_t ProducerWindow::next_sequence(std::int32_t last) noexcept {
    return last == INT32_MAX ? 0 : last + 1;
}

ProducerWindow::Check ProducerWindow::check(const Batch& batch) const {
    SAMSA_ASSERT(batch.producer_id >= 0);
    const auto found = producers_.find(batch.producer_id);
    if (found == producers_.end()) return {};  // unknown (new, or before a restart)
    const Producer& producer = found->second;
    if (batch.epoch < producer.epoch) return {Verdict::refuse, kInvalidProducerEpoch, {}, 0, false};
    if (batch.epoch > producer.epoch) {
        // A new epoch starts its sequences again.
        if (batch.first_sequence == 0) return {};
        return {Verdict::refuse, kOutOfOrderSequence, {}, 0, false};
    }
    for (const Entry& entry : producer.batches) {
        if (entry.first_sequence == batch.first_sequence &&
            entry.last_sequence == batch.last_sequence) {
            return {Verdict::duplicate, 0, entry.base, entry.append, !entry.done};
        }
    }
    if (producer.batches.empty() ||
        batch.first_sequence == next_sequence(producer.batches.back().last_sequence)) {
        return {};
    }
    return {Verdict::refuse, kOutOfOrderSequence, {}, 0, false};
}

void ProducerWindow::appended(const Batch& batch, std::uint64_t append, Offset base) {
    remember(batch, base, append, false);
    in_flight_.emplace(append, batch.producer_id);
}

void ProducerWindow::remember(const Batch& batch, Offset base, std::uint64_t append, bool done) {
    auto found = producers_.find(batch.producer_id);
    if (found == producers_.end()) {
        if (producers_.size() >= limits_.producers_max) evict_one();
        found = producers_.emplace(batch.producer_id, Producer{}).first;
    }
    Producer& producer = found->second;
    if (batch.epoch != producer.epoch) {
        producer.epoch = batch.epoch;
        producer.batches.clear();
    }
    producer.batches.push_back(
        Entry{batch.first_sequence, batch.last_sequence, base, append, done});
    while (producer.batches.size() > limits_.window_batches) producer.batches.pop_front();
    producer.last_seen = ++clock_;
}

void ProducerWindow::restore(const Batch& batch, Offset base) {
    remember(batch, base, 0, true);
}

void ProducerWindow::completed(std::uint64_t append, bool ok) {
    const auto flying = in_flight_.find(append);
    if (flying == in_flight_.end()) return;
    const std::int64_t producer_id = flying->second;
    in_flight_.erase(flying);
    const auto found = producers_.find(producer_id);
    if (found == producers_.end()) return;  // evicted meanwhile
    auto& batches = found->second.batches;
    const auto at = std::find_if(batches.begin(), batches.end(),
                                 [&](const Entry& e) { return e.append == append; });
    if (at == batches.end()) return;  // left the window meanwhile
    if (ok) {
        at->done = true;
        return;
    }
    batches.erase(at, batches.end());
    // With nothing left to continue from, the producer is unknown again.
    if (batches.empty()) producers_.erase(found);
}

void ProducerWindow::evict_one() {
    const auto oldest = std::min_element(
        producers_.begin(), producers_.end(),
        [](const auto& a, const auto& b) { return a.second.last_seen < b.second.last_seen; });
    if (oldest != producers_.end()) producers_.erase(oldest);
}

}  // namespace samsa::broker

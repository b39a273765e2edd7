#include "core/log/batch_cache.h"

#include <algorithm>
#include <iterator>

#include "core/base/assert.h"

namespace samsa::log {

CacheBudget::~CacheBudget() {
    SAMSA_ASSERT_MSG(oldest_.empty() && bytes_ == 0, "a CacheBudget outlived by its caches");
}

void CacheBudget::evict() {
    while (bytes_ > bytes_max_) {
        SAMSA_ASSERT(!oldest_.empty());
        oldest_.begin()->second->pop_front();
    }
}

BatchCache::BatchCache(const BatchCache& other)
    : bytes_max_(other.bytes_max_),
      budget_(nullptr),
      bytes_(other.bytes_),
      entries_(other.entries_) {
    SAMSA_ASSERT_MSG(other.budget_ == nullptr, "a BatchCache with a budget cannot be copied");
}

BatchCache::BatchCache(BatchCache&& other) noexcept
    : bytes_max_(other.bytes_max_),
      budget_(nullptr),
      bytes_(other.bytes_),
      entries_(std::move(other.entries_)) {
    SAMSA_ASSERT_MSG(other.budget_ == nullptr, "a BatchCache with a budget cannot move");
    other.entries_.clear();
    other.bytes_ = 0;
}

void BatchCache::add(Offset base, Offset last, io::Bytes batch) {
    SAMSA_ASSERT(base <= last);
    if (!entries_.empty() && entries_.back().last.next() != base) clear();
    const std::uint64_t size = batch.size();
    // Such a batch would evict everything, itself included.
    if (size > bytes_max_ || (budget_ != nullptr && size > budget_->bytes_max_)) return;
    const bool was_empty = entries_.empty();
    bytes_ += size;
    const std::uint64_t age = budget_ != nullptr ? ++budget_->added_ : 0;
    entries_.push_back(Entry{base, last, std::move(batch), age});
    if (was_empty) note_oldest();  // else the oldest batch is still the same
    if (budget_ != nullptr) budget_->bytes_ += size;
    while (bytes_ > bytes_max_) pop_front();
    if (budget_ != nullptr) budget_->evict();
}

std::optional<io::Bytes> BatchCache::read(Offset from, std::uint32_t max_bytes, Offset end) const {
    if (entries_.empty() || from < entries_.front().base || from > entries_.back().last) {
        return std::nullopt;
    }
    auto at =
        std::lower_bound(entries_.begin(), entries_.end(), from,
                         [](const Entry& entry, Offset offset) { return entry.last < offset; });
    SAMSA_ASSERT(at != entries_.end() && at->base <= from);
    if (at->base >= end) return std::nullopt;
    // Like a read from disk: the first batch, then those that fit in max_bytes.
    auto stop = at;
    std::uint64_t size = 0;
    for (; stop != entries_.end() && stop->base < end; ++stop) {
        if (size > 0 && size + stop->bytes.size() > max_bytes) break;
        size += stop->bytes.size();
    }
    io::Bytes out;
    out.reserve(size);
    for (; at != stop; ++at) io::append(out, at->bytes);
    return out;
}

void BatchCache::truncate(Offset offset) {
    while (!entries_.empty() && entries_.back().last >= offset) pop_back();
}

void BatchCache::clear() {
    while (!entries_.empty()) pop_back();
}

std::optional<Offset> BatchCache::first() const {
    if (entries_.empty()) return std::nullopt;
    return entries_.front().base;
}

void BatchCache::pop_front() {
    drop(entries_.begin());
}

void BatchCache::pop_back() {
    drop(std::prev(entries_.end()));
}

void BatchCache::drop(std::deque<Entry>::iterator entry) {
    SAMSA_ASSERT(!entries_.empty());
    const bool oldest = entry == entries_.begin();
    SAMSA_ASSERT(oldest || entry == std::prev(entries_.end()));
    if (oldest) forget_oldest();  // the budget's record changes only with the oldest
    const std::uint64_t size = entry->bytes.size();
    bytes_ -= size;
    if (budget_ != nullptr) budget_->bytes_ -= size;
    entries_.erase(entry);
    if (oldest) note_oldest();
}

void BatchCache::forget_oldest() {
    if (budget_ == nullptr || entries_.empty()) return;
    const auto erased = budget_->oldest_.erase({entries_.front().age, this});
    SAMSA_ASSERT(erased == 1);
}

void BatchCache::note_oldest() {
    if (budget_ == nullptr || entries_.empty()) return;
    const bool inserted = budget_->oldest_.emplace(entries_.front().age, this).second;
    SAMSA_ASSERT(inserted);
}

}  // namespace samsa::log

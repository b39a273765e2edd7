#include "core/log/batch_cache.h"

#include <algorithm>

#include "core/base/assert.h"

namespace samsa::log {

void BatchCache::add(Offset base, Offset last, io::Bytes batch) {
    SAMSA_ASSERT(base <= last);
    if (!entries_.empty() && entries_.back().last.next() != base) clear();
    if (batch.size() > bytes_max_) return;  // would evict everything, itself included
    bytes_ += batch.size();
    entries_.push_back(Entry{base, last, std::move(batch)});
    while (bytes_ > bytes_max_) {
        bytes_ -= entries_.front().bytes.size();
        entries_.pop_front();
    }
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
    io::Bytes out;
    // Like a read from disk: batches until max_bytes is reached or passed.
    for (; at != entries_.end() && at->base < end && out.size() < max_bytes; ++at) {
        out.insert(out.end(), at->bytes.begin(), at->bytes.end());
    }
    return out;
}

void BatchCache::truncate(Offset offset) {
    while (!entries_.empty() && entries_.back().last >= offset) {
        bytes_ -= entries_.back().bytes.size();
        entries_.pop_back();
    }
}

void BatchCache::clear() {
    entries_.clear();
    bytes_ = 0;
}

std::optional<Offset> BatchCache::first() const {
    if (entries_.empty()) return std::nullopt;
    return entries_.front().base;
}

}  // namespace samsa::log

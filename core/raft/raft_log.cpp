#include "core/raft/raft_log.h"

#include <algorithm>

#include "core/base/assert.h"

namespace samsa::raft {

RaftLog::RaftLog(Index base_index, Term base_term)
    : base_index_(base_index),
      base_term_(base_term),
      last_index_(base_index),
      durable_index_(base_index) {
    SAMSA_ASSERT(base_index.value() >= 0);
    SAMSA_ASSERT(base_term.value() >= 0);
    runs_.emplace_back(base_term, base_index);
}

std::optional<Term> RaftLog::term_at(Index index) const noexcept {
    if (index < base_index_ || index > last_index_) return std::nullopt;
    // The last run whose first index is <= index.
    auto it = std::upper_bound(runs_.begin(), runs_.end(), index,
                               [](Index i, const auto& run) { return i < run.second; });
    SAMSA_ASSERT(it != runs_.begin());
    return std::prev(it)->first;
}

bool RaftLog::matches(Index index, Term term) const noexcept {
    const auto have = term_at(index);
    return have.has_value() && *have == term;
}

Index RaftLog::last_index_with_term_at_most(Index index, Term term) const noexcept {
    Index candidate = std::min(index, last_index_);
    if (candidate <= base_index_) return base_index_;
    // Walk the runs backwards; at most one step per term.
    for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
        if (it->second > candidate) continue;
        if (it->first <= term) return candidate;
        if (it->second <= base_index_) return base_index_;
        candidate = Index(it->second.value() - 1);
    }
    return base_index_;
}

void RaftLog::append(Entry entry) {
    SAMSA_ASSERT_MSG(entry.index == last_index_.next(), "append must extend the log");
    SAMSA_ASSERT_MSG(entry.term >= last_term(), "terms never decrease along the log");
    if (entry.term != last_term()) runs_.emplace_back(entry.term, entry.index);
    last_index_ = entry.index;
    cache_bytes_ += entry.payload.size();
    cache_.push_back(std::move(entry));
    check();
}

void RaftLog::truncate_from(Index from) {
    SAMSA_ASSERT_MSG(from > base_index_, "truncation below the log start");
    if (from > last_index_) return;
    SAMSA_ASSERT_MSG(from >= cache_first(), "uncached entries are durable and committed");
    while (!cache_.empty() && cache_.back().index >= from) {
        cache_bytes_ -= cache_.back().payload.size();
        cache_.pop_back();
    }
    while (runs_.back().second >= from) runs_.pop_back();
    last_index_ = Index(from.value() - 1);
    durable_index_ = std::min(durable_index_, last_index_);
    check();
}

void RaftLog::reset(Index base_index, Term base_term) {
    cache_.clear();
    cache_bytes_ = 0;
    runs_.assign(1, {base_term, base_index});
    base_index_ = base_index;
    base_term_ = base_term;
    last_index_ = base_index;
    // Not durable until the host says so: the reset itself is a write.
    durable_index_ = std::min(durable_index_, base_index);
}

bool RaftLog::mark_durable(Index up_to, Term term) {
    if (up_to <= durable_index_ || !matches(up_to, term)) return false;
    durable_index_ = up_to;
    return true;
}

void RaftLog::advance_base(Index new_base) {
    if (new_base <= base_index_) return;
    SAMSA_ASSERT_MSG(new_base <= durable_index_, "retention beyond the durable log");
    const auto term = term_at(new_base);
    SAMSA_ASSERT(term.has_value());
    while (!cache_.empty() && cache_.front().index <= new_base) {
        cache_bytes_ -= cache_.front().payload.size();
        cache_.pop_front();
    }
    // Keep the run holding new_base, starting at it.
    while (runs_.size() > 1 && runs_[1].second <= new_base) runs_.erase(runs_.begin());
    runs_.front() = {*term, new_base};
    base_index_ = new_base;
    base_term_ = *term;
    check();
}

const Entry* RaftLog::cached(Index index) const noexcept {
    if (cache_.empty() || index < cache_.front().index || index > last_index_) return nullptr;
    const auto& entry = cache_[static_cast<std::size_t>(index.distance_from(cache_.front().index))];
    SAMSA_ASSERT(entry.index == index);
    return &entry;
}

Index RaftLog::cache_first() const noexcept {
    return cache_.empty() ? last_index_.next() : cache_.front().index;
}

void RaftLog::evict(Index commit, std::size_t bytes_max) {
    while (!cache_.empty() && cache_bytes_ > bytes_max && cache_.front().index <= commit &&
           cache_.front().index <= durable_index_) {
        cache_bytes_ -= cache_.front().payload.size();
        cache_.pop_front();
    }
}

void RaftLog::check() const {
    SAMSA_ASSERT(!runs_.empty() && runs_.front().second == base_index_);
    SAMSA_ASSERT(runs_.back().second <= last_index_);
    SAMSA_ASSERT(durable_index_ <= last_index_);
    SAMSA_ASSERT(cache_.empty() || cache_.back().index == last_index_);
}

}  // namespace samsa::raft

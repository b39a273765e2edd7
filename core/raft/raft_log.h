// The Raft machine's view of its log. Storage is not here: the host holds the
// entries. The view knows
//   - the base: the last index before the log start, and its term (0, 0 for
//     a log that never lost its prefix), like a snapshot's last entry;
//   - a term-run table, term -> first index of that term (Kafka's leader-epoch
//     cache), so the term of any index in [base, last] is known without the
//     entries;
//   - how far the log is durable (the host says so with mark_durable);
//   - a cache of the newest entries: every entry not yet durable or not yet
//     committed, plus durable committed ones up to a byte budget. A follower
//     that needs older entries gets them through the host (Ready::reads).
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "core/raft/types.h"

namespace samsa::raft {

class RaftLog {
public:
    RaftLog(Index base_index, Term base_term);

    [[nodiscard]] Index base_index() const noexcept { return base_index_; }
    [[nodiscard]] Term base_term() const noexcept { return base_term_; }
    [[nodiscard]] Index last_index() const noexcept { return last_index_; }
    [[nodiscard]] Term last_term() const noexcept { return runs_.back().first; }
    [[nodiscard]] Index durable_index() const noexcept { return durable_index_; }
    // The term of `index`, when base <= index <= last.
    [[nodiscard]] std::optional<Term> term_at(Index index) const noexcept;
    [[nodiscard]] bool matches(Index index, Term term) const noexcept;
    // The last index <= min(index, last) whose term is <= term, not below the
    // base (the conflict hint of AppendResponse).
    [[nodiscard]] Index last_index_with_term_at_most(Index index, Term term) const noexcept;
    // Runs of terms after the base, for tests and checkers: (term, first index).
    [[nodiscard]] const std::vector<std::pair<Term, Index>>& runs() const noexcept { return runs_; }

    // Appends at last + 1 with a term >= the last term.
    void append(Entry entry);
    // Drops every entry at or after `from` (> base).
    void truncate_from(Index from);
    // Drops everything: the log starts over after (base_index, base_term).
    void reset(Index base_index, Term base_term);
    // The host made the log durable up to `up_to`, whose term was `term`. A
    // stale report (the entry was since truncated) is ignored. True when the
    // durable index advanced.
    bool mark_durable(Index up_to, Term term);
    // Retention removed the prefix: the log now starts after `new_base`.
    void advance_base(Index new_base);

    // The cached entry at `index`, if present.
    [[nodiscard]] const Entry* cached(Index index) const noexcept;
    [[nodiscard]] Index cache_first() const noexcept;
    // Drops cached entries that are durable and at or below `commit` while
    // the cache holds more than `bytes_max` payload bytes.
    void evict(Index commit, std::size_t bytes_max);
    [[nodiscard]] std::size_t cache_bytes() const noexcept { return cache_bytes_; }

private:
    void check() const;

    Index base_index_;
    Term base_term_;
    Index last_index_;
    Index durable_index_;
    // (term, first index); the first run starts at the base. Terms increase.
    std::vector<std::pair<Term, Index>> runs_;
    std::deque<Entry> cache_;  // contiguous, ends at last_index_
    std::size_t cache_bytes_ = 0;
};

}  // namespace samsa::raft

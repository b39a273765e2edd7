#include "sim/scenarios/raft_checks.h"

#include <algorithm>

#include "core/base/assert.h"
#include "core/base/hash.h"
#include "core/raft/raft.h"

namespace samsa::sim {

RaftCheckerLimits RaftCheckerLimits::from(const raft::RaftConfig& config,
                                          std::size_t pending_proposals_max,
                                          std::size_t entry_payload_bytes_max) {
    return RaftCheckerLimits{
        .uncommitted_bytes_max = config.uncommitted_bytes_max,
        .inflight_appends_max = config.inflight_appends_max,
        .inflight_bytes_max = config.inflight_bytes_max,
        .append_entries_bytes_max = config.append_entries_bytes_max,
        .entry_payload_bytes_max = entry_payload_bytes_max,
        .pending_proposals_max = pending_proposals_max,
    };
}

namespace raft_checks {

namespace {

// The chain seed of a log whose first entry no replica anchored.
constexpr std::uint64_t kUnanchoredSeed = 0x756e616e63686f72ULL;

std::string hex(std::uint64_t value) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text = "0x";
    for (int shift = 60; shift >= 0; shift -= 4) {
        text.push_back(kDigits[(value >> shift) & 0xf]);
    }
    return text;
}

std::string node_name(NodeId node) {
    return "node " + node.to_string();
}

std::string vote_name(std::optional<NodeId> vote) {
    return vote ? node_name(*vote) : std::string("nobody");
}

// The digest at `index` of a contiguous log, or nullptr.
const EntryDigest* at_index(std::span<const EntryDigest> log, Index index) {
    if (log.empty() || index < log.front().index || index > log.back().index) return nullptr;
    const auto position = static_cast<std::size_t>(index.distance_from(log.front().index));
    SAMSA_ASSERT(log[position].index == index);
    return &log[position];
}

std::string span_name(std::span<const EntryDigest> log) {
    if (log.empty()) return "empty";
    return "[" + log.front().index.to_string() + ".." + log.back().index.to_string() + "]";
}

}  // namespace

std::string describe(const EntryDigest& digest) {
    return "(index " + digest.index.to_string() + ", term " + digest.term.to_string() + ", hash " +
           hex(digest.hash) + ")";
}

// ---- 1 ----

Violation LeaderLog::record(Term term, NodeId leader, bool& fresh) {
    const auto [at, inserted] = leaders_.try_emplace(term, leader);
    fresh = inserted;
    if (at->second == leader) return std::nullopt;
    return node_name(at->second) + " and " + node_name(leader) + " both led term " +
           term.to_string();
}

// ---- 2 ----

Violation check_durable_order(const raft::HardState& before, const raft::HardState& after) {
    if (after.term < before.term) {
        return "durable term went back from " + before.term.to_string() + " to " +
               after.term.to_string();
    }
    if (after.term == before.term && before.vote.has_value() && after.vote != before.vote) {
        return "durable vote in term " + after.term.to_string() + " changed from " +
               vote_name(before.vote) + " to " + vote_name(after.vote);
    }
    return std::nullopt;
}

Violation check_lost_disk(bool may_vote, raft::Role role, std::optional<NodeId> vote,
                          std::optional<NodeId> durable_vote) {
    if (may_vote) return std::string("lost its disk, yet says it may vote");
    if (role != raft::Role::follower) {
        return std::string("lost its disk, yet is ") + raft::to_string(role);
    }
    if (vote || durable_vote) {
        return "lost its disk, yet voted for " + vote_name(vote ? vote : durable_vote);
    }
    return std::nullopt;
}

// ---- 3 ----

std::uint64_t chain_next(std::uint64_t previous, const EntryDigest& digest) {
    std::uint64_t link = hash_combine(previous, static_cast<std::uint64_t>(digest.index.value()));
    link = hash_combine(link, static_cast<std::uint64_t>(digest.term.value()));
    return hash_combine(link, digest.hash);
}

Index LogCopy::first_index() const noexcept {
    return digests_.empty() ? Index(0) : digests_.front().index;
}

Index LogCopy::last_index() const noexcept {
    return digests_.empty() ? Index(0) : digests_.back().index;
}

const EntryDigest* LogCopy::find(Index index) const noexcept {
    return at_index(digests_, index);
}

std::uint64_t LogCopy::chain_at(Index index) const noexcept {
    const EntryDigest* digest = find(index);
    if (digest == nullptr) return 0;
    return chains_[static_cast<std::size_t>(digest - digests_.data())];
}

Violation LogCopy::append(const EntryDigest& digest, std::optional<std::uint64_t> anchor) {
    if (digest.index < Index(1)) return "wrote an entry at index " + digest.index.to_string();
    if (digests_.empty()) {
        anchored_ = digest.index == Index(1) || anchor.has_value();
        const std::uint64_t chain = digest.index == Index(1) ? chain_next(0, digest)
                                    : anchor                 ? *anchor
                                                             : chain_next(kUnanchoredSeed, digest);
        digests_.push_back(digest);
        chains_.push_back(chain);
        return std::nullopt;
    }
    const EntryDigest& last = digests_.back();
    if (digest.index != last.index.next()) {
        return "its log as written jumps from " + describe(last) + " to " + describe(digest);
    }
    if (digest.term < last.term) {
        return "its log as written goes back in term from " + describe(last) + " to " +
               describe(digest);
    }
    chains_.push_back(chain_next(chains_.back(), digest));
    digests_.push_back(digest);
    return std::nullopt;
}

std::vector<EntryDigest> LogCopy::truncate_from(Index from) {
    if (digests_.empty() || from > last_index()) return {};
    const std::size_t keep =
        from <= first_index() ? 0 : static_cast<std::size_t>(from.distance_from(first_index()));
    std::vector<EntryDigest> removed(digests_.begin() + static_cast<std::ptrdiff_t>(keep),
                                     digests_.end());
    digests_.resize(keep);
    chains_.resize(keep);
    if (digests_.empty()) anchored_ = true;
    return removed;
}

void LogCopy::keep_up_to(Index last) {
    truncate_from(last.next());
}

void LogCopy::clear() {
    digests_.clear();
    chains_.clear();
    anchored_ = true;
}

const ChainRegistry::Item* ChainRegistry::lookup(Index index, Term term) const {
    const auto position = static_cast<std::size_t>(index.value() - 1);
    if (position >= first_.size() || !first_[position].present) return nullptr;
    if (first_[position].term == term) return &first_[position];
    const auto other = others_.find({index.value(), term.value()});
    return other == others_.end() ? nullptr : &other->second;
}

Violation ChainRegistry::observe(NodeId holder, const EntryDigest& digest, std::uint64_t chain,
                                 bool anchored, NodeId& first_holder) {
    SAMSA_ASSERT(digest.index >= Index(1));
    const auto position = static_cast<std::size_t>(digest.index.value() - 1);
    if (position >= first_.size()) first_.resize(position + 1);
    const Item fresh{digest.term, digest.hash, chain, holder, anchored, true};
    Item* item = &first_[position];
    if (!item->present) {
        *item = fresh;
    } else if (item->term != digest.term) {
        item =
            &others_.try_emplace({digest.index.value(), digest.term.value()}, fresh).first->second;
    }
    first_holder = item->holder;
    if (item->hash != digest.hash) {
        return node_name(holder) + " and " + node_name(item->holder) + " both hold index " +
               digest.index.to_string() + " of term " + digest.term.to_string() +
               " with different entries (hashes " + hex(digest.hash) + " and " + hex(item->hash) +
               ")";
    }
    if (anchored && item->anchored && item->chain != chain) {
        return node_name(holder) + " and " + node_name(item->holder) + " both hold " +
               describe(digest) + " but their logs differ below it (hash chains " + hex(chain) +
               " and " + hex(item->chain) + ")";
    }
    if (anchored && !item->anchored) *item = fresh;
    return std::nullopt;
}

std::optional<std::uint64_t> ChainRegistry::anchor(const EntryDigest& digest) const {
    const Item* item = lookup(digest.index, digest.term);
    if (item == nullptr || !item->anchored || item->hash != digest.hash) return std::nullopt;
    return item->chain;
}

Violation check_log_matching(std::span<const EntryDigest> a, std::span<const EntryDigest> b) {
    if (a.empty() || b.empty()) return std::nullopt;
    const Index low = std::max(a.front().index, b.front().index);
    const Index high = std::min(a.back().index, b.back().index);
    std::optional<Index> top;
    for (Index i = high; i >= low && !top; i = Index(i.value() - 1)) {
        if (at_index(a, i)->term == at_index(b, i)->term) top = i;
    }
    if (!top) return std::nullopt;
    for (Index i = low; i <= *top; i = i.next()) {
        const EntryDigest& left = *at_index(a, i);
        const EntryDigest& right = *at_index(b, i);
        if (left == right) continue;
        return "both hold index " + top->to_string() + " of term " +
               at_index(a, *top)->term.to_string() + ", yet at index " + i.to_string() +
               " one holds " + describe(left) + " and the other " + describe(right);
    }
    return std::nullopt;
}

// ---- 4 ----

Violation check_leader_truncation(Term leader_term, const raft::RaftLog& log,
                                  std::span<const EntryDigest> removed) {
    for (const EntryDigest& entry : removed) {
        if (entry.term == leader_term) {
            return "as leader of term " + leader_term.to_string() + " it cut its own entry " +
                   describe(entry);
        }
        if (log.term_at(entry.index) == entry.term) {
            return "as leader of term " + leader_term.to_string() + " it cut " + describe(entry) +
                   ", which its log (Raft's view) still holds";
        }
    }
    return std::nullopt;
}

Violation check_leader_log(Index previous_last, Term previous_last_term, const raft::RaftLog& log) {
    if (log.last_index() < previous_last) {
        return "as leader its log (Raft's view) shrank from index " + previous_last.to_string() +
               " to " + log.last_index().to_string();
    }
    if (previous_last <= log.base_index()) return std::nullopt;
    const auto term = log.term_at(previous_last);
    if (term != previous_last_term) {
        return "as leader its entry at index " + previous_last.to_string() + " changed from term " +
               previous_last_term.to_string() + " to term " +
               (term ? term->to_string() : std::string("none"));
    }
    return std::nullopt;
}

// ---- 5 ----

Violation check_commit_quorum(Index commit, const EntryDigest& at_commit,
                              std::span<const NodeId> voters,
                              std::span<const std::optional<EntryDigest>> durable) {
    SAMSA_ASSERT(voters.size() == durable.size());
    std::size_t holding = 0;
    std::string detail;
    for (std::size_t i = 0; i < voters.size(); ++i) {
        if (durable[i] == at_commit) ++holding;
        detail += "; " + node_name(voters[i]) + " durably holds " +
                  (durable[i] ? describe(*durable[i]) : std::string("nothing there"));
    }
    if (2 * holding > voters.size()) return std::nullopt;
    return "committed index " + commit.to_string() + " " + describe(at_commit) + " with only " +
           std::to_string(holding) + " of " + std::to_string(voters.size()) +
           " voters holding it durably" + detail;
}

Violation check_recovered(std::span<const EntryDigest> durable,
                          std::span<const EntryDigest> recovered) {
    for (const EntryDigest& claimed : durable) {
        const EntryDigest* found = at_index(recovered, claimed.index);
        if (found == nullptr) {
            return "claimed " + describe(claimed) + " durable before it crashed (durable up to " +
                   durable.back().index.to_string() + "), but its recovered log is " +
                   span_name(recovered);
        }
        if (*found != claimed) {
            return "claimed " + describe(claimed) + " durable before it crashed, but recovered " +
                   describe(*found) + " there";
        }
    }
    return std::nullopt;
}

// ---- 6 ----

Violation Oracle::commit(NodeId node, Term term, const EntryDigest& digest, bool& fresh) {
    SAMSA_ASSERT(digest.index >= Index(1));
    fresh = false;
    const auto position = static_cast<std::size_t>(digest.index.value() - 1);
    if (position >= entries_.size()) entries_.resize(position + 1);
    Committed& known = entries_[position];
    if (known.digest.index == Index(0)) {
        known = Committed{digest, term, node};
        fresh = true;
        return std::nullopt;
    }
    if (known.digest == digest) return std::nullopt;
    return node_name(node) + " has " + describe(digest) + " committed, but " +
           node_name(known.node) + " committed " + describe(known.digest) + " there (term " +
           known.term.to_string() + ")";
}

const EntryDigest* Oracle::at(Index index) const noexcept {
    if (index < Index(1) || static_cast<std::size_t>(index.value()) > entries_.size()) {
        return nullptr;
    }
    const Committed& known = entries_[static_cast<std::size_t>(index.value() - 1)];
    return known.digest.index == Index(0) ? nullptr : &known.digest;
}

Term Oracle::commit_term(Index index) const noexcept {
    return at(index) == nullptr ? Term(0)
                                : entries_[static_cast<std::size_t>(index.value() - 1)].term;
}

Index Oracle::committed_before(Term term) const noexcept {
    for (std::size_t position = entries_.size(); position > 0; --position) {
        const Committed& known = entries_[position - 1];
        if (known.digest.index != Index(0) && known.term < term) return known.digest.index;
    }
    return Index(0);
}

// ---- 7 ----

Violation check_leader_complete(const Oracle& oracle, Term term, const raft::RaftLog& log,
                                const LogCopy& written) {
    const Index required = oracle.committed_before(term);
    if (required <= log.base_index()) return std::nullopt;
    const EntryDigest& committed = *oracle.at(required);
    const std::string prefix = "the new leader of term " + term.to_string() + " lacks " +
                               describe(committed) + ", committed in term " +
                               oracle.commit_term(required).to_string() + ": ";
    if (log.last_index() < required) {
        return prefix + "its log ends at index " + log.last_index().to_string();
    }
    const auto held = log.term_at(required);
    if (held != committed.term) {
        return prefix + "its log holds term " + (held ? held->to_string() : std::string("none")) +
               " there";
    }
    const EntryDigest* own = written.find(required);
    if (own != nullptr && *own != committed) return prefix + "it wrote " + describe(*own);
    return std::nullopt;
}

// ---- 8 ----

Violation check_truncation(Index from, Index commit, std::optional<Term> term,
                           std::span<const EntryDigest> removed, const Oracle& oracle) {
    if (from <= commit) {
        return "cut its log from index " + from.to_string() + ", at or below its commit " +
               commit.to_string();
    }
    if (!term) return std::nullopt;
    for (const EntryDigest& entry : removed) {
        const EntryDigest* committed = oracle.at(entry.index);
        if (committed == nullptr || *committed != entry) continue;
        if (oracle.commit_term(entry.index) > *term) continue;
        return "in term " + term->to_string() + " cut its log from index " + from.to_string() +
               ", removing " + describe(entry) + ", committed in term " +
               oracle.commit_term(entry.index).to_string();
    }
    return std::nullopt;
}

// ---- 9 ----

Violation WatermarkLog::expose(Term term, Index watermark) {
    auto after = by_term_.upper_bound(term);
    if (after != by_term_.end() && after->second < watermark) {
        // Shown by a deposed leader after its successor showed less:
        // impossible, its commit is in every later leader's log.
        return "the leader of term " + term.to_string() + " shows high watermark " +
               watermark.to_string() + " after the leader of later term " +
               after->first.to_string() + " showed " + after->second.to_string();
    }
    if (after != by_term_.begin()) {
        const auto before = std::prev(after);
        if (before->second > watermark) {
            if (before->first == term) {
                return "the leader of term " + term.to_string() +
                       " lowered its high watermark from " + before->second.to_string() + " to " +
                       watermark.to_string();
            }
            return "the high watermark went back from " + before->second.to_string() + " (term " +
                   before->first.to_string() + ") to " + watermark.to_string() + " (term " +
                   term.to_string() + ")";
        }
    }
    if (watermark < max_) ++stale_;
    Index& shown = by_term_[term];
    shown = std::max(shown, watermark);
    max_ = std::max(max_, watermark);
    return std::nullopt;
}

Violation check_ack(const Oracle& oracle, Index max_watermark, const EntryDigest& acked,
                    bool final) {
    const EntryDigest* committed = oracle.at(acked.index);
    if (committed != nullptr && *committed != acked) {
        return "a proposal was acknowledged as " + describe(acked) + ", but " +
               describe(*committed) + " is committed there";
    }
    if (committed == nullptr && final) {
        return "a proposal was acknowledged as " + describe(acked) +
               ", but no replica ever committed that index";
    }
    if (acked.index > max_watermark) {
        return "a proposal was acknowledged as " + describe(acked) +
               " above every high watermark shown (at most " + max_watermark.to_string() + ")";
    }
    return std::nullopt;
}

// ---- 10 ----

Violation check_membership(const std::vector<std::pair<Index, raft::Membership>>& configs,
                           Index committed, const raft::Membership& current) {
    std::size_t above = 0;
    for (auto it = configs.rbegin(); it != configs.rend() && it->first > committed; ++it) {
        if (++above > 1) {
            return "config entries at indexes " + it->first.to_string() + " and " +
                   std::prev(it)->first.to_string() + " are both above the commit " +
                   committed.to_string();
        }
        if (!it->second.valid()) {
            return "the config entry at index " + it->first.to_string() +
                   " is not a valid membership (voters and learners sorted, disjoint, a voter)";
        }
    }
    if (!current.valid()) {
        return std::string("its membership is not valid (voters and learners sorted, disjoint, ") +
               "a voter)";
    }
    return std::nullopt;
}

// ---- 11 ----

Violation check_group_bounds(std::size_t uncommitted_bytes, std::size_t held_messages,
                             const RaftCheckerLimits& limits) {
    // A proposal is refused only when something is already uncommitted, so a
    // single entry may go beyond the limit on its own.
    const std::size_t uncommitted_max =
        std::max(limits.uncommitted_bytes_max, limits.entry_payload_bytes_max);
    if (uncommitted_bytes > uncommitted_max) {
        return "holds " + std::to_string(uncommitted_bytes) + " uncommitted bytes, above " +
               std::to_string(uncommitted_max);
    }
    if (held_messages > raft::Raft::held_messages_max) {
        return "holds " + std::to_string(held_messages) + " messages, above " +
               std::to_string(raft::Raft::held_messages_max);
    }
    return std::nullopt;
}

Violation check_inflight(NodeId follower, std::size_t count, std::size_t bytes,
                         const RaftCheckerLimits& limits) {
    SAMSA_ASSERT(limits.inflight_bytes_max > 0);
    if (count > limits.inflight_appends_max) {
        return "has " + std::to_string(count) + " appends in flight to " + node_name(follower) +
               ", above " + std::to_string(limits.inflight_appends_max);
    }
    // An append goes out while fewer than the limit's bytes are in flight,
    // and carries at most append_entries_bytes_max (or one larger entry).
    const std::size_t bytes_max =
        limits.inflight_bytes_max - 1 +
        std::max(limits.append_entries_bytes_max, limits.entry_payload_bytes_max);
    if (bytes > bytes_max) {
        return "has " + std::to_string(bytes) + " bytes in flight to " + node_name(follower) +
               ", above " + std::to_string(bytes_max);
    }
    return std::nullopt;
}

Violation check_pending(std::size_t pending, const RaftCheckerLimits& limits) {
    if (pending <= limits.pending_proposals_max) return std::nullopt;
    return "holds " + std::to_string(pending) + " pending proposals, above " +
           std::to_string(limits.pending_proposals_max);
}

// ---- 26 ----

Violation check_converged(NodeId leader, std::span<const EntryDigest> leader_log,
                          Index leader_commit, NodeId node, std::span<const EntryDigest> log,
                          Index commit) {
    if (commit != leader_commit) {
        return node_name(node) + " has commit " + commit.to_string() + ", the leader (" +
               node_name(leader) + ") " + leader_commit.to_string();
    }
    const Index first = log.empty() ? Index(1) : std::max(log.front().index, Index(1));
    for (Index i = first; i <= commit; i = i.next()) {
        const EntryDigest* own = at_index(log, i);
        const EntryDigest* theirs = at_index(leader_log, i);
        if (own == nullptr) {
            return node_name(node) + "'s log " + span_name(log) + " lacks committed index " +
                   i.to_string();
        }
        if (theirs != nullptr && *own != *theirs) {
            return node_name(node) + " holds " + describe(*own) + " where the leader (" +
                   node_name(leader) + ") holds " + describe(*theirs);
        }
    }
    return std::nullopt;
}

}  // namespace raft_checks
}  // namespace samsa::sim

// Properties of core/log/segment_index against a brute-force model that keeps
// every batch: lookups give batch starts at or before what they look for (and
// never more than an interval of scanning before it), the maximum timestamp is
// exact unless a truncation dropped it, truncation matches an index built
// from the kept batches, and decode(encode()) is the identity. Timestamps are
// random, not monotonic. RapidCheck prints the seed and the shrunk
// counterexample; replay with RC_PARAMS="seed=N".
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

#include "core/log/segment_index.h"

namespace samsa::log {
namespace {

struct Batch {
    Offset base;
    Offset last;
    std::int64_t max_timestamp_ms;
    std::uint64_t position;
    std::uint32_t size;
};

// (offsets skipped before the batch, offsets in it, bytes, maxTimestamp)
using Step = std::tuple<int, int, std::uint32_t, std::int64_t>;

rc::Gen<std::vector<Step>> steps() {
    return rc::gen::container<std::vector<Step>>(rc::gen::tuple(
        rc::gen::weightedOneOf<int>({{4, rc::gen::just(0)}, {1, rc::gen::inRange(1, 4)}}),
        rc::gen::inRange(1, 6), rc::gen::inRange<std::uint32_t>(1, 300),
        rc::gen::inRange<std::int64_t>(-40, 40)));
}

// Lays the steps out from offset `next`, after the bytes of `batches`.
void extend(std::vector<Batch>& batches, Offset next, const std::vector<Step>& steps) {
    std::uint64_t position = batches.empty() ? 0 : batches.back().position + batches.back().size;
    for (const auto& [gap, count, size, timestamp] : steps) {
        const Offset first = next.plus(gap);
        batches.push_back({first, first.plus(count - 1), timestamp, position, size});
        next = first.plus(count);
        position += size;
    }
}

void feed(SegmentIndex& index, const std::vector<Batch>& batches, std::size_t from = 0) {
    for (std::size_t i = from; i < batches.size(); ++i) {
        const Batch& b = batches[i];
        index.on_batch(b.base, b.last, b.max_timestamp_ms, b.position, b.size);
    }
}

// The largest maxTimestamp and the first batch that reached it.
std::optional<SegmentIndex::MaxTimestamp> model_max(const std::vector<Batch>& batches) {
    std::optional<SegmentIndex::MaxTimestamp> max;
    for (const Batch& b : batches) {
        if (!max || b.max_timestamp_ms > max->timestamp_ms) max = {{b.max_timestamp_ms, b.base}};
    }
    return max;
}

const Batch* batch_at_position(const std::vector<Batch>& batches, std::uint64_t position) {
    const auto it = std::find_if(batches.begin(), batches.end(),
                                 [&](const Batch& b) { return b.position == position; });
    return it == batches.end() ? nullptr : &*it;
}

void check_lookup_position(const SegmentIndex& index, const std::vector<Batch>& batches) {
    const Offset end = index.end_offset();
    for (Offset target = index.base().plus(-1); target <= end; target = target.next()) {
        const std::uint64_t position = index.lookup_position(target);
        // The last batch starting at or before the target, where a scan must reach.
        const Batch* wanted = nullptr;
        for (const Batch& b : batches) {
            if (b.base <= target) wanted = &b;
        }
        if (wanted == nullptr) {
            RC_ASSERT(position == 0U);
            continue;
        }
        const Batch* start = batch_at_position(batches, position);
        RC_ASSERT(start != nullptr);
        RC_ASSERT(start->base <= target);
        RC_ASSERT(position <= wanted->position);
        RC_ASSERT(wanted->position - position < index.config().interval_bytes);
    }
}

void check_lookup_time(const SegmentIndex& index, const std::vector<Batch>& batches) {
    for (std::int64_t ts = -42; ts <= 42; ++ts) {
        const auto start = index.lookup_time(ts);
        const auto match = std::find_if(batches.begin(), batches.end(),
                                        [&](const Batch& b) { return b.max_timestamp_ms >= ts; });
        if (!start) {
            RC_ASSERT(match == batches.end());
            continue;
        }
        RC_ASSERT(!(index.max_timestamp_exact() && match == batches.end()));
        RC_ASSERT(ts <= index.max_timestamp()->timestamp_ms);
        const Batch* batch = batch_at_position(batches, start->second);
        RC_ASSERT(batch != nullptr);
        RC_ASSERT(batch->base == start->first);
        if (match != batches.end()) RC_ASSERT(start->second <= match->position);
    }
}

// Everything that holds of any index, exact or not, against the batches it saw.
void check_index(const SegmentIndex& index, const std::vector<Batch>& batches) {
    RC_ASSERT(index.empty() == batches.empty());
    if (batches.empty()) {
        RC_ASSERT(index.size_bytes() == 0U);
        RC_ASSERT(index.max_timestamp() == std::nullopt);
    } else {
        // Later only after a truncation at a batch that followed a gap.
        RC_ASSERT(index.end_offset() >= batches.back().last.next());
        RC_ASSERT(index.size_bytes() == batches.back().position + batches.back().size);
        const auto max = model_max(batches);
        if (index.max_timestamp_exact()) {
            RC_ASSERT(index.max_timestamp() == max);
        } else {  // an upper bound, first reached at or after its offset
            RC_ASSERT(index.max_timestamp()->timestamp_ms >= max->timestamp_ms);
            RC_ASSERT(index.max_timestamp()->offset <= max->offset);
        }
    }
    check_lookup_position(index, batches);
    check_lookup_time(index, batches);
    const auto decoded = SegmentIndex::decode(index.encode(), index.base(), index.size_bytes());
    RC_ASSERT(decoded.ok());
    RC_ASSERT(decoded.value() == index);
}

struct Scenario {
    Offset base;
    IndexConfig config;
    std::vector<Batch> batches;
};

Scenario scenario() {
    Scenario s{Offset(*rc::gen::inRange<std::int64_t>(0, 1000)),
               IndexConfig{*rc::gen::inRange<std::uint32_t>(1, 700)},
               {}};
    extend(s.batches, s.base, *steps());  // the first batch may start after the base
    return s;
}

RC_GTEST_PROP(SegmentIndexProperty, AgreesWithEveryBatch, ()) {
    const Scenario s = scenario();
    SegmentIndex index(s.base, s.config);
    feed(index, s.batches);
    RC_ASSERT(index.max_timestamp_exact());
    check_index(index, s.batches);
}

RC_GTEST_PROP(SegmentIndexProperty, TruncationKeepsWhatAFreshIndexWouldHave, ()) {
    const Scenario s = scenario();
    SegmentIndex index(s.base, s.config);
    feed(index, s.batches);
    const auto cut = *rc::gen::inRange<std::size_t>(0, s.batches.size() + 1);
    const bool at_end = cut == s.batches.size();
    index.truncate_to(at_end ? index.end_offset() : s.batches[cut].base,
                      at_end ? index.size_bytes() : s.batches[cut].position);

    std::vector<Batch> kept(s.batches.begin(),
                            s.batches.begin() + static_cast<std::ptrdiff_t>(cut));
    SegmentIndex fresh(s.base, s.config);
    feed(fresh, kept);
    RC_ASSERT(index.offset_entries() == fresh.offset_entries());
    RC_ASSERT(index.time_entries() == fresh.time_entries());
    const auto max_before = model_max(s.batches);
    const bool max_kept =
        !max_before || max_before->offset < (at_end ? index.end_offset() : s.batches[cut].base);
    RC_ASSERT(index.max_timestamp_exact() == (kept.empty() || max_kept));
    RC_CLASSIFY(!index.max_timestamp_exact(), "maximum dropped");
    RC_ASSERT(index.size_bytes() == fresh.size_bytes());
    if (index.max_timestamp_exact()) RC_ASSERT(index.max_timestamp() == fresh.max_timestamp());
    check_index(index, kept);

    // Appending on from the cut keeps every lookup sound, exact maximum or not.
    extend(kept, index.end_offset(), *steps());
    feed(index, kept, cut);
    feed(fresh, kept, cut);
    RC_ASSERT(index.offset_entries() == fresh.offset_entries());
    check_index(index, kept);
}

}  // namespace
}  // namespace samsa::log

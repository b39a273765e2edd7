// Properties of core/log/batch: whatever records go into a BatchBuilder come
// back out of parse_records; every single-bit error the CRC covers is caught;
// and no byte string, random or a mangled valid batch, can crash the checks
// or make validate_batch and parse_records disagree. RapidCheck prints the
// seed and the shrunk counterexample; replay with RC_PARAMS="seed=N".
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/log/batch.h"
#include "core/log/batch_builder.h"

namespace samsa::log {
namespace {

using Bytes = io::Bytes;

// Shown by RapidCheck as they are: (present, bytes) stands for an optional.
using MaybeText = std::pair<bool, std::string>;
using RawHeader = std::pair<std::string, MaybeText>;
using RawRecord = std::tuple<MaybeText, MaybeText, std::vector<RawHeader>, std::int64_t>;

constexpr std::size_t bytes_max = 1 << 24;

std::span<const std::uint8_t> bytes_of(const std::string& text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::optional<std::span<const std::uint8_t>> maybe_bytes(const MaybeText& text) {
    if (!text.first) return std::nullopt;
    return bytes_of(text.second);
}

void put_be32(Bytes& bytes, std::size_t position, std::uint32_t value) {
    for (std::size_t i = 0; i < 4; ++i) {
        bytes[position + i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
    }
}

bool same(const std::optional<std::span<const std::uint8_t>>& actual, const MaybeText& expected) {
    if (actual.has_value() != expected.first) return false;
    return !actual || std::ranges::equal(*actual, bytes_of(expected.second));
}

rc::Gen<std::vector<RawRecord>> raw_records() {
    return rc::gen::nonEmpty(rc::gen::arbitrary<std::vector<RawRecord>>());
}

Bytes build(const std::vector<RawRecord>& records, BatchBuilder builder = {}) {
    for (const auto& [key, value, headers, timestamp] : records) {
        std::vector<HeaderInput> header_inputs;
        for (const auto& [header_key, header_value] : headers) {
            header_inputs.push_back({bytes_of(header_key), maybe_bytes(header_value)});
        }
        builder.add({maybe_bytes(key), maybe_bytes(value), header_inputs, timestamp});
    }
    return builder.build();
}

void check_records_match(const std::vector<RecordView>& views,
                         const std::vector<RawRecord>& records, std::int64_t base_timestamp) {
    RC_ASSERT(views.size() == records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& [key, value, headers, timestamp] = records[i];
        const RecordView& view = views[i];
        RC_ASSERT(view.offset_delta == static_cast<std::int32_t>(i));
        RC_ASSERT(static_cast<std::uint64_t>(base_timestamp) +
                      static_cast<std::uint64_t>(view.timestamp_delta) ==
                  static_cast<std::uint64_t>(timestamp));
        RC_ASSERT(same(view.key, key));
        RC_ASSERT(same(view.value, value));
        RC_ASSERT(view.headers.size() == headers.size());
        for (std::size_t h = 0; h < headers.size(); ++h) {
            RC_ASSERT(std::ranges::equal(view.headers[h].key, bytes_of(headers[h].first)));
            RC_ASSERT(same(view.headers[h].value, headers[h].second));
        }
    }
}

RC_GTEST_PROP(BatchProperty, BuiltBatchesValidateAndRoundTrip, ()) {
    const auto records = *raw_records();
    const auto base_offset = *rc::gen::inRange<std::int64_t>(0, std::int64_t{1} << 62);
    const auto leader_epoch = *rc::gen::arbitrary<std::int32_t>();
    const auto producer_id = *rc::gen::arbitrary<std::int64_t>();
    const auto sequence = *rc::gen::arbitrary<std::int32_t>();
    BatchBuilder builder;
    builder.base_offset(Offset(base_offset)).partition_leader_epoch(leader_epoch);
    builder.producer(ProducerId(producer_id), 1, sequence);
    const Bytes batch = build(records, builder);

    const auto validated = validate_batch(batch, bytes_max);
    RC_ASSERT(validated.ok());
    const BatchHeader& header = validated.value();
    RC_ASSERT(header.size_bytes() == batch.size());
    RC_ASSERT(header.records_count == static_cast<std::int32_t>(records.size()));
    RC_ASSERT(header.last_offset() == Offset(base_offset).plus(header.records_count - 1));
    RC_ASSERT(header.partition_leader_epoch == leader_epoch);
    RC_ASSERT(header.producer_id == ProducerId(producer_id));
    RC_ASSERT(header.base_sequence == sequence);
    RC_ASSERT(header.base_timestamp == std::get<3>(records.front()));
    std::int64_t max_timestamp = std::get<3>(records.front());
    for (const auto& record : records) max_timestamp = std::max(max_timestamp, std::get<3>(record));
    RC_ASSERT(header.max_timestamp == max_timestamp);

    const auto views = parse_records(batch);
    RC_ASSERT(views.ok());
    check_records_match(views.value(), records, header.base_timestamp);
}

RC_GTEST_PROP(BatchProperty, EveryBitFlipTheCrcCoversIsDetected, ()) {
    Bytes batch = build(*raw_records());
    const auto bit = *rc::gen::inRange<std::size_t>(batch_layout::attributes * 8, batch.size() * 8);
    batch[bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
    const auto validated = validate_batch(batch, bytes_max);
    RC_ASSERT(!validated.ok());
    RC_ASSERT(validated.error() == BatchError::corrupt_message);
}

RC_GTEST_PROP(BatchProperty, BitFlipsInTheUncoveredHeaderAreCaughtOrHarmless, ()) {
    Bytes batch = build(*raw_records());
    const auto bit = *rc::gen::inRange<std::size_t>(0, batch_layout::attributes * 8);
    batch[bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
    const std::size_t byte = bit / 8;
    const bool broker_owned =
        byte < batch_layout::batch_length ||
        (byte >= batch_layout::partition_leader_epoch && byte < batch_layout::magic);
    // baseOffset and partitionLeaderEpoch are outside the CRC by design;
    // batchLength, magic and the CRC itself are each checked.
    RC_ASSERT(validate_batch(batch, bytes_max).ok() == broker_owned);
}

RC_GTEST_PROP(BatchProperty, RandomBytesNeverCrashTheChecks, ()) {
    const auto bytes = *rc::gen::arbitrary<Bytes>();
    const auto limit = *rc::gen::inRange<std::size_t>(0, 2 * bytes.size() + 2);
    const auto validated = validate_batch(bytes, limit);
    if (validated.ok()) RC_ASSERT(validated.value().size_bytes() == bytes.size());
    const auto split = split_batches(bytes, limit);
    if (split.ok()) {
        std::size_t total = 0;
        for (const BatchSpan& span : split.value()) total += span.length;
        RC_ASSERT(total == bytes.size());
    }
}

// A valid batch whose record bytes are then overwritten, cut or extended, with
// batchLength and the CRC made to agree again: this reaches the record parser
// with hostile input, which plain random bytes almost never do.
RC_GTEST_PROP(BatchProperty, MangledRecordsAreRejectedOrParsedConsistently, ()) {
    Bytes batch = build(*raw_records());
    const auto edits = *rc::gen::container<std::vector<std::pair<std::size_t, std::uint8_t>>>(
        rc::gen::pair(rc::gen::arbitrary<std::size_t>(), rc::gen::arbitrary<std::uint8_t>()));
    for (const auto& [position, value] : edits) {
        batch[batch_header_bytes + position % (batch.size() - batch_header_bytes)] = value;
    }
    const auto resize = *rc::gen::inRange<std::int64_t>(-8, 9);
    const auto new_size = std::max(static_cast<std::int64_t>(batch_header_bytes),
                                   static_cast<std::int64_t>(batch.size()) + resize);
    batch.resize(static_cast<std::size_t>(new_size), 0x01);
    // Sometimes claim a different number of records, consistently.
    if (*rc::gen::arbitrary<bool>()) {
        const auto count = *rc::gen::inRange<std::int32_t>(-1, 8);
        put_be32(batch, batch_layout::records_count, static_cast<std::uint32_t>(count));
        put_be32(batch, batch_layout::last_offset_delta, static_cast<std::uint32_t>(count - 1));
    }
    put_be32(batch, batch_layout::batch_length,
             static_cast<std::uint32_t>(batch.size() - batch_length_prefix_bytes));
    seal_crc(batch);

    // With the CRC sealed, both run the same checks in the same order.
    const auto validated = validate_batch(batch, bytes_max);
    const auto parsed = parse_records(batch);
    RC_ASSERT(validated.ok() == parsed.ok());
    if (validated.ok()) {
        RC_ASSERT(parsed.value().size() ==
                  static_cast<std::size_t>(validated.value().records_count));
    } else {
        RC_ASSERT(validated.error() == parsed.error());
        RC_ASSERT(validated.error() == BatchError::corrupt_message ||
                  validated.error() == BatchError::invalid_record);
    }
}

RC_GTEST_PROP(BatchProperty, SplitFindsEveryConcatenatedBatch, ()) {
    const auto batches = *rc::gen::nonEmpty(
        rc::gen::container<std::vector<std::vector<RawRecord>>>(rc::gen::resize(8, raw_records())));
    Bytes concatenation;
    std::vector<std::size_t> sizes;
    for (const auto& records : batches) {
        const Bytes batch = build(records);
        sizes.push_back(batch.size());
        concatenation.insert(concatenation.end(), batch.begin(), batch.end());
    }
    const auto split = split_batches(concatenation, bytes_max);
    RC_ASSERT(split.ok());
    RC_ASSERT(split.value().size() == batches.size());
    std::size_t position = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        RC_ASSERT(split.value()[i].offset == position);
        RC_ASSERT(split.value()[i].length == sizes[i]);
        position += sizes[i];
    }
    const auto cut = *rc::gen::inRange<std::size_t>(1, sizes.back());
    concatenation.resize(concatenation.size() - cut);
    const auto truncated = split_batches(concatenation, bytes_max);
    RC_ASSERT(!truncated.ok());
    RC_ASSERT(truncated.error() == BatchError::corrupt_message);
}

}  // namespace
}  // namespace samsa::log

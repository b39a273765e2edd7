// Batches for partition-log tests: recognisable content, and a comparison
// that ignores what the log owns.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/io/seam.h"
#include "core/log/batch.h"
#include "core/log/batch_builder.h"

namespace samsa::testing {

// Batch number `index`: `records` records with keys "key-<index>-<r>" and
// `value_bytes`-long values of one letter that depends on index and r.
inline io::Bytes make_log_batch(std::size_t index, std::size_t records, std::size_t value_bytes) {
    log::BatchBuilder builder;
    for (std::size_t r = 0; r < records; ++r) {
        const std::string key = "key-" + std::to_string(index) + "-" + std::to_string(r);
        const std::string value(value_bytes, static_cast<char>('a' + (index + r) % 26));
        const auto* k = reinterpret_cast<const std::uint8_t*>(key.data());
        const auto* v = reinterpret_cast<const std::uint8_t*>(value.data());
        builder.add(log::RecordInput{std::span(k, key.size()),
                                     std::span(v, value.size()),
                                     {},
                                     static_cast<std::int64_t>(1000 + index)});
    }
    return builder.build();
}

// Equal except for the log-owned baseOffset and partitionLeaderEpoch.
inline bool same_batch(std::span<const std::uint8_t> stored, std::span<const std::uint8_t> sent) {
    if (stored.size() != sent.size()) return false;
    for (std::size_t i = 0; i < stored.size(); ++i) {
        const bool log_owned =
            i < log::batch_layout::batch_length ||
            (i >= log::batch_layout::partition_leader_epoch && i < log::batch_layout::magic);
        if (!log_owned && stored[i] != sent[i]) return false;
    }
    return true;
}

}  // namespace samsa::testing

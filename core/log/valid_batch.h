// A batch that has passed validate_batch, carried from where it was checked
// (the broker's Produce) to where it is stored (PartitionLog::append), so the
// CRC and the records are checked once, not twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/io/seam.h"
#include "core/log/batch.h"

namespace samsa::log {

class ValidBatch;

// Splits the `records` field of a Produce into its batches and validates each
// one, as split_batches does. Each batch comes back as a ValidBatch: the
// records' own buffer when they are exactly one batch (what clients send),
// else a copy of each. No bytes give no batches.
Result<std::vector<ValidBatch>, BatchError> take_batches(io::Bytes records,
                                                         std::size_t batch_bytes_max);

// Only take_batches() makes one, and its bytes cannot be changed while it is
// wrapped: whoever holds one may rely on validate_batch having passed them
// (with the batch_bytes_max it was given; a log checks its own size limit).
class ValidBatch {
public:
    [[nodiscard]] const BatchHeader& header() const noexcept { return header_; }
    [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }
    // The bytes, for storing; the wrapper is left empty.
    [[nodiscard]] io::Bytes release() && noexcept { return std::move(bytes_); }

private:
    friend Result<std::vector<ValidBatch>, BatchError> take_batches(io::Bytes, std::size_t);
    ValidBatch(io::Bytes bytes, const BatchHeader& header)
        : bytes_(std::move(bytes)), header_(header) {}

    io::Bytes bytes_;
    BatchHeader header_;
};

}  // namespace samsa::log

// Builds uncompressed RecordBatch v2 bytes, as a producer would send them:
// for tests, the simulator's workloads and samsa's own producer tooling.
// Records are encoded as they are added, so the inputs need to live only for
// the call to add().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/base/ids.h"
#include "core/io/seam.h"
#include "core/log/batch.h"

namespace samsa::log {

struct HeaderInput {
    std::span<const std::uint8_t> key;
    std::optional<std::span<const std::uint8_t>> value;
};

struct RecordInput {
    std::optional<std::span<const std::uint8_t>> key;
    std::optional<std::span<const std::uint8_t>> value;
    std::span<const HeaderInput> headers;
    std::int64_t timestamp_ms = 0;
};

class BatchBuilder {
public:
    // Kafka lengths are int32; so are the record count and batchLength.
    static constexpr std::size_t field_bytes_max = 0x7FFFFFFF;
    static constexpr std::size_t records_max = 0x7FFFFFFF;

    BatchBuilder& base_offset(Offset offset) noexcept;
    BatchBuilder& partition_leader_epoch(std::int32_t epoch) noexcept;
    // An idempotent or transactional producer's identity; -1s (the default)
    // mean a plain producer.
    BatchBuilder& producer(ProducerId id, std::int16_t epoch, std::int32_t base_sequence) noexcept;
    BatchBuilder& transactional(bool on) noexcept;

    // Appends a record with the next offset delta. The first record's
    // timestamp becomes the batch's baseTimestamp.
    BatchBuilder& add(const RecordInput& record);

    [[nodiscard]] std::size_t record_count() const noexcept { return record_count_; }
    // The size build() will return.
    [[nodiscard]] std::size_t size_bytes() const noexcept {
        return batch_header_bytes + records_.size();
    }

    // The batch, with batchLength and CRC filled in. Needs at least one record:
    // producers never send an empty batch.
    [[nodiscard]] io::Bytes build() const;

private:
    Offset base_offset_{0};
    std::int32_t partition_leader_epoch_ = -1;
    ProducerId producer_id_{-1};
    std::int16_t producer_epoch_ = -1;
    std::int32_t base_sequence_ = -1;
    bool transactional_ = false;
    std::int64_t base_timestamp_ms_ = -1;
    std::int64_t max_timestamp_ms_ = -1;
    std::size_t record_count_ = 0;
    std::vector<std::uint8_t> records_;  // the encoded records, in order
};

}  // namespace samsa::log

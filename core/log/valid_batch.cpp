#include "core/log/valid_batch.h"

namespace samsa::log {

Result<std::vector<ValidBatch>, BatchError> take_batches(io::Bytes records,
                                                         std::size_t batch_bytes_max) {
    auto spans = split_batches(records, batch_bytes_max);
    if (!spans.ok()) return Failure{spans.error()};
    std::vector<ValidBatch> batches;
    batches.reserve(spans.value().size());
    if (spans.value().size() == 1) {
        batches.push_back(ValidBatch(std::move(records), spans.value().front().header));
        return batches;
    }
    for (const auto& span : spans.value()) {
        batches.push_back(ValidBatch(
            io::copy_of(std::span(records).subspan(span.offset, span.length)), span.header));
    }
    return batches;
}

}  // namespace samsa::log

// Broker: producer ids for idempotent producers (InitProducerId), and the
// broker's own file operations.
#include <charconv>

#include "core/broker/broker.h"
#include "net/kafka/api.h"

namespace samsa::broker {

namespace {

constexpr int kBlockShift = 24;  // ids per block: 2^24 - 1
constexpr std::uint32_t kIdsPerBlock = (1U << kBlockShift) - 1;
constexpr std::uint64_t kBlockMax = (1ULL << (63 - kBlockShift)) - 1;
const std::string kBlockPrefix = "producer-ids-";

}  // namespace

std::optional<std::uint64_t> producer_block_of(const std::string& name) {
    if (name.size() <= kBlockPrefix.size() || name.compare(0, kBlockPrefix.size(), kBlockPrefix)) {
        return std::nullopt;
    }
    std::uint64_t block = 0;
    const char* first = name.data() + kBlockPrefix.size();
    const char* last = name.data() + name.size();
    const auto [end, error] = std::from_chars(first, last, block);
    if (error != std::errc{} || end != last || block > kBlockMax) return std::nullopt;
    return block;
}

FileId Broker::next_file() noexcept {
    file_counter_ = file_counter_ % 4095 + 1;  // component 0's FileIds: 1..4095
    return FileId(file_counter_);
}

void Broker::reserve_producer_block(io::Outbox& out) {
    if (block_open_ || block_sync_) return;  // already under way
    block_reserving_ = std::max(producer_block_found_, producer_block_) + 1;
    SAMSA_ASSERT(block_reserving_ <= kBlockMax);
    const FileId file = next_file();
    block_open_ = next_token();
    out.push(io::Open{*block_open_, file, kBlockPrefix + std::to_string(block_reserving_), true,
                      false, false, 0});
    out.push(io::Close{file});  // the file's name is the record; it stays empty
}

void Broker::on_broker_io(const io::IoCompleted& done, io::Outbox& out) {
    if (block_open_ && done.token == *block_open_) {
        block_open_.reset();
        if (done.status != io::IoStatus::ok) return reserve_producer_block(out);  // again
        block_sync_ = next_token();
        out.push(io::SyncDir{*block_sync_});
        return;
    }
    if (block_sync_ && done.token == *block_sync_) {
        block_sync_.reset();
        if (done.status != io::IoStatus::ok) {
            // Not known to be durable: reserve the next one instead.
            producer_block_found_ = block_reserving_;
            return reserve_producer_block(out);
        }
        const std::uint64_t previous = producer_block_ ? producer_block_ : producer_block_found_;
        producer_block_ = block_reserving_;
        producer_block_found_ = block_reserving_;
        producer_next_ = 1;
        // The older reservation is no longer needed (a failure leaves a file: harmless).
        if (previous > 0) {
            out.push(io::Remove{next_token(), kBlockPrefix + std::to_string(previous)});
        }
        return;
    }
    on_deletion_io(done, out);
}

void Broker::on_init_producer_id(const io::ClientRequest& request, std::int32_t correlation_id,
                                 std::int16_t version, const kafka::InitProducerIdRequest& body,
                                 io::Outbox& out) {
    kafka::InitProducerIdResponse answer;
    if (body.transactional_id) {
        answer.error_code = kInvalidRequest;  // transactions are not served
    } else if (producer_block_ == 0 || producer_next_ > kIdsPerBlock) {
        answer.error_code = kCoordinatorLoadInProgress;  // retriable: a block is on its way
        reserve_producer_block(out);
    } else {
        answer.producer_id =
            static_cast<std::int64_t>((producer_block_ << kBlockShift) | producer_next_++);
        answer.producer_epoch = 0;
        if (producer_next_ > kIdsPerBlock) reserve_producer_block(out);
    }
    reply(request.client, request.sequence, kafka::encode_response(correlation_id, version, answer),
          out);
}

}  // namespace samsa::broker

// Broker: the data path - Produce, Fetch and ListOffsets on the partitions'
// logs. Each request becomes a PendingData whose answer is filled in as the
// logs finish its appends and reads; collect() runs after every step.
#include <algorithm>
#include <climits>

#include "core/broker/broker.h"
#include "core/log/batch.h"
#include "net/kafka/api.h"

namespace samsa::broker {

namespace {

constexpr std::int64_t kLatest = -1;
constexpr std::int64_t kEarliest = -2;

}  // namespace

Broker::Partition* Broker::find_partition(const std::string& topic, std::int32_t partition) {
    const auto found = topics_.find(topic);
    if (found == topics_.end() || partition < 0 ||
        static_cast<std::size_t>(partition) >= found->second.partitions.size()) {
        return nullptr;
    }
    return &found->second.partitions[static_cast<std::size_t>(partition)];
}

const log::PartitionLog* Broker::partition_log(const std::string& topic,
                                               std::int32_t partition) const {
    // find_partition() changes nothing; it is non-const for its callers' sake.
    const Partition* found = const_cast<Broker*>(this)->find_partition(topic, partition);
    return found != nullptr ? found->log.get() : nullptr;
}

namespace {

ProducerWindow::Batch producer_batch(const log::BatchHeader& header) {
    const auto records = static_cast<std::int64_t>(header.last_offset_delta) + 1;
    const std::int64_t last = static_cast<std::int64_t>(header.base_sequence) + records - 1;
    return {header.producer_id.value(), header.producer_epoch, header.base_sequence,
            static_cast<std::int32_t>(last > INT32_MAX ? last - INT32_MAX - 1 : last)};
}

}  // namespace

// Every batch of a partition is validated before any is appended; a batch the
// log refuses later (back-pressure) fails the partition from there on.
// Batches of idempotent producers go through the partition's de-duplication
// window first: a retried batch gets its first copy's offset, not a new one.
void Broker::on_produce(PendingData pending, kafka::ProduceRequest& request, io::Outbox& out) {
    pending.reply = request.acks != 0;
    auto& answer = pending.answer.emplace<kafka::ProduceResponse>();
    for (auto& topic : request.topic_data) {
        auto& topic_answer = answer.responses.emplace_back();
        topic_answer.name = topic.name;
        for (auto& data : topic.partition_data) {
            auto& part = topic_answer.partition_responses.emplace_back();
            part.index = data.index;
            part.base_offset = -1;
            Partition* found = find_partition(topic.name, data.index);
            if (found == nullptr) {
                part.error_code = kUnknownTopicOrPartition;
                continue;
            }
            log::PartitionLog* partition = found->log.get();
            part.log_start_offset = partition->log_start().value();
            if (partition->state() != log::PartitionLog::State::ready || !found->restored) {
                part.error_code = kLeaderNotAvailable;
                continue;
            }
            // Checked here, once: the log takes them as they are.
            auto batches = log::take_batches(data.records ? std::move(*data.records) : io::Bytes{},
                                             config_.log.batch_bytes_max);
            if (!batches.ok() || batches.value().empty()) {
                part.error_code =
                    batches.ok() ? kInvalidRecord : log::kafka_error_code(batches.error());
                continue;
            }
            // A partition's batches go to the disk in one write, not the first alone.
            partition->append_together(out, [&] {
                append_batches(
                    *found, batches.value(), part, pending,
                    {answer.responses.size() - 1, topic_answer.partition_responses.size() - 1},
                    out);
            });
        }
    }
    data_.push_back(std::move(pending));
}

// The batches of one partition of a Produce, in order; the first refused ends it.
void Broker::append_batches(Partition& found, std::vector<log::ValidBatch>& batches,
                            kafka::ProduceResponse::TopicResponse::PartitionResponse& part,
                            PendingData& pending, std::pair<std::size_t, std::size_t> at,
                            io::Outbox& out) {
    log::PartitionLog* partition = found.log.get();
    for (auto& batch : batches) {
        const log::BatchHeader& header = batch.header();
        if (header.is_transactional() || header.is_control()) {
            part.error_code = kInvalidRecord;  // transactions are not served
            return;
        }
        std::optional<ProducerWindow::Batch> sequenced;
        if (header.producer_id.value() >= 0) {
            sequenced = producer_batch(header);
            const auto check = found.producers.check(*sequenced);
            if (check.verdict == ProducerWindow::Verdict::refuse) {
                part.error_code = check.error_code;
                return;
            }
            if (check.verdict == ProducerWindow::Verdict::duplicate) {
                if (part.base_offset < 0) part.base_offset = check.base.value();
                // Still being written: answered with the first copy's outcome.
                if (check.in_flight) {
                    pending.waiting.push_back({partition, check.append, at.first, at.second, true});
                }
                continue;
            }
        }
        auto appended = partition->append(std::move(batch), 0, out);
        if (!appended.ok()) {
            part.error_code = log::kafka_error_code(appended.error());
            return;
        }
        if (sequenced) {
            found.producers.appended(*sequenced, appended.value().id, appended.value().base);
        }
        touch(found);
        if (part.base_offset < 0) part.base_offset = appended.value().base.value();
        pending.waiting.push_back({partition, appended.value().id, at.first, at.second, true});
    }
}

void Broker::on_fetch(PendingData pending, const kafka::FetchRequest& request, io::Outbox& out) {
    pending.fetch = request;
    const bool found = run_fetch(pending, out);
    const std::size_t parked = static_cast<std::size_t>(std::count_if(
        data_.begin(), data_.end(), [](const PendingData& p) { return p.timer.has_value(); }));
    if ((!found || request.min_bytes > 1) && request.max_wait_ms > 0 && request.min_bytes > 0 &&
        parked < parked_fetches_max_) {
        // Long-poll: wait for min_bytes of data (wake_fetches, collect) or for
        // max_wait_ms (on_timer), whichever comes first.
        pending.timer = TimerId(++timer_counter_);
        out.push(io::SetTimer{*pending.timer, Duration::milliseconds(request.max_wait_ms)});
    }
    data_.push_back(std::move(pending));
}

bool Broker::run_fetch(PendingData& pending, io::Outbox& out) {
    const kafka::FetchRequest& request = *pending.fetch;
    auto& answer = pending.answer.emplace<kafka::FetchResponse>();
    pending.waiting.clear();
    bool found = false;
    std::int64_t budget = request.max_bytes > 0 ? request.max_bytes : INT32_MAX;
    for (const auto& topic : request.topics) {
        auto& topic_answer = answer.responses.emplace_back();
        topic_answer.topic = topic.topic;
        for (const auto& wanted : topic.partitions) {
            auto& part = topic_answer.partitions.emplace_back();
            part.partition_index = wanted.partition;
            Partition* owner = find_partition(topic.topic, wanted.partition);
            if (owner == nullptr) {
                part.error_code = kUnknownTopicOrPartition;
                found = true;  // errors are answered at once
                continue;
            }
            log::PartitionLog* partition = owner->log.get();
            part.high_watermark = partition->readable_end().value();
            part.last_stable_offset = part.high_watermark;
            part.log_start_offset = partition->log_start().value();
            const Offset from(wanted.fetch_offset);
            if (from < partition->log_start() || from > partition->readable_end()) {
                part.error_code = kOffsetOutOfRange;
                found = true;
                continue;
            }
            if (from == partition->readable_end() || budget <= 0) continue;  // nothing new
            const auto limit = static_cast<std::uint32_t>(std::clamp<std::int64_t>(
                std::min<std::int64_t>(wanted.partition_max_bytes, budget), 1, INT32_MAX));
            auto read = partition->read(from, limit, out);
            touch(*owner);
            found = true;
            if (!read.ok()) {
                part.error_code = log::kafka_error_code(read.error());
                continue;
            }
            budget -= limit;
            pending.waiting.push_back({partition, read.value(), answer.responses.size() - 1,
                                       topic_answer.partitions.size() - 1});
        }
    }
    return found;
}

// New data was appended: parked fetches look again (collect() answers those
// that now have enough).
void Broker::wake_fetches(io::Outbox& out) {
    for (auto& pending : data_) {
        if (pending.timer && pending.waiting.empty()) run_fetch(pending, out);
    }
}

void Broker::on_timer(TimerId timer, io::Outbox& out) {
    if (group_timer_ == timer) {
        group_timer_.reset();
        coordinator_.tick(now_);
        group_deadline_stale_ = true;
        return;  // pump_groups() answers and arms the next one
    }
    for (auto& pending : data_) {
        if (pending.timer != timer) continue;
        pending.timer.reset();  // answered now with what there is (a timer may fire early: fine)
        run_fetch(pending, out);
    }
}

void Broker::on_list_offsets(PendingData pending, const kafka::ListOffsetsRequest& request,
                             io::Outbox& out) {
    auto& answer = pending.answer.emplace<kafka::ListOffsetsResponse>();
    for (const auto& topic : request.topics) {
        auto& topic_answer = answer.topics.emplace_back();
        topic_answer.name = topic.name;
        for (const auto& wanted : topic.partitions) {
            auto& part = topic_answer.partitions.emplace_back();
            part.partition_index = wanted.partition_index;
            Partition* owner = find_partition(topic.name, wanted.partition_index);
            if (owner == nullptr) {
                part.error_code = kUnknownTopicOrPartition;
                continue;
            }
            log::PartitionLog* partition = owner->log.get();
            if (wanted.timestamp == kLatest || wanted.timestamp == kEarliest) {
                part.offset = wanted.timestamp == kLatest ? partition->readable_end().value()
                                                          : partition->log_start().value();
                part.old_style_offsets = {part.offset};
                continue;
            }
            auto lookup = partition->find_offset_by_time(wanted.timestamp, out);
            touch(*owner);
            if (!lookup.ok()) {
                part.error_code = log::kafka_error_code(lookup.error());
                continue;
            }
            pending.waiting.push_back({partition, lookup.value(), answer.topics.size() - 1,
                                       topic_answer.partitions.size() - 1});
        }
    }
    data_.push_back(std::move(pending));
}

namespace {

void fill(kafka::ProduceResponse& answer, std::pair<std::size_t, std::size_t> at,
          const log::AppendResult& done) {
    auto& part = answer.responses[at.first].partition_responses[at.second];
    if (done.error && part.error_code == 0) part.error_code = log::kafka_error_code(*done.error);
}

void fill(kafka::FetchResponse& answer, std::pair<std::size_t, std::size_t> at,
          log::ReadResult& done) {
    auto& part = answer.responses[at.first].partitions[at.second];
    if (done.error) {
        part.error_code = log::kafka_error_code(*done.error);
        return;
    }
    part.records = std::move(done.batches);
}

void fill(kafka::ListOffsetsResponse& answer, std::pair<std::size_t, std::size_t> at,
          const log::ReadResult& done) {
    auto& part = answer.topics[at.first].partitions[at.second];
    if (done.error) {
        part.error_code = log::kafka_error_code(*done.error);
    } else if (done.time_match) {
        part.offset = done.time_match->offset.value();
        part.timestamp = done.time_match->timestamp_ms;
        part.old_style_offsets = {part.offset};
    }
}

}  // namespace

// Hands each finished append and read of every log to the request waiting
// for it; true if an append succeeded (parked fetches may now find data).
bool Broker::drain_logs(io::Outbox& out) {
    bool appended = false;
    // An append may have several waiters: a retried duplicate waits for its first copy.
    const auto settle = [&](const log::PartitionLog* log, std::uint64_t id, bool append,
                            auto&& fill_answer) {
        for (auto& pending : data_) {
            const auto at = std::find_if(
                pending.waiting.begin(), pending.waiting.end(),
                [&](const Waiting& w) { return w.log == log && w.id == id && w.append == append; });
            if (at == pending.waiting.end()) continue;
            fill_answer(pending.answer, std::pair{at->topic, at->partition});
            pending.waiting.erase(at);
        }
    };
    std::vector<Partition*> touched;
    touched.swap(touched_);
    for (Partition* each : touched) {
        Partition& partition = *each;
        partition.touched = false;
        const log::PartitionLog* log = partition.log.get();
        for (auto& done : partition.log->take_completed()) {
            appended = appended || !done.error;
            if (partition.rewrite_appends.contains(done.id)) {
                on_rewrite_appended(partition, done, out);
                continue;
            }
            if (const auto group_append = group_appends_.find({log, done.id});
                group_append != group_appends_.end()) {
                coordinator_.on_appended(group_append->second, !done.error);
                group_deadline_stale_ = true;
                group_appends_.erase(group_append);
                continue;
            }
            partition.producers.completed(done.id, !done.error);
            settle(log, done.id, true, [&](DataAnswer& answer, auto at) {
                if (auto* produce = std::get_if<kafka::ProduceResponse>(&answer)) {
                    fill(*produce, at, done);
                }
            });
        }
        for (auto& done : partition.log->take_reads()) {
            if (partition.restore_read == done.id) {
                on_restore_read(partition, done, out);
                continue;
            }
            settle(log, done.id, false, [&](DataAnswer& answer, auto at) {
                if (auto* fetch = std::get_if<kafka::FetchResponse>(&answer)) {
                    fill(*fetch, at, done);
                } else if (auto* list = std::get_if<kafka::ListOffsetsResponse>(&answer)) {
                    fill(*list, at, done);
                }
            });
        }
    }
    return appended;
}

void Broker::restore_producers(Partition& partition, io::Outbox& out) {
    if (partition.restored || partition.restore_read) return;
    log::PartitionLog& log = *partition.log;
    if (log.state() != log::PartitionLog::State::ready) return;
    // __consumer_offsets is replayed whole; other logs from their tail.
    if (partition.restore_next == Offset(0) && !partition.offsets_partition) {
        partition.restore_next = log.tail_start(restore_tail_bytes);
    }
    partition.restore_next = std::max(partition.restore_next, log.log_start());
    if (partition.restore_next >= log.readable_end()) return finish_restore(partition);
    auto read = log.read(partition.restore_next, config_.log.read_bytes_max, out);
    if (!read.ok()) {
        partition.restored = true;  // a log that cannot be read serves no produce anyway
        return;
    }
    partition.restore_read = read.value();
    touch(partition);
}

void Broker::finish_restore(Partition& partition) {
    partition.restored = true;
    if (partition.offsets_partition) {
        coordinator_.loaded(*partition.offsets_partition);
        group_deadline_stale_ = true;
    }
}

void Broker::on_restore_read(Partition& partition, log::ReadResult& done, io::Outbox& out) {
    partition.restore_read.reset();
    auto batches = log::split_batches(done.batches, SIZE_MAX);
    if (done.error || !batches.ok() || batches.value().empty()) {
        // A read can fail and succeed when tried again (the log rereads what
        // fails its CRC a few times itself); past restore_retries_max, a
        // group partition stays not loaded (COORDINATOR_LOAD_IN_PROGRESS).
        if (++partition.restore_failures <= restore_retries_max) {
            return restore_producers(partition, out);
        }
        partition.restored = true;
        return;
    }
    for (const auto& span : batches.value()) {
        if (partition.offsets_partition && span.header.last_offset() >= partition.restore_next) {
            const auto first = done.batches.begin() + static_cast<long>(span.offset);
            const std::span<const std::uint8_t> batch(&*first, span.length);
            auto records = log::parse_records(batch);
            if (records.ok()) {
                for (const auto& record : records.value()) {
                    const Offset at = span.header.base_offset.plus(record.offset_delta);
                    if (at < partition.restore_next || !record.key) continue;
                    coordinator_.load(*partition.offsets_partition, *record.key, record.value);
                }
            }
        }
        if (span.header.producer_id.value() >= 0 &&
            span.header.last_offset() >= partition.restore_next) {
            partition.producers.restore(producer_batch(span.header), span.header.base_offset);
        }
        partition.restore_next =
            std::max(partition.restore_next, span.header.last_offset().plus(1));
    }
    restore_producers(partition, out);
}

// A parked Fetch whose reads are done has enough: min_bytes of records, or an error to report.
bool Broker::fetch_satisfied(const PendingData& pending) {
    const auto* answer = std::get_if<kafka::FetchResponse>(&pending.answer);
    if (answer == nullptr || !pending.fetch) return true;
    std::int64_t bytes = 0;
    for (const auto& topic : answer->responses) {
        for (const auto& part : topic.partitions) {
            if (part.error_code != 0) return true;
            if (part.records) bytes += static_cast<std::int64_t>(part.records->size());
        }
    }
    return bytes >= std::max<std::int64_t>(pending.fetch->min_bytes, 1);
}

void Broker::collect(io::Outbox& out) {
    // Woken fetches may be served from the logs' caches at once: drain again.
    if (drain_logs(out)) {
        wake_fetches(out);
        drain_logs(out);
    }
    for (auto it = data_.begin(); it != data_.end();) {
        if (!it->waiting.empty() || (it->timer && !fetch_satisfied(*it))) {
            ++it;
            continue;
        }
        if (it->timer) {
            out.push(io::CancelTimer{*it->timer});
            it->timer.reset();
        }
        std::optional<io::Bytes> frame;
        if (it->reply) {
            frame = std::visit(
                [&](const auto& body) {
                    return kafka::encode_response(it->correlation_id, it->version, body);
                },
                it->answer);
        }
        reply(it->client, it->sequence, std::move(frame), out);
        it = data_.erase(it);
    }
}

}  // namespace samsa::broker

// Raft entries as record batches, and the proposal frames of RaftNode's
// clients.
#include <algorithm>
#include <array>

#include "core/base/big_endian.h"
#include "core/base/hash.h"
#include "core/log/batch.h"
#include "core/log/batch_builder.h"
#include "core/replication/raft_node.h"

namespace samsa::replication {

namespace {
constexpr std::uint8_t kKindMax = static_cast<std::uint8_t>(raft::EntryKind::noop);
}

io::Bytes entry_to_batch(const raft::Entry& entry) {
    const std::array<std::uint8_t, 1> key{static_cast<std::uint8_t>(entry.kind)};
    log::BatchBuilder builder;
    builder.base_offset(Offset(entry.index.value() - 1));
    builder.partition_leader_epoch(entry.term.value());
    log::RecordInput record;
    record.key = std::span<const std::uint8_t>(key);
    record.value = std::span<const std::uint8_t>(entry.payload);
    builder.add(record);
    return builder.build();
}

std::optional<raft::Entry> batch_to_entry(std::span<const std::uint8_t> batch) {
    const auto header = log::validate_batch(batch, SIZE_MAX);
    if (!header.ok() || header.value().records_count != 1) return std::nullopt;
    if (header.value().partition_leader_epoch < 0) return std::nullopt;
    const auto records = log::parse_records(batch);
    if (!records.ok() || records.value().size() != 1) return std::nullopt;
    const log::RecordView& record = records.value().front();
    if (!record.key || record.key->size() != 1 || (*record.key)[0] > kKindMax) return std::nullopt;
    raft::Entry entry;
    entry.index = header.value().base_offset.next();
    entry.term = raft::Term(header.value().partition_leader_epoch);
    entry.kind = static_cast<raft::EntryKind>((*record.key)[0]);
    if (record.value) entry.payload.assign(record.value->begin(), record.value->end());
    return entry;
}

std::uint64_t entry_hash(const raft::Entry& entry) {
    return hash_combine(hash_bytes(entry.payload), static_cast<std::uint64_t>(entry.kind));
}

io::Bytes encode_proposal(RaftGroupId group, std::span<const std::uint8_t> payload) {
    io::Bytes out;
    out.reserve(4 + payload.size());
    put_be<std::uint32_t>(out, group.value());
    io::append(out, payload);
    return out;
}

io::Bytes encode_answer(const ProposalAnswer& answer) {
    io::Bytes out;
    out.push_back(static_cast<std::uint8_t>(answer.status));
    put_be<std::int64_t>(out, answer.index.value());
    put_be<std::int32_t>(out, answer.term.value());
    put_be<std::int32_t>(out, answer.leader ? answer.leader->value() : -1);
    return out;
}

std::optional<ProposalAnswer> decode_answer(std::span<const std::uint8_t> frame) {
    if (frame.size() != 17 || frame[0] > static_cast<std::uint8_t>(ProposalStatus::bad_request)) {
        return std::nullopt;
    }
    ProposalAnswer answer;
    answer.status = static_cast<ProposalStatus>(frame[0]);
    answer.index = raft::Index(get_be<std::int64_t>(frame, 1));
    answer.term = raft::Term(get_be<std::int32_t>(frame, 9));
    const auto leader = get_be<std::int32_t>(frame, 13);
    if (leader >= 0) answer.leader = NodeId(leader);
    return answer;
}

}  // namespace samsa::replication

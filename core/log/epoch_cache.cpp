// The cache is small (one entry per leader epoch that wrote to the log), so
// it is a sorted vector searched linearly or by binary search; every change
// re-checks the invariant, since a wrong epoch boundary would make a follower
// keep divergent data.
#include "core/log/epoch_cache.h"

#include <algorithm>

#include "core/base/assert.h"
#include "core/base/big_endian.h"
#include "core/base/crc32c.h"

namespace samsa::log {
namespace {

constexpr std::uint32_t cache_magic = 0x53455043;  // "SEPC"
constexpr std::uint16_t cache_version = 1;
constexpr std::size_t header_bytes = 12;
constexpr std::size_t entry_bytes = 12;
constexpr std::size_t crc_bytes = 4;

std::optional<EpochError> check_entries(const std::vector<EpochEntry>& entries) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].epoch < 0 || entries[i].start.value() < 0) return EpochError::invalid_entry;
        if (i > 0 && (entries[i].epoch <= entries[i - 1].epoch ||
                      entries[i].start <= entries[i - 1].start)) {
            return EpochError::unordered_entries;
        }
    }
    return std::nullopt;
}

}  // namespace

const char* to_string(EpochError error) noexcept {
    switch (error) {
        case EpochError::negative_epoch: return "negative_epoch";
        case EpochError::negative_offset: return "negative_offset";
        case EpochError::stale_epoch: return "stale_epoch";
        case EpochError::truncated: return "truncated";
        case EpochError::trailing_bytes: return "trailing_bytes";
        case EpochError::bad_magic: return "bad_magic";
        case EpochError::unsupported_version: return "unsupported_version";
        case EpochError::checksum_mismatch: return "checksum_mismatch";
        case EpochError::invalid_entry: return "invalid_entry";
        case EpochError::unordered_entries: return "unordered_entries";
    }
    return "unknown";
}

void EpochCache::check_invariant() const {
    SAMSA_ASSERT_MSG(!check_entries(entries_), "epoch cache out of order");
}

std::optional<EpochEntry> EpochCache::latest() const {
    if (entries_.empty()) return std::nullopt;
    return entries_.back();
}

Status<EpochError> EpochCache::assign(std::int32_t epoch, Offset start) {
    if (epoch < 0) return Failure(EpochError::negative_epoch);
    if (start.value() < 0) return Failure(EpochError::negative_offset);
    if (!entries_.empty()) {
        const EpochEntry& last = entries_.back();
        if (epoch < last.epoch) return Failure(EpochError::stale_epoch);
        if (epoch == last.epoch && start >= last.start) return {};
    }
    // Entries of this epoch (only the latest can be) and every epoch that
    // starts at or after the new start describe no batch that survives.
    while (!entries_.empty() &&
           (entries_.back().epoch >= epoch || entries_.back().start >= start)) {
        entries_.pop_back();
    }
    entries_.push_back({epoch, start});
    check_invariant();
    return {};
}

std::optional<std::pair<std::int32_t, Offset>> EpochCache::end_offset_for(std::int32_t requested,
                                                                          Offset log_end) const {
    if (entries_.empty() || requested < 0) return std::nullopt;
    const EpochEntry& last = entries_.back();
    SAMSA_ASSERT(log_end >= last.start);
    if (requested == last.epoch) return std::pair{requested, log_end};
    if (requested > last.epoch) return std::nullopt;
    // The first epoch above requested exists: requested < the latest epoch.
    const auto higher =
        std::upper_bound(entries_.begin(), entries_.end(), requested,
                         [](std::int32_t value, const EpochEntry& e) { return value < e.epoch; });
    SAMSA_ASSERT(higher != entries_.end());
    if (higher == entries_.begin()) return std::pair{requested, higher->start};
    return std::pair{std::prev(higher)->epoch, higher->start};
}

std::optional<std::int32_t> EpochCache::epoch_for(Offset offset) const {
    const auto after =
        std::upper_bound(entries_.begin(), entries_.end(), offset,
                         [](Offset value, const EpochEntry& e) { return value < e.start; });
    if (after == entries_.begin()) return std::nullopt;
    return std::prev(after)->epoch;
}

void EpochCache::truncate_from_end(Offset end) {
    while (!entries_.empty() && entries_.back().start >= end) entries_.pop_back();
    check_invariant();
}

void EpochCache::truncate_from_start(Offset start) {
    // The entries starting at or before `start`: all but the last are over.
    const auto after =
        std::upper_bound(entries_.begin(), entries_.end(), start,
                         [](Offset value, const EpochEntry& e) { return value < e.start; });
    if (after == entries_.begin()) return;
    const auto covering = std::prev(after);
    covering->start = start;
    entries_.erase(entries_.begin(), covering);
    check_invariant();
}

io::Bytes EpochCache::encode() const {
    io::Bytes out;
    out.reserve(header_bytes + entry_bytes * entries_.size() + crc_bytes);
    put_be(out, cache_magic);
    put_be(out, cache_version);
    put_be(out, std::uint16_t{0});
    put_be(out, static_cast<std::uint32_t>(entries_.size()));
    for (const EpochEntry& entry : entries_) {
        put_be(out, entry.epoch);
        put_be(out, entry.start.value());
    }
    put_be(out, crc32c(out));
    return out;
}

Result<EpochCache, EpochError> EpochCache::decode(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < header_bytes + crc_bytes) return Failure(EpochError::truncated);
    if (get_be<std::uint32_t>(bytes, 0) != cache_magic) return Failure(EpochError::bad_magic);
    if (get_be<std::uint16_t>(bytes, 4) != cache_version) {
        return Failure(EpochError::unsupported_version);
    }
    const auto count = get_be<std::uint32_t>(bytes, 8);
    const std::uint64_t expected = header_bytes + std::uint64_t{entry_bytes} * count + crc_bytes;
    if (bytes.size() < expected) return Failure(EpochError::truncated);
    if (bytes.size() > expected) return Failure(EpochError::trailing_bytes);
    const auto body = bytes.first(bytes.size() - crc_bytes);
    if (get_be<std::uint32_t>(bytes, body.size()) != crc32c(body)) {
        return Failure(EpochError::checksum_mismatch);
    }
    if (get_be<std::uint16_t>(bytes, 6) != 0) return Failure(EpochError::invalid_entry);
    EpochCache cache;
    cache.entries_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t at = header_bytes + entry_bytes * i;
        cache.entries_.push_back(
            {get_be<std::int32_t>(bytes, at), Offset(get_be<std::int64_t>(bytes, at + 4))});
    }
    if (auto error = check_entries(cache.entries_)) return Failure(*error);
    return cache;
}

}  // namespace samsa::log

// The run's digest and the determinism check's record of events.
//
// Every event the kernel processes is summarised as an EventRecord and folded
// into a rolling 64-bit digest. Two runs of one seed must agree record by
// record; the Recorder keeps the first run's records and, in the second run,
// stops at the first record that differs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/hash.h"
#include "core/base/ids.h"
#include "core/base/time.h"

namespace samsa::sim {

enum class EventKind : std::uint8_t { start, deliver, drop, timer, io, deferred, action, client };
const char* to_string(EventKind kind) noexcept;

struct EventRecord {
    std::uint64_t index = 0;
    Instant at;
    NodeId node;
    EventKind kind = EventKind::action;
    std::uint64_t payload_hash = 0;  // what arrived
    std::uint64_t effects_hash = 0;  // what the machine did about it

    bool operator==(const EventRecord&) const = default;
    [[nodiscard]] std::string to_string() const;
};

class Digest {
public:
    void add(const EventRecord& record) noexcept {
        value_ = hash_combine(value_, static_cast<std::uint64_t>(record.at.nanoseconds()));
        value_ = hash_combine(value_, (static_cast<std::uint64_t>(record.kind) << 32) |
                                          static_cast<std::uint32_t>(record.node.value()));
        value_ = hash_combine(value_, record.payload_hash);
        value_ = hash_combine(value_, record.effects_hash);
    }
    [[nodiscard]] std::uint64_t value() const noexcept { return value_; }
    // 16 lower-case hex digits.
    [[nodiscard]] std::string hex() const;

private:
    std::uint64_t value_ = 0x5a4d5341ULL;  // "SAMSA"
};

std::string hex64(std::uint64_t value);

struct Divergence {
    std::uint64_t index = 0;
    std::optional<EventRecord> first;   // absent: the first run had ended
    std::optional<EventRecord> second;  // absent: the second run ended early
    std::string second_detail;          // the second run's event, rendered
};

class Recorder {
public:
    enum class Mode { record, compare };

    explicit Recorder(Mode mode) : mode_(mode) {}
    // Starts comparing against what this recorder recorded.
    void switch_to_compare() {
        mode_ = Mode::compare;
        position_ = 0;
    }

    [[nodiscard]] Mode mode() const noexcept { return mode_; }
    // Returns false at the first divergence (compare mode).
    bool observe(const EventRecord& record);
    // Called when the second run ends: a shorter second run diverges too.
    void finish();
    void set_detail(std::string detail) {
        if (divergence_) divergence_->second_detail = std::move(detail);
    }

    [[nodiscard]] const std::optional<Divergence>& divergence() const noexcept {
        return divergence_;
    }
    [[nodiscard]] std::size_t recorded() const noexcept { return records_.size(); }

private:
    Mode mode_;
    std::vector<EventRecord> records_;
    std::size_t position_ = 0;
    std::optional<Divergence> divergence_;
};

}  // namespace samsa::sim

#include "sim/trace.h"

namespace samsa::sim {

const char* to_string(EventKind kind) noexcept {
    switch (kind) {
        case EventKind::start: return "start";
        case EventKind::deliver: return "deliver";
        case EventKind::drop: return "drop";
        case EventKind::timer: return "timer";
        case EventKind::io: return "io";
        case EventKind::deferred: return "deferred";
        case EventKind::action: return "action";
        case EventKind::client: return "client";
    }
    return "?";
}

std::string hex64(std::uint64_t value) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string text(16, '0');
    for (int i = 15; i >= 0; --i) {
        text[static_cast<std::size_t>(i)] = digits[value & 0xf];
        value >>= 4;
    }
    return text;
}

std::string Digest::hex() const {
    return hex64(value_);
}

std::string EventRecord::to_string() const {
    return "#" + std::to_string(index) + " t=" + at.to_string() + " node=" + node.to_string() +
           " " + sim::to_string(kind) + " payload=" + hex64(payload_hash) +
           " effects=" + hex64(effects_hash);
}

bool Recorder::observe(const EventRecord& record) {
    if (mode_ == Mode::record) {
        records_.push_back(record);
        return true;
    }
    if (divergence_) return false;
    if (position_ < records_.size() && records_[position_] == record) {
        ++position_;
        return true;
    }
    Divergence divergence;
    divergence.index = record.index;
    if (position_ < records_.size()) divergence.first = records_[position_];
    divergence.second = record;
    divergence_ = std::move(divergence);
    return false;
}

void Recorder::finish() {
    if (mode_ != Mode::compare || divergence_ || position_ == records_.size()) return;
    Divergence divergence;
    divergence.index = records_[position_].index;
    divergence.first = records_[position_];
    divergence_ = std::move(divergence);
}

}  // namespace samsa::sim

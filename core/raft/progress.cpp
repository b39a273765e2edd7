#include "core/raft/progress.h"

#include <algorithm>

#include "core/base/assert.h"

namespace samsa::raft {

Progress::Progress(Index next, std::size_t inflight_appends_max, std::size_t inflight_bytes_max)
    : match_(0),
      next_(next),
      inflight_appends_max_(inflight_appends_max),
      inflight_bytes_max_(inflight_bytes_max) {
    SAMSA_ASSERT(inflight_appends_max > 0);
    SAMSA_ASSERT(inflight_bytes_max > 0);
}

bool Progress::can_send() const noexcept {
    switch (state_) {
        case State::probe: return !probe_sent_;
        case State::replicate:
            return inflight_.size() < inflight_appends_max_ &&
                   inflight_bytes_ < inflight_bytes_max_;
        case State::install: return false;
    }
    return false;
}

void Progress::sent(Index last, std::size_t bytes) {
    SAMSA_ASSERT(can_send());
    if (state_ == State::probe) {
        probe_sent_ = true;
        return;
    }
    SAMSA_ASSERT_MSG(last.next() >= next_, "a pipelined append never goes backwards");
    if (last >= next_) {
        next_ = last.next();
        inflight_.push_back({last, bytes});
        inflight_bytes_ += bytes;
    }
    SAMSA_ASSERT(inflight_.size() <= inflight_appends_max_);
}

bool Progress::acknowledged(Index match, Index appended) {
    SAMSA_ASSERT(match <= appended);
    const bool advanced = match > match_;
    if (advanced) match_ = match;
    if (state_ != State::replicate) {
        // Resume after what the follower already has, durable or not.
        state_ = State::replicate;
        probe_sent_ = false;
        next_ = std::max(match_, appended).next();
    } else {
        next_ = std::max(next_, match_.next());
    }
    free_up_to(std::max(match_, appended));
    SAMSA_ASSERT(match_ < next_);
    return advanced;
}

bool Progress::rejected(Index rejected, Index new_next) {
    if (rejected < match_) return false;  // stale: that prefix already matched
    if (state_ == State::probe && rejected.next() != next_) return false;  // not our probe
    next_ = std::clamp(new_next, match_.next(), std::max(rejected, match_.next()));
    become_probe();
    return true;
}

void Progress::lost_log(Index last) {
    match_ = std::min(match_, last);
    next_ = match_.next();
    become_probe();
}

void Progress::become_probe() {
    state_ = State::probe;
    probe_sent_ = false;
    inflight_.clear();
    inflight_bytes_ = 0;
    next_ = std::max(next_, match_.next());
}

void Progress::become_install(Index base) {
    state_ = State::install;
    inflight_.clear();
    inflight_bytes_ = 0;
    next_ = base.next();
}

void Progress::unpause() noexcept {
    if (state_ == State::install) state_ = State::probe;
    probe_sent_ = false;
}

void Progress::free_first_inflight() noexcept {
    if (state_ != State::replicate || inflight_.empty()) return;
    inflight_bytes_ -= inflight_.front().bytes;
    inflight_.pop_front();
}

void Progress::free_up_to(Index match) {
    while (!inflight_.empty() && inflight_.front().last <= match) {
        inflight_bytes_ -= inflight_.front().bytes;
        inflight_.pop_front();
    }
}

const char* to_string(Progress::State state) noexcept {
    switch (state) {
        case Progress::State::probe: return "probe";
        case Progress::State::replicate: return "replicate";
        case Progress::State::install: return "install";
    }
    return "?";
}

}  // namespace samsa::raft

// What a leader knows about one follower (or learner).
//
// Theory of operation. A follower starts in `probe`: the leader does not know
// where their logs diverge, so it sends one Append at a time (the next is
// allowed once a response arrives or a heartbeat interval passes) and walks
// `next` back on rejections, a whole term at a time with the follower's hint.
// The first success moves it to `replicate`: appends are pipelined, `next`
// advancing optimistically as they are sent, bounded by a window of in-flight
// appends counted both in messages and in payload bytes; acknowledgements
// free the window from the front. A rejection in replicate falls back to
// probe. `install`: the follower needs entries before the leader's log start,
// so it was sent InstallLogStart and waits for its answer.
//
// `match` only ever grows within a term: it is what the follower reported
// durable and matching.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "core/raft/types.h"

namespace samsa::raft {

class Progress {
public:
    enum class State : std::uint8_t { probe, replicate, install };

    Progress(Index next, std::size_t inflight_appends_max, std::size_t inflight_bytes_max);

    [[nodiscard]] State state() const noexcept { return state_; }
    [[nodiscard]] Index match() const noexcept { return match_; }
    [[nodiscard]] Index next() const noexcept { return next_; }
    [[nodiscard]] std::size_t inflight_count() const noexcept { return inflight_.size(); }
    [[nodiscard]] std::size_t inflight_bytes() const noexcept { return inflight_bytes_; }

    // May the leader send an Append with entries now?
    [[nodiscard]] bool can_send() const noexcept;
    // An Append carrying (next, last] with `bytes` of payload went out.
    void sent(Index last, std::size_t bytes);
    // A success: the follower holds our log durably up to `match` and has
    // appended it up to `appended` (>= match). True if match moved forward.
    bool acknowledged(Index match, Index appended);
    // A rejection of the append after `rejected`: true if it was current
    // (not a stale response) and `next` moved back to `new_next`.
    bool rejected(Index rejected, Index new_next);
    // The follower no longer holds what it acknowledged (it lost its disk):
    // its log ends at `last`; probe from there.
    void lost_log(Index last);
    void become_probe();
    void become_install(Index base);
    // A heartbeat interval passed: a probe (or InstallLogStart) may be resent.
    void unpause() noexcept;
    // The follower answered a heartbeat while the window is full: the oldest
    // append may have been lost, so make room for one more (whose rejection
    // would then start probing).
    void free_first_inflight() noexcept;

    // Heard from within the current election timeout (check-quorum).
    bool recent_active = false;
    // A read of entries from storage for this follower is in progress.
    bool read_pending = false;

private:
    struct Inflight {
        Index last;
        std::size_t bytes;
    };
    void free_up_to(Index match);

    State state_ = State::probe;
    Index match_;
    Index next_;
    bool probe_sent_ = false;
    std::deque<Inflight> inflight_;
    std::size_t inflight_bytes_ = 0;
    std::size_t inflight_appends_max_;
    std::size_t inflight_bytes_max_;
};

const char* to_string(Progress::State state) noexcept;

}  // namespace samsa::raft

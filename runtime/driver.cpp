#include "runtime/driver.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>
#include <cerrno>
#include <exception>
#include <system_error>

namespace samsa::runtime {

namespace {

// The stream_descriptor closes what it holds; the disk keeps its own eventfd.
int duplicate(int fd) {
    const int copy = ::dup(fd);
    if (copy < 0) throw std::system_error(errno, std::generic_category(), "dup of disk eventfd");
    return copy;
}

}  // namespace

Driver::Driver(std::string data_dir)
    : disk_(std::move(data_dir)), disk_events_(context_, duplicate(disk_.event_fd())) {
    watch_disk();
}

Driver::~Driver() = default;

Instant Driver::now() {
    const auto since_epoch = std::chrono::steady_clock::now().time_since_epoch();
    return Instant::from_nanoseconds(
        std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

void Driver::start() {
    SAMSA_ASSERT_MSG(machine_ != nullptr, "Driver::start without a hosted machine");
    SAMSA_ASSERT_MSG(!started_, "Driver::start twice");
    started_ = true;
    // Nothing else can be queued yet - no effect has been carried out - so
    // Start is the first event the machine sees.
    boost::asio::post(context_, [this] { deliver(io::Start{}); });
}

bool Driver::run_until(std::function<bool()> done, std::chrono::milliseconds timeout) {
    SAMSA_ASSERT_MSG(started_, "Driver::run_until before start");
    SAMSA_ASSERT(done != nullptr);
    if (done()) return true;
    done_ = std::move(done);
    const std::uint64_t generation = ++run_generation_;
    boost::asio::steady_timer deadline(context_, timeout);
    // A deadline that expired as the run ended may still be queued; the
    // generation keeps it from stopping the next run.
    deadline.async_wait([this, generation](const boost::system::error_code& error) {
        if (!error && generation == run_generation_) context_.stop();
    });
    failure_.reset();
    context_.restart();
    try {
        context_.run();
    } catch (const std::exception& error) {
        failure_ = error.what();
    }
    ++run_generation_;
    boost::system::error_code ignored;
    deadline.cancel(ignored);
    const bool result = done_();
    done_ = nullptr;  // it may refer to the caller's locals
    return result;
}

void Driver::stop() {
    context_.stop();
}

void Driver::deliver(io::Event event) {
    SAMSA_ASSERT(machine_ != nullptr);
    // The outbox is reused; a send handler that stepped the machine from
    // inside carry_out() would overwrite the effects being carried out.
    SAMSA_ASSERT_MSG(!stepping_, "machine stepped re-entrantly");
    stepping_ = true;
    outbox_.clear();
    machine_->step(now(), event, outbox_);
    ++steps_;
    for (auto& effect : outbox_.effects()) carry_out(std::move(effect));
    outbox_.clear();
    stepping_ = false;
    // A step can take a while (copying a large flush, checking batches): what
    // the disk finished meanwhile unblocks its next operations now.
    disk_.poll();
    if (done_ && done_()) context_.stop();
}

void Driver::post_client_event(io::Event event) {
    SAMSA_ASSERT(std::holds_alternative<io::ClientRequest>(event) ||
                 std::holds_alternative<io::ClientGone>(event));
    // Posted, not delivered here: the listener may call from inside a step
    // (a reply written synchronously can close a connection).
    // (Held by a shared_ptr: GCC 12 misreads a variant moved into the lambda.)
    auto held = std::make_shared<io::Event>(std::move(event));
    boost::asio::post(context_, [this, held] { deliver(std::move(*held)); });
}

void Driver::carry_out(io::Effect effect) {
    if (auto* send = std::get_if<io::Send>(&effect)) {
        if (send_handler_) send_handler_(send->to, std::move(send->payload));
    } else if (const auto* set = std::get_if<io::SetTimer>(&effect)) {
        set_timer(*set);
    } else if (const auto* cancel = std::get_if<io::CancelTimer>(&effect)) {
        cancel_timer(*cancel);
    } else if (std::holds_alternative<io::ClientReply>(effect) ||
               std::holds_alternative<io::ClientClose>(effect)) {
        if (client_handler_) client_handler_(std::move(effect));
    } else {
        disk_.submit(std::move(effect));
    }
}

void Driver::set_timer(const io::SetTimer& set) {
    auto found = timers_.find(set.timer.value());
    if (found == timers_.end()) {
        SAMSA_ASSERT_MSG(timers_.size() < timers_max, "Driver timers_max exceeded");
        found = timers_.try_emplace(set.timer.value(), context_).first;
    }
    ArmedTimer& armed = found->second;
    const std::uint64_t generation = ++armed.generation;
    // expires_after cancels the old arming; its handler may already be queued
    // with success, which the generation check turns away.
    armed.timer.expires_after(
        std::chrono::nanoseconds(std::max<std::int64_t>(set.after.count_ns(), 0)));
    armed.timer.async_wait(
        [this, timer = set.timer, generation](const boost::system::error_code& error) {
            if (error) return;  // cancelled or re-armed
            const auto current = timers_.find(timer.value());
            if (current == timers_.end() || current->second.generation != generation) return;
            deliver(io::TimerFired{timer});
        });
}

void Driver::cancel_timer(const io::CancelTimer& cancel) {
    const auto found = timers_.find(cancel.timer.value());
    if (found == timers_.end()) return;
    ++found->second.generation;
    found->second.timer.cancel();
}

void Driver::watch_disk() {
    disk_events_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                            [this](const boost::system::error_code& error) {
                                if (error == boost::asio::error::operation_aborted) return;
                                if (error) throw boost::system::system_error(error, "disk eventfd");
                                on_disk_readable();
                            });
}

void Driver::on_disk_readable() {
    // Clear the counter before reaping: a completion that lands after this
    // read signals the eventfd again, so none can be missed. EAGAIN means a
    // spurious wake-up; reaping then simply finds nothing.
    eventfd_t count = 0;
    (void)::eventfd_read(disk_events_.native_handle(), &count);
    for (auto& done : disk_.reap()) {
        boost::asio::post(context_, [this, completion = std::move(done)]() mutable {
            deliver(io::Event(std::move(completion)));
        });
    }
    watch_disk();
}

}  // namespace samsa::runtime

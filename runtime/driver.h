// The production driver: hosts one state machine on a Boost.Asio event loop.
//
// Theory of operation. The driver is the runtime's side of core/io/seam.h. It
// owns the io_context, the machine, an outbox and a UringDisk. Every event -
// Start, a timer firing, a disk completion - becomes one call to the
// machine's step(now, event, outbox) with `now` read from the monotonic
// clock, and the effects of that step are carried out in the order emitted:
// timers become asio::steady_timers, disk effects go to the UringDisk, sends
// go to the owner's callback (there is no network yet). The disk's eventfd is
// watched by a posix::stream_descriptor; when it is readable the driver
// clears its counter, reaps, and posts one delivery per completion so that a
// stop between two of them loses nothing: the rest stay queued in the loop.
//
// Everything runs on the thread that calls run_until(). Exceptions thrown by
// Asio (or by the machine) end the run: run_until() catches them at this
// boundary, records failure() and returns false.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/io/any_machine.h"
#include "core/io/seam.h"
#include "runtime/uring_disk.h"

namespace samsa::runtime {

using HostedMachine = io::AnyMachine;
template <io::StateMachine M>
using HostedBox = io::MachineBox<M>;

class Driver {
public:
    // Distinct TimerIds a machine may use; more is a leak in the machine.
    static constexpr std::size_t timers_max = std::size_t{1} << 16;

    using SendHandler = std::function<void(NodeId to, io::Bytes payload)>;

    // Opens the disk on `data_dir`; throws std::system_error if that fails.
    explicit Driver(std::string data_dir);
    ~Driver();
    Driver(const Driver&) = delete;
    Driver& operator=(const Driver&) = delete;

    // Installs the machine to run (before start()); returns it for inspection.
    template <io::StateMachine M>
    M& host(M machine) {
        SAMSA_ASSERT_MSG(!started_, "Driver::host after start");
        auto box = std::make_unique<HostedBox<M>>(std::move(machine));
        M& hosted = box->machine();
        machine_ = std::move(box);
        return hosted;
    }
    // Where Send effects go; without a handler they are dropped (the seam
    // allows any message to be lost).
    void on_send(SendHandler handler) { send_handler_ = std::move(handler); }
    // Where ClientReply and ClientClose effects go (the Kafka listener);
    // without a handler they are dropped, as if every client had gone.
    using ClientHandler = std::function<void(io::Effect effect)>;
    void on_client(ClientHandler handler) { client_handler_ = std::move(handler); }
    // Hands the machine a ClientRequest or ClientGone (from the listener), in
    // a step of its own on the loop.
    void post_client_event(io::Event event);

    // Queues Start: the machine's first event, delivered by run_until().
    void start();
    // Runs the loop until done() holds after a step, or `timeout` passes, or
    // stop(). Returns done().
    bool run_until(std::function<bool()> done, std::chrono::milliseconds timeout);
    // Ends the current run_until() soon; safe from any thread or handler.
    void stop();

    [[nodiscard]] boost::asio::io_context& context() noexcept { return context_; }
    [[nodiscard]] UringDisk& disk() noexcept { return disk_; }
    // Why the last run ended early, if an exception ended it.
    [[nodiscard]] const std::optional<std::string>& failure() const noexcept { return failure_; }
    [[nodiscard]] std::uint64_t steps() const noexcept { return steps_; }

private:
    struct ArmedTimer {
        explicit ArmedTimer(boost::asio::io_context& context) : timer(context) {}
        boost::asio::steady_timer timer;
        std::uint64_t generation = 0;  // bumped by every arm and cancel
    };

    void deliver(io::Event event);
    void carry_out(io::Effect effect);
    void set_timer(const io::SetTimer& set);
    void cancel_timer(const io::CancelTimer& cancel);
    void watch_disk();
    void on_disk_readable();
    static Instant now();

    // Declared first so it is destroyed last, after every object that uses it.
    boost::asio::io_context context_;
    UringDisk disk_;
    boost::asio::posix::stream_descriptor disk_events_;
    std::unordered_map<std::uint64_t, ArmedTimer> timers_;  // by TimerId; lookups only
    std::unique_ptr<HostedMachine> machine_;
    io::Outbox outbox_;
    SendHandler send_handler_;
    ClientHandler client_handler_;
    std::function<bool()> done_;
    std::optional<std::string> failure_;
    std::uint64_t run_generation_ = 0;  // tells a stale deadline from the current one
    std::uint64_t steps_ = 0;
    bool started_ = false;
    bool stepping_ = false;
};

}  // namespace samsa::runtime

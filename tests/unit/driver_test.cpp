// Tests of runtime::Driver's own duties: Start first, the real clock, timers
// (fire, re-arm replaces, cancel suppresses), sends, run_until and stop. The
// disk path through the driver is covered by disk_contract_test.cpp.
#include "runtime/driver.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/io/seam.h"
#include "tests/unit/printers.h"
#include "tests/unit/temp_dir.h"

namespace samsa::runtime {
namespace {

class TempDir : public testing::TempDir {
public:
    TempDir() : testing::TempDir("samsa-driver") {}
};

// Records every event with its `now`; on Start it emits what the test says.
struct Seen {
    Instant now;
    io::Event event;
};

class Recorder {
public:
    explicit Recorder(std::vector<io::Effect> on_start) : on_start_(std::move(on_start)) {}
    void step(Instant now, const io::Event& event, io::Outbox& out) {
        seen_.push_back({now, event});
        if (std::holds_alternative<io::Start>(event)) {
            for (auto& effect : on_start_) out.push(std::move(effect));
        }
    }
    [[nodiscard]] const std::vector<Seen>& seen() const noexcept { return seen_; }
    [[nodiscard]] std::vector<TimerId> fired() const {
        std::vector<TimerId> timers;
        for (const auto& entry : seen_) {
            if (const auto* fired = std::get_if<io::TimerFired>(&entry.event)) {
                timers.push_back(fired->timer);
            }
        }
        return timers;
    }

private:
    std::vector<io::Effect> on_start_;
    std::vector<Seen> seen_;
};

constexpr auto run_timeout = std::chrono::seconds(10);

TEST(Driver, StartIsTheFirstEventAndTimersFire) {
    TempDir dir;
    Driver driver(dir.path());
    auto& machine = driver.host(Recorder({io::SetTimer{TimerId(1), Duration::milliseconds(5)}}));
    driver.start();
    ASSERT_TRUE(driver.run_until([&] { return !machine.fired().empty(); }, run_timeout));
    ASSERT_EQ(machine.seen().size(), 2U);
    EXPECT_TRUE(std::holds_alternative<io::Start>(machine.seen()[0].event));
    EXPECT_EQ(machine.fired(), std::vector<TimerId>{TimerId(1)});
    EXPECT_GE(machine.seen()[1].now - machine.seen()[0].now, Duration::milliseconds(5));
}

TEST(Driver, RearmingATimerReplacesTheOldArming) {
    TempDir dir;
    Driver driver(dir.path());
    auto& machine = driver.host(Recorder({io::SetTimer{TimerId(1), Duration::milliseconds(1)},
                                          io::SetTimer{TimerId(1), Duration::milliseconds(40)}}));
    driver.start();
    ASSERT_TRUE(driver.run_until([&] { return !machine.fired().empty(); }, run_timeout));
    EXPECT_GE(machine.seen()[1].now - machine.seen()[0].now, Duration::milliseconds(40));
    // And it fires once: nothing more within a further 60 ms.
    EXPECT_FALSE(driver.run_until([] { return false; }, std::chrono::milliseconds(60)));
    EXPECT_EQ(machine.fired().size(), 1U);
}

TEST(Driver, CancelledTimerNeverFires) {
    TempDir dir;
    Driver driver(dir.path());
    auto& machine = driver.host(Recorder({io::SetTimer{TimerId(1), Duration::milliseconds(1)},
                                          io::SetTimer{TimerId(2), Duration::milliseconds(30)},
                                          io::CancelTimer{TimerId(1)}}));
    driver.start();
    ASSERT_TRUE(driver.run_until([&] { return !machine.fired().empty(); }, run_timeout));
    EXPECT_FALSE(driver.run_until([] { return false; }, std::chrono::milliseconds(30)));
    EXPECT_EQ(machine.fired(), std::vector<TimerId>{TimerId(2)});
}

TEST(Driver, SendsGoToTheHandlerInOrder) {
    TempDir dir;
    Driver driver(dir.path());
    std::vector<std::pair<NodeId, io::Bytes>> sent;
    driver.on_send([&sent](NodeId to, io::Bytes payload) { sent.emplace_back(to, payload); });
    driver.host(Recorder({io::Send{NodeId(2), io::Bytes{1}}, io::Send{NodeId(3), io::Bytes{2}}}));
    driver.start();
    ASSERT_TRUE(driver.run_until([&] { return sent.size() == 2; }, run_timeout));
    EXPECT_EQ(sent[0].first, NodeId(2));
    EXPECT_EQ(sent[0].second, io::Bytes{1});
    EXPECT_EQ(sent[1].first, NodeId(3));
}

TEST(Driver, SendsWithoutAHandlerAreDropped) {
    TempDir dir;
    Driver driver(dir.path());
    auto& machine = driver.host(Recorder({io::Send{NodeId(2), io::Bytes{1}}}));
    driver.start();
    ASSERT_TRUE(driver.run_until([&] { return !machine.seen().empty(); }, run_timeout));
    EXPECT_EQ(driver.steps(), 1U);
}

TEST(Driver, RunUntilReturnsFalseAtTheTimeout) {
    TempDir dir;
    Driver driver(dir.path());
    driver.host(Recorder({}));
    driver.start();
    const auto began = std::chrono::steady_clock::now();
    EXPECT_FALSE(driver.run_until([] { return false; }, std::chrono::milliseconds(20)));
    EXPECT_GE(std::chrono::steady_clock::now() - began, std::chrono::milliseconds(20));
    EXPECT_FALSE(driver.failure().has_value());
}

TEST(Driver, StopEndsTheRun) {
    TempDir dir;
    Driver driver(dir.path());
    driver.host(Recorder({}));
    driver.start();
    boost::asio::post(driver.context(), [&driver] { driver.stop(); });
    const auto began = std::chrono::steady_clock::now();
    EXPECT_FALSE(driver.run_until([] { return false; }, run_timeout));
    EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(5));
}

TEST(Driver, DiskCompletionsArriveAsEvents) {
    TempDir dir;
    Driver driver(dir.path());
    const FileId file(1);
    auto& machine = driver.host(Recorder({
        io::Open{IoToken(1), file, "d.log", true, false},
        io::Write{IoToken(2), file, 0, io::Bytes{'o', 'k'}},
        io::Truncate{IoToken(3), file, 1},
        io::Read{IoToken(4), file, 0, 8},
    }));
    driver.start();
    ASSERT_TRUE(driver.run_until([&] { return machine.seen().size() == 5; }, run_timeout));
    for (std::uint64_t i = 1; i <= 4; ++i) {
        const auto* done = std::get_if<io::IoCompleted>(&machine.seen()[i].event);
        ASSERT_NE(done, nullptr);
        EXPECT_EQ(done->token, IoToken(i));
        EXPECT_EQ(done->status, io::IoStatus::ok);
    }
    EXPECT_EQ(std::get<io::IoCompleted>(machine.seen()[4].event).data, io::Bytes{'o'});
}

// Answers each client request with its frame and sequence; "bye" closes.
class ClientEcho {
public:
    void step(Instant, const io::Event& event, io::Outbox& out) {
        if (const auto* request = std::get_if<io::ClientRequest>(&event)) {
            if (request->frame == io::Bytes{'b', 'y', 'e'}) {
                out.push(io::ClientClose{request->client});
            } else {
                out.push(io::ClientReply{request->client, request->sequence, request->frame});
            }
        } else if (const auto* gone = std::get_if<io::ClientGone>(&event)) {
            gone_.push_back(gone->client);
        }
    }
    [[nodiscard]] const std::vector<ClientId>& gone() const noexcept { return gone_; }

private:
    std::vector<ClientId> gone_;
};

TEST(Driver, ClientEventsReachTheMachineAndItsRepliesTheHandler) {
    TempDir dir;
    Driver driver(dir.path());
    std::vector<io::Effect> replies;
    driver.on_client([&](io::Effect effect) { replies.push_back(std::move(effect)); });
    auto& machine = driver.host(ClientEcho{});
    driver.start();
    driver.post_client_event(io::ClientRequest{ClientId(4), 0, io::Bytes{1, 2}});
    driver.post_client_event(io::ClientRequest{ClientId(4), 1, io::Bytes{'b', 'y', 'e'}});
    driver.post_client_event(io::ClientGone{ClientId(4)});
    ASSERT_TRUE(driver.run_until([&] { return !machine.gone().empty(); }, run_timeout));
    ASSERT_EQ(replies.size(), 2U);
    const auto* reply = std::get_if<io::ClientReply>(&replies[0]);
    ASSERT_NE(reply, nullptr);
    EXPECT_EQ(reply->client, ClientId(4));
    EXPECT_EQ(reply->sequence, 0U);
    EXPECT_EQ(reply->frame, std::optional(io::Bytes{1, 2}));
    const auto* close = std::get_if<io::ClientClose>(&replies[1]);
    ASSERT_NE(close, nullptr);
    EXPECT_EQ(close->client, ClientId(4));
    EXPECT_EQ(machine.gone(), std::vector<ClientId>{ClientId(4)});
}

}  // namespace
}  // namespace samsa::runtime

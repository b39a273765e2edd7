// Tests of runtime::KafkaListener: framing (whole frames in order, bad sizes,
// truncation, frames split anywhere), replies in request order (out-of-order
// and absent replies), back-pressure (requests in flight, queued reply
// bytes), the connection limit, close(), stop() and destruction. Clients are
// plain Asio sockets on the listener's own io_context, driven in this thread;
// every wait has a deadline.
#include "runtime/kafka_listener.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/io/seam.h"

namespace samsa::runtime {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto wait_max = std::chrono::milliseconds(10s);
// Long enough for a frame on loopback to have arrived if it was going to.
constexpr auto quiet_period = std::chrono::milliseconds(150ms);

std::vector<std::uint8_t> text(const std::string& s) {
    return {s.begin(), s.end()};
}

io::Bytes bytes_of(const std::vector<std::uint8_t>& v) {
    return {v.begin(), v.end()};
}

std::vector<std::uint8_t> size_prefix(std::int32_t size) {
    const auto bits = static_cast<std::uint32_t>(size);
    return {static_cast<std::uint8_t>(bits >> 24), static_cast<std::uint8_t>(bits >> 16),
            static_cast<std::uint8_t>(bits >> 8), static_cast<std::uint8_t>(bits)};
}

std::vector<std::uint8_t> framed(const std::vector<std::uint8_t>& payload) {
    auto out = size_prefix(static_cast<std::int32_t>(payload.size()));
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

std::vector<std::uint8_t> pattern(std::size_t size, std::uint32_t seed) {
    std::vector<std::uint8_t> out(size);
    for (std::size_t i = 0; i < size; ++i) {
        out[i] = static_cast<std::uint8_t>((i * 131 + seed * 7 + (i >> 9)) & 0xff);
    }
    return out;
}

struct Delivered {
    ConnectionId client;
    std::uint64_t sequence;
    std::vector<std::uint8_t> frame;
};

class Recorder : public KafkaListener::Handler {
public:
    void on_frame(ConnectionId client, std::uint64_t sequence, io::Bytes frame) override {
        frames.push_back({client, sequence, {frame.begin(), frame.end()}});
        if (frame_hook) frame_hook(client, sequence, std::move(frame));
    }
    void on_closed(ConnectionId client) override { closed.push_back(client); }

    std::vector<Delivered> frames;
    std::vector<ConnectionId> closed;
    // Runs after a frame is recorded: lets a test reply or close from inside the callback.
    std::function<void(ConnectionId, std::uint64_t, io::Bytes)> frame_hook;
};

class KafkaListenerTest : public testing::Test {
protected:
    void open(ListenerLimits limits = {}) {
        auto opened = KafkaListener::open(io_, "127.0.0.1", 0, limits, recorder_);
        ASSERT_TRUE(opened.ok()) << opened.error();
        listener_ = std::move(opened).value();
        ASSERT_NE(listener_->port(), 0);
    }

    // Runs the loop until `done` holds or wait_max passes; returns done().
    bool run_until(const std::function<bool()>& done) {
        const auto deadline = Clock::now() + wait_max;
        while (!done()) {
            if (Clock::now() >= deadline) return false;
            if (io_.stopped()) io_.restart();
            io_.run_for(2ms);
        }
        return true;
    }

    // Runs the loop for a while, to show that something does not happen.
    void run_quietly() {
        const auto deadline = Clock::now() + quiet_period;
        while (Clock::now() < deadline) {
            if (io_.stopped()) io_.restart();
            io_.run_for(2ms);
        }
    }

    // A connected client; `receive_buffer_bytes` shrinks its kernel buffer so
    // that replies it does not read stay queued in the listener.
    tcp::socket connect(std::optional<int> receive_buffer_bytes = std::nullopt) {
        tcp::socket socket(io_);
        socket.open(tcp::v4());
        if (receive_buffer_bytes) {
            socket.set_option(asio::socket_base::receive_buffer_size(*receive_buffer_bytes));
        }
        socket.connect({asio::ip::make_address("127.0.0.1"), listener_->port()});
        return socket;
    }

    // A client the listener has admitted; its ConnectionId is learned from one frame.
    std::pair<tcp::socket, ConnectionId> connect_admitted() {
        auto socket = connect();
        const std::size_t before = recorder_.frames.size();
        send(socket, framed(text("hello")));
        EXPECT_TRUE(run_until([&] { return recorder_.frames.size() == before + 1; }));
        const ConnectionId id = recorder_.frames.back().client;
        listener_->reply(id, recorder_.frames.back().sequence, std::nullopt);
        return {std::move(socket), id};
    }

    void send(tcp::socket& socket, const std::vector<std::uint8_t>& data) {
        bool done = false;
        boost::system::error_code result;
        asio::async_write(socket, asio::buffer(data), [&](auto error, std::size_t) {
            result = error;
            done = true;
        });
        ASSERT_TRUE(run_until([&] { return done; })) << "send did not finish";
        ASSERT_FALSE(result) << result.message();
    }

    std::optional<std::vector<std::uint8_t>> read_exactly(tcp::socket& socket, std::size_t size) {
        std::vector<std::uint8_t> data(size);
        bool done = false;
        boost::system::error_code result;
        asio::async_read(socket, asio::buffer(data), [&](auto error, std::size_t) {
            result = error;
            done = true;
        });
        if (!run_until([&] { return done; })) {
            socket.cancel();
            run_until([&] { return done; });
            return std::nullopt;
        }
        if (result) return std::nullopt;
        return data;
    }

    // The payload of the next frame the listener wrote to `socket`.
    std::optional<std::vector<std::uint8_t>> read_frame(tcp::socket& socket) {
        const auto prefix = read_exactly(socket, 4);
        if (!prefix) return std::nullopt;
        const std::uint32_t size = (std::uint32_t{(*prefix)[0]} << 24) |
                                   (std::uint32_t{(*prefix)[1]} << 16) |
                                   (std::uint32_t{(*prefix)[2]} << 8) | (*prefix)[3];
        return read_exactly(socket, size);
    }

    // Whether the listener closed `socket` (a read ends in an error such as EOF).
    bool closed_by_listener(tcp::socket& socket) {
        std::uint8_t byte = 0;
        bool done = false;
        boost::system::error_code result;
        socket.async_read_some(asio::buffer(&byte, 1), [&](auto error, std::size_t) {
            result = error;
            done = true;
        });
        if (!run_until([&] { return done; })) {
            socket.cancel();
            run_until([&] { return done; });
            return false;
        }
        return static_cast<bool>(result);
    }

    std::size_t unread_bytes(tcp::socket& socket) {
        run_quietly();
        return socket.available();
    }

    std::size_t frames() const { return recorder_.frames.size(); }

    // Declared first: destroyed last, after every socket that uses it.
    asio::io_context io_;
    Recorder recorder_;
    std::unique_ptr<KafkaListener> listener_;
};

TEST_F(KafkaListenerTest, DeliversAFrameAndWritesItsReplyWithASizePrefix) {
    open();
    auto client = connect();
    ASSERT_TRUE(run_until([&] { return listener_->connections() == 1; }));
    send(client, framed(text("hello")));
    ASSERT_TRUE(run_until([&] { return frames() == 1; }));
    const Delivered& got = recorder_.frames[0];
    EXPECT_EQ(got.sequence, 0U);
    EXPECT_EQ(got.frame, text("hello"));

    listener_->reply(got.client, 0, bytes_of(text("world!")));
    const auto raw = read_exactly(client, 4 + 6);
    ASSERT_TRUE(raw.has_value());
    EXPECT_EQ(*raw, framed(text("world!")));
    EXPECT_TRUE(recorder_.closed.empty());
}

TEST_F(KafkaListenerTest, BadSizeClosesOnlyThatConnection) {
    ListenerLimits limits;
    limits.frame_bytes_max = 1024;
    open(limits);
    auto [good, good_id] = connect_admitted();

    for (const std::int32_t size : {-1, std::int32_t{-2147483647 - 1}, 0, 1025, 1 << 30}) {
        SCOPED_TRACE("size " + std::to_string(size));
        const std::size_t closed_before = recorder_.closed.size();
        const std::size_t frames_before = frames();
        auto bad = connect();
        auto data = size_prefix(size);
        const auto body = pattern(64, 1);
        data.insert(data.end(), body.begin(), body.end());
        send(bad, data);
        EXPECT_TRUE(closed_by_listener(bad));
        ASSERT_TRUE(run_until([&] { return recorder_.closed.size() == closed_before + 1; }));
        EXPECT_NE(recorder_.closed.back(), good_id);
        EXPECT_EQ(frames(), frames_before);
        EXPECT_EQ(listener_->connections(), 1U);
    }

    // The largest allowed frame still goes through, on the connection that behaved.
    send(good, framed(pattern(1024, 2)));
    ASSERT_TRUE(run_until([&] { return frames() == 2; }));
    EXPECT_EQ(recorder_.frames[1].client, good_id);
    EXPECT_EQ(recorder_.frames[1].frame, pattern(1024, 2));
    listener_->reply(good_id, 1, bytes_of(text("ok")));
    EXPECT_EQ(read_frame(good), text("ok"));
}

TEST_F(KafkaListenerTest, TruncatedFrameIsDroppedWithItsConnection) {
    open();
    // Cut inside the body, then inside the size prefix.
    auto cut_body = framed(pattern(100, 3));
    cut_body.resize(4 + 50);
    const std::vector<std::vector<std::uint8_t>> cuts = {cut_body, {0, 0}};
    for (const auto& cut : cuts) {
        const std::size_t closed_before = recorder_.closed.size();
        auto client = connect();
        ASSERT_TRUE(run_until([&] { return listener_->connections() == 1; }));
        send(client, cut);
        run_quietly();
        client.close();
        ASSERT_TRUE(run_until([&] { return recorder_.closed.size() == closed_before + 1; }));
        EXPECT_EQ(listener_->connections(), 0U);
    }
    EXPECT_EQ(frames(), 0U);
}

TEST_F(KafkaListenerTest, PipelinedFramesArriveInOrderAndRepliesLeaveInOrder) {
    open();
    auto client = connect();
    std::vector<std::uint8_t> all;
    for (const char* payload : {"zero", "one", "two"}) {
        const auto one = framed(text(payload));
        all.insert(all.end(), one.begin(), one.end());
    }
    send(client, all);
    ASSERT_TRUE(run_until([&] { return frames() == 3; }));
    const ConnectionId id = recorder_.frames[0].client;
    for (std::uint64_t i = 0; i < 3; ++i) {
        EXPECT_EQ(recorder_.frames[i].client, id);
        EXPECT_EQ(recorder_.frames[i].sequence, i);
    }
    EXPECT_EQ(recorder_.frames[2].frame, text("two"));

    listener_->reply(id, 2, bytes_of(text("reply 2")));
    EXPECT_EQ(unread_bytes(client), 0U) << "reply 2 must wait for replies 0 and 1";
    listener_->reply(id, 0, bytes_of(text("reply 0")));
    EXPECT_EQ(read_frame(client), text("reply 0"));
    EXPECT_EQ(unread_bytes(client), 0U) << "reply 2 must wait for reply 1";
    listener_->reply(id, 1, bytes_of(text("reply 1")));
    EXPECT_EQ(read_frame(client), text("reply 1"));
    EXPECT_EQ(read_frame(client), text("reply 2"));
}

TEST_F(KafkaListenerTest, AbsentReplyIsSkippedWithoutBlockingLaterOnes) {
    open();
    auto client = connect();
    std::vector<std::uint8_t> all;
    for (int i = 0; i < 4; ++i) {
        const auto one = framed(text("request " + std::to_string(i)));
        all.insert(all.end(), one.begin(), one.end());
    }
    send(client, all);
    ASSERT_TRUE(run_until([&] { return frames() == 4; }));
    const ConnectionId id = recorder_.frames[0].client;
    listener_->reply(id, 1, std::nullopt);  // acks=0: no response at all
    listener_->reply(id, 3, std::nullopt);
    listener_->reply(id, 2, bytes_of(text("c")));
    EXPECT_EQ(unread_bytes(client), 0U);
    listener_->reply(id, 0, bytes_of(text("a")));
    EXPECT_EQ(read_frame(client), text("a"));
    EXPECT_EQ(read_frame(client), text("c"));
    EXPECT_EQ(unread_bytes(client), 0U);
}

// A tiny read buffer and frames of many sizes put frame and prefix
// boundaries everywhere in it; replies are given from inside on_frame.
TEST_F(KafkaListenerTest, FramesSplitAnywhereAreReassembledInOrder) {
    ListenerLimits limits;
    limits.read_chunk_bytes = 16;
    open(limits);
    recorder_.frame_hook = [&](ConnectionId client, std::uint64_t sequence, io::Bytes frame) {
        listener_->reply(client, sequence, std::move(frame));  // echo
    };
    auto client = connect();
    std::vector<std::vector<std::uint8_t>> payloads;
    std::vector<std::uint8_t> stream;
    for (std::uint32_t i = 0; i < 150; ++i) {
        payloads.push_back(pattern(1 + (i * 37) % 97, i));
        const auto one = framed(payloads.back());
        stream.insert(stream.end(), one.begin(), one.end());
    }
    // The first part one byte at a time, the rest in one write.
    const std::size_t trickled = 300;
    for (std::size_t i = 0; i < trickled; ++i) {
        send(client, {stream[i]});
        io_.poll();
    }
    send(client, std::vector<std::uint8_t>(stream.begin() + trickled, stream.end()));

    ASSERT_TRUE(run_until([&] { return frames() == payloads.size(); }));
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        EXPECT_EQ(recorder_.frames[i].sequence, i);
        EXPECT_EQ(recorder_.frames[i].frame, payloads[i]) << "frame " << i;
        const auto echoed = read_frame(client);
        ASSERT_TRUE(echoed.has_value());
        EXPECT_EQ(*echoed, payloads[i]) << "reply " << i;
    }
}

TEST_F(KafkaListenerTest, LargeFramesArriveWhole) {
    open();
    recorder_.frame_hook = [&](ConnectionId client, std::uint64_t sequence, io::Bytes frame) {
        listener_->reply(client, sequence, std::move(frame));
    };
    auto client = connect();
    const auto big = pattern((3 << 20) + 7, 9);
    const auto small = text("after");
    auto stream = framed(big);
    const auto second = framed(small);
    stream.insert(stream.end(), second.begin(), second.end());
    send(client, stream);
    ASSERT_TRUE(run_until([&] { return frames() == 2; }));
    EXPECT_TRUE(recorder_.frames[0].frame == big);
    EXPECT_EQ(recorder_.frames[1].frame, small);
    const auto echoed = read_frame(client);
    ASSERT_TRUE(echoed.has_value());
    EXPECT_TRUE(*echoed == big);
    EXPECT_EQ(read_frame(client), small);
}

TEST_F(KafkaListenerTest, StopsReadingWhileRequestsInFlightAreAtTheLimit) {
    ListenerLimits limits;
    limits.requests_in_flight_max = 2;
    open(limits);
    auto client = connect();
    std::vector<std::uint8_t> all;
    for (int i = 0; i < 5; ++i) {
        const auto one = framed(text("r" + std::to_string(i)));
        all.insert(all.end(), one.begin(), one.end());
    }
    send(client, all);
    ASSERT_TRUE(run_until([&] { return frames() == 2; }));
    run_quietly();
    EXPECT_EQ(frames(), 2U) << "two requests await replies: nothing more is read";
    const ConnectionId id = recorder_.frames[0].client;

    // A reply out of turn does not free a slot: its response cannot leave yet.
    listener_->reply(id, 1, bytes_of(text("a1")));
    run_quietly();
    EXPECT_EQ(frames(), 2U);
    listener_->reply(id, 0, bytes_of(text("a0")));
    ASSERT_TRUE(run_until([&] { return frames() == 4; }));
    run_quietly();
    EXPECT_EQ(frames(), 4U);
    listener_->reply(id, 2, bytes_of(text("a2")));
    ASSERT_TRUE(run_until([&] { return frames() == 5; }));
    for (std::uint64_t i = 0; i < 5; ++i) {
        EXPECT_EQ(recorder_.frames[i].sequence, i);
        EXPECT_EQ(recorder_.frames[i].frame, text("r" + std::to_string(i)));
    }
    listener_->reply(id, 3, bytes_of(text("a3")));
    listener_->reply(id, 4, bytes_of(text("a4")));
    for (int i = 0; i < 5; ++i) EXPECT_EQ(read_frame(client), text("a" + std::to_string(i)));
}

TEST_F(KafkaListenerTest, StopsReadingWhileRepliesQueueForASlowReader) {
    ListenerLimits limits;
    limits.queued_reply_bytes_max = 1024;
    open(limits);
    // Far more than the kernel buffers take (send buffer up to tcp_wmem, a
    // few MiB; the client's receive buffer is pinned small).
    const std::size_t reply_bytes = 32 << 20;
    recorder_.frame_hook = [&](ConnectionId client, std::uint64_t sequence, io::Bytes) {
        listener_->reply(client, sequence, bytes_of(pattern(reply_bytes, 5)));
    };
    auto client = connect(4096);
    std::vector<std::uint8_t> all;
    for (int i = 0; i < 3; ++i) {
        const auto one = framed(text("q" + std::to_string(i)));
        all.insert(all.end(), one.begin(), one.end());
    }
    send(client, all);
    ASSERT_TRUE(run_until([&] { return frames() == 1; }));
    run_quietly();
    EXPECT_EQ(frames(), 1U) << "32 MiB of reply is queued: the next request must wait";

    auto first = read_frame(client);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->size(), reply_bytes);
    ASSERT_TRUE(run_until([&] { return frames() == 2; }));
    run_quietly();
    EXPECT_EQ(frames(), 2U);

    recorder_.frame_hook = [&](ConnectionId client_id, std::uint64_t sequence, io::Bytes) {
        listener_->reply(client_id, sequence, bytes_of(text("small")));
    };
    EXPECT_EQ(read_frame(client)->size(), reply_bytes);
    ASSERT_TRUE(run_until([&] { return frames() == 3; }));
    EXPECT_EQ(read_frame(client), text("small"));
}

TEST_F(KafkaListenerTest, ConnectionBeyondTheLimitIsClosedAtOnce) {
    ListenerLimits limits;
    limits.connections_max = 2;
    open(limits);
    auto [first, first_id] = connect_admitted();
    auto [second, second_id] = connect_admitted();
    EXPECT_NE(first_id, second_id);

    auto third = connect();
    EXPECT_TRUE(closed_by_listener(third));
    EXPECT_EQ(listener_->connections(), 2U);
    EXPECT_TRUE(recorder_.closed.empty()) << "a refused connection was never a client";

    // The admitted ones still work, and a freed slot admits a new client.
    send(first, framed(text("still here")));
    ASSERT_TRUE(run_until([&] { return frames() == 3; }));
    second.close();
    ASSERT_TRUE(run_until([&] { return listener_->connections() == 1; }));
    EXPECT_EQ(recorder_.closed, std::vector<ConnectionId>{second_id});
    auto [fourth, fourth_id] = connect_admitted();
    EXPECT_EQ(listener_->connections(), 2U);
    EXPECT_NE(fourth_id, second_id) << "ClientIds are never reused";
}

TEST_F(KafkaListenerTest, CloseDropsOneConnectionAndLaterRepliesToItAreIgnored) {
    open();
    auto [a, a_id] = connect_admitted();
    auto [b, b_id] = connect_admitted();
    send(a, framed(text("pending")));
    ASSERT_TRUE(run_until([&] { return frames() == 3; }));

    listener_->close(a_id);
    EXPECT_EQ(recorder_.closed, std::vector<ConnectionId>{a_id});
    EXPECT_EQ(listener_->connections(), 1U);
    EXPECT_TRUE(closed_by_listener(a));
    listener_->reply(a_id, 1, bytes_of(text("too late")));  // ignored
    listener_->close(a_id);                                 // ignored
    EXPECT_EQ(recorder_.closed.size(), 1U);

    send(b, framed(text("b")));
    ASSERT_TRUE(run_until([&] { return frames() == 4; }));
    listener_->reply(b_id, 1, bytes_of(text("b ok")));
    EXPECT_EQ(read_frame(b), text("b ok"));
}

TEST_F(KafkaListenerTest, HandlerMayCloseFromInsideOnFrame) {
    open();
    recorder_.frame_hook = [&](ConnectionId client, std::uint64_t sequence, io::Bytes) {
        if (sequence == 1) listener_->close(client);
    };
    auto client = connect();
    std::vector<std::uint8_t> all;
    for (int i = 0; i < 4; ++i) {
        const auto one = framed(text("x"));
        all.insert(all.end(), one.begin(), one.end());
    }
    send(client, all);
    ASSERT_TRUE(run_until([&] { return recorder_.closed.size() == 1; }));
    run_quietly();
    EXPECT_EQ(frames(), 2U) << "nothing is delivered after close()";
    EXPECT_TRUE(closed_by_listener(client));
}

TEST_F(KafkaListenerTest, StopClosesEveryConnectionAndLetsTheLoopFinish) {
    open();
    std::vector<tcp::socket> clients;
    std::set<ConnectionId> ids;
    for (int i = 0; i < 3; ++i) {
        auto [socket, id] = connect_admitted();
        clients.push_back(std::move(socket));
        ids.insert(id);
    }
    send(clients[0], framed(text("unanswered")));
    ASSERT_TRUE(run_until([&] { return frames() == 4; }));
    const std::uint16_t port = listener_->port();

    listener_->stop();
    EXPECT_EQ(listener_->connections(), 0U);
    EXPECT_EQ(std::set<ConnectionId>(recorder_.closed.begin(), recorder_.closed.end()), ids);
    EXPECT_EQ(recorder_.closed.size(), 3U);
    listener_->stop();
    listener_->reply(recorder_.frames[3].client, 1, bytes_of(text("late")));
    EXPECT_EQ(recorder_.closed.size(), 3U);
    for (auto& client : clients) EXPECT_TRUE(closed_by_listener(client));

    tcp::socket refused(io_);
    boost::system::error_code error;
    refused.connect({asio::ip::make_address("127.0.0.1"), port}, error);
    EXPECT_EQ(error, asio::error::connection_refused);

    // Nothing of the listener's is left in the loop.
    io_.restart();
    const auto started = Clock::now();
    io_.run_for(5s);
    EXPECT_LT(Clock::now() - started, 2s);
    EXPECT_TRUE(io_.stopped());
}

TEST_F(KafkaListenerTest, DestroyingTheListenerLeavesTheLoopSafe) {
    open();
    auto client = connect();
    send(client, framed(pattern(200000, 4)));  // leaves a read under way
    listener_.reset();
    run_quietly();  // the aborted completions must not touch the listener
    EXPECT_TRUE(closed_by_listener(client));
    EXPECT_TRUE(recorder_.closed.empty()) << "destruction does not call the handler";
}

TEST_F(KafkaListenerTest, OpenReportsAPortInUse) {
    open();
    auto second = KafkaListener::open(io_, "127.0.0.1", listener_->port(), {}, recorder_);
    ASSERT_FALSE(second.ok());
    EXPECT_NE(second.error().find("bind"), std::string::npos) << second.error();
}

}  // namespace
}  // namespace samsa::runtime

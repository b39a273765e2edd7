// The Kafka-protocol TCP front end: framing only, no protocol logic.
//
// Theory of operation. Kafka frames every request and response as a
// big-endian `int32 size` followed by that many bytes. The listener accepts
// connections on one socket and, per connection, reads as much as the kernel
// has into one fixed read buffer (limits.read_chunk_bytes), cuts whole frames
// out of it and hands each to the owner by move, numbered from 0 per
// connection. A frame larger than the read buffer is assembled in its own
// io::Bytes, grown as its data arrives (a size header alone commits little
// memory), and once it is large enough the socket is read straight into it.
// So a connection never holds more than frame_bytes_max + read_chunk_bytes of
// request bytes.
//
// Replies come back through reply() in any order and are written in request
// order, because clients pipeline requests and match responses by position.
// Replies that arrive early wait in a small map; replies whose turn has come
// join the write queue, and one gathered write at a time drains it.
//
// Back-pressure: a connection stops reading (and stops cutting frames out of
// what it has already read) while requests_in_flight_max requests await their
// turn to be answered, or while more than queued_reply_bytes_max reply bytes
// wait to be written (a client that does not read its responses). It resumes
// when replies arrive or drain. Nothing grows without bound.
//
// A bad size (zero, negative, above frame_bytes_max), a read or write error
// or the peer closing ends that connection only; any partial frame is
// dropped. Everything runs on the io_context's thread; the owner's callbacks
// run there too and may call reply(), close() or stop() from inside them.
// Asio errors are values here (error_code overloads only): nothing throws.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/base/result.h"
#include "core/io/seam.h"

namespace samsa::runtime {

struct ListenerLimits {
    std::uint32_t frame_bytes_max = 100 << 20;  // Kafka's socket.request.max.bytes
    // Per connection: delivered requests whose reply has not yet had its turn
    // (request order); at this many, stop reading.
    std::size_t requests_in_flight_max = 64;
    std::size_t queued_reply_bytes_max = 64 << 20;  // per connection: stop reading beyond this
    std::size_t connections_max = 4096;             // beyond: accept and close at once
    std::size_t read_chunk_bytes = 64 << 10;        // per connection: the read buffer
};

// A connection, unique for the life of the listener (the seam calls it a
// samsa::ClientId; runtime/broker_command.cpp converts).
using ConnectionId = std::uint64_t;

class KafkaListener {
public:
    // Bytes of the size prefix in front of every frame.
    static constexpr std::size_t size_prefix_bytes = 4;
    // Replies gathered into one write.
    static constexpr std::size_t replies_per_write_max = 64;
    // Bytes one send system call may take. Asio's default (transfer_all)
    // stops each call at 64 KiB, so a 1 MiB Fetch answer took 16 trips
    // through the event loop.
    static constexpr std::size_t bytes_per_send_max = std::size_t{4} << 20;
    // How long to wait before accepting again after accept failed (EMFILE...).
    static constexpr std::chrono::milliseconds accept_retry_delay{100};

    struct Handler {
        virtual ~Handler() = default;
        // One whole request frame (without the size prefix); `sequence` counts
        // from 0 per connection.
        virtual void on_frame(ConnectionId client, std::uint64_t sequence, io::Bytes frame) = 0;
        // The connection is gone (peer, error, close() or stop()); called once
        // per client that was accepted, after it has been forgotten.
        virtual void on_closed(ConnectionId client) = 0;
    };

    // Binds and listens on host:port (port 0: an ephemeral port; host "":
    // every interface; a name: its first address). The io_context and the
    // handler must outlive the listener.
    static Result<std::unique_ptr<KafkaListener>, std::string> open(
        boost::asio::io_context& context, const std::string& host, std::uint16_t port,
        ListenerLimits limits, Handler& handler);

    // Closes everything without calling the handler; call stop() first to be told.
    ~KafkaListener();
    KafkaListener(const KafkaListener&) = delete;
    KafkaListener& operator=(const KafkaListener&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    [[nodiscard]] std::size_t connections() const noexcept { return connections_.size(); }

    // The reply to request `sequence` of `client`: a frame without its size
    // prefix, or std::nullopt when the request has no response (Produce with
    // acks=0). Replies may come in any order; they are written in sequence
    // order. An unknown or closed client is ignored; a sequence that was not
    // delivered or was already answered is a programmer error.
    void reply(ConnectionId client, std::uint64_t sequence, std::optional<io::Bytes> frame);
    // Drops that connection now, with any unsent replies; on_closed follows
    // before this returns. An unknown client is ignored.
    void close(ConnectionId client);
    // Stops accepting and closes every connection (on_closed for each, in
    // ConnectionId order). Safe to call twice.
    void stop();

private:
    struct Connection;
    using ConnectionPtr = std::shared_ptr<Connection>;

    KafkaListener(boost::asio::io_context& context, ListenerLimits limits, Handler& handler);

    void accept_next();
    void on_accepted(const boost::system::error_code& error, boost::asio::ip::tcp::socket socket);
    void retry_accept_later();
    void pump(const ConnectionPtr& connection);
    bool parse_step(const ConnectionPtr& connection);
    bool start_frame(const ConnectionPtr& connection);
    void deliver_frame(const ConnectionPtr& connection);
    void start_read(const ConnectionPtr& connection);
    void on_read(const ConnectionPtr& connection, const boost::system::error_code& error,
                 std::size_t bytes, bool into_frame);
    void flush(const ConnectionPtr& connection);
    void on_written(const ConnectionPtr& connection, const boost::system::error_code& error);
    void close_connection(const ConnectionPtr& connection);
    [[nodiscard]] bool may_read(const Connection& connection) const;

    ListenerLimits limits_;
    Handler& handler_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer accept_retry_;
    std::unordered_map<ConnectionId, ConnectionPtr> connections_;  // at most connections_max
    // Cleared by the destructor: completions that run after it must not touch `this`.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    ConnectionId next_client_ = 1;
    std::uint16_t port_ = 0;
    bool stopped_ = false;
};

}  // namespace samsa::runtime

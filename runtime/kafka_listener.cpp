#include "runtime/kafka_listener.h"

#include <algorithm>
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "core/base/assert.h"
#include "core/base/big_endian.h"

namespace samsa::runtime {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Address space reserved for a frame when its size prefix arrives (a larger
// frame grows past it as its bytes come). Reserved, not touched: a peer that
// announces a large frame and sends nothing costs no memory.
constexpr std::size_t frame_reserve_bytes_max = std::size_t{8} << 20;

// A reply whose turn has come, with its size prefix, waiting to be written.
struct QueuedReply {
    std::array<std::uint8_t, KafkaListener::size_prefix_bytes> prefix{};
    io::Bytes body;
};

struct KafkaListener::Connection {
    Connection(tcp::socket s, ConnectionId client_id, std::size_t read_chunk_bytes)
        : socket(std::move(s)),
          id(client_id),
          read_buffer(std::make_unique<std::uint8_t[]>(read_chunk_bytes)) {}

    // Makes room for the next `bytes` of the frame (fewer if it ends sooner).
    // Only room about to be filled is touched: memory follows the bytes that
    // actually arrive, not the size a peer announces. The capacity reserved
    // up front (start_frame) is address space only, and saves the copies of
    // growing a large frame step by step.
    void make_frame_room(std::size_t bytes) {
        const std::size_t wanted = std::min(frame_filled + bytes, frame_bytes);
        if (frame.size() >= wanted) return;
        frame.resize(wanted);
        SAMSA_ASSERT(frame.size() <= frame_bytes);
    }
    [[nodiscard]] std::size_t unparsed() const noexcept { return read_end - read_begin; }
    [[nodiscard]] std::uint8_t* unparsed_data() const noexcept {
        return read_buffer.get() + read_begin;
    }

    tcp::socket socket;
    ConnectionId id;

    // Read side: [read_begin, read_end) of read_buffer is read but not parsed.
    std::unique_ptr<std::uint8_t[]> read_buffer;  // limits.read_chunk_bytes
    std::size_t read_begin = 0;
    std::size_t read_end = 0;
    // The frame being assembled: frame.size() bytes allocated, frame_filled of
    // them received, frame_bytes expected in all.
    bool in_frame = false;
    io::Bytes frame;
    std::size_t frame_filled = 0;
    std::size_t frame_bytes = 0;
    std::uint64_t next_frame_sequence = 0;  // of the next frame delivered

    // Write side. Sequences in [next_reply_sequence, next_frame_sequence) are
    // delivered and their reply has not yet joined `outgoing`.
    std::uint64_t next_reply_sequence = 0;
    std::map<std::uint64_t, std::optional<io::Bytes>> early;  // < requests_in_flight_max
    std::deque<QueuedReply> outgoing;                         // in request order
    std::vector<asio::const_buffer> gathered;  // of the write under way; replies_per_write_max
    std::size_t replies_writing = 0;           // front of `outgoing` in that write
    std::size_t queued_reply_bytes = 0;        // in `early` and `outgoing`, with prefixes

    bool reading = false;
    bool writing = false;
    bool parsing = false;  // pump() is on the stack: a nested call leaves the work to it
    bool closed = false;
};

Result<std::unique_ptr<KafkaListener>, std::string> KafkaListener::open(asio::io_context& context,
                                                                        const std::string& host,
                                                                        std::uint16_t port,
                                                                        ListenerLimits limits,
                                                                        Handler& handler) {
    SAMSA_ASSERT_MSG(limits.frame_bytes_max > 0 &&
                         limits.frame_bytes_max <= std::numeric_limits<std::int32_t>::max(),
                     "frame_bytes_max must be a positive int32");
    SAMSA_ASSERT_MSG(limits.requests_in_flight_max > 0, "requests_in_flight_max must be > 0");
    SAMSA_ASSERT_MSG(limits.read_chunk_bytes >= 4 * size_prefix_bytes, "read chunk too small");
    SAMSA_ASSERT_MSG(limits.connections_max > 0, "connections_max must be > 0");

    boost::system::error_code error;
    tcp::resolver resolver(context);
    const auto endpoints = resolver.resolve(
        host, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, error);
    if (error) return Failure{"cannot resolve " + host + ": " + error.message()};
    if (endpoints.empty()) return Failure{"no address for " + host};
    const tcp::endpoint endpoint = endpoints.begin()->endpoint();

    std::unique_ptr<KafkaListener> listener(new KafkaListener(context, limits, handler));
    tcp::acceptor& acceptor = listener->acceptor_;
    const auto failed = [&](const char* what) {
        return Failure{std::string(what) + " " + host + ":" + std::to_string(port) + ": " +
                       error.message()};
    };
    if (acceptor.open(endpoint.protocol(), error)) return failed("cannot open socket for");
    // Restarting a broker must not wait out TIME_WAIT on its port.
    if (acceptor.set_option(tcp::acceptor::reuse_address(true), error)) {
        return failed("cannot set SO_REUSEADDR for");
    }
    if (acceptor.bind(endpoint, error)) return failed("cannot bind");
    if (acceptor.listen(asio::socket_base::max_listen_connections, error)) {
        return failed("cannot listen on");
    }
    const tcp::endpoint bound = acceptor.local_endpoint(error);
    if (error) return failed("cannot read the bound port of");
    listener->port_ = bound.port();
    SAMSA_ASSERT(listener->port_ != 0);
    listener->accept_next();
    return listener;
}

KafkaListener::KafkaListener(asio::io_context& context, ListenerLimits limits, Handler& handler)
    : limits_(limits), handler_(handler), acceptor_(context), accept_retry_(context) {}

KafkaListener::~KafkaListener() {
    *alive_ = false;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
    // Completions still queued for these sockets see `closed` and return.
    for (auto& [id, connection] : connections_) {
        connection->closed = true;
        connection->socket.close(ignored);
    }
}

// ---- Accepting --------------------------------------------------------------

void KafkaListener::accept_next() {
    SAMSA_ASSERT(!stopped_);
    acceptor_.async_accept(
        [this, alive = alive_](const boost::system::error_code& error, tcp::socket socket) {
            if (!*alive) return;
            on_accepted(error, std::move(socket));
        });
}

void KafkaListener::on_accepted(const boost::system::error_code& error, tcp::socket socket) {
    if (stopped_ || error == asio::error::operation_aborted) return;
    if (error) {
        // Out of descriptors or a connection reset before accept: the
        // listener itself is fine, but retrying at once could spin.
        retry_accept_later();
        return;
    }
    boost::system::error_code ignored;
    if (connections_.size() >= limits_.connections_max) {
        socket.close(ignored);
        accept_next();
        return;
    }
    // Responses are whole frames written at once; Nagle would only delay them.
    socket.set_option(tcp::no_delay(true), ignored);
    const ConnectionId id = next_client_++;
    auto connection = std::make_shared<Connection>(std::move(socket), id, limits_.read_chunk_bytes);
    const bool inserted = connections_.emplace(id, connection).second;
    SAMSA_ASSERT_MSG(inserted, "ConnectionId reused");
    SAMSA_ASSERT(connections_.size() <= limits_.connections_max);
    pump(connection);
    accept_next();
}

void KafkaListener::retry_accept_later() {
    accept_retry_.expires_after(accept_retry_delay);
    accept_retry_.async_wait([this, alive = alive_](const boost::system::error_code& error) {
        if (!*alive || error || stopped_) return;
        accept_next();
    });
}

// ---- Reading and framing ----------------------------------------------------

bool KafkaListener::may_read(const Connection& connection) const {
    const std::uint64_t awaiting = connection.next_frame_sequence - connection.next_reply_sequence;
    return !connection.closed && awaiting < limits_.requests_in_flight_max &&
           connection.queued_reply_bytes <= limits_.queued_reply_bytes_max;
}

// Cuts frames out of what has been read while back-pressure allows, then
// reads more if it still allows. The only entry point to the read side.
void KafkaListener::pump(const ConnectionPtr& connection) {
    // A read under way owns the buffer (and maybe the frame); and a read is
    // only started once nothing more could be parsed, so there is nothing to do.
    if (connection->parsing || connection->reading) return;
    connection->parsing = true;
    while (may_read(*connection) && parse_step(connection)) {
    }
    connection->parsing = false;
    if (may_read(*connection)) start_read(connection);
}

// One step of parsing: a size prefix, or bytes of the current frame (and its
// delivery once whole). Returns whether it made progress.
bool KafkaListener::parse_step(const ConnectionPtr& connection) {
    Connection& c = *connection;
    if (!c.in_frame) return start_frame(connection);

    c.make_frame_room(c.unparsed());
    const std::size_t take = std::min(c.unparsed(), c.frame.size() - c.frame_filled);
    if (take > 0) {
        std::memcpy(c.frame.data() + c.frame_filled, c.unparsed_data(), take);
        c.frame_filled += take;
        c.read_begin += take;
    }
    SAMSA_ASSERT(c.frame_filled <= c.frame_bytes && c.read_begin <= c.read_end);
    if (c.frame_filled < c.frame_bytes) return take > 0;
    deliver_frame(connection);
    return true;
}

bool KafkaListener::start_frame(const ConnectionPtr& connection) {
    Connection& c = *connection;
    if (c.unparsed() < size_prefix_bytes) return false;
    const auto size = get_be<std::int32_t>(std::span(c.unparsed_data(), size_prefix_bytes));
    c.read_begin += size_prefix_bytes;
    // Zero is invalid too: every request has at least a header.
    if (size <= 0 || static_cast<std::uint32_t>(size) > limits_.frame_bytes_max) {
        close_connection(connection);
        return false;
    }
    c.in_frame = true;
    c.frame_bytes = static_cast<std::size_t>(size);
    c.frame_filled = 0;
    SAMSA_ASSERT(c.frame.empty());
    c.frame.reserve(std::min(c.frame_bytes, frame_reserve_bytes_max));
    return true;
}

void KafkaListener::deliver_frame(const ConnectionPtr& connection) {
    Connection& c = *connection;
    SAMSA_ASSERT(c.in_frame && c.frame_filled == c.frame_bytes && c.frame.size() == c.frame_bytes);
    const std::uint64_t sequence = c.next_frame_sequence++;
    io::Bytes frame = std::move(c.frame);
    c.frame = io::Bytes();
    c.in_frame = false;
    c.frame_filled = 0;
    c.frame_bytes = 0;
    handler_.on_frame(c.id, sequence, std::move(frame));
}

void KafkaListener::start_read(const ConnectionPtr& connection) {
    Connection& c = *connection;
    SAMSA_ASSERT(!c.reading && !c.closed);
    const std::size_t remaining = c.frame_bytes - c.frame_filled;
    if (c.in_frame && c.unparsed() == 0 && remaining >= limits_.read_chunk_bytes) {
        // Large frame: read straight into it rather than through the buffer.
        c.make_frame_room(limits_.read_chunk_bytes);
        c.reading = true;
        c.socket.async_read_some(
            asio::buffer(c.frame.data() + c.frame_filled, c.frame.size() - c.frame_filled),
            [this, connection](const boost::system::error_code& error, std::size_t bytes) {
                on_read(connection, error, bytes, true);
            });
        return;
    }
    // pump() parsed all it could, so what is left is a piece of a size prefix.
    SAMSA_ASSERT(c.unparsed() < size_prefix_bytes);
    std::memmove(c.read_buffer.get(), c.unparsed_data(), c.unparsed());
    c.read_end = c.unparsed();
    c.read_begin = 0;
    c.reading = true;
    c.socket.async_read_some(
        asio::buffer(c.read_buffer.get() + c.read_end, limits_.read_chunk_bytes - c.read_end),
        [this, connection](const boost::system::error_code& error, std::size_t bytes) {
            on_read(connection, error, bytes, false);
        });
}

void KafkaListener::on_read(const ConnectionPtr& connection, const boost::system::error_code& error,
                            std::size_t bytes, bool into_frame) {
    Connection& c = *connection;
    c.reading = false;
    if (c.closed) return;  // `this` may be gone: touch nothing else
    // End of stream included: a frame cut short is dropped with the connection.
    if (error) {
        close_connection(connection);
        return;
    }
    if (into_frame) {
        c.frame_filled += bytes;
        SAMSA_ASSERT(c.frame_filled <= c.frame.size());
    } else {
        c.read_end += bytes;
        SAMSA_ASSERT(c.read_end <= limits_.read_chunk_bytes);
    }
    pump(connection);
}

// ---- Replies ----------------------------------------------------------------

void KafkaListener::reply(ConnectionId client, std::uint64_t sequence,
                          std::optional<io::Bytes> frame) {
    const auto found = connections_.find(client);
    if (found == connections_.end()) return;
    const ConnectionPtr connection = found->second;
    Connection& c = *connection;
    SAMSA_ASSERT_MSG(sequence >= c.next_reply_sequence && sequence < c.next_frame_sequence,
                     "reply to a request that was not delivered or was already answered");
    SAMSA_ASSERT_MSG(!c.early.contains(sequence), "two replies to one request");
    if (frame.has_value()) {
        SAMSA_ASSERT_MSG(frame->size() <= std::numeric_limits<std::int32_t>::max(),
                         "reply larger than a frame can say");
        c.queued_reply_bytes += size_prefix_bytes + frame->size();
    }
    c.early.emplace(sequence, std::move(frame));
    // Move every reply whose turn has come to the write queue, skipping the
    // requests that have none.
    while (!c.early.empty() && c.early.begin()->first == c.next_reply_sequence) {
        auto& ready = c.early.begin()->second;
        if (ready.has_value()) {
            QueuedReply queued;
            queued.body = std::move(*ready);
            const auto size = static_cast<std::uint32_t>(queued.body.size());
            for (std::size_t i = 0; i < size_prefix_bytes; ++i) {
                queued.prefix[i] = static_cast<std::uint8_t>(size >> (8 * (3 - i)));
            }
            c.outgoing.push_back(std::move(queued));
        }
        c.early.erase(c.early.begin());
        ++c.next_reply_sequence;
    }
    SAMSA_ASSERT(c.early.size() < limits_.requests_in_flight_max);
    flush(connection);
    pump(connection);  // a request slot may have opened
}

void KafkaListener::flush(const ConnectionPtr& connection) {
    Connection& c = *connection;
    if (c.closed || c.writing || c.outgoing.empty()) return;
    c.replies_writing = std::min(c.outgoing.size(), replies_per_write_max);
    c.gathered.clear();
    for (std::size_t i = 0; i < c.replies_writing; ++i) {
        const QueuedReply& queued = c.outgoing[i];
        c.gathered.push_back(asio::buffer(queued.prefix));
        c.gathered.push_back(asio::buffer(queued.body.data(), queued.body.size()));
    }
    SAMSA_ASSERT(c.gathered.size() <= 2 * replies_per_write_max);
    c.writing = true;
    asio::async_write(
        c.socket, c.gathered,
        [](const boost::system::error_code& error, std::size_t) -> std::size_t {
            return error ? 0 : bytes_per_send_max;
        },
        [this, connection](const boost::system::error_code& error, std::size_t) {
            on_written(connection, error);
        });
}

void KafkaListener::on_written(const ConnectionPtr& connection,
                               const boost::system::error_code& error) {
    Connection& c = *connection;
    c.writing = false;
    if (c.closed) return;  // `this` may be gone: touch nothing else
    if (error) {
        close_connection(connection);
        return;
    }
    SAMSA_ASSERT(c.replies_writing <= c.outgoing.size());
    for (std::size_t i = 0; i < c.replies_writing; ++i) {
        const std::size_t bytes = size_prefix_bytes + c.outgoing.front().body.size();
        SAMSA_ASSERT(c.queued_reply_bytes >= bytes);
        c.queued_reply_bytes -= bytes;
        c.outgoing.pop_front();
    }
    c.replies_writing = 0;
    c.gathered.clear();
    flush(connection);
    pump(connection);  // the reply queue may have drained below its limit
}

// ---- Closing ----------------------------------------------------------------

void KafkaListener::close(ConnectionId client) {
    const auto found = connections_.find(client);
    if (found == connections_.end()) return;
    const ConnectionPtr connection = found->second;  // keeps it alive past the erase
    close_connection(connection);
}

void KafkaListener::close_connection(const ConnectionPtr& connection) {
    Connection& c = *connection;
    if (c.closed) return;
    c.closed = true;
    boost::system::error_code ignored;
    c.socket.close(ignored);  // pending reads and writes complete as aborted
    connections_.erase(c.id);
    handler_.on_closed(c.id);
}

void KafkaListener::stop() {
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
    std::vector<ConnectionPtr> open;
    open.reserve(connections_.size());
    for (auto& [id, connection] : connections_) open.push_back(connection);
    std::sort(open.begin(), open.end(),
              [](const ConnectionPtr& a, const ConnectionPtr& b) { return a->id < b->id; });
    for (const auto& connection : open) close_connection(connection);
    SAMSA_ASSERT(connections_.empty());
}

}  // namespace samsa::runtime

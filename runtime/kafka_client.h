// A small blocking Kafka client for samsa's own command-line tools (`samsa
// topic`, `group`, `produce`, `consume`): one request at a time, each with a
// deadline.
//
// Theory of operation. A KafkaConnection is one TCP connection to one broker.
// Opening it resolves and connects, then asks ApiVersions (v2, the codec's
// highest; a broker that lacks v2 answers with a v0-layout body carrying
// error 35 and its table, which is all we need) and keeps, per API, the
// highest version both the broker and samsa's codec (net/kafka) support.
// call() encodes a request at that version, writes it, reads one response
// frame (`int32 size`, at most response_bytes_max bytes), checks the
// correlation id and decodes the body, which must be consumed exactly.
// ListOffsets is capped at v3 (kClientVersionCaps): v4+ adds only leader-
// epoch fencing, which these tools do not use, and librdkafka 2.0.2's mock
// cluster writes 4 stray bytes into every partition of a v4+ response.
//
// Blocking with a deadline: every step is an Asio asynchronous operation on a
// private io_context that is run only until the operation completes or the
// deadline passes; on the deadline the socket is closed, which cancels the
// operation, and the connection is dead from then on. Asio errors are values
// (error_code overloads only); every failure becomes a ClientError whose
// message names the broker, the API and what went wrong.
//
// Resolving is cancelled at the deadline too, but Asio runs getaddrinfo on a
// helper thread that cannot be interrupted: a name server that hangs delays
// the error until getaddrinfo itself gives up.
//
// A KafkaClient holds the bootstrap connection plus one connection per broker
// it has been sent to, learned from Metadata (at most brokers_max). Requests
// for a partition go to its leader; admin requests go to the controller, or
// to the bootstrap broker when the controller is not among the brokers
// listed (librdkafka's mock cluster reports controller 0, a broker it lacks);
// group requests go to the group's coordinator, found with FindCoordinator.
// Below it, the topic-level steps every command shares: a topic's partitions
// and leaders (topic_partitions), their offsets (list_offsets) and their
// records (fetch_records: uncompressed batches only).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/log/batch.h"
#include "net/kafka/api.h"

namespace samsa::runtime {

struct ClientError {
    std::string message;
};

// Kafka error codes and ListOffsets timestamps the tools act on.
inline constexpr std::int16_t error_offset_out_of_range = 1;
inline constexpr std::int16_t error_unknown_topic_or_partition = 3;
inline constexpr std::int16_t error_leader_not_available = 5;
inline constexpr std::int16_t error_coordinator_load_in_progress = 14;
inline constexpr std::int16_t error_coordinator_not_available = 15;
inline constexpr std::int16_t error_not_coordinator = 16;
inline constexpr std::int16_t error_illegal_generation = 22;
inline constexpr std::int16_t error_unknown_member_id = 25;
inline constexpr std::int16_t error_rebalance_in_progress = 27;
inline constexpr std::int16_t error_non_empty_group = 68;
inline constexpr std::int16_t error_group_id_not_found = 69;
inline constexpr std::int16_t error_member_id_required = 79;
inline constexpr std::int64_t offset_latest = -1;
inline constexpr std::int64_t offset_earliest = -2;

// The Kafka name of an error code ("UNKNOWN_TOPIC_OR_PARTITION"), or
// "error N" for codes this table does not know.
std::string kafka_error_name(std::int16_t code);

// A group error that goes away by waiting and asking FindCoordinator again
// (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR).
bool is_retriable_group_error(std::int16_t code);

struct ClientOptions {
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds request_timeout{30000};
    std::string client_id = "samsa-cli";
};

struct BrokerAddress {
    std::string host;
    std::uint16_t port = 0;

    [[nodiscard]] std::string to_string() const;
};

// "HOST:PORT" (the port may be 1-65535), or nullopt.
std::optional<BrokerAddress> parse_broker_address(const std::string& text);

class KafkaConnection {
public:
    static constexpr std::size_t response_bytes_max = 64u << 20;

    // Connects and negotiates versions; a ClientError if either fails.
    static Result<std::unique_ptr<KafkaConnection>, ClientError> open(const BrokerAddress& address,
                                                                      const ClientOptions& options);

    KafkaConnection(const KafkaConnection&) = delete;
    KafkaConnection& operator=(const KafkaConnection&) = delete;

    // The version this connection uses for `api_key`, or nullopt when the
    // broker and the codec share none.
    [[nodiscard]] std::optional<std::int16_t> version_of(std::int16_t api_key) const;
    [[nodiscard]] const BrokerAddress& address() const noexcept { return address_; }

    // Sends `request` at the negotiated version and decodes its response.
    template <class Response, class Request>
    Result<Response, ClientError> call(const Request& request) {
        static_assert(Response::api_key == Request::api_key);
        const auto version = version_of(Request::api_key);
        if (!version) return Failure{unsupported(Request::api_key)};
        auto body = exchange(kafka::Request{request}, Request::api_key, *version, true);
        if (!body.ok()) return Failure{body.error()};
        kafka::Reader reader(body.value());
        auto decoded = Response::decode(*version, reader);
        if (!decoded.ok() || !reader.at_end()) {
            return Failure{malformed(Request::api_key, *version, reader)};
        }
        return std::move(decoded).value();
    }

    // Sends a request that gets no response (Produce with acks=0).
    template <class Request>
    Status<ClientError> send_only(const Request& request) {
        const auto version = version_of(Request::api_key);
        if (!version) return Failure{unsupported(Request::api_key)};
        auto sent = exchange(kafka::Request{request}, Request::api_key, *version, false);
        if (!sent.ok()) return Failure{sent.error()};
        return {};
    }

private:
    KafkaConnection(BrokerAddress address, ClientOptions options);

    Status<ClientError> connect();
    Status<ClientError> negotiate();
    // Writes the request frame and, if `await_response`, reads the response
    // body that follows the correlation id.
    Result<kafka::Bytes, ClientError> exchange(const kafka::Request& request, std::int16_t api_key,
                                               std::int16_t version, bool await_response);
    Result<kafka::Bytes, ClientError> read_frame(std::int16_t api_key,
                                                 std::chrono::steady_clock::time_point deadline);
    // Runs the context until `done` or `deadline`; false (and the socket
    // closed) on the deadline.
    bool run_until(const bool& done, std::chrono::steady_clock::time_point deadline);
    ClientError failure(std::int16_t api_key, const std::string& what);
    ClientError unsupported(std::int16_t api_key) const;
    ClientError malformed(std::int16_t api_key, std::int16_t version,
                          const kafka::Reader& reader) const;

    BrokerAddress address_;
    ClientOptions options_;
    boost::asio::io_context context_;
    boost::asio::ip::tcp::resolver resolver_;
    boost::asio::ip::tcp::socket socket_;
    bool broken_ = false;
    std::int32_t next_correlation_id_ = 1;
    std::map<std::int16_t, std::int16_t> versions_;  // api key -> negotiated version
};

// What Metadata says about the cluster and the topics asked for.
struct ClusterView {
    std::map<std::int32_t, BrokerAddress> brokers;
    std::int32_t controller_id = -1;
    kafka::MetadataResponse metadata;
};

class KafkaClient {
public:
    static constexpr std::size_t brokers_max = 1024;

    // Connects to the bootstrap broker.
    static Result<std::unique_ptr<KafkaClient>, ClientError> open(const std::string& bootstrap,
                                                                  const ClientOptions& options);

    // Metadata for `topics`, or every topic when nullopt. Remembers the
    // brokers it lists for leader() and controller().
    Result<ClusterView, ClientError> metadata(const std::optional<std::vector<std::string>>& topics,
                                              bool allow_auto_topic_creation);

    KafkaConnection& bootstrap() noexcept { return *bootstrap_; }
    // A connection to broker `node_id` as the last metadata listed it.
    Result<KafkaConnection*, ClientError> broker(std::int32_t node_id);
    // Where admin requests go: the controller if it is listed, else bootstrap.
    Result<KafkaConnection*, ClientError> controller();
    // The coordinator of consumer group `group`: FindCoordinator (key type 0)
    // on the bootstrap broker, asked again for a while as long as it answers
    // a retriable group error, then a connection to the address it names.
    Result<KafkaConnection*, ClientError> coordinator(const std::string& group);

private:
    KafkaClient(std::unique_ptr<KafkaConnection> bootstrap, ClientOptions options);

    std::unique_ptr<KafkaConnection> bootstrap_;
    ClientOptions options_;
    std::map<std::int32_t, BrokerAddress> brokers_;
    std::int32_t controller_id_ = -1;
    std::map<std::int32_t, std::unique_ptr<KafkaConnection>> connections_;
};

using PartitionLeaders = std::map<std::int32_t, std::int32_t>;  // partition -> leader node id

// "KAFKA_ERROR_NAME for partition P of topic 'T'[: message]".
ClientError partition_error(const std::string& topic, std::int32_t partition, std::int16_t code,
                            const std::optional<std::string>& message = std::nullopt);

// The partitions of `topic` and their leaders, waiting (a bounded number of
// times) for the leaders a newly created topic may not have yet. A missing
// topic is "topic 'T' does not exist". `view_out`, if given, receives the
// Metadata answer.
Result<PartitionLeaders, ClientError> topic_partitions(KafkaClient& client,
                                                       const std::string& topic,
                                                       bool allow_auto_topic_creation,
                                                       ClusterView* view_out = nullptr);

// Partition indexes grouped by leader.
std::map<std::int32_t, std::vector<std::int32_t>> by_leader(const PartitionLeaders& partitions);

// The offset of every partition at `timestamp` (offset_latest, offset_earliest),
// asked of each leader with ListOffsets.
Result<std::map<std::int32_t, std::int64_t>, ClientError> list_offsets(
    KafkaClient& client, const std::string& topic, const PartitionLeaders& partitions,
    std::int64_t timestamp);

// One partition being read by fetch_records.
inline constexpr std::int32_t partition_fetch_bytes_first = 1 << 20;
inline constexpr std::int32_t partition_fetch_bytes_max = 16 << 20;
struct FetchPartition {
    std::int32_t leader = -1;
    std::int64_t position = 0;      // the next offset to read
    std::int64_t end_at_start = 0;  // the caller's mark (consume's stop rule); not used here
    std::int32_t fetch_bytes = partition_fetch_bytes_first;  // doubled when a batch is larger
};

// Gets each record at or after its partition's position, in offset order;
// false stops the round.
using RecordSink =
    std::function<bool(std::int32_t partition, std::int64_t offset, const log::RecordView& record)>;

// One round of Fetch: one request per leader for `partitions` of `topic`
// (waiting at most `max_wait_ms` for data), every record handed to `sink`
// and the positions moved past them (and past control batches). A partition
// error, a corrupt or compressed batch, or a batch larger than
// partition_fetch_bytes_max is a ClientError.
Status<ClientError> fetch_records(KafkaClient& client, const std::string& topic,
                                  std::map<std::int32_t, FetchPartition>& partitions,
                                  std::int32_t max_wait_ms, const RecordSink& sink);

}  // namespace samsa::runtime

#include "runtime/kafka_client.h"

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <thread>
#include <utility>

namespace samsa::runtime {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kSizePrefixBytes = 4;

// Metadata right after creation may still lack leaders: retry this often.
constexpr int kMetadataAttemptsMax = 20;
constexpr auto kMetadataRetryDelay = std::chrono::milliseconds(250);
constexpr std::size_t kCorrelationIdBytes = 4;
// FindCoordinator while the coordinator is loading or not yet elected.
constexpr int kCoordinatorAttemptsMax = 40;
constexpr auto kCoordinatorRetryDelay = std::chrono::milliseconds(250);
constexpr std::int8_t kGroupKeyType = 0;

struct ErrorName {
    std::int16_t code;
    const char* name;
};

// The codes a client of this broker can meet; others print as "error N".
constexpr std::array<ErrorName, 56> kErrorNames = {{
    {-1, "UNKNOWN_SERVER_ERROR"},
    {0, "NONE"},
    {1, "OFFSET_OUT_OF_RANGE"},
    {2, "CORRUPT_MESSAGE"},
    {3, "UNKNOWN_TOPIC_OR_PARTITION"},
    {4, "INVALID_FETCH_SIZE"},
    {5, "LEADER_NOT_AVAILABLE"},
    {6, "NOT_LEADER_OR_FOLLOWER"},
    {7, "REQUEST_TIMED_OUT"},
    {8, "BROKER_NOT_AVAILABLE"},
    {9, "REPLICA_NOT_AVAILABLE"},
    {10, "MESSAGE_TOO_LARGE"},
    {12, "OFFSET_METADATA_TOO_LARGE"},
    {13, "NETWORK_EXCEPTION"},
    {14, "COORDINATOR_LOAD_IN_PROGRESS"},
    {15, "COORDINATOR_NOT_AVAILABLE"},
    {16, "NOT_COORDINATOR"},
    {17, "INVALID_TOPIC_EXCEPTION"},
    {18, "RECORD_LIST_TOO_LARGE"},
    {19, "NOT_ENOUGH_REPLICAS"},
    {20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND"},
    {21, "INVALID_REQUIRED_ACKS"},
    {22, "ILLEGAL_GENERATION"},
    {23, "INCONSISTENT_GROUP_PROTOCOL"},
    {24, "INVALID_GROUP_ID"},
    {25, "UNKNOWN_MEMBER_ID"},
    {26, "INVALID_SESSION_TIMEOUT"},
    {27, "REBALANCE_IN_PROGRESS"},
    {28, "INVALID_COMMIT_OFFSET_SIZE"},
    {29, "TOPIC_AUTHORIZATION_FAILED"},
    {30, "GROUP_AUTHORIZATION_FAILED"},
    {31, "CLUSTER_AUTHORIZATION_FAILED"},
    {32, "INVALID_TIMESTAMP"},
    {33, "UNSUPPORTED_SASL_MECHANISM"},
    {35, "UNSUPPORTED_VERSION"},
    {36, "TOPIC_ALREADY_EXISTS"},
    {37, "INVALID_PARTITIONS"},
    {38, "INVALID_REPLICATION_FACTOR"},
    {39, "INVALID_REPLICA_ASSIGNMENT"},
    {40, "INVALID_CONFIG"},
    {41, "NOT_CONTROLLER"},
    {42, "INVALID_REQUEST"},
    {43, "UNSUPPORTED_FOR_MESSAGE_FORMAT"},
    {44, "POLICY_VIOLATION"},
    {45, "OUT_OF_ORDER_SEQUENCE_NUMBER"},
    {46, "DUPLICATE_SEQUENCE_NUMBER"},
    {47, "INVALID_PRODUCER_EPOCH"},
    {68, "NON_EMPTY_GROUP"},
    {69, "GROUP_ID_NOT_FOUND"},
    {73, "TOPIC_DELETION_DISABLED"},
    {74, "FENCED_LEADER_EPOCH"},
    {75, "UNKNOWN_LEADER_EPOCH"},
    {79, "MEMBER_ID_REQUIRED"},
    {81, "GROUP_MAX_SIZE_REACHED"},
    {82, "FENCED_INSTANCE_ID"},
    {87, "INVALID_RECORD"},
}};

// Fetch: the most one response may carry.
constexpr std::int32_t kFetchBytesMax = 32 << 20;

// Versions these tools never go above, whatever both sides support (see the
// header: ListOffsets v4+ is malformed in librdkafka 2.0.2's mock cluster).
constexpr std::array<std::pair<std::int16_t, std::int16_t>, 1> kClientVersionCaps = {{
    {kafka::ListOffsetsRequest::api_key, 3},
}};

const char* api_name(std::int16_t api_key) {
    switch (api_key) {
        case kafka::ProduceRequest::api_key: return "Produce";
        case kafka::FetchRequest::api_key: return "Fetch";
        case kafka::ListOffsetsRequest::api_key: return "ListOffsets";
        case kafka::MetadataRequest::api_key: return "Metadata";
        case kafka::ApiVersionsRequest::api_key: return "ApiVersions";
        case kafka::CreateTopicsRequest::api_key: return "CreateTopics";
        case kafka::DeleteTopicsRequest::api_key: return "DeleteTopics";
        case kafka::DescribeConfigsRequest::api_key: return "DescribeConfigs";
        case kafka::OffsetCommitRequest::api_key: return "OffsetCommit";
        case kafka::OffsetFetchRequest::api_key: return "OffsetFetch";
        case kafka::FindCoordinatorRequest::api_key: return "FindCoordinator";
        case kafka::JoinGroupRequest::api_key: return "JoinGroup";
        case kafka::HeartbeatRequest::api_key: return "Heartbeat";
        case kafka::LeaveGroupRequest::api_key: return "LeaveGroup";
        case kafka::SyncGroupRequest::api_key: return "SyncGroup";
        case kafka::DescribeGroupsRequest::api_key: return "DescribeGroups";
        case kafka::ListGroupsRequest::api_key: return "ListGroups";
        case kafka::DeleteGroupsRequest::api_key: return "DeleteGroups";
        default: return "Kafka";
    }
}

std::int16_t read_be16(const kafka::Bytes& bytes, std::size_t at) {
    return static_cast<std::int16_t>((bytes[at] << 8) | bytes[at + 1]);
}

std::int32_t read_be32(const std::uint8_t* bytes) {
    return static_cast<std::int32_t>((static_cast<std::uint32_t>(bytes[0]) << 24) |
                                     (static_cast<std::uint32_t>(bytes[1]) << 16) |
                                     (static_cast<std::uint32_t>(bytes[2]) << 8) |
                                     static_cast<std::uint32_t>(bytes[3]));
}

}  // namespace

bool is_retriable_group_error(std::int16_t code) {
    return code == error_coordinator_load_in_progress || code == error_coordinator_not_available ||
           code == error_not_coordinator;
}

std::string kafka_error_name(std::int16_t code) {
    for (const auto& entry : kErrorNames) {
        if (entry.code == code) return entry.name;
    }
    return "error " + std::to_string(code);
}

std::string BrokerAddress::to_string() const {
    return host + ":" + std::to_string(port);
}

std::optional<BrokerAddress> parse_broker_address(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
    constexpr std::size_t port_digits_max = 5;
    if (text.size() - colon - 1 > port_digits_max) return std::nullopt;
    unsigned long port = 0;
    for (std::size_t i = colon + 1; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
        port = port * 10 + static_cast<unsigned long>(text[i] - '0');
    }
    if (port == 0 || port > 65535) return std::nullopt;
    std::string host = text.substr(0, colon);
    // "[::1]:9092": the brackets only separate the address from the port.
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    return BrokerAddress{std::move(host), static_cast<std::uint16_t>(port)};
}

// ---------------------------------------------------------------------------
// KafkaConnection

KafkaConnection::KafkaConnection(BrokerAddress address, ClientOptions options)
    : address_(std::move(address)),
      options_(std::move(options)),
      resolver_(context_),
      socket_(context_) {}

Result<std::unique_ptr<KafkaConnection>, ClientError> KafkaConnection::open(
    const BrokerAddress& address, const ClientOptions& options) {
    std::unique_ptr<KafkaConnection> connection(new KafkaConnection(address, options));
    if (auto connected = connection->connect(); !connected.ok()) {
        return Failure{connected.error()};
    }
    if (auto negotiated = connection->negotiate(); !negotiated.ok()) {
        return Failure{negotiated.error()};
    }
    return connection;
}

bool KafkaConnection::run_until(const bool& done, Clock::time_point deadline) {
    context_.restart();
    while (!done) {
        if (context_.run_one_until(deadline) == 0) break;
    }
    if (done) return true;
    // The deadline passed: closing the socket cancels the operation, whose
    // handler must still run before the context can be used or destroyed.
    boost::system::error_code ignored;
    resolver_.cancel();
    socket_.close(ignored);
    broken_ = true;
    context_.restart();
    context_.run();
    return false;
}

Status<ClientError> KafkaConnection::connect() {
    const auto deadline = Clock::now() + options_.connect_timeout;
    boost::system::error_code error;
    boost::asio::ip::tcp::resolver::results_type endpoints;
    bool done = false;
    resolver_.async_resolve(address_.host, std::to_string(address_.port),
                            [&](const boost::system::error_code& e, auto results) {
                                error = e;
                                endpoints = std::move(results);
                                done = true;
                            });
    if (!run_until(done, deadline)) {
        return Failure{ClientError{"timed out resolving " + address_.to_string()}};
    }
    if (error) {
        broken_ = true;
        return Failure{
            ClientError{"cannot resolve " + address_.to_string() + ": " + error.message()}};
    }
    done = false;
    boost::asio::async_connect(socket_, endpoints,
                               [&](const boost::system::error_code& e, const auto&) {
                                   error = e;
                                   done = true;
                               });
    if (!run_until(done, deadline)) {
        return Failure{ClientError{"timed out after " +
                                   std::to_string(options_.connect_timeout.count()) +
                                   " ms connecting to " + address_.to_string()}};
    }
    if (error) {
        broken_ = true;
        return Failure{
            ClientError{"cannot connect to " + address_.to_string() + ": " + error.message()}};
    }
    boost::asio::ip::tcp::no_delay no_delay(true);
    socket_.set_option(no_delay, error);  // best effort: only latency depends on it
    return {};
}

Status<ClientError> KafkaConnection::negotiate() {
    // v2 is the codec's highest. A broker without it answers error 35 in the
    // v0 layout (error code and table), which tells us all we need.
    constexpr std::int16_t asked_version = kafka::ApiVersionsRequest::max_version;
    auto body = exchange(kafka::Request{kafka::ApiVersionsRequest{}},
                         kafka::ApiVersionsRequest::api_key, asked_version, true);
    if (!body.ok()) return Failure{body.error()};
    const kafka::Bytes& bytes = body.value();
    if (bytes.size() < 2) {
        return Failure{ClientError{"malformed ApiVersions response from " + address_.to_string()}};
    }
    const std::int16_t error_code = read_be16(bytes, 0);
    const std::int16_t layout =
        error_code == kafka::error_unsupported_version ? std::int16_t{0} : asked_version;
    kafka::Reader reader(bytes);
    auto decoded = kafka::ApiVersionsResponse::decode(layout, reader);
    if (!decoded.ok() || !reader.at_end()) {
        return Failure{malformed(kafka::ApiVersionsRequest::api_key, layout, reader)};
    }
    const auto& response = decoded.value();
    if (response.error_code != kafka::error_none &&
        response.error_code != kafka::error_unsupported_version) {
        return Failure{ClientError{address_.to_string() + " answered ApiVersions with " +
                                   kafka_error_name(response.error_code)}};
    }
    for (const auto& theirs : response.api_keys) {
        const auto ours = kafka::find_api(theirs.api_key);
        if (!ours) continue;
        const std::int16_t low = std::max(ours->min_version, theirs.min_version);
        std::int16_t high = std::min(ours->max_version, theirs.max_version);
        for (const auto& [api_key, cap] : kClientVersionCaps) {
            if (api_key == theirs.api_key) high = std::min(high, cap);
        }
        if (low <= high) versions_[theirs.api_key] = high;
    }
    return {};
}

std::optional<std::int16_t> KafkaConnection::version_of(std::int16_t api_key) const {
    const auto found = versions_.find(api_key);
    if (found == versions_.end()) return std::nullopt;
    return found->second;
}

ClientError KafkaConnection::failure(std::int16_t api_key, const std::string& what) {
    broken_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
    return ClientError{std::string(api_name(api_key)) + " request to " + address_.to_string() +
                       " failed: " + what};
}

ClientError KafkaConnection::unsupported(std::int16_t api_key) const {
    return ClientError{"the broker at " + address_.to_string() + " does not support " +
                       api_name(api_key) + " (API key " + std::to_string(api_key) +
                       ") in any version samsa speaks"};
}

ClientError KafkaConnection::malformed(std::int16_t api_key, std::int16_t version,
                                       const kafka::Reader& reader) const {
    const std::string why = reader.ok() ? "bytes left over after the body"
                                        : std::string(kafka::to_string(*reader.error())) +
                                              " at byte " + std::to_string(reader.error_offset());
    return ClientError{"malformed " + std::string(api_name(api_key)) + " v" +
                       std::to_string(version) + " response from " + address_.to_string() + ": " +
                       why};
}

Result<kafka::Bytes, ClientError> KafkaConnection::exchange(const kafka::Request& request,
                                                            std::int16_t api_key,
                                                            std::int16_t version,
                                                            bool await_response) {
    if (broken_) {
        return Failure{ClientError{"the connection to " + address_.to_string() +
                                   " failed earlier and is closed"}};
    }
    const auto deadline = Clock::now() + options_.request_timeout;
    const std::int32_t correlation_id = next_correlation_id_++;
    kafka::RequestHeader header{api_key, version, correlation_id, options_.client_id};
    const kafka::Bytes frame = kafka::encode_request_frame(header, request);
    boost::system::error_code error;
    bool done = false;
    boost::asio::async_write(socket_, boost::asio::buffer(frame.data(), frame.size()),
                             [&](const boost::system::error_code& e, std::size_t) {
                                 error = e;
                                 done = true;
                             });
    if (!run_until(done, deadline)) return Failure{failure(api_key, "timed out sending")};
    if (error) return Failure{failure(api_key, "cannot send: " + error.message())};
    if (!await_response) return kafka::Bytes{};

    auto response = read_frame(api_key, deadline);
    if (!response.ok()) return Failure{response.error()};
    kafka::Bytes& bytes = response.value();
    const std::int32_t answered = read_be32(bytes.data());
    if (answered != correlation_id) {
        return Failure{failure(api_key, "response carries correlation id " +
                                            std::to_string(answered) + ", expected " +
                                            std::to_string(correlation_id))};
    }
    bytes.erase(bytes.begin(), bytes.begin() + kCorrelationIdBytes);
    return std::move(bytes);
}

Result<kafka::Bytes, ClientError> KafkaConnection::read_frame(std::int16_t api_key,
                                                              Clock::time_point deadline) {
    std::array<std::uint8_t, kSizePrefixBytes> prefix{};
    boost::system::error_code error;
    bool done = false;
    auto on_read = [&](const boost::system::error_code& e, std::size_t) {
        error = e;
        done = true;
    };
    boost::asio::async_read(socket_, boost::asio::buffer(prefix), on_read);
    const std::string timeout_text =
        "no response within " + std::to_string(options_.request_timeout.count()) + " ms";
    if (!run_until(done, deadline)) return Failure{failure(api_key, timeout_text)};
    if (error == boost::asio::error::eof || error == boost::asio::error::connection_reset) {
        return Failure{failure(api_key,
                               "the broker closed the connection instead of answering (it may "
                               "not implement this API yet)")};
    }
    if (error) return Failure{failure(api_key, "cannot read: " + error.message())};
    const std::int32_t size = read_be32(prefix.data());
    if (size < static_cast<std::int32_t>(kCorrelationIdBytes) ||
        static_cast<std::size_t>(size) > response_bytes_max) {
        return Failure{failure(api_key, "response size " + std::to_string(size) +
                                            " is outside 4.." +
                                            std::to_string(response_bytes_max))};
    }
    kafka::Bytes body(static_cast<std::size_t>(size));
    done = false;
    boost::asio::async_read(socket_, boost::asio::buffer(body.data(), body.size()), on_read);
    if (!run_until(done, deadline)) return Failure{failure(api_key, timeout_text)};
    if (error) {
        return Failure{failure(api_key, "connection lost inside a response: " + error.message())};
    }
    return body;
}

// ---------------------------------------------------------------------------
// KafkaClient

KafkaClient::KafkaClient(std::unique_ptr<KafkaConnection> bootstrap, ClientOptions options)
    : bootstrap_(std::move(bootstrap)), options_(std::move(options)) {}

Result<std::unique_ptr<KafkaClient>, ClientError> KafkaClient::open(const std::string& bootstrap,
                                                                    const ClientOptions& options) {
    const auto address = parse_broker_address(bootstrap);
    if (!address) {
        return Failure{ClientError{"--bootstrap must be HOST:PORT, not '" + bootstrap + "'"}};
    }
    auto connection = KafkaConnection::open(*address, options);
    if (!connection.ok()) return Failure{connection.error()};
    return std::unique_ptr<KafkaClient>(new KafkaClient(std::move(connection).value(), options));
}

Result<ClusterView, ClientError> KafkaClient::metadata(
    const std::optional<std::vector<std::string>>& topics, bool allow_auto_topic_creation) {
    kafka::MetadataRequest request;
    request.allow_auto_topic_creation = allow_auto_topic_creation;
    const auto version = bootstrap_->version_of(kafka::MetadataRequest::api_key);
    if (topics) {
        for (const auto& name : *topics) request.topics->push_back({name});
    } else if (version && *version >= 1) {
        request.topics = std::nullopt;  // v1+: null asks for every topic (v0: empty does)
    }
    auto response = bootstrap_->call<kafka::MetadataResponse>(request);
    if (!response.ok()) return Failure{response.error()};
    ClusterView view;
    view.metadata = std::move(response).value();
    view.controller_id = view.metadata.controller_id;
    if (view.metadata.brokers.size() > brokers_max) {
        return Failure{
            ClientError{"Metadata lists more than " + std::to_string(brokers_max) + " brokers"}};
    }
    for (const auto& broker : view.metadata.brokers) {
        if (broker.port <= 0 || broker.port > 65535) continue;
        view.brokers[broker.node_id] =
            BrokerAddress{broker.host, static_cast<std::uint16_t>(broker.port)};
    }
    brokers_ = view.brokers;
    controller_id_ = view.controller_id;
    return view;
}

Result<KafkaConnection*, ClientError> KafkaClient::broker(std::int32_t node_id) {
    if (auto found = connections_.find(node_id); found != connections_.end()) {
        return found->second.get();
    }
    const auto address = brokers_.find(node_id);
    if (address == brokers_.end()) {
        return Failure{
            ClientError{"broker " + std::to_string(node_id) + " is not in the cluster metadata"}};
    }
    // The bootstrap broker is usually one of them: reuse its connection.
    if (address->second.host == bootstrap_->address().host &&
        address->second.port == bootstrap_->address().port) {
        return bootstrap_.get();
    }
    auto connection = KafkaConnection::open(address->second, options_);
    if (!connection.ok()) return Failure{connection.error()};
    KafkaConnection* raw = connection.value().get();
    connections_[node_id] = std::move(connection).value();
    return raw;
}

Result<KafkaConnection*, ClientError> KafkaClient::coordinator(const std::string& group) {
    kafka::FindCoordinatorRequest request;
    request.key = group;
    request.key_type = kGroupKeyType;
    for (int attempt = 1;; ++attempt) {
        auto response = bootstrap_->call<kafka::FindCoordinatorResponse>(request);
        if (!response.ok()) return Failure{response.error()};
        const auto& answer = response.value();
        if (answer.error_code == 0) {
            if (answer.port <= 0 || answer.port > 65535) {
                return Failure{ClientError{"FindCoordinator for group '" + group +
                                           "' answered port " + std::to_string(answer.port)}};
            }
            const BrokerAddress address{answer.host, static_cast<std::uint16_t>(answer.port)};
            const auto known = connections_.find(answer.node_id);
            if (known != connections_.end() && (known->second->address().host != address.host ||
                                                known->second->address().port != address.port)) {
                connections_.erase(known);  // the node moved: connect again
            }
            brokers_[answer.node_id] = address;
            return broker(answer.node_id);
        }
        if (!is_retriable_group_error(answer.error_code) || attempt == kCoordinatorAttemptsMax) {
            std::string text = "cannot find the coordinator of group '" + group +
                               "': " + kafka_error_name(answer.error_code);
            if (answer.error_message && !answer.error_message->empty()) {
                text += ": " + *answer.error_message;
            }
            return Failure{ClientError{text}};
        }
        std::this_thread::sleep_for(kCoordinatorRetryDelay);
    }
}

Result<KafkaConnection*, ClientError> KafkaClient::controller() {
    if (brokers_.empty()) {
        auto refreshed = metadata(std::vector<std::string>{}, false);
        if (!refreshed.ok()) return Failure{refreshed.error()};
    }
    if (brokers_.count(controller_id_) == 0) return bootstrap_.get();
    return broker(controller_id_);
}

// ---------------------------------------------------------------------------
// Topic-level helpers

ClientError partition_error(const std::string& topic, std::int32_t partition, std::int16_t code,
                            const std::optional<std::string>& message) {
    std::string text = kafka_error_name(code) + " for partition " + std::to_string(partition) +
                       " of topic '" + topic + "'";
    if (message && !message->empty()) text += ": " + *message;
    return ClientError{text};
}

Result<PartitionLeaders, ClientError> topic_partitions(KafkaClient& client,
                                                       const std::string& topic,
                                                       bool allow_auto_topic_creation,
                                                       ClusterView* view_out) {
    for (int attempt = 1;; ++attempt) {
        auto view = client.metadata(std::vector<std::string>{topic}, allow_auto_topic_creation);
        if (!view.ok()) return Failure{view.error()};
        const auto& topics = view.value().metadata.topics;
        const auto found = std::find_if(topics.begin(), topics.end(),
                                        [&](const auto& entry) { return entry.name == topic; });
        if (found == topics.end() || found->error_code == error_unknown_topic_or_partition) {
            return Failure{ClientError{"topic '" + topic + "' does not exist"}};
        }
        bool retry = found->error_code == error_leader_not_available || found->partitions.empty();
        if (found->error_code != 0 && !retry) {
            return Failure{
                ClientError{"topic '" + topic + "': " + kafka_error_name(found->error_code)}};
        }
        PartitionLeaders partitions;
        for (const auto& partition : found->partitions) {
            if (partition.leader_id < 0 || partition.error_code == error_leader_not_available) {
                retry = true;
            }
            partitions[partition.partition_index] = partition.leader_id;
        }
        if (!retry) {
            if (view_out != nullptr) *view_out = std::move(view).value();
            return partitions;
        }
        if (attempt == kMetadataAttemptsMax) {
            return Failure{ClientError{"topic '" + topic + "' has partitions without a leader"}};
        }
        std::this_thread::sleep_for(kMetadataRetryDelay);
    }
}

std::map<std::int32_t, std::vector<std::int32_t>> by_leader(const PartitionLeaders& partitions) {
    std::map<std::int32_t, std::vector<std::int32_t>> groups;
    for (const auto& [partition, leader] : partitions) groups[leader].push_back(partition);
    return groups;
}

Result<std::map<std::int32_t, std::int64_t>, ClientError> list_offsets(
    KafkaClient& client, const std::string& topic, const PartitionLeaders& partitions,
    std::int64_t timestamp) {
    std::map<std::int32_t, std::int64_t> offsets;
    for (const auto& [leader, indexes] : by_leader(partitions)) {
        auto connection = client.broker(leader);
        if (!connection.ok()) return Failure{connection.error()};
        kafka::ListOffsetsRequest request;
        request.replica_id = -1;
        auto& entry = request.topics.emplace_back();
        entry.name = topic;
        for (const auto index : indexes) {
            auto& partition = entry.partitions.emplace_back();
            partition.partition_index = index;
            partition.timestamp = timestamp;
        }
        auto response = connection.value()->call<kafka::ListOffsetsResponse>(request);
        if (!response.ok()) return Failure{response.error()};
        const bool old_style = connection.value()->version_of(request.api_key) == 0;
        for (const auto& topic_response : response.value().topics) {
            for (const auto& partition : topic_response.partitions) {
                if (partition.error_code != 0) {
                    return Failure{
                        partition_error(topic, partition.partition_index, partition.error_code)};
                }
                std::int64_t offset = partition.offset;
                if (old_style) {
                    offset =
                        partition.old_style_offsets.empty() ? 0 : partition.old_style_offsets[0];
                }
                offsets[partition.partition_index] = offset;
            }
        }
    }
    for (const auto& [partition, leader] : partitions) {
        if (offsets.count(partition) == 0) {
            return Failure{ClientError{"ListOffsets did not answer for partition " +
                                       std::to_string(partition) + " of '" + topic + "'"}};
        }
    }
    return offsets;
}

// ---------------------------------------------------------------------------
// fetch_records

namespace {

// Reads the record batches of one partition's answer into a sink.
class BatchReader {
public:
    BatchReader(const std::string& topic, const RecordSink& sink) : topic_(topic), sink_(sink) {}

    [[nodiscard]] bool stopped() const noexcept { return stopped_; }

    Status<ClientError> take(FetchPartition& state,
                             const kafka::FetchResponse::TopicResponse::PartitionData& data) {
        const std::int32_t index = data.partition_index;
        if (data.error_code == error_offset_out_of_range) {
            return Failure{ClientError{"offset " + std::to_string(state.position) +
                                       " is out of range for partition " + std::to_string(index) +
                                       " of topic '" + topic_ + "'"}};
        }
        if (data.error_code != 0) return Failure{partition_error(topic_, index, data.error_code)};
        if (!data.records || data.records->empty()) return {};
        std::span<const std::uint8_t> rest(data.records->data(), data.records->size());
        bool whole_batch = false;
        while (rest.size() >= log::batch_length_prefix_bytes && !stopped_) {
            const std::int32_t length = read_be32(rest.data() + log::batch_layout::batch_length);
            if (length < 0) return Failure{corrupt(index, "negative batch length")};
            const std::size_t total =
                log::batch_length_prefix_bytes + static_cast<std::size_t>(length);
            if (total > rest.size()) break;  // a partial batch ends a fetch response
            whole_batch = true;
            if (auto used = take_batch(index, state, rest.first(total)); !used.ok()) return used;
            rest = rest.subspan(total);
        }
        if (!whole_batch && !stopped_) {
            // The next batch is larger than we asked for: ask for more.
            if (state.fetch_bytes >= partition_fetch_bytes_max) {
                return Failure{corrupt(
                    index,
                    "a batch larger than " + std::to_string(partition_fetch_bytes_max) + " bytes")};
            }
            state.fetch_bytes = std::min(state.fetch_bytes * 2, partition_fetch_bytes_max);
        }
        return {};
    }

private:
    Status<ClientError> take_batch(std::int32_t index, FetchPartition& state,
                                   std::span<const std::uint8_t> batch) {
        auto header = log::validate_batch(batch, batch.size());
        if (!header.ok()) return Failure{corrupt(index, log::to_string(header.error()))};
        const auto& head = header.value();
        if (head.last_offset().value() < state.position) return {};
        if (head.codec() != log::Codec::none) {
            return Failure{
                ClientError{"compressed batches not supported by samsa consume "
                            "(partition " +
                            std::to_string(index) + ", offset " +
                            std::to_string(head.base_offset.value()) + ")"}};
        }
        if (!head.is_control()) {
            auto records = log::parse_records(batch);
            if (!records.ok()) return Failure{corrupt(index, log::to_string(records.error()))};
            for (const auto& record : records.value()) {
                const std::int64_t offset = head.base_offset.value() + record.offset_delta;
                if (offset < state.position) continue;
                state.position = offset + 1;
                if (!sink_(index, offset, record)) {
                    stopped_ = true;
                    return {};
                }
            }
        }
        state.position = std::max(state.position, head.last_offset().value() + 1);
        return {};
    }

    ClientError corrupt(std::int32_t index, const std::string& why) const {
        return ClientError{"bad record batch in partition " + std::to_string(index) +
                           " of topic '" + topic_ + "': " + why};
    }

    const std::string& topic_;
    const RecordSink& sink_;
    bool stopped_ = false;
};

}  // namespace

Status<ClientError> fetch_records(KafkaClient& client, const std::string& topic,
                                  std::map<std::int32_t, FetchPartition>& partitions,
                                  std::int32_t max_wait_ms, const RecordSink& sink) {
    std::map<std::int32_t, kafka::FetchRequest> requests;
    for (const auto& [index, state] : partitions) {
        auto& request = requests[state.leader];
        if (request.topics.empty()) {
            request.replica_id = -1;
            request.max_wait_ms = max_wait_ms;
            request.min_bytes = 1;
            request.max_bytes = kFetchBytesMax;
            request.session_id = 0;
            request.session_epoch = -1;
            request.topics.emplace_back().topic = topic;
        }
        auto& partition = request.topics.front().partitions.emplace_back();
        partition.partition = index;
        partition.fetch_offset = state.position;
        partition.partition_max_bytes = state.fetch_bytes;
    }
    BatchReader reader(topic, sink);
    for (const auto& [leader, request] : requests) {
        auto connection = client.broker(leader);
        if (!connection.ok()) return Failure{connection.error()};
        auto response = connection.value()->call<kafka::FetchResponse>(request);
        if (!response.ok()) return Failure{response.error()};
        if (response.value().error_code != 0) {
            return Failure{ClientError{"Fetch from " + connection.value()->address().to_string() +
                                       ": " + kafka_error_name(response.value().error_code)}};
        }
        for (const auto& answer : response.value().responses) {
            for (const auto& partition : answer.partitions) {
                const auto found = partitions.find(partition.partition_index);
                if (found == partitions.end()) continue;
                if (auto taken = reader.take(found->second, partition); !taken.ok()) return taken;
                if (reader.stopped()) return {};
            }
        }
    }
    return {};
}

}  // namespace samsa::runtime

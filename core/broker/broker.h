// The broker: the pure state machine behind samsa's Kafka protocol port.
//
// Theory of operation. Clients reach the broker through the seam's client
// events (core/io/seam.h): each ClientRequest carries one request frame, and
// the broker answers each with exactly one ClientReply, or closes the
// connection when the bytes cannot be a request it may answer. Decoding and
// encoding are net/kafka's; this file decides what to answer.
//
// Served so far: ApiVersions (every version, including the error-35 answer in
// v0 layout to a version samsa does not serve, which librdkafka sends first),
// Metadata (this broker as the cluster and its controller, and its topics),
// CreateTopics (validated as Kafka does; answered once every new partition's
// log is durable), Produce (acks 0, 1 and all; answered once the batches are
// durable), Fetch (a fetch that finds nothing waits for an append or its
// max wait) and ListOffsets (earliest, latest, by timestamp). Every other API in the advertised
// table decodes but is answered by closing the connection, as Kafka does for a request it cannot
// handle - clients then see a broker that does not serve them, never a wrong answer.
//
// Topics. Each partition is a log::PartitionLog whose files are named
// "<topic>-<partition>-..." in the data directory; at start the broker lists
// the directory and recovers every partition it finds, so topics survive
// restarts without a catalogue of their own. Each log is a component of this
// machine (component 0 is the broker's own I/O). Until every partition found
// at start has recovered, requests wait (at most requests_waiting_max; a
// client beyond that is disconnected), as a Kafka broker does not serve
// before its logs are loaded.
//
// Bad input: a frame too short for a request header, an unknown API key, an
// unsupported version (other than ApiVersions) or a body that does not decode
// at its version closes that one connection. Other clients are unaffected.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/base/ids.h"
#include "core/base/time.h"
#include "core/io/seam.h"
#include "core/log/partition_log.h"
#include "net/kafka/messages.h"

namespace samsa::broker {

struct BrokerConfig {
    NodeId node_id{1};
    std::string advertised_host = "127.0.0.1";
    std::int32_t advertised_port = 9092;
    std::string cluster_id = "samsa";
    std::int32_t default_partitions = 1;  // CreateTopics with num_partitions = -1
    log::LogConfig log;                   // every partition's (file_prefix is set per partition)
    std::size_t partitions_max = 10000;   // on this broker, all topics together
    std::size_t requests_waiting_max = 1024;  // requests held while the broker starts
};

struct BrokerStats {
    std::uint64_t requests = 0;
    std::uint64_t answered = 0;
    std::uint64_t closed_connections = 0;  // requests that closed their connection
};

class Broker {
public:
    explicit Broker(BrokerConfig config) : config_(std::move(config)) {}
    Broker(Broker&&) noexcept = default;
    Broker& operator=(Broker&&) noexcept = default;

    void step(Instant now, const io::Event& event, io::Outbox& out);

    [[nodiscard]] const BrokerStats& stats() const noexcept { return stats_; }
    [[nodiscard]] const BrokerConfig& config() const noexcept { return config_; }

    // Started, its partitions found on disk and recovered.
    [[nodiscard]] bool ready() const;
    // Topics and their partition count (for tests and tools).
    [[nodiscard]] std::map<std::string, std::size_t> topics() const;

private:
    struct Partition {
        std::unique_ptr<log::PartitionLog> log;
    };
    struct Topic {
        std::vector<Partition> partitions;
    };
    // A CreateTopics answered once the new partitions' logs are ready.
    struct TopicResult {
        std::string name;
        std::int16_t error_code = 0;
        std::optional<std::string> message;
    };
    struct PendingCreate {
        ClientId client;
        std::uint64_t sequence = 0;
        std::int32_t correlation_id = 0;
        std::int16_t version = 0;
        std::vector<TopicResult> results;  // in request order
        std::vector<std::string> waiting;  // created topics whose logs are not ready yet
    };

    void on_request(const io::ClientRequest& request, io::Outbox& out);
    // Every answer goes out here: `frame` absent for a request without one.
    void reply(ClientId client, std::uint64_t sequence, std::optional<io::Bytes> frame,
               io::Outbox& out);
    void close(ClientId client, io::Outbox& out);
    void on_listed(const io::IoCompleted& done, io::Outbox& out);
    void on_log_io(const io::IoCompleted& done, io::Outbox& out);
    Topic& add_topic(const std::string& name, std::size_t partitions,
                     const std::vector<std::string>& names, io::Outbox& out);
    [[nodiscard]] bool topic_ready(const std::string& name) const;
    void answer_ready_creates(io::Outbox& out);
    void on_create_topics(const io::ClientRequest& request, std::int32_t correlation_id,
                          std::int16_t version, const kafka::CreateTopicsRequest& body,
                          io::Outbox& out);
    [[nodiscard]] TopicResult check_new_topic(const std::string& name, std::int32_t partitions,
                                              std::int16_t replication,
                                              std::size_t assignments) const;
    [[nodiscard]] IoToken next_token() noexcept;
    [[nodiscard]] kafka::MetadataResponse metadata(const kafka::MetadataRequest& request) const;

    // A Produce, Fetch or ListOffsets waiting for its partitions' logs.
    using DataAnswer =
        std::variant<kafka::ProduceResponse, kafka::FetchResponse, kafka::ListOffsetsResponse>;
    struct Waiting {
        const log::PartitionLog* log;
        std::uint64_t id;   // the append (Produce) or read (Fetch, ListOffsets)
        std::size_t topic;  // where its answer goes in the response
        std::size_t partition;
    };
    struct PendingData {
        ClientId client;
        std::uint64_t sequence = 0;
        std::int32_t correlation_id = 0;
        std::int16_t version = 0;
        bool reply = true;  // false: Produce with acks=0
        DataAnswer answer;
        std::vector<Waiting> waiting;
        // A Fetch that found nothing waits (long-poll) until data arrives or
        // its max wait passes; it keeps its request to run again.
        std::optional<kafka::FetchRequest> fetch;
        std::optional<TimerId> timer;  // armed while parked
    };

    log::PartitionLog* partition_log(const std::string& topic, std::int32_t partition);
    void on_produce(PendingData pending, const kafka::ProduceRequest& request, io::Outbox& out);
    void on_fetch(PendingData pending, const kafka::FetchRequest& request, io::Outbox& out);
    // Fills a Fetch's answer from the logs; true if it found (or will read) data.
    bool run_fetch(PendingData& pending, io::Outbox& out);
    void wake_fetches(io::Outbox& out);
    void on_timer(TimerId timer, io::Outbox& out);
    void on_list_offsets(PendingData pending, const kafka::ListOffsetsRequest& request,
                         io::Outbox& out);
    // Takes every log's finished appends and reads, fills the waiting answers
    // and sends those that are complete.
    void collect(io::Outbox& out);
    bool drain_logs();

    BrokerConfig config_;
    BrokerStats stats_;
    std::map<std::string, Topic> topics_;
    std::vector<PendingData> data_;
    std::uint64_t timer_counter_ = 0;
    std::size_t parked_fetches_max_ = 4096;  // beyond: answered at once
    std::size_t partition_count_ = 0;
    std::uint32_t next_component_ = 1;
    std::uint64_t token_counter_ = 0;
    std::optional<IoToken> listing_;
    bool started_ = false;
    std::deque<io::ClientRequest> waiting_;  // arrived before ready()
    std::vector<PendingCreate> creates_;
};

}  // namespace samsa::broker

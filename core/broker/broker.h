// The broker: the pure state machine behind samsa's Kafka protocol port.
//
// Theory of operation. Clients reach the broker through the seam's client
// events (core/io/seam.h): each ClientRequest carries one request frame, and
// the broker answers each with exactly one ClientReply, or closes the
// connection when the bytes cannot be a request it may answer. Decoding and
// encoding are net/kafka's; this file decides what to answer.
//
// Served: ApiVersions (every version, including the error-35 answer in v0
// layout to a version samsa does not serve, which librdkafka sends first),
// Metadata (this broker as the cluster and its controller, and its topics;
// unknown topics are created when auto_create_topics is on and the client
// allows it, and the request is answered once they are ready), CreateTopics (validated as Kafka
// does; answered once every new partition's log is durable), DeleteTopics (answered once the
// topic's files are gone), DescribeConfigs (topic and broker settings, read-only), InitProducerId
// (idempotent producers; transactions are not served), Produce (acks 0, 1 and all; answered once
// the batches are durable; batches of idempotent producers de-duplicated, see producers.h), Fetch
// (a fetch that finds less than min_bytes waits for appends or its max wait) and ListOffsets
// (earliest, latest, by timestamp). The group APIs in the advertised table
// decode but are answered by closing the connection, as Kafka does for a
// request it cannot handle - clients then see a broker that does not serve
// them, never a wrong answer.
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
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/base/ids.h"
#include "core/base/time.h"
#include "core/broker/errors.h"
#include "core/broker/producers.h"
#include "core/group/coordinator.h"
#include "core/io/seam.h"
#include "core/log/partition_log.h"
#include "core/log/valid_batch.h"
#include "net/kafka/api.h"
#include "net/kafka/messages.h"

namespace samsa::broker {

inline constexpr std::uint32_t kBrokerComponent = 0;  // the broker's own I/O tokens and files
inline constexpr int kComponentShift = 40;            // as log::PartitionLog's tokens

// Names in the data directory that are not partition files.
bool legal_topic_name(const std::string& name);  // 1-249 of [a-zA-Z0-9._-], not . or ..
std::optional<std::uint64_t> producer_block_of(const std::string& name);  // "producer-ids-<n>"
std::optional<std::string> deleting_topic_of(const std::string& name);    // "<topic>.deleting"
bool topic_owns_file(const std::string& topic, const std::string& name);

struct BrokerConfig {
    NodeId node_id{1};
    std::string advertised_host = "127.0.0.1";
    std::int32_t advertised_port = 9092;
    std::string cluster_id = "samsa";
    std::int32_t default_partitions = 1;  // CreateTopics with num_partitions = -1, auto-creation
    std::int16_t default_replication_factor = 1;  // with replication_factor = -1 (one broker: 1)
    // Metadata (v4+ when the client allows it) and Produce create unknown topics.
    bool auto_create_topics = true;
    // Every partition's (file_prefix is set per partition).
    log::LogConfig log = topic_log_default();
    // Memory for recent batches, shared by the batch caches of all partitions
    // (log::CacheBudget): consumers and followers near the end of a log read
    // from it rather than from disk. A partition may use all of it; the
    // oldest batches broker-wide go first. A log's own cache_bytes_max still
    // caps its share (none for topics by default, 1 MiB for group records).
    std::uint64_t cache_bytes_max = 1ULL << 30;
    std::size_t partitions_max = 10000;                  // on this broker, all topics together
    std::size_t requests_waiting_max = 1024;             // requests held while the broker starts
    group::GroupLimits groups;                           // the coordinator; groups.partitions of
    log::LogConfig offsets_log = offsets_log_default();  // __consumer_offsets, with this config
    // A partition of __consumer_offsets is compacted - its live records
    // rewritten, the older segments deleted - once this much was appended.
    std::uint64_t offsets_compact_bytes = 16ULL << 20;

    static log::LogConfig topic_log_default() {
        log::LogConfig config;
        config.cache_bytes_max = std::numeric_limits<std::uint64_t>::max();  // the budget's
        return config;
    }
    static log::LogConfig offsets_log_default() {
        log::LogConfig config;
        config.segment_bytes_max = 8ULL << 20;  // small records; no need to reserve 64 MiB
        config.preallocate = false;
        config.cache_bytes_max = 1ULL << 20;
        return config;
    }
};

inline const std::string kOffsetsTopic = "__consumer_offsets";

struct BrokerStats {
    std::uint64_t requests = 0;
    std::uint64_t answered = 0;
    std::uint64_t closed_connections = 0;  // requests that closed their connection
};

class Broker {
public:
    explicit Broker(BrokerConfig config)
        : config_(std::move(config)),
          cache_budget_(std::make_unique<log::CacheBudget>(config_.cache_bytes_max)) {
        coordinator_ = group::Coordinator(config_.groups);
    }
    Broker(Broker&&) noexcept = default;
    // Not assignable: a member-wise move would free the cache budget before
    // the partitions whose caches use it.
    Broker& operator=(Broker&&) = delete;

    void step(Instant now, const io::Event& event, io::Outbox& out);

    [[nodiscard]] const BrokerStats& stats() const noexcept { return stats_; }
    [[nodiscard]] const BrokerConfig& config() const noexcept { return config_; }

    // Started, its partitions found on disk and recovered.
    [[nodiscard]] bool ready() const;
    // Topics and their partition count (for tests and tools).
    [[nodiscard]] std::map<std::string, std::size_t> topics() const;
    // Bytes of recent batches the partitions' caches hold, all together.
    [[nodiscard]] std::uint64_t cached_bytes() const noexcept { return cache_budget_->bytes(); }
    // A partition's log, or nullptr (for tests and tools).
    [[nodiscard]] const log::PartitionLog* partition_log(const std::string& topic,
                                                         std::int32_t partition) const;

private:
    struct Partition {
        std::unique_ptr<log::PartitionLog> log;
        ProducerWindow producers;  // idempotent producers' recent batches
        bool touched = false;      // in touched_
        // The window is rebuilt from the log's tail before produce is served.
        bool restored = false;
        std::optional<std::uint64_t> restore_read;  // the read in progress
        Offset restore_next;                        // where the next read starts
        int restore_failures = 0;
        // Set for a partition of __consumer_offsets: its number. Its restore
        // reads the whole log and replays it into the group coordinator.
        std::optional<std::int32_t> offsets_partition;
        // Its compaction: bytes appended since the last rewrite of the live
        // records, and the rewrite in flight (its appends, where it starts).
        std::uint64_t group_bytes = 0;
        std::set<std::uint64_t> rewrite_appends;
        Offset rewrite_base;
        bool rewrite_failed = false;
    };
    // Rebuilding a ready partition's producer window: reads from the last
    // restore_tail_bytes of its log to its end.
    static constexpr std::uint64_t restore_tail_bytes = 4ULL << 20;
    static constexpr int restore_retries_max = 16;
    void restore_producers(Partition& partition, io::Outbox& out);
    void on_restore_read(Partition& partition, log::ReadResult& done, io::Outbox& out);
    // A log that may have finished appends or reads: drain_logs() looks at it.
    void touch(Partition& partition) {
        if (!partition.touched) {
            partition.touched = true;
            touched_.push_back(&partition);
        }
    }
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
    [[nodiscard]] kafka::DescribeConfigsResponse describe_configs(
        const kafka::DescribeConfigsRequest& request) const;
    void on_log_io(const io::IoCompleted& done, io::Outbox& out);
    Topic& add_topic(const std::string& name, std::size_t partitions,
                     const std::vector<std::string>& names, io::Outbox& out);
    void add_offsets_topic(const std::vector<std::string>& names, io::Outbox& out);
    [[nodiscard]] bool topic_ready(const std::string& name) const;
    void answer_ready_creates(io::Outbox& out);
    void on_create_topics(const io::ClientRequest& request, std::int32_t correlation_id,
                          std::int16_t version, const kafka::CreateTopicsRequest& body,
                          io::Outbox& out);
    [[nodiscard]] TopicResult check_new_topic(const std::string& name, std::int32_t partitions,
                                              std::int16_t replication,
                                              std::size_t assignments) const;
    [[nodiscard]] IoToken next_token() noexcept;
    [[nodiscard]] FileId next_file() noexcept;
    // The broker's own files (component 0): the producer-id block and topic deletions.
    void on_broker_io(const io::IoCompleted& done, io::Outbox& out);
    // Producer ids come from blocks: block n hands out n * 2^24 + 1.. and is
    // reserved by creating the file "producer-ids-<n>" (durably) before use, so
    // a restarted broker never hands out an id again.
    void reserve_producer_block(io::Outbox& out);
    void on_init_producer_id(const io::ClientRequest& request, std::int32_t correlation_id,
                             std::int16_t version, const kafka::InitProducerIdRequest& body,
                             io::Outbox& out);
    // A Metadata that auto-created topics waits, as a CreateTopics does, until
    // their logs are ready (or the topic is gone again): answered at once, it
    // would describe them as not available yet, and librdkafka asks again
    // only about a second later, holding back what it was asked to produce.
    struct PendingMetadata {
        ClientId client;
        std::uint64_t sequence = 0;
        std::int32_t correlation_id = 0;
        std::int16_t version = 0;
        kafka::MetadataRequest request;
        std::vector<std::string> waiting;  // created topics whose logs are not ready yet
    };
    void on_metadata(const io::ClientRequest& request, std::int32_t correlation_id,
                     std::int16_t version, const kafka::MetadataRequest& body, io::Outbox& out);
    // Creates the unknown topics a Metadata names, when auto-creation is on
    // and the client allows it; returns their names.
    std::vector<std::string> auto_create(const kafka::MetadataRequest& request, io::Outbox& out);
    [[nodiscard]] kafka::MetadataResponse metadata(const kafka::MetadataRequest& request) const;
    void answer_ready_metadata(io::Outbox& out);
    // How many partitions a new topic gets for CreateTopics' num_partitions and assignments.
    [[nodiscard]] std::size_t check_partitions(std::int32_t partitions,
                                               std::size_t assignments) const;

    // A Produce, Fetch or ListOffsets waiting for its partitions' logs.
    using DataAnswer =
        std::variant<kafka::ProduceResponse, kafka::FetchResponse, kafka::ListOffsetsResponse>;
    struct Waiting {
        const log::PartitionLog* log;
        std::uint64_t id;   // the append (Produce) or read (Fetch, ListOffsets)
        std::size_t topic;  // where its answer goes in the response
        std::size_t partition;
        bool append = false;  // the ids of appends and of reads are counted apart
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

    Partition* find_partition(const std::string& topic, std::int32_t partition);
    // Takes the records out of `request` (the log keeps them).
    void on_produce(PendingData pending, kafka::ProduceRequest& request, io::Outbox& out);
    void append_batches(Partition& found, std::vector<log::ValidBatch>& batches,
                        kafka::ProduceResponse::TopicResponse::PartitionResponse& part,
                        PendingData& pending, std::pair<std::size_t, std::size_t> at,
                        io::Outbox& out);
    void on_fetch(PendingData pending, const kafka::FetchRequest& request, io::Outbox& out);
    // Fills a Fetch's answer from the logs; true if it found (or will read) data.
    bool run_fetch(PendingData& pending, io::Outbox& out);
    void wake_fetches(io::Outbox& out);
    static bool fetch_satisfied(const PendingData& pending);
    void on_timer(TimerId timer, io::Outbox& out);
    void on_list_offsets(PendingData pending, const kafka::ListOffsetsRequest& request,
                         io::Outbox& out);
    // Takes every log's finished appends and reads, fills the waiting answers
    // and sends those that are complete.
    void collect(io::Outbox& out);
    bool drain_logs(io::Outbox& out);

    // Consumer groups (groups.cpp): requests go to the coordinator; its
    // answers, appends to __consumer_offsets and next deadline are carried
    // out by pump_groups() after every step.
    bool on_group_request(const io::ClientRequest& request, const kafka::RequestHeader& header,
                          const kafka::Request& body, io::Outbox& out);
    void finish_restore(Partition& partition);
    void pump_groups(io::Outbox& out);
    void append_group_records(const group::Append& append, io::Outbox& out);
    void arm_group_timer(io::Outbox& out);
    void compact_offsets(Partition& partition, io::Outbox& out);
    void on_rewrite_appended(Partition& partition, const log::AppendResult& done, io::Outbox& out);
    group::Coordinator coordinator_;
    // Appends to __consumer_offsets: (log, append id) -> the coordinator's id.
    std::map<std::pair<const log::PartitionLog*, std::uint64_t>, std::uint64_t> group_appends_;
    std::optional<TimerId> group_timer_;
    // Set whenever the coordinator was called: only then can its next
    // deadline have moved, so other steps (produce, fetch) skip the look.
    bool group_deadline_stale_ = false;
    Instant group_timer_at_;
    Instant now_;

    // DeleteTopics. A deleted topic leaves topics_ at once; its logs finish
    // what they started, then every file of the topic is removed. A marker file
    // "<topic>.deleting", durable before anything is removed, makes a restart
    // finish the job instead of bringing back part of the topic.
    struct Deletion {
        enum class Phase : std::uint8_t {
            marking,
            marking_sync,
            draining,
            listing,
            removing,
            syncing,
            unmarking
        };
        std::string topic;
        std::vector<Partition> partitions;  // draining (none when found at start)
        Phase phase = Phase::marking;
        std::set<std::uint64_t> tokens;  // outstanding I/O
        bool failed = false;             // a removal failed: list and remove again
    };
    struct PendingDelete {
        ClientId client;
        std::uint64_t sequence = 0;
        std::int32_t correlation_id = 0;
        std::int16_t version = 0;
        std::vector<std::pair<std::string, std::int16_t>> results;  // in request order
        std::vector<std::string> waiting;  // topics whose deletion has not finished
    };
    void on_delete_topics(const io::ClientRequest& request, std::int32_t correlation_id,
                          std::int16_t version, const kafka::DeleteTopicsRequest& body,
                          io::Outbox& out);
    void start_deletion(const std::string& topic, std::vector<Partition> partitions, bool marked,
                        io::Outbox& out);
    void deletion_step(Deletion& deletion, io::Outbox& out);  // issues the phase's I/O
    void advance_deletions(io::Outbox& out);
    void on_deletion_io(const io::IoCompleted& done, io::Outbox& out);
    void answer_finished_deletes(io::Outbox& out);
    [[nodiscard]] bool being_deleted(const std::string& topic) const;

    BrokerConfig config_;
    BrokerStats stats_;
    // Shared by every partition's cache; on the heap so the broker can move,
    // and declared before the partitions so it outlives them.
    std::unique_ptr<log::CacheBudget> cache_budget_;
    std::map<std::string, Topic> topics_;
    std::vector<PendingData> data_;
    std::uint64_t timer_counter_ = 0;
    std::size_t parked_fetches_max_ = 4096;  // beyond: answered at once
    std::size_t partition_count_ = 0;
    std::uint32_t next_component_ = 1;
    std::uint64_t token_counter_ = 0;
    std::optional<IoToken> listing_;
    // Producer ids: the block in use (0: none yet) and the next id's low part.
    std::uint64_t producer_block_ = 0;
    std::uint64_t producer_block_found_ = 0;  // the highest block on disk at start
    std::uint32_t producer_next_ = 1;
    std::optional<IoToken> block_open_;  // creating producer-ids-<n>
    std::optional<IoToken> block_sync_;  // making it durable
    std::uint64_t block_reserving_ = 0;
    std::uint32_t file_counter_ = 0;
    bool started_ = false;
    std::deque<io::ClientRequest> waiting_;  // arrived before ready()
    std::vector<PendingCreate> creates_;
    std::vector<PendingMetadata> metadatas_;
    std::vector<Deletion> deletions_;
    std::vector<PendingDelete> deletes_;
    // Every partition by its log's component (topics and deletions alike), and
    // those touched since the last drain: each step costs what it touches, not
    // O(partitions).
    std::unordered_map<std::uint32_t, Partition*> by_component_;
    std::vector<Partition*> touched_;
    bool ready_ = false;  // latched: the partitions found at start have recovered
    void update_ready();
};

}  // namespace samsa::broker

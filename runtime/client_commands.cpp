// The client subcommands (see client_commands.h for what each does and the
// exact stop rule of consume). Each command is a function from options to a
// Status; every failure is a ClientError carried up to run_parsed, which
// prints it once and makes it exit status 1. Nothing here throws on purpose;
// run_client_commands still catches, so no exception leaves main.
#include "runtime/client_commands.h"

#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <map>
#include <set>
#include <span>
#include <thread>

#include "core/log/batch.h"
#include "core/log/batch_builder.h"
#include "net/kafka/murmur2.h"
#include "runtime/group_commands.h"
#include "runtime/kafka_client.h"

namespace samsa::runtime {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::int8_t kTopicResource = 2;  // DescribeConfigs resource type
constexpr std::int32_t kAdminTimeoutMs = 30000;
constexpr std::int32_t kProduceTimeoutMs = 30000;

// produce: one request carries at most this much record data; a batch stays
// well under Kafka's default 1 MiB message limit.
constexpr std::size_t kRequestRecordBytesMax = 512u << 10;
constexpr std::size_t kRequestRecordsMax = 10000;
// A record's framing (length, attributes, deltas, key and value lengths,
// header count) takes at most this much beyond its key and value.
constexpr std::size_t kRecordOverheadBytesMax = 32;
constexpr std::size_t kLineBytesMax = kRequestRecordBytesMax - kRecordOverheadBytesMax;
constexpr std::size_t kStdinChunkBytes = 64u << 10;

// consume: the longest a Fetch waits (well under a group heartbeat interval),
// and the pause between rounds that found nothing.
constexpr std::int32_t kFetchMaxWaitMs = 500;
constexpr auto kEmptyRoundPause = std::chrono::milliseconds(100);

std::span<const std::uint8_t> bytes_of(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string join_ids(const std::vector<std::int32_t>& ids) {
    std::string text = "[";
    for (std::size_t i = 0; i < ids.size(); ++i) {
        text += (i == 0 ? "" : ",") + std::to_string(ids[i]);
    }
    return text + "]";
}

// ---------------------------------------------------------------------------
// topic create | list | describe | delete

Status<ClientError> topic_create(KafkaClient& client, const TopicCreateOptions& options,
                                 std::ostream& out) {
    kafka::CreateTopicsRequest request;
    request.timeout_ms = kAdminTimeoutMs;
    auto& topic = request.topics.emplace_back();
    topic.name = options.name;
    topic.num_partitions = options.partitions;
    topic.replication_factor = options.replication_factor;
    for (const auto& config : options.configs) {
        const auto equals = config.find('=');
        if (equals == std::string::npos || equals == 0) {
            return Failure{ClientError{"--config must be KEY=VALUE, not '" + config + "'"}};
        }
        topic.configs.push_back({config.substr(0, equals), config.substr(equals + 1)});
    }
    auto controller = client.controller();
    if (!controller.ok()) return Failure{controller.error()};
    auto response = controller.value()->call<kafka::CreateTopicsResponse>(request);
    if (!response.ok()) return Failure{response.error()};
    for (const auto& result : response.value().topics) {
        if (result.error_code != 0) {
            std::string text =
                "cannot create topic '" + result.name + "': " + kafka_error_name(result.error_code);
            if (result.error_message && !result.error_message->empty()) {
                text += ": " + *result.error_message;
            }
            return Failure{ClientError{text}};
        }
    }
    out << "created topic " << options.name << " (" << options.partitions
        << " partitions, replication factor " << options.replication_factor << ")\n";
    return {};
}

Status<ClientError> topic_list(KafkaClient& client, std::ostream& out) {
    auto view = client.metadata(std::nullopt, false);
    if (!view.ok()) return Failure{view.error()};
    std::set<std::string> names;
    for (const auto& topic : view.value().metadata.topics) {
        if (topic.error_code == 0) names.insert(topic.name);
    }
    for (const auto& name : names) out << name << "\n";
    return {};
}

Status<ClientError> topic_describe(KafkaClient& client, const std::string& topic,
                                   std::ostream& out) {
    ClusterView view;
    auto partitions = topic_partitions(client, topic, false, &view);
    if (!partitions.ok()) return Failure{partitions.error()};
    auto starts = list_offsets(client, topic, partitions.value(), offset_earliest);
    if (!starts.ok()) return Failure{starts.error()};
    auto ends = list_offsets(client, topic, partitions.value(), offset_latest);
    if (!ends.ok()) return Failure{ends.error()};
    for (const auto& entry : view.metadata.topics) {
        if (entry.name != topic) continue;
        const std::size_t replication =
            entry.partitions.empty() ? 0 : entry.partitions.front().replica_nodes.size();
        out << "topic: " << topic << "  partitions: " << entry.partitions.size()
            << "  replication-factor: " << replication << "\n";
        auto sorted = entry.partitions;
        std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
            return a.partition_index < b.partition_index;
        });
        for (const auto& partition : sorted) {
            const auto index = partition.partition_index;
            out << "  partition " << index << "  leader " << partition.leader_id << "  replicas "
                << join_ids(partition.replica_nodes) << "  isr " << join_ids(partition.isr_nodes)
                << "  log-start-offset " << starts.value()[index] << "  log-end-offset "
                << ends.value()[index] << "\n";
        }
    }
    kafka::DescribeConfigsRequest request;
    auto& resource = request.resources.emplace_back();
    resource.resource_type = kTopicResource;
    resource.resource_name = topic;
    resource.configuration_keys = std::nullopt;  // every key
    if (!client.bootstrap().version_of(request.api_key)) {
        out << "configs: unavailable (the broker does not support DescribeConfigs)\n";
        return {};
    }
    auto response = client.bootstrap().call<kafka::DescribeConfigsResponse>(request);
    if (!response.ok()) return Failure{response.error()};
    out << "configs:\n";
    for (const auto& result : response.value().results) {
        if (result.error_code != 0) {
            std::string text =
                "DescribeConfigs for '" + topic + "': " + kafka_error_name(result.error_code);
            if (result.error_message && !result.error_message->empty()) {
                text += ": " + *result.error_message;
            }
            return Failure{ClientError{text}};
        }
        auto configs = result.configs;
        std::sort(configs.begin(), configs.end(),
                  [](const auto& a, const auto& b) { return a.name < b.name; });
        for (const auto& config : configs) {
            out << "  " << config.name << "="
                << (config.is_sensitive ? "(sensitive)" : config.value.value_or("")) << "\n";
        }
    }
    return {};
}

Status<ClientError> topic_delete(KafkaClient& client, const std::string& topic, std::ostream& out) {
    kafka::DeleteTopicsRequest request;
    request.topic_names.push_back(topic);
    request.timeout_ms = kAdminTimeoutMs;
    auto controller = client.controller();
    if (!controller.ok()) return Failure{controller.error()};
    auto response = controller.value()->call<kafka::DeleteTopicsResponse>(request);
    if (!response.ok()) return Failure{response.error()};
    for (const auto& result : response.value().responses) {
        if (result.error_code == error_unknown_topic_or_partition) {
            return Failure{ClientError{"topic '" + result.name + "' does not exist"}};
        }
        if (result.error_code != 0) {
            return Failure{ClientError{"cannot delete topic '" + result.name +
                                       "': " + kafka_error_name(result.error_code)}};
        }
    }
    out << "deleted topic " << topic << "\n";
    return {};
}

// ---------------------------------------------------------------------------
// produce

// Lines from a file descriptor, with a bound on their length, and whether
// more input is ready without blocking (so interactive lines go out at once).
class LineReader {
public:
    explicit LineReader(int fd) : fd_(fd) {}

    // The next line without its '\n', or nullopt at the end of input.
    Result<std::optional<std::string>, ClientError> next() {
        while (true) {
            const auto newline =
                std::find(buffer_.begin() + static_cast<long>(start_), buffer_.end(), '\n');
            if (newline != buffer_.end()) {
                std::string line(buffer_.begin() + static_cast<long>(start_), newline);
                start_ = static_cast<std::size_t>(newline - buffer_.begin()) + 1;
                ++line_number_;
                return std::optional<std::string>(std::move(line));
            }
            if (buffer_.size() - start_ > kLineBytesMax) {
                return Failure{ClientError{"line " + std::to_string(line_number_ + 1) +
                                           " is longer than " + std::to_string(kLineBytesMax) +
                                           " bytes"}};
            }
            if (eof_) {
                if (start_ == buffer_.size()) return std::optional<std::string>();
                std::string line(buffer_.begin() + static_cast<long>(start_), buffer_.end());
                start_ = buffer_.size();
                ++line_number_;
                return std::optional<std::string>(std::move(line));
            }
            if (auto filled = fill(); !filled.ok()) return Failure{filled.error()};
        }
    }

    // True when a line is buffered or the descriptor has input (or EOF) ready.
    bool ready() {
        if (std::find(buffer_.begin() + static_cast<long>(start_), buffer_.end(), '\n') !=
                buffer_.end() ||
            eof_) {
            return true;
        }
        pollfd entry{fd_, POLLIN, 0};
        return ::poll(&entry, 1, 0) > 0;
    }

private:
    Status<ClientError> fill() {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<long>(start_));
        start_ = 0;
        const std::size_t old_size = buffer_.size();
        buffer_.resize(old_size + kStdinChunkBytes);
        ssize_t got = 0;
        do {
            got = ::read(fd_, buffer_.data() + old_size, kStdinChunkBytes);
        } while (got < 0 && errno == EINTR);
        if (got < 0) {
            buffer_.resize(old_size);
            return Failure{
                ClientError{std::string("cannot read standard input: ") + std::strerror(errno)}};
        }
        buffer_.resize(old_size + static_cast<std::size_t>(got));
        if (got == 0) eof_ = true;
        return {};
    }

    int fd_;
    std::vector<char> buffer_;
    std::size_t start_ = 0;
    std::size_t line_number_ = 0;
    bool eof_ = false;
};

class Producer {
public:
    Producer(KafkaClient& client, const ProduceOptions& options, std::int16_t acks,
             PartitionLeaders partitions)
        : client_(client), options_(options), acks_(acks), partitions_(std::move(partitions)) {}

    // Adds one stdin line to the pending batches.
    void add(const std::string& line) {
        std::optional<std::string_view> key;
        std::string_view value = line;
        const auto& separator = options_.key_separator;
        if (!separator.empty()) {
            if (const auto at = line.find(separator); at != std::string::npos) {
                key = std::string_view(line).substr(0, at);
                value = std::string_view(line).substr(at + separator.size());
            }
        }
        std::int32_t partition = options_.partition;
        if (partition < 0 && key) {
            partition =
                kafka::partition_for_key(bytes_of(*key), static_cast<std::int32_t>(count()));
        } else if (partition < 0) {
            partition = sticky_partition();
            unkeyed_pending_ = true;
        }
        log::RecordInput record;
        if (key) record.key = bytes_of(*key);
        record.value = bytes_of(value);
        record.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
        pending_[partition].add(record);
        pending_bytes_ += line.size() + kRecordOverheadBytesMax;
        ++pending_records_;
    }

    // Whether a line of `line_bytes` still fits in the pending request.
    [[nodiscard]] bool fits(std::size_t line_bytes) const noexcept {
        return pending_records_ < kRequestRecordsMax &&
               pending_bytes_ + line_bytes + kRecordOverheadBytesMax <= kRequestRecordBytesMax;
    }

    // Sends every pending batch, one Produce request per leader.
    Status<ClientError> flush() {
        if (pending_.empty()) return {};
        std::map<std::int32_t, kafka::ProduceRequest> requests;
        for (auto& [partition, builder] : pending_) {
            auto& request = requests[partitions_.at(partition)];
            if (request.topic_data.empty()) {
                request.acks = acks_;
                request.timeout_ms = kProduceTimeoutMs;
                request.topic_data.emplace_back().name = options_.topic;
            }
            request.topic_data.front().partition_data.push_back({partition, builder.build()});
        }
        pending_.clear();
        pending_bytes_ = 0;
        pending_records_ = 0;
        if (unkeyed_pending_) ++round_robin_;
        unkeyed_pending_ = false;
        for (const auto& [leader, request] : requests) {
            auto connection = client_.broker(leader);
            if (!connection.ok()) return Failure{connection.error()};
            used_leaders_.insert(leader);
            if (auto sent = send(*connection.value(), request); !sent.ok()) return sent;
        }
        return {};
    }

    // acks=0 gets no answers: a Metadata round trip on every connection used
    // proves the broker has read every request before it (answers come back
    // in request order), so exiting cannot cut them off.
    Status<ClientError> drain() {
        if (acks_ != 0) return {};
        for (const auto leader : used_leaders_) {
            auto connection = client_.broker(leader);
            if (!connection.ok()) return Failure{connection.error()};
            kafka::MetadataRequest request;
            request.allow_auto_topic_creation = false;
            auto answered = connection.value()->call<kafka::MetadataResponse>(request);
            if (!answered.ok()) return Failure{answered.error()};
        }
        return {};
    }

private:
    [[nodiscard]] std::size_t count() const noexcept { return partitions_.size(); }

    std::int32_t sticky_partition() const {
        auto at = partitions_.begin();
        std::advance(at, static_cast<long>(round_robin_ % count()));
        return at->first;
    }

    Status<ClientError> send(KafkaConnection& connection, const kafka::ProduceRequest& request) {
        if (acks_ == 0) return connection.send_only(request);
        auto response = connection.call<kafka::ProduceResponse>(request);
        if (!response.ok()) return Failure{response.error()};
        std::size_t answered = 0;
        for (const auto& topic : response.value().responses) {
            for (const auto& partition : topic.partition_responses) {
                ++answered;
                if (partition.error_code != 0) {
                    return Failure{partition_error(options_.topic, partition.index,
                                                   partition.error_code, partition.error_message)};
                }
            }
        }
        if (answered != request.topic_data.front().partition_data.size()) {
            return Failure{ClientError{"the Produce response from " +
                                       connection.address().to_string() +
                                       " does not answer every partition sent"}};
        }
        return {};
    }

    KafkaClient& client_;
    const ProduceOptions& options_;
    std::int16_t acks_;
    PartitionLeaders partitions_;
    std::map<std::int32_t, log::BatchBuilder> pending_;
    std::size_t pending_bytes_ = 0;
    std::size_t pending_records_ = 0;
    std::size_t round_robin_ = 0;
    bool unkeyed_pending_ = false;
    std::set<std::int32_t> used_leaders_;
};

Status<ClientError> produce(KafkaClient& client, const ProduceOptions& options) {
    std::int16_t acks = -1;
    if (options.acks == "0" || options.acks == "1") {
        acks = static_cast<std::int16_t>(options.acks[0] - '0');
    } else if (options.acks != "all" && options.acks != "-1") {
        return Failure{ClientError{"--acks must be 0, 1 or all, not '" + options.acks + "'"}};
    }
    auto partitions = topic_partitions(client, options.topic, true);
    if (!partitions.ok()) return Failure{partitions.error()};
    if (options.partition >= 0 && partitions.value().count(options.partition) == 0) {
        return Failure{ClientError{"topic '" + options.topic + "' has no partition " +
                                   std::to_string(options.partition)}};
    }
    Producer producer(client, options, acks, std::move(partitions).value());
    LineReader lines(STDIN_FILENO);
    while (true) {
        auto line = lines.next();
        if (!line.ok()) return Failure{line.error()};
        if (!line.value()) break;
        if (!producer.fits(line.value()->size())) {
            if (auto sent = producer.flush(); !sent.ok()) return sent;
        }
        producer.add(*line.value());
        if (!lines.ready()) {
            if (auto sent = producer.flush(); !sent.ok()) return sent;
        }
    }
    if (auto sent = producer.flush(); !sent.ok()) return sent;
    return producer.drain();
}

// ---------------------------------------------------------------------------
// consume

using PartitionState = FetchPartition;

class Consumer {
public:
    Consumer(KafkaClient& client, const ConsumeOptions& options, std::ostream& out,
             std::map<std::int32_t, PartitionState> partitions, GroupMember* group = nullptr)
        : client_(client),
          options_(options),
          out_(out),
          partitions_(std::move(partitions)),
          group_(group) {}

    // partition -> the offset after the last record printed (or skipped).
    [[nodiscard]] Positions positions() const {
        Positions positions;
        for (const auto& [index, state] : partitions_) positions[index] = state.position;
        return positions;
    }

    Status<ClientError> run() {
        auto quiet_since = Clock::now();
        bool caught_up = false;
        const auto timeout = std::chrono::milliseconds(options_.timeout_ms);
        while (!done()) {
            if (group_ != nullptr) {
                if (GroupMember::stop_requested()) break;
                auto rejoined = group_->poll(positions());
                if (!rejoined.ok()) return Failure{rejoined.error()};
                if (rejoined.value()) {
                    auto states = group_->partitions(options_.from_beginning, partitions_);
                    if (!states.ok()) return Failure{states.error()};
                    partitions_ = std::move(states).value();
                    caught_up = false;
                    quiet_since = Clock::now();
                }
            }
            if (!caught_up && all_caught_up()) {
                caught_up = true;
                quiet_since = std::max(quiet_since, Clock::now());
            }
            if (caught_up && Clock::now() - quiet_since >= timeout) break;
            const auto round_start = Clock::now();
            const std::int64_t printed_before = printed_;
            if (auto fetched = fetch_round(); !fetched.ok()) return fetched;
            out_.flush();
            if (printed_ != printed_before) {
                quiet_since = Clock::now();
            } else if (Clock::now() - round_start < kEmptyRoundPause) {
                std::this_thread::sleep_for(kEmptyRoundPause);
            }
        }
        out_.flush();
        return {};
    }

private:
    [[nodiscard]] bool done() const noexcept {
        return options_.max_messages > 0 && printed_ >= options_.max_messages;
    }

    [[nodiscard]] bool all_caught_up() const noexcept {
        return std::all_of(partitions_.begin(), partitions_.end(), [](const auto& entry) {
            return entry.second.position >= entry.second.end_at_start;
        });
    }

    Status<ClientError> fetch_round() {
        return fetch_records(
            client_, options_.topic, partitions_, kFetchMaxWaitMs,
            [this](std::int32_t index, std::int64_t offset, const log::RecordView& record) {
                print(index, offset, record);
                return !done();
            });
    }

    void print(std::int32_t index, std::int64_t offset, const log::RecordView& record) {
        auto write = [this](const std::optional<std::span<const std::uint8_t>>& bytes) {
            if (bytes)
                out_.write(reinterpret_cast<const char*>(bytes->data()),
                           static_cast<std::streamsize>(bytes->size()));
        };
        if (options_.print_offset) out_ << index << ":" << offset << "\t";
        if (options_.print_key) {
            write(record.key);
            out_ << "\t";
        }
        write(record.value);
        out_ << "\n";
        ++printed_;
    }

    KafkaClient& client_;
    const ConsumeOptions& options_;
    std::ostream& out_;
    std::map<std::int32_t, PartitionState> partitions_;
    GroupMember* group_;
    std::int64_t printed_ = 0;
};

Status<ClientError> consume_in_group(KafkaClient& client, const ConsumeOptions& options,
                                     std::ostream& out, std::ostream& err) {
    // A missing topic is a clear error before the group is joined.
    auto all = topic_partitions(client, options.topic, false);
    if (!all.ok()) return Failure{all.error()};
    GroupMember::catch_stop_signals();
    GroupMember member(client, options.group, options.topic, options.session_timeout_ms, err);
    if (auto joined = member.join(); !joined.ok()) return joined;
    auto states = member.partitions(options.from_beginning, {});
    if (!states.ok()) {
        (void)member.close({});
        return Failure{states.error()};
    }
    Consumer consumer(client, options, out, std::move(states).value(), &member);
    auto status = consumer.run();
    out.flush();
    auto closed = member.close(consumer.positions());
    if (!status.ok()) return status;
    return closed;
}

Status<ClientError> consume(KafkaClient& client, const ConsumeOptions& options, std::ostream& out,
                            std::ostream& err) {
    if (!options.group.empty()) return consume_in_group(client, options, out, err);
    auto all = topic_partitions(client, options.topic, false);
    if (!all.ok()) return Failure{all.error()};
    PartitionLeaders partitions = std::move(all).value();
    if (options.partition >= 0) {
        const auto found = partitions.find(options.partition);
        if (found == partitions.end()) {
            return Failure{ClientError{"topic '" + options.topic + "' has no partition " +
                                       std::to_string(options.partition)}};
        }
        partitions = PartitionLeaders{*found};
    }
    auto ends = list_offsets(client, options.topic, partitions, offset_latest);
    if (!ends.ok()) return Failure{ends.error()};
    std::map<std::int32_t, std::int64_t> starts = ends.value();
    if (options.from_beginning) {
        auto earliest = list_offsets(client, options.topic, partitions, offset_earliest);
        if (!earliest.ok()) return Failure{earliest.error()};
        starts = std::move(earliest).value();
    } else if (options.offset >= 0) {
        for (auto& [partition, start] : starts) start = options.offset;
    }
    std::map<std::int32_t, PartitionState> states;
    for (const auto& [partition, leader] : partitions) {
        states[partition] = PartitionState{leader, starts[partition], ends.value()[partition],
                                           partition_fetch_bytes_first};
    }
    Consumer consumer(client, options, out, std::move(states));
    return consumer.run();
}

// ---------------------------------------------------------------------------
// Wiring

int run_parsed(const ClientCommands& commands, std::ostream& out, std::ostream& err) {
    const auto parsed = [](const CLI::App* app) { return app != nullptr && app->parsed(); };
    const bool group = parsed(commands.group_list_app) || parsed(commands.group_describe_app) ||
                       parsed(commands.group_delete_app);
    const char* name = parsed(commands.produce_app)   ? "produce"
                       : parsed(commands.consume_app) ? "consume"
                       : group                        ? "group"
                                                      : "topic";
    ClientOptions client_options;
    if (parsed(commands.consume_app) && !commands.consume.group.empty()) {
        // A JoinGroup may be held for up to the rebalance timeout (the session timeout).
        client_options.request_timeout =
            std::max(client_options.request_timeout,
                     std::chrono::milliseconds(commands.consume.session_timeout_ms) +
                         std::chrono::seconds(10));
    }
    auto client = KafkaClient::open(commands.bootstrap, client_options);
    if (!client.ok()) {
        err << "samsa " << name << ": " << client.error().message << "\n";
        return 1;
    }
    KafkaClient& kafka = *client.value();
    Status<ClientError> status;
    if (commands.create_app->parsed()) {
        status = topic_create(kafka, commands.create, out);
    } else if (commands.list_app->parsed()) {
        status = topic_list(kafka, out);
    } else if (commands.describe_app->parsed()) {
        status = topic_describe(kafka, commands.topic_name, out);
    } else if (commands.delete_app->parsed()) {
        status = topic_delete(kafka, commands.topic_name, out);
    } else if (parsed(commands.group_list_app)) {
        status = group_list(kafka, out);
    } else if (parsed(commands.group_describe_app)) {
        status = group_describe(kafka, commands.group_name, out);
    } else if (parsed(commands.group_delete_app)) {
        status = group_delete(kafka, commands.group_name, out);
    } else if (commands.produce_app->parsed()) {
        status = produce(kafka, commands.produce);
    } else {
        status = consume(kafka, commands.consume, out, err);
    }
    out.flush();
    if (!status.ok()) {
        err << "samsa " << name << ": " << status.error().message << "\n";
        return 1;
    }
    return 0;
}

void add_bootstrap(CLI::App& app, ClientCommands& commands) {
    app.add_option("--bootstrap", commands.bootstrap, "HOST:PORT of a broker to start from")
        ->capture_default_str();
}

void add_consume_command(CLI::App& app, ClientCommands& commands) {
    auto& consume_options = commands.consume;
    commands.consume_app = app.add_subcommand("consume", "Print record values, one per line");
    auto* consume_app = commands.consume_app;
    consume_app->add_option("topic", consume_options.topic, "Topic")->required();
    auto* beginning = consume_app->add_flag("--from-beginning", consume_options.from_beginning,
                                            "Start at each partition's log start offset");
    auto* offset =
        consume_app->add_option("--offset", consume_options.offset, "Start at this offset")
            ->check(CLI::Range(std::int64_t{0}, INT64_MAX))
            ->excludes(beginning);
    auto* partition =
        consume_app->add_option("--partition", consume_options.partition, "Only this partition")
            ->check(CLI::Range(0, 1 << 30));
    consume_app
        ->add_option("--group", consume_options.group,
                     "Consume as a member of this consumer group (committed offsets)")
        ->excludes(offset)
        ->excludes(partition);
    consume_app
        ->add_option("--session-timeout-ms", consume_options.session_timeout_ms,
                     "Group session timeout (heartbeats every third of it)")
        ->capture_default_str()
        ->check(CLI::Range(1000, 3600000));
    consume_app
        ->add_option("--max-messages", consume_options.max_messages, "Stop after this many records")
        ->check(CLI::Range(std::int64_t{1}, INT64_MAX));
    consume_app
        ->add_option("--timeout-ms", consume_options.timeout_ms,
                     "Stop once caught up and idle this long")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{86400000}));
    consume_app->add_flag("--print-key", consume_options.print_key, "Print KEY<TAB> first");
    consume_app->add_flag("--print-offset", consume_options.print_offset,
                          "Print PARTITION:OFFSET<TAB> first");
    add_bootstrap(*consume_app, commands);
}

}  // namespace

void add_client_commands(CLI::App& app, ClientCommands& commands) {
    auto* topic = app.add_subcommand("topic", "Create, list, describe or delete topics");
    topic->require_subcommand(1);

    commands.create_app = topic->add_subcommand("create", "Create a topic");
    commands.create_app->add_option("name", commands.create.name, "Topic name")->required();
    commands.create_app
        ->add_option("--partitions", commands.create.partitions, "Number of partitions")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 20));
    commands.create_app
        ->add_option("--replication-factor", commands.create.replication_factor,
                     "Replicas of each partition")
        ->capture_default_str()
        ->check(CLI::Range(1, 32767));
    commands.create_app->add_option("--config", commands.create.configs,
                                    "Topic config KEY=VALUE (repeatable)");
    add_bootstrap(*commands.create_app, commands);

    commands.list_app = topic->add_subcommand("list", "List topic names");
    add_bootstrap(*commands.list_app, commands);

    commands.describe_app = topic->add_subcommand(
        "describe", "PartitionLeaders, leaders, replicas, ISR, offsets and configs of a topic");
    commands.describe_app->add_option("name", commands.topic_name, "Topic name")->required();
    add_bootstrap(*commands.describe_app, commands);

    commands.delete_app = topic->add_subcommand("delete", "Delete a topic");
    commands.delete_app->add_option("name", commands.topic_name, "Topic name")->required();
    add_bootstrap(*commands.delete_app, commands);

    add_group_commands(app, commands);

    auto& produce_options = commands.produce;
    commands.produce_app =
        app.add_subcommand("produce", "Send stdin lines as records (KEY<TAB>VALUE is keyed)");
    commands.produce_app->add_option("topic", produce_options.topic, "Topic")->required();
    commands.produce_app->add_option("--acks", produce_options.acks, "0, 1 or all")
        ->capture_default_str();
    commands.produce_app
        ->add_option("--partition", produce_options.partition, "Send every record here")
        ->check(CLI::Range(0, 1 << 30));
    commands.produce_app->add_option("--key-separator", produce_options.key_separator,
                                     "Splits KEY from VALUE (default TAB; '' turns keys off)");
    add_bootstrap(*commands.produce_app, commands);

    add_consume_command(app, commands);
}

std::optional<int> run_client_commands(const ClientCommands& commands, std::ostream& out,
                                       std::ostream& err) {
    const CLI::App* apps[] = {
        commands.create_app,     commands.list_app,           commands.describe_app,
        commands.delete_app,     commands.produce_app,        commands.consume_app,
        commands.group_list_app, commands.group_describe_app, commands.group_delete_app};
    if (std::none_of(std::begin(apps), std::end(apps),
                     [](const CLI::App* app) { return app != nullptr && app->parsed(); })) {
        return std::nullopt;
    }
    try {
        return run_parsed(commands, out, err);
    } catch (const std::exception& e) {
        err << "samsa: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace samsa::runtime

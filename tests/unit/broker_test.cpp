// The broker machine on its own: requests in as ClientRequest events, answers
// out as ClientReply (or ClientClose) effects, decoded with net/kafka.
#include "core/broker/broker.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/log/batch.h"
#include "core/log/batch_builder.h"
#include "net/kafka/api.h"
#include "sim/fault_plan.h"
#include "sim/world.h"

namespace samsa::broker {
namespace {

io::Bytes frame_of(const kafka::RequestHeader& header, const kafka::Request& request) {
    io::Bytes frame = kafka::encode_request_frame(header, request);
    frame.erase(frame.begin(), frame.begin() + 4);  // the listener strips the size
    return frame;
}

// Steps the broker with one request and returns what it pushed.
std::vector<io::Effect> ask(Broker& broker, io::Bytes frame, std::uint64_t sequence = 0) {
    io::Outbox out;
    broker.step(Instant::zero(), io::ClientRequest{ClientId(9), sequence, std::move(frame)}, out);
    return std::vector<io::Effect>(out.effects().begin(), out.effects().end());
}

// The single reply's body decoded as Body at `version`, after checking the correlation id.
template <class Body>
Body reply_body(const std::vector<io::Effect>& effects, std::int32_t correlation_id,
                std::int16_t version) {
    EXPECT_EQ(effects.size(), 1U);
    const auto* reply = effects.empty() ? nullptr : std::get_if<io::ClientReply>(&effects[0]);
    EXPECT_TRUE(reply != nullptr && reply->frame.has_value());
    if (reply == nullptr || !reply->frame) return Body{};
    kafka::Reader reader(*reply->frame);
    EXPECT_EQ(reader.read_int32(), correlation_id);
    auto body = Body::decode(version, reader);
    EXPECT_TRUE(body.ok());
    EXPECT_EQ(reader.remaining(), 0U);
    return body.ok() ? std::move(body).value() : Body{};
}

// A broker that has started on an empty data directory, so it serves.
Broker started(BrokerConfig config = {}) {
    Broker broker(std::move(config));
    io::Outbox out;
    broker.step(Instant::zero(), io::Start{}, out);
    EXPECT_FALSE(broker.ready());  // requests wait until the partitions on disk are known
    const auto* list = std::get_if<io::List>(&out.effects().at(0));
    EXPECT_NE(list, nullptr);
    io::IoCompleted listed;
    listed.token = list->token;  // nothing in the directory
    io::Outbox more;
    broker.step(Instant::zero(), listed, more);
    EXPECT_TRUE(broker.ready());
    return broker;
}

bool closes(const std::vector<io::Effect>& effects) {
    return effects.size() == 1 && std::holds_alternative<io::ClientClose>(effects[0]);
}

TEST(Broker, ApiVersionsListsEveryAdvertisedRangeAtEveryVersion) {
    Broker broker = started();
    for (std::int16_t version = 0; version <= 2; ++version) {
        const auto answer = reply_body<kafka::ApiVersionsResponse>(
            ask(broker, frame_of({18, version, 40 + version, "t"}, kafka::ApiVersionsRequest{})),
            40 + version, version);
        EXPECT_EQ(answer.error_code, 0);
        EXPECT_EQ(answer, kafka::api_versions_response(0)) << "version " << version;
        const bool has_produce = std::any_of(answer.api_keys.begin(), answer.api_keys.end(),
                                             [](const auto& k) { return k.api_key == 0; });
        EXPECT_TRUE(has_produce);
    }
}

TEST(Broker, ApiVersionsOfAnUnsupportedVersionAnswersError35InV0Layout) {
    Broker broker = started();
    // librdkafka's opening request: ApiVersions v3 (flexible), header v2.
    io::Bytes frame = {0, 18, 0, 3, 0, 0, 0, 7, 0, 3, 'r', 'd', 'k', 0, 0, 0};
    const auto answer = reply_body<kafka::ApiVersionsResponse>(ask(broker, frame), 7, 0);
    EXPECT_EQ(answer.error_code, 35);
    EXPECT_FALSE(answer.api_keys.empty());
}

TEST(Broker, MetadataNamesThisBrokerAsClusterAndController) {
    BrokerConfig config;
    config.node_id = NodeId(3);
    config.advertised_host = "127.0.0.1";
    config.advertised_port = 19092;
    config.auto_create_topics = false;  // so the named topic stays unknown
    Broker broker = started(config);
    kafka::MetadataRequest all;
    all.topics = std::nullopt;  // v1+: every topic
    for (const std::int16_t version : {1, 4, 8}) {
        const auto answer = reply_body<kafka::MetadataResponse>(
            ask(broker, frame_of({3, version, 5, "t"}, all)), 5, version);
        ASSERT_EQ(answer.brokers.size(), 1U);
        EXPECT_EQ(answer.brokers[0].node_id, 3);
        EXPECT_EQ(answer.brokers[0].host, "127.0.0.1");
        EXPECT_EQ(answer.brokers[0].port, 19092);
        EXPECT_EQ(answer.controller_id, 3);
        ASSERT_EQ(answer.topics.size(), 1U);  // only the groups' internal topic
        EXPECT_EQ(answer.topics[0].name, kOffsetsTopic);
        EXPECT_EQ(answer.topics[0].is_internal, version >= 1);
    }
    kafka::MetadataRequest named;
    named.topics = std::vector<kafka::MetadataRequest::Topic>{{"orders"}};
    const auto answer =
        reply_body<kafka::MetadataResponse>(ask(broker, frame_of({3, 0, 6, "t"}, named)), 6, 0);
    ASSERT_EQ(answer.topics.size(), 1U);
    EXPECT_EQ(answer.topics[0].name, "orders");
    EXPECT_EQ(answer.topics[0].error_code, 3);  // UNKNOWN_TOPIC_OR_PARTITION
}

TEST(Broker, BadInputClosesTheConnection) {
    Broker broker = started();
    EXPECT_TRUE(closes(ask(broker, io::Bytes{1, 2, 3})));                          // no header
    EXPECT_TRUE(closes(ask(broker, io::Bytes{0, 99, 0, 0, 0, 0, 0, 1, 0, 0})));    // unknown key
    EXPECT_TRUE(closes(ask(broker, io::Bytes{0, 3, 0, 42, 0, 0, 0, 1, 0, 0})));    // Metadata v42
    EXPECT_TRUE(closes(ask(broker, io::Bytes{0, 3, 0, 1, 0, 0, 0, 1, 0, 0, 9})));  // bad body
    io::Bytes garbage(1000, 0xee);
    EXPECT_TRUE(closes(ask(broker, garbage)));
    EXPECT_EQ(broker.stats().closed_connections, 5U);
    // And it still answers.
    const auto answer = reply_body<kafka::ApiVersionsResponse>(
        ask(broker, frame_of({18, 0, 1, "t"}, kafka::ApiVersionsRequest{})), 1, 0);
    EXPECT_EQ(answer.error_code, 0);
}

TEST(Broker, ARequestForAnApiNotServedYetClosesTheConnection) {
    Broker broker = started();
    EXPECT_TRUE(
        closes(ask(broker, frame_of({37, 0, 1, "t"}, kafka::CreatePartitionsRequest{}))));
}

}  // namespace
}  // namespace samsa::broker

namespace samsa::broker {
namespace {

// The broker on the simulator: requests go in with deliver_client(), replies
// come out through the sink; the disk is the simulated one.
class SimBroker {
public:
    SimBroker() : world_(1, 1, sim::FaultPlan::none()) {
        world_.set_factory(kNode, sim::factory_of<Broker>([](NodeId, Prng) {
                               BrokerConfig config;
                               config.default_partitions = 3;
                               return Broker(config);
                           }));
        world_.set_client_sink([this](NodeId, io::Effect effect) {
            if (auto* reply = std::get_if<io::ClientReply>(&effect)) {
                replies_.push_back(std::move(*reply));
            }
        });
        world_.start();
        settle();
    }
    // Sends a request, runs the world until its reply, returns the reply body's reader input.
    template <class Body>
    Body ask(std::int16_t api_key, std::int16_t version, const kafka::Request& request) {
        const std::uint64_t sequence = sequence_++;
        const std::size_t before = replies_.size();
        EXPECT_TRUE(world_.deliver_client(
            kNode, io::ClientRequest{ClientId(1), sequence,
                                     frame_of({api_key, version, 77, "t"}, request)}));
        settle();
        EXPECT_EQ(replies_.size(), before + 1);
        if (replies_.size() != before + 1 || !replies_.back().frame) return Body{};
        kafka::Reader reader(*replies_.back().frame);
        EXPECT_EQ(reader.read_int32(), 77);
        auto body = Body::decode(version, reader);
        EXPECT_TRUE(body.ok());
        return body.ok() ? std::move(body).value() : Body{};
    }
    // Sends a request and returns the reply's frame (nullopt: a reply without bytes).
    std::optional<io::Bytes> raw(std::int16_t api_key, std::int16_t version,
                                 const kafka::Request& request) {
        const std::size_t before = replies_.size();
        world_.deliver_client(kNode,
                              io::ClientRequest{ClientId(1), sequence_++,
                                                frame_of({api_key, version, 78, "t"}, request)});
        settle();
        EXPECT_EQ(replies_.size(), before + 1);
        return replies_.size() == before + 1 ? replies_.back().frame : std::nullopt;
    }
    // Sends without waiting; returns the request's sequence.
    std::uint64_t send(std::int16_t api_key, std::int16_t version, const kafka::Request& request) {
        const std::uint64_t sequence = sequence_++;
        world_.deliver_client(kNode,
                              io::ClientRequest{ClientId(1), sequence,
                                                frame_of({api_key, version, 79, "t"}, request)});
        return sequence;
    }
    void run(Duration how_long) { world_.run_until(world_.now() + how_long); }
    [[nodiscard]] Instant now() const { return world_.now(); }
    // The reply to `sequence`, once there is one.
    const io::ClientReply* reply_to(std::uint64_t sequence) const {
        for (const auto& reply : replies_) {
            if (reply.sequence == sequence) return &reply;
        }
        return nullptr;
    }
    void restart() {
        world_.crash(kNode);
        world_.restart(kNode, false);
        settle();
    }
    Broker* broker() { return world_.machine<Broker>(kNode); }

private:
    static constexpr NodeId kNode{1};
    void settle() { world_.run_until(world_.now() + Duration::seconds(5)); }
    sim::World world_;
    std::vector<io::ClientReply> replies_;
    std::uint64_t sequence_ = 0;
};

kafka::CreateTopicsRequest::Topic new_topic(std::string name, std::int32_t partitions,
                                            std::int16_t replication = 1) {
    kafka::CreateTopicsRequest::Topic topic;
    topic.name = std::move(name);
    topic.num_partitions = partitions;
    topic.replication_factor = replication;
    return topic;
}

TEST(BrokerTopics, CreatedTopicsAppearInMetadataAndSurviveARestart) {
    SimBroker sim;
    kafka::CreateTopicsRequest create;
    create.topics = {new_topic("orders", 4), new_topic("audit.log_v2", -1, -1)};
    const auto created = sim.ask<kafka::CreateTopicsResponse>(19, 4, create);
    ASSERT_EQ(created.topics.size(), 2U);
    EXPECT_EQ(created.topics[0].error_code, 0);
    EXPECT_EQ(created.topics[1].error_code, 0);
    const std::map<std::string, std::size_t> want = {{"audit.log_v2", 3}, {"orders", 4}};
    EXPECT_EQ(sim.broker()->topics(), want);

    kafka::MetadataRequest all;
    all.topics = std::nullopt;
    const auto described = sim.ask<kafka::MetadataResponse>(3, 8, all);
    ASSERT_EQ(described.topics.size(), 3U);  // with __consumer_offsets, sorted first
    EXPECT_EQ(described.topics[0].name, kOffsetsTopic);
    EXPECT_TRUE(described.topics[0].is_internal);
    EXPECT_EQ(described.topics[2].name, "orders");
    EXPECT_FALSE(described.topics[2].is_internal);
    ASSERT_EQ(described.topics[2].partitions.size(), 4U);
    for (const auto& partition : described.topics[2].partitions) {
        EXPECT_EQ(partition.error_code, 0);
        EXPECT_EQ(partition.leader_id, 1);
        EXPECT_EQ(partition.replica_nodes, std::vector<std::int32_t>{1});
    }
    sim.restart();  // the topics are found again from the partitions' files
    EXPECT_EQ(sim.broker()->topics(), want);
    EXPECT_EQ(sim.ask<kafka::MetadataResponse>(3, 1, all).topics.size(), 3U);
}

TEST(BrokerTopics, CreateTopicsValidatesEachTopicAsKafkaDoes) {
    SimBroker sim;
    kafka::CreateTopicsRequest first;
    first.topics = {new_topic("taken", 1)};
    EXPECT_EQ(sim.ask<kafka::CreateTopicsResponse>(19, 2, first).topics.at(0).error_code, 0);
    kafka::CreateTopicsRequest create;
    create.topics = {new_topic("taken", 1), new_topic("bad/name", 1),
                     new_topic("", 1),      new_topic(std::string(250, 'x'), 1),
                     new_topic("zero", 0),  new_topic("three-copies", 1, 3),
                     new_topic("twice", 1), new_topic("twice", 2),
                     new_topic("fine", 2)};
    const auto answer = sim.ask<kafka::CreateTopicsResponse>(19, 2, create);
    ASSERT_EQ(answer.topics.size(), create.topics.size());
    const std::vector<std::int16_t> codes = {36, 17, 17, 17, 37, 38, 42, 42, 0};
    for (std::size_t i = 0; i < codes.size(); ++i) {
        EXPECT_EQ(answer.topics[i].error_code, codes[i]) << create.topics[i].name;
    }
    const std::map<std::string, std::size_t> want = {{"fine", 2}, {"taken", 1}};
    EXPECT_EQ(sim.broker()->topics(), want);
    kafka::CreateTopicsRequest validate;
    validate.topics = {new_topic("dry-run", 1)};
    validate.validate_only = true;
    EXPECT_EQ(sim.ask<kafka::CreateTopicsResponse>(19, 1, validate).topics.at(0).error_code, 0);
    EXPECT_EQ(sim.broker()->topics(), want);  // validate_only creates nothing
}

// Batch i: `count` records "r<i>-<n>" with timestamps 5000 + 10 * i.
io::Bytes records(int i, int count) {
    log::BatchBuilder builder;
    std::vector<std::string> values;
    for (int n = 0; n < count; ++n)
        values.push_back("r" + std::to_string(i) + "-" + std::to_string(n));
    for (const auto& value : values) {
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(value.data());
        builder.add(log::RecordInput{{}, std::span(bytes, value.size()), {}, 5000 + 10 * i});
    }
    return builder.build();
}

kafka::ProduceRequest produce(const std::string& topic, std::int32_t partition, io::Bytes data,
                              std::int16_t acks = -1) {
    kafka::ProduceRequest request;
    request.acks = acks;
    request.timeout_ms = 1000;
    auto& t = request.topic_data.emplace_back();
    t.name = topic;
    t.partition_data.push_back({partition, std::move(data)});
    return request;
}

kafka::FetchRequest fetch(const std::string& topic, std::int32_t partition, std::int64_t from) {
    kafka::FetchRequest request;
    request.max_bytes = 1 << 20;
    auto& t = request.topics.emplace_back();
    t.topic = topic;
    auto& p = t.partitions.emplace_back();
    p.partition = partition;
    p.fetch_offset = from;
    p.partition_max_bytes = 1 << 20;
    return request;
}

kafka::ListOffsetsRequest list_offsets(const std::string& topic, std::int64_t timestamp) {
    kafka::ListOffsetsRequest request;
    auto& t = request.topics.emplace_back();
    t.name = topic;
    auto& p = t.partitions.emplace_back();
    p.partition_index = 0;
    p.timestamp = timestamp;
    return request;
}

TEST(BrokerData, ProduceFetchAndListOffsets) {
    SimBroker sim;
    kafka::CreateTopicsRequest create;
    create.topics = {new_topic("t", 1)};
    ASSERT_EQ(sim.ask<kafka::CreateTopicsResponse>(19, 4, create).topics.at(0).error_code, 0);
    std::int64_t next = 0;
    for (int i = 0; i < 5; ++i) {
        const auto answer = sim.ask<kafka::ProduceResponse>(0, 7, produce("t", 0, records(i, 3)));
        const auto& part = answer.responses.at(0).partition_responses.at(0);
        EXPECT_EQ(part.error_code, 0);
        EXPECT_EQ(part.base_offset, next);
        next += 3;
    }
    // acks=0: the batch is appended and the reply carries no bytes.
    EXPECT_FALSE(sim.raw(0, 7, produce("t", 0, records(5, 3), 0)).has_value());
    next += 3;
    const auto fetched = sim.ask<kafka::FetchResponse>(1, 11, fetch("t", 0, 4));
    const auto& part = fetched.responses.at(0).partitions.at(0);
    EXPECT_EQ(part.error_code, 0);
    EXPECT_EQ(part.high_watermark, next);
    auto spans = log::split_batches(part.records.value(), SIZE_MAX);
    ASSERT_TRUE(spans.ok());
    ASSERT_EQ(spans.value().size(), 5U);  // from the batch holding offset 4 to the end
    EXPECT_EQ(spans.value().front().header.base_offset, Offset(3));
    EXPECT_EQ(sim.ask<kafka::FetchResponse>(1, 4, fetch("t", 0, next))
                  .responses.at(0)
                  .partitions.at(0)
                  .records.value()
                  .size(),
              0U);  // at the end: nothing yet
    EXPECT_EQ(sim.ask<kafka::FetchResponse>(1, 4, fetch("t", 0, next + 1))
                  .responses.at(0)
                  .partitions.at(0)
                  .error_code,
              1);  // OFFSET_OUT_OF_RANGE
    const auto at = [&](std::int64_t ts) {
        return sim.ask<kafka::ListOffsetsResponse>(2, 2, list_offsets("t", ts))
            .topics.at(0)
            .partitions.at(0);
    };
    EXPECT_EQ(at(-2).offset, 0);
    EXPECT_EQ(at(-1).offset, next);
    EXPECT_EQ(at(5020).offset, 6);  // batch 2 (offsets 6-8) carries 5020
    EXPECT_EQ(at(5020).timestamp, 5020);
    EXPECT_EQ(at(5015).offset, 6);    // the first at or after 5015
    EXPECT_EQ(at(99999).offset, -1);  // none that late
    sim.restart();                    // acknowledged batches survive
    EXPECT_EQ(at(-1).offset, next);
}

TEST(BrokerData, BadBatchesAndUnknownPartitionsGetKafkaErrors) {
    SimBroker sim;
    kafka::CreateTopicsRequest create;
    create.topics = {new_topic("t", 1)};
    ASSERT_EQ(sim.ask<kafka::CreateTopicsResponse>(19, 4, create).topics.at(0).error_code, 0);
    io::Bytes corrupt = records(0, 2);
    corrupt.back() ^= 0x01;  // the CRC no longer matches
    const auto code = [&](const kafka::ProduceRequest& request) {
        return sim.ask<kafka::ProduceResponse>(0, 7, request)
            .responses.at(0)
            .partition_responses.at(0)
            .error_code;
    };
    EXPECT_EQ(code(produce("t", 0, corrupt)), 2);           // CORRUPT_MESSAGE
    EXPECT_EQ(code(produce("t", 0, io::Bytes{})), 87);      // INVALID_RECORD: no batch
    EXPECT_EQ(code(produce("t", 1, records(0, 1))), 3);     // no partition 1
    EXPECT_EQ(code(produce("nope", 0, records(0, 1))), 3);  // no such topic
    EXPECT_EQ(sim.ask<kafka::ListOffsetsResponse>(2, 2, list_offsets("t", -1))
                  .topics.at(0)
                  .partitions.at(0)
                  .offset,
              0);  // nothing was stored
}

kafka::FetchResponse decode_fetch(const io::ClientReply& reply, std::int16_t version) {
    kafka::Reader reader(*reply.frame);
    reader.read_int32();
    auto body = kafka::FetchResponse::decode(version, reader);
    EXPECT_TRUE(body.ok());
    return body.ok() ? std::move(body).value() : kafka::FetchResponse{};
}

TEST(BrokerData, FetchAtTheEndWaitsForDataOrItsMaxWait) {
    SimBroker sim;
    kafka::CreateTopicsRequest create;
    create.topics = {new_topic("t", 1)};
    ASSERT_EQ(sim.ask<kafka::CreateTopicsResponse>(19, 4, create).topics.at(0).error_code, 0);
    kafka::FetchRequest waiting = fetch("t", 0, 0);
    waiting.max_wait_ms = 10000;
    waiting.min_bytes = 1;
    const auto parked = sim.send(1, 11, waiting);
    sim.run(Duration::milliseconds(500));
    EXPECT_EQ(sim.reply_to(parked), nullptr);  // nothing to read yet: it waits
    sim.send(0, 7, produce("t", 0, records(0, 2)));
    sim.run(Duration::milliseconds(100));
    const auto* woken = sim.reply_to(parked);
    ASSERT_NE(woken, nullptr);  // the append woke it, long before its max wait
    const auto answer = decode_fetch(*woken, 11);
    EXPECT_EQ(answer.responses.at(0).partitions.at(0).high_watermark, 2);
    EXPECT_FALSE(answer.responses.at(0).partitions.at(0).records.value().empty());

    kafka::FetchRequest idle = fetch("t", 0, 2);
    idle.max_wait_ms = 300;
    idle.min_bytes = 1;
    const Instant sent = sim.now();
    const auto timed = sim.send(1, 11, idle);
    // Step 10 ms at a time and note when the (empty) answer appears.
    while (sim.reply_to(timed) == nullptr && sim.now() - sent < Duration::seconds(5)) {
        sim.run(Duration::milliseconds(10));
    }
    const auto* expired = sim.reply_to(timed);
    ASSERT_NE(expired, nullptr);
    EXPECT_GE(sim.now() - sent, Duration::milliseconds(300));  // not before its max wait
    EXPECT_LE(sim.now() - sent, Duration::milliseconds(400));  // nor long after
    EXPECT_TRUE(
        decode_fetch(*expired, 11).responses.at(0).partitions.at(0).records.value().empty());
}

TEST(BrokerData, FetchWaitsForMinBytesOrItsMaxWait) {
    SimBroker sim;
    kafka::CreateTopicsRequest create;
    create.topics = {new_topic("t", 1)};
    ASSERT_EQ(sim.ask<kafka::CreateTopicsResponse>(19, 4, create).topics.at(0).error_code, 0);
    const std::size_t batch_bytes = records(0, 10).size();
    kafka::FetchRequest request = fetch("t", 0, 0);
    request.max_wait_ms = 10000;
    request.min_bytes = static_cast<std::int32_t>(3 * batch_bytes);  // three batches' worth
    const auto parked = sim.send(1, 11, request);
    for (int i = 0; i < 2; ++i) {
        sim.send(0, 7, produce("t", 0, records(i, 10)));
        sim.run(Duration::milliseconds(100));
        EXPECT_EQ(sim.reply_to(parked), nullptr) << "answered with " << i + 1 << " batches";
    }
    sim.send(0, 7, produce("t", 0, records(2, 10)));
    sim.run(Duration::milliseconds(100));
    const auto* answered = sim.reply_to(parked);
    ASSERT_NE(answered, nullptr);  // min_bytes reached, long before max wait
    EXPECT_GE(decode_fetch(*answered, 11).responses.at(0).partitions.at(0).records->size(),
              3 * batch_bytes);

    // Data already there but less than min_bytes: answered with it at max wait.
    request.max_wait_ms = 300;
    request.min_bytes = static_cast<std::int32_t>(4 * batch_bytes);
    const Instant sent = sim.now();
    const auto short_of = sim.send(1, 11, request);
    sim.run(Duration::milliseconds(200));
    EXPECT_EQ(sim.reply_to(short_of), nullptr);
    sim.run(Duration::milliseconds(200));
    const auto* expired = sim.reply_to(short_of);
    ASSERT_NE(expired, nullptr);
    EXPECT_GE(sim.now() - sent, Duration::milliseconds(300));
    EXPECT_GE(decode_fetch(*expired, 11).responses.at(0).partitions.at(0).records->size(),
              3 * batch_bytes);
}

// What an idempotent (not transactional) producer sends: a null transactional id.
kafka::InitProducerIdRequest init_producer() {
    kafka::InitProducerIdRequest request;
    request.transactional_id = std::nullopt;
    request.transaction_timeout_ms = 60000;
    return request;
}

// `count` records from an idempotent producer, its first sequence `sequence`.
io::Bytes sequenced(std::int64_t producer, std::int16_t epoch, std::int32_t sequence, int count) {
    log::BatchBuilder builder;
    builder.producer(ProducerId(producer), epoch, sequence);
    const std::string value = "v";
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(value.data());
    for (int n = 0; n < count; ++n) {
        builder.add(log::RecordInput{{}, std::span(bytes, value.size()), {}, 1000});
    }
    return builder.build();
}

TEST(BrokerIdempotence, ProducerIdsAreNeverHandedOutTwiceEvenAcrossRestarts) {
    SimBroker sim;
    std::set<std::int64_t> seen;
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 3; ++i) {
            const auto id = sim.ask<kafka::InitProducerIdResponse>(22, 1, init_producer());
            EXPECT_EQ(id.error_code, 0);
            EXPECT_GE(id.producer_id, 0);
            EXPECT_EQ(id.producer_epoch, 0);
            EXPECT_TRUE(seen.insert(id.producer_id).second) << id.producer_id;
        }
        sim.restart();
    }
    kafka::InitProducerIdRequest transactional;
    transactional.transactional_id = "tx-1";
    EXPECT_EQ(sim.ask<kafka::InitProducerIdResponse>(22, 0, transactional).error_code, 42);
}

// Creates `topic` (one partition) and returns a new idempotent producer's id.
std::int64_t topic_and_producer(SimBroker& sim, const std::string& topic) {
    kafka::CreateTopicsRequest create;
    create.topics = {new_topic(topic, 1)};
    EXPECT_EQ(sim.ask<kafka::CreateTopicsResponse>(19, 4, create).topics.at(0).error_code, 0);
    return sim.ask<kafka::InitProducerIdResponse>(22, 1, init_producer()).producer_id;
}

TEST(BrokerIdempotence, ARetriedBatchGetsItsFirstOffsetAndIsStoredOnce) {
    SimBroker sim;
    const std::int64_t producer = topic_and_producer(sim, "t");
    const auto send = [&](std::int16_t epoch, std::int32_t sequence, int count) {
        return sim
            .ask<kafka::ProduceResponse>(
                0, 7, produce("t", 0, sequenced(producer, epoch, sequence, count)))
            .responses.at(0)
            .partition_responses.at(0);
    };
    EXPECT_EQ(send(0, 0, 3).base_offset, 0);
    EXPECT_EQ(send(0, 3, 2).base_offset, 3);
    const auto again = send(0, 0, 3);  // a retry: the original offset, nothing stored
    EXPECT_EQ(again.error_code, 0);
    EXPECT_EQ(again.base_offset, 0);
    EXPECT_EQ(send(0, 3, 2).base_offset, 3);
    EXPECT_EQ(send(0, 9, 1).error_code, 45);  // OUT_OF_ORDER_SEQUENCE_NUMBER: 5..8 missing
    EXPECT_EQ(send(0, 5, 1).base_offset, 5);
    // Two copies of one batch in flight at once: both answered with one offset.
    const auto first = sim.send(0, 7, produce("t", 0, sequenced(producer, 0, 6, 4)));
    const auto second = sim.send(0, 7, produce("t", 0, sequenced(producer, 0, 6, 4)));
    sim.run(Duration::seconds(1));
    for (const auto sequence : {first, second}) {
        const auto* reply = sim.reply_to(sequence);
        ASSERT_NE(reply, nullptr);
        kafka::Reader reader(*reply->frame);
        reader.read_int32();
        const auto body = kafka::ProduceResponse::decode(7, reader);
        ASSERT_TRUE(body.ok());
        EXPECT_EQ(body.value().responses.at(0).partition_responses.at(0).error_code, 0);
        EXPECT_EQ(body.value().responses.at(0).partition_responses.at(0).base_offset, 6);
    }
    EXPECT_EQ(send(1, 7, 1).error_code, 45);  // a new epoch starts at sequence 0
    EXPECT_EQ(send(1, 0, 1).base_offset, 10);
    EXPECT_EQ(send(0, 10, 1).error_code, 47);  // INVALID_PRODUCER_EPOCH: fenced
    EXPECT_EQ(sim.ask<kafka::ListOffsetsResponse>(2, 2, list_offsets("t", -1))
                  .topics.at(0)
                  .partitions.at(0)
                  .offset,
              11);  // 3 + 2 + 1 + 4 + 1 records: no duplicate was stored
}

TEST(BrokerIdempotence, TheWindowIsRebuiltFromTheLogAfterARestart) {
    SimBroker sim;
    const std::int64_t producer = topic_and_producer(sim, "t");
    const auto send = [&](std::int32_t sequence, int count) {
        return sim
            .ask<kafka::ProduceResponse>(0, 7,
                                         produce("t", 0, sequenced(producer, 0, sequence, count)))
            .responses.at(0)
            .partition_responses.at(0);
    };
    sim.ask<kafka::ProduceResponse>(0, 7, produce("t", 0, records(0, 4)));  // a plain producer
    EXPECT_EQ(send(0, 3).base_offset, 4);
    EXPECT_EQ(send(3, 2).base_offset, 7);
    sim.restart();
    // The answer to the last batch was lost in the crash; the producer retries it.
    const auto retried = send(3, 2);
    EXPECT_EQ(retried.error_code, 0);
    EXPECT_EQ(retried.base_offset, 7);
    EXPECT_EQ(send(0, 3).base_offset, 4);
    EXPECT_EQ(send(9, 1).error_code, 45);  // the gap is still seen
    EXPECT_EQ(send(5, 1).base_offset, 9);
}

TEST(BrokerTopics, DeletedTopicsDisappearWithTheirFilesAndCanBeCreatedAgain) {
    SimBroker sim;
    kafka::CreateTopicsRequest create;
    create.topics = {new_topic("gone", 2), new_topic("gone-1", 1), new_topic("kept", 1)};
    for (const auto& topic : sim.ask<kafka::CreateTopicsResponse>(19, 4, create).topics) {
        ASSERT_EQ(topic.error_code, 0);
    }
    for (int i = 0; i < 3; ++i) {
        sim.ask<kafka::ProduceResponse>(0, 7, produce("gone", 1, records(i, 2)));
        sim.ask<kafka::ProduceResponse>(0, 7, produce("gone-1", 0, records(i, 2)));
    }
    kafka::DeleteTopicsRequest drop;
    drop.topic_names = {"gone", "missing", "twice", "twice"};
    drop.timeout_ms = 1000;
    const auto answer = sim.ask<kafka::DeleteTopicsResponse>(20, 3, drop);
    ASSERT_EQ(answer.responses.size(), 4U);
    EXPECT_EQ(answer.responses[0].error_code, 0);
    EXPECT_EQ(answer.responses[1].error_code, 3);   // UNKNOWN_TOPIC_OR_PARTITION
    EXPECT_EQ(answer.responses[2].error_code, 42);  // INVALID_REQUEST: named twice
    const std::map<std::string, std::size_t> left = {{"gone-1", 1}, {"kept", 1}};
    EXPECT_EQ(sim.broker()->topics(), left);
    EXPECT_EQ(sim.ask<kafka::ProduceResponse>(0, 7, produce("gone", 1, records(9, 1)))
                  .responses.at(0)
                  .partition_responses.at(0)
                  .error_code,
              3);
    sim.restart();
    EXPECT_EQ(sim.broker()->topics(), left);  // it does not come back from disk
    // "gone-1" (whose files start with "gone-1-") kept its data.
    EXPECT_EQ(sim.ask<kafka::ListOffsetsResponse>(2, 2, list_offsets("gone-1", -1))
                  .topics.at(0)
                  .partitions.at(0)
                  .offset,
              6);
    kafka::CreateTopicsRequest again;
    again.topics = {new_topic("gone", 2)};
    ASSERT_EQ(sim.ask<kafka::CreateTopicsResponse>(19, 4, again).topics.at(0).error_code, 0);
    auto fresh = list_offsets("gone", -1);
    fresh.topics[0].partitions[0].partition_index = 1;
    EXPECT_EQ(sim.ask<kafka::ListOffsetsResponse>(2, 2, fresh).topics.at(0).partitions.at(0).offset,
              0);  // a new, empty topic
}

TEST(BrokerTopics, ADeletionInterruptedByACrashIsFinishedAtStart) {
    Broker broker{BrokerConfig{}};
    io::Outbox out;
    broker.step(Instant::zero(), io::Start{}, out);
    io::IoCompleted listed;
    listed.token = std::get<io::List>(out.effects().at(0)).token;
    listed.names = {"a-0-00000000000000000000.log",
                    "a-0-00000000000000000100.index",
                    "a-0-epochs-1",
                    "a-1-00000000000000000000.log",
                    "a-10-00000000000000000000.log",
                    "a-b-0-00000000000000000000.log",
                    "a.deleting",
                    "producer-ids-4"};
    io::Outbox more;
    broker.step(Instant::zero(), listed, more);
    EXPECT_EQ(broker.topics().count("a"), 0U);    // not recovered
    EXPECT_EQ(broker.topics().count("a-b"), 1U);  // another topic
    // The deletion lists the directory again once its marker is known durable; answer
    // that listing and collect the removals it asks for.
    std::vector<io::Effect> effects(more.effects().begin(), more.effects().end());
    std::set<std::string> removed;
    for (int round = 0; round < 10; ++round) {
        std::vector<io::Effect> next;
        for (const auto& effect : effects) {
            io::IoCompleted done;
            if (const auto* list = std::get_if<io::List>(&effect)) {
                done.token = list->token;
                done.names = listed.names;
            } else if (const auto* remove = std::get_if<io::Remove>(&effect)) {
                done.token = remove->token;
                removed.insert(remove->name);
            } else if (const auto* sync = std::get_if<io::SyncDir>(&effect)) {
                done.token = sync->token;
            } else {
                continue;  // the partitions' own recovery: not answered here
            }
            io::Outbox step_out;
            broker.step(Instant::zero(), done, step_out);
            next.insert(next.end(), step_out.effects().begin(), step_out.effects().end());
        }
        effects = std::move(next);
    }
    const std::set<std::string> want = {
        "a-0-00000000000000000000.log", "a-0-00000000000000000100.index", "a-0-epochs-1",
        "a-1-00000000000000000000.log", "a-10-00000000000000000000.log",  "a.deleting"};
    EXPECT_EQ(removed, want);
}

TEST(BrokerTopics, DescribeConfigsAnswersTopicsAndThisBroker) {
    SimBroker sim;
    kafka::CreateTopicsRequest create;
    create.topics = {new_topic("t", 1)};
    ASSERT_EQ(sim.ask<kafka::CreateTopicsResponse>(19, 4, create).topics.at(0).error_code, 0);
    kafka::DescribeConfigsRequest request;
    request.resources.push_back({2, "t", std::nullopt});
    request.resources.push_back({4, "1", std::vector<std::string>{"num.partitions"}});
    request.resources.push_back({2, "nope", std::nullopt});
    request.resources.push_back({4, "99", std::nullopt});
    request.resources.push_back({3, "x", std::nullopt});
    const auto answer = sim.ask<kafka::DescribeConfigsResponse>(32, 3, request);
    ASSERT_EQ(answer.results.size(), 5U);
    std::map<std::string, std::string> topic;
    for (const auto& config : answer.results[0].configs)
        topic[config.name] = config.value.value_or("");
    EXPECT_EQ(answer.results[0].error_code, 0);
    EXPECT_EQ(topic["cleanup.policy"], "delete");
    EXPECT_EQ(topic["retention.ms"], "-1");
    EXPECT_EQ(topic["retention.bytes"], "-1");
    EXPECT_EQ(topic["segment.bytes"], std::to_string(64ULL << 20));
    EXPECT_EQ(topic["min.insync.replicas"], "1");
    EXPECT_EQ(topic["max.message.bytes"], std::to_string(1 << 20));
    ASSERT_EQ(answer.results[1].configs.size(), 1U);  // only the key asked for
    EXPECT_EQ(answer.results[1].configs[0].value, "3");
    EXPECT_EQ(answer.results[2].error_code, 3);
    EXPECT_EQ(answer.results[3].error_code, 42);
    EXPECT_EQ(answer.results[4].error_code, 42);
}

TEST(BrokerTopics, MetadataCreatesUnknownTopicsWhenAllowed) {
    SimBroker sim;
    kafka::MetadataRequest request;
    request.topics = std::vector<kafka::MetadataRequest::Topic>{{"auto"}, {"bad/name"}};
    const auto first = sim.ask<kafka::MetadataResponse>(3, 4, request);
    ASSERT_EQ(first.topics.size(), 2U);
    EXPECT_EQ(first.topics[1].error_code, 17);  // INVALID_TOPIC_EXCEPTION
    EXPECT_EQ(sim.broker()->topics().count("auto"), 1U);
    const auto later = sim.ask<kafka::MetadataResponse>(3, 4, request);
    EXPECT_EQ(later.topics[0].error_code, 0);
    EXPECT_EQ(later.topics[0].partitions.size(), 3U);  // the default partitions
    request.topics = std::vector<kafka::MetadataRequest::Topic>{{"not-asked"}};
    request.allow_auto_topic_creation = false;
    EXPECT_EQ(sim.ask<kafka::MetadataResponse>(3, 4, request).topics.at(0).error_code, 3);
    EXPECT_EQ(sim.broker()->topics().count("not-asked"), 0U);
}

TEST(BrokerTopics, AutoCreationCanBeTurnedOff) {
    BrokerConfig config;
    config.auto_create_topics = false;
    Broker broker = started(config);
    kafka::MetadataRequest request;
    request.topics = std::vector<kafka::MetadataRequest::Topic>{{"auto"}};
    const auto answer =
        reply_body<kafka::MetadataResponse>(ask(broker, frame_of({3, 1, 5, "t"}, request)), 5, 1);
    EXPECT_EQ(answer.topics.at(0).error_code, 3);
    EXPECT_TRUE(broker.topics().empty());
}

}  // namespace
}  // namespace samsa::broker

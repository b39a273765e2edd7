// The broker machine on its own: requests in as ClientRequest events, answers
// out as ClientReply (or ClientClose) effects, decoded with net/kafka.
#include "core/broker/broker.h"

#include <gtest/gtest.h>

#include "tests/unit/broker_harness.h"

namespace samsa::broker {
namespace {

using namespace test;  // NOLINT: the harness is this file's vocabulary

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
    EXPECT_TRUE(closes(ask(broker, frame_of({37, 0, 1, "t"}, kafka::CreatePartitionsRequest{}))));
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

// As Kafka: a topic auto-created by Metadata is LEADER_NOT_AVAILABLE with no
// partitions until its logs are ready, then listed in full.
// The Metadata that auto-creates a topic is answered once the topic's logs
// are ready, with its partitions: the client need not ask again.
TEST(BrokerTopics, AMetadataThatAutoCreatesATopicIsAnsweredOnceItIsReady) {
    SimBroker sim;
    kafka::MetadataRequest request;
    request.topics = std::vector<kafka::MetadataRequest::Topic>{{"fresh"}, {"other"}};
    request.allow_auto_topic_creation = true;
    const std::uint64_t sequence = sim.send(3, 8, request);
    EXPECT_EQ(sim.reply_to(sequence), nullptr);  // the logs are being created
    sim.run(Duration::seconds(1));
    ASSERT_NE(sim.reply_to(sequence), nullptr);
    kafka::Reader reader(*sim.reply_to(sequence)->frame);
    EXPECT_EQ(reader.read_int32(), 79);
    const auto first = kafka::MetadataResponse::decode(8, reader);
    ASSERT_TRUE(first.ok());
    ASSERT_EQ(first.value().topics.size(), 2U);
    for (const auto& topic : first.value().topics) {
        EXPECT_EQ(topic.error_code, 0) << topic.name;
        ASSERT_EQ(topic.partitions.size(), 3U) << topic.name;
        for (const auto& partition : topic.partitions) EXPECT_EQ(partition.error_code, 0);
    }
    // Asked again, it exists: answered at once, the same.
    const auto second = sim.ask<kafka::MetadataResponse>(3, 8, request);
    ASSERT_EQ(second.topics.size(), 2U);
    EXPECT_EQ(second.topics[0].partitions.size(), 3U);
}

// Without auto-creation an unknown topic is answered at once as unknown.
TEST(BrokerTopics, AMetadataForAnUnknownTopicWithoutAutoCreationIsAnsweredAtOnce) {
    SimBroker sim;
    kafka::MetadataRequest request;
    request.topics = std::vector<kafka::MetadataRequest::Topic>{{"fresh"}};
    request.allow_auto_topic_creation = false;
    const auto answer = sim.ask<kafka::MetadataResponse>(3, 8, request);
    ASSERT_EQ(answer.topics.size(), 1U);
    EXPECT_EQ(answer.topics[0].error_code, 3);  // UNKNOWN_TOPIC_OR_PARTITION
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

// Several batches for one partition in one Produce go to the disk together,
// and each is acknowledged with its own offsets.
TEST(BrokerData, APartitionsBatchesInOneProduceShareOneFlush) {
    SimBroker sim;
    kafka::CreateTopicsRequest create;
    create.topics = {new_topic("t", 1)};
    ASSERT_EQ(sim.ask<kafka::CreateTopicsResponse>(19, 4, create).topics.at(0).error_code, 0);
    ASSERT_EQ(sim.ask<kafka::ProduceResponse>(0, 7, produce("t", 0, records(0, 2)))
                  .responses.at(0)
                  .partition_responses.at(0)
                  .error_code,
              0);
    const log::PartitionLog* log = sim.broker()->partition_log("t", 0);
    ASSERT_NE(log, nullptr);
    const std::uint64_t before = log->flushes_issued();
    io::Bytes three = records(1, 3);
    for (int i = 2; i <= 3; ++i) io::append(three, records(i, 3));
    const auto answer = sim.ask<kafka::ProduceResponse>(0, 7, produce("t", 0, std::move(three)));
    const auto& part = answer.responses.at(0).partition_responses.at(0);
    EXPECT_EQ(part.error_code, 0);
    EXPECT_EQ(part.base_offset, 2);
    EXPECT_EQ(log->flushes_issued(), before + 1) << "three batches, one write and fsync";
    EXPECT_EQ(log->log_end(), Offset(11));
    EXPECT_EQ(log->readable_end(), Offset(11));
}

// All partitions share one cache budget: past it the oldest batches go, and
// fetches of them are served from disk, whole and in order.
TEST(BrokerData, PartitionsShareOneCacheBudgetAndEvictedBatchesComeFromDisk) {
    const std::uint64_t batch_bytes = records(0, 3).size();  // all alike in size
    const std::uint64_t budget = 4 * batch_bytes;
    SimBroker sim([&](BrokerConfig& config) { config.cache_bytes_max = budget; });
    kafka::CreateTopicsRequest create;
    create.topics = {new_topic("a", 1), new_topic("b", 1)};
    const auto created = sim.ask<kafka::CreateTopicsResponse>(19, 4, create);
    ASSERT_EQ(created.topics.at(0).error_code, 0);
    ASSERT_EQ(created.topics.at(1).error_code, 0);
    for (int i = 0; i < 10; ++i) {
        for (const char* topic : {"a", "b"}) {
            const auto answer =
                sim.ask<kafka::ProduceResponse>(0, 7, produce(topic, 0, records(i, 3)));
            ASSERT_EQ(answer.responses.at(0).partition_responses.at(0).error_code, 0);
            EXPECT_LE(sim.broker()->cached_bytes(), budget);
        }
    }
    EXPECT_GE(sim.broker()->cached_bytes(), budget - batch_bytes);  // it is used
    for (const char* topic : {"a", "b"}) {
        std::int64_t next = 0;
        while (next < 30) {
            const auto fetched = sim.ask<kafka::FetchResponse>(1, 11, fetch(topic, 0, next));
            const auto& part = fetched.responses.at(0).partitions.at(0);
            ASSERT_EQ(part.error_code, 0);
            auto spans = log::split_batches(part.records.value(), SIZE_MAX);
            ASSERT_TRUE(spans.ok());
            ASSERT_FALSE(spans.value().empty());
            for (const auto& span : spans.value()) {
                EXPECT_EQ(span.header.base_offset, Offset(next));
                next += 3;
            }
        }
        EXPECT_EQ(next, 30);
    }
}

// A Fetch answers whole batches within partition_max_bytes; only a first
// batch larger than the limit comes back over it, alone (as Kafka does).
TEST(BrokerData, FetchKeepsToPartitionMaxBytesButAlwaysGivesOneBatch) {
    SimBroker sim;
    kafka::CreateTopicsRequest create;
    create.topics = {new_topic("t", 1)};
    ASSERT_EQ(sim.ask<kafka::CreateTopicsResponse>(19, 4, create).topics.at(0).error_code, 0);
    for (int i = 0; i < 6; ++i) {
        ASSERT_EQ(sim.ask<kafka::ProduceResponse>(0, 7, produce("t", 0, records(i, 3)))
                      .responses.at(0)
                      .partition_responses.at(0)
                      .error_code,
                  0);
    }
    const auto batch = static_cast<std::int32_t>(records(0, 3).size());  // all alike in size
    const auto fetched_with = [&](std::int32_t limit) {
        auto request = fetch("t", 0, 0);
        request.topics.at(0).partitions.at(0).partition_max_bytes = limit;
        return sim.ask<kafka::FetchResponse>(1, 11, request)
            .responses.at(0)
            .partitions.at(0)
            .records.value()
            .size();
    };
    for (const bool restarted : {false, true}) {  // from the cache, then from disk
        SCOPED_TRACE(restarted ? "from disk" : "from the cache");
        EXPECT_EQ(fetched_with(3 * batch), 3U * batch);
        EXPECT_EQ(fetched_with(3 * batch - 1), 2U * batch);
        EXPECT_EQ(fetched_with(batch + 1), 1U * batch);
        EXPECT_EQ(fetched_with(1), 1U * batch);  // over the limit, but never nothing
        sim.restart();
    }
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

}  // namespace
}  // namespace samsa::broker

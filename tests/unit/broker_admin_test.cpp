// The broker's admin and group paths: idempotent producers, topic deletion,
// configs, auto-creation and consumer-group offsets, on the simulator.
#include <gtest/gtest.h>

#include <set>

#include "core/broker/broker.h"
#include "core/group/records.h"
#include "tests/unit/broker_harness.h"

namespace samsa::broker {
namespace {

using namespace test;  // NOLINT: the harness is this file's vocabulary

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

TEST(BrokerGroups, OffsetsSurviveRestartsAndTheirTopicIsCompacted) {
    SimBroker sim([](BrokerConfig& config) {
        config.offsets_log.segment_bytes_max = 16 << 10;
        config.offsets_compact_bytes = 32 << 10;
    });
    kafka::FindCoordinatorRequest find;
    find.key = "g";
    const auto coordinator = sim.ask<kafka::FindCoordinatorResponse>(10, 2, find);
    EXPECT_EQ(coordinator.error_code, 0);
    EXPECT_EQ(coordinator.node_id, 1);
    const auto commit = [&](std::int64_t offset) {
        kafka::OffsetCommitRequest request;  // a consumer outside any group (assign + commit)
        request.group_id = "g";
        request.generation_id = -1;
        request.group_instance_id = std::nullopt;
        auto& topic = request.topics.emplace_back();
        topic.name = "t";
        topic.partitions.push_back({0, offset, -1, std::string("meta")});
        topic.partitions.push_back({1, offset * 2, -1, std::nullopt});
        return sim.ask<kafka::OffsetCommitResponse>(8, 7, request)
            .topics.at(0)
            .partitions.at(0)
            .error_code;
    };
    const auto fetched = [&](std::int32_t partition) {
        kafka::OffsetFetchRequest request;
        request.group_id = "g";
        request.topics = std::vector<kafka::OffsetFetchRequest::Topic>{{"t", {partition}}};
        return sim.ask<kafka::OffsetFetchResponse>(9, 5, request)
            .topics.at(0)
            .partitions.at(0)
            .committed_offset;
    };
    for (std::int64_t i = 1; i <= 1500; ++i) ASSERT_EQ(commit(i), 0) << i;
    EXPECT_EQ(fetched(0), 1500);
    EXPECT_EQ(fetched(1), 3000);
    // Compaction dropped the old segments of the group's partition.
    const std::int32_t partition = group::java_string_hash_partition("g", 8);
    auto earliest = list_offsets(kOffsetsTopic, -2);
    earliest.topics[0].partitions[0].partition_index = partition;
    const auto start = [&] {
        return sim.ask<kafka::ListOffsetsResponse>(2, 2, earliest)
            .topics.at(0)
            .partitions.at(0)
            .offset;
    };
    EXPECT_GT(start(), 1000);
    sim.restart();  // replayed from what compaction left
    EXPECT_EQ(fetched(0), 1500);
    EXPECT_EQ(fetched(1), 3000);
    EXPECT_EQ(commit(1501), 0);
    EXPECT_EQ(fetched(0), 1501);
}

}  // namespace
}  // namespace samsa::broker

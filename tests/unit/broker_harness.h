// Shared by the broker unit tests: request framing, a broker started on an
// empty directory, and SimBroker - the broker on the simulator.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/broker/broker.h"
#include "core/log/batch.h"
#include "core/log/batch_builder.h"
#include "net/kafka/api.h"
#include "sim/fault_plan.h"
#include "sim/world.h"

namespace samsa::broker::test {

inline io::Bytes frame_of(const kafka::RequestHeader& header, const kafka::Request& request) {
    io::Bytes frame = kafka::encode_request_frame(header, request);
    frame.erase(frame.begin(), frame.begin() + 4);  // the listener strips the size
    return frame;
}

// Steps the broker with one request and returns what it pushed.
inline std::vector<io::Effect> ask(Broker& broker, io::Bytes frame, std::uint64_t sequence = 0) {
    io::Outbox out;
    broker.step(Instant::zero(), io::ClientRequest{ClientId(9), sequence, std::move(frame)}, out);
    return std::vector<io::Effect>(out.effects().begin(), out.effects().end());
}

// The single reply's body decoded as Body at `version`, after checking the correlation id.
template <class Body>
inline Body reply_body(const std::vector<io::Effect>& effects, std::int32_t correlation_id,
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
inline Broker started(BrokerConfig config = {}) {
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

inline bool closes(const std::vector<io::Effect>& effects) {
    return effects.size() == 1 && std::holds_alternative<io::ClientClose>(effects[0]);
}

// The broker on the simulator: requests go in with deliver_client(), replies
// come out through the sink; the disk is the simulated one.
class SimBroker {
public:
    explicit SimBroker(std::function<void(BrokerConfig&)> configure = {})
        : world_(1, 1, sim::FaultPlan::none()) {
        world_.set_factory(kNode, sim::factory_of<Broker>([configure](NodeId, Prng) {
                               BrokerConfig config;
                               config.default_partitions = 3;
                               if (configure) configure(config);
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

inline kafka::CreateTopicsRequest::Topic new_topic(std::string name, std::int32_t partitions,
                                                   std::int16_t replication = 1) {
    kafka::CreateTopicsRequest::Topic topic;
    topic.name = std::move(name);
    topic.num_partitions = partitions;
    topic.replication_factor = replication;
    return topic;
}

// Batch i: `count` records "r<i>-<n>" with timestamps 5000 + 10 * i.
inline io::Bytes records(int i, int count) {
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

inline kafka::ProduceRequest produce(const std::string& topic, std::int32_t partition,
                                     io::Bytes data, std::int16_t acks = -1) {
    kafka::ProduceRequest request;
    request.acks = acks;
    request.timeout_ms = 1000;
    auto& t = request.topic_data.emplace_back();
    t.name = topic;
    t.partition_data.push_back({partition, std::move(data)});
    return request;
}

inline kafka::FetchRequest fetch(const std::string& topic, std::int32_t partition,
                                 std::int64_t from) {
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

inline kafka::ListOffsetsRequest list_offsets(const std::string& topic, std::int64_t timestamp) {
    kafka::ListOffsetsRequest request;
    auto& t = request.topics.emplace_back();
    t.name = topic;
    auto& p = t.partitions.emplace_back();
    p.partition_index = 0;
    p.timestamp = timestamp;
    return request;
}

inline kafka::FetchResponse decode_fetch(const io::ClientReply& reply, std::int16_t version) {
    kafka::Reader reader(*reply.frame);
    reader.read_int32();
    auto body = kafka::FetchResponse::decode(version, reader);
    EXPECT_TRUE(body.ok());
    return body.ok() ? std::move(body).value() : kafka::FetchResponse{};
}

// What an idempotent (not transactional) producer sends: a null transactional id.
inline kafka::InitProducerIdRequest init_producer() {
    kafka::InitProducerIdRequest request;
    request.transactional_id = std::nullopt;
    request.transaction_timeout_ms = 60000;
    return request;
}

// `count` records from an idempotent producer, its first sequence `sequence`.
inline io::Bytes sequenced(std::int64_t producer, std::int16_t epoch, std::int32_t sequence,
                           int count) {
    log::BatchBuilder builder;
    builder.producer(ProducerId(producer), epoch, sequence);
    const std::string value = "v";
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(value.data());
    for (int n = 0; n < count; ++n) {
        builder.add(log::RecordInput{{}, std::span(bytes, value.size()), {}, 1000});
    }
    return builder.build();
}

// Creates `topic` (one partition) and returns a new idempotent producer's id.
inline std::int64_t topic_and_producer(SimBroker& sim, const std::string& topic) {
    kafka::CreateTopicsRequest create;
    create.topics = {new_topic(topic, 1)};
    EXPECT_EQ(sim.ask<kafka::CreateTopicsResponse>(19, 4, create).topics.at(0).error_code, 0);
    return sim.ask<kafka::InitProducerIdResponse>(22, 1, init_producer()).producer_id;
}

}  // namespace samsa::broker::test

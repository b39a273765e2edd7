// The broker machine on its own: requests in as ClientRequest events, answers
// out as ClientReply (or ClientClose) effects, decoded with net/kafka.
#include "core/broker/broker.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/kafka/api.h"

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

bool closes(const std::vector<io::Effect>& effects) {
    return effects.size() == 1 && std::holds_alternative<io::ClientClose>(effects[0]);
}

TEST(Broker, ApiVersionsListsEveryAdvertisedRangeAtEveryVersion) {
    Broker broker(BrokerConfig{});
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
    Broker broker(BrokerConfig{});
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
    Broker broker(config);
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
        EXPECT_TRUE(answer.topics.empty());
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
    Broker broker(BrokerConfig{});
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
    Broker broker(BrokerConfig{});
    EXPECT_TRUE(closes(ask(broker, frame_of({12, 0, 1, "t"}, kafka::HeartbeatRequest{}))));
}

}  // namespace
}  // namespace samsa::broker

#include "core/broker/broker.h"

#include <variant>

#include "net/kafka/api.h"

namespace samsa::broker {

namespace {

constexpr std::int16_t kUnknownTopicOrPartition = 3;

// A response frame without its size prefix (the listener writes that).
template <class Body>
io::Bytes response(std::int32_t correlation_id, std::int16_t version, const Body& body) {
    io::Bytes frame = kafka::encode_response_frame(correlation_id, version, body);
    frame.erase(frame.begin(), frame.begin() + 4);
    return frame;
}

kafka::MetadataResponse metadata(const BrokerConfig& config,
                                 const kafka::MetadataRequest& request) {
    kafka::MetadataResponse answer;
    answer.brokers.push_back(kafka::MetadataResponse::Broker{
        config.node_id.value(), config.advertised_host, config.advertised_port, std::nullopt});
    answer.cluster_id = config.cluster_id;
    answer.controller_id = config.node_id.value();  // a live broker present in brokers[]
    if (request.topics) {
        for (const auto& wanted : *request.topics) {
            kafka::MetadataResponse::Topic topic;
            topic.error_code = kUnknownTopicOrPartition;
            topic.name = wanted.name;
            answer.topics.push_back(std::move(topic));
        }
    }
    return answer;
}

}  // namespace

void Broker::step(Instant, const io::Event& event, io::Outbox& out) {
    if (const auto* request = std::get_if<io::ClientRequest>(&event)) on_request(*request, out);
    // ClientGone: nothing is kept per connection yet.
}

void Broker::close(ClientId client, io::Outbox& out) {
    ++stats_.closed_connections;
    out.push(io::ClientClose{client});
}

void Broker::on_request(const io::ClientRequest& request, io::Outbox& out) {
    ++stats_.requests;
    auto parsed = kafka::parse_request(request.frame);
    if (!parsed.ok()) {
        const auto& error = parsed.error();
        if (error.kind == kafka::RequestErrorKind::unsupported_version &&
            error.header.api_key == kafka::ApiVersionsRequest::api_key) {
            io::Bytes frame = kafka::encode_api_versions_fallback(error.header.correlation_id);
            frame.erase(frame.begin(), frame.begin() + 4);
            ++stats_.answered;
            out.push(io::ClientReply{request.client, request.sequence, std::move(frame)});
            return;
        }
        return close(request.client, out);
    }
    const auto& header = parsed.value().header;
    const auto& body = parsed.value().body;
    std::optional<io::Bytes> frame;
    if (std::holds_alternative<kafka::ApiVersionsRequest>(body)) {
        frame = response(header.correlation_id, header.api_version,
                         kafka::api_versions_response(kafka::error_none));
    } else if (const auto* wanted = std::get_if<kafka::MetadataRequest>(&body)) {
        frame = response(header.correlation_id, header.api_version, metadata(config_, *wanted));
    }
    if (!frame) return close(request.client, out);  // an API this broker does not serve yet
    ++stats_.answered;
    out.push(io::ClientReply{request.client, request.sequence, std::move(frame)});
}

}  // namespace samsa::broker

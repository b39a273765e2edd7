// The broker: the pure state machine behind samsa's Kafka protocol port.
//
// Theory of operation. Clients reach the broker through the seam's client
// events (core/io/seam.h): each ClientRequest carries one request frame, and
// the broker answers each with exactly one ClientReply, or closes the
// connection when the bytes cannot be a request it may answer. Decoding and
// encoding are net/kafka's; this file decides what to answer.
//
// Served so far: ApiVersions (every version, including the error-35 answer in
// v0 layout to a version samsa does not serve, which librdkafka sends first)
// and Metadata (this broker as the cluster and its controller; no topics yet:
// a named topic is UNKNOWN_TOPIC_OR_PARTITION). Every other API in the
// advertised table decodes but is answered by closing the connection, as
// Kafka does for a request it cannot handle - clients then see a broker that
// does not serve them, never a wrong answer.
//
// Bad input: a frame too short for a request header, an unknown API key, an
// unsupported version (other than ApiVersions) or a body that does not decode
// at its version closes that one connection. Other clients are unaffected.
#pragma once

#include <cstdint>
#include <string>

#include "core/base/ids.h"
#include "core/base/time.h"
#include "core/io/seam.h"

namespace samsa::broker {

struct BrokerConfig {
    NodeId node_id{1};
    std::string advertised_host = "127.0.0.1";
    std::int32_t advertised_port = 9092;
    std::string cluster_id = "samsa";
};

struct BrokerStats {
    std::uint64_t requests = 0;
    std::uint64_t answered = 0;
    std::uint64_t closed_connections = 0;  // requests that closed their connection
};

class Broker {
public:
    explicit Broker(BrokerConfig config) : config_(std::move(config)) {}

    void step(Instant now, const io::Event& event, io::Outbox& out);

    [[nodiscard]] const BrokerStats& stats() const noexcept { return stats_; }
    [[nodiscard]] const BrokerConfig& config() const noexcept { return config_; }

private:
    void on_request(const io::ClientRequest& request, io::Outbox& out);
    void close(ClientId client, io::Outbox& out);

    BrokerConfig config_;
    BrokerStats stats_;
};

}  // namespace samsa::broker

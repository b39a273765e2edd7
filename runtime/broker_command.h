// `samsa broker`: one broker process - the Broker machine (core/broker) on a
// runtime::Driver, with the Kafka listener in front of it.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace samsa::runtime {

struct BrokerCommand {
    std::int32_t node_id = 1;
    std::string listen = "127.0.0.1:9092";  // host:port; port 0 picks a free one
    std::string advertised_host;            // empty: the listen host
    std::string data_dir = "./data";
};

// Runs until SIGTERM or SIGINT, then closes every connection and returns 0;
// 1 (with a message on `err`) when it cannot start. Prints one line
// "samsa broker <id> listening on <host>:<port>" once it serves.
int run_broker_command(const BrokerCommand& command, std::ostream& out, std::ostream& err);

}  // namespace samsa::runtime

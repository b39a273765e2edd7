// `samsa broker`: one broker process - the Broker machine (core/broker) on a
// runtime::Driver, with the Kafka listener in front of it. Its settings come
// from built-in defaults, a config file and flags (runtime/broker_config.h).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "core/broker/broker.h"

namespace CLI {
class App;
}  // namespace CLI

namespace samsa::runtime {

struct BrokerCommand {
    std::string listen = "127.0.0.1:9092";  // host:port; port 0 picks a free one
    std::string advertised_host;            // empty: the listen host
    std::string data_dir = "./data";
    // The machine's settings: node id, cluster id, topic defaults, the logs'
    // limits. Its advertised host and port are set at start from the above.
    broker::BrokerConfig config;
};

// What `samsa broker` was given on its command line: a config file (empty:
// none) and its flags as typed, checked later by runtime/broker_config.h.
struct BrokerFlag {
    std::string key;  // as in the config file: "num_partitions"
    std::string text;
};
struct BrokerArguments {
    std::string config_file;
    std::vector<BrokerFlag> flags;
};

// Adds the `broker` subcommand to `app`: --config and one flag per setting,
// collected into `arguments` when parsed.
CLI::App* add_broker_command(CLI::App& app, BrokerArguments& arguments);

// Runs until SIGTERM or SIGINT, then closes every connection and returns 0;
// 1 (with a message on `err`) when it cannot start. Prints one line
// "samsa broker <id> listening on <host>:<port>" once it serves.
int run_broker_command(const BrokerCommand& command, std::ostream& out, std::ostream& err);
// The same from the command line: a bad config file or flag prints one line
// on `err` and returns 1 before listening.
int run_broker_command(const BrokerArguments& arguments, std::ostream& out, std::ostream& err);

}  // namespace samsa::runtime

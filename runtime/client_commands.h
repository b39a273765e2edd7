// samsa's own Kafka-protocol command-line clients: `samsa topic create | list
// | describe | delete`, `samsa group list | describe | delete`, `samsa
// produce` and `samsa consume`, each speaking to
// any Kafka-compatible broker (`--bootstrap HOST:PORT`, default
// 127.0.0.1:9092) through runtime/kafka_client.
//
// produce: one record per stdin line (without its '\n'). A line that holds
// the key separator (default TAB; `--key-separator ''` turns keys off) is
// KEY<sep>VALUE, split at the first separator; any other line is an unkeyed
// value. Keyed records go to the Java client's partition
// (toPositive(murmur2(key)) % partitions, net/kafka/murmur2.h); unkeyed ones
// stick to one partition per request and move round-robin to the next;
// `--partition P` sends everything to P. Lines are gathered into one
// uncompressed RecordBatch v2 per partition until request_record_bytes_max
// bytes or request_records_max lines are pending, or stdin has nothing more
// ready, then sent to each leader; every partition's error code is checked.
//
// consume: prints one record value per line (`--print-offset` prefixes
// "PARTITION:OFFSET<TAB>", `--print-key` prefixes "KEY<TAB>"; null keys and
// values print as nothing). It starts at the end of each partition unless
// `--from-beginning` or `--offset N`, and stops when `--max-messages` records
// are printed, or - the rule, as kcat -e - once every partition's position
// has reached the end offset it had when consume started, and no record has
// arrived for `--timeout-ms` since the later of that moment and the last
// record printed.
//
// consume --group G: a member of consumer group G (runtime/group_commands.h)
// that reads only the partitions the group assigns it, each from the
// group's committed offset (none committed: the log start with
// `--from-beginning`, else the end). Between fetch rounds (Fetch waits at
// most 500 ms) it heartbeats every third of `--session-timeout-ms` and
// commits the positions it printed every second; on a rebalance it commits,
// rejoins and carries on with its new partitions. The stop rule is the one
// above, with "when consume started" read as "when the partitions were last
// assigned" (each rebalance takes the end offsets again and restarts the
// idle clock); SIGINT and SIGTERM stop it too. At exit it commits and sends
// LeaveGroup. `--offset` and `--partition` do not combine with `--group`.
//
// group list | describe G | delete G: see runtime/group_commands.h.
//
// Every failure prints one "samsa <command>: ..." line on `err` and exits 1.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace samsa::runtime {

struct TopicCreateOptions {
    std::string name;
    std::int32_t partitions = 1;
    std::int16_t replication_factor = 1;
    std::vector<std::string> configs;  // "key=value", sent with CreateTopics
};

struct ProduceOptions {
    std::string topic;
    std::string acks = "all";     // 0, 1 or all
    std::int32_t partition = -1;  // -1: partition by key, or round-robin
    std::string key_separator = "\t";
};

struct ConsumeOptions {
    std::string topic;
    bool from_beginning = false;
    std::int64_t offset = -1;       // -1: not given
    std::int32_t partition = -1;    // -1: every partition
    std::int64_t max_messages = 0;  // 0: no limit
    std::int64_t timeout_ms = 1000;
    bool print_key = false;
    bool print_offset = false;
    std::string group;  // empty: no group
    std::int32_t session_timeout_ms = 10000;
};

struct ClientCommands {
    std::string bootstrap = "127.0.0.1:9092";
    TopicCreateOptions create;
    std::string topic_name;  // describe, delete
    ProduceOptions produce;
    ConsumeOptions consume;
    std::string group_name;  // group describe, delete

    // Set by add_client_commands: which subcommand was parsed.
    CLI::App* create_app = nullptr;
    CLI::App* list_app = nullptr;
    CLI::App* describe_app = nullptr;
    CLI::App* delete_app = nullptr;
    CLI::App* produce_app = nullptr;
    CLI::App* consume_app = nullptr;
    CLI::App* group_list_app = nullptr;
    CLI::App* group_describe_app = nullptr;
    CLI::App* group_delete_app = nullptr;
};

// Adds `topic` (with create, list, describe, delete), `group` (with list,
// describe, delete), `produce` and `consume` to `app`, parsing into `commands`, which must outlive
// the parse.
void add_client_commands(CLI::App& app, ClientCommands& commands);

// Runs the client subcommand that was parsed and returns its exit status, or
// nullopt when none of them was. `produce` reads standard input (fd 0).
std::optional<int> run_client_commands(const ClientCommands& commands, std::ostream& out,
                                       std::ostream& err);

}  // namespace samsa::runtime

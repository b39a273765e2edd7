// Tests of `samsa broker`'s settings: the TOML-subset reader (every key, each
// kind of error with its line), the flags' checks, the merge (flags over the
// file over the defaults) and docs/samsa.example.toml, which must list every
// key with its default.
#include "runtime/broker_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "tests/unit/temp_dir.h"

namespace samsa::runtime {
namespace {

BrokerFileConfig parsed(std::string_view text) {
    auto result = parse_broker_config(text, "samsa.toml");
    EXPECT_TRUE(result.ok()) << result.error();
    return result.ok() ? result.value() : BrokerFileConfig{};
}

std::string error_of(std::string_view text) {
    auto result = parse_broker_config(text, "samsa.toml");
    EXPECT_FALSE(result.ok()) << "accepted: " << text;
    return result.ok() ? std::string() : result.error();
}

std::string flag_error(std::string_view key, std::string_view text) {
    BrokerFileConfig flags;
    const auto status = set_broker_flag(flags, key, text);
    EXPECT_FALSE(status.ok()) << key << " accepted " << text;
    EXPECT_EQ(flags, BrokerFileConfig{}) << "a rejected flag must not be stored";
    return status.ok() ? std::string() : status.error();
}

constexpr std::string_view kEveryKey = R"(# every key, none at its default
node_id = 7
listen = "0.0.0.0:19092"
advertised_host = "kafka.example"
data_dir = "/var/lib/samsa"
cluster_id = "prod-1"
num_partitions = 3
default_replication_factor = 1
auto_create_topics = false
log_segment_bytes = 1_048_576
log_segment_ms = 3600000
log_retention_bytes = 10_000_000
log_retention_ms = 86400000
message_max_bytes = 2048
log_cache_bytes = 268_435_456
)";

TEST(BrokerConfig, ParsesEveryKey) {
    const auto file = parsed(kEveryKey);
    EXPECT_EQ(file.node_id, 7);
    EXPECT_EQ(file.listen, "0.0.0.0:19092");
    EXPECT_EQ(file.advertised_host, "kafka.example");
    EXPECT_EQ(file.data_dir, "/var/lib/samsa");
    EXPECT_EQ(file.cluster_id, "prod-1");
    EXPECT_EQ(file.num_partitions, 3);
    EXPECT_EQ(file.default_replication_factor, 1);
    EXPECT_EQ(file.auto_create_topics, false);
    EXPECT_EQ(file.log_segment_bytes, 1 << 20);
    EXPECT_EQ(file.log_segment_ms, 3600000);
    EXPECT_EQ(file.log_retention_bytes, 10000000);
    EXPECT_EQ(file.log_retention_ms, 86400000);
    EXPECT_EQ(file.message_max_bytes, 2048);
    EXPECT_EQ(file.log_cache_bytes, 256 << 20);

    const auto command = merge_broker_settings(file, {});
    EXPECT_EQ(command.config.node_id, NodeId(7));
    EXPECT_EQ(command.listen, "0.0.0.0:19092");
    EXPECT_EQ(command.advertised_host, "kafka.example");
    EXPECT_EQ(command.data_dir, "/var/lib/samsa");
    EXPECT_EQ(command.config.cluster_id, "prod-1");
    EXPECT_EQ(command.config.default_partitions, 3);
    EXPECT_EQ(command.config.default_replication_factor, 1);
    EXPECT_FALSE(command.config.auto_create_topics);
    EXPECT_EQ(command.config.log.segment_bytes_max, 1U << 20);
    EXPECT_EQ(command.config.log.segment_ms, 3600000);
    EXPECT_EQ(command.config.log.retention_bytes_max, 10000000U);
    EXPECT_EQ(command.config.log.retention_ms, 86400000);
    EXPECT_EQ(command.config.log.batch_bytes_max, 2048U);
    EXPECT_EQ(command.config.cache_bytes_max, 256U << 20);
    // Settings the file does not cover keep the machine's defaults.
    EXPECT_EQ(command.config.partitions_max, broker::BrokerConfig{}.partitions_max);
    EXPECT_EQ(command.config.log.index_interval_bytes, log::LogConfig{}.index_interval_bytes);
    // And back: the file's values are exactly the merged command's.
    EXPECT_EQ(broker_settings_of(command), file);
}

TEST(BrokerConfig, EmptyFileAndNoFlagsGiveTheDefaults) {
    EXPECT_EQ(parsed(""), BrokerFileConfig{});
    EXPECT_EQ(parsed("\n# only a comment\n   \n\t# another\n[broker]\n"), BrokerFileConfig{});
    const auto command = merge_broker_settings({}, {});
    const BrokerCommand defaults;
    EXPECT_EQ(command.listen, "127.0.0.1:9092");
    EXPECT_EQ(command.advertised_host, "");
    EXPECT_EQ(command.data_dir, "./data");
    EXPECT_EQ(command.config.node_id, NodeId(1));
    EXPECT_EQ(command.config.default_partitions, 1);
    EXPECT_TRUE(command.config.auto_create_topics);
    EXPECT_EQ(command.config.log.retention_bytes_max, 0U);
    EXPECT_EQ(command.config.log.retention_ms, 0);
    EXPECT_EQ(broker_settings_of(command), broker_settings_of(defaults));
}

TEST(BrokerConfig, FlagsOverrideTheFileWhichOverridesTheDefaults) {
    const auto file = parsed("num_partitions = 3\nlisten = \"127.0.0.1:0\"\ncluster_id = \"a\"\n");
    BrokerFileConfig flags;
    ASSERT_TRUE(set_broker_flag(flags, "num_partitions", "5").ok());
    ASSERT_TRUE(set_broker_flag(flags, "auto_create_topics", "false").ok());
    ASSERT_TRUE(set_broker_flag(flags, "data_dir", "/tmp/x y").ok());
    const auto command = merge_broker_settings(file, flags);
    EXPECT_EQ(command.config.default_partitions, 5);  // flag over file
    EXPECT_FALSE(command.config.auto_create_topics);  // flag over default
    EXPECT_EQ(command.data_dir, "/tmp/x y");          // flag over default, taken as typed
    EXPECT_EQ(command.listen, "127.0.0.1:0");         // file over default
    EXPECT_EQ(command.config.cluster_id, "a");        // file over default
    EXPECT_EQ(command.config.node_id, NodeId(1));     // default
    EXPECT_EQ(setting_text(flags, "num_partitions"), "5");
    EXPECT_EQ(setting_text(flags, "auto_create_topics"), "false");
    EXPECT_EQ(setting_text(flags, "node_id"), "");
}

TEST(BrokerConfig, ResolveLoadsTheFileThenAppliesFlags) {
    testing::TempDir dir("samsa-broker-config");
    const std::string path = dir.path() + "/samsa.toml";
    std::ofstream(path) << "[broker]\nnode_id = 4\nnum_partitions = 2\n";
    auto command = resolve_broker_command({path, {{"node_id", "9"}}});
    ASSERT_TRUE(command.ok()) << command.error();
    EXPECT_EQ(command.value().config.node_id, NodeId(9));
    EXPECT_EQ(command.value().config.default_partitions, 2);

    std::ofstream(path) << "node_id = 4\nnum_partitions = 0\n";
    command = resolve_broker_command({path, {}});
    ASSERT_FALSE(command.ok());
    EXPECT_EQ(command.error(), path + ":2: num_partitions must be from 1 to 10000, not 0");

    command = resolve_broker_command({dir.path() + "/missing.toml", {}});
    ASSERT_FALSE(command.ok());
    EXPECT_NE(command.error().find("cannot read config file " + dir.path() + "/missing.toml"),
              std::string::npos)
        << command.error();
    command = resolve_broker_command({dir.path(), {}});  // a directory
    EXPECT_FALSE(command.ok());
    command = resolve_broker_command({"", {{"message_max_bytes", "10"}}});
    ASSERT_FALSE(command.ok());
    EXPECT_EQ(command.error(),
              "--message-max-bytes must be from 1024 (1 KiB) to 67108864 (64 MiB), not 10");
}

TEST(BrokerConfig, MinusOneRetentionMeansNoLimit) {
    const auto file = parsed("log_retention_bytes = -1\nlog_retention_ms = -1\n");
    EXPECT_EQ(file.log_retention_bytes, -1);
    EXPECT_EQ(file.log_retention_ms, -1);
    BrokerFileConfig flags;
    ASSERT_TRUE(set_broker_flag(flags, "log_retention_ms", "5000").ok());
    auto command = merge_broker_settings(file, flags);
    EXPECT_EQ(command.config.log.retention_bytes_max, 0U);
    EXPECT_EQ(command.config.log.retention_ms, 5000);
    // A flag's -1 undoes a file's limit.
    ASSERT_TRUE(set_broker_flag(flags, "log_retention_ms", "-1").ok());
    command = merge_broker_settings(parsed("log_retention_ms = 100\n"), flags);
    EXPECT_EQ(command.config.log.retention_ms, 0);
    // 0 would mean "keep nothing" in Kafka and "no limit" in the log: neither is guessed.
    EXPECT_EQ(error_of("log_retention_bytes = 0"),
              "samsa.toml:1: log_retention_bytes must be -1 (no limit) or at least 1, not 0");
    EXPECT_EQ(error_of("log_retention_ms = -2"),
              "samsa.toml:1: log_retention_ms must be -1 (no limit) or at least 1, not -2");
    // Only the retention keys take -1.
    EXPECT_EQ(error_of("log_segment_ms = -1"),
              "samsa.toml:1: log_segment_ms must be at least 0, not -1");
}

TEST(BrokerConfig, CommentsEscapesAndSpacing) {
    const auto file = parsed(
        "  # indented comment\r\n"
        "cluster_id = \"a \\\"quoted\\\" \\\\ tab\\there\\nnew # not a comment\" # comment\r\n"
        "data_dir='C:\\samsa\\data'   # literal: no escapes\n"
        "\tadvertised_host\t=\t\"\"\n"
        "node_id=+42\n"
        "num_partitions = 1_2 #twelve");
    EXPECT_EQ(file.cluster_id, "a \"quoted\" \\ tab\there\nnew # not a comment");
    EXPECT_EQ(file.data_dir, "C:\\samsa\\data");
    EXPECT_EQ(file.advertised_host, "");
    EXPECT_EQ(file.node_id, 42);
    EXPECT_EQ(file.num_partitions, 12);
}

TEST(BrokerConfig, BrokerTable) {
    EXPECT_EQ(parsed("[broker]\nnode_id = 2\n").node_id, 2);
    EXPECT_EQ(parsed("node_id = 2\n[ broker ]  # the table\nnum_partitions = 4\n").num_partitions,
              4);
    EXPECT_EQ(error_of("[broker]\nnode_id = 1\n[broker]\n"),
              "samsa.toml:3: the [broker] table appears twice (first on line 1)");
    EXPECT_EQ(error_of("node_id = 1\n\n[log]\nsegment_bytes = 1\n"),
              "samsa.toml:3: unknown table [log]: the only table is [broker]");
    EXPECT_EQ(error_of("[broker.log]\n"),
              "samsa.toml:1: unknown table [broker.log]: the only table is [broker]");
    EXPECT_EQ(error_of("[[broker]]\n"),
              "samsa.toml:1: syntax error: arrays of tables are not supported; the only table is "
              "[broker]");
    EXPECT_EQ(error_of("[broker\n"), "samsa.toml:1: syntax error: no closing ]");
    EXPECT_EQ(error_of("[broker] node_id = 1\n"),
              "samsa.toml:1: syntax error: unexpected 'node_id = 1' after the table header");
}

TEST(BrokerConfig, UnknownKey) {
    const auto error = error_of("node_id = 1\n# fine\nnum_partition = 3\n");
    EXPECT_EQ(error.rfind("samsa.toml:3: unknown key 'num_partition' (the keys are node_id, ", 0),
              0U)
        << error;
    EXPECT_NE(error.find("message_max_bytes, log_cache_bytes)"), std::string::npos) << error;
}

TEST(BrokerConfig, DuplicateKey) {
    EXPECT_EQ(error_of("node_id = 1\nlisten = \"a:1\"\n\nnode_id = 1\n"),
              "samsa.toml:4: duplicate key 'node_id' (first set on line 1)");
    EXPECT_EQ(error_of("node_id = 1\n[broker]\nnode_id = 2\n"),
              "samsa.toml:3: duplicate key 'node_id' (first set on line 1)");
}

TEST(BrokerConfig, WrongType) {
    EXPECT_EQ(error_of("\nnode_id = \"1\"\n"),
              "samsa.toml:2: node_id must be an integer, not a string");
    EXPECT_EQ(error_of("auto_create_topics = 1\n"),
              "samsa.toml:1: auto_create_topics must be a boolean, not an integer");
    EXPECT_EQ(error_of("listen = true\n"), "samsa.toml:1: listen must be a string, not a boolean");
}

TEST(BrokerConfig, OutOfRange) {
    EXPECT_EQ(error_of("num_partitions = 0"),
              "samsa.toml:1: num_partitions must be from 1 to 10000, not 0");
    EXPECT_EQ(error_of("num_partitions = 10001"),
              "samsa.toml:1: num_partitions must be from 1 to 10000, not 10001: the broker's "
              "limit on partitions, all topics together");
    EXPECT_EQ(error_of("node_id = -1"),
              "samsa.toml:1: node_id must be from 0 to 1073741824, not -1");
    EXPECT_EQ(error_of("log_segment_bytes = 65535"),
              "samsa.toml:1: log_segment_bytes must be from 65536 (64 KiB) to 2147483647, not "
              "65535");
    EXPECT_EQ(parsed("log_segment_bytes = 65536").log_segment_bytes, 65536);
    EXPECT_EQ(error_of("message_max_bytes = 67108865"),
              "samsa.toml:1: message_max_bytes must be from 1024 (1 KiB) to 67108864 (64 MiB), "
              "not 67108865");
    EXPECT_EQ(parsed("message_max_bytes = 67108864").message_max_bytes, 64 << 20);
    EXPECT_EQ(error_of("listen = \"localhost\""),
              "samsa.toml:1: listen must be HOST:PORT with a port from 0 to 65535, not "
              "'localhost'");
    EXPECT_EQ(error_of("listen = \"localhost:65536\""),
              "samsa.toml:1: listen must be HOST:PORT with a port from 0 to 65535, not "
              "'localhost:65536'");
    EXPECT_EQ(error_of("cluster_id = \"\""),
              "samsa.toml:1: cluster_id must be a non-empty string, not ''");
    // Larger than any int64: out of range of every setting, reported as unreadable.
    EXPECT_NE(error_of("log_segment_ms = 9223372036854775808").find("samsa.toml:1: syntax error"),
              std::string::npos);
    EXPECT_EQ(parsed("log_segment_ms = 9223372036854775807").log_segment_ms, 9223372036854775807LL);
}

TEST(BrokerConfig, ReplicationFactorMustBeOneAndSaysWhy) {
    const auto error = error_of("default_replication_factor = 3\n");
    EXPECT_EQ(error.rfind("samsa.toml:1: default_replication_factor must be 1, not 3: samsa runs "
                          "a single broker",
                          0),
              0U)
        << error;
    EXPECT_EQ(parsed("default_replication_factor = 1").default_replication_factor, 1);
}

TEST(BrokerConfig, SyntaxErrors) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"node_id 1", "syntax error: expected key = value, not 'node_id 1'"},
        {"= 1", "syntax error: '' is not a key (letters, digits, _ and -; no quotes or dots)"},
        {"\"node_id\" = 1", "syntax error: '\"node_id\"' is not a key"},
        {"broker.node_id = 1", "syntax error: 'broker.node_id' is not a key"},
        {"node_id =", "syntax error in the value of node_id: the value is missing"},
        {"node_id = # none", "syntax error in the value of node_id: the value is missing"},
        {"node_id = 1 2", "syntax error: unexpected '2' after the value of node_id"},
        {"node_id = 01", "syntax error in the value of node_id: cannot read '01'"},
        {"node_id = 1__0", "syntax error in the value of node_id: cannot read '1__0'"},
        {"node_id = _1", "syntax error in the value of node_id: cannot read '_1'"},
        {"node_id = 1_", "syntax error in the value of node_id: cannot read '1_'"},
        {"node_id = 0x10", "syntax error in the value of node_id: cannot read '0x10'"},
        {"node_id = 1.5", "syntax error in the value of node_id: cannot read '1.5'"},
        {"auto_create_topics = True", "syntax error in the value of auto_create_topics"},
        {"listen = 127.0.0.1:9092", "syntax error in the value of listen: cannot read"},
        {"cluster_id = \"abc",
         "syntax error in the value of cluster_id: the string has no closing"},
        {"cluster_id = 'abc", "syntax error in the value of cluster_id: the string has no closing"},
        {"cluster_id = \"a\\q\"", "syntax error in the value of cluster_id: unknown escape \\q"},
        {"cluster_id = \"\\u00e9\"", "\\u escapes are not supported"},
        {"cluster_id = \"\"\"abc\"\"\"", "multi-line strings are not supported"},
        {"cluster_id = \"a\x01\"", "a control character in a string"},
        {"cluster_id = \"a\" \"b\"", "syntax error: unexpected '\"b\"' after the value"},
    };
    for (const auto& [line, expected] : cases) {
        const auto error = error_of("# line 1\n" + std::string(line) + "\n");
        EXPECT_EQ(error.rfind("samsa.toml:2: ", 0), 0U) << line << " -> " << error;
        EXPECT_NE(error.find(expected), std::string::npos) << line << " -> " << error;
    }
}

TEST(BrokerConfig, FlagsAreCheckedLikeTheFile) {
    EXPECT_EQ(flag_error("num_partitions", "abc"),
              "--num-partitions must be an integer, not 'abc'");
    EXPECT_EQ(flag_error("num_partitions", ""), "--num-partitions must be an integer, not ''");
    EXPECT_EQ(flag_error("num_partitions", "0"), "--num-partitions must be from 1 to 10000, not 0");
    EXPECT_EQ(flag_error("auto_create_topics", "yes"),
              "--auto-create-topics must be true or false, not 'yes'");
    EXPECT_EQ(flag_error("default_replication_factor", "2")
                  .rfind("--default-replication-factor must be 1, not 2: ", 0),
              0U);
    EXPECT_EQ(flag_error("listen", "nope"),
              "--listen must be HOST:PORT with a port from 0 to 65535, not 'nope'");
    EXPECT_EQ(flag_error("log_retention_bytes", "0"),
              "--log-retention-bytes must be -1 (no limit) or at least 1, not 0");
    BrokerFileConfig flags;
    ASSERT_TRUE(set_broker_flag(flags, "log_segment_bytes", "1_048_576").ok());
    ASSERT_TRUE(set_broker_flag(flags, "cluster_id", "\"quoted\"").ok());  // taken as typed
    EXPECT_EQ(flags.log_segment_bytes, 1 << 20);
    EXPECT_EQ(flags.cluster_id, "\"quoted\"");
}

TEST(BrokerConfig, EverySettingHasAFlagAndAHelpLine) {
    EXPECT_EQ(flag_of("log_retention_ms"), "--log-retention-ms");
    const auto defaults = broker_settings_of(BrokerCommand{});
    for (const auto& setting : broker_settings()) {
        EXPECT_FALSE(setting.help.empty()) << setting.key;
        if (setting.key == "advertised_host") continue;  // empty: the listen host
        // Every default is a value the setting accepts, given as a flag.
        BrokerFileConfig flags;
        const auto text = setting_text(defaults, setting.key);
        EXPECT_TRUE(set_broker_flag(flags, setting.key, text).ok()) << setting.key << " " << text;
    }
}

// docs/samsa.example.toml sets every key to its default: it parses, sets each
// key, and merging it changes nothing.
TEST(BrokerConfig, ExampleFileListsEveryKeyWithItsDefault) {
    const char* path = std::getenv("SAMSA_EXAMPLE_CONFIG");
    ASSERT_NE(path, nullptr) << "run through meson test (it sets SAMSA_EXAMPLE_CONFIG)";
    const auto loaded = load_broker_config(path);
    ASSERT_TRUE(loaded.ok()) << loaded.error();
    for (const auto& setting : broker_settings()) {
        if (setting.key == "advertised_host") continue;  // "" reads as absent below
        EXPECT_NE(setting_text(loaded.value(), setting.key), "") << setting.key << " is missing";
    }
    EXPECT_EQ(loaded.value().advertised_host, "");
    EXPECT_EQ(loaded.value(), broker_settings_of(BrokerCommand{}));
}

}  // namespace
}  // namespace samsa::runtime

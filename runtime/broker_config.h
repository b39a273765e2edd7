// `samsa broker`'s settings: a TOML config file, flags over it, defaults under both.
//
// Theory of operation. Every setting has one key (Kafka's name where Kafka has
// one, with underscores: num_partitions, log_segment_bytes...) and one flag
// spelled the same with dashes (--num-partitions). A config file and the flags
// each fill a BrokerFileConfig in which every setting is optional, so "was it
// given?" stays known; each value is checked (type, range) as it is read, with
// the file, line and key - or the flag - in the message. Merging starts from
// BrokerCommand's built-in defaults, applies the file's values, then the
// flags': a flag beats the file, the file beats the default.
//
// The file is the TOML subset these settings need: `key = value` lines, `#`
// comments, blank lines, basic strings "..." (escapes \" \\ \n \t \r \b \f),
// literal strings '...', integers (sign and `_` separators allowed, no
// leading zeros, no hex) and true/false. An optional [broker] table header
// may come first; any other table, a key given twice, an unknown key, a value
// of the wrong type or out of range is an error. Kafka's -1 for "unlimited"
// retention is accepted and becomes the log's 0.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "core/base/result.h"
#include "runtime/broker_command.h"

namespace samsa::runtime {

// One value per setting, absent unless the file (or the flags) gave it.
// Integers are kept as written (retention -1 stays -1) within their ranges.
struct BrokerFileConfig {
    std::optional<std::int64_t> node_id;
    std::optional<std::string> listen;           // HOST:PORT
    std::optional<std::string> advertised_host;  // empty: the listen host
    std::optional<std::string> data_dir;
    std::optional<std::string> cluster_id;
    std::optional<std::int64_t> num_partitions;
    std::optional<std::int64_t> default_replication_factor;  // 1 on a single broker
    std::optional<bool> auto_create_topics;
    std::optional<std::int64_t> log_segment_bytes;
    std::optional<std::int64_t> log_segment_ms;       // 0: roll by size only
    std::optional<std::int64_t> log_retention_bytes;  // -1: unlimited
    std::optional<std::int64_t> log_retention_ms;     // -1: unlimited
    std::optional<std::int64_t> message_max_bytes;
    std::optional<std::int64_t> log_cache_bytes;

    bool operator==(const BrokerFileConfig&) const = default;
};

// One setting: its key, the BrokerFileConfig member it fills and what it accepts.
struct BrokerSetting {
    using Field = std::variant<std::optional<std::string> BrokerFileConfig::*,
                               std::optional<std::int64_t> BrokerFileConfig::*,
                               std::optional<bool> BrokerFileConfig::*>;
    std::string_view key;  // in the file; the flag is flag_of(key)
    Field field;
    std::string_view help;  // one line, for --help
    std::int64_t min = 0;   // integers: the range accepted
    std::int64_t max = 0;
    bool unlimited = false;                       // integers: -1 accepted too, meaning no limit
    std::string_view why = {};                    // integers: said after a value out of range
    bool (*accepts)(std::string_view) = nullptr;  // strings: nullptr accepts any
    std::string_view expected = {};               // strings: what `accepts` wants

    [[nodiscard]] std::string_view type_name() const noexcept {
        constexpr std::string_view names[] = {"TEXT", "INT", "BOOL"};
        return names[field.index()];
    }
};

// Every setting, in the order the docs list them.
std::span<const BrokerSetting> broker_settings() noexcept;
// "--num-partitions" for "num_partitions".
std::string flag_of(std::string_view key);

// The config file's text -> its values, or one line "FILE:LINE: what is wrong".
Result<BrokerFileConfig, std::string> parse_broker_config(std::string_view text,
                                                          std::string_view file_name);
// Reads the file at `path` and parses it; a file that cannot be read is an error too.
Result<BrokerFileConfig, std::string> load_broker_config(const std::string& path);

// One flag's text as typed (`key` as in the file): checked like the file's
// value, then stored in `flags`. Strings are taken as they are (no quotes),
// integers as in the file, booleans as true or false.
Status<std::string> set_broker_flag(BrokerFileConfig& flags, std::string_view key,
                                    std::string_view text);

// Built-in defaults, overridden by the file, overridden by the flags.
BrokerCommand merge_broker_settings(const BrokerFileConfig& file, const BrokerFileConfig& flags);
// The inverse: every setting of `command`, as a file would write it (retention 0 -> -1).
BrokerFileConfig broker_settings_of(const BrokerCommand& command);
// A setting's value in `settings` as a flag would take it ("" when absent).
std::string setting_text(const BrokerFileConfig& settings, std::string_view key);

struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
};
// "HOST:PORT" (the last colon splits; port 0..65535, 0 picks a free one).
std::optional<Endpoint> parse_endpoint(std::string_view text);

// Loads the file, checks the flags, merges; the error is one line for stderr.
Result<BrokerCommand, std::string> resolve_broker_command(const BrokerArguments& arguments);

}  // namespace samsa::runtime

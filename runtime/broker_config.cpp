// `samsa broker`'s settings: the table of keys, the TOML-subset reader, the
// flags' checks and the merge (see broker_config.h for the rules).
//
// Reading is line by line: each line is blank, a comment, the [broker] table
// header or `key = value` with an optional trailing comment. The key is
// looked up in the settings table before its value is read, so an unknown or
// repeated key is reported as such whatever follows it. A value is read into
// a Value (string, integer or boolean), then checked against the setting's
// type and range by the same code that checks flags; only the message's
// prefix differs ("FILE:LINE: key" or "--flag").
#include "runtime/broker_config.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <system_error>
#include <type_traits>

#include "core/base/assert.h"

namespace samsa::runtime {

namespace {

// The same alternatives in the same order as BrokerSetting::Field's.
using Value = std::variant<std::string, std::int64_t, bool>;
constexpr std::size_t kInteger = 1;  // index of Value and of BrokerSetting::Field
constexpr std::size_t kBoolean = 2;

constexpr std::int64_t kKiB = 1024;
constexpr std::int64_t kMiB = 1024 * kKiB;
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
constexpr std::size_t kConfigBytesMax = 1 << 20;  // a config file larger than this is a mistake

bool valid_endpoint(std::string_view text) {
    return parse_endpoint(text).has_value();
}
bool non_empty(std::string_view text) {
    return !text.empty();
}

using File = BrokerFileConfig;
const BrokerSetting kSettings[] = {
    {.key = "node_id", .field = &File::node_id, .help = "This broker's id", .max = 1 << 30},
    {.key = "listen",
     .field = &File::listen,
     .help = "HOST:PORT for Kafka clients (port 0 picks a free one)",
     .accepts = valid_endpoint,
     .expected = "HOST:PORT with a port from 0 to 65535"},
    {.key = "advertised_host",
     .field = &File::advertised_host,
     .help = "Host clients are told to connect to (default: the listen host)"},
    {.key = "data_dir",
     .field = &File::data_dir,
     .help = "Where the broker keeps its data",
     .accepts = non_empty,
     .expected = "a directory"},
    {.key = "cluster_id",
     .field = &File::cluster_id,
     .help = "The cluster id clients see in Metadata",
     .accepts = non_empty,
     .expected = "a non-empty string"},
    {.key = "num_partitions",
     .field = &File::num_partitions,
     .help = "Partitions of a topic created with num_partitions -1 or automatically",
     .min = 1,
     .max = static_cast<std::int64_t>(broker::BrokerConfig{}.partitions_max),
     .why = "the broker's limit on partitions, all topics together"},
    {.key = "default_replication_factor",
     .field = &File::default_replication_factor,
     .help = "Replicas of a new topic (one broker: 1)",
     .min = 1,
     .max = 1,
     .why = "samsa runs a single broker so far, and a partition cannot have more replicas than "
            "there are brokers"},
    {.key = "auto_create_topics",
     .field = &File::auto_create_topics,
     .help = "Create unknown topics on Metadata and Produce"},
    {.key = "log_segment_bytes",
     .field = &File::log_segment_bytes,
     .help = "Roll to a new segment file beyond this size",
     .min = 64 * kKiB,
     .max = kInt32Max},
    {.key = "log_segment_ms",
     .field = &File::log_segment_ms,
     .help = "Roll when a batch is this much newer than its segment's first (0: by size only)",
     .max = kInt64Max},
    {.key = "log_retention_bytes",
     .field = &File::log_retention_bytes,
     .help = "Drop a partition's oldest segments beyond this size (-1: keep everything)",
     .min = 1,
     .max = kInt64Max,
     .unlimited = true},
    {.key = "log_retention_ms",
     .field = &File::log_retention_ms,
     .help = "Drop segments whose newest record is older than this (-1: keep everything)",
     .min = 1,
     .max = kInt64Max,
     .unlimited = true},
    {.key = "message_max_bytes",
     .field = &File::message_max_bytes,
     .help = "The largest record batch a producer may send",
     .min = kKiB,
     .max = 64 * kMiB},
    {.key = "log_cache_bytes",
     .field = &File::log_cache_bytes,
     .help = "Memory for recent batches, all partitions together (readers near the end use it)",
     .max = kInt64Max},
};

const BrokerSetting* find_setting(std::string_view key) {
    const auto* found = std::find_if(std::begin(kSettings), std::end(kSettings),
                                     [key](const BrokerSetting& s) { return s.key == key; });
    return found == std::end(kSettings) ? nullptr : found;
}

std::string known_keys() {
    std::string text;
    for (const auto& setting : kSettings) {
        text += (text.empty() ? "" : ", ") + std::string(setting.key);
    }
    return text;
}

const char* kind_name(std::size_t index) {
    constexpr const char* names[] = {"a string", "an integer", "a boolean"};
    SAMSA_ASSERT(index < 3);
    return names[index];
}

// "65536 (64 KiB)" for a size in bytes, the bare number otherwise.
std::string number_text(std::int64_t n, std::string_view key) {
    std::string text = std::to_string(n);
    if (!key.ends_with("_bytes") || n < kKiB) return text;
    if (n % kMiB == 0) return text + " (" + std::to_string(n / kMiB) + " MiB)";
    if (n % kKiB == 0) return text + " (" + std::to_string(n / kKiB) + " KiB)";
    return text;
}

std::optional<std::string> check_integer(const BrokerSetting& setting, std::int64_t n,
                                         std::string_view subject) {
    if ((n >= setting.min && n <= setting.max) || (setting.unlimited && n == -1)) {
        return std::nullopt;
    }
    std::string text = std::string(subject) + " must be ";
    if (setting.unlimited) text += "-1 (no limit) or ";
    if (setting.min == setting.max) {
        text += number_text(setting.min, setting.key);
    } else if (setting.max == kInt64Max) {
        text += "at least " + number_text(setting.min, setting.key);
    } else {
        text += "from " + number_text(setting.min, setting.key) + " to " +
                number_text(setting.max, setting.key);
    }
    text += ", not " + std::to_string(n);
    if (!setting.why.empty() && n > setting.max) text += ": " + std::string(setting.why);
    return text;
}

// Checks `value` against `setting` and stores it; the message names `subject`.
std::optional<std::string> store(BrokerFileConfig& into, const BrokerSetting& setting, Value value,
                                 std::string_view subject) {
    if (value.index() != setting.field.index()) {
        return std::string(subject) + " must be " + kind_name(setting.field.index()) + ", not " +
               kind_name(value.index());
    }
    if (const auto* n = std::get_if<std::int64_t>(&value)) {
        if (auto error = check_integer(setting, *n, subject)) return error;
    }
    if (const auto* text = std::get_if<std::string>(&value)) {
        if (setting.accepts != nullptr && !setting.accepts(*text)) {
            return std::string(subject) + " must be " + std::string(setting.expected) + ", not '" +
                   *text + "'";
        }
    }
    std::visit(
        [&into, &value](auto member) {
            auto& slot = into.*member;
            slot = std::get<typename std::decay_t<decltype(slot)>::value_type>(std::move(value));
        },
        setting.field);
    return std::nullopt;
}

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// A TOML decimal integer: optional sign, digits with single '_' between
// them, no leading zero. nullopt if `token` is not one or does not fit.
std::optional<std::int64_t> parse_integer(std::string_view token) {
    const bool negative = !token.empty() && token.front() == '-';
    if (!token.empty() && (token.front() == '-' || token.front() == '+')) token.remove_prefix(1);
    if (token.empty() || !is_digit(token.front()) || !is_digit(token.back())) return std::nullopt;
    if (token.size() > 1 && token.front() == '0') return std::nullopt;
    std::string digits = negative ? "-" : "";
    for (std::size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '_' && is_digit(token[i - 1]) && is_digit(token[i + 1])) continue;
        if (!is_digit(token[i])) return std::nullopt;
        digits += token[i];
    }
    std::int64_t n = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return n;
}

struct Parsed {
    Value value;
    std::string_view rest;  // after the value
};

// A basic string's body after its opening quote; escapes resolved.
Result<Parsed, std::string> parse_basic_string(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '"') return Parsed{std::move(out), text.substr(i + 1)};
        if (c != '\\') {
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
                return Failure{std::string("a control character in a string")};
            }
            out += c;
            continue;
        }
        if (++i == text.size()) break;
        switch (text[i]) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'u':
            case 'U': return Failure{std::string("\\u escapes are not supported")};
            default: return Failure{"unknown escape \\" + std::string(1, text[i])};
        }
    }
    return Failure{std::string("the string has no closing \"")};
}

// One value at the start of `text`: "string", 'literal', integer, true, false.
Result<Parsed, std::string> parse_value(std::string_view text) {
    if (text.starts_with("\"\"\"") || text.starts_with("'''")) {
        return Failure{std::string("multi-line strings are not supported")};
    }
    if (text.starts_with('"')) return parse_basic_string(text.substr(1));
    if (text.starts_with('\'')) {
        const auto close = text.find('\'', 1);
        if (close == std::string_view::npos) {
            return Failure{std::string("the string has no closing '")};
        }
        return Parsed{std::string(text.substr(1, close - 1)), text.substr(close + 1)};
    }
    const auto end = std::min(text.find_first_of(" \t#"), text.size());
    const auto token = text.substr(0, end);
    if (token.empty()) return Failure{std::string("the value is missing")};
    if (token == "true" || token == "false") return Parsed{token == "true", text.substr(end)};
    if (const auto n = parse_integer(token)) return Parsed{*n, text.substr(end)};
    return Failure{"cannot read '" + std::string(token) +
                   "': write a \"string\", a decimal integer, true or false"};
}

class ConfigReader {
public:
    explicit ConfigReader(std::string_view file_name) : file_name_(file_name) {}

    // One line; an error message (without the location) if it is wrong.
    std::optional<std::string> read(std::string_view line, std::size_t number) {
        line = trim(line);
        if (line.empty() || line.front() == '#') return std::nullopt;
        if (line.front() == '[') return table(line, number);
        return setting(line, number);
    }

    [[nodiscard]] std::string where(std::size_t number) const {
        return std::string(file_name_) + ":" + std::to_string(number) + ": ";
    }
    BrokerFileConfig& config() { return config_; }

private:
    std::optional<std::string> table(std::string_view line, std::size_t number) {
        if (line.starts_with("[[")) {
            return std::string(
                "syntax error: arrays of tables are not supported; the only "
                "table is [broker]");
        }
        const auto close = line.find(']');
        if (close == std::string_view::npos) return std::string("syntax error: no closing ]");
        const auto after = trim(line.substr(close + 1));
        if (!after.empty() && after.front() != '#') {
            return "syntax error: unexpected '" + std::string(after) + "' after the table header";
        }
        const auto name = trim(line.substr(1, close - 1));
        if (name != "broker") {
            return "unknown table [" + std::string(name) + "]: the only table is [broker]";
        }
        if (broker_table_line_ != 0) {
            return "the [broker] table appears twice (first on line " +
                   std::to_string(broker_table_line_) + ")";
        }
        broker_table_line_ = number;
        return std::nullopt;
    }

    std::optional<std::string> setting(std::string_view line, std::size_t number) {
        const auto equals = line.find('=');
        if (equals == std::string_view::npos) {
            return "syntax error: expected key = value, not '" + std::string(line) + "'";
        }
        const auto key = trim(line.substr(0, equals));
        const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
                   c == '-';
        });
        if (!bare) {
            return "syntax error: '" + std::string(key) +
                   "' is not a key (letters, digits, _ and -; no quotes or dots)";
        }
        const BrokerSetting* found = find_setting(key);
        if (found == nullptr) {
            return "unknown key '" + std::string(key) + "' (the keys are " + known_keys() + ")";
        }
        const auto [first, inserted] = lines_.emplace(found->key, number);
        if (!inserted) {
            return "duplicate key '" + std::string(key) + "' (first set on line " +
                   std::to_string(first->second) + ")";
        }
        auto parsed = parse_value(trim(line.substr(equals + 1)));
        if (!parsed.ok())
            return "syntax error in the value of " + std::string(key) + ": " + parsed.error();
        const auto rest = trim(parsed.value().rest);
        if (!rest.empty() && rest.front() != '#') {
            return "syntax error: unexpected '" + std::string(rest) + "' after the value of " +
                   std::string(key);
        }
        return store(config_, *found, std::move(parsed).value().value, key);
    }

    std::string_view file_name_;
    BrokerFileConfig config_;
    std::map<std::string_view, std::size_t> lines_;  // key -> the line that set it
    std::size_t broker_table_line_ = 0;              // 0: no [broker] header yet
};

template <class T>
T narrow(std::int64_t n) {
    SAMSA_ASSERT(n >= std::numeric_limits<T>::min() && n <= std::numeric_limits<T>::max());
    return static_cast<T>(n);
}

// Kafka's -1 for "no limit" is the log's 0.
std::int64_t limit_of(std::int64_t n) {
    SAMSA_ASSERT(n == -1 || n > 0);
    return n == -1 ? 0 : n;
}

void apply(const BrokerFileConfig& from, BrokerCommand& into) {
    auto& config = into.config;
    if (from.node_id) config.node_id = NodeId(narrow<std::int32_t>(*from.node_id));
    if (from.listen) into.listen = *from.listen;
    if (from.advertised_host) into.advertised_host = *from.advertised_host;
    if (from.data_dir) into.data_dir = *from.data_dir;
    if (from.cluster_id) config.cluster_id = *from.cluster_id;
    if (from.num_partitions) config.default_partitions = narrow<std::int32_t>(*from.num_partitions);
    if (from.default_replication_factor) {
        config.default_replication_factor = narrow<std::int16_t>(*from.default_replication_factor);
    }
    if (from.auto_create_topics) config.auto_create_topics = *from.auto_create_topics;
    if (from.log_segment_bytes) {
        config.log.segment_bytes_max = narrow<std::uint32_t>(*from.log_segment_bytes);
    }
    if (from.log_segment_ms) config.log.segment_ms = *from.log_segment_ms;
    if (from.log_retention_bytes) {
        config.log.retention_bytes_max =
            static_cast<std::uint64_t>(limit_of(*from.log_retention_bytes));
    }
    if (from.log_retention_ms) config.log.retention_ms = limit_of(*from.log_retention_ms);
    if (from.message_max_bytes) {
        config.log.batch_bytes_max = narrow<std::uint32_t>(*from.message_max_bytes);
    }
    if (from.log_cache_bytes)
        config.cache_bytes_max = static_cast<std::uint64_t>(*from.log_cache_bytes);
}

}  // namespace

std::span<const BrokerSetting> broker_settings() noexcept {
    return kSettings;
}

std::string flag_of(std::string_view key) {
    std::string flag = "--" + std::string(key);
    std::replace(flag.begin(), flag.end(), '_', '-');
    return flag;
}

Result<BrokerFileConfig, std::string> parse_broker_config(std::string_view text,
                                                          std::string_view file_name) {
    ConfigReader reader(file_name);
    std::size_t number = 0;
    while (!text.empty()) {
        const auto end = std::min(text.find('\n'), text.size());
        auto line = text.substr(0, end);
        text.remove_prefix(std::min(end + 1, text.size()));
        if (line.ends_with('\r')) line.remove_suffix(1);
        ++number;
        if (auto error = reader.read(line, number)) return Failure{reader.where(number) + *error};
    }
    return std::move(reader.config());
}

Result<BrokerFileConfig, std::string> load_broker_config(const std::string& path) {
    std::error_code error;
    const auto size = std::filesystem::file_size(path, error);
    if (error) return Failure{"cannot read config file " + path + ": " + error.message()};
    if (size > kConfigBytesMax) {
        return Failure{"config file " + path + " is larger than " +
                       std::to_string(kConfigBytesMax) + " bytes"};
    }
    std::ifstream in(path, std::ios::binary);
    std::string text(size, '\0');
    in.read(text.data(), static_cast<std::streamsize>(size));
    if (!in) return Failure{"cannot read config file " + path};
    return parse_broker_config(text, path);
}

Status<std::string> set_broker_flag(BrokerFileConfig& flags, std::string_view key,
                                    std::string_view text) {
    const BrokerSetting* setting = find_setting(key);
    SAMSA_ASSERT_MSG(setting != nullptr, "a flag without a setting");
    const std::string flag = flag_of(key);
    Value value{std::string(text)};
    if (setting->field.index() == kInteger) {
        const auto n = parse_integer(text);
        if (!n) return Failure{flag + " must be an integer, not '" + std::string(text) + "'"};
        value = *n;
    } else if (setting->field.index() == kBoolean) {
        if (text != "true" && text != "false") {
            return Failure{flag + " must be true or false, not '" + std::string(text) + "'"};
        }
        value = text == "true";
    }
    if (auto error = store(flags, *setting, std::move(value), flag)) return Failure{*error};
    return {};
}

BrokerCommand merge_broker_settings(const BrokerFileConfig& file, const BrokerFileConfig& flags) {
    BrokerCommand command;
    apply(file, command);
    apply(flags, command);
    return command;
}

BrokerFileConfig broker_settings_of(const BrokerCommand& command) {
    const auto& config = command.config;
    const auto unlimited = [](std::int64_t n) { return n == 0 ? -1 : n; };
    BrokerFileConfig settings;
    settings.node_id = config.node_id.value();
    settings.listen = command.listen;
    settings.advertised_host = command.advertised_host;
    settings.data_dir = command.data_dir;
    settings.cluster_id = config.cluster_id;
    settings.num_partitions = config.default_partitions;
    settings.default_replication_factor = config.default_replication_factor;
    settings.auto_create_topics = config.auto_create_topics;
    settings.log_segment_bytes = static_cast<std::int64_t>(config.log.segment_bytes_max);
    settings.log_segment_ms = config.log.segment_ms;
    settings.log_retention_bytes =
        unlimited(static_cast<std::int64_t>(config.log.retention_bytes_max));
    settings.log_retention_ms = unlimited(config.log.retention_ms);
    settings.message_max_bytes = static_cast<std::int64_t>(config.log.batch_bytes_max);
    settings.log_cache_bytes = static_cast<std::int64_t>(config.cache_bytes_max);
    return settings;
}

std::string setting_text(const BrokerFileConfig& settings, std::string_view key) {
    const BrokerSetting* setting = find_setting(key);
    SAMSA_ASSERT_MSG(setting != nullptr, "no such setting");
    return std::visit(
        [&settings](auto member) -> std::string {
            const auto& slot = settings.*member;
            if (!slot) return "";
            using T = std::decay_t<decltype(*slot)>;
            if constexpr (std::is_same_v<T, std::string>) {
                return *slot;
            } else if constexpr (std::is_same_v<T, bool>) {
                return *slot ? "true" : "false";
            } else {
                return std::to_string(*slot);
            }
        },
        setting->field);
}

std::optional<Endpoint> parse_endpoint(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
        return std::nullopt;
    }
    unsigned long port = 0;
    for (std::size_t i = colon + 1; i < text.size(); ++i) {
        if (!is_digit(text[i])) return std::nullopt;
        port = port * 10 + static_cast<unsigned long>(text[i] - '0');
        if (port > 65535) return std::nullopt;
    }
    return Endpoint{std::string(text.substr(0, colon)), static_cast<std::uint16_t>(port)};
}

Result<BrokerCommand, std::string> resolve_broker_command(const BrokerArguments& arguments) {
    BrokerFileConfig file;
    if (!arguments.config_file.empty()) {
        auto loaded = load_broker_config(arguments.config_file);
        if (!loaded.ok()) return Failure{loaded.error()};
        file = std::move(loaded).value();
    }
    BrokerFileConfig flags;
    for (const auto& flag : arguments.flags) {
        const auto status = set_broker_flag(flags, flag.key, flag.text);
        if (!status.ok()) return Failure{status.error()};
    }
    return merge_broker_settings(file, flags);
}

}  // namespace samsa::runtime

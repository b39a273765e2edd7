#include "runtime/broker_command.h"

#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <exception>
#include <memory>
#include <optional>

#include "core/broker/broker.h"
#include "runtime/broker_config.h"
#include "runtime/driver.h"
#include "runtime/kafka_listener.h"

namespace samsa::runtime {

namespace {

// Listener callbacks become client events for the machine, posted to the loop.
class ClientBridge final : public KafkaListener::Handler {
public:
    explicit ClientBridge(Driver& driver) : driver_(driver) {}
    void on_frame(std::uint64_t client, std::uint64_t sequence, io::Bytes frame) override {
        driver_.post_client_event(
            io::ClientRequest{samsa::ClientId(client), sequence, std::move(frame)});
    }
    void on_closed(std::uint64_t client) override {
        driver_.post_client_event(io::ClientGone{samsa::ClientId(client)});
    }

private:
    Driver& driver_;
};

}  // namespace

CLI::App* add_broker_command(CLI::App& app, BrokerArguments& arguments) {
    auto* broker = app.add_subcommand(
        "broker",
        "Run one broker (a single node: replication between brokers is not wired in yet)");
    broker->add_option("--config", arguments.config_file,
                       "TOML file of the settings below (docs/samsa.example.toml)");
    // Flags are kept as typed and checked by the config file's rules, so
    // both report errors alike (one line, exit status 1).
    const BrokerCommand built_in;  // a named object: GCC 12 -O3 misjudges a temporary here
    const auto defaults = broker_settings_of(built_in);
    for (const auto& setting : broker_settings()) {
        broker
            ->add_option_function<std::string>(
                flag_of(setting.key),
                [&arguments, key = setting.key](const std::string& text) {
                    arguments.flags.push_back({std::string(key), text});
                },
                std::string(setting.help))
            ->type_name(std::string(setting.type_name()))
            ->default_str(setting_text(defaults, setting.key));
    }
    return broker;
}

int run_broker_command(const BrokerCommand& command, std::ostream& out, std::ostream& err) {
    const auto endpoint = parse_endpoint(command.listen);
    if (!endpoint) {
        err << "samsa broker: --listen must be HOST:PORT, not '" << command.listen << "'\n";
        return 1;
    }
    std::unique_ptr<Driver> driver;
    try {
        driver = std::make_unique<Driver>(command.data_dir);
    } catch (const std::exception& e) {
        err << "samsa broker: " << e.what() << "\n";
        return 1;
    }
    ClientBridge bridge(*driver);
    auto listener =
        KafkaListener::open(driver->context(), endpoint->host, endpoint->port, {}, bridge);
    if (!listener.ok()) {
        err << "samsa broker: cannot listen on " << command.listen << ": " << listener.error()
            << "\n";
        return 1;
    }
    KafkaListener& kafka = *listener.value();
    broker::BrokerConfig config = command.config;
    config.advertised_host =
        command.advertised_host.empty() ? endpoint->host : command.advertised_host;
    config.advertised_port = kafka.port();
    driver->host(broker::Broker(config));
    driver->on_client([&kafka](io::Effect effect) {
        if (auto* reply = std::get_if<io::ClientReply>(&effect)) {
            kafka.reply(reply->client.value(), reply->sequence, std::move(reply->frame));
        } else if (const auto* close = std::get_if<io::ClientClose>(&effect)) {
            kafka.close(close->client.value());
        }
    });
    bool stopping = false;
    boost::asio::signal_set signals(driver->context(), SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code& error, int) {
        if (error) return;
        stopping = true;
        kafka.stop();
        driver->stop();
    });
    driver->start();
    out << "samsa broker " << config.node_id.value() << " listening on " << config.advertised_host
        << ":" << kafka.port() << "  (try: kcat -b " << config.advertised_host << ":"
        << kafka.port() << " -L)" << std::endl;
    while (!stopping) {
        driver->run_until([] { return false; }, std::chrono::hours(24));
        if (driver->failure()) {
            err << "samsa broker: " << *driver->failure() << "\n";
            return 1;
        }
    }
    return 0;
}

int run_broker_command(const BrokerArguments& arguments, std::ostream& out, std::ostream& err) {
    const auto command = resolve_broker_command(arguments);
    if (!command.ok()) {
        err << "samsa broker: " << command.error() << "\n";
        return 1;
    }
    return run_broker_command(command.value(), out, err);
}

}  // namespace samsa::runtime

#include "runtime/broker_command.h"

#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <exception>
#include <memory>
#include <optional>

#include "core/broker/broker.h"
#include "runtime/driver.h"
#include "runtime/kafka_listener.h"

namespace samsa::runtime {

namespace {

struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
};

std::optional<Endpoint> parse_endpoint(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
    unsigned long port = 0;
    for (std::size_t i = colon + 1; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
        port = port * 10 + static_cast<unsigned long>(text[i] - '0');
        if (port > 65535) return std::nullopt;
    }
    return Endpoint{text.substr(0, colon), static_cast<std::uint16_t>(port)};
}

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
    broker::BrokerConfig config;
    config.node_id = NodeId(command.node_id);
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
    out << "samsa broker " << command.node_id << " listening on " << config.advertised_host << ":"
        << kafka.port() << "  (try: kcat -b " << config.advertised_host << ":" << kafka.port()
        << " -L)" << std::endl;
    while (!stopping) {
        driver->run_until([] { return false; }, std::chrono::hours(24));
        if (driver->failure()) {
            err << "samsa broker: " << *driver->failure() << "\n";
            return 1;
        }
    }
    return 0;
}

}  // namespace samsa::runtime

// Renderings of events and effects for traces and reports.
#include <string>

#include "core/base/hash.h"
#include "core/io/seam.h"

namespace samsa::io {
namespace {

template <class... Fs>
struct Overloaded : Fs... {
    using Fs::operator()...;
};

std::string bytes_summary(const Bytes& bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string text = std::to_string(bytes.size()) + "B#";
    const std::uint64_t digest = hash_bytes(bytes);
    for (int shift = 60; shift >= 48; shift -= 4) text += hex[(digest >> shift) & 0xf];
    return text;
}

std::string token(IoToken t) {
    return "t" + t.to_string();
}
std::string file(FileId f) {
    return "f" + f.to_string();
}

}  // namespace

const char* to_string(IoStatus status) noexcept {
    switch (status) {
        case IoStatus::ok: return "ok";
        case IoStatus::not_found: return "not_found";
        case IoStatus::already_exists: return "already_exists";
        case IoStatus::io_error: return "io_error";
        case IoStatus::no_space: return "no_space";
        case IoStatus::bad_file: return "bad_file";
        case IoStatus::too_large: return "too_large";
    }
    return "?";
}

const char* kind_name(const Event& event) noexcept {
    static constexpr const char* names[] = {"start", "message",        "timer",
                                            "io",    "client_request", "client_gone"};
    return names[event.index()];
}

const char* kind_name(const Effect& effect) noexcept {
    static constexpr const char* names[] = {
        "send",  "set_timer", "cancel_timer", "open",         "close",
        "write", "read",      "fsync",        "truncate",     "remove",
        "list",  "sync_dir",  "client_reply", "client_close", "rename"};
    return names[effect.index()];
}

std::string describe(const Event& event) {
    return std::visit(
        Overloaded{
            [](const Start&) -> std::string { return "start"; },
            [](const MessageReceived& e) {
                return "message from=" + e.from.to_string() + " " + bytes_summary(e.payload);
            },
            [](const TimerFired& e) { return "timer " + e.timer.to_string(); },
            [](const IoCompleted& e) {
                std::string text = "io " + token(e.token) + " " + to_string(e.status) +
                                   " size=" + std::to_string(e.size);
                if (!e.data.empty()) text += " data=" + bytes_summary(e.data);
                if (!e.names.empty()) text += " names=" + std::to_string(e.names.size());
                return text;
            },
            [](const ClientRequest& e) {
                return "client_request " + e.client.to_string() + " #" +
                       std::to_string(e.sequence) + " " + bytes_summary(e.frame);
            },
            [](const ClientGone& e) { return "client_gone " + e.client.to_string(); },
        },
        event);
}

std::string describe(const Effect& effect) {
    return std::visit(
        Overloaded{
            [](const Send& e) {
                return "send to=" + e.to.to_string() + " " + bytes_summary(e.payload);
            },
            [](const SetTimer& e) {
                return "set_timer " + e.timer.to_string() + " after=" + e.after.to_string();
            },
            [](const CancelTimer& e) { return "cancel_timer " + e.timer.to_string(); },
            [](const Open& e) {
                return "open " + token(e.token) + " " + file(e.file) + " " + e.name +
                       (e.create ? " create" : "") + (e.exclusive ? " exclusive" : "") +
                       (e.direct ? " direct" : "") +
                       (e.reserve_bytes != 0 ? " reserve=" + std::to_string(e.reserve_bytes) : "");
            },
            [](const Close& e) { return "close " + file(e.file); },
            [](const Write& e) {
                return "write " + token(e.token) + " " + file(e.file) + " @" +
                       std::to_string(e.offset) + " " + bytes_summary(e.data);
            },
            [](const Read& e) {
                return "read " + token(e.token) + " " + file(e.file) + " @" +
                       std::to_string(e.offset) + " len=" + std::to_string(e.length);
            },
            [](const Fsync& e) { return "fsync " + token(e.token) + " " + file(e.file); },
            [](const Truncate& e) {
                return "truncate " + token(e.token) + " " + file(e.file) +
                       " size=" + std::to_string(e.size);
            },
            [](const Remove& e) { return "remove " + token(e.token) + " " + e.name; },
            [](const List& e) { return "list " + token(e.token); },
            [](const SyncDir& e) { return "sync_dir " + token(e.token); },
            [](const ClientReply& e) {
                return "client_reply " + e.client.to_string() + " #" + std::to_string(e.sequence) +
                       (e.frame ? " " + bytes_summary(*e.frame) : std::string(" none"));
            },
            [](const ClientClose& e) { return "client_close " + e.client.to_string(); },
            [](const Rename& e) { return "rename " + token(e.token) + " " + e.from + " " + e.to; },
        },
        effect);
}

}  // namespace samsa::io

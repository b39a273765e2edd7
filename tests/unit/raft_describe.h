// Human-readable, stable, one-line renderings of Raft's inputs and outputs,
// for golden traces (raft_golden_test.cpp) and failure messages. Every field
// of every message is shown, in declaration order, as `name=value`; members
// are `n<id>`, payloads are quoted with non-printable bytes as \xNN, and
// config entries show the membership they carry. Changing a rendering changes
// every golden file: update them all in the same commit.
#pragma once

#include <cstdio>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/raft/raft.h"

namespace samsa::raft::testing {

inline std::string describe(NodeId id) {
    return "n" + std::to_string(id.value());
}

inline std::string describe(const std::optional<NodeId>& id) {
    return id ? describe(*id) : std::string("none");
}

inline std::string describe(const std::vector<NodeId>& ids) {
    std::string out = "[";
    for (std::size_t i = 0; i < ids.size(); ++i) out += (i == 0 ? "" : " ") + describe(ids[i]);
    return out + "]";
}

inline std::string describe(const Membership& membership) {
    return "voters=" + describe(membership.voters) + " learners=" + describe(membership.learners);
}

inline const char* describe(EntryKind kind) {
    switch (kind) {
        case EntryKind::normal: return "normal";
        case EntryKind::config: return "config";
        case EntryKind::noop: return "noop";
    }
    return "?";
}

inline std::string quoted(const io::Bytes& bytes) {
    std::string out = "\"";
    for (const auto byte : bytes) {
        const auto c = static_cast<unsigned char>(byte);
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            out += static_cast<char>(c);
        } else {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
            out += escaped;
        }
    }
    return out + "\"";
}

// "term=1 index=2 normal payload="x"", "... config voters=[n1 n2] learners=[]".
inline std::string describe(const Entry& entry) {
    std::string out = "term=" + std::to_string(entry.term.value()) +
                      " index=" + entry.index.to_string() + " " + describe(entry.kind);
    if (entry.kind == EntryKind::config) {
        const auto membership = decode_membership(entry.payload);
        return out + " " +
               (membership ? describe(*membership) : "undecodable " + quoted(entry.payload));
    }
    if (entry.kind == EntryKind::noop && entry.payload.empty()) return out;
    return out + " payload=" + quoted(entry.payload);
}

inline std::string describe(const std::vector<Entry>& entries) {
    std::string out = "[";
    for (std::size_t i = 0; i < entries.size(); ++i) {
        out += (i == 0 ? "{" : ", {") + describe(entries[i]) + "}";
    }
    return out + "]";
}

inline std::string describe(const HardState& hard_state) {
    return "term=" + std::to_string(hard_state.term.value()) +
           " vote=" + describe(hard_state.vote) + " commit=" + hard_state.commit.to_string();
}

inline std::string yes_no(bool value) {
    return value ? "true" : "false";
}

inline std::string describe_body(const VoteRequest& m) {
    return "VoteRequest pre_vote=" + yes_no(m.pre_vote) + " transfer=" + yes_no(m.transfer) +
           " last_index=" + m.last_index.to_string() +
           " last_term=" + std::to_string(m.last_term.value());
}

inline std::string describe_body(const VoteResponse& m) {
    return "VoteResponse pre_vote=" + yes_no(m.pre_vote) + " granted=" + yes_no(m.granted);
}

inline std::string describe_body(const AppendRequest& m) {
    return "AppendRequest prev_index=" + m.prev_index.to_string() +
           " prev_term=" + std::to_string(m.prev_term.value()) +
           " leader_commit=" + m.leader_commit.to_string() + " entries=" + describe(m.entries);
}

inline std::string describe_body(const AppendResponse& m) {
    return "AppendResponse success=" + yes_no(m.success) +
           " match_index=" + m.match_index.to_string() +
           " rejected_index=" + m.rejected_index.to_string() +
           " hint_index=" + m.hint_index.to_string() +
           " hint_term=" + std::to_string(m.hint_term.value()) +
           " last_index=" + m.last_index.to_string();
}

inline std::string describe_body(const Heartbeat& m) {
    return "Heartbeat commit=" + m.commit.to_string();
}

inline std::string describe_body(const HeartbeatResponse&) {
    return "HeartbeatResponse";
}

inline std::string describe_body(const TimeoutNow&) {
    return "TimeoutNow";
}

inline std::string describe_body(const InstallLogStart& m) {
    return "InstallLogStart base_index=" + m.base_index.to_string() +
           " base_term=" + std::to_string(m.base_term.value()) + " " + describe(m.membership) +
           " leader_commit=" + m.leader_commit.to_string();
}

// "n1->n2 term=1 VoteRequest pre_vote=true ...".
inline std::string describe(const Message& message) {
    return describe(message.from) + "->" + describe(message.to) +
           " term=" + std::to_string(message.term.value()) + " " +
           std::visit([](const auto& body) { return describe_body(body); }, message.body);
}

inline std::string describe(const LogReset& reset) {
    return "base_index=" + reset.base_index.to_string() +
           " base_term=" + std::to_string(reset.base_term.value()) + " " +
           describe(reset.membership);
}

inline std::string describe(const ReadRequest& read) {
    return "follower=" + describe(read.follower) + " from=" + read.from.to_string() +
           " to=" + read.to.to_string();
}

inline std::string describe(const ConfigChange& change) {
    switch (change.kind) {
        case ConfigChange::Kind::add_learner: return "add_learner node=" + describe(change.node);
        case ConfigChange::Kind::promote_learner:
            return "promote_learner node=" + describe(change.node);
        case ConfigChange::Kind::remove_voter: return "remove_voter node=" + describe(change.node);
    }
    return "?";
}

// One line per output of a Ready, in the order the host acts on them.
inline std::vector<std::string> describe(const Ready& ready) {
    std::vector<std::string> lines;
    if (ready.reset) lines.push_back("reset " + describe(*ready.reset));
    if (ready.truncate_from) lines.push_back("truncate_from " + ready.truncate_from->to_string());
    for (const Entry& entry : ready.entries) lines.push_back("entry " + describe(entry));
    if (ready.hard_state) lines.push_back("hard_state " + describe(*ready.hard_state));
    for (const Message& message : ready.messages) lines.push_back("send " + describe(message));
    if (ready.commit) lines.push_back("commit " + ready.commit->to_string());
    for (const ReadRequest& read : ready.reads) lines.push_back("read " + describe(read));
    if (ready.role) lines.push_back(std::string("role ") + to_string(*ready.role));
    return lines;
}

}  // namespace samsa::raft::testing

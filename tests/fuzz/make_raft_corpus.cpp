// Writes the seed corpus of the Raft peer-batch fuzz target: one encoded
// PeerBatch per message body kind, plus a batch mixing all of them over
// several groups. Deterministic: a rerun writes the same files.
//
// Usage: make-raft-corpus DIR
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "net/raft/peer_codec.h"

namespace samsa::raft {
namespace {

bool write_file(const std::string& path, const io::Bytes& bytes) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) return false;
    const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
    return std::fclose(file) == 0 && written;
}

std::vector<std::pair<std::string, MessageBody>> bodies() {
    const Membership members{{NodeId(1), NodeId(2), NodeId(3)}, {NodeId(4)}};
    const io::Bytes payload{'s', 'a', 'm', 's', 'a'};
    std::vector<Entry> entries{
        Entry{Term(3), Index(8), EntryKind::noop, {}},
        Entry{Term(3), Index(9), EntryKind::normal, payload},
        Entry{Term(3), Index(10), EntryKind::config, encode_membership(members)}};
    return {
        {"vote_request", VoteRequest{false, false, Index(7), Term(2)}},
        {"pre_vote_request", VoteRequest{true, true, Index(7), Term(2)}},
        {"vote_response", VoteResponse{false, true}},
        {"append_request", AppendRequest{Index(7), Term(2), entries, Index(6)}},
        {"append_response", AppendResponse{false, Index(0), Index(7), Index(5), Term(1), Index(6)}},
        {"heartbeat", Heartbeat{Index(6)}},
        {"heartbeat_response", HeartbeatResponse{}},
        {"timeout_now", TimeoutNow{}},
        {"install_log_start", InstallLogStart{Index(100), Term(2), members, Index(120)}},
    };
}

}  // namespace
}  // namespace samsa::raft

int main(int argc, char** argv) {
    using namespace samsa::raft;
    namespace io = samsa::io;
    using samsa::NodeId;
    if (argc != 2) {
        std::fprintf(stderr, "usage: make-raft-corpus DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    PeerBatch mixed{NodeId(1), NodeId(2), {}};
    std::uint32_t group = 0;
    for (auto& [name, body] : bodies()) {
        const Message message{NodeId(1), NodeId(2), Term(3), body};
        const PeerBatch one{NodeId(1), NodeId(2), {GroupMessage{RaftGroupId(7), message}}};
        if (!write_file(dir + "/" + name, samsa::net::raft::encode_peer_batch(one))) return 1;
        mixed.messages.push_back(GroupMessage{RaftGroupId(group++), message});
    }
    return write_file(dir + "/mixed", samsa::net::raft::encode_peer_batch(mixed)) ? 0 : 1;
}

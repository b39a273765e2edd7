// RaftNode: events, the node's identity, client proposals and the per-peer
// batching of messages. One group's storage and Ready: raft_node_group.cpp.
#include "core/replication/raft_node.h"

#include <algorithm>
#include <string_view>

#include "core/base/big_endian.h"
#include "core/base/hash.h"
#include "core/replication/raft_node_group.h"
#include "net/raft/peer_codec.h"

namespace samsa::replication {

namespace {

constexpr TimerId kTickTimer{1};
constexpr TimerId kRetryTimer{2};
constexpr FileId kMarkerFile{4095};
constexpr const char* kMarkerName = "raft-node";
constexpr int kMarkerRereads = 8;
constexpr std::size_t kBatchMessagesMax = 4096;  // split larger batches

// The marker: "samsa-raft-node <id> <voting|non-voting> <checksum>\n".
io::Bytes encode_marker(NodeId self, bool voting) {
    std::string body =
        "samsa-raft-node " + std::to_string(self.value()) + (voting ? " voting" : " non-voting");
    body += " " + std::to_string(hash_string(body)) + "\n";
    return io::Bytes(body.begin(), body.end());
}

// Whether `data` is this node's marker, and if so whether it may vote; nullopt
// for anything else (torn, flipped by the read, or another node's).
std::optional<bool> read_marker(NodeId self, const io::Bytes& data) {
    for (const bool voting : {true, false}) {
        if (data == encode_marker(self, voting)) return voting;
    }
    return std::nullopt;
}

}  // namespace

RaftNode::RaftNode(RaftNodeParams params, Prng prng) : params_(std::move(params)), prng_(prng) {
    SAMSA_ASSERT(params_.groups >= 1 && params_.groups < kMarkerFile.value());
    SAMSA_ASSERT(std::is_sorted(params_.nodes.begin(), params_.nodes.end()));
    groups_.reserve(params_.groups);
    for (std::uint32_t g = 0; g < params_.groups; ++g) {
        log::LogConfig config = params_.log;
        config.file_prefix = "g" + std::to_string(g) + "-";
        groups_.push_back(std::make_unique<Group>(RaftGroupId(g), config));
    }
}

RaftNode::RaftNode(RaftNode&&) noexcept = default;
RaftNode& RaftNode::operator=(RaftNode&&) noexcept = default;
RaftNode::~RaftNode() = default;

bool RaftNode::running() const noexcept {
    return phase_ == Phase::running;
}

bool RaftNode::may_vote() const noexcept {
    return may_vote_;
}

const raft::Raft* RaftNode::raft(RaftGroupId group) const {
    SAMSA_ASSERT(group.value() < groups_.size());
    return groups_[group.value()]->raft.get();
}

const raft::HardState& RaftNode::durable_hard_state(RaftGroupId group) const {
    SAMSA_ASSERT(group.value() < groups_.size());
    return groups_[group.value()]->durable_state;
}

raft::Index RaftNode::durable_index(RaftGroupId group) const {
    const raft::Raft* machine = raft(group);
    return machine == nullptr ? raft::Index(0) : machine->log().durable_index();
}

const std::vector<EntryDigest>& RaftNode::digests(RaftGroupId group) const {
    SAMSA_ASSERT(group.value() < groups_.size());
    return groups_[group.value()]->digests;
}

std::optional<raft::Index> RaftNode::high_watermark(RaftGroupId group) const {
    const raft::Raft* machine = raft(group);
    if (machine == nullptr || machine->role() != raft::Role::leader) return std::nullopt;
    if (machine->log().term_at(machine->commit()) != machine->term()) return std::nullopt;
    return machine->commit();
}

std::vector<RaftNode::Truncation> RaftNode::take_truncations() {
    return std::exchange(truncations_, {});
}

const std::vector<RaftGroupId>& RaftNode::stepped_groups() const noexcept {
    return stepped_;
}

std::size_t RaftNode::pending_proposals() const noexcept {
    return pending_proposals_;
}

void RaftNode::touch(Group& group) {
    if (group.stepped) return;
    group.stepped = true;
    stepped_.push_back(group.id);
}

void RaftNode::step(Instant now, const io::Event& event, io::Outbox& out) {
    for (RaftGroupId id : stepped_) groups_[id.value()]->stepped = false;
    stepped_.clear();
    std::visit(
        [&](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, io::Start>) {
                next_tick_ = now;
                on_start(out);
            } else if constexpr (std::is_same_v<T, io::MessageReceived>) {
                on_message(e, out);
            } else if constexpr (std::is_same_v<T, io::TimerFired>) {
                if (e.timer == kTickTimer) on_tick(now, out);
                if (e.timer == kRetryTimer) {
                    retry_armed_ = false;
                    for (auto& group : groups_) {
                        if (!group->backoff) continue;
                        group->backoff = false;
                        touch(*group);
                        if (group->raft) drain(*group, out);
                    }
                }
            } else if constexpr (std::is_same_v<T, io::IoCompleted>) {
                const std::uint32_t component = log::PartitionLog::component_of(e.token);
                if (component == 0) {
                    on_own_io(e, out);
                } else {
                    SAMSA_ASSERT(component <= groups_.size());
                    on_log_io(*groups_[component - 1], e, out);
                }
            } else if constexpr (std::is_same_v<T, io::ClientRequest>) {
                on_request(e, out);
            } else if constexpr (std::is_same_v<T, io::ClientGone>) {
                for (auto& group : groups_) {
                    pending_proposals_ -= std::erase_if(
                        group->proposals, [&](const auto& p) { return p.client == e.client; });
                }
            }
        },
        event);
    send_batches(out);
}

// ---- Identity -----------------------------------------------------------

void RaftNode::on_start(io::Outbox& out) {
    phase_ = Phase::listing;
    awaiting_ = next_token();
    out.push(io::List{awaiting_});
    out.push(io::SetTimer{kTickTimer, params_.tick});
}

void RaftNode::on_own_io(const io::IoCompleted& done, io::Outbox& out) {
    if (const auto it = state_tokens_.find(done.token.value()); it != state_tokens_.end()) {
        Group& group = *groups_[it->second];
        state_tokens_.erase(it);
        on_state_io(group, done, out);
        return;
    }
    if (phase_ == Phase::listing && done.token == awaiting_) {
        on_listed(done, out);
    } else if (phase_ == Phase::marker) {
        on_marker_io(done, out);
    }
}

void RaftNode::on_listed(const io::IoCompleted& done, io::Outbox& out) {
    if (done.status != io::IoStatus::ok) {  // try again
        awaiting_ = next_token();
        out.push(io::List{awaiting_});
        return;
    }
    names_ = done.names;
    phase_ = Phase::marker;
    if (std::find(names_.begin(), names_.end(), kMarkerName) == names_.end()) {
        // First boot, or a node that lost its disk: it may have voted before.
        write_marker(params_.first_boot, out);
        return;
    }
    marker_writing_ = false;
    marker_size_.reset();
    marker_rereads_ = 0;
    awaiting_ = next_token();
    out.push(io::Open{awaiting_, kMarkerFile, kMarkerName});
}

void RaftNode::write_marker(bool voting, io::Outbox& out) {
    may_vote_ = voting;
    out.push(io::Open{next_token(), kMarkerFile, kMarkerName, true});
    out.push(io::Truncate{next_token(), kMarkerFile, 0});
    out.push(io::Write{next_token(), kMarkerFile, 0, encode_marker(params_.self, voting)});
    out.push(io::Fsync{next_token(), kMarkerFile});
    out.push(io::SyncDir{next_token()});
    marker_writing_ = true;
    marker_failed_ = false;
    marker_ops_left_ = 5;
}

void RaftNode::on_marker_io(const io::IoCompleted& done, io::Outbox& out) {
    if (marker_writing_) {
        if (done.status != io::IoStatus::ok) marker_failed_ = true;
        if (--marker_ops_left_ > 0) return;
        out.push(io::Close{kMarkerFile});
        if (marker_failed_) {  // write it all again
            write_marker(may_vote_, out);
            return;
        }
        start_groups(out);
        return;
    }
    if (done.token != awaiting_) return;
    if (done.status != io::IoStatus::ok) {
        // An open or read that failed (EIO) may succeed the next time, like a
        // read that came back with flipped bits: try again, as often.
        if (done.status == io::IoStatus::io_error && ++marker_rereads_ < kMarkerRereads) {
            awaiting_ = next_token();
            if (marker_size_) {
                out.push(io::Read{awaiting_, kMarkerFile, 0, *marker_size_});
            } else {
                out.push(io::Open{awaiting_, kMarkerFile, kMarkerName});
            }
            return;
        }
        phase_ = Phase::refused;  // an identity it cannot read: never take part
        return;
    }
    if (!marker_size_) {  // the Open: read the whole marker
        marker_size_ = static_cast<std::uint32_t>(done.size);
        awaiting_ = next_token();
        out.push(io::Read{awaiting_, kMarkerFile, 0, *marker_size_});
        return;
    }
    const auto voting = read_marker(params_.self, done.data);
    if (!voting && ++marker_rereads_ < kMarkerRereads) {  // reads can flip bits
        awaiting_ = next_token();
        out.push(io::Read{awaiting_, kMarkerFile, 0, *marker_size_});
        return;
    }
    out.push(io::Close{kMarkerFile});
    if (!voting) {
        phase_ = Phase::refused;  // torn beyond repair, or another node's directory
        return;
    }
    may_vote_ = *voting;
    start_groups(out);
}

void RaftNode::start_groups(io::Outbox& out) {
    phase_ = Phase::groups;
    for (auto& group : groups_) start_group(*group, out);
}

// ---- Messages and ticks ---------------------------------------------------

void RaftNode::on_message(const io::MessageReceived& message, io::Outbox& out) {
    if (phase_ != Phase::running && phase_ != Phase::groups) return;
    auto batch = net::raft::decode_peer_batch(message.payload);
    if (!batch.ok() || batch.value().from != message.from || batch.value().to != params_.self) {
        ++malformed_batches_;
        return;
    }
    for (raft::GroupMessage& item : batch.value().messages) {
        if (item.group.value() >= groups_.size()) continue;
        Group& group = *groups_[item.group.value()];
        if (!group.raft) continue;
        touch(group);
        group.raft->step(item.message);
        drain(group, out);
    }
}

void RaftNode::on_tick(Instant now, io::Outbox& out) {
    if (now < next_tick_) {  // early: wait for the rest
        out.push(io::SetTimer{kTickTimer, next_tick_ - now});
        return;
    }
    next_tick_ = now + params_.tick;
    out.push(io::SetTimer{kTickTimer, params_.tick});
    const bool persist_commit = ++ticks_ % params_.commit_persist_ticks == 0;
    for (auto& group : groups_) {
        if (!group->raft) continue;
        touch(*group);
        if (persist_commit) group->persist_commit = true;
        group->raft->tick();
        drain(*group, out);
    }
}

void RaftNode::send_batches(io::Outbox& out) {
    for (auto& [peer, batch] : outgoing_) {
        if (batch.messages.empty()) continue;
        messages_sent_ += batch.messages.size();
        for (std::size_t at = 0; at < batch.messages.size(); at += kBatchMessagesMax) {
            raft::PeerBatch part{params_.self, peer, {}};
            const std::size_t end = std::min(batch.messages.size(), at + kBatchMessagesMax);
            part.messages.assign(std::make_move_iterator(batch.messages.begin() + at),
                                 std::make_move_iterator(batch.messages.begin() + end));
            out.push(io::Send{peer, net::raft::encode_peer_batch(part)});
            ++batches_sent_;
        }
        batch.messages.clear();
    }
}

void RaftNode::arm_retry(io::Outbox& out) {
    if (retry_armed_) return;
    retry_armed_ = true;
    out.push(io::SetTimer{kRetryTimer, params_.retry_backoff});
}

// ---- Proposals ------------------------------------------------------------

void RaftNode::on_request(const io::ClientRequest& request, io::Outbox& out) {
    ProposalAnswer refused;
    if (request.frame.size() < 4) {
        answer(request.client, request.sequence, refused, out);
        return;
    }
    const RaftGroupId id(get_be<std::uint32_t>(request.frame, 0));
    if (id.value() >= groups_.size()) {
        answer(request.client, request.sequence, refused, out);
        return;
    }
    Group& group = *groups_[id.value()];
    refused.status = ProposalStatus::busy;
    if (!group.raft || pending_proposals_ >= params_.pending_proposals_max) {
        answer(request.client, request.sequence, refused, out);
        return;
    }
    touch(group);
    io::Bytes payload(request.frame.begin() + 4, request.frame.end());
    const auto index = group.raft->propose(std::move(payload));
    if (!index.ok()) {
        if (index.error() == raft::ProposeError::not_leader) {
            refused.status = ProposalStatus::not_leader;
            refused.leader = group.raft->leader();
        }
        answer(request.client, request.sequence, refused, out);
        drain(group, out);
        return;
    }
    group.proposals.push_back(
        Proposal{request.client, request.sequence, index.value(), group.raft->term()});
    ++pending_proposals_;
    drain(group, out);
}

void RaftNode::answer(ClientId client, std::uint64_t sequence, const ProposalAnswer& answer,
                      io::Outbox& out) {
    out.push(io::ClientReply{client, sequence, encode_answer(answer)});
}

}  // namespace samsa::replication

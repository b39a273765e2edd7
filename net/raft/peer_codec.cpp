#include "net/raft/peer_codec.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <kj/io.h>

#include <cstring>
#include <limits>
#include <optional>
#include <utility>
#include <variant>

#include "core/base/assert.h"
#include "net/raft/raft.capnp.h"

namespace samsa::net::raft {

namespace core = samsa::raft;

const char* to_string(PeerDecodeError error) noexcept {
    switch (error) {
        case PeerDecodeError::malformed: return "malformed";
        case PeerDecodeError::too_large: return "too_large";
        case PeerDecodeError::invalid: return "invalid";
    }
    return "unknown";
}

namespace {

constexpr std::size_t word_bytes = sizeof(capnp::word);
// PeerBatch -> messages -> body -> entries -> payload is five levels deep;
// the slack allows fields added later, nothing like the default of 64.
constexpr int nesting_max = 16;

// ---- Encoding -----------------------------------------------------------

std::size_t words_for_bytes(std::size_t bytes) {
    return (bytes + word_bytes - 1) / word_bytes;
}

// An upper bound on the words the message takes, so that one first segment
// holds it all: a single-segment message needs no far pointers, so it is
// smaller, and its bytes depend on the batch alone.
std::size_t words_upper_bound(const core::PeerBatch& batch) {
    constexpr std::size_t body_struct_words_max = 8;
    std::size_t words = 4 + batch.messages.size() * (3 + body_struct_words_max);
    for (const core::GroupMessage& message : batch.messages) {
        if (const auto* append = std::get_if<core::AppendRequest>(&message.message.body)) {
            words += 1;  // the list's tag
            for (const core::Entry& entry : append->entries) {
                words += 3 + words_for_bytes(entry.payload.size());
            }
        } else if (const auto* install =
                       std::get_if<core::InstallLogStart>(&message.message.body)) {
            const core::Membership& membership = install->membership;
            words += 2 + words_for_bytes(membership.voters.size() * sizeof(std::int32_t)) +
                     words_for_bytes(membership.learners.size() * sizeof(std::int32_t));
        }
    }
    return words;
}

void put_ids(capnp::List<std::int32_t>::Builder out, const std::vector<NodeId>& ids) {
    for (unsigned i = 0; i < ids.size(); ++i) out.set(i, ids[i].value());
}

wire::EntryKind to_wire(core::EntryKind kind) {
    switch (kind) {
        case core::EntryKind::normal: return wire::EntryKind::NORMAL;
        case core::EntryKind::config: return wire::EntryKind::CONFIG;
        case core::EntryKind::noop: return wire::EntryKind::NOOP;
    }
    SAMSA_UNREACHABLE("an EntryKind out of range");
}

void put_entries(capnp::List<wire::Entry>::Builder out, const std::vector<core::Entry>& entries) {
    for (unsigned i = 0; i < entries.size(); ++i) {
        const core::Entry& entry = entries[i];
        wire::Entry::Builder entry_out = out[i];
        entry_out.setTerm(entry.term.value());
        entry_out.setIndex(entry.index.value());
        entry_out.setKind(to_wire(entry.kind));
        entry_out.setPayload(
            kj::ArrayPtr<const kj::byte>(entry.payload.data(), entry.payload.size()));
    }
}

// One overload per body kind, called through std::visit.
struct BodyWriter {
    wire::GroupMessage::Body::Builder out;

    void operator()(const core::VoteRequest& body) {
        auto request = out.initVoteRequest();
        request.setPreVote(body.pre_vote);
        request.setTransfer(body.transfer);
        request.setLastIndex(body.last_index.value());
        request.setLastTerm(body.last_term.value());
    }
    void operator()(const core::VoteResponse& body) {
        auto response = out.initVoteResponse();
        response.setPreVote(body.pre_vote);
        response.setGranted(body.granted);
    }
    void operator()(const core::AppendRequest& body) {
        auto request = out.initAppendRequest();
        request.setPrevIndex(body.prev_index.value());
        request.setPrevTerm(body.prev_term.value());
        put_entries(request.initEntries(static_cast<unsigned>(body.entries.size())), body.entries);
        request.setLeaderCommit(body.leader_commit.value());
    }
    void operator()(const core::AppendResponse& body) {
        auto response = out.initAppendResponse();
        response.setSuccess(body.success);
        response.setMatchIndex(body.match_index.value());
        response.setRejectedIndex(body.rejected_index.value());
        response.setHintIndex(body.hint_index.value());
        response.setHintTerm(body.hint_term.value());
        response.setLastIndex(body.last_index.value());
    }
    void operator()(const core::Heartbeat& body) {
        out.initHeartbeat().setCommit(body.commit.value());
    }
    void operator()(const core::HeartbeatResponse&) { out.setHeartbeatResponse(); }
    void operator()(const core::TimeoutNow&) { out.setTimeoutNow(); }
    void operator()(const core::InstallLogStart& body) {
        auto install = out.initInstallLogStart();
        install.setBaseIndex(body.base_index.value());
        install.setBaseTerm(body.base_term.value());
        const core::Membership& membership = body.membership;
        auto membership_out = install.initMembership();
        put_ids(membership_out.initVoters(static_cast<unsigned>(membership.voters.size())),
                membership.voters);
        put_ids(membership_out.initLearners(static_cast<unsigned>(membership.learners.size())),
                membership.learners);
        install.setLeaderCommit(body.leader_commit.value());
    }
};

// Appends what Cap'n Proto writes to an io::Bytes.
class BytesOutput final : public kj::OutputStream {
public:
    explicit BytesOutput(io::Bytes& out) : out_(out) {}
    void write(const void* buffer, size_t size) override {
        const auto* bytes = static_cast<const std::uint8_t*>(buffer);
        out_.insert(out_.end(), bytes, bytes + size);
    }

private:
    io::Bytes& out_;
};

void check_encodable(const core::PeerBatch& batch) {
    SAMSA_ASSERT(batch.from.value() > 0 && batch.to.value() > 0);
    SAMSA_ASSERT(batch.messages.size() <= core::PeerBatchLimits::messages_max);
    std::size_t entries = 0;
    for (const core::GroupMessage& message : batch.messages) {
        SAMSA_ASSERT_MSG(message.message.from == batch.from && message.message.to == batch.to,
                         "a message in the batch of another pair of nodes");
        if (const auto* append = std::get_if<core::AppendRequest>(&message.message.body)) {
            entries += append->entries.size();
        }
    }
    SAMSA_ASSERT(entries <= core::PeerBatchLimits::entries_max);
}

// ---- Decoding -----------------------------------------------------------

// Reads a batch out of a Cap'n Proto reader and checks what the Raft core
// relies on. The first failure is kept (sticky) and ends the read; values
// returned after it are placeholders that the caller drops.
class Decoder {
public:
    std::optional<core::PeerBatch> batch(wire::PeerBatch::Reader in);
    [[nodiscard]] PeerDecodeError error() const {
        SAMSA_ASSERT(error_.has_value());
        return *error_;
    }

private:
    void fail(PeerDecodeError error) {
        if (!error_.has_value()) error_ = error;
    }
    core::Index index(std::int64_t value) {
        if (value < 0) fail(PeerDecodeError::invalid);
        return core::Index(value);
    }
    core::Term term(std::int32_t value) {
        if (value < 0) fail(PeerDecodeError::invalid);
        return core::Term(value);
    }

    core::MessageBody body(wire::GroupMessage::Body::Reader in, core::Term message_term);
    core::VoteRequest vote_request(wire::VoteRequest::Reader in);
    core::AppendRequest append_request(wire::AppendRequest::Reader in, core::Term message_term);
    std::vector<core::Entry> entries(capnp::List<wire::Entry>::Reader in, core::Index prev_index,
                                     core::Term prev_term, core::Term message_term);
    std::optional<core::Entry> entry(wire::Entry::Reader in);
    core::AppendResponse append_response(wire::AppendResponse::Reader in);
    core::InstallLogStart install_log_start(wire::InstallLogStart::Reader in);
    static std::vector<NodeId> ids(capnp::List<std::int32_t>::Reader in);

    std::optional<PeerDecodeError> error_;
    std::size_t entries_total_ = 0;  // over the whole batch
};

std::optional<core::PeerBatch> Decoder::batch(wire::PeerBatch::Reader in) {
    core::PeerBatch out;
    out.from = NodeId(in.getFrom());
    out.to = NodeId(in.getTo());
    if (out.from.value() <= 0 || out.to.value() <= 0) {
        fail(PeerDecodeError::invalid);
        return std::nullopt;
    }
    const auto messages = in.getMessages();
    if (messages.size() > core::PeerBatchLimits::messages_max) {
        fail(PeerDecodeError::too_large);
        return std::nullopt;
    }
    out.messages.reserve(messages.size());
    for (wire::GroupMessage::Reader message : messages) {
        const core::Term message_term = term(message.getTerm());
        core::MessageBody message_body = body(message.getBody(), message_term);
        if (error_.has_value()) return std::nullopt;
        out.messages.push_back(core::GroupMessage{
            core::RaftGroupId(message.getGroup()),
            core::Message{out.from, out.to, message_term, std::move(message_body)}});
    }
    SAMSA_ASSERT(out.messages.size() == messages.size());
    return out;
}

core::MessageBody Decoder::body(wire::GroupMessage::Body::Reader in, core::Term message_term) {
    using Which = wire::GroupMessage::Body::Which;
    switch (in.which()) {
        case Which::VOTE_REQUEST: return vote_request(in.getVoteRequest());
        case Which::VOTE_RESPONSE: {
            const auto response = in.getVoteResponse();
            return core::VoteResponse{response.getPreVote(), response.getGranted()};
        }
        case Which::APPEND_REQUEST: return append_request(in.getAppendRequest(), message_term);
        case Which::APPEND_RESPONSE: return append_response(in.getAppendResponse());
        case Which::HEARTBEAT: return core::Heartbeat{index(in.getHeartbeat().getCommit())};
        case Which::HEARTBEAT_RESPONSE: return core::HeartbeatResponse{};
        case Which::TIMEOUT_NOW: return core::TimeoutNow{};
        case Which::INSTALL_LOG_START: return install_log_start(in.getInstallLogStart());
    }
    fail(PeerDecodeError::invalid);  // a body from a newer schema
    return core::TimeoutNow{};
}

core::VoteRequest Decoder::vote_request(wire::VoteRequest::Reader in) {
    core::VoteRequest out;
    out.pre_vote = in.getPreVote();
    out.transfer = in.getTransfer();
    out.last_index = index(in.getLastIndex());
    out.last_term = term(in.getLastTerm());
    return out;
}

core::AppendRequest Decoder::append_request(wire::AppendRequest::Reader in,
                                            core::Term message_term) {
    core::AppendRequest out;
    out.prev_index = index(in.getPrevIndex());
    out.prev_term = term(in.getPrevTerm());
    out.leader_commit = index(in.getLeaderCommit());
    if (error_.has_value()) return out;
    out.entries = entries(in.getEntries(), out.prev_index, out.prev_term, message_term);
    return out;
}

// Entries extend (prev_index, prev_term) one index at a time, their terms
// never decrease and never exceed the term of the leader that sent them:
// RaftLog::append asserts the first two.
std::vector<core::Entry> Decoder::entries(capnp::List<wire::Entry>::Reader in,
                                          core::Index prev_index, core::Term prev_term,
                                          core::Term message_term) {
    entries_total_ += in.size();
    if (entries_total_ > core::PeerBatchLimits::entries_max) {
        fail(PeerDecodeError::too_large);
        return {};
    }
    std::vector<core::Entry> out;
    out.reserve(in.size());
    core::Index last_index = prev_index;
    core::Term last_term = prev_term;
    for (wire::Entry::Reader entry_in : in) {
        std::optional<core::Entry> decoded = entry(entry_in);
        const bool follows = decoded.has_value() &&
                             last_index.value() < std::numeric_limits<std::int64_t>::max() &&
                             decoded->index == last_index.next() && decoded->term >= last_term &&
                             decoded->term <= message_term;
        if (!follows) {
            fail(PeerDecodeError::invalid);
            return {};
        }
        last_index = decoded->index;
        last_term = decoded->term;
        out.push_back(std::move(*decoded));
    }
    SAMSA_ASSERT(out.size() == in.size());
    return out;
}

// nullopt: an unknown kind, or a config entry whose payload is not a valid
// Membership. (entries() checks the term and the index.)
std::optional<core::Entry> Decoder::entry(wire::Entry::Reader in) {
    core::Entry out;
    out.term = core::Term(in.getTerm());
    out.index = core::Index(in.getIndex());
    switch (in.getKind()) {
        case wire::EntryKind::NORMAL: out.kind = core::EntryKind::normal; break;
        case wire::EntryKind::CONFIG: out.kind = core::EntryKind::config; break;
        case wire::EntryKind::NOOP: out.kind = core::EntryKind::noop; break;
        default: return std::nullopt;
    }
    const auto payload = in.getPayload();
    out.payload.assign(payload.begin(), payload.end());
    if (out.kind == core::EntryKind::config && !core::decode_membership(out.payload)) {
        return std::nullopt;
    }
    return out;
}

core::AppendResponse Decoder::append_response(wire::AppendResponse::Reader in) {
    core::AppendResponse out;
    out.success = in.getSuccess();
    out.match_index = index(in.getMatchIndex());
    out.rejected_index = index(in.getRejectedIndex());
    out.hint_index = index(in.getHintIndex());
    out.hint_term = term(in.getHintTerm());
    out.last_index = index(in.getLastIndex());
    return out;
}

core::InstallLogStart Decoder::install_log_start(wire::InstallLogStart::Reader in) {
    core::InstallLogStart out;
    out.base_index = index(in.getBaseIndex());
    out.base_term = term(in.getBaseTerm());
    out.leader_commit = index(in.getLeaderCommit());
    const auto membership = in.getMembership();
    out.membership.voters = ids(membership.getVoters());
    out.membership.learners = ids(membership.getLearners());
    if (!out.membership.valid()) fail(PeerDecodeError::invalid);
    return out;
}

std::vector<NodeId> Decoder::ids(capnp::List<std::int32_t>::Reader in) {
    std::vector<NodeId> out;
    out.reserve(in.size());
    for (std::int32_t id : in) out.emplace_back(id);
    return out;
}

}  // namespace

io::Bytes encode_peer_batch(const core::PeerBatch& batch) {
    check_encodable(batch);
    const std::size_t words = words_upper_bound(batch);
    SAMSA_ASSERT(words <= std::numeric_limits<unsigned>::max());
    capnp::MallocMessageBuilder builder(static_cast<unsigned>(words));
    auto root = builder.initRoot<wire::PeerBatch>();
    root.setFrom(batch.from.value());
    root.setTo(batch.to.value());
    auto messages = root.initMessages(static_cast<unsigned>(batch.messages.size()));
    for (unsigned i = 0; i < batch.messages.size(); ++i) {
        const core::GroupMessage& message = batch.messages[i];
        wire::GroupMessage::Builder out = messages[i];
        out.setGroup(message.group.value());
        out.setTerm(message.message.term.value());
        std::visit(BodyWriter{out.initBody()}, message.message.body);
    }
    SAMSA_ASSERT_MSG(builder.getSegmentsForOutput().size() == 1, "words_upper_bound too low");
    io::Bytes encoded;
    encoded.reserve(capnp::computeSerializedSizeInWords(builder) * word_bytes);
    BytesOutput output(encoded);
    capnp::writeMessage(output, builder);
    SAMSA_ASSERT(encoded.size() <= core::PeerBatchLimits::bytes_max);
    return encoded;
}

Result<core::PeerBatch, PeerDecodeError> decode_peer_batch(std::span<const std::uint8_t> input) {
    if (input.size() > core::PeerBatchLimits::bytes_max) {
        return Failure{PeerDecodeError::too_large};
    }
    if (input.empty() || input.size() % word_bytes != 0) return Failure{PeerDecodeError::malformed};
    // Cap'n Proto reads words in place, and the input may sit anywhere.
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(input.size() / word_bytes);
    std::memcpy(words.begin(), input.data(), input.size());
    capnp::ReaderOptions options;
    // Each object of a message we wrote is read once. The traversal limit
    // stops a message whose pointers share targets from amplifying its size
    // (and what decoding allocates) beyond a small multiple of the input.
    options.traversalLimitInWords = 2 * words.size() + 64;
    options.nestingLimit = nesting_max;
    try {
        capnp::FlatArrayMessageReader reader(words.asPtr(), options);
        if (reader.getEnd() != words.end()) return Failure{PeerDecodeError::malformed};
        Decoder decoder;
        std::optional<core::PeerBatch> batch = decoder.batch(reader.getRoot<wire::PeerBatch>());
        if (!batch.has_value()) return Failure{decoder.error()};
        return std::move(*batch);
    } catch (const kj::Exception&) {
        // Cap'n Proto throws on out-of-bounds pointers, wrong pointer kinds,
        // and the traversal and nesting limits.
        return Failure{PeerDecodeError::malformed};
    }
}

}  // namespace samsa::net::raft

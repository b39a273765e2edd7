// The Raft peer codec (net/raft/peer_codec.h): exact round trips of every
// message body, the size of batched heartbeats, and hostile input - every
// truncation, every bit flip, random bytes and hand-built messages that break
// a limit or a rule - which must give an error or a batch the core can step.
#include "net/raft/peer_codec.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <span>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/base/prng.h"
#include "net/raft/raft.capnp.h"

namespace samsa::net::raft {
namespace {

namespace core = samsa::raft;
using core::Index;
using core::PeerBatchLimits;
using core::Term;

constexpr NodeId node_a{3};
constexpr NodeId node_b{7};

// ---- Equality (the structs of core/raft have none of their own) ----------

bool equal(const core::VoteRequest& a, const core::VoteRequest& b) {
    return a.pre_vote == b.pre_vote && a.transfer == b.transfer && a.last_index == b.last_index &&
           a.last_term == b.last_term;
}
bool equal(const core::VoteResponse& a, const core::VoteResponse& b) {
    return a.pre_vote == b.pre_vote && a.granted == b.granted;
}
bool equal(const core::AppendRequest& a, const core::AppendRequest& b) {
    return a.prev_index == b.prev_index && a.prev_term == b.prev_term && a.entries == b.entries &&
           a.leader_commit == b.leader_commit;
}
bool equal(const core::AppendResponse& a, const core::AppendResponse& b) {
    return a.success == b.success && a.match_index == b.match_index &&
           a.rejected_index == b.rejected_index && a.hint_index == b.hint_index &&
           a.hint_term == b.hint_term && a.last_index == b.last_index;
}
bool equal(const core::Heartbeat& a, const core::Heartbeat& b) {
    return a.commit == b.commit;
}
bool equal(const core::HeartbeatResponse&, const core::HeartbeatResponse&) {
    return true;
}
bool equal(const core::TimeoutNow&, const core::TimeoutNow&) {
    return true;
}
bool equal(const core::InstallLogStart& a, const core::InstallLogStart& b) {
    return a.base_index == b.base_index && a.base_term == b.base_term &&
           a.membership == b.membership && a.leader_commit == b.leader_commit;
}

bool equal(const core::PeerBatch& a, const core::PeerBatch& b) {
    if (a.from != b.from || a.to != b.to || a.messages.size() != b.messages.size()) return false;
    for (std::size_t i = 0; i < a.messages.size(); ++i) {
        const core::GroupMessage& left = a.messages[i];
        const core::GroupMessage& right = b.messages[i];
        if (left.group != right.group || left.message.from != right.message.from ||
            left.message.to != right.message.to || left.message.term != right.message.term ||
            left.message.body.index() != right.message.body.index()) {
            return false;
        }
        const bool same = std::visit(
            [&](const auto& body) {
                return equal(body, std::get<std::decay_t<decltype(body)>>(right.message.body));
            },
            left.message.body);
        if (!same) return false;
    }
    return true;
}

// ---- Samples ----------------------------------------------------------------

core::Entry entry(Term term, std::int64_t index, core::EntryKind kind, io::Bytes payload) {
    return core::Entry{term, Index(index), kind, std::move(payload)};
}

core::Membership membership(std::vector<std::int32_t> voters, std::vector<std::int32_t> learners) {
    core::Membership out;
    for (std::int32_t id : voters) out.voters.emplace_back(id);
    for (std::int32_t id : learners) out.learners.emplace_back(id);
    return out;
}

// One body of each kind, every field away from its default.
std::vector<core::MessageBody> one_of_each_body() {
    core::AppendRequest append{Index(41), Term(4), {}, Index(40)};
    append.entries.push_back(entry(Term(4), 42, core::EntryKind::normal, {1, 2, 3}));
    append.entries.push_back(entry(Term(5), 43, core::EntryKind::noop, {}));
    append.entries.push_back(entry(Term(5), 44, core::EntryKind::config,
                                   core::encode_membership(membership({3, 7, 9}, {11}))));
    return {
        core::VoteRequest{true, true, Index(1000), Term(4)},
        core::VoteResponse{true, true},
        append,
        core::AppendResponse{true, Index(10), Index(11), Index(12), Term(3), Index(14)},
        core::Heartbeat{Index(99)},
        core::HeartbeatResponse{},
        core::TimeoutNow{},
        core::InstallLogStart{Index(500), Term(4), membership({3, 7}, {9, 12}), Index(501)},
    };
}

core::PeerBatch batch_of(std::vector<core::MessageBody> bodies) {
    core::PeerBatch batch{node_a, node_b, {}};
    std::uint32_t group = 17;
    for (core::MessageBody& body : bodies) {
        batch.messages.push_back(core::GroupMessage{
            core::RaftGroupId(group), core::Message{node_a, node_b, Term(5), std::move(body)}});
        group += 1000;
    }
    return batch;
}

io::Bytes random_payload(Prng& prng, std::size_t bytes_max) {
    io::Bytes out(prng.uniform(bytes_max + 1));
    for (auto& byte : out) byte = static_cast<std::uint8_t>(prng.next_u64());
    return out;
}

core::MessageBody random_body(Prng& prng, Term term) {
    const auto index = [&] { return Index(prng.range(0, 1 << 20)); };
    const auto older_term = [&] {
        return Term(static_cast<std::int32_t>(prng.range(0, term.value())));
    };
    switch (prng.uniform(8)) {
        case 0: return core::VoteRequest{prng.chance(0.5), prng.chance(0.5), index(), older_term()};
        case 1: return core::VoteResponse{prng.chance(0.5), prng.chance(0.5)};
        case 2: {
            core::AppendRequest append{index(), older_term(), {}, index()};
            const auto count = prng.uniform(5);
            for (std::uint64_t i = 0; i < count; ++i) {
                append.entries.push_back(
                    entry(term, append.prev_index.value() + 1 + static_cast<std::int64_t>(i),
                          core::EntryKind::normal, random_payload(prng, 64)));
            }
            return append;
        }
        case 3:
            return core::AppendResponse{prng.chance(0.5), index(),      index(),
                                        index(),          older_term(), index()};
        case 4: return core::Heartbeat{index()};
        case 5: return core::HeartbeatResponse{};
        case 6: return core::TimeoutNow{};
        default:
            return core::InstallLogStart{index(), older_term(), membership({1, 2, 3}, {4}),
                                         index()};
    }
}

// ---- Checks -------------------------------------------------------------------

// Decodes, compares with the original and re-encodes to the same bytes.
void expect_round_trip(const core::PeerBatch& batch) {
    const io::Bytes encoded = encode_peer_batch(batch);
    const auto decoded = decode_peer_batch(encoded);
    ASSERT_TRUE(decoded.ok()) << to_string(decoded.error());
    EXPECT_TRUE(equal(batch, decoded.value()));
    EXPECT_EQ(encode_peer_batch(decoded.value()), encoded);
}

// What every accepted input must give: a batch the encoder takes (it asserts
// ids, limits and the per-message from/to) that round-trips exactly.
void expect_accepted_batch_is_sound(const core::PeerBatch& batch) {
    EXPECT_GT(batch.from.value(), 0);
    EXPECT_GT(batch.to.value(), 0);
    for (const core::GroupMessage& message : batch.messages) {
        EXPECT_EQ(message.message.from, batch.from);
        EXPECT_EQ(message.message.to, batch.to);
        EXPECT_GE(message.message.term.value(), 0);
        if (const auto* install = std::get_if<core::InstallLogStart>(&message.message.body)) {
            EXPECT_TRUE(install->membership.valid());
        }
    }
    expect_round_trip(batch);
}

// Any input: an error, or a sound batch. Never a crash (ASan/UBSan builds
// check the rest).
void expect_total(std::span<const std::uint8_t> input) {
    const auto decoded = decode_peer_batch(input);
    if (decoded.ok()) expect_accepted_batch_is_sound(decoded.value());
}

// Builds a message with the schema directly, to make what our encoder never would.
io::Bytes encode_raw(const std::function<void(wire::PeerBatch::Builder)>& fill) {
    capnp::MallocMessageBuilder builder;
    auto root = builder.initRoot<wire::PeerBatch>();
    root.setFrom(node_a.value());
    root.setTo(node_b.value());
    fill(root);
    const kj::Array<capnp::word> words = capnp::messageToFlatArray(builder);
    const auto bytes = words.asBytes();
    return io::Bytes(bytes.begin(), bytes.end());
}

PeerDecodeError decode_error(const io::Bytes& input) {
    const auto decoded = decode_peer_batch(input);
    EXPECT_FALSE(decoded.ok());
    return decoded.ok() ? PeerDecodeError::malformed : decoded.error();
}

// ---- Round trips ----------------------------------------------------------

TEST(PeerCodec, RoundTripsEveryBodyKindAlone) {
    const std::vector<core::MessageBody> bodies = one_of_each_body();
    ASSERT_EQ(bodies.size(), std::variant_size_v<core::MessageBody>);
    for (const core::MessageBody& body : bodies) {
        SCOPED_TRACE(body.index());
        expect_round_trip(batch_of({body}));
    }
}

TEST(PeerCodec, RoundTripsEveryBodyKindTogether) {
    expect_round_trip(batch_of(one_of_each_body()));
}

TEST(PeerCodec, RoundTripsABatchOfManyGroups) {
    Prng prng(20240611);
    core::PeerBatch batch{NodeId(1), NodeId(2), {}};
    for (std::uint32_t group = 0; group < 5000; ++group) {
        const Term term(static_cast<std::int32_t>(prng.range(0, 1000)));
        batch.messages.push_back(
            core::GroupMessage{core::RaftGroupId(group * 7919),
                               core::Message{batch.from, batch.to, term, random_body(prng, term)}});
    }
    expect_round_trip(batch);
}

TEST(PeerCodec, RoundTripsAnEmptyBatch) {
    const core::PeerBatch batch{node_a, node_b, {}};
    expect_round_trip(batch);
    const auto decoded = decode_peer_batch(encode_peer_batch(batch));
    ASSERT_TRUE(decoded.ok());
    EXPECT_TRUE(decoded.value().messages.empty());
}

TEST(PeerCodec, RoundTripsLargePayloads) {
    Prng prng(7);
    core::AppendRequest append{Index(0), Term(0), {}, Index(0)};
    std::int64_t index = 1;
    for (std::size_t bytes :
         {std::size_t{0}, std::size_t{1}, std::size_t{4} << 20, (std::size_t{1} << 20) + 3}) {
        io::Bytes payload(bytes);
        for (auto& byte : payload) byte = static_cast<std::uint8_t>(prng.next_u64());
        append.entries.push_back(
            entry(Term(2), index++, core::EntryKind::normal, std::move(payload)));
    }
    expect_round_trip(batch_of({append, core::Heartbeat{Index(3)}}));
}

TEST(PeerCodec, DecodesInputAtAnyAlignment) {
    const io::Bytes encoded = encode_peer_batch(batch_of(one_of_each_body()));
    for (std::size_t shift = 1; shift < 8; ++shift) {
        io::Bytes shifted(shift, 0xee);
        shifted.insert(shifted.end(), encoded.begin(), encoded.end());
        const auto decoded = decode_peer_batch(std::span(shifted).subspan(shift));
        ASSERT_TRUE(decoded.ok());
        EXPECT_TRUE(equal(decoded.value(), batch_of(one_of_each_body())));
    }
}

// Heartbeats are batched per peer on every tick, for every group: each must
// cost a few words, not a message of its own.
TEST(PeerCodec, ThousandHeartbeatsAreSmall) {
    std::vector<core::MessageBody> heartbeats(1000, core::Heartbeat{Index(123456789)});
    const io::Bytes encoded = encode_peer_batch(batch_of(std::move(heartbeats)));
    EXPECT_LT(encoded.size(), 40u * 1000);
    EXPECT_LE(encoded.size(), 32u * 1000 + 64);  // 3 words in the list, 1 for the body
}

// ---- Hostile input -----------------------------------------------------------

TEST(PeerCodec, RejectsEveryTruncationAndTrailingBytes) {
    const io::Bytes encoded = encode_peer_batch(batch_of(one_of_each_body()));
    for (std::size_t size = 0; size < encoded.size(); ++size) {
        SCOPED_TRACE(size);
        EXPECT_FALSE(decode_peer_batch(std::span(encoded).first(size)).ok());
    }
    io::Bytes longer = encoded;
    longer.insert(longer.end(), 8, 0);
    EXPECT_EQ(decode_error(longer), PeerDecodeError::malformed);
}

TEST(PeerCodec, SurvivesEverySingleBitFlip) {
    const io::Bytes encoded = encode_peer_batch(batch_of(one_of_each_body()));
    io::Bytes flipped = encoded;
    for (std::size_t bit = 0; bit < encoded.size() * 8; ++bit) {
        SCOPED_TRACE(bit);
        flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        expect_total(flipped);
        flipped[bit / 8] = encoded[bit / 8];
    }
}

TEST(PeerCodec, SurvivesRandomBytes) {
    Prng prng(0x5eed);
    const io::Bytes valid = encode_peer_batch(batch_of(one_of_each_body()));
    for (int round = 0; round < 10000; ++round) {
        io::Bytes input = random_payload(prng, 256);
        // Half of them start like a one-segment message of the right size, so
        // the decoder gets past the segment table to the pointers.
        if (prng.chance(0.5)) {
            input.resize((input.size() / 8 + 2) * 8);
            const auto words = static_cast<std::uint32_t>(input.size() / 8 - 1);
            for (int i = 0; i < 4; ++i) input[static_cast<std::size_t>(i)] = 0;
            for (int i = 0; i < 4; ++i) {
                input[static_cast<std::size_t>(4 + i)] =
                    static_cast<std::uint8_t>(words >> (8 * i));
            }
        }
        // A quarter are a valid message with random bytes overwritten.
        if (prng.chance(0.25)) {
            input = valid;
            for (int i = 0; i < 4; ++i) {
                input[prng.uniform(input.size())] = static_cast<std::uint8_t>(prng.next_u64());
            }
        }
        expect_total(input);
    }
}

TEST(PeerCodec, RefusesMoreMessagesThanTheLimit) {
    const io::Bytes input = encode_raw([](wire::PeerBatch::Builder root) {
        auto messages = root.initMessages(PeerBatchLimits::messages_max + 1);
        for (auto message : messages) message.getBody().setTimeoutNow();
    });
    EXPECT_EQ(decode_error(input), PeerDecodeError::too_large);
}

TEST(PeerCodec, RefusesMoreEntriesThanTheLimit) {
    const io::Bytes input = encode_raw([](wire::PeerBatch::Builder root) {
        auto append = root.initMessages(1)[0].getBody().initAppendRequest();
        auto entries = append.initEntries(PeerBatchLimits::entries_max + 1);
        for (unsigned i = 0; i < entries.size(); ++i) entries[i].setIndex(i + 1);
    });
    EXPECT_EQ(decode_error(input), PeerDecodeError::too_large);
}

TEST(PeerCodec, RefusesMoreBytesThanTheLimit) {
    const io::Bytes input(PeerBatchLimits::bytes_max + 8, 0);
    EXPECT_EQ(decode_error(input), PeerDecodeError::too_large);
}

void set_membership(wire::PeerBatch::Builder root, std::vector<std::int32_t> voters,
                    std::vector<std::int32_t> learners) {
    auto install = root.initMessages(1)[0].getBody().initInstallLogStart();
    auto members = install.initMembership();
    auto voters_out = members.initVoters(static_cast<unsigned>(voters.size()));
    for (unsigned i = 0; i < voters.size(); ++i) voters_out.set(i, voters[i]);
    auto learners_out = members.initLearners(static_cast<unsigned>(learners.size()));
    for (unsigned i = 0; i < learners.size(); ++i) learners_out.set(i, learners[i]);
}

TEST(PeerCodec, RefusesAnInvalidMembership) {
    const auto with = [](std::vector<std::int32_t> voters, std::vector<std::int32_t> learners) {
        return encode_raw(
            [&](wire::PeerBatch::Builder root) { set_membership(root, voters, learners); });
    };
    EXPECT_TRUE(decode_peer_batch(with({1, 2, 3}, {4})).ok());
    EXPECT_EQ(decode_error(with({3, 1, 2}, {})), PeerDecodeError::invalid);   // unsorted
    EXPECT_EQ(decode_error(with({1, 2}, {5, 4})), PeerDecodeError::invalid);  // unsorted learners
    EXPECT_EQ(decode_error(with({1, 2, 2}, {})), PeerDecodeError::invalid);   // duplicate
    EXPECT_EQ(decode_error(with({1, 2}, {2})), PeerDecodeError::invalid);     // not disjoint
    EXPECT_EQ(decode_error(with({}, {1})), PeerDecodeError::invalid);         // no voter
}

// Two entries after (prev_index 10, prev_term 2) in a message of term 3; `edit`
// spoils one thing.
io::Bytes append_with(const std::function<void(wire::GroupMessage::Builder)>& edit) {
    return encode_raw([&](wire::PeerBatch::Builder root) {
        auto message = root.initMessages(1)[0];
        message.setTerm(3);
        auto append = message.getBody().initAppendRequest();
        append.setPrevIndex(10);
        append.setPrevTerm(2);
        auto entries = append.initEntries(2);
        entries[0].setIndex(11);
        entries[0].setTerm(2);
        entries[1].setIndex(12);
        entries[1].setTerm(3);
        edit(message);
    });
}

TEST(PeerCodec, RefusesEntriesThatDoNotExtendTheLog) {
    using Message = wire::GroupMessage::Builder;
    const auto entries = [](Message message) {
        return message.getBody().getAppendRequest().getEntries();
    };
    EXPECT_TRUE(decode_peer_batch(append_with([](Message) {})).ok());
    const std::vector<std::function<void(Message)>> spoilers = {
        [&](Message m) { entries(m)[1].setIndex(13); },  // a gap
        [&](Message m) { entries(m)[0].setIndex(10); },  // overlaps prev
        [&](Message m) { entries(m)[0].setTerm(1); },    // below prev_term
        [&](Message m) { entries(m)[1].setTerm(4); },    // above the message's
        [&](Message m) { entries(m)[0].setTerm(-1); },   // negative
        [&](Message m) { entries(m)[0].setKind(static_cast<wire::EntryKind>(3)); },  // unknown kind
        [&](Message m) { entries(m)[0].setKind(wire::EntryKind::CONFIG); },  // no membership
        [&](Message m) { m.getBody().getAppendRequest().setPrevIndex(-1); },
        [&](Message m) { m.getBody().getAppendRequest().setLeaderCommit(-5); },
        [&](Message m) { m.setTerm(-3); },
    };
    for (std::size_t i = 0; i < spoilers.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(decode_error(append_with(spoilers[i])), PeerDecodeError::invalid);
    }
}

TEST(PeerCodec, RefusesNonPositiveNodesAndNegativeIndexes) {
    EXPECT_EQ(decode_error(encode_raw([](wire::PeerBatch::Builder root) { root.setFrom(0); })),
              PeerDecodeError::invalid);
    EXPECT_EQ(decode_error(encode_raw([](wire::PeerBatch::Builder root) { root.setTo(-4); })),
              PeerDecodeError::invalid);
    EXPECT_EQ(decode_error(encode_raw([](wire::PeerBatch::Builder root) {
                  root.initMessages(1)[0].getBody().initHeartbeat().setCommit(-1);
              })),
              PeerDecodeError::invalid);
    EXPECT_EQ(decode_error(encode_raw([](wire::PeerBatch::Builder root) {
                  root.initMessages(1)[0].getBody().initAppendResponse().setHintTerm(-1);
              })),
              PeerDecodeError::invalid);
}

TEST(PeerCodec, NamesItsErrors) {
    EXPECT_STREQ(to_string(PeerDecodeError::malformed), "malformed");
    EXPECT_STREQ(to_string(PeerDecodeError::too_large), "too_large");
    EXPECT_STREQ(to_string(PeerDecodeError::invalid), "invalid");
}

}  // namespace
}  // namespace samsa::net::raft

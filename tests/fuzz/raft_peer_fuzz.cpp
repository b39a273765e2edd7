// libFuzzer target for the Raft peer codec (net/raft/peer_codec.h). Any input
// must either decode or be rejected with an error, without crashing, throwing
// or undefined behaviour (the fuzz build adds ASan and UBSan). A decoded batch
// must be one the encoder accepts (it asserts ids, limits and each message's
// from/to) and survive a round trip: its encoding decodes and re-encodes to
// the same bytes.
//
// Build and run (clang, in the build dir tools/fuzz.sh configures):
//   meson compile -C build-fuzz raft-peer-fuzz
//   build-fuzz/net/raft/raft-peer-fuzz -max_total_time=60 -max_len=4096
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "core/base/assert.h"
#include "net/raft/peer_codec.h"

namespace {

namespace raft = samsa::raft;

void check_batch(const raft::PeerBatch& batch) {
    SAMSA_ASSERT(batch.from.value() > 0 && batch.to.value() > 0);
    SAMSA_ASSERT(batch.messages.size() <= raft::PeerBatchLimits::messages_max);
    for (const raft::GroupMessage& message : batch.messages) {
        SAMSA_ASSERT(message.message.from == batch.from && message.message.to == batch.to);
        SAMSA_ASSERT(message.message.term.value() >= 0);
        if (const auto* install = std::get_if<raft::InstallLogStart>(&message.message.body)) {
            SAMSA_ASSERT(install->membership.valid());
        }
    }
}

void check_round_trip(const raft::PeerBatch& batch) {
    const samsa::io::Bytes encoded = samsa::net::raft::encode_peer_batch(batch);
    const auto again = samsa::net::raft::decode_peer_batch(encoded);
    SAMSA_ASSERT(again.ok());
    SAMSA_ASSERT(again.value().messages.size() == batch.messages.size());
    SAMSA_ASSERT(samsa::net::raft::encode_peer_batch(again.value()) == encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto decoded = samsa::net::raft::decode_peer_batch(std::span(data, size));
    if (decoded.ok()) {
        check_batch(decoded.value());
        check_round_trip(decoded.value());
    } else {
        SAMSA_ASSERT(samsa::net::raft::to_string(decoded.error()) != nullptr);
    }
    return 0;
}

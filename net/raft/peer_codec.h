// The wire codec of a PeerBatch (core/raft/peer_batch.h): what one broker's
// Raft groups send another, as one Cap'n Proto message (net/raft/raft.capnp).
// Cap'n Proto stays behind this header: callers see plain structs and bytes.
//
// Theory of operation: encoding is given a batch the program built itself, so
// a batch beyond PeerBatchLimits or with a message whose from/to differ from
// the batch's is a programmer error and asserts. Decoding is total: any byte
// string either decodes to a batch that satisfies every check below or gives
// an error, and never throws, crashes or allocates more than a small multiple
// of the input. A decoded batch is one the Raft core can step without
// tripping its own assertions: ids positive, terms and indexes never
// negative, appended entries contiguous after (prev_index, prev_term) with
// terms that never decrease, config entries and installed memberships valid.
#pragma once

#include <cstdint>
#include <span>

#include "core/base/result.h"
#include "core/io/seam.h"
#include "core/raft/peer_batch.h"

namespace samsa::net::raft {

// Why a decode failed. Each is bad input from a peer, never a programmer error.
enum class PeerDecodeError : std::uint8_t {
    malformed,  // not a Cap'n Proto message of this schema (truncated, bad pointer, trailing bytes)
    too_large,  // beyond PeerBatchLimits (bytes, messages or entries)
    invalid,    // well-formed but meaningless: a bad id, term, index, membership, kind or body
};
const char* to_string(PeerDecodeError error) noexcept;

// The batch as one single-segment Cap'n Proto message (segment table
// included), at most PeerBatchLimits::bytes_max bytes.
io::Bytes encode_peer_batch(const samsa::raft::PeerBatch& batch);

// Each decoded message's from/to are the batch's.
Result<samsa::raft::PeerBatch, PeerDecodeError> decode_peer_batch(
    std::span<const std::uint8_t> input);

}  // namespace samsa::net::raft

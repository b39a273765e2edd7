# The broker-to-broker Raft wire format: one PeerBatch per network message,
# carrying everything one node's Raft groups address to one peer during a step
# (core/raft/peer_batch.h). net/raft/peer_codec.cpp converts to and from the
# plain structs of core/raft/messages.h; nothing outside it sees this schema.
#
# Layout choices, for size: a batch names `from` and `to` once, not per
# message; each message's fixed part is two words plus one pointer, so a
# heartbeat costs 24 + 8 bytes and the empty bodies (heartbeatResponse,
# timeoutNow) are Void and cost nothing beyond the fixed part.
#
# Evolution: add fields only at new ordinals and new union members only at the
# end; a decoder refuses a body or an entry kind it does not know.
@0xf0dc663434f9b7f2;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("samsa::net::raft::wire");

struct PeerBatch {
  from @0 :Int32;
  to @1 :Int32;
  messages @2 :List(GroupMessage);
}

struct GroupMessage {
  group @0 :UInt32;
  term @1 :Int32;
  body :union {
    voteRequest @2 :VoteRequest;
    voteResponse @3 :VoteResponse;
    appendRequest @4 :AppendRequest;
    appendResponse @5 :AppendResponse;
    heartbeat @6 :Heartbeat;
    heartbeatResponse @7 :Void;
    timeoutNow @8 :Void;
    installLogStart @9 :InstallLogStart;
  }
}

struct VoteRequest {
  preVote @0 :Bool;
  transfer @1 :Bool;
  lastIndex @2 :Int64;
  lastTerm @3 :Int32;
}

struct VoteResponse {
  preVote @0 :Bool;
  granted @1 :Bool;
}

struct AppendRequest {
  prevIndex @0 :Int64;
  prevTerm @1 :Int32;
  entries @2 :List(Entry);
  leaderCommit @3 :Int64;
}

struct AppendResponse {
  success @0 :Bool;
  matchIndex @1 :Int64;
  rejectedIndex @2 :Int64;
  hintIndex @3 :Int64;
  hintTerm @4 :Int32;
  lastIndex @5 :Int64;
}

struct Heartbeat {
  commit @0 :Int64;
}

struct InstallLogStart {
  baseIndex @0 :Int64;
  baseTerm @1 :Int32;
  membership @2 :Membership;
  leaderCommit @3 :Int64;
}

enum EntryKind {
  normal @0;
  config @1;
  noop @2;
}

struct Entry {
  term @0 :Int32;
  index @1 :Int64;
  kind @2 :EntryKind;
  payload @3 :Data;
}

# Both sorted ascending and disjoint, at least one voter (Membership::valid).
struct Membership {
  voters @0 :List(Int32);
  learners @1 :List(Int32);
}

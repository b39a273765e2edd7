// Unit tests for the Kafka codec (net/kafka). Three kinds of evidence:
//  * round trips of every request and response at every advertised version,
//    with sample values that differ from every default, so a field that a
//    version drops must come back as its default (clear_absent) — and every
//    strict prefix of each encoding must be rejected;
//  * byte-exact frames assembled here by hand from the protocol guide's
//    layouts, independent of the generated code and its version table;
//  * hostile inputs: huge counts and lengths are rejected without a large
//    allocation (this binary counts allocations through operator new).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <new>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "net/kafka/api.h"
#include "net/kafka/messages_testing.h"
#include "net/kafka/wire.h"

namespace {

std::size_t largest_allocation_bytes = 0;

}  // namespace

// Every allocation of this test binary goes through here, so a test can see
// the largest one a decode made. Not inlined, so that GCC does not pair the
// standard library's `new` with the `free` below (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t size) {
    largest_allocation_bytes = std::max(largest_allocation_bytes, size);
    void* memory = std::malloc(size == 0 ? 1 : size);
    if (memory == nullptr) throw std::bad_alloc();
    return memory;
}
[[gnu::noinline]] void operator delete(void* memory) noexcept {
    std::free(memory);
}
[[gnu::noinline]] void operator delete(void* memory, std::size_t) noexcept {
    std::free(memory);
}

namespace samsa::kafka {

void PrintTo(WireError error, std::ostream* os) {
    *os << to_string(error);
}
void PrintTo(RequestErrorKind kind, std::ostream* os) {
    *os << to_string(kind);
}

namespace {

// Appends big-endian integers and Kafka strings: the test's own encoder.
class Frame {
public:
    Frame& i8(int value) { return put(static_cast<std::uint64_t>(value), 1); }
    Frame& i16(int value) { return put(static_cast<std::uint64_t>(value), 2); }
    Frame& i32(std::int64_t value) { return put(static_cast<std::uint64_t>(value), 4); }
    Frame& i64(std::int64_t value) { return put(static_cast<std::uint64_t>(value), 8); }
    Frame& str(const std::string& text) {
        i16(static_cast<int>(text.size()));
        bytes_.insert(bytes_.end(), text.begin(), text.end());
        return *this;
    }
    // Prepends the int32 size of everything appended so far.
    Bytes sized() const {
        Frame size;
        size.i32(static_cast<std::int64_t>(bytes_.size()));
        Bytes out = size.bytes_;
        out.insert(out.end(), bytes_.begin(), bytes_.end());
        return out;
    }
    const Bytes& bytes() const { return bytes_; }

private:
    Frame& put(std::uint64_t value, int size) {
        for (int shift = 8 * (size - 1); shift >= 0; shift -= 8) {
            bytes_.push_back(static_cast<std::uint8_t>(value >> shift));
        }
        return *this;
    }

    Bytes bytes_;
};

template <class Body>
Bytes encode_body(const Body& body, std::int16_t version) {
    Bytes bytes;
    Writer writer(bytes);
    body.encode(version, writer);
    return bytes;
}

// Round trip of one message type at every version, with and without nulls,
// and the rejection of every strict prefix of each encoding.
template <class Body>
void check_message(const char* kind) {
    for (std::int16_t version = Body::min_version; version <= Body::max_version; ++version) {
        for (bool nulls : {false, true}) {
            SCOPED_TRACE(std::string(api_name(Body::api_key)) + kind + " v" +
                         std::to_string(version) + (nulls ? " with nulls" : ""));
            Body sample;
            testing::SampleSource source;
            testing::fill(sample, source, version, nulls);
            Bytes bytes = encode_body(sample, version);

            Reader reader(bytes);
            auto decoded = Body::decode(version, reader);
            ASSERT_TRUE(decoded.ok()) << to_string(decoded.error());
            EXPECT_TRUE(reader.at_end());
            Body expected = sample;
            testing::clear_absent(expected, version);
            EXPECT_EQ(decoded.value() == expected, true);
            EXPECT_EQ(encode_body(decoded.value(), version), bytes);

            for (std::size_t size = 0; size < bytes.size(); ++size) {
                Reader prefix(std::span<const std::uint8_t>(bytes).first(size));
                auto partial = Body::decode(version, prefix);
                ASSERT_FALSE(partial.ok()) << "prefix of " << size << " bytes decoded";
                EXPECT_TRUE(partial.error() == WireError::truncated ||
                            partial.error() == WireError::length_exceeds_input);
            }
        }
    }
}

template <std::size_t... index>
void check_all_messages(std::index_sequence<index...>) {
    (check_message<std::variant_alternative_t<index, Request>>("Request"), ...);
    (check_message<std::variant_alternative_t<index, Response>>("Response"), ...);
}

TEST(KafkaCodec, EveryMessageRoundTripsAtEveryVersionAndRejectsEveryPrefix) {
    static_assert(std::variant_size_v<Request> == 20);
    check_all_messages(std::make_index_sequence<std::variant_size_v<Request>>());
}

TEST(KafkaCodec, SamplesDifferFromDefaultsSoDroppedFieldsAreSeen) {
    // Metadata v0 lacks allow_auto_topic_creation (v4+, default true) and the
    // rack (v1+, default null): the sample has them, the v0 decode must not.
    MetadataResponse response;
    testing::SampleSource source;
    testing::fill(response, source, 8, false);
    ASSERT_FALSE(response.brokers.empty());
    ASSERT_TRUE(response.brokers[0].rack.has_value());
    Bytes bytes = encode_body(response, 0);
    Reader reader(bytes);
    auto decoded = MetadataResponse::decode(0, reader);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded.value().brokers[0].rack, std::nullopt);
    EXPECT_EQ(decoded.value().controller_id, -1);
    EXPECT_EQ(decoded.value().topics[0].partitions[0].leader_epoch, -1);
    EXPECT_NE(decoded.value().brokers[0].host, "");

    MetadataRequest request;
    request.allow_auto_topic_creation = false;
    Bytes v3 = encode_body(request, 3);
    Reader request_reader(v3);
    auto request_decoded = MetadataRequest::decode(3, request_reader);
    ASSERT_TRUE(request_decoded.ok());
    EXPECT_TRUE(request_decoded.value().allow_auto_topic_creation);
}

TEST(KafkaCodec, ApiVersionsV0RequestFrameIsByteExact) {
    Frame frame;
    frame.i16(18).i16(0).i32(1).str("abc");  // header v1; the v0 body is empty
    auto parsed = parse_request(frame.bytes());
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed.value().header, (RequestHeader{18, 0, 1, "abc"}));
    EXPECT_TRUE(std::holds_alternative<ApiVersionsRequest>(parsed.value().body));
    EXPECT_EQ(encode_request_frame(parsed.value().header, parsed.value().body), frame.sized());
}

TEST(KafkaCodec, MetadataV1RequestWithOneTopicIsByteExact) {
    Frame frame;
    frame.i16(3).i16(1).i32(42).i16(-1);  // a null client id
    frame.i32(1).str("foo");              // topics: one entry, its name
    MetadataRequest request;
    request.topics = std::vector<MetadataRequest::Topic>{{"foo"}};
    RequestHeader header{3, 1, 42, std::nullopt};
    EXPECT_EQ(encode_request_frame(header, request), frame.sized());

    auto parsed = parse_request(frame.bytes());
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed.value().header, header);
    const auto* body = std::get_if<MetadataRequest>(&parsed.value().body);
    ASSERT_NE(body, nullptr);
    EXPECT_EQ(*body, request);
}

TEST(KafkaCodec, MetadataNullTopicsMeansAllTopicsFromV1AndIsRejectedInV0) {
    Frame v1;
    v1.i16(3).i16(1).i32(1).i16(-1).i32(-1);
    auto parsed = parse_request(v1.bytes());
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(std::get<MetadataRequest>(parsed.value().body).topics, std::nullopt);

    Frame v0;
    v0.i16(3).i16(0).i32(1).i16(-1).i32(-1);
    auto rejected = parse_request(v0.bytes());
    ASSERT_FALSE(rejected.ok());
    EXPECT_EQ(rejected.error().kind, RequestErrorKind::malformed_body);
    EXPECT_EQ(rejected.error().wire_error, WireError::negative_length);
    EXPECT_EQ(rejected.error().header.correlation_id, 1);
}

// The advertised table, written out from the compatibility notes rather
// than read from the generated one.
const std::vector<std::vector<int>> expected_api_table = {
    {0, 3, 8},  {1, 4, 11}, {2, 0, 5},  {3, 0, 8},  {8, 2, 7},  {9, 1, 5},  {10, 0, 2},
    {11, 0, 5}, {12, 0, 3}, {13, 0, 3}, {14, 0, 3}, {15, 0, 4}, {16, 0, 2}, {18, 0, 2},
    {19, 0, 4}, {20, 0, 3}, {22, 0, 1}, {32, 0, 3}, {37, 0, 1}, {42, 0, 1},
};

TEST(KafkaCodec, ApiVersionsFallbackForAnUnsupportedVersionIsByteExact) {
    // librdkafka's opening request: ApiVersions v3, a flexible header (the
    // tagged-field byte after the client id) and a compact body.
    Frame request;
    request.i16(18).i16(3).i32(9).str("rdkafka").i8(0);
    request.i8(8).i8(0x6c).i8(0x69).i8(0x62).i8(0x72).i8(0x64).i8(0x6b).i8(0x61).i8(2).i8(0x32);
    request.i8(0);
    auto parsed = parse_request(request.bytes());
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().kind, RequestErrorKind::unsupported_version);
    EXPECT_EQ(parsed.error().header.api_key, 18);
    EXPECT_EQ(parsed.error().header.correlation_id, 9);

    Frame response;
    response.i32(9);   // response header v0: the correlation id
    response.i16(35);  // UNSUPPORTED_VERSION
    response.i32(static_cast<std::int64_t>(expected_api_table.size()));
    for (const auto& row : expected_api_table) response.i16(row[0]).i16(row[1]).i16(row[2]);
    EXPECT_EQ(encode_api_versions_fallback(9), response.sized());  // v0: no throttle time
}

TEST(KafkaCodec, HandAssembledBodiesMatchTheirVersionLayouts) {
    HeartbeatRequest heartbeat{"g", 5, "m", std::nullopt};
    EXPECT_EQ(encode_body(heartbeat, 0), Frame().str("g").i32(5).str("m").bytes());
    heartbeat.group_instance_id = "i";
    EXPECT_EQ(encode_body(heartbeat, 3), Frame().str("g").i32(5).str("m").str("i").bytes());

    FindCoordinatorResponse coordinator;
    coordinator.node_id = 1;
    coordinator.host = "h";
    coordinator.port = 9092;
    EXPECT_EQ(encode_body(coordinator, 0), Frame().i16(0).i32(1).str("h").i32(9092).bytes());
    EXPECT_EQ(encode_body(coordinator, 1),
              Frame().i32(0).i16(0).str("").i32(1).str("h").i32(9092).bytes());

    // ListOffsets v0 answers with an array of offsets; v1 with one offset
    // and its timestamp.
    ListOffsetsResponse offsets;
    offsets.topics.emplace_back().name = "t";
    auto& partition = offsets.topics[0].partitions.emplace_back();
    partition.partition_index = 2;
    partition.old_style_offsets = {7};
    partition.timestamp = 11;
    partition.offset = 7;
    EXPECT_EQ(encode_body(offsets, 0),
              Frame().i32(1).str("t").i32(1).i32(2).i16(0).i32(1).i64(7).bytes());
    EXPECT_EQ(encode_body(offsets, 1),
              Frame().i32(1).str("t").i32(1).i32(2).i16(0).i64(11).i64(7).bytes());
}

TEST(KafkaCodec, ProduceV3RequestCarriesRecordsAsNullableBytes) {
    Frame frame;
    frame.i16(0).i16(3).i32(5).str("c");
    frame.i16(-1).i16(-1).i32(1500);  // transactional id null, acks -1, timeout
    frame.i32(1).str("t").i32(2);     // one topic, two partitions
    frame.i32(0).i32(3).i8(1).i8(2).i8(3);
    frame.i32(1).i32(-1);  // null records
    auto parsed = parse_request(frame.bytes());
    ASSERT_TRUE(parsed.ok());
    const auto& produce = std::get<ProduceRequest>(parsed.value().body);
    EXPECT_EQ(produce.acks, -1);
    EXPECT_EQ(produce.timeout_ms, 1500);
    ASSERT_EQ(produce.topic_data.size(), 1U);
    ASSERT_EQ(produce.topic_data[0].partition_data.size(), 2U);
    EXPECT_EQ(produce.topic_data[0].partition_data[0].records, (Bytes{1, 2, 3}));
    EXPECT_EQ(produce.topic_data[0].partition_data[1].records, std::nullopt);
}

TEST(KafkaCodec, RequestErrorsKeepTheHeaderToAnswer) {
    auto unknown = parse_request(Frame().i16(99).i16(0).i32(3).i16(-1).bytes());
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().kind, RequestErrorKind::unknown_api_key);
    EXPECT_EQ(unknown.error().header.correlation_id, 3);

    for (int version : {2, 9, -1}) {
        auto old = parse_request(Frame().i16(0).i16(version).i32(4).i16(-1).bytes());
        ASSERT_FALSE(old.ok());
        EXPECT_EQ(old.error().kind, RequestErrorKind::unsupported_version);
    }

    auto header = parse_request(Frame().i16(18).i16(0).i8(0).bytes());
    ASSERT_FALSE(header.ok());
    EXPECT_EQ(header.error().kind, RequestErrorKind::malformed_header);
    EXPECT_EQ(header.error().wire_error, WireError::truncated);

    auto trailing =
        parse_request(Frame().i16(12).i16(0).i32(6).i16(-1).str("g").i32(1).str("m").i8(0).bytes());
    ASSERT_FALSE(trailing.ok());
    EXPECT_EQ(trailing.error().kind, RequestErrorKind::malformed_body);
    EXPECT_EQ(trailing.error().wire_error, WireError::trailing_bytes);
    EXPECT_EQ(trailing.error().header.correlation_id, 6);
}

TEST(KafkaCodec, EveryPrefixOfAFrameIsRejected) {
    Frame frame;
    frame.i16(3).i16(4).i32(42).str("client").i32(2).str("a").str("bb").i8(1);
    ASSERT_TRUE(parse_request(frame.bytes()).ok());
    for (std::size_t size = 0; size < frame.bytes().size(); ++size) {
        auto parsed = parse_request(std::span<const std::uint8_t>(frame.bytes()).first(size));
        ASSERT_FALSE(parsed.ok()) << size;
        EXPECT_TRUE(parsed.error().wire_error.has_value());
    }
}

// Decodes `body` as a `Body` at `version` and returns the error, checking
// that no allocation of more than a kilobyte happened on the way.
template <class Body>
std::optional<WireError> decode_error(const Bytes& body, std::int16_t version) {
    largest_allocation_bytes = 0;
    Reader reader(body);
    auto decoded = Body::decode(version, reader);
    EXPECT_LE(largest_allocation_bytes, 1024U);
    if (decoded.ok()) return std::nullopt;
    return decoded.error();
}

TEST(KafkaCodec, HugeCountsAndLengthsAreRejectedWithoutAllocating) {
    // Metadata v1: topics count.
    EXPECT_EQ(decode_error<MetadataRequest>(Frame().i32(0x7fffffff).str("a").bytes(), 1),
              WireError::length_exceeds_input);
    // A count that fits the bytes only if elements were empty.
    EXPECT_EQ(decode_error<MetadataRequest>(Frame().i32(3).i8(0).i8(0).bytes(), 1),
              WireError::length_exceeds_input);
    EXPECT_EQ(decode_error<MetadataRequest>(Frame().i32(-2).bytes(), 1),
              WireError::negative_length);
    // Strings: longer than the input, negative, and null where not nullable.
    EXPECT_EQ(decode_error<HeartbeatRequest>(Frame().i16(0x7fff).i32(0).bytes(), 0),
              WireError::length_exceeds_input);
    EXPECT_EQ(decode_error<HeartbeatRequest>(Frame().i16(-2).bytes(), 0),
              WireError::negative_length);
    EXPECT_EQ(decode_error<HeartbeatRequest>(Frame().i16(-1).bytes(), 0),
              WireError::negative_length);
    // Bytes and records lengths.
    EXPECT_EQ(decode_error<SyncGroupResponse>(Frame().i16(0).i32(0x7fffffff).i64(0).bytes(), 0),
              WireError::length_exceeds_input);
    Frame produce;
    produce.i16(-1).i16(1).i32(0).i32(1).str("t").i32(1).i32(0).i32(0x7ffffff0);
    EXPECT_EQ(decode_error<ProduceRequest>(produce.bytes(), 3), WireError::length_exceeds_input);
    // Nested: a big count inside an element.
    Frame fetch;
    fetch.i32(-1).i32(0).i32(0).i32(0).i8(0).i32(1).str("t").i32(0x10000000);
    EXPECT_EQ(decode_error<FetchRequest>(fetch.bytes(), 4), WireError::length_exceeds_input);
    // Scalar arrays: broker ids.
    Frame ids;
    ids.i32(0).i32(1).i16(0).str("t");                // no brokers; one topic
    ids.i32(1).i16(0).i32(0).i32(1).i32(0x40000000);  // its partition's replicas
    EXPECT_EQ(decode_error<MetadataResponse>(ids.bytes(), 0), WireError::length_exceeds_input);
}

TEST(KafkaWire, UnsignedVarintsRoundTripAndOverlongOnesAreRejected) {
    for (std::uint32_t value : {0U, 1U, 127U, 128U, 16383U, 16384U, 0xffffffffU}) {
        Bytes bytes;
        Writer writer(bytes);
        writer.write_unsigned_varint(value);
        Reader reader(bytes);
        EXPECT_EQ(reader.read_unsigned_varint(), value);
        EXPECT_TRUE(reader.ok() && reader.at_end());
    }
    Bytes overlong = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    Reader reader(overlong);
    reader.read_unsigned_varint();
    EXPECT_EQ(reader.error(), WireError::invalid_varint);
    Bytes too_big = {0xff, 0xff, 0xff, 0xff, 0x1f};  // 35 bits
    Reader big_reader(too_big);
    big_reader.read_unsigned_varint();
    EXPECT_EQ(big_reader.error(), WireError::invalid_varint);
}

TEST(KafkaWire, TheFirstErrorSticksAndLaterReadsReturnZero) {
    Bytes bytes = {0x00, 0x01, 0x02};
    Reader reader(bytes);
    EXPECT_EQ(reader.read_int16(), 1);
    EXPECT_EQ(reader.read_int32(), 0);
    EXPECT_EQ(reader.error(), WireError::truncated);
    EXPECT_EQ(reader.error_offset(), 2U);
    EXPECT_EQ(reader.read_int8(), 0);  // the byte is there, but the reader has failed
    EXPECT_EQ(reader.position(), 2U);
}

TEST(KafkaApi, TheVersionTableMatchesTheCompatibilityNotes) {
    ASSERT_EQ(api_version_ranges.size(), expected_api_table.size());
    for (std::size_t index = 0; index < expected_api_table.size(); ++index) {
        const auto& row = expected_api_table[index];
        EXPECT_EQ(api_version_ranges[index].api_key, row[0]);
        EXPECT_EQ(api_version_ranges[index].min_version, row[1]);
        EXPECT_EQ(api_version_ranges[index].max_version, row[2]);
        EXPECT_TRUE(
            is_supported(static_cast<std::int16_t>(row[0]), static_cast<std::int16_t>(row[2])));
        EXPECT_FALSE(
            is_supported(static_cast<std::int16_t>(row[0]), static_cast<std::int16_t>(row[2] + 1)));
    }
    EXPECT_FALSE(find_api(17).has_value());
}

}  // namespace
}  // namespace samsa::kafka

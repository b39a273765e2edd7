// Unit tests for core/log/batch and core/log/batch_builder. The builder is held
// to a batch assembled here field by field from the published layout (with
// its own big-endian and zig-zag writers and the portable CRC), so the two
// encoders check each other; every rejection is checked for the error it
// gives and for leaving its input untouched.
#include "core/log/batch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/crc32c.h"
#include "core/log/batch_builder.h"
#include "core/log/valid_batch.h"
#include "tests/unit/printers.h"

namespace samsa::log {

void PrintTo(BatchError error, std::ostream* os) {
    *os << to_string(error);
}

namespace {

using Bytes = io::Bytes;

constexpr std::size_t bytes_max = 1 << 20;

std::span<const std::uint8_t> bytes_of(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string text_of(std::span<const std::uint8_t> bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::optional<std::string> text_of(const std::optional<std::span<const std::uint8_t>>& bytes) {
    if (!bytes) return std::nullopt;
    return text_of(*bytes);
}

// ---- An independent encoder, straight from the layout in kafka-compat.md ----

class Writer {
public:
    void big_endian(std::uint64_t value, int width) {
        for (int i = width - 1; i >= 0; --i) {
            out_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
        }
    }
    void zigzag(std::int64_t value) {
        std::uint64_t code = value < 0 ? (static_cast<std::uint64_t>(-(value + 1)) << 1) | 1U
                                       : static_cast<std::uint64_t>(value) << 1;
        do {
            const auto low = static_cast<std::uint8_t>(code % 128);
            code /= 128;
            out_.push_back(code != 0 ? static_cast<std::uint8_t>(low + 128) : low);
        } while (code != 0);
    }
    void string(const std::optional<std::string>& text) {
        if (!text) {
            zigzag(-1);
            return;
        }
        zigzag(static_cast<std::int64_t>(text->size()));
        raw(bytes_of(*text));
    }
    void raw(std::span<const std::uint8_t> bytes) {
        out_.insert(out_.end(), bytes.begin(), bytes.end());
    }
    Bytes& bytes() { return out_; }

private:
    Bytes out_;
};

struct HandRecord {
    std::int64_t timestamp_delta = 0;
    std::int32_t offset_delta = 0;
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>> headers;
    Bytes extra;  // appended inside the record, after the headers
};

Bytes encode_record(const HandRecord& record) {
    Writer body;
    body.big_endian(0, 1);  // attributes
    body.zigzag(record.timestamp_delta);
    body.zigzag(record.offset_delta);
    body.string(record.key);
    body.string(record.value);
    body.zigzag(static_cast<std::int64_t>(record.headers.size()));
    for (const auto& [key, value] : record.headers) {
        body.string(key);
        body.string(value);
    }
    body.raw(record.extra);
    Writer framed;
    framed.zigzag(static_cast<std::int64_t>(body.bytes().size()));
    framed.raw(body.bytes());
    return framed.bytes();
}

struct HandBatch {
    std::int64_t base_offset = 0;
    std::int32_t leader_epoch = -1;
    std::int8_t magic = 2;
    std::int16_t attributes = 0;
    std::int32_t last_offset_delta = 0;
    std::int64_t base_timestamp = 0;
    std::int64_t max_timestamp = 0;
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    std::int32_t records_count = 0;
    Bytes records;
};

Bytes assemble(const HandBatch& batch) {
    Writer covered;  // attributes..end: what the CRC covers
    covered.big_endian(static_cast<std::uint16_t>(batch.attributes), 2);
    covered.big_endian(static_cast<std::uint32_t>(batch.last_offset_delta), 4);
    covered.big_endian(static_cast<std::uint64_t>(batch.base_timestamp), 8);
    covered.big_endian(static_cast<std::uint64_t>(batch.max_timestamp), 8);
    covered.big_endian(static_cast<std::uint64_t>(batch.producer_id), 8);
    covered.big_endian(static_cast<std::uint16_t>(batch.producer_epoch), 2);
    covered.big_endian(static_cast<std::uint32_t>(batch.base_sequence), 4);
    covered.big_endian(static_cast<std::uint32_t>(batch.records_count), 4);
    covered.raw(batch.records);

    Writer whole;
    whole.big_endian(static_cast<std::uint64_t>(batch.base_offset), 8);
    whole.big_endian(4 + 1 + 4 + covered.bytes().size(), 4);  // epoch, magic, crc, rest
    whole.big_endian(static_cast<std::uint32_t>(batch.leader_epoch), 4);
    whole.big_endian(static_cast<std::uint8_t>(batch.magic), 1);
    whole.big_endian(crc32c_portable(covered.bytes()), 4);
    whole.raw(covered.bytes());
    return whole.bytes();
}

HandBatch hand_batch(const std::vector<HandRecord>& records) {
    HandBatch batch;
    for (const auto& record : records) {
        const Bytes encoded = encode_record(record);
        batch.records.insert(batch.records.end(), encoded.begin(), encoded.end());
    }
    batch.records_count = static_cast<std::int32_t>(records.size());
    batch.last_offset_delta = records.empty() ? 0 : records.back().offset_delta;
    return batch;
}

// ---- Tampering with built batches ----

void put_be32(Bytes& bytes, std::size_t position, std::uint32_t value) {
    for (std::size_t i = 0; i < 4; ++i) {
        bytes[position + i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
    }
}

void put_be16(Bytes& bytes, std::size_t position, std::uint16_t value) {
    bytes[position] = static_cast<std::uint8_t>(value >> 8);
    bytes[position + 1] = static_cast<std::uint8_t>(value);
}

// Makes batchLength and the CRC agree with the bytes again, so that only the
// deeper checks can catch what was changed.
void fix_length_and_crc(Bytes& bytes) {
    put_be32(bytes, 8, static_cast<std::uint32_t>(bytes.size() - 12));
    put_be32(bytes, 17, crc32c_portable(std::span<const std::uint8_t>(bytes).subspan(21)));
}

void expect_rejected(const Bytes& bytes, BatchError expected, std::size_t max = bytes_max) {
    const Bytes before = bytes;
    const auto result = validate_batch(bytes, max);
    ASSERT_FALSE(result.ok()) << "expected " << to_string(expected);
    EXPECT_EQ(result.error(), expected);
    EXPECT_EQ(bytes, before) << "validate_batch modified its input";
}

// ---- The batch most tests start from ----

const HeaderInput trace_header[] = {{bytes_of("trace"), bytes_of("abc")}};
const HeaderInput two_headers[] = {{bytes_of("a"), std::nullopt}, {bytes_of("bb"), bytes_of("yy")}};

BatchBuilder three_record_builder() {
    BatchBuilder builder;
    builder.add({bytes_of("k0"), bytes_of("v0"), trace_header, 1000});
    builder.add({std::nullopt, bytes_of("value-1"), {}, 1005});
    builder.add({bytes_of("k2"), std::nullopt, two_headers, 998});
    return builder;
}

TEST(BatchBuilder, BuiltBatchValidatesAndRoundTrips) {
    const Bytes batch = three_record_builder().build();
    ASSERT_TRUE(validate_batch(batch, bytes_max).ok());

    const auto records = parse_records(batch);
    ASSERT_TRUE(records.ok());
    const auto& views = records.value();
    ASSERT_EQ(views.size(), 3U);
    EXPECT_EQ(text_of(views[0].key), "k0");
    EXPECT_EQ(text_of(views[0].value), "v0");
    ASSERT_EQ(views[0].headers.size(), 1U);
    EXPECT_EQ(text_of(views[0].headers[0].key), "trace");
    EXPECT_EQ(text_of(views[0].headers[0].value), "abc");
    EXPECT_EQ(text_of(views[1].key), std::nullopt);
    EXPECT_EQ(text_of(views[1].value), "value-1");
    EXPECT_TRUE(views[1].headers.empty());
    EXPECT_EQ(text_of(views[2].key), "k2");
    EXPECT_EQ(text_of(views[2].value), std::nullopt);
    ASSERT_EQ(views[2].headers.size(), 2U);
    EXPECT_EQ(text_of(views[2].headers[0].key), "a");
    EXPECT_EQ(text_of(views[2].headers[0].value), std::nullopt);
    EXPECT_EQ(text_of(views[2].headers[1].key), "bb");
    EXPECT_EQ(text_of(views[2].headers[1].value), "yy");
    for (std::size_t i = 0; i < views.size(); ++i) {
        EXPECT_EQ(views[i].offset_delta, static_cast<std::int32_t>(i));
    }
    EXPECT_EQ(views[0].timestamp_delta, 0);
    EXPECT_EQ(views[1].timestamp_delta, 5);
    EXPECT_EQ(views[2].timestamp_delta, -2);  // timestamps need not ascend
}

TEST(BatchBuilder, HeaderFieldsHoldWhatWasAsked) {
    BatchBuilder builder = three_record_builder();
    builder.base_offset(Offset(100)).partition_leader_epoch(7).transactional(true);
    builder.producer(ProducerId(42), 3, 17);
    const Bytes batch = builder.build();
    EXPECT_EQ(batch.size(), builder.size_bytes());

    const auto validated = validate_batch(batch, bytes_max);
    ASSERT_TRUE(validated.ok());
    const BatchHeader& header = validated.value();
    EXPECT_EQ(header.base_offset, Offset(100));
    EXPECT_EQ(header.batch_length, static_cast<std::int32_t>(batch.size() - 12));
    EXPECT_EQ(header.partition_leader_epoch, 7);
    EXPECT_EQ(header.magic, 2);
    EXPECT_EQ(header.crc, crc32c_portable(std::span<const std::uint8_t>(batch).subspan(21)));
    EXPECT_EQ(header.attributes, 0x10);
    EXPECT_EQ(header.last_offset_delta, 2);
    EXPECT_EQ(header.base_timestamp, 1000);
    EXPECT_EQ(header.max_timestamp, 1005);
    EXPECT_EQ(header.producer_id, ProducerId(42));
    EXPECT_EQ(header.producer_epoch, 3);
    EXPECT_EQ(header.base_sequence, 17);
    EXPECT_EQ(header.records_count, 3);
    EXPECT_EQ(header.codec(), Codec::none);
    EXPECT_EQ(header.timestamp_type(), TimestampType::create_time);
    EXPECT_TRUE(header.is_transactional());
    EXPECT_FALSE(header.is_control());
    EXPECT_EQ(header.last_offset(), Offset(102));
    EXPECT_EQ(header.size_bytes(), batch.size());
}

TEST(BatchBuilder, DefaultsAreAPlainProducerAtOffsetZero) {
    const auto header = parse_header(three_record_builder().build());
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header.value().base_offset, Offset(0));
    EXPECT_EQ(header.value().partition_leader_epoch, -1);
    EXPECT_EQ(header.value().producer_id, ProducerId(-1));
    EXPECT_EQ(header.value().producer_epoch, -1);
    EXPECT_EQ(header.value().base_sequence, -1);
    EXPECT_EQ(header.value().attributes, 0);
}

TEST(BatchBuilder, MatchesABatchAssembledFieldByField) {
    HandBatch hand = hand_batch({
        {0, 0, "k0", "v0", {{"trace", "abc"}}, {}},
        {5, 1, std::nullopt, "value-1", {}, {}},
        {-2, 2, "k2", std::nullopt, {{"a", std::nullopt}, {"bb", "yy"}}, {}},
    });
    hand.base_offset = 100;
    hand.leader_epoch = 7;
    hand.attributes = 0x10;
    hand.base_timestamp = 1000;
    hand.max_timestamp = 1005;
    hand.producer_id = 42;
    hand.producer_epoch = 3;
    hand.base_sequence = 17;
    const Bytes expected = assemble(hand);
    EXPECT_TRUE(validate_batch(expected, bytes_max).ok());

    BatchBuilder builder = three_record_builder();
    builder.base_offset(Offset(100)).partition_leader_epoch(7).transactional(true);
    builder.producer(ProducerId(42), 3, 17);
    EXPECT_EQ(builder.build(), expected);
}

TEST(BatchBuilder, LargeFieldsUseMultiByteVarints) {
    const std::string big_value(300, 'x');  // length 300 needs two varint bytes
    BatchBuilder builder;
    builder.add({std::nullopt, bytes_of(big_value), {}, -5});
    builder.add({bytes_of("k"), bytes_of("v"), {}, 1LL << 40});
    const Bytes batch = builder.build();
    const Bytes expected = [&] {
        HandBatch hand = hand_batch(
            {{0, 0, std::nullopt, big_value, {}, {}}, {(1LL << 40) + 5, 1, "k", "v", {}, {}}});
        hand.base_timestamp = -5;
        hand.max_timestamp = 1LL << 40;
        return assemble(hand);
    }();
    EXPECT_EQ(batch, expected);
    const auto records = parse_records(batch);
    ASSERT_TRUE(records.ok());
    EXPECT_EQ(text_of(records.value()[0].value), big_value);
    EXPECT_EQ(records.value()[1].timestamp_delta, (1LL << 40) + 5);
}

// ---- Rejections ----

TEST(ValidateBatch, FlippedRecordByteIsCorrupt) {
    Bytes batch = three_record_builder().build();
    batch[batch.size() - 4] ^= 0x01;
    expect_rejected(batch, BatchError::corrupt_message);
}

TEST(ValidateBatch, BatchLengthMustMatchTheSpan) {
    const Bytes good = three_record_builder().build();
    const auto length = static_cast<std::uint32_t>(good.size() - 12);
    for (const std::uint32_t wrong : {length + 1, length - 1, 48U, 0U, 0x80000000U, 0xFFFFFFFFU}) {
        Bytes batch = good;
        put_be32(batch, 8, wrong);
        SCOPED_TRACE(wrong);
        expect_rejected(batch, BatchError::corrupt_message);
    }
}

TEST(ValidateBatch, OldMagicIsUnsupportedOtherMagicIsCorrupt) {
    for (const std::uint8_t magic : {0, 1}) {
        Bytes batch = three_record_builder().build();
        batch[16] = magic;
        expect_rejected(batch, BatchError::unsupported_version);
    }
    for (const std::uint8_t magic : {3, 0x7F, 0xFF}) {
        Bytes batch = three_record_builder().build();
        batch[16] = magic;
        expect_rejected(batch, BatchError::corrupt_message);
    }
}

TEST(ValidateBatch, ShortOldFormatMessageIsStillUnsupported) {
    // A magic 0 message set entry is shorter than a v2 header: offset, size,
    // crc, magic, attributes, key -1, value -1.
    Bytes message(26, 0);
    message[11] = 14;
    put_be32(message, 18, 0xFFFFFFFF);
    put_be32(message, 22, 0xFFFFFFFF);
    expect_rejected(message, BatchError::unsupported_version);
}

TEST(ValidateBatch, TooShortForAHeaderIsCorrupt) {
    const Bytes good = three_record_builder().build();
    for (const std::size_t size : {0, 1, 16, 17, 60}) {
        SCOPED_TRACE(size);
        expect_rejected(Bytes(good.begin(), good.begin() + static_cast<long>(size)),
                        BatchError::corrupt_message);
    }
}

TEST(ValidateBatch, TruncatedRecordIsCorruptEvenWithLengthAndCrcFixed) {
    Bytes batch = three_record_builder().build();
    // erase, not resize: GCC 12 warns falsely (-Wstringop-overflow) on the shrinking resize.
    batch.erase(batch.end() - 3, batch.end());
    fix_length_and_crc(batch);
    EXPECT_TRUE(parse_header(batch).ok());
    expect_rejected(batch, BatchError::corrupt_message);
}

TEST(ValidateBatch, TrailingBytesAfterTheLastRecordAreCorrupt) {
    Bytes batch = three_record_builder().build();
    batch.push_back(0x55);
    fix_length_and_crc(batch);
    expect_rejected(batch, BatchError::corrupt_message);
}

TEST(ValidateBatch, RecordCountMismatchIsInvalid) {
    BatchBuilder builder;
    builder.add({bytes_of("a"), bytes_of("1"), {}, 0});
    builder.add({bytes_of("b"), bytes_of("2"), {}, 0});
    Bytes batch = builder.build();
    put_be32(batch, batch_layout::records_count, 3);
    put_be32(batch, batch_layout::last_offset_delta, 2);  // consistent with the count
    fix_length_and_crc(batch);
    expect_rejected(batch, BatchError::invalid_record);

    put_be32(batch, batch_layout::last_offset_delta, 1);  // consistent with the records
    fix_length_and_crc(batch);
    expect_rejected(batch, BatchError::invalid_record);

    put_be32(batch, batch_layout::records_count, 1);  // fewer than the records present
    put_be32(batch, batch_layout::last_offset_delta, 0);
    fix_length_and_crc(batch);
    expect_rejected(batch, BatchError::invalid_record);
}

TEST(ValidateBatch, NegativeCountsAreInvalid) {
    const Bytes good = three_record_builder().build();
    for (const std::size_t field : {batch_layout::records_count, batch_layout::last_offset_delta}) {
        Bytes batch = good;
        put_be32(batch, field, 0xFFFFFFFF);
        fix_length_and_crc(batch);
        expect_rejected(batch, BatchError::invalid_record);
    }
}

TEST(ValidateBatch, LargerThanTheLimitIsTooLarge) {
    const Bytes batch = three_record_builder().build();
    EXPECT_TRUE(validate_batch(batch, batch.size()).ok());
    expect_rejected(batch, BatchError::message_too_large, batch.size() - 1);
    expect_rejected(batch, BatchError::message_too_large, 0);
}

TEST(ValidateBatch, OffsetDeltasMustCountFromZero) {
    auto rejected_deltas = [](std::vector<std::int32_t> deltas, std::int32_t last) {
        std::vector<HandRecord> records;
        for (const std::int32_t delta : deltas) records.push_back({0, delta, "k", "v", {}, {}});
        HandBatch hand = hand_batch(records);
        hand.last_offset_delta = last;
        expect_rejected(assemble(hand), BatchError::invalid_record);
    };
    rejected_deltas({1}, 0);
    rejected_deltas({0, 2}, 1);
    rejected_deltas({0, 2}, 2);
    rejected_deltas({0, 0}, 1);
    rejected_deltas({0, 1}, 2);
    rejected_deltas({0, 5, 2}, 2);  // the ends agree, the middle does not
}

TEST(ValidateBatch, ControlBatchesNeedOnlyAscendingDeltas) {
    HandBatch hand = hand_batch({{0, 0, "k", "v", {}, {}}, {0, 5, "k", "v", {}, {}}});
    hand.attributes = batch_attributes::control | batch_attributes::transactional;
    const auto control = validate_batch(assemble(hand), bytes_max);
    ASSERT_TRUE(control.ok());
    EXPECT_TRUE(control.value().is_control());
    EXPECT_EQ(control.value().last_offset(), Offset(5));

    hand.last_offset_delta = 6;  // must name the last record's delta
    expect_rejected(assemble(hand), BatchError::invalid_record);
    hand.last_offset_delta = 5;
    hand.records_count = 3;  // must count the records present
    expect_rejected(assemble(hand), BatchError::invalid_record);
    hand = hand_batch({{0, 3, "k", "v", {}, {}}, {0, 3, "k", "v", {}, {}}});
    hand.attributes = batch_attributes::control;
    expect_rejected(assemble(hand), BatchError::invalid_record);
    // The gap that a control batch may have, in a producer batch.
    hand = hand_batch({{0, 0, "k", "v", {}, {}}, {0, 5, "k", "v", {}, {}}});
    expect_rejected(assemble(hand), BatchError::invalid_record);
}

TEST(ValidateBatch, EmptyBatchIsAccepted) {
    // Compaction can leave batches with no records; they keep their offsets.
    HandBatch hand = hand_batch({});
    hand.last_offset_delta = 4;
    const Bytes batch = assemble(hand);
    EXPECT_EQ(batch.size(), batch_header_bytes);
    const auto header = validate_batch(batch, bytes_max);
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header.value().records_count, 0);
    const auto records = parse_records(batch);
    ASSERT_TRUE(records.ok());
    EXPECT_TRUE(records.value().empty());
}

TEST(ValidateBatch, MalformedRecordFramingIsCorrupt) {
    auto rejected = [](HandRecord record, const char* what) {
        SCOPED_TRACE(what);
        expect_rejected(assemble(hand_batch({record})), BatchError::corrupt_message);
    };
    rejected({0, 0, "k", "v", {}, {0x00}}, "a byte left over inside the record");
    rejected({0, 0, "k", "v", {{std::nullopt, "x"}}, {}}, "a null header key");

    // Lengths below -1 and lengths past the record, written by hand.
    for (const Bytes& body : {Bytes{0, 0, 0, 3, 0, 0}, Bytes{0, 0, 0, 0, 3, 0},
                              Bytes{0, 0, 0, 0, 0, 3}, Bytes{0, 0, 0, 20, 0, 0}}) {
        Bytes records{static_cast<std::uint8_t>(body.size() * 2)};
        records.insert(records.end(), body.begin(), body.end());
        HandBatch hand;
        hand.records_count = 1;
        hand.records = records;
        expect_rejected(assemble(hand), BatchError::corrupt_message);
    }
}

TEST(ValidateBatch, OverlongVarintsAreCorrupt) {
    // offsetDelta 0 spelled in six bytes (a varint has at most five), then in
    // five bytes whose last carries bits an int32 does not have.
    for (const Bytes& offset_delta :
         {Bytes{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, Bytes{0x80, 0x80, 0x80, 0x80, 0x10}}) {
        Bytes body{0, 0};  // attributes, timestampDelta
        body.insert(body.end(), offset_delta.begin(), offset_delta.end());
        body.insert(body.end(), {1, 1, 0});  // null key, null value, no headers
        Bytes records{static_cast<std::uint8_t>(body.size() * 2)};
        records.insert(records.end(), body.begin(), body.end());
        HandBatch hand;
        hand.records_count = 1;
        hand.records = records;
        expect_rejected(assemble(hand), BatchError::corrupt_message);
    }
}

TEST(ValidateBatch, CompressedBatchesAreCheckedOnlyToTheCrc) {
    HandBatch hand;
    hand.records = {0xDE, 0xAD, 0xBE, 0xEF};  // opaque compressed bytes
    hand.records_count = 10;
    hand.last_offset_delta = 9;
    for (std::int16_t codec = 1; codec <= 4; ++codec) {
        hand.attributes = codec;
        const Bytes batch = assemble(hand);
        const auto header = validate_batch(batch, bytes_max);
        ASSERT_TRUE(header.ok()) << "codec " << codec;
        EXPECT_EQ(header.value().codec(), static_cast<Codec>(codec));
        const auto records = parse_records(batch);
        ASSERT_FALSE(records.ok());
        EXPECT_EQ(records.error(), BatchError::unsupported_version);

        Bytes flipped = batch;
        flipped.back() ^= 0x80;
        expect_rejected(flipped, BatchError::corrupt_message);
    }
    hand.attributes = 1;
    hand.last_offset_delta = 8;  // a producer batch must number 0..count-1
    expect_rejected(assemble(hand), BatchError::invalid_record);
}

TEST(ValidateBatch, UnknownCodecsAreCorrupt) {
    for (std::uint16_t codec = 5; codec <= 7; ++codec) {
        Bytes batch = three_record_builder().build();
        put_be16(batch, batch_layout::attributes, codec);
        fix_length_and_crc(batch);
        expect_rejected(batch, BatchError::corrupt_message);
    }
}

TEST(ParseHeader, ReadsTheFirstOfSeveralBatches) {
    Bytes two = three_record_builder().base_offset(Offset(9)).build();
    const std::size_t first_size = two.size();
    const Bytes second = three_record_builder().build();
    two.insert(two.end(), second.begin(), second.end());
    const auto header = parse_header(two);
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header.value().size_bytes(), first_size);
    EXPECT_EQ(header.value().base_offset, Offset(9));
    // validate_batch wants exactly one batch.
    expect_rejected(two, BatchError::corrupt_message);
}

// ---- Broker-owned fields ----

TEST(RewriteFields, BaseOffsetAndLeaderEpochLeaveTheCrcValid) {
    Bytes batch = three_record_builder().build();
    const auto crc_before = parse_header(batch).value().crc;
    set_base_offset(batch, Offset(0x0102030405060708));
    set_partition_leader_epoch(batch, 0x7A0B0C0D);
    EXPECT_EQ(base_offset_of(batch), Offset(0x0102030405060708));
    EXPECT_EQ(partition_leader_epoch_of(batch), 0x7A0B0C0D);
    EXPECT_EQ(batch[0], 0x01);  // big-endian on the wire
    EXPECT_EQ(batch[15], 0x0D);

    const auto header = validate_batch(batch, bytes_max);
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header.value().crc, crc_before);
    EXPECT_EQ(header.value().base_offset, Offset(0x0102030405060708));
    EXPECT_EQ(header.value().last_offset(), Offset(0x0102030405060708 + 2));
    EXPECT_EQ(header.value().partition_leader_epoch, 0x7A0B0C0D);
    EXPECT_TRUE(parse_records(batch).ok());
}

TEST(RewriteFields, SealCrcRepairsACoveredRewrite) {
    Bytes batch = three_record_builder().build();
    put_be16(batch, batch_layout::attributes, batch_attributes::log_append_time);
    expect_rejected(batch, BatchError::corrupt_message);
    seal_crc(batch);
    const auto header = validate_batch(batch, bytes_max);
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header.value().timestamp_type(), TimestampType::log_append_time);
}

// ---- Splitting a Produce request's records ----

struct Concatenation {
    Bytes bytes;
    std::vector<std::size_t> sizes;
};

Concatenation three_batches() {
    Concatenation out;
    for (int i = 0; i < 3; ++i) {
        BatchBuilder builder;
        builder.producer(ProducerId(5), 0, i * 10);
        for (int r = 0; r <= i; ++r) builder.add({bytes_of("key"), bytes_of("value"), {}, r});
        const Bytes batch = builder.build();
        out.sizes.push_back(batch.size());
        out.bytes.insert(out.bytes.end(), batch.begin(), batch.end());
    }
    return out;
}

TEST(SplitBatches, FindsEachBatchOfAConcatenation) {
    const Concatenation input = three_batches();
    const auto split = split_batches(input.bytes, bytes_max);
    ASSERT_TRUE(split.ok());
    const auto& spans = split.value();
    ASSERT_EQ(spans.size(), 3U);
    std::size_t position = 0;
    for (std::size_t i = 0; i < spans.size(); ++i) {
        EXPECT_EQ(spans[i].offset, position);
        EXPECT_EQ(spans[i].length, input.sizes[i]);
        EXPECT_EQ(spans[i].header.records_count, static_cast<std::int32_t>(i + 1));
        EXPECT_EQ(spans[i].header.base_sequence, static_cast<std::int32_t>(i * 10));
        position += input.sizes[i];
    }
}

TEST(SplitBatches, IncompleteTrailingBatchIsCorrupt) {
    const Concatenation input = three_batches();
    for (const std::size_t cut : {1UL, 30UL, input.sizes[2] - 1}) {
        SCOPED_TRACE(cut);
        const Bytes truncated(input.bytes.begin(), input.bytes.end() - static_cast<long>(cut));
        const auto split = split_batches(truncated, bytes_max);
        ASSERT_FALSE(split.ok());
        EXPECT_EQ(split.error(), BatchError::corrupt_message);
    }
}

TEST(SplitBatches, ABadMiddleBatchFailsTheWhole) {
    const Concatenation input = three_batches();
    Bytes bytes = input.bytes;
    bytes[input.sizes[0] + input.sizes[1] - 1] ^= 0x40;
    const auto corrupt = split_batches(bytes, bytes_max);
    ASSERT_FALSE(corrupt.ok());
    EXPECT_EQ(corrupt.error(), BatchError::corrupt_message);

    const auto too_large = split_batches(input.bytes, input.sizes[1] - 1);
    ASSERT_FALSE(too_large.ok());
    EXPECT_EQ(too_large.error(), BatchError::message_too_large);
}

TEST(SplitBatches, NoBytesGiveNoBatches) {
    const auto split = split_batches({}, bytes_max);
    ASSERT_TRUE(split.ok());
    EXPECT_TRUE(split.value().empty());
}

TEST(TakeBatches, OneBatchKeepsTheRecordsOwnBuffer) {
    BatchBuilder builder;
    builder.add({bytes_of("key"), bytes_of("value"), {}, 0});
    Bytes records = builder.build();
    const Bytes expected = records;
    const std::uint8_t* buffer = records.data();
    auto taken = take_batches(std::move(records), bytes_max);
    ASSERT_TRUE(taken.ok());
    ASSERT_EQ(taken.value().size(), 1U);
    EXPECT_EQ(taken.value()[0].bytes().data(), buffer);  // not a copy
    EXPECT_TRUE(std::ranges::equal(taken.value()[0].bytes(), expected));
    EXPECT_EQ(taken.value()[0].header().records_count, 1);
    const Bytes released = std::move(taken.value()[0]).release();
    EXPECT_EQ(released, expected);
}

TEST(TakeBatches, EachBatchOfAConcatenationComesAsItsOwnBytes) {
    const Concatenation input = three_batches();
    auto taken = take_batches(input.bytes, bytes_max);
    ASSERT_TRUE(taken.ok());
    ASSERT_EQ(taken.value().size(), 3U);
    std::size_t position = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        const auto bytes = taken.value()[i].bytes();
        ASSERT_EQ(bytes.size(), input.sizes[i]);
        EXPECT_TRUE(
            std::ranges::equal(bytes, std::span(input.bytes).subspan(position, bytes.size())));
        EXPECT_EQ(taken.value()[i].header().base_sequence, static_cast<std::int32_t>(i * 10));
        position += bytes.size();
    }
}

TEST(TakeBatches, ABadBatchAnywhereGivesNoBatches) {
    const Concatenation input = three_batches();
    Bytes bytes = input.bytes;
    bytes[input.sizes[0] + input.sizes[1] - 1] ^= 0x40;
    const auto corrupt = take_batches(bytes, bytes_max);
    ASSERT_FALSE(corrupt.ok());
    EXPECT_EQ(corrupt.error(), BatchError::corrupt_message);
    const auto too_large = take_batches(input.bytes, input.sizes[1] - 1);
    ASSERT_FALSE(too_large.ok());
    EXPECT_EQ(too_large.error(), BatchError::message_too_large);
    const auto none = take_batches({}, bytes_max);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none.value().empty());
}

// ---- Errors at the edge ----

TEST(BatchError, MapsToKafkaErrorCodes) {
    EXPECT_EQ(kafka_error_code(BatchError::corrupt_message), 2);
    EXPECT_EQ(kafka_error_code(BatchError::invalid_record), 87);
    EXPECT_EQ(kafka_error_code(BatchError::message_too_large), 10);
    EXPECT_EQ(kafka_error_code(BatchError::unsupported_version), 43);
    EXPECT_STREQ(to_string(BatchError::corrupt_message), "corrupt_message");
    EXPECT_STREQ(to_string(BatchError::invalid_record), "invalid_record");
    EXPECT_STREQ(to_string(BatchError::message_too_large), "message_too_large");
    EXPECT_STREQ(to_string(BatchError::unsupported_version), "unsupported_version");
}

}  // namespace
}  // namespace samsa::log

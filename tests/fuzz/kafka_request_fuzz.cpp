// libFuzzer target for the Kafka request decoder (run it with tools/fuzz.sh).
// Input: a request frame without its 4-byte size. Any input must either
// decode or be rejected with an error, without crashing or undefined behaviour
// (the build adds ASan and UBSan). A decoded request must survive a round
// trip: encoding it gives a frame of the input's length that decodes to the
// same header and body.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/base/assert.h"
#include "net/kafka/api.h"

namespace {

using samsa::kafka::Bytes;

void check_round_trip(const samsa::kafka::DecodedRequest& request, std::size_t input_size) {
    Bytes frame = samsa::kafka::encode_request_frame(request.header, request.body);
    SAMSA_ASSERT(frame.size() == input_size + 4);
    auto again = samsa::kafka::parse_request(std::span<const std::uint8_t>(frame).subspan(4));
    SAMSA_ASSERT(again.ok());
    SAMSA_ASSERT(again.value().header == request.header);
    SAMSA_ASSERT(again.value().body == request.body);
}

void check_error(const samsa::kafka::RequestError& error, std::size_t input_size) {
    using samsa::kafka::RequestErrorKind;
    bool from_wire = error.kind == RequestErrorKind::malformed_header ||
                     error.kind == RequestErrorKind::malformed_body;
    SAMSA_ASSERT(error.wire_error.has_value() == from_wire);
    SAMSA_ASSERT(error.wire_error_offset <= input_size);
    if (error.kind == RequestErrorKind::unsupported_version &&
        error.header.api_key == samsa::kafka::ApiVersionsRequest::api_key) {
        Bytes answer = samsa::kafka::encode_api_versions_fallback(error.header.correlation_id);
        SAMSA_ASSERT(answer.size() > 8);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parsed = samsa::kafka::parse_request(std::span<const std::uint8_t>(data, size));
    if (parsed.ok()) {
        check_round_trip(parsed.value(), size);
    } else {
        check_error(parsed.error(), size);
    }
    return 0;
}

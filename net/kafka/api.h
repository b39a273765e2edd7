// The Kafka request/response edge of the codec: request header v1, response
// header v0, the versions samsa advertises, and the dispatch from a request
// frame to a typed request.
//
// Theory of operation: a broker reads `int32 size` and then `size` bytes, and
// hands those bytes to parse_request. It gets back either the header and a
// typed request (one alternative of the generated `Request` variant), or a
// RequestError saying why not. Every error but malformed_header carries the
// header, so the broker can still answer the correlation id; the answer to an
// ApiVersions request of an unsupported version is special (see
// encode_api_versions_fallback). The version table itself is generated from
// messages.def (`api_version_ranges`), so the codec and the advertised
// ranges cannot disagree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/base/assert.h"
#include "core/base/result.h"
#include "net/kafka/messages.h"
#include "net/kafka/wire.h"

namespace samsa::kafka {

// Kafka error codes the codec itself produces.
inline constexpr std::int16_t error_none = 0;
inline constexpr std::int16_t error_unsupported_version = 35;

// Request header v1 (the header of every non-flexible request version).
struct RequestHeader {
    std::int16_t api_key = 0;
    std::int16_t api_version = 0;
    std::int32_t correlation_id = 0;
    std::optional<std::string> client_id;

    bool operator==(const RequestHeader&) const = default;
};

enum class RequestErrorKind : std::uint8_t {
    malformed_header,     // too short for a header: nothing to answer, close the connection
    unknown_api_key,      // answer nothing samsa-specific; Kafka closes the connection
    unsupported_version,  // ApiVersions: answer with encode_api_versions_fallback
    malformed_body,       // the body does not decode at its version
};
const char* to_string(RequestErrorKind kind) noexcept;

struct RequestError {
    RequestErrorKind kind = RequestErrorKind::malformed_header;
    RequestHeader header;                 // meaningful unless kind is malformed_header
    std::optional<WireError> wire_error;  // set for malformed_header and malformed_body
    std::size_t wire_error_offset = 0;    // in bytes from the start of the frame
};

struct DecodedRequest {
    RequestHeader header;
    Request body;
};

// The advertised range of an API, or nullopt if samsa does not serve it.
std::optional<ApiVersionRange> find_api(std::int16_t api_key) noexcept;
bool is_supported(std::int16_t api_key, std::int16_t api_version) noexcept;

// Parses a whole request frame (the bytes after the 4-byte size). Bytes left
// after the body make it malformed: a client that means a version sends
// exactly its layout.
Result<DecodedRequest, RequestError> parse_request(std::span<const std::uint8_t> frame);

Result<RequestHeader, WireError> read_request_header(Reader& reader);
void write_request_header(const RequestHeader& header, Writer& writer);

std::int16_t api_key_of(const Request& request) noexcept;
// Encodes the body of `request` at `version`, which must be in its range.
void encode_request_body(const Request& request, std::int16_t version, Writer& writer);
// A whole request frame: size, header v1 and body (at header.api_version).
Bytes encode_request_frame(const RequestHeader& header, const Request& request);

// The ApiVersions response listing every advertised range.
ApiVersionsResponse api_versions_response(std::int16_t error_code);

// A whole response frame: size, response header v0 (the correlation id) and
// `body` encoded at `version`.
template <class Body>
Bytes encode_response_frame(std::int32_t correlation_id, std::int16_t version, const Body& body) {
    SAMSA_ASSERT(version >= Body::min_version && version <= Body::max_version);
    Bytes frame;
    Writer writer(frame);
    writer.write_int32(0);  // the size, patched below
    writer.write_int32(correlation_id);
    body.encode(version, writer);
    writer.patch_int32(0, static_cast<std::int32_t>(frame.size() - 4));
    return frame;
}

// The same without the size prefix: what a listener that writes the prefix
// itself (runtime/kafka_listener) is handed.
template <class Body>
Bytes encode_response(std::int32_t correlation_id, std::int16_t version, const Body& body) {
    SAMSA_ASSERT(version >= Body::min_version && version <= Body::max_version);
    Bytes frame;
    Writer writer(frame);
    writer.write_int32(correlation_id);
    body.encode(version, writer);
    return frame;
}

// The answer to an ApiVersions request of a version samsa does not serve
// (librdkafka opens with v3): a v0-layout body with error 35 and the full
// table, from which the client picks a version it shares with samsa.
Bytes encode_api_versions_fallback(std::int32_t correlation_id);

}  // namespace samsa::kafka

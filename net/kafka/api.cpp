#include "net/kafka/api.h"

#include <utility>
#include <variant>

#include "core/base/assert.h"

namespace samsa::kafka {

const char* to_string(RequestErrorKind kind) noexcept {
    switch (kind) {
        case RequestErrorKind::malformed_header: return "malformed_header";
        case RequestErrorKind::unknown_api_key: return "unknown_api_key";
        case RequestErrorKind::unsupported_version: return "unsupported_version";
        case RequestErrorKind::malformed_body: return "malformed_body";
    }
    return "unknown";
}

std::optional<ApiVersionRange> find_api(std::int16_t api_key) noexcept {
    for (const ApiVersionRange& range : api_version_ranges) {
        if (range.api_key == api_key) return range;
    }
    return std::nullopt;
}

bool is_supported(std::int16_t api_key, std::int16_t api_version) noexcept {
    auto range = find_api(api_key);
    return range.has_value() && api_version >= range->min_version &&
           api_version <= range->max_version;
}

Result<RequestHeader, WireError> read_request_header(Reader& reader) {
    RequestHeader header;
    header.api_key = reader.read_int16();
    header.api_version = reader.read_int16();
    header.correlation_id = reader.read_int32();
    header.client_id = reader.read_nullable_string();
    if (!reader.ok()) return Failure{*reader.error()};
    return header;
}

void write_request_header(const RequestHeader& header, Writer& writer) {
    writer.write_int16(header.api_key);
    writer.write_int16(header.api_version);
    writer.write_int32(header.correlation_id);
    writer.write_nullable_string(header.client_id);
}

Result<DecodedRequest, RequestError> parse_request(std::span<const std::uint8_t> frame) {
    Reader reader(frame);
    auto header = read_request_header(reader);
    if (!header.ok()) {
        return Failure{RequestError{RequestErrorKind::malformed_header, RequestHeader{},
                                    header.error(), reader.error_offset()}};
    }
    RequestError error{RequestErrorKind::unknown_api_key, header.value(), std::nullopt, 0};
    if (!find_api(error.header.api_key).has_value()) return Failure{std::move(error)};
    if (!is_supported(error.header.api_key, error.header.api_version)) {
        error.kind = RequestErrorKind::unsupported_version;
        return Failure{std::move(error)};
    }
    auto body = decode_request(error.header.api_key, error.header.api_version, reader);
    if (body.ok() && !reader.at_end()) reader.fail(WireError::trailing_bytes);
    if (!reader.ok()) {
        error.kind = RequestErrorKind::malformed_body;
        error.wire_error = reader.error();
        error.wire_error_offset = reader.error_offset();
        return Failure{std::move(error)};
    }
    SAMSA_ASSERT(body.ok());
    return DecodedRequest{std::move(error.header), std::move(body).value()};
}

std::int16_t api_key_of(const Request& request) noexcept {
    return std::visit([](const auto& body) { return std::decay_t<decltype(body)>::api_key; },
                      request);
}

void encode_request_body(const Request& request, std::int16_t version, Writer& writer) {
    std::visit(
        [&](const auto& body) {
            using Body = std::decay_t<decltype(body)>;
            SAMSA_ASSERT(version >= Body::min_version && version <= Body::max_version);
            body.encode(version, writer);
        },
        request);
}

Bytes encode_request_frame(const RequestHeader& header, const Request& request) {
    SAMSA_ASSERT(header.api_key == api_key_of(request));
    Bytes frame;
    Writer writer(frame);
    writer.write_int32(0);  // the size, patched below
    write_request_header(header, writer);
    encode_request_body(request, header.api_version, writer);
    writer.patch_int32(0, static_cast<std::int32_t>(frame.size() - 4));
    return frame;
}

ApiVersionsResponse api_versions_response(std::int16_t error_code) {
    ApiVersionsResponse response;
    response.error_code = error_code;
    for (const ApiVersionRange& range : api_version_ranges) {
        response.api_keys.push_back({range.api_key, range.min_version, range.max_version});
    }
    SAMSA_ASSERT(response.api_keys.size() == api_version_ranges.size());
    return response;
}

Bytes encode_api_versions_fallback(std::int32_t correlation_id) {
    return encode_response_frame(correlation_id, 0,
                                 api_versions_response(error_unsupported_version));
}

}  // namespace samsa::kafka

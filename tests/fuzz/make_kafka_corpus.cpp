// Writes the seed corpus of the Kafka request fuzz target: for every API, a
// request frame (header v1 + body, without the 4-byte size, as the fuzz target
// takes it) at its lowest and highest version, plus one with every nullable
// field null at the highest version. The values are the deterministic samples
// of the generated test helpers, so a rerun writes the same files. One more
// seed is librdkafka's opening ApiVersions v3 (flexible, so unsupported).
//
// Usage: make-kafka-corpus DIR
#include <cstdio>
#include <string>
#include <utility>
#include <variant>

#include "net/kafka/api.h"
#include "net/kafka/messages_testing.h"

namespace {

using samsa::kafka::Bytes;

bool write_file(const std::string& path, const Bytes& bytes) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) return false;
    bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
    return std::fclose(file) == 0 && written;
}

template <class Body>
bool write_sample(const std::string& dir, std::int16_t version, bool nulls) {
    Body body;
    samsa::kafka::testing::SampleSource source;
    samsa::kafka::testing::fill(body, source, version, nulls);
    samsa::kafka::RequestHeader header{Body::api_key, version, 7, "corpus"};
    Bytes frame = samsa::kafka::encode_request_frame(header, samsa::kafka::Request(body));
    frame.erase(frame.begin(), frame.begin() + 4);  // the fuzz target takes the frame body
    std::string name = std::string(samsa::kafka::api_name(Body::api_key)) + "_v" +
                       std::to_string(version) + (nulls ? "_nulls" : "");
    return write_file(dir + "/" + name, frame);
}

template <std::size_t... index>
bool write_all(const std::string& dir, std::index_sequence<index...>) {
    bool ok = true;
    auto write_api = [&]<class Body>(Body*) {
        ok = write_sample<Body>(dir, Body::min_version, false) && ok;
        ok = write_sample<Body>(dir, Body::max_version, false) && ok;
        ok = write_sample<Body>(dir, Body::max_version, true) && ok;
    };
    (write_api(static_cast<std::variant_alternative_t<index, samsa::kafka::Request>*>(nullptr)),
     ...);
    return ok;
}

// ApiVersions v3: header v2 (a tagged-field byte after the client id) and a
// compact body (client software name and version, then no tagged fields).
bool write_api_versions_v3(const std::string& dir) {
    Bytes frame;
    samsa::kafka::Writer writer(frame);
    write_request_header({samsa::kafka::ApiVersionsRequest::api_key, 3, 1, "rdkafka"}, writer);
    writer.write_unsigned_varint(0);
    for (const char* text : {"librdkafka", "2.0.2"}) {
        std::string value(text);
        writer.write_unsigned_varint(static_cast<std::uint32_t>(value.size() + 1));
        frame.insert(frame.end(), value.begin(), value.end());
    }
    writer.write_unsigned_varint(0);
    return write_file(dir + "/ApiVersions_v3_unsupported", frame);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    constexpr std::size_t api_count = std::variant_size_v<samsa::kafka::Request>;
    if (!write_all(argv[1], std::make_index_sequence<api_count>()) ||
        !write_api_versions_v3(argv[1])) {
        std::fprintf(stderr, "make-kafka-corpus: cannot write into %s\n", argv[1]);
        return 1;
    }
    return 0;
}

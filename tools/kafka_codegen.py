#!/usr/bin/env python3
"""Generates the Kafka message codec from net/kafka/messages.def.

Usage: kafka_codegen.py DEF_FILE OUT_HEADER OUT_SOURCE OUT_TESTING_HEADER

The definition format is described at the top of messages.def. For every API
it emits a <Name>Request and a <Name>Response struct (nested structs for
arrays of structs) with
  * encode(version, Writer&) const            -- appends the body
  * static decode(version, Reader&)            -- Result<T, WireError>
  * read(version, Reader&)                     -- decode's worker, for nesting
  * static wire_bytes_min(version)             -- the smallest encoding, which
    bounds how many elements an untrusted array count may claim
and a registry (Request/Response variants, the version table, decode_request).
The testing header adds fill() (every field set to a non-default value) and
clear_absent() (fields missing from a version reset to their defaults) for
round-trip tests and corpus generation.

Only non-flexible versions are generated for now; compact lengths and tagged
fields would be a new field encoding here, not a new format.
"""

import re
import sys

sys.dont_write_bytecode = True

# type -> (C++ type, encoded width in bytes, Reader/Writer suffix)
SCALARS = {
    "int8": ("std::int8_t", 1, "int8"),
    "int16": ("std::int16_t", 2, "int16"),
    "int32": ("std::int32_t", 4, "int32"),
    "int64": ("std::int64_t", 8, "int64"),
    "uint16": ("std::uint16_t", 2, "uint16"),
    "bool": ("bool", 1, "bool"),
    "uuid": ("Uuid", 16, "uuid"),
}
# Variable-length leaves: (C++ type, smallest encoding = its length prefix).
BLOBS = {"string": ("std::string", 2), "bytes": ("Bytes", 4), "records": ("Bytes", 4)}
VERSION_MAX = 0x7FFF
# Field names the generated code cannot use: C++ keywords that plausibly name
# a field, and the generated functions' own parameters and locals.
RESERVED_NAMES = {
    "auto", "bool", "case", "class", "default", "delete", "do", "else", "enum", "for", "if",
    "int", "long", "new", "operator", "private", "public", "register", "return", "short",
    "signed", "static", "struct", "switch", "template", "this", "union", "unsigned", "virtual",
    "void", "while", "version", "reader", "writer", "encode", "read", "decode",
}


class DefError(Exception):
    pass


class Field:
    def __init__(self, name, type_name, versions, nullable, default, line):
        self.name = name
        self.array = type_name.startswith("[]")
        self.base = type_name[2:] if self.array else type_name
        self.versions = versions
        self.nullable = nullable  # version range or None
        self.default = default
        self.line = line
        self.struct = None  # the element struct of an array of structs


class Struct:
    def __init__(self, name, fields):
        self.name = name
        self.fields = fields


class Message:
    def __init__(self, key, name, low, high):
        self.key, self.name, self.low, self.high = key, name, low, high
        self.request = None
        self.response = None


# ---------------------------------------------------------------- parsing


def parse_versions(text, line):
    match = re.fullmatch(r"v(\d+)(\+|-(\d+))?", text)
    if not match:
        raise DefError(f"line {line}: bad version range {text!r}")
    low = int(match.group(1))
    if match.group(2) == "+":
        return (low, VERSION_MAX)
    high = int(match.group(3)) if match.group(3) else low
    if high < low:
        raise DefError(f"line {line}: empty version range {text!r}")
    return (low, high)


def tokenize(text):
    """Yields (line number, tokens) for every non-empty line."""
    for number, raw in enumerate(text.split("\n"), start=1):
        tokens = raw.split("#", 1)[0].split()
        if tokens:
            yield number, tokens


def parse_field(number, tokens, lines, message):
    if len(tokens) < 3:
        raise DefError(f"line {number}: a field needs a name, a type and versions")
    name, type_name, versions = tokens[0], tokens[1], parse_versions(tokens[2], number)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or name in RESERVED_NAMES or \
            name.startswith("wire_"):
        raise DefError(f"line {number}: {name!r} cannot name a field")
    opens = tokens[-1] == "{"
    nullable, default = None, None
    for option in tokens[3 : len(tokens) - (1 if opens else 0)]:
        key, _, value = option.partition("=")
        if key == "null":
            nullable = parse_versions(value, number)
        elif key == "default":
            default = value
        else:
            raise DefError(f"line {number}: unknown option {option!r}")
    field = Field(name, type_name, versions, nullable, default, number)
    if field.base == "records":
        field.nullable = versions
    if max(versions[0], message.low) > min(versions[1], message.high):
        raise DefError(f"line {number}: {name} is in no supported version of {message.name}")
    if opens:
        if not field.array or field.base in SCALARS or field.base in BLOBS:
            raise DefError(f"line {number}: only arrays of structs have a field block")
        field.struct = Struct(field.base, parse_block(lines, message))
    elif field.base not in SCALARS and field.base not in BLOBS:
        raise DefError(f"line {number}: unknown type {type_name!r}")
    return field


def parse_block(lines, message):
    fields = []
    for number, tokens in lines:
        if tokens == ["}"]:
            return fields
        fields.append(parse_field(number, tokens, lines, message))
    raise DefError("unexpected end of file inside a block")


def parse_message(number, tokens, lines):
    match = re.fullmatch(r"(\d+)-(\d+)", tokens[3]) if len(tokens) == 5 else None
    if tokens[0] != "api" or not match or tokens[4] != "{":
        raise DefError(f"line {number}: expected 'api KEY Name MIN-MAX {{'")
    message = Message(int(tokens[1]), tokens[2], int(match.group(1)), int(match.group(2)))
    for number, tokens in lines:
        if tokens == ["}"]:
            break
        if len(tokens) != 2 or tokens[0] not in ("request", "response") or tokens[1] != "{":
            raise DefError(f"line {number}: expected 'request {{' or 'response {{'")
        kind = tokens[0].capitalize()
        setattr(message, tokens[0], Struct(message.name + kind, parse_block(lines, message)))
    if message.request is None or message.response is None:
        raise DefError(f"api {message.name}: needs both a request and a response")
    return message


def parse(text):
    lines = tokenize(text)
    messages = [parse_message(number, tokens, lines) for number, tokens in lines]
    keys = [message.key for message in messages]
    if len(set(keys)) != len(keys):
        raise DefError("an api key is defined twice")
    return sorted(messages, key=lambda message: message.key)


# ---------------------------------------------------------------- types


def clip(versions, message):
    """The part of a version range inside the API's supported range, or None."""
    low, high = max(versions[0], message.low), min(versions[1], message.high)
    return (low, high) if low <= high else None


def condition(versions, message):
    """A C++ test for `version` in `versions`, or None when always true."""
    clipped = clip(versions, message)
    if clipped is None:
        return "false"
    parts = []
    if clipped[0] > message.low:
        parts.append(f"version >= {clipped[0]}")
    if clipped[1] < message.high:
        parts.append(f"version <= {clipped[1]}")
    return " && ".join(parts) if parts else None


def null_state(field, message):
    """'never', 'always' or 'sometimes' null-capable across the field's versions."""
    if field.nullable is None:
        return "never"
    present = clip(field.versions, message)
    both = clip((max(present[0], field.nullable[0]), min(present[1], field.nullable[1])), message)
    if both is None:
        return "never"
    return "always" if both == present else "sometimes"


def element_type(field):
    if field.struct is not None:
        return field.struct.name
    return SCALARS[field.base][0] if field.base in SCALARS else BLOBS[field.base][0]


def cpp_type(field, message):
    inner = element_type(field)
    if field.array:
        inner = f"std::vector<{inner}>"
    return f"std::optional<{inner}>" if null_state(field, message) != "never" else inner


def initializer(field, message):
    if field.default is None:
        if field.base == "bool" and not field.array:
            return " = false"
        if field.base in SCALARS and not field.array:
            return " = 0" if field.base != "uuid" else "{}"
        return "{}" if null_state(field, message) == "never" else f" = {element_type_full(field)}()"
    if field.default == "null":
        if null_state(field, message) == "never":
            raise DefError(f"line {field.line}: default=null on a field that is never null")
        return " = std::nullopt"
    if field.default in ("true", "false"):
        return f" = {field.default}"
    return f" = static_cast<{SCALARS[field.base][0]}>({field.default}LL)"


def element_type_full(field):
    inner = element_type(field)
    return f"std::vector<{inner}>" if field.array else inner


def leaf_bytes_min(base):
    return SCALARS[base][1] if base in SCALARS else BLOBS[base][1]


def reader_suffix(base, nullable):
    if base in SCALARS:
        return SCALARS[base][2]
    kind = "string" if base == "string" else "bytes"
    return f"nullable_{kind}" if nullable or base == "records" else kind


# ---------------------------------------------------------------- emitters


class Out:
    def __init__(self):
        self.lines = []
        self.depth = 0

    def __call__(self, text=""):
        self.lines.append(("    " * self.depth + text) if text else "")

    def open(self, text):
        self(text + " {" if text else "{")
        self.depth += 1

    def close(self, text="}"):
        self.depth -= 1
        self(text)

    def text(self):
        return "\n".join(self.lines) + "\n"


def guarded(out, test, body):
    """Runs body() inside `if (test)` unless test is None (always)."""
    if test is None:
        body()
        return
    out.open(f"if ({test})")
    body()
    out.close()


def split_on_null(out, field, message, body):
    """Calls body(nullable) once per null-capability the field has."""
    state = null_state(field, message)
    if state != "sometimes":
        body(state == "always")
        return
    out.open(f"if ({condition(field.nullable, message) or 'true'})")
    body(True)
    out.close("} else {")
    out.depth += 1
    body(False)
    out.close()


def emit_encode_field(out, field, message):
    member = field.name
    optional = null_state(field, message) != "never"

    def body(nullable):
        value = member
        if optional and nullable and field.array:
            out.open(f"if (!{member}.has_value())")
            out("writer.write_null_array();")
            out.close("} else {")
            out.depth += 1
        elif optional and not nullable:
            out(f'SAMSA_ASSERT_MSG({member}.has_value(), "{member}: null where the version '
                'forbids it");')
        if optional and (field.array or not nullable):
            value = f"(*{member})"
        if field.array:
            out(f"writer.write_array_count({value}.size());")
            out.open(f"for (const auto& wire_item : {value})")
            if field.struct is not None:
                out("wire_item.encode(version, writer);")
            else:
                out(f"writer.write_{reader_suffix(field.base, False)}(wire_item);")
            out.close()
        else:
            out(f"writer.write_{reader_suffix(field.base, nullable)}({value});")
        if optional and nullable and field.array:
            out.close()

    guarded(out, condition(field.versions, message), lambda: split_on_null(out, field, message, body))


def emit_decode_field(out, field, message):
    member = field.name
    optional = null_state(field, message) != "never"

    def body(nullable):
        if not field.array:
            out(f"{member} = reader.read_{reader_suffix(field.base, nullable)}();")
            return
        if field.struct is not None:
            bytes_min = f"{field.struct.name}::wire_bytes_min(version)"
        else:
            bytes_min = str(leaf_bytes_min(field.base))
        nullable_text = "true" if nullable else "false"
        out(f"auto wire_count = reader.read_array_count({nullable_text}, {bytes_min});")
        out.open("if (wire_count.has_value())")
        out(f"auto& wire_items = {member + '.emplace()' if optional else member};")
        out("wire_items.reserve(static_cast<std::size_t>(*wire_count));")
        out.open("for (std::int32_t wire_index = 0; wire_index < *wire_count && reader.ok();"
                 " ++wire_index)")
        if field.struct is not None:
            out("wire_items.emplace_back().read(version, reader);")
        else:
            out(f"wire_items.push_back(reader.read_{reader_suffix(field.base, False)}());")
        out.close()
        if optional:
            out.close("} else {")
            out.depth += 1
            out(f"{member} = std::nullopt;")
        out.close()

    def scoped():
        if field.array and condition(field.versions, message) is None:
            out.open("")
            split_on_null(out, field, message, body)
            out.close()
        else:
            split_on_null(out, field, message, body)

    guarded(out, condition(field.versions, message), scoped)


def emit_struct_declaration(out, struct, message, top):
    out.open(f"struct {struct.name}")
    if top:
        out(f"static constexpr std::int16_t api_key = {message.key};")
        out(f"static constexpr std::int16_t min_version = {message.low};")
        out(f"static constexpr std::int16_t max_version = {message.high};")
        out()
    for field in struct.fields:
        if field.struct is not None:
            emit_struct_declaration(out, field.struct, message, False)
            out()
    for field in struct.fields:
        out(f"{cpp_type(field, message)} {field.name}{initializer(field, message)};")
    out()
    out(f"bool operator==(const {struct.name}&) const = default;")
    out("void encode(std::int16_t version, Writer& writer) const;")
    out("void read(std::int16_t version, Reader& reader);")
    out("static std::size_t wire_bytes_min(std::int16_t version);")
    if top:
        out(f"static ::samsa::Result<{struct.name}, WireError> decode(std::int16_t version, "
            "Reader& reader);")
    out.close("};")


def emit_struct_definitions(out, struct, message, scope):
    name = f"{scope}{struct.name}"
    for field in struct.fields:
        if field.struct is not None:
            emit_struct_definitions(out, field.struct, message, name + "::")
    out.open(f"void {name}::encode(std::int16_t version, Writer& writer) const")
    out("static_cast<void>(version);")
    out("static_cast<void>(writer);")
    for field in struct.fields:
        emit_encode_field(out, field, message)
    out.close()
    out()
    out.open(f"void {name}::read(std::int16_t version, Reader& reader)")
    out("static_cast<void>(version);")
    out("static_cast<void>(reader);")
    for field in struct.fields:
        emit_decode_field(out, field, message)
    out.close()
    out()
    out.open(f"std::size_t {name}::wire_bytes_min(std::int16_t version)")
    out("static_cast<void>(version);")
    out("std::size_t wire_bytes = 0;")
    for field in struct.fields:
        size = 4 if field.array else leaf_bytes_min(field.base)
        guarded(out, condition(field.versions, message), lambda size=size: out(f"wire_bytes += {size};"))
    out("return wire_bytes;")
    out.close()
    out()


def emit_decode_entry(out, struct):
    name = struct.name
    out.open(f"::samsa::Result<{name}, WireError> {name}::decode(std::int16_t version, Reader& reader)")
    out("SAMSA_ASSERT(version >= min_version && version <= max_version);")
    out(f"{name} wire_message;")
    out("wire_message.read(version, reader);")
    out("if (!reader.ok()) return Failure{*reader.error()};")
    out("return wire_message;")
    out.close()
    out()


# ---------------------------------------------------------------- testing helpers


def emit_fill(out, struct, message, scope):
    name = f"{scope}{struct.name}"
    for field in struct.fields:
        if field.struct is not None:
            emit_fill(out, field.struct, message, name + "::")
    out.open(f"inline void fill({name}& value, SampleSource& source, std::int16_t version, "
             "bool nulls)")
    out("static_cast<void>(value);")
    out("static_cast<void>(source);")
    out("static_cast<void>(version);")
    out("static_cast<void>(nulls);")
    for field in struct.fields:
        member = f"value.{field.name}"
        if null_state(field, message) != "never":
            test = condition(field.nullable, message) or "true"
            out.open(f"if (nulls && ({test}))")
            out(f"{member} = std::nullopt;")
            out.close("} else {")
            out.depth += 1
            out(f"{member}.emplace();")
            emit_fill_value(out, field, f"(*{member})")
            out.close()
        else:
            emit_fill_value(out, field, member)
    out.close()
    out()


def emit_fill_value(out, field, target):
    if field.array:
        out.open("for (int index = 0; index < 2; ++index)")
        out(f"{target}.emplace_back();")
        if field.struct is not None:
            out(f"fill({target}.back(), source, version, nulls);")
        else:
            out(f"source.next({target}.back());")
        out.close()
    else:
        out(f"source.next({target});")


def emit_clear_absent(out, struct, message, scope):
    name = f"{scope}{struct.name}"
    for field in struct.fields:
        if field.struct is not None:
            emit_clear_absent(out, field.struct, message, name + "::")
    out.open(f"inline void clear_absent({name}& value, std::int16_t version)")
    out("static_cast<void>(version);")
    out("static_cast<void>(value);")
    out(f"const {name} defaults;")
    out("static_cast<void>(defaults);")
    for field in struct.fields:
        test = condition(field.versions, message)
        if test is not None:
            out.open(f"if (!({test}))")
            out(f"value.{field.name} = defaults.{field.name};")
            out.close()
        if field.struct is not None:
            items = f"value.{field.name}"
            if null_state(field, message) != "never":
                out.open(f"if ({items}.has_value())")
                items = f"(*{items})"
            out(f"for (auto& item : {items}) clear_absent(item, version);")
            if null_state(field, message) != "never":
                out.close()
    out.close()
    out()


# ---------------------------------------------------------------- files


PREAMBLE = """// Generated by tools/kafka_codegen.py from net/kafka/messages.def. Do not edit.
"""


def emit_header(messages):
    out = Out()
    out(PREAMBLE + "#pragma once")
    out()
    for include in ("<array>", "<cstddef>", "<cstdint>", "<optional>", "<string>",
                    "<variant>", "<vector>", "", '"core/base/result.h"', '"net/kafka/wire.h"'):
        out(f"#include {include}" if include else "")
    out()
    out("namespace samsa::kafka {")
    out()
    for message in messages:
        for struct in (message.request, message.response):
            emit_struct_declaration(out, struct, message, True)
            out()
    for kind in ("Request", "Response"):
        names = ", ".join(m.name + kind for m in messages)
        out(f"using {kind} = std::variant<{names}>;")
    out()
    out.open("struct ApiVersionRange")
    out("std::int16_t api_key;")
    out("std::int16_t min_version;")
    out("std::int16_t max_version;")
    out.close("};")
    out(f"inline constexpr std::array<ApiVersionRange, {len(messages)}> api_version_ranges = {{{{")
    for message in messages:
        out(f"    {{{message.key}, {message.low}, {message.high}}},  // {message.name}")
    out("}};")
    out()
    out("// The API's name, or nullptr for a key samsa does not know.")
    out("const char* api_name(std::int16_t api_key) noexcept;")
    out("// Decodes a request body. The key and version must be in api_version_ranges.")
    out("Result<Request, WireError> decode_request(std::int16_t api_key, std::int16_t version,")
    out("                                          Reader& reader);")
    out()
    out("}  // namespace samsa::kafka")
    return out.text()


def emit_source(messages, header_name):
    out = Out()
    out(PREAMBLE + f'#include "net/kafka/{header_name}"')
    out()
    out("#include <utility>")
    out()
    out('#include "core/base/assert.h"')
    out()
    out("namespace samsa::kafka {")
    out()
    for message in messages:
        for struct in (message.request, message.response):
            emit_struct_definitions(out, struct, message, "")
            emit_decode_entry(out, struct)
    out.open("const char* api_name(std::int16_t api_key) noexcept")
    out.open("switch (api_key)")
    for message in messages:
        out(f'case {message.key}: return "{message.name}";')
    out.close()
    out("return nullptr;")
    out.close()
    out()
    out("namespace {")
    out("template <class T>")
    out.open("Result<Request, WireError> as_request(Result<T, WireError> result)")
    out("if (!result.ok()) return Failure{result.error()};")
    out("return Request(std::move(result).value());")
    out.close()
    out("}  // namespace")
    out()
    out.open("Result<Request, WireError> decode_request(std::int16_t api_key, "
             "std::int16_t version, Reader& reader)")
    out.open("switch (api_key)")
    for message in messages:
        out(f"case {message.key}: return as_request({message.name}Request::decode(version, "
            "reader));")
    out.close()
    out('SAMSA_UNREACHABLE("decode_request: unknown api key");')
    out.close()
    out()
    out("}  // namespace samsa::kafka")
    return out.text()


# Deterministic values, none equal to a default in messages.def (-1, 0, 1,
# 60000, INT32_MIN, INT32_MAX): a field that a version drops must come back
# as its default, which a test can only see if the sample differs from it.
SAMPLE_SOURCE = """
class SampleSource {
public:
    void next(std::int8_t& value) { value = static_cast<std::int8_t>(10 + step() % 100); }
    void next(std::int16_t& value) { value = static_cast<std::int16_t>(1000 + step() % 20000); }
    void next(std::int32_t& value) { value = static_cast<std::int32_t>(100000 + step()); }
    void next(std::int64_t& value) { value = static_cast<std::int64_t>(10000000000 + step()); }
    void next(std::uint16_t& value) { value = static_cast<std::uint16_t>(2000 + step() % 20000); }
    void next(bool& value) { value = !value; }
    void next(Uuid& value) {
        for (auto& byte : value) byte = static_cast<std::uint8_t>(step());
    }
    void next(std::string& value) { value = "s" + std::to_string(step()); }
    void next(Bytes& value) {
        value = {0xde, 0xad, static_cast<std::uint8_t>(step()), 0x00, 0xff};
    }

private:
    std::uint32_t step() { return ++counter_; }

    std::uint32_t counter_ = 0;
};
"""


def emit_testing_header(messages, header_name):
    out = Out()
    out(PREAMBLE + "// Test support: sample values and per-version expectations.")
    out("#pragma once")
    out()
    out("#include <string>")
    out()
    out(f'#include "net/kafka/{header_name}"')
    out()
    out("namespace samsa::kafka::testing {")
    out(SAMPLE_SOURCE)
    for message in messages:
        for struct in (message.request, message.response):
            emit_fill(out, struct, message, "")
            emit_clear_absent(out, struct, message, "")
    out("}  // namespace samsa::kafka::testing")
    return out.text()


def main(argv):
    if len(argv) != 5:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    definition, header, source, testing = argv[1:]
    with open(definition, encoding="utf-8") as handle:
        try:
            messages = parse(handle.read())
        except DefError as error:
            print(f"{definition}: {error}", file=sys.stderr)
            return 1
    header_name = header.replace("\\", "/").rsplit("/", 1)[-1]
    for path, text in ((header, emit_header(messages)),
                       (source, emit_source(messages, header_name)),
                       (testing, emit_testing_header(messages, header_name))):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

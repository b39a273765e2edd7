#!/usr/bin/python3
"""Self-checks for the function-size heuristic in check_sizes.py.

Usage: test_check_sizes.py [REPO_ROOT]   (the argument is accepted and ignored)
"""

import os
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_sizes  # noqa: E402


def body(n_lines, indent="    "):
    """Statements filling a body of n_lines lines including '{' and '}'."""
    return "".join("%sx += %d;\n" % (indent, i) for i in range(n_lines - 2))


def function(signature, n_lines):
    return "%s {\n%s}\n" % (signature, body(n_lines))


def bodies(text):
    return check_sizes.function_bodies(text)


def problems(path, text):
    return check_sizes.check_text(path, text)


def test_long_function_in_core_is_flagged():
    text = "#include <vector>\n\nint f(int x) {\n" + body(75) + "}\n"
    assert bodies(text) == [(3, 75)], bodies(text)
    assert problems("core/a.cpp", text) == [
        "core/a.cpp:3: function body is 75 lines (limit 70)"], problems("core/a.cpp", text)


def test_short_function_in_core_is_not_flagged():
    text = function("int f(int x)", 60)
    assert bodies(text) == [(1, 60)], bodies(text)
    assert problems("core/a.cpp", text) == []


def test_tests_have_a_higher_limit():
    text = function("TEST(Queue, PushPop)", 120)
    assert bodies(text) == [(1, 120)], bodies(text)
    assert problems("tests/unit/queue_test.cpp", text) == []
    assert problems("core/queue.cpp", text) != []
    long_test = function("TEST_F(Fixture, Long)", 151)
    assert problems("tests/unit/x_test.cpp", long_test) == [
        "tests/unit/x_test.cpp:1: function body is 151 lines (limit 150)"]


def test_if_block_is_not_a_function():
    # Not even at file scope, where a real parser would reject it.
    text = "if (ready(x)) {\n" + body(80) + "}\n"
    assert bodies(text) == [], bodies(text)
    for keyword in ("for (;;)", "while (x)", "switch (x)", "catch (...)", "do", "else"):
        text = keyword + " {\n" + body(80) + "}\n"
        assert bodies(text) == [], (keyword, bodies(text))


def test_blocks_inside_a_function_belong_to_it():
    text = ("void f() {\n"
            "    if (a) {\n        g();\n    } else {\n        h();\n    }\n"
            "    auto cb = [&](int v) {\n        return v + 1;\n    };\n"
            "    for (int i = 0; i < 3; ++i) {\n        cb(i);\n    }\n"
            "}\n")
    assert bodies(text) == [(1, 13)], bodies(text)


def test_class_body_is_not_a_function():
    members = "".join("    int m%d_ = %d;\n" % (i, i) for i in range(90))
    text = ("namespace samsa {\n"
            "template <class T>\n"
            "class [[nodiscard]] Big final : public Base<T> {\n"
            "public:\n"
            "    int get() const noexcept { return m0_; }\n"
            + members +
            "private:\n"
            "    struct Inner {\n        int a{1};\n    };\n"
            "    enum class Kind : int { a, b };\n"
            "};\n"
            "}  // namespace samsa\n")
    assert bodies(text) == [(5, 1)], bodies(text)
    assert problems("core/big.h", text) == []


def test_constructor_with_initializer_list_is_measured():
    text = ("Server::Server(Config config, int port) noexcept\n"
            "    : config_(std::move(config)), port_{port}, peers_{} {\n"
            + body(75) + "}\n")
    assert bodies(text) == [(2, 75)], bodies(text)
    assert problems("runtime/server.cpp", text) == [
        "runtime/server.cpp:2: function body is 75 lines (limit 70)"]
    in_class = ("class Server {\npublic:\n"
                "    explicit Server(int port) : port_(port), names_{\"a\", \"b\"} {\n"
                + body(72) + "    }\n};\n")
    assert bodies(in_class) == [(3, 72)], bodies(in_class)


def test_qualifiers_and_trailing_return_types():
    cases = [
        "auto f(int x) const -> std::vector<int>",
        "int& get() & noexcept(noexcept(x))",
        "void run() override",
        "void stop() final",
        "T* operator->() const",
        "bool operator()(const A& a, const B& b) const",
        "template <class T> void push(T&& t) requires std::movable<T>",
        "[[nodiscard]] static constexpr int limit() noexcept",
    ]
    for sig in cases:
        text = "struct S {\n" + function("    " + sig, 5) + "};\n"
        assert bodies(text) == [(2, 5)], (sig, bodies(text))


def test_non_functions_at_file_scope():
    text = ("constexpr int table[] = {\n    1, 2, 3,\n};\n"
            "Config defaults{\n    .port = 9092,\n};\n"
            "template <class T>\n"
            "concept Machine = requires(T& m) {\n    m.step();\n};\n"
            'extern "C" {\nint c_api(int);\n}\n'
            "namespace a::b {\nint g() { return 1; }\n}\n")
    assert bodies(text) == [(15, 1)], bodies(text)


def test_comments_literals_and_macros_are_ignored():
    text = ("// void commented() {\n"
            "/* int f() { */\n"
            "#define WRAP(x) do { x; } while (0)\n"
            "const char* s = \"int g() {\";\n"
            "char c = '{';\n"
            "int h() {\n    return '}' + 1'000;\n}\n")
    assert bodies(text) == [(6, 3)], bodies(text)


def test_file_length_limit():
    text = "int x;\n" * 801
    assert problems("sim/big.cpp", text) == ["sim/big.cpp:1: file is 801 lines (limit 800)"]
    assert problems("sim/ok.cpp", "int x;\n" * 800) == []


def main():
    tests = [(name, fn) for name, fn in sorted(globals().items())
             if name.startswith("test_") and callable(fn)]
    failed = 0
    for name, fn in tests:
        try:
            fn()
        except AssertionError as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
    if failed:
        print("sizes selftest: %d of %d checks failed" % (failed, len(tests)))
    else:
        print("sizes selftest: all %d checks pass" % len(tests))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

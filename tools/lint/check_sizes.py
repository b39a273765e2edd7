#!/usr/bin/python3
"""File and function size limits for the C++ sources.

Usage: check_sizes.py REPO_ROOT

Every .h/.cpp under core/ net/ runtime/ sim/ bench/ tests/ must be at most
800 lines long. Every function body must be at most 70 lines long (150 under
tests/), counted from the line of its '{' to the line of its matching '}'.

Function bodies are found by a brace-matching heuristic, not a parser:
comments, string/char literals and preprocessor lines are blanked first, then
each '{' outside any function body is classified by the text of its statement
so far (since the last ';', '{' or '}' of the enclosing scope):
  * ends with ')' once trailing qualifiers (const, noexcept(...), override,
    final, mutable, &, &&, try, a trailing return type '-> T', a trailing
    requires-clause) and a constructor initializer list (') : a_(x), b_{y}')
    are removed, and the name before the '(' is not a keyword such as
    if/for/while/switch/catch  ->  a function body (also TEST(...) { ... });
  * names class/struct/union/enum/namespace or is extern "C"  ->  a scope whose
    members are examined in turn;
  * anything else (brace initializers, control blocks)  ->  not a function.
Everything inside a function body, lambdas included, belongs to that function.
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cxx_strip import strip  # noqa: E402

SOURCE_DIRS = ("core", "net", "runtime", "sim", "bench", "tests")
EXTENSIONS = (".h", ".cpp")
FILE_LINES_MAX = 800
FUNCTION_LINES_MAX = 70
TEST_FUNCTION_LINES_MAX = 150

# A '(' preceded by one of these opens something that is not a parameter list.
NOT_FUNCTION_NAMES = {
    "if", "for", "while", "switch", "catch", "requires", "sizeof", "alignof",
    "alignas", "decltype", "static_assert", "return", "co_return", "co_yield",
    "co_await", "throw", "new", "delete", "typeid", "noexcept",
}
_TRAILING_WORD = re.compile(
    r"(?:\b(?:const|noexcept|override|final|mutable|volatile|try)|&&|&)\s*$")
_ACCESS_LABEL = re.compile(r"^\s*(?:(?:public|private|protected)\s*:(?!:)\s*)+")
_SCOPE = re.compile(r"\b(?:class|struct|union|enum|namespace)\b|^\s*extern\s*\"")
_TEMPLATE_HEAD = re.compile(r"^\s*template\s*<")
_NAME_BEFORE_PAREN = re.compile(r"([A-Za-z_]\w*)\s*$")

FUNCTION, SCOPE, BLOCK, INIT = "function", "scope", "block", "init"


def blank_preprocessor(text):
    """Blank preprocessor directives (with their continuation lines)."""
    lines = text.split("\n")
    in_directive = False
    for i, line in enumerate(lines):
        if in_directive or line.lstrip().startswith("#"):
            in_directive = line.rstrip().endswith("\\")
            lines[i] = " " * len(line)
    return "\n".join(lines)


def _matching_open(s, close_index):
    """Index of the bracket that matches the closer at s[close_index]."""
    pairs = {")": "(", "]": "[", "}": "{"}
    depth = 0
    for i in range(close_index, -1, -1):
        c = s[i]
        if c in pairs:
            depth += 1
        elif c in "([{":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _top_level_positions(s, token):
    """Start indices of token in s at bracket depth 0."""
    found = []
    depth = 0
    i = 0
    while i < len(s):
        c = s[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and s.startswith(token, i):
            if token != ":" or (s[i - 1:i] != ":" and s[i + 1:i + 2] != ":"):
                found.append(i)
        i += 1
    return found


def _strip_qualifiers(s):
    """Remove trailing const/noexcept(...)/override/&/... from a declarator."""
    while True:
        s = s.rstrip()
        m = _TRAILING_WORD.search(s)
        if m:
            s = s[:m.start()]
            continue
        if s.endswith(")"):
            open_i = _matching_open(s, len(s) - 1)
            if open_i > 0 and re.search(r"\bnoexcept\s*$", s[:open_i]):
                s = s[:open_i]
                continue
        return s


def _ends_like_parameter_list(s):
    s = _strip_qualifiers(s)
    return s.endswith(")")


def _declarator(prefix):
    """Reduce a statement prefix to the part that should end with ')'."""
    s = _ACCESS_LABEL.sub("", prefix)
    # Trailing requires-clause: void f() requires C<T> {
    for pos in reversed(_top_level_positions(s, "requires")):
        before = s[:pos]
        if re.search(r"\w$", before) or re.match(r"\w", s[pos + 8:pos + 9]):
            continue  # part of a longer identifier
        if _ends_like_parameter_list(before):
            s = before
            break
    # Trailing return type: auto f() const -> T {
    for pos in reversed(_top_level_positions(s, "->")):
        if _ends_like_parameter_list(s[:pos]):
            s = s[:pos]
            break
    # Constructor initializer list: X(int a) noexcept : a_(a), b_{a} {
    # The '{' only opens the body if the initializer list is complete, i.e.
    # ends with ')' or '}' (or a pack expansion); after "a_(x), b_" it is the
    # brace initializer of member b_.
    for pos in _top_level_positions(s, ":"):
        if _ends_like_parameter_list(s[:pos]):
            if not re.search(r"(?:[)}]|\.\.\.)\s*$", s[pos + 1:]):
                return ""
            s = s[:pos]
            break
    return _strip_qualifiers(s)


def classify(prefix):
    """Classify the '{' that follows prefix (text of the statement so far)."""
    decl = _declarator(prefix)
    if decl.endswith(")"):
        open_i = _matching_open(decl, len(decl) - 1)
        if open_i >= 0:
            m = _NAME_BEFORE_PAREN.search(decl[:open_i])
            if m and m.group(1) in NOT_FUNCTION_NAMES:
                return BLOCK
            return FUNCTION
    body = _ACCESS_LABEL.sub("", prefix)
    if _TEMPLATE_HEAD.match(body):
        # Drop "template <...>" heads so "template <class T> void f" is not
        # taken for a class; brackets inside are rare enough to ignore.
        body = re.sub(r"^\s*template\s*<[^{;]*?>\s*(?=[A-Za-z_\[])", "", body, count=1)
    if _SCOPE.search(body):
        return SCOPE
    if re.search(r"(?:\belse|\bdo|\btry)\s*$", prefix):
        return BLOCK
    return INIT


def function_bodies(text):
    """Return [(first_line, line_count)] of outermost function bodies."""
    s = blank_preprocessor(strip(text))
    bodies = []
    # Each open brace: (kind, line, saved statement start of the parent).
    stack = []
    stmt_start = 0
    line = 1
    in_function = 0  # number of FUNCTION entries on the stack (0 or 1)
    for i, c in enumerate(s):
        if c == "\n":
            line += 1
        elif in_function:
            if c == "{":
                stack.append(("nested", line, 0))
            elif c == "}":
                kind, start_line, saved = stack.pop()
                if kind == FUNCTION:
                    in_function = 0
                    bodies.append((start_line, line - start_line + 1))
                    stmt_start = i + 1
        elif c == ";":
            stmt_start = i + 1
        elif c == "{":
            kind = classify(s[stmt_start:i])
            stack.append((kind, line, stmt_start))
            if kind == FUNCTION:
                in_function = 1
            stmt_start = i + 1
        elif c == "}":
            if not stack:
                continue  # unbalanced: ignore
            kind, _, saved = stack.pop()
            # A brace initializer is part of its statement; a block ends one.
            stmt_start = saved if kind == INIT else i + 1
    return bodies


def function_limit(rel_path):
    return TEST_FUNCTION_LINES_MAX if rel_path.startswith("tests/") else FUNCTION_LINES_MAX


def check_text(rel_path, text):
    """Return the list of problems (as printable lines) for one file."""
    problems = []
    n_lines = len(text.splitlines())
    if n_lines > FILE_LINES_MAX:
        problems.append("%s:1: file is %d lines (limit %d)" % (rel_path, n_lines, FILE_LINES_MAX))
    limit = function_limit(rel_path)
    for start, count in function_bodies(text):
        if count > limit:
            problems.append("%s:%d: function body is %d lines (limit %d)"
                            % (rel_path, start, count, limit))
    return problems


def source_files(root):
    for top in SOURCE_DIRS:
        base = os.path.join(root, top)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for fn in sorted(filenames):
                if fn.endswith(EXTENSIONS):
                    path = os.path.join(dirpath, fn)
                    yield os.path.relpath(path, root).replace(os.sep, "/"), path


def main(argv):
    if len(argv) != 2:
        print("usage: check_sizes.py REPO_ROOT", file=sys.stderr)
        return 2
    root = argv[1]
    count = 0
    problems = []
    for rel, path in source_files(root):
        count += 1
        with open(path, encoding="utf-8", errors="replace") as f:
            problems.extend(check_text(rel, f.read()))
    for p in problems:
        print(p)
    if problems:
        print("sizes: %d problem(s); split long files and functions" % len(problems))
        return 1
    print("sizes: %d files within limits" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

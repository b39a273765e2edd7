#!/usr/bin/python3
"""Keep core/ deterministic and free of I/O.

core/ is the pure state machine shared by the simulator and the real runtime.
It must not reach threads, clocks, randomness, the environment, files, sockets
or the console: those all come in through the seams the runtime provides.

Usage: check_core_purity.py REPO_ROOT

Scans every C++ file under core/ (comments and string literals are ignored)
and prints "path:line: reason" for each forbidden include or use. Exits 1 if
anything is found, else prints "core purity: N files clean".
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cxx_strip import strip  # noqa: E402

EXTENSIONS = (".h", ".cpp", ".hpp", ".cc", ".ipp")

# Headers core/ must not include, by exact name...
BANNED_HEADERS = {
    "thread", "mutex", "shared_mutex", "condition_variable", "future", "atomic",
    "chrono", "random", "fstream", "filesystem", "iostream", "cstdio",
    "stdio.h", "unistd.h", "fcntl.h", "ctime", "time.h", "csignal",
    "signal.h", "cstdlib", "stdlib.h", "pthread.h",
}
# ...and by prefix (a directory or a library family).
BANNED_HEADER_PREFIXES = (
    "sys/", "netinet/", "arpa/", "boost/", "asio", "liburing", "capnp/", "kj/",
)

# (label, regex) for forbidden uses. The label of the printf family is the
# matched name itself so the allowlist can admit fprintf but not printf.
BANNED_USES = [
    ("std::rand", r"\bstd::rand\b"),
    ("rand(", r"(?<![\w.])(?<!->)rand\s*\("),
    ("srand(", r"(?<![\w.])(?<!->)srand\s*\("),
    ("random_device", r"\brandom_device\b"),
    ("system_clock", r"\bsystem_clock\b"),
    ("steady_clock", r"\bsteady_clock\b"),
    ("high_resolution_clock", r"\bhigh_resolution_clock\b"),
    ("getenv", r"\bgetenv\b"),
    ("secure_getenv", r"\bsecure_getenv\b"),
    ("environ", r"\benviron\b"),
    ("fopen", r"\bfopen\b"),
    ("socket(", r"(?<![\w.])(?<!->)socket\s*\("),
    ("std::thread", r"\bstd::thread\b"),
    ("std::jthread", r"\bstd::jthread\b"),
    ("time(nullptr)", r"\btime\s*\(\s*(?:nullptr|NULL|0)\s*\)"),
    ("std::cout", r"\bstd::cout\b"),
    ("std::cerr", r"\bstd::cerr\b"),
    ("std::clog", r"\bstd::clog\b"),
    (None, r"\b(v?[fsd]?n?printf)\s*\("),  # printf, fprintf, snprintf, ...
]
_BANNED_USES = [(label, re.compile(rx)) for label, rx in BANNED_USES]

# The only exceptions. Keys are paths relative to the repo root; values are
# header names ("<cstdio>") or use labels ("fprintf") that file may have.
ALLOWLIST = {
    # Prints the failed assertion to stderr and aborts the process.
    "core/base/assert.cpp": {"<cstdio>", "<cstdlib>", "fprintf"},
}

_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')


def banned_header(name):
    name = name.strip()
    return name in BANNED_HEADERS or name.startswith(BANNED_HEADER_PREFIXES)


def check_text(rel_path, text):
    """Return a list of (line, reason) problems in one file's text."""
    allowed = ALLOWLIST.get(rel_path, set())
    problems = []
    for lineno, line in enumerate(strip(text).split("\n"), 1):
        m = _INCLUDE.match(line)
        if m:
            header = m.group(1).strip()
            if banned_header(header) and "<%s>" % header not in allowed:
                problems.append((lineno, "core/ must not include <%s>" % header))
            continue
        seen = []  # spans already reported, so std::rand is not also rand(
        for label, rx in _BANNED_USES:
            for use in rx.finditer(line):
                if any(use.start() < end and start < use.end() for start, end in seen):
                    continue
                seen.append(use.span())
                name = label or use.group(1)
                if name not in allowed:
                    problems.append((lineno, "core/ must not use %s" % name))
    return problems


def core_files(root):
    core = os.path.join(root, "core")
    for dirpath, dirnames, filenames in os.walk(core):
        dirnames.sort()
        for fn in sorted(filenames):
            if fn.endswith(EXTENSIONS):
                yield os.path.join(dirpath, fn)


def main(argv):
    if len(argv) != 2:
        print("usage: check_core_purity.py REPO_ROOT", file=sys.stderr)
        return 2
    root = argv[1]
    if not os.path.isdir(os.path.join(root, "core")):
        print("core purity: no core/ directory under %s" % root)
        return 1
    count = 0
    failures = 0
    for path in core_files(root):
        count += 1
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for lineno, reason in check_text(rel, text):
            print("%s:%d: %s" % (rel, lineno, reason))
            failures += 1
    if failures:
        print("core purity: %d problem(s) in core/" % failures)
        return 1
    print("core purity: %d files clean" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

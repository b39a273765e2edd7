"""Shared helper for the lint scripts: blank out C++ comments and literals.

strip(text) returns a string with the same length and the same line breaks as
text, in which comments are replaced by spaces and the contents of string and
character literals (raw strings included) are replaced by spaces, keeping the
quotes. Line numbers and columns therefore stay valid. The path of an
`#include "..."` line is kept, so include checks can still read it.
"""

import re

_RAW_PREFIX = re.compile(r'(?:u8|u|U|L)?R"([^()\\\s]{0,16})\(')
_INCLUDE = re.compile(r'[ \t]*#[ \t]*include[ \t]*(<[^>\n]*>|"[^"\n]*")')
_CHAR_PREFIXES = {"u8", "u", "U", "L"}


def _blank(s):
    return "".join("\n" if c == "\n" else " " for c in s)


def _is_ident_char(c):
    return c.isalnum() or c == "_"


def _is_digit_separator(text, i):
    """True if the quote at text[i] separates digits, as in 1'000'000."""
    j = i
    while j > 0 and (_is_ident_char(text[j - 1]) or text[j - 1] in "'."):
        j -= 1
    token = text[j:i]
    if not token or token in _CHAR_PREFIXES:
        return False
    return token[0].isdigit() or token[0] == "."


def _skip_line_comment(text, i):
    n = len(text)
    j = i
    while j < n and text[j] != "\n":
        if text[j] == "\\" and j + 1 < n and text[j + 1] == "\n":
            j += 2  # a backslash-newline continues a // comment
            continue
        j += 1
    return j


def _raw_string_end(text, i):
    """If a raw string literal starts at i, return (prefix_end, body_end, end)."""
    if i > 0 and _is_ident_char(text[i - 1]):
        return None
    m = _RAW_PREFIX.match(text, i)
    if not m:
        return None
    marker = ")" + m.group(1) + '"'
    k = text.find(marker, m.end())
    if k < 0:
        return m.end(), len(text), len(text)
    return m.end(), k, k + len(marker)


def _quoted_end(text, i):
    """Index just past the literal starting at text[i] (a quote)."""
    q = text[i]
    n = len(text)
    j = i + 1
    while j < n and text[j] != q and text[j] != "\n":
        j += 2 if text[j] == "\\" else 1
    if j < n and text[j] == q:
        return j + 1
    return min(j, n)


def strip(text):
    out = []
    i = 0
    n = len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if at_line_start:
            m = _INCLUDE.match(text, i)
            if m:
                out.append(m.group(0))
                i = m.end()
                at_line_start = False
                continue
        if c == "/" and nxt == "/":
            j = _skip_line_comment(text, i)
            out.append(_blank(text[i:j]))
            i = j
            continue
        if c == "/" and nxt == "*":
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(_blank(text[i:j]))
            i = j
            continue
        if c in "uULR":
            raw = _raw_string_end(text, i)
            if raw:
                prefix_end, body_end, end = raw
                out.append(text[i:prefix_end])
                out.append(_blank(text[prefix_end:body_end]))
                out.append(text[body_end:end])
                i = end
                at_line_start = False
                continue
        if c == '"' or (c == "'" and not _is_digit_separator(text, i)):
            j = _quoted_end(text, i)
            closed = j - 1 > i and text[j - 1] == c
            body_end = j - 1 if closed else j
            out.append(c)
            out.append(_blank(text[i + 1:body_end]))
            if closed:
                out.append(c)
            i = j
            at_line_start = False
            continue
        out.append(c)
        if c == "\n":
            at_line_start = True
        elif not c.isspace():
            at_line_start = False
        i += 1
    result = "".join(out)
    assert len(result) == len(text)
    return result

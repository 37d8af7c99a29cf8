"""GPT-2's byte-to-unicode table and pre-tokenization pattern, with Python's standard ``re``.

GPT-2 splits text with ``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+``.
Python's ``re`` has no ``\\p{L}``; the same pattern is built here with explicit character classes
computed once from ``unicodedata`` (letters: categories L*, numbers: N*, whitespace: the Unicode
White_Space property, which is what Oniguruma's ``\\s`` -- used by Hugging Face ``tokenizers`` -- matches).
The matching rules (leftmost match, first alternative wins, backtracking into ``\\s+(?!\\S)``) are the
same in both engines, so the pieces are identical for every character both Unicode tables know.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

# The Unicode White_Space property (Python's str.isspace also accepts U+001C..U+001F, which it lacks).
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"


@functools.cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from the 256 byte values to printable Unicode characters.

    Printable Latin-1 bytes map to themselves; the others (control characters, space, ...) are shifted
    to code points from U+0100 on, so that e.g. a space is shown as ``"Ġ"`` and a newline as ``"Ċ"``.
    """
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    mapping = {b: chr(b) for b in keep}
    n = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + n)
            n += 1
    return mapping


@functools.cache
def unicode_to_bytes() -> dict[str, int]:
    return {c: b for b, c in bytes_to_unicode().items()}


def _class_bodies() -> tuple[str, str]:
    """Regex character-class bodies for Unicode letters (L*) and numbers (N*), in one pass."""
    category = unicodedata.category
    bodies = {"L": [], "N": []}
    run_kind, run_start = None, 0
    for cp in range(sys.maxunicode + 2):
        kind = category(chr(cp))[0] if cp <= sys.maxunicode else None
        kind = kind if kind in bodies else None
        if kind != run_kind:
            if run_kind is not None:
                last = cp - 1
                bodies[run_kind].append(_escape(run_start) if run_start == last else
                                        f"{_escape(run_start)}-{_escape(last)}")
            run_kind, run_start = kind, cp
    return "".join(bodies["L"]), "".join(bodies["N"])


def _escape(cp: int) -> str:
    return f"\\U{cp:08x}"


@functools.cache
def gpt2_pattern() -> re.Pattern:
    """GPT-2's pre-tokenization regex, compiled for Python's ``re`` (built once: it is slow to build)."""
    letters, numbers = _class_bodies()
    space = "".join(_escape(ord(c)) for c in WHITESPACE)
    pattern = (
        rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{letters}]+| ?[{numbers}]+| ?[^{space}{letters}{numbers}]+"
        rf"|[{space}]+(?![^{space}])|[{space}]+"
    )
    return re.compile(pattern)


def pre_tokenize(text: str, add_prefix_space: bool = False, use_regex: bool = True) -> list[str]:
    """Splits ``text`` into GPT-2 pieces and maps each piece's UTF-8 bytes to byte-level characters.

    Example:
        >>> pre_tokenize("Hello world!")
        ['Hello', 'Ġworld', '!']
    """
    if add_prefix_space and not text.startswith(" "):
        text = " " + text
    pieces = gpt2_pattern().findall(text) if use_regex else [text]
    table = bytes_to_unicode()
    return ["".join(table[b] for b in piece.encode("utf-8")) for piece in pieces]


def bytes_from_tokens(tokens: list[str]) -> bytes:
    """The bytes behind byte-level tokens (a token with a character outside the map is taken verbatim)."""
    inverse = unicode_to_bytes()
    out = bytearray()
    for token in tokens:
        try:
            out.extend(inverse[c] for c in token)
        except KeyError:
            out.extend(token.encode("utf-8"))
    return bytes(out)

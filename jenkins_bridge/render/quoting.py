"""Quoting descriptor values as literals of the languages we generate.

Values are data, never code: each function returns a literal that the target language reads
back as exactly the input string, whatever it contains.
"""

from __future__ import annotations

import shlex

_GROOVY_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def groovy_string(value: str) -> str:
    """A single-quoted Groovy string literal (never interpolated, unlike "..." GStrings).

    Groovy replaces ``\\uXXXX`` escapes before it lexes (as Java does), but only where the
    backslash follows an even number of backslashes: doubling every backslash of the value
    keeps a ``\\u0027`` in the value as text. Characters that need an escape of ours are
    written as ``\\u005cuXXXX``: the preprocessing yields a backslash and the string lexer
    then reads ``\\uXXXX`` as an escape inside the literal. The plain ``\\uXXXX`` would hand
    the lexer the raw character, and U+FFFF is ANTLR 2's end-of-file sentinel.
    """
    if value.isascii() and value.isprintable():
        # The common case: only the backslash and the quote need escaping.
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    out = []
    for ch in value:
        escaped = _GROOVY_ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif not ch.isprintable() or ord(ch) > 0xFFFF:
            out.extend(f"\\u005cu{unit:04x}" for unit in _utf16_units(ch))
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


def _utf16_units(ch: str) -> list[int]:
    """The UTF-16 code units Java holds for ``ch``: a surrogate pair for an astral character,
    the unit itself for a lone surrogate (YAML's "\\ud800" escape makes those)."""
    data = ch.encode("utf-16-be", errors="surrogatepass")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def groovy_comment(value: str) -> str:
    """Text for a ``//`` line comment that nothing in ``value`` can end or change.

    No backslash (so no ``\\uXXXX`` escape, which Groovy applies inside comments too, and
    ``\\u000a`` would end the comment) and no line break or other unprintable character: each
    is written as ``%XX`` (its UTF-8 bytes), and ``%`` itself as ``%25``, so the text still
    names the value unambiguously.
    """
    out = []
    for ch in value:
        if ch in "\\%" or not ch.isprintable():
            data = ch.encode("utf-8", errors="surrogatepass")
            out.append("".join(f"%{byte:02X}" for byte in data))
        else:
            out.append(ch)
    return "".join(out)


def shell_word(value: str) -> str:
    """One POSIX shell word that the shell reads back as ``value``."""
    return shlex.quote(value)


def groovy_long_string(value: str, width: int = 96) -> str:
    """Like ``groovy_string``, for a value of any length: literals of at most ``width``
    characters of source each, joined with ``+`` across lines (CodeNarc's LineLength, and the
    class file's 65535-byte limit on one constant)."""
    return " +\n        ".join(groovy_literals(value, width))


def groovy_literals(value: str, width: int = 96) -> list[str]:
    """``value`` as single-quoted literals of at most ``width`` characters of source each, in
    order; each piece is the longest prefix of what is left whose quoted form fits."""
    pieces = (
        _ascii_pieces(value, width)
        if value.isascii() and value.isprintable()
        else _pieces(value, width)
    )
    return [groovy_string(piece) for piece in pieces]


def _ascii_pieces(value: str, width: int) -> list[str]:
    # Printable ASCII quotes as itself, but for the backslash and the quote (two characters
    # each): no per-character loop, which resolved descriptors of thousands of services pay.
    pieces: list[str] = []
    start, end_of_value = 0, len(value)
    while start < end_of_value:
        end = min(end_of_value, start + width)
        piece = value[start:end]
        cost = len(piece) + piece.count("\\") + piece.count("'")
        while cost > width and end - start > 1:
            end -= 1
            cost -= 2 if value[end] in "\\'" else 1
        pieces.append(value[start:end])
        start = end
    return pieces or [""]


def _pieces(value: str, width: int) -> list[str]:
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    costs: dict[str, int] = {}
    for ch in value:
        cost = costs.get(ch)
        if cost is None:
            cost = costs[ch] = len(groovy_string(ch)) - 2
        if current and size + cost > width:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(ch)
        size += cost
    pieces.append("".join(current))
    return pieces

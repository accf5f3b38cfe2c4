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
    """A single-quoted Groovy string literal (never interpolated, unlike "..." GStrings)."""
    if value.isascii() and value.isprintable():
        # The common case: only the backslash and the quote need escaping.
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    out = []
    for ch in value:
        escaped = _GROOVY_ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif not ch.isprintable() or ord(ch) > 0xFFFF:
            # Non-printables as \uXXXX so the source stays plain; astral characters as a
            # surrogate pair, which is how Java strings hold them anyway.
            data = ch.encode("utf-16-be")
            for index in range(0, len(data), 2):
                out.append(f"\\u{int.from_bytes(data[index : index + 2], 'big'):04x}")
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


def shell_word(value: str) -> str:
    """One POSIX shell word that the shell reads back as ``value``."""
    return shlex.quote(value)

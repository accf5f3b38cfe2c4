"""groovy_long_string: the fast path for printable ASCII splits exactly as the general one."""

from __future__ import annotations

import string

from hypothesis import example, given
from hypothesis import strategies as st

from jenkins_bridge.render.quoting import _ascii_pieces, _pieces, groovy_long_string

PRINTABLE_ASCII = st.text(alphabet=string.printable.strip("\t\n\r\x0b\x0c") + "\\'", max_size=700)


@given(PRINTABLE_ASCII, st.integers(min_value=2, max_value=120))
@example("ab'cd'ef\\gh", 3)
@example("x" * 95 + "'\\'", 96)
@example("'" * 50, 7)
def test_ascii_pieces_match_the_general_split(value: str, width: int) -> None:
    assert _ascii_pieces(value, width) == _pieces(value, width)


@given(PRINTABLE_ASCII)
def test_every_piece_fits_and_the_pieces_are_the_value(value: str) -> None:
    literal = groovy_long_string(value, 40)
    lines = literal.split(" +\n        ")
    assert all(len(line) <= 42 for line in lines)  # 40 of source plus the two quotes
    assert "".join(_ascii_pieces(value, 40)) == value


def test_quotes_and_backslashes_count_twice() -> None:
    assert _ascii_pieces("ab'cd", 4) == ["ab'", "cd"]  # a, b and the escaped quote fill 4
    assert _ascii_pieces("'" * 3, 4) == ["''", "'"]

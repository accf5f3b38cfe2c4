"""render --check's diffs: trimming the equal ends before difflib keeps them exact patches."""

from __future__ import annotations

import difflib
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from jenkins_bridge.output.workspace import _common_prefix, _diff

HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def apply(diff: str, before: list[str]) -> list[str]:
    """Apply a unified diff (as _diff writes it) to ``before``; checks every context line."""
    out: list[str] = []
    at = 0
    for line in diff.splitlines(keepends=True)[2:]:
        hunk = HUNK.match(line)
        if hunk:
            start, length = int(hunk.group(1)), hunk.group(2)
            begin = start - 1 if length != "0" else start
            out += before[at:begin]
            at = begin
        elif line.startswith(" "):
            assert before[at].rstrip("\n") == line[1:].rstrip("\n")
            out.append(before[at])
            at += 1
        elif line.startswith("-"):
            assert before[at].rstrip("\n") == line[1:].rstrip("\n")
            at += 1
        elif line.startswith("+"):
            out.append(line[1:])
    return [x.rstrip("\n") for x in out + before[at:]]


LINES = st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=40)


@settings(max_examples=400, deadline=None)
@given(LINES, LINES, st.integers(0, 40), st.integers(0, 40))
def test_diff_is_an_exact_patch(
    middle_a: list[str], middle_b: list[str], head: int, tail: int
) -> None:
    # Long equal ends (unique lines) around a changed middle, as in manifest.json.
    ends = [f"line {i}" for i in range(head)], [f"end {i}" for i in range(tail)]
    before, after = [*ends[0], *middle_a, *ends[1]], [*ends[0], *middle_b, *ends[1]]
    if before == after:
        return
    diff = _diff("f", "".join(x + "\n" for x in before), "".join(x + "\n" for x in after))
    assert diff.startswith("--- a/f\n+++ b/f\n@@ ")
    assert apply(diff, [x + "\n" for x in before]) == after


def test_diff_of_unique_lines_is_difflibs_own() -> None:
    before = [f'    "sha256": "{i:064x}"\n' for i in range(3000)]
    after = list(before)
    after[1200] = '    "sha256": "changed"\n'
    after.insert(2500, "inserted\n")
    expected = "".join(
        difflib.unified_diff(before, after, fromfile="a/manifest.json", tofile="b/manifest.json")
    )
    assert _diff("manifest.json", "".join(before), "".join(after)) == expected
    assert _diff("x", None, "one\n") == "--- /dev/null\n+++ b/x\n@@ -0,0 +1 @@\n+one\n"
    assert _diff("x", "one\n", None) == "--- a/x\n+++ /dev/null\n@@ -1 +0,0 @@\n-one\n"


@settings(max_examples=400, deadline=None)
@given(LINES, LINES)
def test_common_prefix_counts_the_equal_leading_lines(left: list[str], right: list[str]) -> None:
    expected = 0
    while expected < min(len(left), len(right)) and left[expected] == right[expected]:
        expected += 1
    assert _common_prefix(left, right) == expected
    assert _common_prefix(left, left) == len(left)

"""render --check's diffs: trimming the equal ends before difflib keeps them exact patches."""

from __future__ import annotations

import difflib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jenkins_bridge.output import workspace
from jenkins_bridge.output.workspace import _common_prefix, _diff, _shift_hunk

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


def reference_diff(path: str, current: str | None, wanted: str | None) -> str:
    """_diff as it was before large texts were cut at their equal ends: lines split whole."""
    before = (current or "").splitlines(keepends=True)
    after = (wanted or "").splitlines(keepends=True)
    same_start = _common_prefix(before, after)
    most = min(len(before), len(after)) - same_start
    same_end = min(_common_prefix(before[::-1], after[::-1]), most)
    skip, tail = max(0, same_start - 3), max(0, same_end - 3)
    diff = difflib.unified_diff(
        before[skip : len(before) - tail],
        after[skip : len(after) - tail],
        fromfile=f"a/{path}" if current is not None else "/dev/null",
        tofile=f"b/{path}" if wanted is not None else "/dev/null",
    )
    lines = (_shift_hunk(line, skip) if line.startswith("@@ ") else line for line in diff)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


BREAKS = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r", "\x0b", "\u2028", ""])
WORDS = st.sampled_from(["a", "b", "ab", "", "é", "a\n"])
TEXT = st.lists(st.tuples(WORDS, BREAKS), max_size=12).map(
    lambda parts: "".join(word + end for word, end in parts)
)


@settings(max_examples=1500, deadline=None)
@given(TEXT, TEXT, TEXT, TEXT, st.integers(1, 9))
def test_cutting_the_equal_ends_first_changes_no_diff(
    head: str, middle_a: str, middle_b: str, tail: str, piece: int
) -> None:
    """Large texts are cut at their equal ends (in slices of text) before they are split into
    lines; the diff is the one of the texts split whole, whatever their line breaks (here
    every text counts as large and slices are a few characters)."""
    a, b = head + middle_a + tail, head + middle_b + tail
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(workspace, "_LARGE", 0)
        patch.setattr(workspace, "_SLICE", piece)
        assert _diff("f", a, b) == reference_diff("f", a, b)
        assert _diff("f", b, a) == reference_diff("f", b, a)


def test_a_large_manifest_diff_is_cut_and_exact() -> None:
    entries = "".join(f'    {{\n      "sha256": "{i:064x}"\n    }},\n' for i in range(20000))
    changed = entries.replace(f"{12345:064x}", "0" * 64)
    assert workspace._equal_ends(entries, changed)[0] > 0  # cut, not split whole
    assert _diff("manifest.json", entries, changed) == reference_diff(
        "manifest.json", entries, changed
    )

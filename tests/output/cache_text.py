"""The render cache's text (format 9: a head, then the rows in segments) read and written
by these tests on their own, without ``incremental``'s code: as one head holding every
column whole (as format 8 was) and one details line per row."""

from __future__ import annotations

import json
from typing import Any

ROW_COLUMNS = ("keys", "prints", "teams", "routings", "counts", "paths", "kinds", "shas", "sources")
COLUMNS = (*ROW_COLUMNS, "stats")


def canonical(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def flat_cache(text: str) -> tuple[dict[str, Any], list[str]]:
    """The head with each segment's columns joined into one (``segments`` left as it is),
    and each row's details line; asserts that every line of JSON but the details is
    canonical (what ``canonical`` gives for its value)."""
    first, *lines = text.split("\n")
    assert lines.pop() == ""
    head = json.loads(first)
    assert first == canonical(head)
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    sizes = head["segments"]
    for line in lines[: len(sizes)]:
        segment = json.loads(line)
        assert line == canonical(segment)
        for name, values in zip(COLUMNS, segment, strict=True):
            columns[name] += values
    details = lines[len(sizes) :]
    assert len(details) == sum(sizes)
    return {**head, **columns}, details


def flat_text(head: dict[str, Any], details: list[str]) -> str:
    """A cache with ``head``'s columns (as ``flat_cache`` gives them) as one segment, its
    other fields as they are (``segments`` made again, when there are rows)."""
    rest = {name: value for name, value in head.items() if name not in COLUMNS}
    rest["segments"] = [len(details)] if details else []
    lines = [json.dumps(rest)]
    if details:
        lines += [json.dumps([head[name] for name in COLUMNS]), *details]
    return "".join(line + "\n" for line in lines)

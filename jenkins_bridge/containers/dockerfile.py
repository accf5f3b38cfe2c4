"""Puts the image labels into the Dockerfile as one ``LABEL`` instruction.

The legacy builder turns the API's ``labels`` option into one LABEL step per label, each a
container commit (~65 ms here), and labels such as ``created`` change on every build, so eight
labels cost ~0.5 s on every build, cached or not. One instruction at the end of the target
stage costs one step. Pure text in, text out; ``None`` means "cannot rewrite safely", and the
caller then falls back to the API option.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

_DIRECTIVE = re.compile(r"^#\s*([A-Za-z]+)\s*=\s*(.*)$")


class Stage(NamedTuple):
    line_index: int  # index of the stage's FROM line
    name: str | None


def _quote(text: str) -> str | None:
    if "\n" in text or "\r" in text:
        return None
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def label_instruction(labels: Mapping[str, str]) -> str | None:
    """``LABEL "k"="v" ...`` (sorted), or None if a value cannot be written on one line."""
    pairs: list[str] = []
    for key, value in sorted(labels.items()):
        quoted_key, quoted_value = _quote(key), _quote(value)
        if quoted_key is None or quoted_value is None:
            return None
        pairs.append(f"{quoted_key}={quoted_value}")
    return "LABEL " + " ".join(pairs) if pairs else None


def _has_escape_directive(lines: list[str]) -> bool:
    # Parser directives may only appear before the first instruction, comment or blank line.
    for line in lines:
        match = _DIRECTIVE.match(line.strip())
        if match is None:
            return False
        if match.group(1).lower() == "escape":
            return True
    return False


def stages(lines: list[str]) -> tuple[list[Stage], bool]:
    """Every FROM instruction (with its ``AS`` name) and whether the file ends mid-instruction."""
    found: list[Stage] = []
    continuing = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        if continuing:
            continuing = not stripped or stripped.endswith("\\")
            continue
        if not stripped:
            continue
        words = [word for word in stripped.split() if not word.startswith("--")]
        if words and words[0].upper() == "FROM":
            name = words[3] if len(words) >= 4 and words[2].upper() == "AS" else None
            found.append(Stage(index, name))
        continuing = stripped.endswith("\\")
    return found, continuing


def with_labels(text: str, labels: Mapping[str, str], target: str | None) -> str | None:
    """``text`` with one LABEL instruction closing the stage that becomes the image."""
    instruction = label_instruction(labels)
    lines = text.splitlines(keepends=True)
    if instruction is None or _has_escape_directive(lines):
        return None
    found, unfinished = stages(lines)
    if not found or unfinished:
        return None
    if target is None:
        chosen = len(found) - 1
    else:
        matches = [i for i, s in enumerate(found) if s.name and s.name.lower() == target.lower()]
        if not matches:
            return None  # let the engine report the unknown target in its own words
        chosen = matches[0]
    insert_at = found[chosen + 1].line_index if chosen + 1 < len(found) else len(lines)
    before = lines[:insert_at]
    if before and not before[-1].endswith("\n"):
        before[-1] += "\n"
    return "".join([*before, instruction + "\n", *lines[insert_at:]])

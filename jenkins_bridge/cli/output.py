"""How command results reach the user: human text, or one JSON envelope on stdout."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jenkins_bridge.errors import EXIT_OK, Problem


@dataclass
class Outcome:
    """What a command returns: its status word, machine data, human text and exit code."""

    status: str
    data: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    exit_code: int = EXIT_OK
    problems: list[Problem] = field(default_factory=list)


def emit(mode: str, outcome: Outcome) -> None:
    if mode == "json":
        envelope = {
            "status": outcome.status,
            "data": outcome.data,
            "errors": [p.as_json() for p in outcome.problems],
        }
        sys.stdout.write(json.dumps(envelope, indent=2, sort_keys=True) + "\n")
        return
    if outcome.text:
        sys.stdout.write(outcome.text if outcome.text.endswith("\n") else outcome.text + "\n")
    for problem in outcome.problems:
        sys.stderr.write(f"{problem}\n")


def emit_problems(
    mode: str, status: str, problems: Sequence[Problem], data: dict[str, Any] | None = None
) -> None:
    """An error result; ``data`` is what was done before it (say, before an interrupt)."""
    if mode == "json":
        emit(mode, Outcome(status=status, data=dict(data or {}), problems=list(problems)))
        return
    for problem in problems:
        sys.stderr.write(f"error: {problem}\n" if problem.file is None else f"{problem}\n")
    if data:
        sys.stderr.write(f"done before that: {summarize(data)}\n")


def summarize(data: dict[str, Any]) -> str:
    """``key N, ...`` for a result's data: lists by their length, numbers as they are."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list | tuple | dict):
            parts.append(f"{key} {len(value)}")
        elif isinstance(value, int | float | str) and not isinstance(value, bool):
            parts.append(f"{key} {value}")
    return ", ".join(parts) or "nothing"


def progress(message: str) -> None:
    """A progress line for humans: always stderr, so stdout stays parseable."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()

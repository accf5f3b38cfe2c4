"""How command results reach the user: human text, or one JSON envelope on stdout.

Colour and the rewritten progress line are for a person at a terminal only: never on a pipe or
a file, never with ``$NO_COLOR`` or ``--no-color``, never in JSON mode (``configure``).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from jenkins_bridge.errors import EXIT_OK, Problem


@dataclass
class Outcome:
    """What a command returns: its status word, machine data, human text and exit code."""

    status: str
    data: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    exit_code: int = EXIT_OK
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _Screen:
    """What the terminal may show, decided once per run by ``configure``."""

    color: bool = True  # allowed at all (False: --no-color, $NO_COLOR or JSON mode)
    progress: bool = True  # the rewritten progress line (False in JSON mode)


_screen = _Screen()

# SGR codes by meaning, so call sites say what a text is, not which colour it gets.
_STYLES = {
    "create": "32",  # green
    "update": "33",  # yellow
    "delete": "31",  # red
    "error": "1;31",  # bold red
    "warning": "33",
    "heading": "1",  # bold
    "muted": "2",  # dim
}


def configure(mode: str, *, no_color: bool, environ: dict[str, str] | None = None) -> None:
    """Decide colour and progress for this run: ``--no-color`` and ``$NO_COLOR`` (any
    non-empty value, https://no-color.org) turn colour off; JSON mode turns both off."""
    env = os.environ if environ is None else environ
    _screen.color = not (no_color or env.get("NO_COLOR") or mode == "json")
    _screen.progress = mode != "json"


def counting_wanted() -> bool:
    """Whether counters of long work may be shown at all (not in JSON mode: a program reads
    the result, and a person reading JSON wants the JSON alone)."""
    return _screen.progress


def color_on(stream: TextIO) -> bool:
    """Colour only for a terminal: a pipe, a file or ``TERM=dumb`` gets plain text."""
    if not _screen.color or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def paint(text: str, style: str, stream: TextIO | None = None) -> str:
    """``text`` in ``style``'s colour if ``stream`` (stdout by default) is a colour terminal."""
    if not color_on(sys.stdout if stream is None else stream):
        return text
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"


def emit(mode: str, outcome: Outcome) -> None:
    if mode == "json":
        import json  # text mode (what pipelines mostly ask for) does without it

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
    label = paint("error:", "error", sys.stderr)
    for problem in problems:
        sys.stderr.write(f"{label} {problem}\n" if problem.file is None else f"{problem}\n")
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
    with _progress_lock:
        _clear_counter()
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


_progress_lock = threading.Lock()
_counter_shown: list[Counter] = []  # the counter whose line is on screen, if any


def _clear_counter() -> None:
    # A plain line printed while a counter is on screen would be glued to it.
    if _counter_shown:
        sys.stderr.write("\r\x1b[K")
        _counter_shown.clear()


class Counter:
    """``label: done/total`` rewritten in place on stderr, for long work (render, apply,
    plan --verify): a terminal only, never in JSON mode, and never backwards.

    Workers report from many threads; a report that arrives after a later one (its thread was
    preempted between counting and reporting) is stale and is dropped, so the number on the
    screen only grows.
    """

    def __init__(self, label: str, *, minimum: int = 0) -> None:
        self.label = label
        self.minimum = minimum  # below this many steps the work ends before a counter helps
        self.shown = -1
        self.enabled = counting_wanted() and _is_tty(sys.stderr)

    def __call__(self, done: int, total: int, failed: int = 0) -> None:
        if not self.enabled or total < self.minimum:
            return
        with _progress_lock:
            if done <= self.shown:
                return
            self.shown = done
            text = f"{self.label}: {done}/{total}" + (f", {failed} failed" if failed else "")
            sys.stderr.write("\r\x1b[K" + text)
            if done >= total:
                sys.stderr.write("\n")
                _counter_shown.clear()
            else:
                _counter_shown[:] = [self]
            sys.stderr.flush()

    def close(self) -> None:
        """End the line if the work stopped before the last step (an error, Ctrl-C)."""
        with _progress_lock:
            if _counter_shown and _counter_shown[0] is self:
                sys.stderr.write("\n")
                sys.stderr.flush()
                _counter_shown.clear()


class PhaseLog:
    """The phase lines of long work made of steps (deploy, rollback): on a terminal each line
    carries the time since the command started (``[  4.2s] starting proxy``), which only grows;
    elsewhere (a CI log has its own timestamps) and in JSON mode the plain lines."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.timed = counting_wanted() and _is_tty(sys.stderr)

    def __call__(self, message: str) -> None:
        if not self.timed:
            progress(message)
            return
        elapsed = paint(f"[{time.monotonic() - self.started:6.1f}s]", "muted", sys.stderr)
        progress(f"{elapsed} {message}")


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

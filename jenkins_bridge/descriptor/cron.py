"""Jenkins cron specs (``triggers.cron``, ``triggers.poll``), checked by the grammar Jenkins uses.

Follows Jenkins core's ``hudson.scheduler`` (``CrontabLexer.g4``, ``CrontabParser.g4``,
``BaseParser``, ``CronTabList.create``), so what passes here is what the declarative trigger
and config.xml accept: several lines, a first ``TZ=`` line, ``#`` comment lines, five fields
of numbers, ``a-b`` ranges, ``*``, ``H`` and ``H(a-b)``, each with an optional ``/step``, in
``,`` lists, or one ``@yearly``-like alias. Day and month names are not part of it. Two
choices are stricter than Jenkins, because Jenkins accepts them but they are mistakes: a spec
with no schedule line (it never fires) and text after an alias (Jenkins ignores it).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

ALIASES = ("yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly")


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    low: int
    high: int
    hash_high: int  # H picks from low..hash_high (BaseParser.doHash narrows two fields)


FIELDS = (
    Field("minute", 0, 59, 59),
    Field("hour", 0, 23, 23),
    Field("day of month", 1, 31, 28),
    Field("month", 1, 12, 12),
    Field("day of week", 0, 7, 6),
)
_NUMBER = "([0-9]+)"
_STEP = f"(?:/{_NUMBER})?"
_TERMS = {
    "range": re.compile(f"{_NUMBER}-{_NUMBER}{_STEP}"),
    "number": re.compile(_NUMBER),
    "star": re.compile(f"\\*{_STEP}"),
    "hash_range": re.compile(f"H\\({_NUMBER}-{_NUMBER}\\){_STEP}"),
    "hash": re.compile(f"H{_STEP}"),
}
_NAMES = re.compile(
    r"(?i)\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat)"
)
# Java's String.trim() removes every character up to and including the space.
_TRIMMED = "".join(chr(code) for code in range(0x21))


class CronSpecError(ValueError):
    """A spec Jenkins would refuse; the message says which line and field, and why."""


# Specs found valid in this process: descriptors repeat a few (a team's poll and nightly
# cron), and checking one is ~35 us, a few percent of loading a descriptor. Bounded.
_VALID: set[str] = set()
_VALID_MAX = 1024


def check_cron_spec(spec: str) -> None:
    """Raise :class:`CronSpecError` unless Jenkins' ``CronTabList`` accepts ``spec``."""
    if spec in _VALID:
        return
    _check_spec(spec)  # raises for a spec Jenkins refuses: never remembered
    if len(_VALID) >= _VALID_MAX:
        _VALID.clear()
    _VALID.add(spec)


def _check_spec(spec: str) -> None:
    lines = re.split(r"\r?\n", spec)
    schedules = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.strip(_TRIMMED)
        where = f"line {number}: " if len(lines) > 1 else ""
        if number == 1 and line.startswith("TZ="):
            zone = line.replace("TZ=", "")
            if zone not in _time_zones():
                raise CronSpecError(f"{where}unknown time zone {zone!r} (e.g. TZ=Europe/Berlin)")
            continue
        if not line or line.startswith("#"):
            continue
        schedules += 1
        try:
            _check_line(line)
        except CronSpecError as exc:
            raise CronSpecError(f"{where}{exc}") from None
    if schedules == 0:
        raise CronSpecError("has no schedule line, so it would never fire")


def _check_line(line: str) -> None:
    if line.startswith("@"):
        if line[1:] not in ALIASES:
            raise CronSpecError(f"unknown alias {line!r} (use @{', @'.join(ALIASES)})")
        return
    fields = re.split(r"[ \t]+", line)
    if len(fields) != len(FIELDS):
        raise CronSpecError(
            f"needs 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
        )
    for text, field in zip(fields, FIELDS, strict=True):
        for term in text.split(","):
            _check_term(term, field)


def _check_term(term: str, field: Field) -> None:
    for kind, pattern in _TERMS.items():
        match = pattern.fullmatch(term)
        if match is not None:
            values = [int(v) if v is not None else None for v in match.groups()]
            _check_values(kind, values, field)
            return
    if _NAMES.search(term):
        raise CronSpecError(
            f"{field.name} {term!r}: Jenkins accepts no day or month names, only numbers"
        )
    raise CronSpecError(
        f"{field.name} {term!r} is not a number, a-b, *, H or H(a-b) "
        "(each with an optional /step), or a ','-separated list of them"
    )


def _check_values(kind: str, values: list[int | None], field: Field) -> None:
    if kind == "number":
        _in_range(values[0], field)
    elif kind == "range":
        start, end, step = values
        _in_range(start, field)
        _in_range(end, field)
        _positive(step, field)
        if start is not None and end is not None and start > end:
            raise CronSpecError(f"{field.name} range {start}-{end} is reversed")
    elif kind == "star":
        _positive(values[0], field)
    else:
        if kind == "hash_range":
            start, end, step = values
            _in_range(start, field)
            _in_range(end, field)
            if start is not None and end is not None and start > end:
                raise CronSpecError(f"{field.name} range H({start}-{end}) is reversed")
        else:
            start, end, step = field.low, field.hash_high, values[0]
        _positive(step, field)
        width = (end or 0) - (start or 0) + 1
        if step is not None and step > width:
            raise CronSpecError(f"{field.name} step /{step} is larger than the range ({width})")


def _in_range(value: int | None, field: Field) -> None:
    if value is not None and not field.low <= value <= field.high:
        raise CronSpecError(f"{field.name} {value} is out of range ({field.low}-{field.high})")


def _positive(step: int | None, field: Field) -> None:
    if step is not None and step <= 0:
        raise CronSpecError(f"{field.name} step /{step} must be positive")


@functools.cache
def _time_zones() -> frozenset[str]:
    # Java's TimeZone IDs are the tz database's names (plus a few legacy ones). zoneinfo (and
    # the sysconfig it reads) is imported only for a spec that names a TZ=: every command
    # that loads a descriptor pays for what is imported at the top.
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())

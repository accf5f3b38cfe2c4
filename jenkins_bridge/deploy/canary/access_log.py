"""The proxy's per-request log during a canary, read into one ``VersionSample`` per upstream.

Pure: text in, samples out. The line format is ``proxy.CANARY_LOG_FIELDS``:
``$msec|$upstream_addr|$upstream_status|$upstream_response_time|$status``, where each upstream
field lists every attempt of the request (``"a:80, b:80"``): an attempt that nginx gave up on
(connection refused, timeout) and retried elsewhere counts as an error of the upstream it
tried, even when the client got its answer from the other one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from jenkins_bridge.deploy.canary.analysis import VersionSample, p95


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of one request at one upstream."""

    at: float  # Unix seconds when nginx logged the request (its end)
    upstream: str  # ip:port
    error: bool  # no answer, or a 5xx
    seconds: float | None  # the upstream's response time; None when nginx has none


def attempts(text: str) -> Iterator[Attempt]:
    """Every attempt in the log ``text``; lines that are not the format are skipped (a line
    cut by the read while nginx writes it, say)."""
    for line in text.splitlines():
        fields = line.split("|")
        if len(fields) != 5:
            continue
        msec, addresses, statuses, times, _final = fields
        try:
            at = float(msec)
        except ValueError:
            continue
        if addresses in ("", "-"):
            continue  # answered by nginx itself
        # " : " separates the groups of an internal redirect: each group lists its attempts.
        split = [_parts(value) for value in (addresses, statuses, times)]
        for address, status, seconds in zip(*split, strict=False):
            yield Attempt(at, address, _is_error(status), _seconds(seconds))


def _parts(value: str) -> list[str]:
    return [part.strip() for part in value.replace(" : ", ", ").split(",")]


def _is_error(status: str) -> bool:
    return not status.isdigit() or int(status) >= 500


def _seconds(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def version_sample(found: Iterable[Attempt]) -> VersionSample:
    """Requests, errors and p95 (ms) of the attempts ``found``."""
    requests = errors = 0
    durations: list[float] = []
    for attempt in found:
        requests += 1
        errors += attempt.error
        if attempt.seconds is not None:
            durations.append(attempt.seconds * 1000.0)
    return VersionSample(requests=requests, errors=errors, p95_ms=p95(durations))


def samples(
    text: str, canary: str, stable: str, window_start: float, window_end: float
) -> tuple[VersionSample, VersionSample]:
    """(canary, stable) over ``[window_start, window_end)`` of the log ``text``; attempts at
    other upstreams (an earlier version's) are left out."""
    inside = [a for a in attempts(text) if window_start <= a.at < window_end]
    return (
        version_sample(a for a in inside if a.upstream == canary),
        version_sample(a for a in inside if a.upstream == stable),
    )

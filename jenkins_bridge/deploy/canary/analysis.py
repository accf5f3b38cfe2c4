"""The canary analysis: pure, no I/O. A ``MetricsSource`` measures both versions over a window
(the proxy's request log, or Prometheus), ``judge`` decides pass, fail or inconclusive against
``Thresholds`` derived from the service's SLO, and the ``Verdict`` names the numbers.

Every target's canary (the Docker host's proxy split, Kubernetes' replica ratio) uses these
types, so a verdict reads and serialises the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.descriptor.model import DeployStage, Service

Outcome = Literal["pass", "fail", "inconclusive"]


@dataclass(frozen=True, slots=True)
class VersionSample:
    """What one version answered in a window: requests, 5xx answers, p95 latency (ms;
    ``None`` when nothing was measured)."""

    requests: int
    errors: int
    p95_ms: float | None

    @property
    def error_ratio(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    def describe(self) -> str:
        """``2.0 % errors (3 of 150), p95 41 ms``."""
        if not self.requests:
            return "no requests"
        latency = "" if self.p95_ms is None else f", p95 {self.p95_ms:.0f} ms"
        return f"{_percent(self.error_ratio)} errors ({self.errors} of {self.requests}){latency}"

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "errorRatio": self.error_ratio,
            "p95Ms": self.p95_ms,
        }


def p95(durations_ms: Sequence[float]) -> float | None:
    """The 95th percentile by nearest rank (the smallest value at or above 95 % of the
    sample), ``None`` for no sample: a value that was actually measured, never interpolated."""
    if not durations_ms:
        return None
    ordered = sorted(durations_ms)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What a canary step must stay within: its error ratio at most ``max_error_ratio``, its
    p95 at most ``max_p95_ms`` (``None``: latency not judged), judged only once it answered
    ``min_requests``."""

    max_error_ratio: float
    max_p95_ms: float | None
    min_requests: int

    @classmethod
    def for_service(cls, service: Service, stage: DeployStage) -> Thresholds:
        """The stage's overrides, else the SLO: the error ratio may burn the error budget
        ``maxBurnRate`` times faster than ``availability`` allows, p95 may reach
        ``latencyP95Ms``. Validation refuses a canary with no error-ratio source."""
        canary, slo = stage.canary, service.monitoring.slo
        ratio = canary.max_error_ratio
        if ratio is None and slo.availability is not None:
            ratio = min(1.0, canary.max_burn_rate * (100.0 - slo.availability) / 100.0)
        if ratio is None:
            raise DeployError(
                f"{service.metadata.name}: deploy environment {stage.environment} has no "
                "threshold for the canary's error ratio",
                hint="set monitoring.slo.availability or deploy[].canary.maxErrorRatio",
            )
        latency = canary.max_p95_ms if canary.max_p95_ms is not None else slo.latency_p95_ms
        return cls(
            max_error_ratio=ratio,
            max_p95_ms=None if latency is None else float(latency),
            min_requests=canary.min_requests,
        )

    def describe(self) -> str:
        latency = "" if self.max_p95_ms is None else f", p95 <= {self.max_p95_ms:.0f} ms"
        return (
            f"errors <= {_percent(self.max_error_ratio)}{latency}, "
            f"at least {self.min_requests} requests"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "maxErrorRatio": self.max_error_ratio,
            "maxP95Ms": self.max_p95_ms,
            "minRequests": self.min_requests,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judgement of one step, with both samples and each number that failed."""

    outcome: Outcome
    reasons: tuple[str, ...]
    canary: VersionSample
    stable: VersionSample
    thresholds: Thresholds

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    def describe(self) -> str:
        head = {"pass": "passed", "fail": "failed", "inconclusive": "inconclusive"}[self.outcome]
        text = f"{head}: canary {self.canary.describe()}; stable {self.stable.describe()}"
        return f"{text} ({'; '.join(self.reasons)})" if self.reasons else text

    def as_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "reasons": list(self.reasons),
            "canary": self.canary.as_json(),
            "stable": self.stable.as_json(),
            "thresholds": self.thresholds.as_json(),
        }


def judge(canary: VersionSample, stable: VersionSample, thresholds: Thresholds) -> Verdict:
    """Pass, fail or inconclusive (fewer than ``min_requests`` answers: nothing is judged on
    a handful). The thresholds are absolute (the SLO's, not the stable version's numbers): a
    bad stable version does not excuse a bad canary; the stable sample is carried for the
    reader."""
    if canary.requests < thresholds.min_requests:
        reason = (
            f"the canary answered {canary.requests} requests, fewer than the "
            f"{thresholds.min_requests} a step needs (minRequests)"
        )
        return Verdict("inconclusive", (reason,), canary, stable, thresholds)
    reasons: list[str] = []
    limit = thresholds.max_error_ratio
    ratio = canary.error_ratio or 0.0
    if ratio > limit:
        reasons.append(
            f"error ratio {_percent(ratio)} ({canary.errors} of {canary.requests} requests "
            f"answered 5xx) exceeds {_percent(limit)} (stable: {_percent(stable.error_ratio)})"
        )
    latency_limit = thresholds.max_p95_ms
    if latency_limit is not None and canary.p95_ms is not None and canary.p95_ms > latency_limit:
        stable_p95 = "n/a" if stable.p95_ms is None else f"{stable.p95_ms:.0f} ms"
        reasons.append(
            f"p95 latency {canary.p95_ms:.0f} ms exceeds {latency_limit:.0f} ms "
            f"(stable: {stable_p95})"
        )
    outcome: Outcome = "fail" if reasons else "pass"
    return Verdict(outcome, tuple(reasons), canary, stable, thresholds)


class MetricsSource(Protocol):
    """Measures both versions over a window of wall-clock time (Unix seconds)."""

    def sample(self, window_start: float, window_end: float) -> tuple[VersionSample, VersionSample]:
        """(canary, stable) over ``[window_start, window_end)``."""
        ...


def _percent(ratio: float | None) -> str:
    if ratio is None:
        return "n/a"
    text = f"{ratio * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text} %"

"""What a canary went through, step by step: pure records every target's canary returns (in
``DeployResult.canary``) and the CLI prints and serialises."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jenkins_bridge.deploy.canary.analysis import MetricsSource, Thresholds, Verdict, judge

# How many more intervals a step with too few requests waits before it fails as inconclusive.
EXTRA_INTERVALS = 1


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step as it was held and judged."""

    step: int
    percent: int
    held_seconds: float
    verdict: Verdict

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "percent": self.percent,
            "heldSeconds": round(self.held_seconds, 3),
            **self.verdict.as_json(),
        }

    def describe(self, steps: int) -> str:
        return f"step {self.step}/{steps} ({self.percent} %) {self.verdict.describe()}"


@dataclass
class CanaryRun:
    """The steps a canary went through; ``passed`` once its last step passed."""

    steps: tuple[int, ...]
    thresholds: Thresholds
    source: str  # proxy-log | prometheus
    results: list[StepResult] = field(default_factory=list)
    detected_after_seconds: float | None = None  # from the first step to the failing verdict

    @property
    def passed(self) -> bool:
        return len(self.results) == len(self.steps) and all(r.verdict.passed for r in self.results)

    @property
    def failed_step(self) -> StepResult | None:
        return next((r for r in self.results if not r.verdict.passed), None)

    def failure(self) -> str:
        """What failed, with its numbers (empty when nothing did)."""
        failed = self.failed_step
        if failed is None:
            return ""
        verdict = failed.verdict
        why = "; ".join(verdict.reasons)
        if verdict.outcome == "inconclusive":
            why = f"inconclusive after {failed.held_seconds:.0f} s: {why}"
        return (
            f"canary step {failed.step}/{len(self.steps)} ({failed.percent} %) failed: {why}; "
            f"canary {verdict.canary.describe()}, stable {verdict.stable.describe()}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "steps": list(self.steps),
            "source": self.source,
            "thresholds": self.thresholds.as_json(),
            "results": [r.as_json() for r in self.results],
            "passed": self.passed,
            "detectedAfterSeconds": (
                None
                if self.detected_after_seconds is None
                else round(self.detected_after_seconds, 3)
            ),
        }


def held_verdict(
    source: MetricsSource,
    thresholds: Thresholds,
    interval: float,
    start: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    log: Callable[[str], None],
) -> Verdict:
    """A step's verdict after its interval, over the window from ``start``; too few requests
    wait ``EXTRA_INTERVALS`` more, then the inconclusive verdict stands (and fails the step)."""
    sleep(interval)
    verdict = judge(*source.sample(start, clock()), thresholds)
    for _ in range(EXTRA_INTERVALS):
        if verdict.outcome != "inconclusive":
            break
        log(f"canary: {verdict.reasons[0]}; waiting {interval:g} s more")
        sleep(interval)
        verdict = judge(*source.sample(start, clock()), thresholds)
    return verdict

"""The canary analysis: thresholds derived from the SLO (or overridden), and a verdict that
passes, fails or waits, naming the numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from jenkins_bridge.deploy.canary.analysis import (
    Thresholds,
    VersionSample,
    judge,
    p95,
)
from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.descriptor.loading import build_service
from jenkins_bridge.descriptor.model import Service


def _service(canary: dict[str, object], slo: dict[str, object]) -> Service:
    data = {
        "apiVersion": "jenkins-bridge/v1",
        "kind": "Service",
        "metadata": {"name": "api", "team": "shop"},
        "source": {"repo": "https://git.example.com/shop/api.git"},
        "image": {"repository": "registry.example.com/shop/api"},
        "deploy": [
            {"environment": "s", "strategy": "canary", "listen": "127.0.0.1:1", "canary": canary}
        ],
        "monitoring": {"slo": slo},
    }
    return build_service(data, Path("api.yaml"), "api.yaml")


def _thresholds(canary: dict[str, object], slo: dict[str, object]) -> Thresholds:
    service = _service(canary, slo)
    return Thresholds.for_service(service, service.deploy[0])


def test_thresholds_come_from_the_slo_by_default() -> None:
    got = _thresholds({}, {"availability": 99.9, "latencyP95Ms": 300})
    # 14.4 (the fast-burn page's rate) x the 0.1 % error budget
    assert got.max_error_ratio == pytest.approx(0.0144)
    assert got.max_p95_ms == 300.0
    assert got.min_requests == 50


def test_each_threshold_can_be_overridden() -> None:
    got = _thresholds(
        {"maxErrorRatio": 0.05, "maxP95Ms": 200, "minRequests": 10},
        {"availability": 99.9, "latencyP95Ms": 300},
    )
    assert (got.max_error_ratio, got.max_p95_ms, got.min_requests) == (0.05, 200.0, 10)


def test_the_burn_rate_scales_the_error_budget() -> None:
    got = _thresholds({"maxBurnRate": 2}, {"availability": 99.0})
    assert got.max_error_ratio == pytest.approx(0.02)
    assert got.max_p95_ms is None  # no latency objective: latency is not judged


def test_a_loose_objective_caps_the_ratio_at_one() -> None:
    assert _thresholds({"maxBurnRate": 1000}, {"availability": 50}).max_error_ratio == 1.0


def test_no_error_ratio_source_is_a_deploy_error() -> None:
    service = _service({}, {"latencyP95Ms": 300})  # build_service does not validate
    with pytest.raises(DeployError, match="threshold for the canary's error ratio"):
        Thresholds.for_service(service, service.deploy[0])


LIMITS = Thresholds(max_error_ratio=0.02, max_p95_ms=200.0, min_requests=20)
STABLE = VersionSample(requests=400, errors=0, p95_ms=12.0)


def test_a_healthy_canary_passes() -> None:
    verdict = judge(VersionSample(40, 0, 15.0), STABLE, LIMITS)
    assert verdict.outcome == "pass" and verdict.passed
    assert verdict.reasons == ()


def test_an_error_ratio_over_the_threshold_fails_and_names_the_numbers() -> None:
    verdict = judge(VersionSample(50, 10, 15.0), STABLE, LIMITS)
    assert verdict.outcome == "fail"
    (reason,) = verdict.reasons
    assert reason == ("error ratio 20 % (10 of 50 requests answered 5xx) exceeds 2 % (stable: 0 %)")


def test_the_error_threshold_itself_passes() -> None:
    assert judge(VersionSample(100, 2, 15.0), STABLE, LIMITS).outcome == "pass"
    assert judge(VersionSample(100, 3, 15.0), STABLE, LIMITS).outcome == "fail"


def test_a_slow_canary_fails_on_latency() -> None:
    verdict = judge(VersionSample(30, 0, 312.0), STABLE, LIMITS)
    assert verdict.outcome == "fail"
    assert verdict.reasons == ("p95 latency 312 ms exceeds 200 ms (stable: 12 ms)",)


def test_both_failures_are_named() -> None:
    verdict = judge(VersionSample(30, 30, 312.0), STABLE, LIMITS)
    assert len(verdict.reasons) == 2


def test_latency_is_not_judged_without_a_threshold() -> None:
    limits = Thresholds(max_error_ratio=0.02, max_p95_ms=None, min_requests=20)
    assert judge(VersionSample(30, 0, 5000.0), STABLE, limits).outcome == "pass"


def test_too_few_requests_is_inconclusive_whatever_they_answered() -> None:
    verdict = judge(VersionSample(19, 19, 900.0), STABLE, LIMITS)
    assert verdict.outcome == "inconclusive" and not verdict.passed
    assert verdict.reasons == (
        "the canary answered 19 requests, fewer than the 20 a step needs (minRequests)",
    )


def test_a_bad_stable_version_does_not_excuse_the_canary() -> None:
    bad_stable = VersionSample(400, 200, 900.0)
    assert judge(VersionSample(50, 10, 15.0), bad_stable, LIMITS).outcome == "fail"


def test_the_verdict_serialises_both_samples_and_the_thresholds() -> None:
    verdict = judge(VersionSample(50, 10, 15.0), STABLE, LIMITS)
    data = verdict.as_json()
    assert data["outcome"] == "fail"
    assert data["canary"] == {"requests": 50, "errors": 10, "errorRatio": 0.2, "p95Ms": 15.0}
    assert data["stable"]["requests"] == 400
    assert data["thresholds"] == {"maxErrorRatio": 0.02, "maxP95Ms": 200.0, "minRequests": 20}
    assert "canary 20 % errors (10 of 50), p95 15 ms" in verdict.describe()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], None),
        ([7.0], 7.0),
        (list(map(float, range(1, 101))), 95.0),
        ([1.0] * 19 + [900.0], 1.0),
    ],
)
def test_p95_is_the_nearest_rank(values: list[float], expected: float | None) -> None:
    assert p95(values) == expected

"""``strategy: canary``: the schema's defaults reach the model, and ``validate`` refuses, at the
line to change, a canary no deploy could run or judge."""

from __future__ import annotations

from pathlib import Path

import pytest

from jenkins_bridge.descriptor.loading import load_service
from jenkins_bridge.descriptor.schema import DEFAULT_CANARY_BURN_RATE, DEFAULT_CANARY_STEPS
from jenkins_bridge.errors import InvalidDescriptors

HEAD = """\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: api, team: shop}
source: {repo: https://git.example.com/shop/api.git}
image: {repository: registry.example.com/shop/api}
"""


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "api.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def test_a_canary_without_settings_gets_the_schema_defaults(tmp_path: Path) -> None:
    service = load_service(
        _write(
            tmp_path,
            "deploy: [{environment: s, strategy: canary, listen: 127.0.0.1:18080}]\n"
            "monitoring: {slo: {availability: 99.9}}\n",
        )
    )
    (stage,) = service.deploy
    assert stage.strategy == "canary"
    assert stage.canary.steps == tuple(DEFAULT_CANARY_STEPS)
    assert stage.canary.max_burn_rate == DEFAULT_CANARY_BURN_RATE
    assert (stage.canary.max_error_ratio, stage.canary.max_p95_ms) == (None, None)
    assert stage.canary.prometheus is None


def test_written_canary_settings_reach_the_model(tmp_path: Path) -> None:
    service = load_service(
        _write(
            tmp_path,
            """\
deploy:
  - environment: s
    strategy: canary
    listen: 127.0.0.1:18080
    canary:
      steps: [5, 25, 100]
      intervalSeconds: 3
      minRequests: 20
      maxErrorRatio: 0.02
      maxP95Ms: 250
      prometheus: http://127.0.0.1:9090
""",
        )
    )
    canary = service.deploy[0].canary
    assert canary.steps == (5, 25, 100)
    assert (canary.interval_seconds, canary.min_requests) == (3, 20)
    assert (canary.max_error_ratio, canary.max_p95_ms) == (0.02, 250)
    assert canary.prometheus == "http://127.0.0.1:9090"


SLO = "monitoring: {slo: {availability: 99.5}}\n"
REFUSED = [
    (
        "deploy:\n  - {environment: s, strategy: canary, listen: 127.0.0.1:18080,\n"
        "     canary: {steps: [10, 10, 100]}}\n" + SLO,
        "8:22: deploy[0].canary.steps: steps must grow at every step",
    ),
    (
        "deploy:\n  - {environment: s, strategy: canary, listen: 127.0.0.1:18080,\n"
        "     canary: {steps: [10, 50]}}\n" + SLO,
        "8:22: deploy[0].canary.steps: the last step must be 100",
    ),
    (
        "deploy:\n  - {environment: s, strategy: canary, listen: 127.0.0.1:18080}\n",
        "7:32: deploy[0].strategy: a canary is judged by its error ratio, and nothing gives "
        "the threshold: set monitoring.slo.availability",
    ),
    (
        "deploy:\n  - {environment: s, target: swarm, strategy: canary, listen: 0.0.0.0:18080}\n"
        + SLO,
        "7:47: deploy[0].strategy: target swarm has no canary",
    ),
    (
        "deploy:\n  - {environment: s, strategy: canary}\n" + SLO,
        "7:5: deploy[0]: canary needs 'listen'",
    ),
    (
        "deploy:\n  - {environment: s, strategy: blue-green, listen: 127.0.0.1:18080,\n"
        "     canary: {steps: [100]}}\n",
        "8:6: deploy[0].canary: canary applies to strategy canary only",
    ),
    (
        "deploy:\n  - {environment: s, strategy: canary, listen: 127.0.0.1:18080,\n"
        "     canary: {steps: [0, 100]}}\n" + SLO,
        "8:23: deploy[0].canary.steps[0]: must be at least 1",
    ),
    (
        "deploy:\n  - {environment: s, strategy: canary, listen: 127.0.0.1:18080,\n"
        "     canary: {maxErrorRatio: 2}}\n" + SLO,
        "8:30: deploy[0].canary.maxErrorRatio: must be at most 1",
    ),
]


@pytest.mark.parametrize(("body", "expected"), REFUSED)
def test_validate_refuses_a_canary_it_cannot_run_or_judge(
    tmp_path: Path, body: str, expected: str
) -> None:
    with pytest.raises(InvalidDescriptors) as caught:
        load_service(_write(tmp_path, body))
    shown = [str(p) for p in caught.value.problems()]
    assert any(expected in text for text in shown), shown


def test_an_error_ratio_override_is_a_threshold_source_without_an_slo(tmp_path: Path) -> None:
    service = load_service(
        _write(
            tmp_path,
            "deploy:\n  - {environment: s, strategy: canary, listen: 127.0.0.1:18080,\n"
            "     canary: {maxErrorRatio: 0.05}}\n",
        )
    )
    assert service.deploy[0].canary.max_error_ratio == 0.05


def test_kubernetes_may_run_a_canary(tmp_path: Path) -> None:
    service = load_service(
        _write(
            tmp_path,
            "deploy: [{environment: k, target: kubernetes, strategy: canary,\n"
            "          canary: {prometheus: 'http://127.0.0.1:9090'}}]\n" + SLO,
        )
    )
    assert service.deploy[0].strategy == "canary"


def test_a_kubernetes_canary_needs_prometheus(tmp_path: Path) -> None:
    with pytest.raises(InvalidDescriptors) as caught:
        load_service(
            _write(
                tmp_path, "deploy: [{environment: k, target: kubernetes, strategy: canary}]\n" + SLO
            )
        )
    shown = [str(p) for p in caught.value.problems()]
    assert any(
        "6:57: deploy[0].strategy: a Kubernetes canary is judged from Prometheus" in text
        and "set canary.prometheus" in text
        for text in shown
    ), shown

"""The canary's ``PrometheusSource`` against answers a real Prometheus 2.42 gave to its own
queries (``recorded/``, from the per-track recording rules in ``test_live.py``): which queries
it sends, at which time, and the two versions it makes of the answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from jenkins_bridge.deploy.canary.prometheus_source import PrometheusSource
from jenkins_bridge.descriptor import load_services
from jenkins_bridge.prometheus.client import PrometheusClient

from .test_client import AT, recorded, serving

DESCRIPTOR = """apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: checkout, team: shop}
source: {repo: https://git.example.com/shop/checkout.git}
image: {repository: registry.example.com/shop/checkout}
deploy: [{environment: live, target: docker, listen: "127.0.0.1:18080"}]
monitoring: {scrapeIntervalSeconds: 1}
"""


def test_the_source_turns_the_recorded_answers_into_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "checkout.yaml"
    path.write_text(DESCRIPTOR, encoding="utf-8")
    (service,) = load_services([path])
    source = PrometheusSource("http://unused", service, service.deploy[0])
    requests, errors, p95 = source.queries(5)
    answers = {
        requests: recorded("requests"),
        errors: recorded("errors"),
        p95: recorded("p95"),
    }
    with serving(answers) as (url, seen):
        source.client = PrometheusClient(url)
        canary, stable = source.sample(AT - 5, AT)
    assert [r["query"] for r in seen] == [requests, errors, p95]
    assert {r["time"] for r in seen} == {f"{AT:.3f}"}  # the window's end
    assert "[5s]" in requests and '{team="shop",service="checkout",environment="live"}' in requests
    assert (canary.requests, canary.errors, canary.p95_ms) == (347, 69, pytest.approx(460))
    assert (stable.requests, stable.errors, stable.p95_ms) == (1737, 17, pytest.approx(95))


def test_a_track_without_series_answered_nothing(tmp_path: Path) -> None:
    path = tmp_path / "checkout.yaml"
    path.write_text(DESCRIPTOR, encoding="utf-8")
    (service,) = load_services([path])
    with serving({"*": recorded("empty")}) as (url, _):
        source = PrometheusSource(PrometheusClient(url), service, service.deploy[0])
        canary, stable = source.sample(AT - 30, AT)
    assert (canary.requests, canary.errors, canary.p95_ms) == (0, 0, None)
    assert (stable.requests, stable.errors, stable.p95_ms) == (0, 0, None)

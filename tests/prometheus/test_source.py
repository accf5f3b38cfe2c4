"""The canary's ``PrometheusSource`` against answers a real Prometheus 2.42 gave to its own
queries (``recorded/``, from the per-track recording rules in ``test_live.py``): which queries
it sends, at which time, and the two versions it makes of the answers."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from jenkins_bridge.deploy.canary.prometheus_source import PrometheusSource
from jenkins_bridge.descriptor import load_services
from jenkins_bridge.prometheus.client import PrometheusClient, Sample

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


class _Answers:
    """A client that answers every query with the same samples, and keeps the queries."""

    def __init__(self, samples: list[Sample]) -> None:
        self.samples = samples
        self.seen: list[str] = []

    def query(self, promql: str, at: float) -> list[Sample]:
        self.seen.append(promql)
        return self.samples


def test_given_versions_the_source_picks_each_by_its_version_label(tmp_path: Path) -> None:
    """A Docker host's canary: seq 000012 (new) against 000011 (serving), which a promoted
    canary's track label would still call canary; another version's series count for
    neither."""
    path = tmp_path / "checkout.yaml"
    path.write_text(DESCRIPTOR, encoding="utf-8")
    (service,) = load_services([path])
    client = _Answers(
        [
            Sample({"version": "000011"}, 0.25),
            Sample({"version": "000012"}, 0.5),
            Sample({"version": "000010"}, 7.0),
        ]
    )
    source = PrometheusSource(
        cast(PrometheusClient, client), service, service.deploy[0], ("000012", "000011")
    )
    canary, stable = source.sample(AT - 5, AT)
    assert all("sum by (version" in q and "by (track" not in q for q in client.seen), client.seen
    assert (canary.requests, canary.errors, canary.p95_ms) == (0, 0, 500)
    assert (stable.requests, stable.errors, stable.p95_ms) == (0, 0, 250)
    # without versions (Kubernetes), by track, as before
    by_track = PrometheusSource(cast(PrometheusClient, client), service, service.deploy[0])
    assert all("sum by (track" in q for q in by_track.queries(5))

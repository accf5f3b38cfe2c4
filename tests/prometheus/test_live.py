"""The canary's Prometheus analysis against a real Prometheus: it runs the rendered scrape
configuration and rules against a loopback exporter whose stable and canary tracks answer
at fixed rates (the canary: 20 % 5xx and half its answers slower than 0.1 s), and the
``PrometheusSource`` reads each track's numbers back from the per-track recording rules;
the dashboard's side-by-side queries return one series per track."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from jenkins_bridge.deploy.canary.analysis import Thresholds, judge
from jenkins_bridge.deploy.canary.prometheus_source import PrometheusSource
from jenkins_bridge.descriptor import load_services
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.prometheus.client import (
    PrometheusClient,
    PrometheusRefused,
    PrometheusUnreachable,
)
from jenkins_bridge.render.monitoring import render_monitoring

from .live import Track, exporter, free_port, prometheus, query, until

pytestmark = pytest.mark.prometheus

DESCRIPTOR = """apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: checkout, team: shop}
source: {repo: https://git.example.com/shop/checkout.git}
image: {repository: registry.example.com/shop/checkout}
deploy:
  - {environment: live, target: docker, listen: "127.0.0.1:%(port)d"}
monitoring: {scrapeIntervalSeconds: 1, slo: {availability: 99, latencyP95Ms: 200}}
"""
TRACKS = {
    "stable": Track(per_second=5000, error_share=0.01, fast_share=1.0),
    "canary": Track(per_second=1000, error_share=0.2, fast_share=0.5),
}
# histogram_quantile interpolates inside the bucket the 95th percentile falls in: stable's
# in (0, 0.1] at 95 %, the canary's in (0.1, 0.5] at (0.95 - 0.5) / 0.5 of the way
STABLE_P95_MS = 95.0
CANARY_P95_MS = (0.1 + 0.4 * 0.9) * 1000


def _monitoring(tmp_path: Path, port: int) -> tuple[Path, Service]:
    descriptor = tmp_path / "checkout.yaml"
    descriptor.write_text(DESCRIPTOR % {"port": port}, encoding="utf-8")
    (service,) = load_services([descriptor])
    folder = tmp_path / "monitoring"
    folder.mkdir()
    for name, _, text in render_monitoring(service):
        (folder / name).write_text(text, encoding="utf-8")
    return folder, service


def test_the_source_reads_each_tracks_numbers_from_the_recording_rules(tmp_path: Path) -> None:
    with exporter(TRACKS) as port:
        folder, service = _monitoring(tmp_path, port)
        with prometheus(folder / "prometheus-live.yml", tmp_path) as url:
            evaluations = (
                'min(count_over_time(service_track:http_requests:rate1m{service="checkout"}[6s]))'
            )

            def enough() -> bool | None:
                result = (query(url, evaluations) or {}).get("data", {}).get("result", [])
                ok = result and float(result[0]["value"][1]) >= 5
                return True if ok else None

            until("five evaluations of the per-track rules", enough, tmp_path / "prometheus.log")
            stage = service.deploy[0]
            source = PrometheusSource(url, service, stage)  # as deploy[].canary.prometheus gives it
            at = time.time()
            canary, stable = source.sample(at - 5, at)

            assert canary.requests > 100 and stable.requests > 100, (canary, stable)
            assert canary.requests / stable.requests == pytest.approx(0.2, rel=0.02)
            assert canary.errors / canary.requests == pytest.approx(0.2, rel=0.02)
            assert stable.errors / stable.requests == pytest.approx(0.01, rel=0.1)
            assert canary.p95_ms == pytest.approx(CANARY_P95_MS, rel=0.01)
            assert stable.p95_ms == pytest.approx(STABLE_P95_MS, rel=0.01)

            verdict = judge(canary, stable, Thresholds(0.05, 200.0, 10))
            assert verdict.outcome == "fail" and len(verdict.reasons) == 2, verdict.describe()
            assert judge(stable, canary, Thresholds(0.05, 200.0, 10)).passed

            # the dashboard's side-by-side panels: one series per track
            dashboard = json.loads((folder / "dashboard.json").read_text(encoding="utf-8"))
            by_track = [p for p in dashboard["panels"] if "by version" in p["title"]]
            assert len(by_track) == 3
            for panel in by_track:
                expr = panel["targets"][0]["expr"].replace("$environment", "live")
                answer = query(url, expr)
                tracks = sorted(r["metric"]["track"] for r in answer["data"]["result"])
                assert tracks == ["canary", "stable"], (panel["title"], answer)

            with pytest.raises(PrometheusRefused, match=r"bad_data.*: sum\($") as refused:
                PrometheusClient(url).query("sum(", at)
            assert refused.value.status == 400 and refused.value.query == "sum("


def test_a_closed_port_is_unreachable_naming_the_server() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PrometheusUnreachable, match=f"Prometheus {url} cannot be reached"):
        PrometheusClient(url, timeout=2).query("up", time.time())

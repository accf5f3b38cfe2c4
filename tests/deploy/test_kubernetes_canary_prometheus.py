"""The Kubernetes canary judged by a real Prometheus: the cluster is the recorded API of
test_kubernetes_canary.py, the judge is Prometheus 2.42 on loopback running the rendered
``rules.yml`` over a loopback exporter whose stable and canary tracks answer at fixed rates,
with real sleeps and the wall clock, so the step windows, the queries and the thresholds
meet real data. (Debian's Prometheus has no Kubernetes discovery: the scrape job here is a
static one with the labels the rendered Kubernetes job gives.)"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("kubernetes")

from jenkins_bridge.descriptor import load_service
from jenkins_bridge.render.monitoring import render_monitoring
from tests.deploy.test_kubernetes_canary import (
    DESCRIPTOR,
    WithCanary,
    _canaries,
    _canary_state,
    _deployment,
    _run,
    _stables,
)
from tests.deploy.test_kubernetes_rollout import NEW, OLD
from tests.prometheus.live import Track, exporter, prometheus, query, until

pytestmark = pytest.mark.prometheus

STABLE = Track(per_second=5000, error_share=0.001, fast_share=1.0)
HEALTHY = Track(per_second=1000, error_share=0.001, fast_share=1.0)
FAILING = Track(per_second=1000, error_share=0.2, fast_share=1.0)


def _judged_by(tmp_path: Path, canary: Track) -> tuple[Any, WithCanary]:
    text = DESCRIPTOR.replace("intervalSeconds: 30", "intervalSeconds: 2").replace(
        "monitoring: {slo:", "monitoring: {scrapeIntervalSeconds: 1, slo:"
    )
    with exporter({"stable": STABLE, "canary": canary}) as port:
        (tmp_path / "svc.yaml").write_text(text % {"prometheus": "http://127.0.0.1:1"})
        service = load_service(tmp_path / "svc.yaml")
        folder = tmp_path / "monitoring"
        folder.mkdir()
        files = {name: body for name, _, body in render_monitoring(service)}
        (folder / "rules.yml").write_text(files["rules.yml"], encoding="utf-8")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": ["rules.yml"],
            "scrape_configs": [
                {
                    "job_name": "shop/orders/prod",
                    "static_configs": [
                        {
                            "targets": [f"127.0.0.1:{port}"],
                            "labels": {"team": "shop", "service": "orders", "environment": "prod"},
                        }
                    ],
                }
            ],
        }
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
        with prometheus(folder / "prometheus.yml", tmp_path) as url:
            ready = 'min(count_over_time(service_track:http_requests:rate1m{service="orders"}[6s]))'

            def evaluated() -> bool | None:
                found = (query(url, ready) or {}).get("data", {}).get("result", [])
                return True if found and float(found[0]["value"][1]) >= 5 else None

            until("the per-track rules evaluated", evaluated, tmp_path / "prometheus.log")
            api = WithCanary(
                [_deployment(OLD, 1, 1, 2, 2, 1), _deployment(NEW, 2, 2, 2, 2, 2)],
                [_canary_state(1, 1), _canary_state(1, 1), _canary_state(2, 2)],
            )
            done, _ = _run(tmp_path, api, url, sleep=time.sleep, descriptor=text)
    return done, api


def test_a_healthy_canary_passes_every_step_on_real_numbers(tmp_path: Path) -> None:
    done, api = _judged_by(tmp_path, HEALTHY)
    assert done.result == "live", done.record.detail
    results = done.canary.as_json()["results"]
    assert [r["outcome"] for r in results] == ["pass", "pass", "pass"]
    assert all(r["canary"]["requests"] >= 50 for r in results), results
    assert len(_stables(api)) == 1 and len(_canaries(api)) == 3


def test_a_canary_failing_a_fifth_of_its_requests_is_rolled_back_at_the_first_step(
    tmp_path: Path,
) -> None:
    done, api = _judged_by(tmp_path, FAILING)
    assert done.result == "rolled-back"
    [step] = done.canary.as_json()["results"]
    assert step["outcome"] == "fail"
    assert step["canary"]["errorRatio"] == pytest.approx(0.2, rel=0.05)
    assert step["stable"]["errorRatio"] == pytest.approx(0.001, rel=0.3)
    assert _stables(api) == [] and api.deleted == [("orders-canary", "shop", "Background")]

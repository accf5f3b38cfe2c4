"""The generated monitoring, live: Prometheus on 127.0.0.1 runs the rendered configuration and
rules against a deployed example service (a busybox container on host networking whose CGI
serves metrics on loopback), sees its ``up`` series, and raises the target-down alert once
the container is stopped. Every wait is bounded."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from jenkins_bridge.output.run import render_run

from .conftest import BASE_IMAGE, closed_port

pytestmark = [pytest.mark.docker, pytest.mark.prometheus]

T = TypeVar("T")
DEADLINE_SECONDS = 90  # a bound on each wait, never an assertion on speed

METRICS_CGI = """#!/bin/sh
printf 'Content-Type: text/plain; version=0.0.4\\r\\n\\r\\n'
echo '# TYPE http_requests_total counter'
echo 'http_requests_total{code="200"} 7'
echo '# TYPE process_start_time_seconds gauge'
echo 'process_start_time_seconds 1700000000'
"""

DESCRIPTOR = """apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: metrics-app, team: demo}
source: {repo: https://git.example.com/demo/metrics-app.git}
image: {repository: jb-test-monitoring/metrics-app}
deploy:
  - {environment: live, target: docker, listen: "127.0.0.1:%(port)d"}
monitoring:
  metricsPath: /cgi-bin/metrics
  scrapeIntervalSeconds: 1
  slo: {availability: 99.9, latencyP95Ms: 200}
"""


def _until(what: str, probe: Callable[[], T | None], log: Path | None = None) -> T:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    pytest.fail(f"gave up after {DEADLINE_SECONDS}s waiting for {what}\n{tail}")


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())
    except OSError:
        return None


@pytest.fixture
def metrics_container(docker_client: Any, tmp_path: Path) -> Iterator[tuple[Any, int]]:
    """The example service, listening on a free loopback port; removed afterwards."""
    context = tmp_path / "image"
    context.mkdir()
    (context / "metrics").write_text(METRICS_CGI, encoding="utf-8")
    (context / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\nCOPY metrics /www/cgi-bin/metrics\n"
        'RUN ["chmod", "755", "/www/cgi-bin/metrics"]\n',
        encoding="utf-8",
    )
    tag = f"jb-test-monitoring/metrics-app:{uuid.uuid4().hex[:10]}"
    docker_client.images.build(path=str(context), tag=tag, network_mode="host", rm=True)
    port = closed_port()
    container = docker_client.containers.run(
        tag,
        ["httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/www"],
        network_mode="host",
        init=True,  # busybox httpd as PID 1 would ignore SIGTERM
        detach=True,
        name=f"jb-test-monitoring-{uuid.uuid4().hex[:10]}",
    )
    try:
        yield container, port
    finally:
        container.remove(force=True)
        docker_client.images.remove(tag, force=True)


@pytest.fixture
def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        pytest.fail("prometheus is not installed: run scripts/bootstrap.sh (Debian prometheus)")
    return found


def _render_monitoring(tmp_path: Path, port: int) -> Path:
    descriptors = tmp_path / "descriptors"
    descriptors.mkdir()
    (descriptors / "metrics-app.yaml").write_text(DESCRIPTOR % {"port": port}, encoding="utf-8")
    prefix = "demo/metrics-app/monitoring/"
    folder = tmp_path / "monitoring"
    folder.mkdir()
    for path, artifact in render_run([descriptors]).tree.artifacts.items():
        if path.startswith(prefix):
            (folder / path.removeprefix(prefix)).write_text(artifact.text, encoding="utf-8")
    return folder


def test_prometheus_scrapes_the_service_and_alerts_when_it_stops(
    metrics_container: tuple[Any, int], prometheus_binary: str, tmp_path: Path
) -> None:
    container, port = metrics_container
    folder = _render_monitoring(tmp_path, port)
    web = f"127.0.0.1:{closed_port()}"
    log = tmp_path / "prometheus.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                prometheus_binary,
                f"--config.file={folder / 'prometheus-live.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address={web}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        api = f"http://{web}/api/v1"
        selector = urllib.parse.quote('up{service="metrics-app"}')

        def up_series() -> dict[str, Any] | None:
            answer = _get(f"{api}/query?query={selector}")
            results = (answer or {}).get("data", {}).get("result", [])
            return results[0] if results and results[0]["value"][1] == "1" else None

        up = _until("the up series of the running service", up_series, log)
        assert {k: up["metric"][k] for k in ("team", "service", "environment")} == {
            "team": "demo",
            "service": "metrics-app",
            "environment": "live",
        }
        assert up["metric"]["instance"] == f"127.0.0.1:{port}"

        rules = _get(f"{api}/rules")
        names = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
        assert {"ServiceTargetDown", "ServiceErrorBudgetBurnFast"} <= names

        container.stop(timeout=1)

        def target_down() -> dict[str, Any] | None:
            answer = _get(f"{api}/alerts")
            for alert in (answer or {}).get("data", {}).get("alerts", []):
                if alert["labels"].get("alertname") == "ServiceTargetDown":
                    return dict(alert)
            return None

        alert = _until("ServiceTargetDown after the container stopped", target_down, log)
        assert alert["state"] in ("pending", "firing")
        assert alert["labels"]["severity"] == "critical"
        assert alert["labels"]["environment"] == "live"
        assert alert["annotations"]["summary"] == "demo/metrics-app is down in live"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)

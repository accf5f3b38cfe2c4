"""The Docker-host canary's monitoring, live: two app containers labelled as deploy labels
them (service, environment, role app, seq, track) on a user-defined network in
198.18.0.0/15, each serving counters that grow at its own rates (the canary: a fifth 5xx,
half its answers slower than 0.1 s). Both say ``track=canary``: the stable one is a canary an
earlier deploy promoted (a container's labels never change). Prometheus on 127.0.0.1 runs
the rendered scrape config (engine discovery, the version from the seq label) and rules; the
Docker canary's ``PrometheusSource``, given the two containers as the engine reports them,
reads each version's numbers back, and the dashboard's canary-steps annotation sees two
versions. Every wait is bounded."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from jenkins_bridge.containers.runtime import DockerRuntime
from jenkins_bridge.deploy.docker_host.canary import prometheus_source_for
from jenkins_bridge.deploy.docker_host.session import Session
from jenkins_bridge.deploy.records import SEQ_LABEL, TRACK_LABEL, owner_labels
from jenkins_bridge.descriptor import load_services
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.descriptor.naming import ObjectNames
from jenkins_bridge.render.monitoring import render_monitoring
from tests.prometheus.live import prometheus, query, until

from .conftest import BASE_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.prometheus]

METRICS_CGI = """#!/bin/sh
printf 'Content-Type: text/plain; version=0.0.4\\r\\n\\r\\n'
t=$(date +%s)
echo '# TYPE http_requests_total counter'
echo "http_requests_total{code=\\"200\\"} $((t * OK))"
echo "http_requests_total{code=\\"500\\"} $((t * ERR))"
echo '# TYPE http_request_duration_seconds histogram'
echo "http_request_duration_seconds_bucket{le=\\"0.1\\"} $((t * FAST))"
echo "http_request_duration_seconds_bucket{le=\\"0.5\\"} $((t * (OK + ERR)))"
echo "http_request_duration_seconds_bucket{le=\\"+Inf\\"} $((t * (OK + ERR)))"
"""
DESCRIPTOR = """apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: %(name)s, team: jbt}
source: {repo: https://git.example.com/jbt/%(name)s.git}
image: {repository: example.invalid/jbt/%(name)s}
runtime: {port: 8081}
deploy:
  - environment: live
    listen: 127.0.0.1:18999
    strategy: canary
    canary: {prometheus: "http://127.0.0.1:1"}
monitoring: {metricsPath: /cgi-bin/metrics, scrapeIntervalSeconds: 1, slo: {availability: 99}}
"""
# per second: answers within 0.1 s, 200s, 500s
TRACKS = {
    "stable": {"OK": "9900", "ERR": "100", "FAST": "10000"},
    "canary": {"OK": "800", "ERR": "200", "FAST": "500"},
}
# the deploy's seq of each: the stable version is the canary deploy 11 started and promoted
SEQS = {"stable": "000011", "canary": "000012"}


@pytest.fixture
def two_tracks(docker_client: Any, tmp_path: Path) -> Iterator[Service]:
    """A stable and a canary container of one service environment, as deploy labels them
    (the stable one as it was started: a canary, since promoted)."""
    from docker.types import IPAMConfig, IPAMPool

    name = f"trk-{uuid.uuid4().hex[:8]}"
    descriptor = tmp_path / f"{name}.yaml"
    descriptor.write_text(DESCRIPTOR % {"name": name}, encoding="utf-8")
    (service,) = load_services([descriptor])
    context = tmp_path / "image"
    context.mkdir()
    (context / "metrics").write_text(METRICS_CGI, encoding="utf-8")
    (context / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\nCOPY metrics /www/cgi-bin/metrics\n"
        'RUN ["chmod", "755", "/www/cgi-bin/metrics"]\n',
        encoding="utf-8",
    )
    tag = f"jb-test-tracks/{name}:1"
    docker_client.images.build(path=str(context), tag=tag, network_mode="host", rm=True)
    network = None
    containers: list[Any] = []
    try:
        for third in range(int(uuid.uuid4().int % 80) + 160, 250, 7):  # a free /24 there
            try:
                network = docker_client.networks.create(
                    ObjectNames.of("jbt", name, "live").network,
                    driver="bridge",
                    ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=f"198.18.{third}.0/24")]),
                    options={"com.docker.network.bridge.enable_ip_masquerade": "false"},
                )
                break
            except Exception:  # that subnet is another test's
                continue
        assert network is not None, "no free /24 in 198.18.160-249.0"
        for track, rates in TRACKS.items():
            containers.append(
                docker_client.containers.run(
                    tag,
                    ["httpd", "-f", "-p", "8081", "-h", "/www"],
                    environment=rates,
                    labels={
                        **owner_labels(service.full_name, "live", "app"),
                        SEQ_LABEL: SEQS[track],
                        TRACK_LABEL: "canary",
                    },
                    network=network.name,
                    init=True,
                    detach=True,
                    name=f"{name}-{track}",
                )
            )
        yield service
    finally:
        for container in containers:
            container.remove(force=True)
        if network is not None:
            network.remove()
        docker_client.images.remove(tag, force=True)


def test_prometheus_tells_the_docker_hosts_versions_apart(
    two_tracks: Service, docker_client: Any, tmp_path: Path
) -> None:
    service = two_tracks
    folder = tmp_path / "monitoring"
    folder.mkdir()
    for file, _, text in render_monitoring(service):
        (folder / file).write_text(text, encoding="utf-8")
    with prometheus(folder / "prometheus-live.yml", tmp_path) as url:
        own = f'service="{service.metadata.name}"'

        def both_evaluated() -> bool | None:
            counted = query(
                url, f"count_over_time(service_track:http_requests:rate1m{{{own}}}[6s])"
            )
            found = (counted or {}).get("data", {}).get("result", [])
            ok = len(found) == 2 and all(float(r["value"][1]) >= 5 for r in found)
            return True if ok else None

        until(
            "both tracks' rules evaluated five times", both_evaluated, tmp_path / "prometheus.log"
        )
        up = query(url, f"up{{{own}}}")["data"]["result"]
        assert sorted((r["metric"]["version"], r["value"][1]) for r in up) == [
            ("000011", "1"),
            ("000012", "1"),
        ]
        assert all("track" not in r["metric"] for r in up)
        # the containers as the deploy has them (the one serving, the new one)
        engine = DockerRuntime(docker_client, "")
        found = {t: engine.inspect(f"{service.metadata.name}-{t}") for t in TRACKS}
        stable_app, canary_app = found["stable"], found["canary"]
        assert stable_app is not None and canary_app is not None
        stage = service.deploy[0]
        stage = replace(stage, canary=replace(stage.canary, prometheus=url))
        session = SimpleNamespace(target=SimpleNamespace(service=service, stage=stage))
        source = prometheus_source_for(cast(Session, session), stable_app, canary_app)
        at = time.time()
        canary, stable = source.sample(at - 5, at)
        assert canary.requests > 0 and stable.requests > 0, (canary, stable)
        assert canary.errors / canary.requests == pytest.approx(0.2, rel=0.05)
        assert stable.errors / stable.requests == pytest.approx(0.01, rel=0.2)
        assert canary.p95_ms == pytest.approx(460, rel=0.01)
        assert stable.p95_ms == pytest.approx(95, rel=0.01)

        dashboard = json.loads((folder / "dashboard.json").read_text(encoding="utf-8"))
        (steps,) = [a for a in dashboard["annotations"]["list"] if a["name"] == "Canary steps"]
        marks = query(url, steps["expr"].replace("$environment", "live"))["data"]["result"]
        assert [m["metric"] for m in marks] == [{"environment": "live", "versions_up": "2"}]
        # the dashboard's per-version panel: one line per version, never the two summed
        (panel,) = [p for p in dashboard["panels"] if p["title"].startswith("Request rate by")]
        lines = query(url, panel["targets"][0]["expr"].replace("$environment", "live"))
        assert sorted(r["metric"].get("version") for r in lines["data"]["result"]) == [
            "000011",
            "000012",
        ]

"""A Docker-host canary judged from Prometheus, live: a real Prometheus on loopback runs the
scrape config (engine discovery, the version from each container's seq label) and the rules
rendered for a descriptor whose canary names it (``canary.prometheus``); scrape and rule
evaluation every second. v1 (the test app counting its answers, no errors) is deployed, then,
under a bounded loopback load through the proxy (about 40 requests a second: every answer of
these versions runs a CGI script), v3 (500 to 20 % of requests) as a canary:
the first step's verdict comes from Prometheus and names the error ratio, exit 3, all traffic
back on v1, which alone answers afterwards. Then v2 (healthy, counting) passes both steps on
Prometheus' numbers and is promoted.

A step is held ``INTERVAL`` seconds: the per-track rates look back a minute (the rate window
of a one-second scrape), so a version that appeared seconds ago is counted short, but both its
requests and its errors alike (the ratio holds). Every wait is bounded."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.render.monitoring import render_monitoring
from tests.prometheus.live import prometheus

from .canary_scenario import APP_DOCKERFILE, PROXY_IMAGE, TEAM, RecordingLoad, free_subnet
from .conftest import Environment, _free_port, remove_service

pytestmark = [pytest.mark.docker, pytest.mark.prometheus, pytest.mark.deploy]

INTERVAL = 20
VERSIONS = {
    "v1": {"VERSION": "1", "METRICS": "yes"},
    "v2": {"VERSION": "2", "METRICS": "yes"},
    "v3": {"VERSION": "3", "ERROR_PERCENT": "20"},
}
DESCRIPTOR = """\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {{name: {name}, team: {team}}}
source: {{repo: https://git.example.com/{team}/{name}.git}}
image: {{repository: 127.0.0.1:5000/{team}/{name}}}
runtime:
  port: 8080
  healthcheck: {{path: /healthz, intervalSeconds: 1, timeoutSeconds: 2, retries: 2,
                startPeriodSeconds: 0}}
  stopTimeoutSeconds: 2
deploy:
  - environment: test
    target: docker
    strategy: canary
    listen: "{listen}"
    subnet: {subnet}
    refusedSubnets: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]
    proxyImage: {proxy}
    healthTimeoutSeconds: 20
    drainSeconds: 1
    canary: {{steps: [10, 100], intervalSeconds: {interval}, minRequests: 10,
              prometheus: "{prometheus}"}}
monitoring: {{metricsPath: /cgi-bin/metrics, scrapeIntervalSeconds: 1,
              slo: {{availability: 99.9}}}}
"""


@pytest.fixture
def images(docker_client: Any, tmp_path: Path) -> Iterator[dict[str, str]]:
    repository = f"jb-test-promcanary-{uuid.uuid4().hex[:8]}/app"
    context = tmp_path / "app"
    context.mkdir()
    (context / "Dockerfile").write_text(APP_DOCKERFILE.read_text())
    built = {}
    try:
        for version, args in VERSIONS.items():
            built[version] = f"{repository}:{version}"
            docker_client.images.build(
                path=str(context), tag=built[version], buildargs=args, network_mode="host", rm=True
            )
        yield built
    finally:
        for reference in built.values():
            docker_client.images.remove(reference, force=True)


def test_prometheus_judges_a_docker_canary_and_it_is_rolled_back(
    docker_client: Any, images: dict[str, str], tmp_path: Path
) -> None:
    name = f"pcan-{uuid.uuid4().hex[:8]}"
    listen = f"127.0.0.1:{_free_port()}"
    subnet = free_subnet(docker_client)
    descriptor = tmp_path / f"{name}.yaml"

    def write(url: str) -> None:
        descriptor.write_text(
            DESCRIPTOR.format(
                name=name,
                team=TEAM,
                listen=listen,
                subnet=subnet,
                proxy=PROXY_IMAGE,
                interval=INTERVAL,
                prometheus=url,
            )
        )

    write("http://127.0.0.1:1")  # the rendered files do not depend on the URL
    (service,) = load_services([descriptor])
    folder = tmp_path / "monitoring"
    folder.mkdir()
    for file, _, text in render_monitoring(service):
        (folder / file).write_text(text, encoding="utf-8")
    env = Environment(
        name,
        descriptor,
        listen,
        subnet,
        {
            k: v
            for k, v in os.environ.items()
            if k not in ("BUILD_URL", "GIT_COMMIT", "DOCKER_HOST")
        },
    )
    try:
        with prometheus(folder / "prometheus-test.yml", tmp_path) as url:
            write(url)
            code, out, err = env.json(
                "deploy", str(descriptor), "--env", "test", "--image", images["v1"]
            )
            assert code == 0, err
            with RecordingLoad(listen, workers=2, max_seconds=240, pause=0.02).running() as load:
                time.sleep(2)  # v1 answers and is counted before the canary starts
                code, out, err = env.json(
                    "deploy", str(descriptor), "--env", "test", "--image", images["v3"]
                )
                ended = time.time()
                assert code == 3, err
                time.sleep(2)
            assert out["status"] == "rolled-back"
            canary = out["data"]["canary"]
            assert canary["source"] == "prometheus" and not canary["passed"]
            (step,) = canary["results"]
            assert (step["percent"], step["outcome"]) == (10, "fail"), step
            assert step["reasons"][0].startswith("error ratio "), step
            # the numbers are per version: v3's errors, none of v1's (whose requests count)
            assert step["canary"]["requests"] >= 10 and step["canary"]["errors"] > 0, step
            assert step["stable"]["requests"] > 0 and step["stable"]["errors"] == 0, step
            assert "error ratio" in err and "Prometheus" in err
            code, status, err = env.json("status", str(descriptor), "--env", "test")
            assert code == 0, err
            assert status["data"]["live"]["image"] == out["data"]["record"]["previous"]
            assert status["data"]["canary"] is None
            after = load.between(ended, ended + 60)
            assert after and {(a.status, a.version) for a in after} == {(200, "1")}
            failed = {a.body for a in load.answers if a.status != 200}
            assert failed == {"version 3 failed"}, failed  # v3's share only, never v1
            print(
                f"\nprometheus canary: v3 failed after {canary['detectedAfterSeconds']:.1f} s "
                f"at 10 %: {step['reasons'][0]}; canary {step['canary']}, "
                f"stable {step['stable']}"
            )

            # v2: healthy, both steps pass on Prometheus' numbers, promoted.
            with RecordingLoad(listen, workers=2, max_seconds=240, pause=0.02).running() as load:
                code, out, err = env.json(
                    "deploy", str(descriptor), "--env", "test", "--image", images["v2"]
                )
                ended = time.time()
                assert code == 0, err
                time.sleep(2)
            canary = out["data"]["canary"]
            assert canary["source"] == "prometheus" and canary["passed"], canary
            results = canary["results"]
            assert [(r["percent"], r["outcome"]) for r in results] == [(10, "pass"), (100, "pass")]
            assert all(r["canary"]["requests"] >= 10 for r in results), results
            assert all(r["canary"]["errors"] == 0 for r in results), results
            code, status, err = env.json("status", str(descriptor), "--env", "test")
            assert code == 0, err
            assert status["data"]["live"]["image"] == out["data"]["record"]["digest"]
            after = load.between(ended, ended + 60)
            assert after and {(a.status, a.version) for a in after} == {(200, "2")}
            assert all(a.status == 200 for a in load.answers), "v2's deploy failed a request"
            print(
                "prometheus canary: v2 promoted: "
                + "; ".join(f"{r['percent']} % canary {r['canary']}" for r in results)
            )
    finally:
        remove_service(docker_client, f"{TEAM}/{name}")

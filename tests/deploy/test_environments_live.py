"""One descriptor, two environments, live: a Docker-host staging and a Swarm production on
host networking with different env, replicas and resources (production's come from its
``deploy[].runtime`` overrides). The tool deploys both; the engine shows each runs its own
merged settings; Prometheus, running the scrape jobs the tool rendered for them, sees
``up == 1`` for every replica. Every wait is bounded."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jenkins_bridge.descriptor.naming import ObjectNames
from jenkins_bridge.output.run import render_run

from .conftest import (
    PROXY_IMAGE,
    TEAM,
    AppImages,
    Environment,
    _free_port,
    _free_subnet,
    remove_service,
)
from .samples import port_is_free

pytestmark = [pytest.mark.docker, pytest.mark.swarm, pytest.mark.prometheus]

DEADLINE_SECONDS = 120  # a bound on each wait, never an assertion on speed
METRICS = "# TYPE app_info gauge\\napp_info 1\\n"

DESCRIPTOR = """\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {{name: {name}, team: {team}}}
source: {{repo: https://git.example.com/{team}/{name}.git}}
image: {{repository: 127.0.0.1:5000/{team}/{name}}}
runtime:
  port: 8080
  env: {{GREETING: hello, STAGING_ONLY: "yes"}}
  healthcheck: {{path: /healthz, intervalSeconds: 1, timeoutSeconds: 2, retries: 2,
                startPeriodSeconds: 0}}
  stopTimeoutSeconds: 2
  resources: {{memory: 64Mi}}
deploy:
  - environment: staging
    target: docker
    strategy: recreate
    listen: "127.0.0.1:{staging_port}"
    subnet: {subnet}
    proxyImage: {proxy}
    healthTimeoutSeconds: 30
    drainSeconds: 0
  - environment: production
    target: swarm
    network: host
    replicas: 2
    monitorSeconds: 2
    proxyImage: {proxy}
    helperImage: {proxy}
    healthTimeoutSeconds: 30
    runtime:
      env: {{GREETING: bonjour, STAGING_ONLY: null, PORT: "{prefix}{{{{.Task.Slot}}}}"}}
      resources: {{memory: 96Mi, cpus: 0.5}}
monitoring: {{metricsPath: /metrics, scrapeIntervalSeconds: 1}}
"""


def _port_prefix(replicas: int) -> tuple[str, list[int]]:
    for prefix in range(1750, 1850):
        ports = [int(f"{prefix}{slot}") for slot in range(1, replicas + 1)]
        if all(port_is_free(p) for p in ports):
            return str(prefix), ports
    raise AssertionError("no free port block")


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())
    except OSError:
        return None


@pytest.fixture
def metrics_image(docker_client: Any, app_images: AppImages, tmp_path: Path) -> Iterator[str]:
    """The test app (v1) with a Prometheus text page at /metrics."""
    context = tmp_path / "metrics-image"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {app_images.v1}\nRUN printf '{METRICS}' > /www/metrics\n", encoding="utf-8"
    )
    tag = f"jb-test-envs-{uuid.uuid4().hex[:8]}/app:v1"
    docker_client.images.build(path=str(context), tag=tag, network_mode="host", rm=True)
    yield tag
    docker_client.images.remove(tag, force=True)


@pytest.fixture
def two_environments(docker_client: Any, tmp_path: Path) -> Iterator[tuple[Environment, list[int]]]:
    import os

    if docker_client.info()["Swarm"].get("LocalNodeState") != "active":
        pytest.fail("the engine is not a swarm manager: run scripts/services.sh up")
    name = f"envs-{uuid.uuid4().hex[:8]}"
    prefix, ports = _port_prefix(2)
    staging_port = _free_port()
    subnet = _free_subnet(docker_client)
    descriptor = tmp_path / f"{name}.yaml"
    descriptor.write_text(
        DESCRIPTOR.format(
            name=name,
            team=TEAM,
            staging_port=staging_port,
            subnet=subnet,
            proxy=PROXY_IMAGE,
            prefix=prefix,
        )
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("BUILD_URL", "GIT_COMMIT", "DOCKER_HOST")
    }
    production = ObjectNames.of(TEAM, name, "production").base
    try:
        yield Environment(name, descriptor, f"127.0.0.1:{staging_port}", subnet, env), ports
    finally:
        for service in docker_client.services.list(filters={"name": production}):
            service.remove()
        remove_service(docker_client, f"{TEAM}/{name}")


def _scrape_jobs(descriptor: Path, team: str, name: str) -> list[dict[str, Any]]:
    """The scrape jobs the tool renders for both environments, as rendered."""
    prefix = f"{team}/{name}/monitoring/prometheus-"
    jobs = []
    for path, artifact in sorted(render_run([descriptor]).tree.artifacts.items()):
        if path.startswith(prefix):
            jobs.extend(yaml.safe_load(artifact.text)["scrape_configs"])
    return jobs


def test_one_descriptor_deploys_and_is_scraped_in_both_environments(
    two_environments: tuple[Environment, list[int]], metrics_image: str, docker_client: Any
) -> None:
    env, slot_ports = two_environments
    for environment in ("staging", "production"):
        done = env.cli(
            "deploy", str(env.descriptor), "--env", environment, "--image", metrics_image
        )
        assert done.returncode == 0, done.stderr

    # Each environment runs its own merged runtime.
    staging = [
        c
        for c in docker_client.containers.list(
            filters={"label": f"dev.jenkins-bridge.service={TEAM}/{env.name}"}
        )
        if "-app-" in c.name
    ]
    assert len(staging) == 1
    staging_env = dict(v.split("=", 1) for v in staging[0].attrs["Config"]["Env"])
    assert staging_env["GREETING"] == "hello" and staging_env["STAGING_ONLY"] == "yes"
    assert staging[0].attrs["HostConfig"]["Memory"] == 64 * 1024**2
    service = docker_client.services.get(ObjectNames.of(TEAM, env.name, "production").base)
    spec = service.attrs["Spec"]
    assert spec["Mode"]["Replicated"]["Replicas"] == 2
    task_env = dict(v.split("=", 1) for v in spec["TaskTemplate"]["ContainerSpec"]["Env"])
    assert task_env["GREETING"] == "bonjour" and "STAGING_ONLY" not in task_env
    assert spec["TaskTemplate"]["Resources"]["Limits"]["MemoryBytes"] == 96 * 1024**2

    # Prometheus runs the rendered scrape jobs of both environments.
    jobs = _scrape_jobs(env.descriptor, TEAM, env.name)
    assert len(jobs) == 2
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.fail("prometheus is not installed: run scripts/bootstrap.sh (Debian prometheus)")
    folder = env.descriptor.parent
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump({"scrape_configs": jobs}), encoding="utf-8")
    web = f"127.0.0.1:{_free_port()}"
    log = folder / "prometheus.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'tsdb'}",
                f"--web.listen-address={web}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        query = urllib.parse.quote(f'up{{service="{env.name}"}}')
        expected = {
            ("staging", env.listen),
            *(("production", f"127.0.0.1:{port}") for port in slot_ports),
        }
        seen: dict[tuple[str, str], str] = {}
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            answer = _get(f"http://{web}/api/v1/query?query={query}") or {}
            seen = {
                (r["metric"]["environment"], r["metric"]["instance"]): r["value"][1]
                for r in answer.get("data", {}).get("result", [])
            }
            if set(seen) == expected and set(seen.values()) == {"1"}:
                break
            time.sleep(0.5)
        tail = log.read_text(errors="replace")[-2000:]
        assert set(seen) == expected, (seen, tail)
        assert set(seen.values()) == {"1"}, (seen, tail)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)

"""Benchmark: ``jenkins-bridge deploy`` to a 2-replica swarm service (host networking, ports
templated per task slot) against the docker CLI path in the same run: ``docker service update
--detach=false`` plus a manual ``UpdateStatus`` check and a poll of every replica's health path.

    .venv/bin/python bench/swarm_bench.py

Prints, for each path, the time from update to converged (healthy v2 on both replicas) and the
time to report a rollback (failing v3), and their ratios (tool / CLI); asserts nothing. Target:
no slower than the CLI path while reporting the truth (the CLI exits 0 after a rollback).
Needs the single-node swarm of scripts/services.sh up; removes what it creates.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.deploy.samples import (
    app_descriptor_head,
    port_is_free,
)

ROOT = Path(__file__).resolve().parents[1]
CLI = str(ROOT / ".venv" / "bin" / "jenkins-bridge")
PROXY_IMAGE = "jenkins-bridge-test/nginx:debian"
APP_DOCKERFILE = ROOT / "tests" / "deploy" / "app" / "Dockerfile"
DESCRIPTOR = (
    app_descriptor_head("{port}", team="bench")
    + """\
deploy:
  - environment: bench
    target: swarm
    network: host
    replicas: 2
    monitorSeconds: 3
    helperImage: {proxy}
    healthTimeoutSeconds: 20
    runtime: {{env: {{PORT: "{template}"}}}}
"""
)


def _ports_block() -> tuple[str, list[int]]:
    for prefix in range(1700, 1840):
        ports = [int(f"{prefix}{slot}") for slot in (1, 2)]
        if all(port_is_free(p) for p in ports):
            return f"{prefix}{{{{.Task.Slot}}}}", ports
    raise SystemExit("no free port block")


def _answers(ports: list[int], version: str) -> bool:
    for port in ports:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/")
            body = connection.getresponse().read().decode()
            connection.close()
        except OSError:
            return False
        if body.strip() != f"version {version}":
            return False
    return True


def _wait_answers(ports: list[int], version: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not _answers(ports, version):
        if time.monotonic() > deadline:
            raise SystemExit(f"version {version} never answered on {ports}")
        time.sleep(0.1)


def _docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], check=True, capture_output=True, text=True, timeout=600
    ).stdout


def _build(tag: str) -> list[str]:
    images = []
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "Dockerfile").write_text(APP_DOCKERFILE.read_text())
        for version, healthy in (("1", "yes"), ("2", "yes"), ("3", "no")):
            image = f"{tag}:v{version}"
            _docker("build", "-q", "--network", "host", "--build-arg", f"VERSION={version}",
                    "--build-arg", f"HEALTHY={healthy}", "-t", image, folder)  # fmt: skip
            images.append(image)
    return images


def _tool(images: list[str]) -> tuple[float, float]:
    name = f"bench-{uuid.uuid4().hex[:6]}"
    template, ports = _ports_block()
    env = {**os.environ, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    with tempfile.TemporaryDirectory() as folder:
        descriptor = Path(folder) / "svc.yaml"
        descriptor.write_text(
            DESCRIPTOR.format(name=name, port=ports[0], template=template, proxy=PROXY_IMAGE)
        )

        def deploy(image: str) -> int:
            done = subprocess.run(
                [CLI, "--output", "json", "deploy", str(descriptor), "--env", "bench",
                 "--image", image],
                capture_output=True, text=True, env=env, timeout=600,
            )  # fmt: skip
            json.loads(done.stdout or "{}")
            return done.returncode

        try:
            assert deploy(images[0]) == 0
            started = time.monotonic()
            assert deploy(images[1]) == 0
            converged = time.monotonic() - started
            started = time.monotonic()
            assert deploy(images[2]) == 3
            rollback = time.monotonic() - started
            assert _answers(ports, "2")
        finally:
            base = f"jb-bench-{name}-bench"
            subprocess.run(["docker", "service", "rm", base], capture_output=True)
            owned = f"label=dev.jenkins-bridge.service=bench/{name}"
            for kind in ("container", "volume"):
                listing = ["ls", "-q", "--filter", owned] + (["-a"] if kind == "container" else [])
                for one in _docker(kind, *listing).split():
                    subprocess.run(["docker", kind, "rm", "-f", one], capture_output=True)
    return converged, rollback


def _update_status(name: str) -> str:
    """The manual check: poll ``UpdateStatus.State`` until Swarm ends the update."""
    deadline = time.monotonic() + 120
    while True:
        state = _docker("service", "inspect", name, "--format", "{{.UpdateStatus.State}}")
        if state.strip() in ("completed", "rollback_completed", "paused", "rollback_paused"):
            return state.strip()
        if time.monotonic() > deadline:
            raise SystemExit(f"{name}: update state {state.strip()!r} after 120 s")
        time.sleep(0.1)


def _cli(images: list[str]) -> tuple[float, float]:
    name = f"bench-cli-{uuid.uuid4().hex[:6]}"
    template, ports = _ports_block()
    _docker("service", "create", "--detach=false", "--name", name, "--network", "host",
            "--replicas", "2", "--env", f"PORT={template}", "--update-order", "stop-first",
            "--update-failure-action", "rollback", "--update-monitor", "3s",
            "--update-parallelism", "1", "--health-interval", "1s", "--health-timeout", "2s",
            "--health-retries", "2", "--stop-grace-period", "2s", images[0])  # fmt: skip
    try:
        _wait_answers(ports, "1")
        started = time.monotonic()
        _docker("service", "update", "--detach=false", "--image", images[1], name)
        assert _update_status(name) == "completed"
        _wait_answers(ports, "2")
        converged = time.monotonic() - started
        started = time.monotonic()
        _docker("service", "update", "--detach=false", "--image", images[2], name)  # exits 0
        state = _update_status(name)
        assert state == "rollback_completed", state
        _wait_answers(ports, "2")
        rollback = time.monotonic() - started
    finally:
        subprocess.run(["docker", "service", "rm", name], capture_output=True)
    return converged, rollback


def main() -> None:
    subprocess.run(["bash", str(ROOT / "scripts" / "services.sh"), "up"], check=True,
                   capture_output=True)  # fmt: skip
    tag = f"jb-bench-swarm-{uuid.uuid4().hex[:6]}/app"
    images = _build(tag)
    try:
        tool = _tool(images)
        cli = _cli(images)
    finally:
        for image in images:
            subprocess.run(["docker", "image", "rm", "-f", image], capture_output=True)
    print(f"deploy to converged (2 replicas): tool {tool[0]:.2f} s, docker CLI {cli[0]:.2f} s, "
          f"ratio {tool[0] / cli[0]:.2f}")  # fmt: skip
    print(f"time to report a rollback:        tool {tool[1]:.2f} s, docker CLI {cli[1]:.2f} s, "
          f"ratio {tool[1] / cli[1]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

"""Benchmark: ``jenkins-bridge deploy`` (the CLI, as a subprocess) against a hand-written
docker-CLI equivalent (``docker run`` + polling the health status + nginx reload + stop the old
one) in the same run, on the same engine, network and kind of proxy, under loopback load.

    .venv/bin/python bench/deploy_bench.py [--repeat 5] [--baseline OTHER/jenkins-bridge]

Prints medians, the ratio, the tool's overhead (deploy start to traffic switched, minus the
app's own time to become healthy) and the rollback time after a failed health gate; asserts
nothing. Targets (issue 21): overhead <= 0.3 s; rollback within the health timeout + 0.5 s;
zero failed requests. Starts what it needs with scripts/services.sh up and removes what it creates.

"Traffic switched" is when the load first gets the new version's answer (each load keeps the
moments its answers changed); the figure from the deploy record (the wall time minus the
record's duration plus its switched_after_seconds, which also counts the history write, the
lock and the exit after the record) and the time to the CLI's exit are printed beside it.
``--baseline`` deploys another jenkins-bridge in turns with ``--cli`` on the same environment:
before/after figures of the same minute.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.deploy.samples import app_descriptor_head

ROOT = Path(__file__).resolve().parents[1]
CLI = str(ROOT / ".venv" / "bin" / "jenkins-bridge")
BASE_IMAGE = "jenkins-bridge-test/busybox:latest"
PROXY_IMAGE = "jenkins-bridge-test/nginx:debian"
HEALTH_TIMEOUT = 10
OVERHEAD_TARGET_S = 0.3
ROLLBACK_MARGIN_S = 0.5
APP_DOCKERFILE = ROOT / "tests" / "deploy" / "app" / "Dockerfile"
DESCRIPTOR = (
    app_descriptor_head(team="bench")
    + """\
deploy:
  - {{environment: bench, target: docker, strategy: blue-green, listen: "{listen}",
     subnet: {subnet}, proxyImage: {proxy}, healthTimeoutSeconds: {timeout}, drainSeconds: 1}}
"""
)
PROXY_CONF = """\
server {{
    listen 80 default_server;
    location / {{ proxy_pass http://{upstream}; }}
}}
"""


def docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_subnet() -> str:
    # One inspect per network: a network removed between the list and its inspect (another
    # run's) is skipped instead of failing the whole pick.
    used: set[str] = set()
    for network in docker("network", "ls", "-q").split():
        subnets = "{{range .IPAM.Config}}{{.Subnet}} {{end}}"
        done = subprocess.run(
            ["docker", "network", "inspect", "-f", subnets, network],
            capture_output=True,
            text=True,
            check=False,
        )
        used.update(done.stdout.split())
    candidates = [f"198.{a}.{b}.0/24" for a in (18, 19) for b in range(1, 256)]
    random.shuffle(candidates)
    return next(c for c in candidates if c not in used)


class Load:
    """Sequential GETs to a loopback address, bounded in count and time."""

    def __init__(self, port: int, max_requests: int = 200_000, max_seconds: float = 600) -> None:
        self.port, self.max_requests, self.max_seconds = port, max_requests, max_seconds
        self.ok = self.failed = 0
        # (perf_counter at the answer, its body) each time the body differs from the last one:
        # when traffic switched, as the load saw it.
        self.changes: list[tuple[float, bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            if self.ok + self.failed >= self.max_requests:
                return
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/")
                response = connection.getresponse()
                body = response.read()
                connection.close()
                good = response.status == 200 and body.startswith(b"version ")
                self.ok, self.failed = self.ok + good, self.failed + (not good)
                if good and (not self.changes or self.changes[-1][1] != body):
                    self.changes.append((time.perf_counter(), body))
            except (OSError, http.client.HTTPException):
                self.failed += 1

    def switched_after(self, started: float, version: str) -> float | None:
        """Seconds from ``started`` to the first answer of ``version`` after it."""
        wanted = f"version {version}".encode()
        for at, body in self.changes:
            if at >= started and body.strip() == wanted:
                return at - started
        return None

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()  # the thread ends after its current request (timeout 5 s)
        if self._thread.is_alive():
            self._thread.join(timeout=30)


class Run:
    """One ``jenkins-bridge deploy``: exit code and times from the process start, in seconds."""

    def __init__(self, code: int, started: float, elapsed: float, by_record: float) -> None:
        self.code, self.started, self.elapsed, self.by_record = code, started, elapsed, by_record


def ours(descriptor: Path, image: str, cli: str = CLI) -> Run:
    """Deploy ``image``; ``by_record`` is the time to traffic switched as the record gives it:
    the wall time minus the record's duration plus its ``switched_after_seconds`` (so it also
    counts what the CLI does after the record: the history write, the lock, the exit)."""
    started = time.perf_counter()
    done = subprocess.run(
        [cli, "--output", "json", "deploy", str(descriptor), "--env", "bench", "--image", image],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    record = json.loads(done.stdout or "{}").get("data", {}).get("record", {})
    switched = record.get("switched_after_seconds")
    if switched is None:
        return Run(done.returncode, started, elapsed, elapsed)
    return Run(done.returncode, started, elapsed,
               elapsed - record["duration_seconds"] + switched)  # fmt: skip


def handwritten(
    network: str, proxy: str, image: str, name: str, old: str | None
) -> tuple[float, float]:
    """What a user would script with the docker CLI; returns (its start, seconds to the reload's
    return).

    Also records the app's own time to healthy in ``APP_READY`` (docker run -> healthy).
    """
    started = time.perf_counter()
    docker("run", "-d", "--init", "--name", name, "--network", network, "-e", "PORT=8080", image)
    ran = time.perf_counter()
    while docker("inspect", "-f", "{{.State.Health.Status}}", name) != "healthy":
        time.sleep(0.25)
    APP_READY.append(time.perf_counter() - ran)
    ip = docker("inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}',
                name)  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as conf:
        conf.write(PROXY_CONF.format(upstream=f"{ip}:8080"))
    docker("cp", conf.name, f"{proxy}:/etc/nginx/conf.d/default.conf")
    os.unlink(conf.name)
    docker("exec", proxy, "nginx", "-s", "reload")
    switched = time.perf_counter() - started
    if old:
        docker("rm", "-f", old)
    return started, switched


APP_READY: list[float] = []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cli", default=CLI, help="the jenkins-bridge to measure")
    parser.add_argument("--baseline", help="another jenkins-bridge (e.g. an older worktree's "
                        ".venv/bin/jenkins-bridge), deployed in turns with --cli")  # fmt: skip
    args = parser.parse_args()
    subprocess.run(["bash", str(ROOT / "scripts" / "services.sh"), "up"], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    suffix = uuid.uuid4().hex[:8]
    repository = f"jb-bench-{suffix}/app"
    name = f"deploy-{suffix}"
    owner = f"bench/{name}"
    folder = Path(tempfile.mkdtemp(prefix="jb-deploy-bench-"))
    (folder / "Dockerfile").write_text(APP_DOCKERFILE.read_text())
    images = {}
    for tag, healthy in (("v1", "yes"), ("v2", "yes"), ("v3", "no")):
        images[tag] = f"{repository}:{tag}"
        docker("build", "-q", "--network", "host", "--build-arg", f"VERSION={tag}",
               "--build-arg", f"HEALTHY={healthy}", "-t", images[tag], str(folder))  # fmt: skip
    listen_port, hand_port = free_port(), free_port()
    subnet, hand_subnet = free_subnet(), None
    descriptor = folder / "svc.yaml"
    descriptor.write_text(DESCRIPTOR.format(name=name, listen=f"127.0.0.1:{listen_port}",
                                            subnet=subnet, proxy=PROXY_IMAGE,
                                            timeout=HEALTH_TIMEOUT))  # fmt: skip
    hand_net, hand_proxy = f"jb-bench-hand-{suffix}", f"jb-bench-hand-{suffix}-proxy"
    clis = {"jenkins-bridge": args.cli, **({"baseline": args.baseline} if args.baseline else {})}
    seen: dict[str, list[float]] = {label: [] for label in clis}  # to switched, by the load
    by_record: dict[str, list[float]] = {label: [] for label in clis}
    to_exit: dict[str, list[float]] = {label: [] for label in clis}
    hand_seen: list[float] = []
    hand_runs: list[tuple[float, str]] = []
    hand_times: list[float] = []
    try:
        run = ours(descriptor, images["v1"], args.cli)
        assert run.code == 0, "the first deploy failed"
        hand_subnet = free_subnet()
        docker("network", "create", "--driver", "bridge", "--subnet", hand_subnet, "--opt",
               "com.docker.network.bridge.enable_ip_masquerade=false", hand_net)  # fmt: skip
        docker("run", "-d", "--name", hand_proxy, "--network", hand_net, "-p",
               f"127.0.0.1:{hand_port}:80", PROXY_IMAGE)  # fmt: skip
        old = None
        deployed = 0
        with Load(listen_port) as load, Load(hand_port) as hand_load:
            for index in range(args.repeat):
                for label, cli in clis.items():  # each in turn: the same minute, same engine
                    tag = "v2" if deployed % 2 == 0 else "v1"
                    deployed += 1
                    run = ours(descriptor, images[tag], cli)
                    assert run.code == 0, f"deploy {index} ({label}) failed"
                    switched = load.switched_after(run.started, tag)
                    assert switched is not None, f"the load never saw {tag} ({label})"
                    seen[label].append(switched)
                    by_record[label].append(run.by_record)
                    to_exit[label].append(run.elapsed)
                tag = "v2" if index % 2 == 0 else "v1"
                container = f"jb-bench-hand-{suffix}-{index}"
                started, reloaded = handwritten(hand_net, hand_proxy, images[tag], container, old)
                hand_times.append(reloaded)
                hand_runs.append((started, tag))  # its load sees the switch a little later
                old = container
            rollback = ours(descriptor, images["v3"], args.cli)
            assert rollback.code == 3, f"the failing version should exit 3, got {rollback.code}"
        for (started, tag), reloaded in zip(hand_runs, hand_times, strict=True):
            hand_seen.append(hand_load.switched_after(started, tag) or reloaded)
        app = statistics.median(APP_READY)
        hand_median = statistics.median(hand_seen)
        print(f"deploy (start -> traffic switched, as the load saw it), median of {args.repeat}:")
        for label in clis:
            median = statistics.median(seen[label])
            print(f"  {label + ' deploy':25} {median:6.2f} s (ratio {median / hand_median:.2f}x)")
        print(f"  docker CLI by hand        {hand_median:6.2f} s (reload returned after "
              f"{statistics.median(hand_times):.2f} s)")  # fmt: skip
        print(f"  app's own time to healthy {app:6.2f} s (docker run -> Docker says healthy)")
        for label in clis:
            overhead = statistics.median(
                [t - a for t, a in zip(seen[label], APP_READY, strict=True)]
            )
            verdict = "met" if overhead <= OVERHEAD_TARGET_S else "NOT met"
            print(f"  overhead of {label:13} {overhead:6.2f} s (target <= {OVERHEAD_TARGET_S} s: "
                  f"{verdict})")  # fmt: skip
        print("  the same from the record (wall - duration + switched_after: also counts the "
              "history write, the lock and the exit after the record):")  # fmt: skip
        for label in clis:
            median = statistics.median(by_record[label])
            overhead = statistics.median(
                [t - a for t, a in zip(by_record[label], APP_READY, strict=True)]
            )
            print(f"    {label:23} {median:6.2f} s, overhead {overhead:.2f} s")
        print("  to the CLI's exit (drain 1 s and the old version's stop included):")
        for label in clis:
            print(f"    {label:23} {statistics.median(to_exit[label]):6.2f} s")
        limit = HEALTH_TIMEOUT + ROLLBACK_MARGIN_S
        print(f"failed gate -> exit 3, previous still serving: {rollback.elapsed:.2f} s "
              f"(target <= health timeout {HEALTH_TIMEOUT} s + {ROLLBACK_MARGIN_S} s: "
              f"{'met' if rollback.elapsed <= limit else 'NOT met'})")  # fmt: skip
        print(f"requests: ours {load.ok} ok / {load.failed} failed; "
              f"by hand {hand_load.ok} ok / {hand_load.failed} failed "
              f"(target 0 failed: {'met' if load.failed == 0 else 'NOT met'})")  # fmt: skip
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        subprocess.run(["docker", "rm", "-f", hand_proxy,
                        *[f"jb-bench-hand-{suffix}-{i}" for i in range(args.repeat)]],
                       capture_output=True)  # fmt: skip
        subprocess.run(["docker", "network", "rm", hand_net], capture_output=True)
        label = f"label=dev.jenkins-bridge.service={owner}"
        ids = docker("ps", "-aq", "--filter", label).split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
        for kind in ("network", "volume"):
            ids = docker(kind, "ls", "-q", "--filter", label).split()
            if ids:
                subprocess.run(["docker", kind, "rm", *ids], capture_output=True)
        subprocess.run(["docker", "rmi", "-f", *images.values()], capture_output=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The canary proof's pieces, shared by tests/deploy/test_canary_live.py and
bench/canary_bench.py: four versions of the test app, a canary descriptor, and a loopback load
that records every answer (when, status, which version answered, how long it took).

v1 and v2 are healthy; v3 passes /healthz but answers 500 to exactly 20 % of requests; v4
answers every request 300 ms late (the descriptor's latencyP95Ms is 200).
"""

from __future__ import annotations

import http.client
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
APP_DOCKERFILE = ROOT / "tests" / "deploy" / "app" / "Dockerfile"
BASE_IMAGE = "jenkins-bridge-test/busybox:latest"
PROXY_IMAGE = "jenkins-bridge-test/nginx:debian"
TEAM = "jbt"
LATENCY_OBJECTIVE_MS = 200
# version -> build arguments
VERSIONS = {
    "v1": {"VERSION": "1"},
    "v2": {"VERSION": "2"},
    "v3": {"VERSION": "3", "ERROR_PERCENT": "20"},
    "v4": {"VERSION": "4", "DELAY_MS": "300"},
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
    # Loopback and the benchmark range only (the product refuses only what this lists).
    refusedSubnets: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]
    proxyImage: {proxy}
    healthTimeoutSeconds: 20
    drainSeconds: 1
    canary: {{steps: [10, 50, 100], intervalSeconds: {interval}, minRequests: {min_requests}}}
monitoring: {{slo: {{availability: 99.9, latencyP95Ms: {latency}}}}}
"""


def write_descriptor(
    path: Path, *, name: str, listen: str, subnet: str, interval: int = 2, min_requests: int = 10
) -> None:
    path.write_text(
        DESCRIPTOR.format(
            name=name,
            team=TEAM,
            listen=listen,
            subnet=subnet,
            proxy=PROXY_IMAGE,
            interval=interval,
            min_requests=min_requests,
            latency=LATENCY_OBJECTIVE_MS,
        )
    )


def build_versions(client: Any, context: Path) -> dict[str, str]:
    """The four versions, built from tests/deploy/app; version -> image reference."""
    repository = f"jb-test-canary-{uuid.uuid4().hex[:8]}/app"
    context.mkdir(parents=True, exist_ok=True)
    (context / "Dockerfile").write_text(APP_DOCKERFILE.read_text())
    built = {}
    for version, args in VERSIONS.items():
        reference = f"{repository}:{version}"
        client.images.build(
            path=str(context), tag=reference, buildargs=args, network_mode="host", rm=True
        )
        built[version] = reference
    return built


def free_subnet(client: Any) -> str:
    """A /24 of 198.19.200.0-198.19.219.0 (this proof's own part of the benchmark range) that
    no network on the engine uses."""
    used = {
        config.get("Subnet")
        for network in client.networks.list()
        for config in (network.attrs.get("IPAM") or {}).get("Config") or []
    }
    candidates = [f"198.19.{b}.0/24" for b in range(200, 220)]
    random.shuffle(candidates)
    return next(c for c in candidates if c not in used)


@dataclass(frozen=True, slots=True)
class Answer:
    at: float  # when the request was sent (time.time())
    status: int  # 0: no answer
    body: str
    seconds: float

    @property
    def version(self) -> str:
        """Which version answered ("3" for "version 3 failed"), "" for none."""
        words = self.body.split()
        return words[1] if len(words) >= 2 and words[0] == "version" else ""

    def bad(self, slow_seconds: float) -> bool:
        return self.status != 200 or self.seconds > slow_seconds


@dataclass
class RecordingLoad:
    """GETs of / to a loopback address from ``workers`` sequential clients, every answer
    recorded; bounded in count, time and rate (``pause`` between a client's requests)."""

    listen: str
    max_requests: int = 40_000
    max_seconds: float = 300.0
    pause: float = 0.005
    workers: int = 1
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        host, _, port = self.listen.rpartition(":")
        assert host.startswith("127."), "load goes to loopback only"
        self.host, self.port = host, int(port)
        self._threads = [
            threading.Thread(target=self._run, daemon=True) for _ in range(self.workers)
        ]

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            if len(self.answers) >= self.max_requests:
                break
            at, started = time.time(), time.monotonic()
            try:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=5)
                connection.request("GET", "/")
                response = connection.getresponse()
                body = response.read().decode("utf-8", "replace").strip()
                connection.close()
                status = response.status
            except OSError as exc:
                status, body = 0, repr(exc)
            self.answers.append(Answer(at, status, body, time.monotonic() - started))  # atomic
            time.sleep(self.pause)

    def between(self, start: float, end: float) -> list[Answer]:
        return sorted((a for a in list(self.answers) if start <= a.at < end), key=lambda a: a.at)

    @contextmanager
    def running(self) -> Iterator[RecordingLoad]:
        for thread in self._threads:
            thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            for thread in self._threads:
                thread.join(timeout=30)


@dataclass(frozen=True)
class Exposure:
    """What a bad version did to the requests of a window."""

    requests: int
    bad: int
    bad_versions: frozenset[str]  # which versions answered the bad ones

    @property
    def fraction(self) -> float:
        return self.bad / self.requests if self.requests else 0.0

    @classmethod
    def of(cls, answers: list[Answer], slow_seconds: float) -> Exposure:
        bad = [a for a in answers if a.bad(slow_seconds)]
        return cls(len(answers), len(bad), frozenset(a.version for a in bad))

"""The Docker host's canary steps against a fake proxy: each step's split is written, judged
from that step's log, and any end but a passed last step leaves all traffic on the stable
version."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge.containers.runtime import ContainerInfo
from jenkins_bridge.deploy.docker_host.canary import run_canary
from jenkins_bridge.deploy.proxy import split_of, upstream_of
from jenkins_bridge.descriptor.loading import build_service

STABLE_IP, CANARY_IP = "198.19.200.2", "198.19.200.3"
STABLE, CANARY = f"{STABLE_IP}:8080", f"{CANARY_IP}:8080"


def _service(canary: dict[str, Any]) -> Any:
    data = {
        "apiVersion": "jenkins-bridge/v1",
        "kind": "Service",
        "metadata": {"name": "api", "team": "shop"},
        "source": {"repo": "https://git.example.com/shop/api.git"},
        "image": {"repository": "registry.example.com/shop/api"},
        "deploy": [
            {
                "environment": "s",
                "strategy": "canary",
                "listen": "127.0.0.1:18080",
                "canary": {"intervalSeconds": 5, "minRequests": 10, "maxBurnRate": 2, **canary},
            }
        ],
        "monitoring": {"slo": {"availability": 99.0, "latencyP95Ms": 200}},
    }
    return build_service(data, Path("api.yaml"), "api.yaml")


@dataclass
class FakeRuntime:
    """The proxy container: log files per path, written by ``traffic`` as time passes."""

    files: dict[str, str] = field(default_factory=dict)

    def get_file(self, name: str, path: str) -> bytes | None:
        text = self.files.get(path)
        return None if text is None else text.encode()

    def exec(self, name: str, argv: list[str]) -> tuple[int, str]:
        if argv[0] == "date":
            return 0, "1000\n"
        return 0, ""


@dataclass
class FakeNames:
    proxy: str = "proxy"
    network: str = "net"


class FakeSession:
    def __init__(self, canary: dict[str, Any]) -> None:
        service = _service(canary)
        self.target = type("T", (), {"service": service, "stage": service.deploy[0]})()
        self.names = FakeNames()
        self.runtime = FakeRuntime()
        self.configs: list[str] = []
        self.lines: list[str] = []

    def log(self, line: str) -> None:
        self.lines.append(line)

    def write_proxy_config(self, config: str, generation: int) -> None:
        self.configs.append(config)

    def switch(self, upstream: str | None, generation: int) -> None:
        self.configs.append(
            f"server {{\n    location / {{\n        proxy_pass http://{upstream};\n"
        )


class Clock:
    """Time that moves only when the canary sleeps; each sleep adds requests to the current
    step's log (``per_second`` to the canary, ten times as many to the stable version)."""

    def __init__(self, session: FakeSession, answers: list[tuple[int, float]]) -> None:
        self.now = 1000.0
        self.session = session
        self.answers = answers  # (status, seconds) the canary gives, cycled
        self.sleeps: list[float] = []
        self.interrupt_at: int | None = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.interrupt_at is not None and len(self.sleeps) == self.interrupt_at:
            raise KeyboardInterrupt("SIGTERM")
        split = split_of(self.session.configs[-1])
        assert split is not None
        lines = []
        for i, (status, took) in enumerate(self.answers):
            at = self.now + seconds * i / max(1, len(self.answers))
            lines.append(f"{at:.3f}|{CANARY}|{status}|{took:.3f}|{status}")
            lines.append(f"{at:.3f}|{STABLE}|200|0.002|200")
        self.now += seconds
        log = self.session.runtime.files.get(split.log_path, "")
        self.session.runtime.files[split.log_path] = log + "\n".join(lines) + "\n"


def _app(name: str, ip: str) -> ContainerInfo:
    return ContainerInfo(
        id=name, name=name, status="running", health="healthy", labels={},
        addresses={"net": ip}, restart_count=0, started_at="", image=None, published=(),
        image_id="", exit_code=0,
    )  # fmt: skip


def _run(session: FakeSession, clock: Clock) -> Any:
    return run_canary(
        session,  # type: ignore[arg-type]
        7,
        _app("stable", STABLE_IP),
        _app("canary", CANARY_IP),
        sleep=clock.sleep,
        clock=clock,
    )


def test_a_good_canary_goes_through_every_step_and_keeps_its_share() -> None:
    session = FakeSession({"steps": [10, 50, 100]})
    clock = Clock(session, [(200, 0.01)] * 20)
    run = _run(session, clock)
    assert run.passed and run.detected_after_seconds is None
    splits = [split_of(c) for c in session.configs]
    assert [(s.percent, s.step, s.steps) for s in splits if s] == [
        (10, 1, 3),
        (50, 2, 3),
        (100, 3, 3),
    ]
    assert len({s.log_path for s in splits if s}) == 3  # each step its own log
    assert split_of(session.configs[-1]) is not None  # the caller promotes from 100 %
    assert clock.sleeps == [5, 5, 5]
    assert [r.verdict.canary.requests for r in run.results] == [20, 20, 20]
    assert run.as_json()["results"][0]["outcome"] == "pass"


def test_a_failing_step_ends_the_run_with_all_traffic_on_the_stable_version() -> None:
    session = FakeSession({"steps": [10, 50, 100]})
    clock = Clock(session, [(500, 0.01)] + [(200, 0.01)] * 19)  # 5 % > 2 % (2 x 1 %)
    run = _run(session, clock)
    assert not run.passed
    assert [r.verdict.outcome for r in run.results] == ["fail"]
    assert upstream_of(session.configs[-1]) == STABLE and split_of(session.configs[-1]) is None
    assert run.detected_after_seconds == 5.0
    assert "error ratio 5 % (1 of 20 requests answered 5xx) exceeds 2 %" in run.failure()


def test_a_slow_canary_fails_on_p95() -> None:
    session = FakeSession({"steps": [50, 100]})
    run = _run(session, Clock(session, [(200, 0.3)] * 20))
    assert run.failed_step is not None and run.failed_step.percent == 50
    assert "p95 latency 300 ms exceeds 200 ms (stable: 2 ms)" in run.failure()


def test_too_few_requests_wait_once_more_then_fail_as_inconclusive() -> None:
    session = FakeSession({"steps": [10, 100], "minRequests": 15})
    clock = Clock(session, [(200, 0.01)] * 6)  # 6 per interval: 12 after the extra wait
    run = _run(session, clock)
    assert clock.sleeps == [5, 5]
    (result,) = run.results
    assert result.verdict.outcome == "inconclusive" and not run.passed
    assert run.failure().startswith("canary step 1/2 (10 %) failed: inconclusive after 10 s: ")
    assert "the canary answered 12 requests, fewer than the 15" in run.failure()
    assert upstream_of(session.configs[-1]) == STABLE


def test_an_extra_wait_that_brings_enough_requests_is_judged() -> None:
    session = FakeSession({"steps": [100], "minRequests": 15})
    run = _run(session, Clock(session, [(200, 0.01)] * 10))
    assert run.passed and run.results[0].held_seconds == 10


def test_an_interrupt_puts_all_traffic_back_before_it_goes_on() -> None:
    session = FakeSession({"steps": [10, 50, 100]})
    clock = Clock(session, [(200, 0.01)] * 20)
    clock.interrupt_at = 2
    with pytest.raises(KeyboardInterrupt):
        _run(session, clock)
    assert split_of(session.configs[-2]) is not None
    assert upstream_of(session.configs[-1]) == STABLE and split_of(session.configs[-1]) is None


def test_strategy_canary_without_a_threshold_is_refused_before_any_change(tmp_path: Path) -> None:
    from jenkins_bridge.deploy.errors import DeployError
    from jenkins_bridge.deploy.options import CommandOptions, DeployOptions
    from jenkins_bridge.deploy.targets import platform_for
    from jenkins_bridge.descriptor.loading import load_service

    path = tmp_path / "api.yaml"
    path.write_text(
        "apiVersion: jenkins-bridge/v1\nkind: Service\nmetadata: {name: api, team: shop}\n"
        "source: {repo: https://git.example.com/shop/api.git}\n"
        "image: {repository: registry.example.com/shop/api}\n"
        "deploy: [{environment: s, strategy: blue-green, listen: 127.0.0.1:18080,\n"
        "          host: 'unix:///nonexistent/docker.sock'}]\n"
    )
    platform = platform_for(load_service(path), "s", CommandOptions())
    with pytest.raises(DeployError, match="no threshold for the canary's error ratio"):
        platform.deploy("img", {}, print, DeployOptions(strategy="canary"))

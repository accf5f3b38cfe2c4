"""The health gate runs the container's own healthcheck command instead of waiting for
Docker's first interval, and only a pass of that command counts."""

from __future__ import annotations

import threading
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from jenkins_bridge.containers.runtime import ContainerInfo
from jenkins_bridge.deploy import health
from jenkins_bridge.deploy.docker_host import session as session_module
from jenkins_bridge.deploy.docker_host.session import Session

STARTING = ContainerInfo(
    id="c1",
    name="app-1",
    image_id="sha256:1",
    labels={},
    status="running",
    health="starting",  # Docker's first check has not run yet (and never will here)
    addresses={"net": "198.18.7.2"},
    started_at="",
    restart_count=0,
    exit_code=0,
    health_test=("CMD-SHELL", "wget -q -O- http://127.0.0.1:8080/healthz"),
)


class Engine:
    """An app container Docker still calls "starting"; its own check exits ``code``."""

    def __init__(self, code: int, info: ContainerInfo = STARTING) -> None:
        self.code = code
        self.info = info
        self.started: list[list[str]] = []
        self.probes = 0

    def inspect(self, name: str) -> ContainerInfo:
        return self.info

    def exec_detached(self, name: str, argv: list[str]) -> str:
        self.started.append(list(argv))
        return f"exec-{len(self.started)}"

    def exec_exit_code(self, exec_id: str) -> int | None:
        return self.code

    def exec(self, name: str, argv: list[str]) -> tuple[int, str]:
        self.probes += 1
        return 0, "HTTP/1.0 200 OK\r\n\r\nok\n"


def gate(engine: Engine, timeout: float = 0.5) -> Any:
    session: Any = object.__new__(Session)
    session.runtime = engine
    session.names = SimpleNamespace(network="net", proxy="proxy")
    check = SimpleNamespace(path="/healthz", timeout_seconds=2)
    session.target = SimpleNamespace(
        health_timeout=timeout,
        service=SimpleNamespace(runtime=SimpleNamespace(port=8080, healthcheck=check)),
    )
    return session


def test_a_passing_own_check_and_probe_make_the_gate_healthy_before_docker_says_so(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(session_module, "POLL_SECONDS", 0.001)
    engine = Engine(code=0)
    verdict = gate(engine).wait_healthy("app-1", with_probe=True)
    assert verdict.state == health.HEALTHY
    assert engine.started[0] == ["/bin/sh", "-c", "wget -q -O- http://127.0.0.1:8080/healthz"]
    assert engine.probes == 1  # the HTTP probe still has its say
    assert len(engine.started) == 1  # one round: the probe asked while the check ran


def test_a_failing_own_check_decides_nothing_and_the_gate_times_out(monkeypatch: Any) -> None:
    monkeypatch.setattr(session_module, "POLL_SECONDS", 0.001)
    engine = Engine(code=1)
    verdict = gate(engine, timeout=0.05).wait_healthy("app-1", with_probe=True)
    assert verdict.state == health.FAILED
    assert "Docker health still starting" in verdict.reason
    assert len(engine.started) > 1  # retried, like Docker's next interval would
    # One early probe while the first check ran, and no more: its 200 counted for nothing.
    assert engine.probes == 1


def test_no_healthcheck_command_means_waiting_for_docker(monkeypatch: Any) -> None:
    monkeypatch.setattr(session_module, "POLL_SECONDS", 0.001)
    engine = Engine(code=0, info=replace(STARTING, health_test=("NONE",)))
    verdict = gate(engine, timeout=0.05).wait_healthy("app-1", with_probe=True)
    assert verdict.state == health.FAILED
    assert engine.started == []


def test_docker_exec_form_runs_as_given() -> None:
    assert health.test_argv(("CMD", "curl", "-f", "http://x/")) == ("curl", "-f", "http://x/")
    assert health.test_argv(("CMD-SHELL", "true")) == ("/bin/sh", "-c", "true")
    assert health.test_argv(("NONE",)) is None
    assert health.test_argv(()) is None


class SlowToStartEngine(Engine):
    """Starting the check takes the engine a while; it notes whether the probe asked
    meanwhile (it waits for that, a few seconds at most)."""

    def __init__(self) -> None:
        super().__init__(code=0)
        self.probe_asked = threading.Event()
        self.probe_during_start: bool | None = None

    def exec_detached(self, name: str, argv: list[str]) -> str:
        if self.probe_during_start is None:
            self.probe_during_start = self.probe_asked.wait(timeout=5)
        return super().exec_detached(name, argv)

    def exec(self, name: str, argv: list[str]) -> tuple[int, str]:
        self.probe_asked.set()
        return super().exec(name, argv)


def test_the_early_probe_asks_while_the_engine_starts_the_first_check(monkeypatch: Any) -> None:
    monkeypatch.setattr(session_module, "POLL_SECONDS", 0.001)
    engine = SlowToStartEngine()
    verdict = gate(engine).wait_healthy("app-1", with_probe=True)
    assert verdict.state == health.HEALTHY
    assert engine.probe_during_start is True  # not one after the other
    assert (engine.probes, len(engine.started)) == (1, 1)


class CheckEndsAfterTheProbe(Engine):
    """The first check still runs when the early probe answers, and passes just after."""

    def __init__(self) -> None:
        super().__init__(code=0)
        self.asked = 0

    def exec_exit_code(self, exec_id: str) -> int | None:
        self.asked += 1
        return None if self.asked == 1 else 0


def test_the_early_answer_counts_when_its_check_passes_just_after(monkeypatch: Any) -> None:
    monkeypatch.setattr(session_module, "SETTLE_SECONDS", 0.001)
    engine = CheckEndsAfterTheProbe()
    verdict = gate(engine).wait_healthy("app-1", with_probe=True)
    assert verdict.state == health.HEALTHY
    assert (engine.probes, len(engine.started)) == (1, 1)  # not asked again


def test_an_early_answer_older_than_a_poll_is_asked_again(monkeypatch: Any) -> None:
    monkeypatch.setattr(session_module, "SETTLE_SECONDS", 0.001)
    monkeypatch.setattr(session_module, "POLL_SECONDS", 0.0)
    engine = CheckEndsAfterTheProbe()
    verdict = gate(engine).wait_healthy("app-1", with_probe=True)
    assert verdict.state == health.HEALTHY
    assert engine.probes == 2

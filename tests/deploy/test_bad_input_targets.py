"""Bad input on the orchestrator targets, through the CLI, with no engine or cluster needed: a
swarm target on an engine that is not a manager (a recorded Docker API answer from a loopback
server), a Kubernetes context that can't be reached, replicas < 1, a secret with no bound
value. Each is one line with the next step, exit 1, and no write reached the target."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from .samples import SERVICE_HEAD, unreachable_kubeconfig

pytestmark = pytest.mark.deploy

DESCRIPTOR = (
    SERVICE_HEAD
    + """\
runtime:
  port: 18090
  secrets: [{{env: DB_PASSWORD, credentialsId: orders-db}}]
deploy:
  - environment: prod
    target: {target}
    replicas: {replicas}
    network: host
    updateOrder: stop-first
    namespace: shop
    secretName: orders-secrets
"""
)
# What an engine outside any swarm answers (GET /info, trimmed to what is read).
NOT_A_MANAGER = {"Swarm": {"LocalNodeState": "inactive", "ControlAvailable": False}}


class RecordedEngine(BaseHTTPRequestHandler):
    """A Docker Engine API that answers /version and /info and records every other call."""

    calls: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        if self.path.endswith("/version"):
            self._json({"ApiVersion": "1.43", "Version": "24.0.0", "MinAPIVersion": "1.12"})
        elif self.path.endswith("/info"):
            self._json(NOT_A_MANAGER)
        else:
            self._refuse()

    def do_POST(self) -> None:
        self._refuse()

    do_DELETE = do_PUT = do_POST

    def _refuse(self) -> None:
        self.calls.append(f"{self.command} {self.path}")
        self._json({"message": "not recorded"}, 500)

    def _json(self, data: Any, status: int = 200) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def worker_engine() -> Iterator[str]:
    RecordedEngine.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordedEngine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _descriptor(tmp_path: Path, target: str, replicas: int = 1) -> Path:
    path = tmp_path / "orders.yaml"
    path.write_text(DESCRIPTOR.format(name="orders", team="shop", target=target, replicas=replicas))
    return path


def _one_line(result: Any) -> str:
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    return str(line)


def test_a_swarm_target_on_an_engine_that_is_no_manager(
    cli: Any, tmp_path: Path, worker_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", worker_engine)
    monkeypatch.setenv("DB_PASSWORD", "s3cret")
    path = _descriptor(tmp_path, "swarm")
    line = _one_line(cli("deploy", str(path), "--env", "prod", "--image", "img:1"))
    assert "is not a swarm manager (swarm state: inactive)" in line
    assert "nothing was changed" in line and "scripts/services.sh up" in line
    assert RecordedEngine.calls == []  # no write, no other read


def test_a_kubernetes_context_that_cannot_be_reached(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("kubernetes")
    monkeypatch.setenv("KUBECONFIG", str(unreachable_kubeconfig(tmp_path)))
    path = _descriptor(tmp_path, "kubernetes")
    for command in (["deploy", "--image", "img:1"], ["status"], ["history"], ["rollback"]):
        line = _one_line(cli(command[0], str(path), "--env", "prod", *command[1:]))
        assert "cannot be reached" in line and "nothing was changed" in line
        assert "check KUBECONFIG" in line


@pytest.mark.parametrize("target", ["swarm", "kubernetes"])
def test_replicas_below_one(cli: Any, tmp_path: Path, target: str) -> None:
    path = _descriptor(tmp_path, target, replicas=0)
    line = _one_line(cli("deploy", str(path), "--env", "prod", "--image", "img:1"))
    assert line.startswith(f"{path}:") and "replicas" in line


def test_a_swarm_secret_with_no_bound_value(
    cli: Any, tmp_path: Path, worker_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", worker_engine)
    monkeypatch.delenv("DB_PASSWORD", raising=False)
    path = _descriptor(tmp_path, "swarm")
    line = _one_line(cli("deploy", str(path), "--env", "prod", "--image", "img:1"))
    assert "DB_PASSWORD" in line and "withCredentials" in line
    assert RecordedEngine.calls == []


def test_swarm_logs_on_an_engine_that_is_no_manager(
    cli: Any, tmp_path: Path, worker_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", worker_engine)
    path = _descriptor(tmp_path, "swarm")
    line = _one_line(cli("logs", str(path), "--env", "prod"))
    assert "is not a swarm manager" in line

"""The docker CLI adapter without an engine: its command lines, the credentials it writes, the
environment it runs in, and which client ``connect_engine`` picks."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jenkins_bridge.containers.build import IMAGE_CLIENT_VARIABLE, connect_engine
from jenkins_bridge.containers.docker_cli import (
    DockerCli,
    build_command,
    cli_environment,
    push_command,
    registry_config,
)
from jenkins_bridge.containers.engine import BuildRequest, Engine, RegistryCredentials
from jenkins_bridge.containers.engine_socket import (
    EngineSocketError,
    parse_response,
    unix_socket_path,
)
from jenkins_bridge.containers.errors import DaemonUnreachable
from jenkins_bridge.errors import UsageError


def _request(**overrides: object) -> BuildRequest:
    values: dict[str, object] = {
        "context_dir": Path("/src/app"),
        "dockerfile": Path("/src/app/Dockerfile"),
        "repository": "127.0.0.1:5000/team/app",
        "tags": ("0123456789ab", "main-7"),
        "labels": {"org.opencontainers.image.title": "app"},
    }
    values.update(overrides)
    return BuildRequest(**values)  # type: ignore[arg-type]


def test_build_command_tags_every_reference_in_one_call() -> None:
    command = build_command(
        "docker",
        _request(),
        dockerfile=Path("/tmp/x/Dockerfile"),
        label_flags={},
        iidfile=Path("/tmp/x/id"),
    )
    assert command == [
        "docker", "build", "--network", "host", "--force-rm", "--iidfile", "/tmp/x/id",
        "-f", "/tmp/x/Dockerfile",
        "-t", "127.0.0.1:5000/team/app:0123456789ab",
        "-t", "127.0.0.1:5000/team/app:main-7",
        "/src/app",
    ]  # fmt: skip


def test_build_command_maps_every_option() -> None:
    request = _request(
        build_args={"GREETING": "hi there", "EMPTY": ""},
        target="runtime",
        cache_from=("a:1", "b:2"),
        no_cache=True,
    )
    command = build_command(
        "/usr/bin/docker",
        request,
        dockerfile=request.dockerfile,
        label_flags={"k": "v=w"},
        iidfile=Path("/t/id"),
    )
    joined = " ".join(command)
    assert "--build-arg GREETING=hi there --build-arg EMPTY=" in joined
    assert "--label k=v=w" in joined
    assert "--target runtime" in joined
    assert "--cache-from a:1 --cache-from b:2" in joined
    assert "--no-cache" in command
    assert command[0] == "/usr/bin/docker" and command[-1] == "/src/app"
    assert push_command("docker", "r:t") == ["docker", "push", "r:t"]


def test_registry_config_holds_one_registry_and_no_plain_password() -> None:
    credentials = RegistryCredentials("ci", "s3cret:x")
    config = json.loads(registry_config("127.0.0.1:5001", credentials))
    assert list(config["auths"]) == ["127.0.0.1:5001"]
    token = config["auths"]["127.0.0.1:5001"]["auth"]
    assert base64.b64decode(token).decode() == "ci:s3cret:x"
    assert "s3cret" not in registry_config("127.0.0.1:5001", credentials)
    hub = json.loads(registry_config("docker.io", credentials))
    assert list(hub["auths"]) == ["https://index.docker.io/v1/"]


def test_the_cli_talks_to_docker_host_or_the_default_socket() -> None:
    assert cli_environment({"PATH": "/bin"})["DOCKER_HOST"] == "unix:///var/run/docker.sock"
    env = cli_environment({"DOCKER_HOST": "ssh://ci@build-host", "DOCKER_CONTEXT": "other"})
    assert env["DOCKER_HOST"] == "ssh://ci@build-host" and "DOCKER_CONTEXT" not in env


def _fake_docker(folder: Path) -> str:
    folder.mkdir()
    docker = folder / "docker"
    docker.write_text("#!/bin/sh\nexit 0\n")
    docker.chmod(docker.stat().st_mode | stat.S_IXUSR)
    return str(folder)


def test_connect_engine_prefers_the_cli_and_can_be_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_docker = _fake_docker(tmp_path / "bin")
    sdk = object()
    monkeypatch.setattr(Engine, "connect", classmethod(lambda cls, environ=None: sdk))

    engine = connect_engine({"PATH": with_docker})
    assert isinstance(engine, DockerCli) and engine.docker == os.path.join(with_docker, "docker")
    assert connect_engine({"PATH": with_docker, IMAGE_CLIENT_VARIABLE: "sdk"}) is sdk
    assert connect_engine({"PATH": str(tmp_path / "empty")}) is sdk  # no CLI: the SDK
    assert isinstance(
        connect_engine({"PATH": with_docker, IMAGE_CLIENT_VARIABLE: "CLI"}), DockerCli
    )
    with pytest.raises(UsageError, match="no docker CLI on PATH"):
        connect_engine({"PATH": str(tmp_path / "empty"), IMAGE_CLIENT_VARIABLE: "cli"})
    with pytest.raises(UsageError, match="is not one of auto, cli, sdk"):
        connect_engine({"PATH": with_docker, IMAGE_CLIENT_VARIABLE: "podman"})


# -- labels over the engine's unix socket ----------------------------------------------------


class _FakeEngine:
    """A unix socket answering every request with one canned HTTP/1.0 response; the request
    lines it got are kept."""

    def __init__(self, path: Path, response: bytes) -> None:
        self.requests: list[str] = []
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        self._listener.listen(4)
        self._response = response
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                self.requests.append(request.split(b"\r\n", 1)[0].decode())
                connection.sendall(self._response)

    def close(self) -> None:
        self._listener.close()


def _recording_docker(folder: Path) -> tuple[str, Path]:
    """A docker CLI that records that it ran and fails like an unreachable engine."""
    folder.mkdir()
    ran = folder / "ran"
    docker = folder / "docker"
    docker.write_text(
        f'#!/bin/sh\necho "$@" >> {ran}\n'
        'echo "Cannot connect to the Docker daemon at unix:///x. Is the docker daemon '
        'running?" >&2\nexit 1\n'
    )
    docker.chmod(docker.stat().st_mode | stat.S_IXUSR)
    return str(docker), ran


def _http(status: str, body: bytes) -> bytes:
    return (
        f"HTTP/1.0 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A folder with a short path: a unix socket's path is limited to 107 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="jb-sock-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_labels_are_read_on_the_unix_socket_without_starting_the_cli(short_tmp: Path) -> None:
    body = json.dumps({"Id": "sha256:ab", "Config": {"Labels": {"a": "1", "b": "two"}}})
    engine = _FakeEngine(short_tmp / "engine.sock", _http("200 OK", body.encode()))
    docker, ran = _recording_docker(short_tmp / "bin")
    try:
        cli = DockerCli(docker, {"DOCKER_HOST": f"unix://{short_tmp / 'engine.sock'}"})
        assert cli.image_labels("127.0.0.1:5000/team/app:main-7") == {"a": "1", "b": "two"}
    finally:
        engine.close()
    assert engine.requests == ["GET /images/127.0.0.1:5000/team/app:main-7/json HTTP/1.0"]
    assert not ran.exists()


def test_an_image_without_labels_has_none(short_tmp: Path) -> None:
    body = json.dumps({"Id": "sha256:ab", "Config": {"Labels": None}}).encode()
    engine = _FakeEngine(short_tmp / "engine.sock", _http("200 OK", body))
    try:
        cli = DockerCli("docker", {"DOCKER_HOST": f"unix://{short_tmp / 'engine.sock'}"})
        assert cli.image_labels("app:1") == {}
    finally:
        engine.close()


@pytest.mark.parametrize(
    "response",
    [
        _http("404 Not Found", b'{"message":"No such image: app:1"}'),
        _http("500 Internal Server Error", b'{"message":"x"}'),
        b"garbage",
        b"",
    ],
)
def test_any_other_answer_leaves_it_to_the_cli(short_tmp: Path, response: bytes) -> None:
    engine = _FakeEngine(short_tmp / "engine.sock", response)
    docker, ran = _recording_docker(short_tmp / "bin")
    try:
        cli = DockerCli(docker, {"DOCKER_HOST": f"unix://{short_tmp / 'engine.sock'}"})
        with pytest.raises(DaemonUnreachable):  # what the (fake) CLI said
            cli.image_labels("app:1")
    finally:
        engine.close()
    assert ran.read_text().startswith("image inspect")


@pytest.mark.parametrize("host", ["unix:///nonexistent/docker.sock", "tcp://127.0.0.1:9"])
def test_no_socket_or_another_scheme_uses_the_cli(short_tmp: Path, host: str) -> None:
    docker, ran = _recording_docker(short_tmp / "bin")
    with pytest.raises(DaemonUnreachable):
        DockerCli(docker, {"DOCKER_HOST": host}).image_labels("app:1")
    assert ran.read_text().startswith("image inspect")


def test_parse_response() -> None:
    assert parse_response(b"HTTP/1.0 200 OK\r\nA: b\r\n\r\n{}") == (200, b"{}")
    assert parse_response(b"HTTP/1.1 404 Not Found\r\n\r\n") == (404, b"")
    for raw in (b"", b"HTTP/1.0 200 OK\r\n", b"SSH-2.0\r\n\r\n", b"HTTP/1.0 abc\r\n\r\n"):
        with pytest.raises(EngineSocketError):
            parse_response(raw)
    assert unix_socket_path("unix:///var/run/docker.sock") == "/var/run/docker.sock"
    assert unix_socket_path("tcp://127.0.0.1:2375") is None
    assert unix_socket_path("unix://") is None


# -- a killed CLI call leaves no child ------------------------------------------------------


def test_a_cli_child_dies_when_we_are_killed(tmp_path: Path) -> None:
    """SIGKILL cannot be passed on: the docker child must not outlive us (PR_SET_PDEATHSIG)."""
    pidfile = tmp_path / "child.pid"
    docker = tmp_path / "docker"
    docker.write_text(f"#!/bin/sh\necho $$ > {pidfile}\nexec sleep 600\n")
    docker.chmod(docker.stat().st_mode | stat.S_IXUSR)
    script = (
        "from jenkins_bridge.containers.docker_cli import DockerCli\n"
        f"DockerCli({str(docker)!r}, {{'DOCKER_HOST': 'tcp://127.0.0.1:9'}}).image_labels('x')\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    child = 0
    try:
        deadline = time.monotonic() + 30
        while not pidfile.exists() or not pidfile.read_text().strip():
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.02)
        child = int(pidfile.read_text())
        process.kill()
        process.wait()
        while _alive(child):
            assert time.monotonic() < deadline + 30, f"pid {child} outlived its parent"
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if child and _alive(child):
            os.kill(child, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """``pid`` runs (a zombie waiting for its new parent to reap it has ended)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat_line.rpartition(")")[2].split()[0] != "Z"

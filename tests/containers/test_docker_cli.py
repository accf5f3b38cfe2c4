"""The docker CLI adapter without an engine: its command lines, the credentials it writes, the
environment it runs in, and which client ``connect_engine`` picks."""

from __future__ import annotations

import base64
import json
import os
import stat
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

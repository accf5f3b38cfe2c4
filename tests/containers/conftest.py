"""Fixtures for the container layer: the real engine and registries from scripts/services.sh."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES_SCRIPT = ROOT / "scripts" / "services.sh"
STATE_DIR = Path(os.environ.get("JB_STATE_DIR", "/tmp/jenkins-bridge-services"))
PLAIN_REGISTRY = "127.0.0.1:5000"
BASE_IMAGE = "jenkins-bridge-test/busybox:latest"


@dataclass(frozen=True)
class Services:
    plain_registry: str
    auth_registry: str
    user: str
    password: str


def _read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


@pytest.fixture(scope="session")
def services() -> Services:
    """Starts (or finds) the engine and both registries; a missing engine fails the test."""
    if os.environ.get("JB_SKIP_DOCKER") == "1":
        pytest.skip("JB_SKIP_DOCKER=1: container tests need the Docker engine and registries")
    completed = subprocess.run(
        ["bash", str(SERVICES_SCRIPT), "up"], capture_output=True, text=True, timeout=600
    )
    if completed.returncode != 0:
        pytest.fail(
            f"scripts/services.sh up failed ({completed.returncode}):\n"
            f"{completed.stdout}\n{completed.stderr}"
        )
    auth = _read_env_file(STATE_DIR / "registry-auth.env")
    return Services(
        plain_registry=PLAIN_REGISTRY,
        auth_registry=auth["REGISTRY_ADDR"],
        user=auth["REGISTRY_USER"],
        password=auth["REGISTRY_PASSWORD"],
    )


@pytest.fixture(scope="session")
def docker_client(services: Services) -> Iterator[Any]:
    import docker

    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture
def repositories(docker_client: Any) -> Iterator[list[str]]:
    """Repositories a test creates images in; every image in them is removed afterwards."""
    created: list[str] = []
    yield created
    for repository in created:
        for image in docker_client.images.list(name=repository):
            for tag in image.tags:
                docker_client.images.remove(tag, force=True, noprune=False)


def unique_repository(registry: str, repositories: list[str]) -> str:
    repository = f"{registry}/jb-test/app-{uuid.uuid4().hex[:10]}"
    repositories.append(repository)
    return repository


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No Jenkins/registry variables from the caller, and an empty docker config."""
    for name in (
        "GIT_COMMIT",
        "BRANCH_NAME",
        "BUILD_NUMBER",
        "BUILD_URL",
        "SOURCE_DATE_EPOCH",
        "REGISTRY_USER",
        "REGISTRY_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    return monkeypatch

"""Fixtures for provisioning tests: generated descriptors and an emulator per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LIBRARY_REPO

from jenkins_bridge.render.ownership import MANAGED_MARKER
from jenkins_bridge.testing import JenkinsEmulator

__all__ = ["LIBRARY_REPO"]

USER, TOKEN = "admin", "token123"


@pytest.fixture(autouse=True)
def _library_configured(library_repo: str) -> str:
    """Provisioning needs the platform's library repository configured."""
    return library_repo


def write_services(root: Path, teams: int, per_team: int, *, prefix: str = "team") -> Path:
    """``teams * per_team`` minimal descriptors under ``root``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for t in range(teams):
        for s in range(per_team):
            write_service(root, f"{prefix}-{t:03d}", f"svc-{s:04d}")
    return root


def write_service(root: Path, team: str, name: str, *, branch: str = "main", **extra: str) -> Path:
    lines = [
        "apiVersion: jenkins-bridge/v1",
        "kind: Service",
        f"metadata: {{name: {name}, team: {team}}}",
        f"source: {{repo: 'https://git.example.com/{team}/{name}.git', branch: {branch}}}",
    ]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    path = root / team / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def legacy_ownership_line(sha256: str, source: str) -> str:
    """The line versions before per-item ownership wrote, as live controllers may still hold."""
    return f"{MANAGED_MARKER} sha256={sha256} source={source}"


@pytest.fixture
def emulator() -> Iterator[JenkinsEmulator]:
    with JenkinsEmulator(users={USER: TOKEN}) as emu:
        yield emu


@pytest.fixture
def jenkins_env(emulator: JenkinsEmulator, monkeypatch: pytest.MonkeyPatch) -> JenkinsEmulator:
    monkeypatch.setenv("JENKINS_URL", emulator.url)
    monkeypatch.setenv("JENKINS_USER", USER)
    monkeypatch.setenv("JENKINS_TOKEN", TOKEN)
    monkeypatch.delenv("JENKINS_BRIDGE_CONFIG", raising=False)
    return emulator

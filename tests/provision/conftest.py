"""Helpers for provisioning tests: generated descriptor trees and the ownership lines of earlier
versions (the emulator fixtures, ``emulator`` and ``jenkins_env``, are in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LIBRARY_REPO, TOKEN, USER, write_service

from jenkins_bridge.render.ownership import MANAGED_MARKER

__all__ = ["LIBRARY_REPO", "TOKEN", "USER", "write_service"]


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


def legacy_ownership_line(sha256: str, source: str) -> str:
    """The line versions before per-item ownership wrote, as live controllers may still hold."""
    return f"{MANAGED_MARKER} sha256={sha256} source={source}"

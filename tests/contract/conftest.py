"""The contract tests' target: the emulator by default, a real Jenkins when JENKINS_URL,
JENKINS_USER and JENKINS_TOKEN are set. Each test works in its own ``jb-contract-<random>``
folder and deletes it at the end."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from jenkins_bridge.jenkins import Credentials, JenkinsClient, NotFound
from jenkins_bridge.testing import JenkinsEmulator

PLACEHOLDER_LIBRARY_REPO = "https://git.example.com/platform/jenkins-bridge.git"
REAL = all(os.environ.get(v) for v in ("JENKINS_URL", "JENKINS_USER", "JENKINS_TOKEN"))


@dataclass
class Target:
    url: str
    user: str
    token: str
    team: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.token)


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch) -> Iterator[Target]:
    team = f"jb-contract-{uuid.uuid4().hex[:8]}"
    if REAL:
        found = Target(
            os.environ["JENKINS_URL"], os.environ["JENKINS_USER"], os.environ["JENKINS_TOKEN"], team
        )
        emulator = None
    else:
        emulator = JenkinsEmulator(users={"contract": "contract-token"}).start()
        found = Target(emulator.url, "contract", "contract-token", team)
    monkeypatch.setenv("JENKINS_URL", found.url)
    monkeypatch.setenv("JENKINS_USER", found.user)
    monkeypatch.setenv("JENKINS_TOKEN", found.token)
    if os.environ.get("JENKINS_BRIDGE_LIBRARY_SCOPE") != "global":
        # a real controller reads the library from here on the first build; creating and
        # deleting jobs needs only a well-formed folder property
        monkeypatch.setenv(
            "JENKINS_BRIDGE_LIBRARY_REPO",
            os.environ.get("JENKINS_BRIDGE_LIBRARY_REPO") or PLACEHOLDER_LIBRARY_REPO,
        )
    try:
        yield found
    finally:
        cleaner = JenkinsClient(found.url, Credentials(found.user, found.token), max_rps=0)
        with contextlib.suppress(NotFound):
            cleaner.delete(team)
        if emulator is not None:
            emulator.stop()

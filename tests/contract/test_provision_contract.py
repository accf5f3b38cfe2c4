"""Provisioning contract, through the public CLI only.

Runs against the emulator by default, and unchanged against a real Jenkins when JENKINS_URL,
JENKINS_USER and JENKINS_TOKEN are set (the user needs Job create/configure/delete and the
plugins of ``jenkins_bridge.provision.preflight``). Each run works in its own uniquely named
folder and deletes it at the end.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import CliResult

from jenkins_bridge.jenkins import Credentials, JenkinsClient, NotFound
from jenkins_bridge.testing import JenkinsEmulator

Cli = Callable[..., CliResult]
PLACEHOLDER_LIBRARY_REPO = "https://git.example.com/platform/jenkins-bridge.git"
REAL = all(os.environ.get(v) for v in ("JENKINS_URL", "JENKINS_USER", "JENKINS_TOKEN"))


@dataclass
class Target:
    url: str
    user: str
    token: str
    team: str


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


def descriptor(root: Path, team: str, name: str, branch: str = "main") -> None:
    (root / f"{name}.yaml").write_text(
        "apiVersion: jenkins-bridge/v1\nkind: Service\n"
        f"metadata: {{name: {name}, team: {team}}}\n"
        f"source: {{repo: 'https://git.example.com/{team}/{name}.git', branch: {branch}}}\n",
        encoding="utf-8",
    )


def test_provisioning_lifecycle(cli: Cli, target: Target, tmp_path: Path) -> None:
    root = tmp_path / "services"
    root.mkdir()
    for name in ("alpha", "beta", "gamma"):
        descriptor(root, target.team, name)

    first = cli("plan", str(root))
    assert first.exit_code == 2, first.stderr
    assert f"+ create folder {target.team} (new)" in first.stdout

    created = cli("apply", str(root))
    assert created.exit_code == 0, created.stderr
    assert "created 4," in created.stdout

    settled = cli("plan", str(root), "--verify")
    assert settled.exit_code == 0, settled.stdout + settled.stderr

    descriptor(root, target.team, "beta", branch="release")
    changed = cli("plan", str(root))
    assert changed.exit_code == 2
    assert f"~ update job {target.team}/beta (changed)" in changed.stdout
    assert "*/release" in changed.stdout
    assert cli("apply", str(root)).exit_code == 0

    (root / "gamma.yaml").unlink()
    disabled = cli("apply", str(root), "--prune")
    assert disabled.exit_code == 0 and "pruned 1" in disabled.stdout
    deleted = cli("apply", str(root), "--prune=delete", "--yes")
    assert deleted.exit_code == 0 and "pruned 1" in deleted.stdout
    assert cli("plan", str(root), "--prune=delete", "--verify").exit_code == 0


def test_foreign_job_is_never_overwritten(cli: Cli, target: Target, tmp_path: Path) -> None:
    root = tmp_path / "services"
    root.mkdir()
    descriptor(root, target.team, "alpha")
    client = JenkinsClient(target.url, Credentials(target.user, target.token), max_rps=0)
    client.create_item(
        target.team,
        "<com.cloudbees.hudson.plugins.folder.Folder><description>hand-made</description>"
        "</com.cloudbees.hudson.plugins.folder.Folder>",
    )
    client.create_item(
        f"{target.team}/alpha",
        "<flow-definition><description>hand-made</description></flow-definition>",
    )
    refused = cli("apply", str(root))
    assert refused.exit_code == 1
    assert "not managed by jenkins-bridge" in refused.stderr
    assert "hand-made" in client.get_config(f"{target.team}/alpha")
    assert cli("apply", str(root), "--force-adopt").exit_code == 0
    assert "[managed by jenkins-bridge]" in client.get_config(f"{target.team}/alpha")

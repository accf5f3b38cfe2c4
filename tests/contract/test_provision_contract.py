"""Provisioning contract, through the public CLI only.

Runs against the emulator by default, and unchanged against a real Jenkins when JENKINS_URL,
JENKINS_USER and JENKINS_TOKEN are set (the user needs Job create/configure/delete and the
plugins of ``jenkins_bridge.provision.preflight``). Each run works in its own uniquely named
folder and deletes it at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conftest import CliResult

from jenkins_bridge.jenkins import Credentials, JenkinsClient

from .conftest import Target

Cli = Callable[..., CliResult]


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
    assert "branch: 'release'" in changed.stdout
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

"""Ownership lines of earlier versions (``sha256=… source=…``, no item, no repository) prove
nothing about who owns a job: they are upgraded only for the descriptor file they name, and
never pruned."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from conftest import CliResult, Provisioned, post_by_hand

from jenkins_bridge.testing import JenkinsEmulator

Cli = Callable[..., CliResult]
FAST = ("--max-rps", "0")


def set_description(emulator: JenkinsEmulator, full_name: str, text: str) -> None:
    path = "".join(f"job/{part}/" for part in full_name.split("/"))
    post_by_hand(emulator, f"{path}submitDescription", form={"description": text})


def as_written_by_an_earlier_version(description: str) -> str:
    """Drop ``item=`` and ``repo=`` from the ownership line, as versions before them wrote it."""
    return re.sub(r" item=\S+ repo=\S+", "", description)


def test_legacy_lines_are_upgraded_for_their_own_file_and_never_pruned(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(tmp_path / "services", "pay/api", "pay/old", "pay/renamed")
    for name, item in jenkins_env.items.items():
        set_description(jenkins_env, name, as_written_by_an_earlier_version(item.description or ""))
    assert "item=" not in (jenkins_env.items["pay/api"].description or "")
    (root / "pay" / "old.yaml").unlink()
    # The descriptor of pay/renamed now lives in another file: the old line names the old one.
    (root / "pay" / "renamed.yaml").rename(root / "pay" / "renamed-service.yaml")
    planned = cli("plan", str(root), "--prune=delete", *FAST)
    assert planned.exit_code == 1
    assert "~ update folder pay (owner)" in planned.stdout
    assert "~ update job pay/api (owner)" in planned.stdout
    assert (
        "! conflict job pay/renamed (owned by an earlier jenkins-bridge version from "
        "pay/renamed.yaml)" in planned.stdout
    )
    assert "x delete" not in planned.stdout and "0 to delete" in planned.stdout
    assert "pay/old" in planned.stdout and "not pruned" in planned.stdout
    applied = cli("apply", str(root), "--prune=delete", "--yes", "--force-adopt", *FAST)
    assert applied.exit_code == 0, applied.stderr
    assert "pay/old" in jenkins_env.items
    assert "item=pay/api repo=" in (jenkins_env.items["pay/api"].description or "")
    assert "item=pay/renamed repo=" in (jenkins_env.items["pay/renamed"].description or "")
    again = cli("plan", str(root), "--prune=delete", *FAST)
    assert again.exit_code == 0, again.stdout

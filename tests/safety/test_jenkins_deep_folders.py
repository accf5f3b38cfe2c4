"""Before deleting a folder, everything in it is looked at, at every depth (not a 2-level
listing): a folder holding any item that is not ours, however deep, is not deleted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conftest import CliResult, Provisioned, post_by_hand

from jenkins_bridge.testing import JenkinsEmulator

Cli = Callable[..., CliResult]
FAST = ("--max-rps", "0")
FOLDER = "<com.cloudbees.hudson.plugins.folder.Folder/>"
JOB = "<flow-definition><description>by hand</description></flow-definition>"


def create(emulator: JenkinsEmulator, full_name: str, xml: str | None = None, **query: str) -> None:
    parent, _, name = full_name.rpartition("/")
    path = "".join(f"job/{part}/" for part in parent.split("/") if part)
    params = "".join(f"&{k}={v}" for k, v in query.items())
    post_by_hand(emulator, f"{path}createItem?name={name}{params}", xml)


def remove_team(root: Path, team: str) -> None:
    for path in (root / team).iterdir():
        path.unlink()
    (root / team).rmdir()


PRUNE_ALL = ("--prune=delete", "--prune-scope", "all", "--max-delete", "50")


def test_hand_made_job_deep_in_a_removed_team_keeps_the_team(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(tmp_path / "services", "keep/api", "gone/api", "gone/worker")
    # A folder made by copying a managed one, and hand-made work four levels below it.
    create(jenkins_env, "gone/lab", mode="copy", **{"from": "/keep"})
    for folder in ("gone/lab/a", "gone/lab/a/b", "gone/lab/a/b/c"):
        create(jenkins_env, folder, FOLDER)
    create(jenkins_env, "gone/lab/a/b/c/report", JOB)
    remove_team(root, "gone")
    planned = cli("plan", str(root), *PRUNE_ALL, *FAST)
    assert "delete folder gone" not in planned.stdout
    assert "x delete job gone/api (removed)" in planned.stdout
    assert "folder gone is no longer in the descriptors but holds items" in planned.stdout
    applied = cli("apply", str(root), *PRUNE_ALL, "--yes", *FAST)
    assert applied.exit_code == 0, applied.stderr
    assert "gone/lab/a/b/c/report" in jenkins_env.items
    assert "gone/api" not in jenkins_env.items and "gone/worker" not in jenkins_env.items


def test_removed_team_with_only_our_jobs_is_deleted_and_counted_whole(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(tmp_path / "services", "keep/api", *(f"gone/svc-{n}" for n in range(5)))
    remove_team(root, "gone")
    blocked = cli("apply", str(root), "--prune=delete", "--prune-scope", "all", "--yes", *FAST)
    assert blocked.exit_code == 1
    # the folder and the five jobs a delete of it removes; the default --max-delete is 5
    assert "refusing to delete 6 items (--max-delete is 5)" in blocked.stdout + blocked.stderr
    assert "gone/svc-0" in jenkins_env.items
    unconfirmed = cli("apply", str(root), *PRUNE_ALL, *FAST)
    assert unconfirmed.exit_code == 1
    assert (
        "apply would delete 6 item(s): gone (folder, with everything in it)" in unconfirmed.stderr
    )
    applied = cli("apply", str(root), *PRUNE_ALL, "--yes", *FAST)
    assert applied.exit_code == 0, applied.stderr
    assert not any(name.startswith("gone") for name in jenkins_env.items)


def test_prune_never_reaches_into_hand_made_folders(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(tmp_path / "services", "pay/api")
    for folder in ("pay/tools", "pay/tools/a", "pay/tools/a/b"):
        create(jenkins_env, folder, FOLDER)
    # Copies of the managed job at every depth of the hand-made folders.
    for copy in ("pay/tools/api", "pay/tools/a/api", "pay/tools/a/b/api"):
        create(jenkins_env, copy, mode="copy", **{"from": "/pay/api"})
    for scope in ("teams", "all"):
        applied = cli("apply", str(root), "--prune=delete", "--prune-scope", scope, "--yes", *FAST)
        assert applied.exit_code == 0, applied.stderr
    assert {"pay/tools/api", "pay/tools/a/api", "pay/tools/a/b/api"} <= set(jenkins_env.items)

"""Ownership is per descriptor repository: a second repository (or another folder of
descriptors) that describes a job another source owns neither rewrites nor prunes it; plan
shows the conflict and apply refuses it unless the user adopts the job with --force-adopt."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from conftest import CliResult, Provisioned, git_repository, write_service

from jenkins_bridge.testing import JenkinsEmulator

Cli = Callable[..., CliResult]
FAST = ("--max-rps", "0")


def test_second_repository_cannot_take_over_a_job(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    first = git_repository(tmp_path / "first", "git@git.example.com:platform/first.git")
    second = git_repository(tmp_path / "second", "https://ci@git.example.com/platform/second.git")
    write_service(second, "pay", "api", branch="hijack")
    provisioned(first, "pay/api")
    before = jenkins_env.items["pay/api"].config_xml
    planned = cli("plan", str(second), *FAST)
    assert planned.exit_code == 1
    assert (
        "! conflict job pay/api (owned by git.example.com/platform/first (pay/api.yaml)): "
        "pass --force-adopt to take it over from that source" in planned.stdout
    )
    assert "1 owned by another source" in planned.stdout
    as_json = cli("--output", "json", "plan", str(second), *FAST).json()
    assert [a["action"] for a in as_json["data"]["actions"]] == ["conflict"]
    assert as_json["errors"][0]["code"] == "conflict"
    refused = cli("apply", str(second), *FAST)
    assert refused.exit_code == 1 and "nothing was changed" in refused.stdout
    assert "--force-adopt" in refused.stdout
    assert jenkins_env.items["pay/api"].config_xml == before
    # The first repository still owns it: no change from its point of view.
    assert cli("plan", str(first), *FAST).exit_code == 0
    # Adopting explicitly moves the job to the second repository...
    adopted = cli("apply", str(second), "--force-adopt", *FAST)
    assert adopted.exit_code == 0, adopted.stderr
    assert "branch: 'hijack'" in jenkins_env.items["pay/api"].config_xml
    assert "repo=git.example.com/platform/second" in (
        jenkins_env.items["pay/api"].description or ""
    )
    # ...and now the first one sees the conflict.
    back = cli("plan", str(first), *FAST)
    assert back.exit_code == 1 and "owned by git.example.com/platform/second" in back.stdout


def test_second_repository_never_prunes_the_first_ones_jobs(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    first = git_repository(tmp_path / "first", "https://git.example.com/platform/first.git")
    second = git_repository(tmp_path / "second", "https://git.example.com/platform/second.git")
    provisioned(first, "pay/api", "pay/ledger")
    write_service(second, "pay", "worker")
    for mode in ("--prune", "--prune=delete"):
        for scope in ("teams", "all"):
            planned = cli("plan", str(second), mode, "--prune-scope", scope, *FAST)
            assert planned.exit_code == 2, planned.stdout
            assert "pay/api" not in planned.stdout and "pay/ledger" not in planned.stdout
    applied = cli("apply", str(second), "--prune=delete", "--prune-scope", "all", "--yes", *FAST)
    assert applied.exit_code == 0, applied.stderr
    assert {"pay/api", "pay/ledger", "pay/worker"} <= set(jenkins_env.items)
    assert not jenkins_env.items["pay/api"].disabled
    # The shared team folder stays the first repository's; both plans are clean.
    assert cli("plan", str(first), "--prune=delete", *FAST).exit_code == 0
    assert cli("plan", str(second), "--prune=delete", *FAST).exit_code == 0


def test_another_folder_of_descriptors_in_the_same_repository(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    repo = git_repository(tmp_path / "platform", "https://git.example.com/platform/services.git")
    provisioned(repo / "payments", "pay/api")
    write_service(repo / "ledger", "pay", "ledger")
    applied = cli("apply", str(repo / "ledger"), "--prune=delete", "--yes", *FAST)
    assert applied.exit_code == 0, applied.stderr
    assert {"pay/api", "pay/ledger"} <= set(jenkins_env.items)
    write_service(repo / "ledger", "pay", "api", branch="other")
    planned = cli("plan", str(repo / "ledger"), *FAST)
    assert planned.exit_code == 1
    assert "conflict job pay/api (owned by git.example.com/platform/services " in planned.stdout
    assert "(payments/pay/api.yaml)" in planned.stdout
    # The whole repository at once covers both folders: everything is its own.
    (repo / "ledger" / "pay" / "api.yaml").unlink()
    assert cli("plan", str(repo), "--prune=delete", *FAST).exit_code == 0


def test_source_id_keeps_ownership_when_the_repository_moves(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path
) -> None:
    repo = git_repository(tmp_path / "svc", "https://git.example.com/old-org/services.git")
    write_service(repo, "pay", "api")
    assert cli("apply", str(repo), "--source-id", "platform-services", *FAST).exit_code == 0
    subprocess.run(
        ["git", "-C", str(repo), "remote", "set-url", "origin", "https://git.new.example/s.git"],
        check=True,
    )
    assert cli("plan", str(repo), "--source-id", "platform-services", *FAST).exit_code == 0
    moved = cli("plan", str(repo), *FAST)  # without it, the new remote is another owner
    assert moved.exit_code == 1 and "owned by platform-services (pay/api.yaml)" in moved.stdout
    bad = cli("plan", str(repo), "--source-id", "two words", *FAST)
    assert bad.exit_code == 1 and "--source-id" in bad.stderr

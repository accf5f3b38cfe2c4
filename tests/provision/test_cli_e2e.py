"""plan/apply/prune/verify through the public CLI against the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult, Provisioned, post_by_hand

from jenkins_bridge.testing import FaultInjection, JenkinsEmulator

from .conftest import TOKEN, USER, write_service, write_services

Cli = Callable[..., CliResult]
FAST = ("--max-rps", "0")


FOREIGN_JOB = (
    "<flow-definition><description>made by hand</description>"
    "<disabled>false</disabled></flow-definition>"
)
FOLDER = (
    "<com.cloudbees.hudson.plugins.folder.Folder><description>hand</description>"
    "</com.cloudbees.hudson.plugins.folder.Folder>"
)


def test_first_apply_then_nothing_to_change(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path
) -> None:
    root = write_services(tmp_path / "d", teams=2, per_team=3)
    planned = cli("plan", str(root), *FAST)
    assert planned.exit_code == 2
    assert "+ create folder team-000 (new)" in planned.stdout
    assert "8 to create" in planned.stdout
    assert jenkins_env.items == {}
    applied = cli("apply", str(root), *FAST)
    assert applied.exit_code == 0, applied.stderr
    assert "created 8, updated 0, unchanged 0, pruned 0, failed 0" in applied.stdout
    items = jenkins_env.items
    assert len(items) == 8
    assert "[managed by jenkins-bridge] sha256=" in (items["team-001/svc-0002"].description or "")
    again = cli("plan", str(root), *FAST)
    assert again.exit_code == 0 and "8 unchanged" in again.stdout
    assert cli("apply", str(root), *FAST).exit_code == 0


def test_changed_descriptor_shows_diff_and_converges(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(write_services(tmp_path / "d", teams=1, per_team=3))
    write_service(root, "team-000", "svc-0001", branch="develop")
    planned = cli("plan", str(root), *FAST)
    assert planned.exit_code == 2
    assert "~ update job team-000/svc-0001 (changed)" in planned.stdout
    # the branch is data of the script the job holds (its explicit git checkout)
    lines = planned.stdout.splitlines()
    assert any(line.startswith("-") and "branch: 'main'" in line for line in lines)
    assert any(line.startswith("+") and "branch: 'develop'" in line for line in lines)
    applied = cli("apply", str(root), *FAST)
    assert "created 0, updated 1, unchanged 3" in applied.stdout
    assert "branch: 'develop'" in jenkins_env.items["team-000/svc-0001"].config_xml
    assert cli("plan", str(root), *FAST).exit_code == 0


def test_verify_reports_ui_edits_and_apply_reverts_them(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(write_services(tmp_path / "d", teams=1, per_team=3))
    live = jenkins_env.items["team-000/svc-0002"].config_xml
    post_by_hand(
        jenkins_env,
        "job/team-000/job/svc-0002/config.xml",
        live.replace("<numToKeep>20<", "<numToKeep>3<"),
    )
    assert cli("plan", str(root), *FAST).exit_code == 0  # the description still matches
    verified = cli("plan", str(root), "--verify", *FAST)
    assert verified.exit_code == 2
    assert "~ update job team-000/svc-0002 (drift)" in verified.stdout
    assert "-        <numToKeep>3</numToKeep>" in verified.stdout
    assert cli("apply", str(root), "--verify", *FAST).exit_code == 0
    assert cli("plan", str(root), "--verify", *FAST).exit_code == 0


def test_prune_disables_then_deletes_only_managed_jobs(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(write_services(tmp_path / "d", teams=1, per_team=4))
    post_by_hand(jenkins_env, "job/team-000/createItem?name=manual", FOREIGN_JOB)
    (root / "team-000" / "svc-0003.yaml").unlink()
    assert cli("apply", str(root), *FAST).exit_code == 0
    assert not jenkins_env.items["team-000/svc-0003"].disabled  # no prune without --prune
    planned = cli("plan", str(root), "--prune", *FAST)
    assert planned.exit_code == 2 and "- disable job team-000/svc-0003 (removed)" in planned.stdout
    assert "manual" not in planned.stdout
    assert cli("apply", "--prune", str(root), *FAST).exit_code == 0  # bare flag before PATH
    assert jenkins_env.items["team-000/svc-0003"].disabled
    assert cli("plan", str(root), "--prune", *FAST).exit_code == 0
    refused = cli("apply", str(root), "--prune=delete", *FAST)
    assert refused.exit_code == 1 and "--yes" in refused.stderr  # not a TTY: must confirm
    assert "team-000/svc-0003" in jenkins_env.items
    deleted = cli("apply", str(root), "--prune=delete", "--yes", *FAST)
    assert deleted.exit_code == 0 and "pruned 1" in deleted.stdout
    items = jenkins_env.items
    assert "team-000/svc-0003" not in items and "team-000/manual" in items
    assert not items["team-000/manual"].disabled


def test_max_delete_refuses_before_changing_anything(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(write_services(tmp_path / "d", teams=1, per_team=5))
    for n in range(3):
        (root / "team-000" / f"svc-000{n}.yaml").unlink()
    before = len(jenkins_env.items)
    jenkins_env.reset_counters()
    result = cli("apply", str(root), "--prune=delete", "--max-delete", "2", "--yes", *FAST)
    assert result.exit_code == 1
    assert "refusing to delete 3 items (--max-delete is 2)" in result.stderr
    assert len(jenkins_env.items) == before
    assert all(method == "GET" for method, _ in jenkins_env.request_log)


def test_collision_with_unmanaged_job_is_refused_unless_adopted(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path
) -> None:
    root = write_services(tmp_path / "d", teams=1, per_team=2)
    post_by_hand(jenkins_env, "createItem?name=team-000", FOLDER)
    post_by_hand(jenkins_env, "job/team-000/createItem?name=svc-0001", FOREIGN_JOB)
    result = cli("apply", str(root), *FAST)
    assert result.exit_code == 1
    assert "team-000/svc-0001: exists and is not managed by jenkins-bridge" in result.stderr
    assert "--force-adopt" in result.stderr
    assert set(jenkins_env.items) == {"team-000", "team-000/svc-0001"}  # nothing changed
    adopted = cli("apply", str(root), "--force-adopt", *FAST)
    assert adopted.exit_code == 0, adopted.stderr
    items = jenkins_env.items
    assert "[managed by jenkins-bridge]" in (items["team-000/svc-0001"].description or "")
    assert items["team-000"].description == "hand"  # a foreign folder is used, never modified
    assert cli("plan", str(root), *FAST).exit_code == 0


def test_missing_plugins_fail_before_any_change(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = write_services(tmp_path / "d", teams=1, per_team=1)
    plugins = {"workflow-job": "1.0", "cloudbees-folder": "6.0", "workflow-cps": "1.0"}
    with JenkinsEmulator(users={USER: TOKEN}, plugins=plugins) as emu:
        monkeypatch.setenv("JENKINS_USER", USER)
        monkeypatch.setenv("JENKINS_TOKEN", TOKEN)
        result = cli("apply", str(root), "--jenkins", emu.url)
        assert result.exit_code == 1
        assert (
            "lacks plugins the jobs need: credentials-binding, git, pipeline-input-step, "
            "pipeline-model-definition, pipeline-stage-step, pipeline-utility-steps, timestamper, "
            "workflow-basic-steps, workflow-durable-task-step, workflow-scm-step"
        ) in result.stderr
        assert emu.items == {} and emu.requests.total == 1


@pytest.mark.parametrize(
    ("user", "token", "expected"),
    [
        (USER, "wrong-secret-value", "authentication failed"),
        (None, None, "permission denied"),
    ],
)
def test_bad_credentials_are_one_line_and_secret_free(
    cli: Cli,
    emulator: JenkinsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    user: str | None,
    token: str | None,
    expected: str,
) -> None:
    root = write_services(tmp_path / "d", teams=1, per_team=1)
    for name, value in (("JENKINS_USER", user), ("JENKINS_TOKEN", token)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    result = cli("plan", str(root), "--jenkins", emulator.url)
    assert result.exit_code == 1
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "wrong-secret-value" not in result.stdout + result.stderr


def test_unreachable_controller(cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    root = write_services(tmp_path / "d", teams=1, per_team=1)
    with JenkinsEmulator() as emu:
        url = emu.url  # a port that was just free and is closed again
    monkeypatch.setenv("JENKINS_USER", USER)
    monkeypatch.setenv("JENKINS_TOKEN", TOKEN)
    result = cli("plan", str(root), "--jenkins", url)
    assert result.exit_code == 1
    assert "cannot connect" in result.stderr and "check --jenkins" in result.stderr


def test_credentials_in_url_are_refused(cli: Cli, tmp_path: Path) -> None:
    root = write_services(tmp_path / "d", teams=1, per_team=1)
    result = cli("plan", str(root), "--jenkins", "http://admin:s3cret@127.0.0.1:9/")
    assert result.exit_code == 1 and "s3cret" not in result.stderr
    assert "$JENKINS_TOKEN" in result.stderr


def test_named_controller_from_config_file(
    cli: Cli, emulator: JenkinsEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = write_services(tmp_path / "d", teams=1, per_team=1)
    config = tmp_path / "controllers.yaml"
    config.write_text(
        f"controllers:\n  local:\n    url: {emulator.url}\n    user: {USER}\n"
        "    token_env: LOCAL_JENKINS_TOKEN\n"
    )
    monkeypatch.setenv("JENKINS_BRIDGE_CONFIG", str(config))
    monkeypatch.delenv("JENKINS_URL", raising=False)
    monkeypatch.delenv("LOCAL_JENKINS_TOKEN", raising=False)
    missing = cli("plan", str(root), "--controller", "local")
    assert missing.exit_code == 1 and "$LOCAL_JENKINS_TOKEN is not set" in missing.stderr
    monkeypatch.setenv("LOCAL_JENKINS_TOKEN", TOKEN)
    assert cli("apply", str(root), "--controller", "local").exit_code == 0
    unknown = cli("plan", str(root), "--controller", "prod")
    assert unknown.exit_code == 1 and "known: local" in unknown.stderr


def test_json_output(cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path) -> None:
    root = write_services(tmp_path / "d", teams=1, per_team=2)
    result = cli("--output", "json", "plan", str(root), *FAST)
    envelope = json.loads(result.stdout)
    assert result.exit_code == 2 and envelope["status"] == "changes"
    assert envelope["data"]["counts"]["create"] == 3
    applied = json.loads(cli("--output", "json", "apply", str(root), *FAST).stdout)
    assert applied["data"]["created"] == 3 and applied["data"]["failed"] == []


def test_workers_never_create_a_job_before_its_folder(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path
) -> None:
    root = write_services(tmp_path / "d", teams=6, per_team=5)
    jenkins_env.faults = FaultInjection(latency=(0.0, 0.01), seed=7)
    result = cli("apply", str(root), "--workers", "8", *FAST)
    assert result.exit_code == 0, result.stderr
    created: set[str] = set()
    for method, path in jenkins_env.request_log:
        if method != "POST" or "createItem" not in path:
            continue
        name = path.split("name=")[1]
        if path.startswith("/job/"):
            folder = path.split("/")[2]
            assert folder in created, f"{folder}/{name} created before its folder"
        else:
            created.add(name)
    assert len(created) == 6


def test_prune_scope_all_removes_a_whole_removed_team(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(write_services(tmp_path / "d", teams=3, per_team=2))
    post_by_hand(jenkins_env, "job/team-002/createItem?name=manual", FOREIGN_JOB)
    for team in ("team-001", "team-002"):
        for path in (root / team).iterdir():
            path.unlink()
        (root / team).rmdir()
    # Default scope: teams no descriptor names are out of reach.
    assert cli("plan", str(root), "--prune", *FAST).exit_code == 0
    scoped = cli("plan", str(root), "--prune", "--prune-scope", "all", *FAST)
    assert scoped.exit_code == 2
    assert "- disable job team-001/svc-0000 (removed)" in scoped.stdout
    result = cli(
        "apply", str(root), "--prune=delete", "--prune-scope", "all", "--yes", "--max-delete", "9",
        *FAST,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    items = jenkins_env.items
    assert not any(name.startswith("team-001") for name in items)  # folder and jobs gone
    # A removed team's folder that holds a job we did not create stays, with that job;
    # only our jobs in it are deleted.
    assert "team-002" in items and "team-002/manual" in items
    assert "team-002/svc-0000" not in items
    assert "team-000/svc-0000" in items


def test_prune_scope_all_counts_folder_contents_against_max_delete(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(write_services(tmp_path / "d", teams=2, per_team=3))
    for path in (root / "team-001").iterdir():
        path.unlink()
    result = cli(
        "apply", str(root), "--prune=delete", "--prune-scope", "all", "--yes", "--max-delete", "3",
        *FAST,
    )  # fmt: skip
    assert result.exit_code == 1 and "refusing to delete 4 items" in result.stderr
    assert "team-001/svc-0000" in jenkins_env.items

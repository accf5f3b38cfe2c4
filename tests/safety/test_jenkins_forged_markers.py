"""Ownership is unforgeable by copy or by text: a job copied from a managed one ("Copy from"),
or a description that happens to hold the marker text, is never pruned or overwritten."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult, Provisioned, post_by_hand, write_service

from jenkins_bridge.testing import JenkinsEmulator

Cli = Callable[..., CliResult]
FAST = ("--max-rps", "0")


def hand_made_job(description: str) -> str:
    text = description.replace("&", "&amp;").replace("<", "&lt;")
    return (
        f"<flow-definition><description>{text}</description>"
        "<disabled>false</disabled></flow-definition>"
    )


def test_copied_job_is_never_pruned(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(tmp_path / "services", "pay/api", "pay/old")
    # "Copy from" in the UI: the copy carries the original's ownership line.
    post_by_hand(jenkins_env, "job/pay/createItem?name=api-experiment&mode=copy&from=api")
    assert "[managed by jenkins-bridge]" in (
        jenkins_env.items["pay/api-experiment"].description or ""
    )
    (root / "pay" / "old.yaml").unlink()
    planned = cli("plan", str(root), "--prune=delete", *FAST)
    assert "x delete job pay/old (removed)" in planned.stdout
    assert "api-experiment" not in planned.stdout
    applied = cli("apply", str(root), "--prune=delete", "--yes", *FAST)
    assert applied.exit_code == 0, applied.stderr
    assert "pay/api-experiment" in jenkins_env.items and "pay/old" not in jenkins_env.items
    assert cli("apply", str(root), "--prune", *FAST).exit_code == 0
    assert not jenkins_env.items["pay/api-experiment"].disabled


@pytest.mark.parametrize(
    "description",
    [
        "[managed by jenkins-bridge]",
        "Nightly report.\nUnlike the others this is not [managed by jenkins-bridge].",
        "copied by hand from the config.xml jenkins-bridge renders:\n"
        "[managed by jenkins-bridge] source: pay/api.yaml; edits made in Jenkins are reverted.",
    ],
)
def test_marker_text_in_a_hand_made_description_is_not_ownership(
    cli: Cli,
    jenkins_env: JenkinsEmulator,
    tmp_path: Path,
    provisioned: Provisioned,
    description: str,
) -> None:
    root = provisioned(tmp_path / "services", "pay/api")
    post_by_hand(jenkins_env, "job/pay/createItem?name=report", hand_made_job(description))
    applied = cli("apply", str(root), "--prune=delete", "--yes", *FAST)
    assert applied.exit_code == 0, applied.stderr
    assert "pay/report" in jenkins_env.items


def test_copy_under_a_described_name_is_refused_until_adopted(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(tmp_path / "services", "pay/api")
    post_by_hand(jenkins_env, "job/pay/createItem?name=worker&mode=copy&from=api")
    before = jenkins_env.items["pay/worker"].config_xml
    write_service(root, "pay", "worker", branch="develop")
    planned = cli("plan", str(root), *FAST)
    assert planned.exit_code == 1
    assert "! refuse job pay/worker (exists and is not managed by jenkins-bridge" in planned.stdout
    assert "--force-adopt" in planned.stdout
    refused = cli("apply", str(root), *FAST)
    assert refused.exit_code == 1 and "nothing was changed" in refused.stdout
    assert jenkins_env.items["pay/worker"].config_xml == before
    adopted = cli("apply", str(root), "--force-adopt", *FAST)
    assert adopted.exit_code == 0, adopted.stderr
    assert "branch: 'develop'" in jenkins_env.items["pay/worker"].config_xml
    assert cli("plan", str(root), *FAST).exit_code == 0


def test_copied_folder_inside_a_removed_team_keeps_the_team(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(tmp_path / "services", "keep/api", "gone/api")
    # A folder copied from a managed team folder, with hand-made work inside.
    post_by_hand(jenkins_env, "job/gone/createItem?name=lab&mode=copy&from=/keep")
    post_by_hand(jenkins_env, "job/gone/job/lab/createItem?name=experiment", hand_made_job("mine"))
    (root / "gone" / "api.yaml").unlink()
    planned = cli("plan", str(root), "--prune=delete", "--prune-scope", "all", *FAST)
    assert "x delete job gone/api (removed)" in planned.stdout
    assert "delete folder gone" not in planned.stdout
    assert "gone/lab" in planned.stdout and "left alone" in planned.stdout
    applied = cli("apply", str(root), "--prune=delete", "--prune-scope", "all", "--yes", *FAST)
    assert applied.exit_code == 0, applied.stderr
    assert {"gone", "gone/lab", "gone/lab/experiment"} <= set(jenkins_env.items)
    assert "gone/api" not in jenkins_env.items

"""Request budgets: what a run costs the controller, counted by the emulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult

from jenkins_bridge.jenkins.client import Credentials, JenkinsClient
from jenkins_bridge.testing import JenkinsEmulator

from .conftest import TOKEN, USER, write_service, write_services

Cli = Callable[..., CliResult]
FAST = ("--max-rps", "0")
CONSTANT = 3  # plugins + tree listing (+ crumb when a password is used)


def test_first_apply_costs_one_request_per_item(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path
) -> None:
    root = write_services(tmp_path / "d", teams=4, per_team=25)
    assert cli("apply", str(root), *FAST).exit_code == 0
    jobs, folders = 100, 4
    assert jenkins_env.requests.total <= jobs + folders + CONSTANT
    assert jenkins_env.requests.get("POST", "createItem") == jobs + folders


def test_no_change_plan_is_constant(cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path) -> None:
    counts = []
    for teams in (2, 8):  # 50 jobs, then 200 jobs
        # one descriptor folder that grows: a second folder would be another owner
        root = write_services(tmp_path / "d", teams=teams, per_team=25)
        assert cli("apply", str(root), *FAST).exit_code == 0
        jenkins_env.reset_counters()
        assert cli("plan", str(root), *FAST).exit_code == 0
        counts.append(jenkins_env.requests.total)
    assert counts[0] == counts[1] <= 3
    assert jenkins_env.requests.get("GET", "pluginManager") == 1


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_one_percent_change_costs_the_changed_jobs(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, command: str
) -> None:
    root = write_services(tmp_path / "d", teams=8, per_team=25)
    assert cli("apply", str(root), *FAST).exit_code == 0
    write_service(root, "team-003", "svc-0007", branch="release")
    write_service(root, "team-006", "svc-0020", branch="release")
    jenkins_env.reset_counters()
    result = cli(command, str(root), *FAST)
    assert result.exit_code == (2 if command == "plan" else 0)
    assert jenkins_env.requests.total <= 2 + CONSTANT
    if command == "apply":
        assert jenkins_env.requests.get("POST", "config.xml") == 2


def test_prune_does_not_follow_redirects(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path
) -> None:
    root = write_services(tmp_path / "d", teams=1, per_team=3)
    assert cli("apply", str(root), *FAST).exit_code == 0
    (root / "team-000" / "svc-0000.yaml").unlink()
    jenkins_env.reset_counters()
    assert cli("apply", str(root), "--prune", *FAST).exit_code == 0
    assert jenkins_env.requests.total == 2 + 1


def test_deep_folders_cost_one_listing_per_group_below_three_levels(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path
) -> None:
    """The listing reads every depth (prune must see everything in a folder): three levels in
    one request, then one request per group that holds items further down."""
    root = write_services(tmp_path / "d", teams=1, per_team=2)
    assert cli("apply", str(root), *FAST).exit_code == 0
    client = JenkinsClient(jenkins_env.url, Credentials(USER, TOKEN), max_rps=0)
    folder = "<com.cloudbees.hudson.plugins.folder.Folder/>"
    for name in ("a", "a/b", "a/b/c", "a/b/c/d", "a/b/c/d/e", "a/b/c/d/e/f", "a/b/c/d/e/f/g"):
        client.create_item(f"team-000/{name}", folder)
    jenkins_env.reset_counters()
    assert cli("plan", str(root), *FAST).exit_code == 0
    # plugins, the root listing (to team-000/a/b), then team-000/a/b (to .../e) and .../e
    assert jenkins_env.requests.total == 4

"""A misbehaving controller: apply tells the truth, and re-runs converge."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult, Provisioned

from jenkins_bridge.testing import FaultInjection, JenkinsEmulator

from .conftest import write_service, write_services

Cli = Callable[..., CliResult]
FAST = ("--max-rps", "0")


def managed_jobs(emulator: JenkinsEmulator) -> set[str]:
    return {
        name
        for name, item in emulator.items.items()
        if "/" in name and "[managed by jenkins-bridge]" in (item.description or "")
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_flaky_controller_converges(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, seed: int
) -> None:
    root = write_services(tmp_path / "d", teams=3, per_team=15)
    jenkins_env.faults = FaultInjection(error_rate=0.1, reset_rate=0.05, seed=seed)
    codes = []
    for _ in range(6):  # bounded: retries make one or two runs enough in practice
        result = cli("apply", str(root), "--workers", "8", *FAST)
        codes.append(result.exit_code)
        assert result.exit_code in (0, 1), result.stderr
        if result.exit_code == 0:
            # Exit 0 is a promise: every job exists and is current.
            assert "failed 0" in result.stdout
            assert len(managed_jobs(jenkins_env)) == 45
            break
        assert result.stderr.strip(), "a failed apply must say why"
    assert 0 in codes, codes
    jenkins_env.faults = None
    assert cli("plan", str(root), *FAST).exit_code == 0
    assert cli("plan", str(root), "--verify", *FAST).exit_code == 0


def test_controller_dying_half_way(cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path) -> None:
    root = write_services(tmp_path / "d", teams=4, per_team=20)
    jenkins_env.faults = FaultInjection(fail_after=30, seed=5)
    result = cli("apply", str(root), "--workers", "4", *FAST)
    assert result.exit_code == 1
    assert "apply stopped early" in result.stderr and "not attempted" in result.stderr
    created = len(managed_jobs(jenkins_env))
    assert 0 < created < 80
    assert f"created {created + 4}," in result.stdout or f"created {created}," in result.stdout
    jenkins_env.faults = None
    again = cli("apply", str(root), *FAST)
    assert again.exit_code == 0, again.stderr
    assert f"created {80 - created}" in again.stdout
    assert cli("plan", str(root), *FAST).exit_code == 0


def test_changes_under_faults_converge(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(write_services(tmp_path / "d", teams=2, per_team=10))
    for n in range(10):
        write_service(root, "team-001", f"svc-{n:04d}", branch="next")
    jenkins_env.faults = FaultInjection(error_rate=0.2, reset_rate=0.1, seed=11)
    for _ in range(6):
        if cli("apply", str(root), *FAST).exit_code == 0:
            break
    jenkins_env.faults = None
    assert cli("plan", str(root), "--verify", *FAST).exit_code == 0

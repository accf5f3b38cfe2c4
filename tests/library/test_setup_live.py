"""bridgeSetup for real (live mode, no engine): with no cache it creates the virtualenv and
installs jenkins-bridge from a wheel offline, the cached virtualenv is then reused without
installing anything, and a CLI of another version stops the build with one message."""

from __future__ import annotations

import os
import subprocess
import sysconfig
from pathlib import Path

import pytest

from jenkins_bridge import __version__
from tests.library.harness import ROOT, case, run_cases, shell_calls

pytestmark = pytest.mark.groovy


def test_setup_reuses_the_cached_venv_and_refuses_another_version(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    venv = cache / f"venv-{__version__}"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "jenkins-bridge").symlink_to(ROOT / ".venv" / "bin" / "jenkins-bridge")
    (venv / ".complete").touch()
    old = tmp_path / "old-cli"
    old.write_text("#!/bin/sh\necho 'jenkins-bridge, version 0.0.9'\n")
    old.chmod(0o755)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    base = {"mode": "live", "workspace": str(workspace), "checkoutEnv": {}}
    outcomes = run_cases(
        [
            case(
                "cached",
                script="echo(bridgeSetup())",
                env={"JENKINS_BRIDGE_CACHE": str(cache), "PATH": "/usr/bin:/bin"},
                **base,
            ),
            case(
                "other-version",
                script="bridgeSetup()",
                env={"JENKINS_BRIDGE_CLI": str(old)},
                **base,
            ),
        ],
        tmp_path,
    )
    cached = outcomes["cached"]
    assert cached["result"] == "SUCCESS", cached["log"]
    assert cached["log"] == [str(venv / "bin" / "jenkins-bridge")]
    assert sorted(os.listdir(venv)) == [".complete", "bin"]  # nothing was installed
    other = outcomes["other-version"]
    assert other["result"] == "FAILURE"
    assert other["log"] == [
        f"bridgeSetup: {old} reports 'jenkins-bridge, version 0.0.9', but this library is "
        f"version {__version__}: install the matching jenkins-bridge, or load the library tag "
        "v0.0.9"
    ]
    assert len(shell_calls(other)) == 1


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the jenkins-bridge wheel built from this checkout, once a session."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    python = ROOT / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return folder


def test_setup_installs_the_wheel_offline_once_and_reuses_the_cache(
    wheelhouse: Path, tmp_path: Path
) -> None:
    """No cache: bridgeSetup creates the virtualenv and installs the wheel with pip --no-index
    (the dependencies are those of this test's venv, on PYTHONPATH: nothing is downloaded).
    The next build finds the cache complete and installs nothing: its wheel and wheel folder
    do not even exist, so any pip call would fail it."""
    (wheel,) = wheelhouse.glob("jenkins_bridge-*.whl")
    cache = tmp_path / "cache"
    workspace = tmp_path / "ws"
    workspace.mkdir()
    agent = {
        "JENKINS_BRIDGE_CACHE": str(cache),
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "PIP_CONFIG_FILE": os.devnull,  # the machine's pip configuration names no index here
    }
    gone = tmp_path / "gone"
    base = {"mode": "live", "workspace": str(workspace), "checkoutEnv": {}}
    outcomes = run_cases(
        [
            case(
                "install",
                script="echo(bridgeSetup())",
                env={
                    **agent,
                    "JENKINS_BRIDGE_WHEEL": str(wheel),
                    "JENKINS_BRIDGE_FIND_LINKS": str(wheelhouse),
                },
                **base,
            ),
            case(
                "reuse",
                script="echo(bridgeSetup())",
                env={
                    **agent,
                    "JENKINS_BRIDGE_WHEEL": str(gone / wheel.name),
                    "JENKINS_BRIDGE_FIND_LINKS": str(gone),
                },
                **base,
            ),
        ],
        tmp_path,
    )
    venv = cache / f"venv-{__version__}"
    cli = str(venv / "bin" / "jenkins-bridge")
    for name in ("install", "reuse"):
        assert (outcomes[name]["result"], outcomes[name]["log"]) == ("SUCCESS", [cli])
    (setup,) = shell_calls(outcomes["install"])
    assert setup["env"]["BRIDGE_SETUP_FIND_LINKS"] == str(wheelhouse)
    (installed,) = venv.glob("lib/python3*/site-packages/jenkins_bridge")
    assert (installed / "vars" / "bridgeSetup.groovy").is_file()  # from the wheel, not the tree
    assert (venv / ".complete").is_file()

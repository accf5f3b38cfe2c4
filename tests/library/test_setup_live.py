"""bridgeSetup for real (live mode, no engine): with no cache it creates the virtualenv and
installs jenkins-bridge from a wheel offline, the cached virtualenv is then reused without
installing anything, and a CLI of another version stops the build with one message."""

from __future__ import annotations

import os
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge import __version__
from tests.library.harness import ROOT, case, run_cases, shell_calls

pytestmark = pytest.mark.groovy


def run_builds(tmp_path: Path, builds: dict[str, tuple[str, dict[str, str]]]) -> dict[str, Any]:
    """Each build (name: its script and the agent's variables) live in one JVM and workspace."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    cases = [
        case(name, script=script, env=env, mode="live", workspace=str(workspace), checkoutEnv={})
        for name, (script, env) in builds.items()
    ]
    return run_cases(cases, tmp_path)


def test_setup_reuses_the_cached_venv_and_refuses_another_version(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    venv = cache / f"venv-{__version__}"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "jenkins-bridge").symlink_to(ROOT / ".venv" / "bin" / "jenkins-bridge")
    (venv / ".complete").touch()
    old = tmp_path / "old-cli"
    old.write_text("#!/bin/sh\necho 'jenkins-bridge, version 0.0.9'\n")
    old.chmod(0o755)
    outcomes = run_builds(
        tmp_path,
        {
            "cached": (
                "echo(bridgeSetup())",
                {"JENKINS_BRIDGE_CACHE": str(cache), "PATH": "/usr/bin:/bin"},
            ),
            "other-version": ("bridgeSetup()", {"JENKINS_BRIDGE_CLI": str(old)}),
        },
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
    do not even exist, so any pip call would fail it. An install that cannot succeed stops the
    build with one message and leaves no complete marker."""
    (wheel,) = wheelhouse.glob("jenkins_bridge-*.whl")
    cache = tmp_path / "cache"
    venv_path = sysconfig.get_paths()["purelib"]
    agent = {
        "JENKINS_BRIDGE_CACHE": str(cache),
        "PYTHONPATH": venv_path,
        "PIP_CONFIG_FILE": os.devnull,  # the machine's pip configuration names no index here
    }
    gone = tmp_path / "gone"
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    builds = {
        "install": (wheel, wheelhouse),
        "reuse": (gone / wheel.name, gone),
    }
    outcomes = run_builds(
        tmp_path,
        {
            **{
                name: (
                    "echo(bridgeSetup())",
                    {**agent, "JENKINS_BRIDGE_WHEEL": str(w), "JENKINS_BRIDGE_FIND_LINKS": str(f)},
                )
                for name, (w, f) in builds.items()
            },
            # without the test venv, pip finds nothing; with it, pip is content with the
            # jenkins-bridge it sees there and installs nothing
            **{
                name: (
                    "bridgeSetup()",
                    {
                        **agent,
                        "JENKINS_BRIDGE_CACHE": str(tmp_path / name),
                        "JENKINS_BRIDGE_FIND_LINKS": str(empty),
                        "PYTHONPATH": pythonpath,
                    },
                )
                for name, pythonpath in (("nothing-to-install", ""), ("met-elsewhere", venv_path))
            },
        },
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
    for name, message in (
        ("nothing-to-install", "pip could not install jenkins-bridge {version} into {venv}"),
        ("met-elsewhere", "pip installed no jenkins-bridge executable into {venv}"),
    ):
        other = tmp_path / name / f"venv-{__version__}"
        problem = message.format(version=__version__, venv=other)
        assert (outcomes[name]["result"], outcomes[name]["log"]) == (
            "FAILURE",
            [
                f"bridgeSetup: {problem} (pip's messages are in the log above): check wheel, "
                "findLinks and indexUrl"
            ],
        )
        assert not (other / ".complete").exists()  # the next build installs again

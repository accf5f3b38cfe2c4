"""bridgeSetup for real (live mode, no engine): the cached virtualenv is reused without
installing anything, and a CLI of another version stops the build with one message."""

from __future__ import annotations

import os
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

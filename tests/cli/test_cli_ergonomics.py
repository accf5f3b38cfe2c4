"""The CLI in the hand (issue 20): help on a bare call, global options after the command,
colour and progress only on a terminal, completion of environments and controllers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, CliResult
from terminal import run_in_terminal

Cli = Callable[..., CliResult]
EXAMPLE = ROOT / "examples" / "payments" / "payments-api.yaml"
ESCAPE = "\x1b["


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "jenkins_bridge", *args],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
        timeout=120,
    )


def test_a_bare_call_prints_help_not_an_error() -> None:
    proc = _run()
    assert proc.returncode == 0, proc.stderr
    assert "Usage: jenkins-bridge" in proc.stdout and "Commands:" in proc.stdout
    assert "error" not in proc.stderr.lower()


def test_global_options_are_accepted_after_the_command(cli: Cli) -> None:
    envelope = cli("validate", str(ROOT / "examples"), "--output", "json").json()
    assert envelope["status"] == "ok"
    assert cli("validate", "--output=json", str(ROOT / "examples")).json()["status"] == "ok"
    assert cli("validate", str(ROOT / "examples"), "--no-color").exit_code == 0
    # a usage error after the command is still reported in the mode asked for
    assert cli("validate", "/nope", "--output", "json").json()["status"] == "usage"


def test_nothing_after_a_double_dash_is_taken_as_a_global_option() -> None:
    from jenkins_bridge.cli import hoist_global_options

    argv = ["exec", "svc.yaml", "--env", "x", "--output", "json", "--", "ls", "--output", "x"]
    assert hoist_global_options(argv) == [
        "--output",
        "json",
        "exec",
        "svc.yaml",
        "--env",
        "x",
        "--",
        "ls",
        "--output",
        "x",
    ]


def test_help_says_every_target_not_only_docker(cli: Cli) -> None:
    text = cli("--help").stdout
    assert "Docker environment" not in text
    assert "Kubernetes" in text and "_JENKINS_BRIDGE_COMPLETE" in text


def test_colour_only_on_a_terminal(tmp_path: Path) -> None:
    on_terminal = run_in_terminal(("validate", str(tmp_path / "nope.yaml")))
    assert on_terminal.exit_code == 1
    assert f"{ESCAPE}1;31merror:{ESCAPE}0m" in on_terminal.output
    for args, env in (
        (("validate", str(tmp_path / "nope.yaml")), {"NO_COLOR": "1"}),
        (("validate", str(tmp_path / "nope.yaml"), "--no-color"), {}),
        (("--output", "json", "validate", str(tmp_path / "nope.yaml")), {}),
    ):
        plain = run_in_terminal(args, env=env)
        assert plain.exit_code == 1 and ESCAPE not in plain.output, (args, plain.output)
    piped = _run("validate", str(tmp_path / "nope.yaml"))
    assert piped.returncode == 1 and ESCAPE not in piped.stderr + piped.stdout


def _complete(words: str, cword: int, **env: str) -> list[str]:
    proc = _run(
        **{"_JENKINS_BRIDGE_COMPLETE": "bash_complete", "COMP_WORDS": words},
        COMP_CWORD=str(cword),
        **env,
    )
    assert proc.returncode == 0, proc.stderr
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines() if line]


def test_completion_offers_environments_and_controllers(tmp_path: Path) -> None:
    words = f"jenkins-bridge deploy {EXAMPLE} --env "
    assert _complete(words, 4) == ["production", "staging"]
    assert _complete(f"jenkins-bridge status {EXAMPLE} --env st", 4) == ["staging"]
    config = tmp_path / "controllers.yaml"
    config.write_text(
        "controllers:\n  prod: {url: 'http://127.0.0.1:1'}\n  local: {url: 'http://127.0.0.1:2'}\n"
    )
    found = _complete("jenkins-bridge plan x --controller ", 4, JENKINS_BRIDGE_CONFIG=str(config))
    assert found == ["local", "prod"]
    # nothing readable: nothing offered, never an error
    assert _complete(f"jenkins-bridge deploy {tmp_path}/none.yaml --env ", 4) == []


@pytest.mark.parametrize("mode", ["text", "json"])
def test_apply_progress_counts_up_on_a_terminal_and_never_in_json(
    mode: str, jenkins_env: object, tmp_path: Path, library_repo: str
) -> None:
    from tests.provision.conftest import write_services

    root = write_services(tmp_path / "d", teams=1, per_team=24)  # 25 changes
    shown = run_in_terminal(("--output", mode, "apply", str(root), "--yes", "--max-rps", "0"))
    assert shown.exit_code == 0, shown.output
    counts = [int(n) for n in re.findall(r"apply: (\d+)/25", shown.output)]
    if mode == "json":
        assert counts == [] and ESCAPE not in shown.output
        json.loads(shown.output[shown.output.index("{") :])
        return
    assert counts and counts == sorted(set(counts)) and counts[-1] == 25

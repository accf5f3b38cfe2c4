"""The real pipeline run time (groovy-cps and script-security's sandbox) from
``shared/jenkins-sandbox`` beside the checkout, when this machine has it.

It is not part of the project: a user's clone has no ``shared/``, and every test that needs it
skips there with the reason below. ``JENKINS_SANDBOX_DIR`` points elsewhere when it lives in
another place. Nothing outside ``tests/`` may use it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def sandbox_dir() -> Path | None:
    """Where ``run.sh`` lives, or None when this machine has no sandbox run time."""
    configured = os.environ.get("JENKINS_SANDBOX_DIR")
    candidates = [Path(configured)] if configured else [ROOT.parent / "shared" / "jenkins-sandbox"]
    for candidate in candidates:
        if (candidate / "run.sh").is_file():
            return candidate.resolve()
    return None


SKIP_REASON = (
    "the real pipeline run time (groovy-cps + script-security sandbox) is not on this machine: "
    f"expected {ROOT.parent / 'shared' / 'jenkins-sandbox'}/run.sh or JENKINS_SANDBOX_DIR"
)

needs_sandbox = pytest.mark.skipif(sandbox_dir() is None, reason=SKIP_REASON)


@dataclass(frozen=True)
class CaseOutcome:
    """One case's verdict from ``run.sh steps``: ``SUCCESS`` or ``FAILURE`` with the exception
    and message, and the lines the runner printed after it (notes, ``description: ...``,
    ``log: ...``)."""

    name: str
    status: str
    failure: str
    log: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"


_VERDICT = re.compile(r"^== (?P<name>.+?): (?P<status>SUCCESS|FAILURE)(?:: (?P<failure>.*))?$")


def run_steps(
    cases: Sequence[dict[str, Any]], tmp_path: Path, *, timeout: float = 600
) -> dict[str, CaseOutcome]:
    """Runs this checkout's ``vars/`` and ``src/`` as an untrusted folder library through each
    case (the runner's JSON case format), all in one JVM; returns the outcome per case name."""
    root = sandbox_dir()
    if root is None:
        pytest.skip(SKIP_REASON)
    files = []
    for index, case in enumerate(cases):
        path = tmp_path / f"case-{index:03d}.json"
        path.write_text(json.dumps(case), encoding="utf-8")
        files.append(str(path))
    proc = subprocess.run(
        ["bash", str(root / "run.sh"), "steps", str(ROOT), *files],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    # The runner prints a case's verdict first, then its notes, description and log lines.
    outcomes: dict[str, CaseOutcome] = {}
    current: re.Match[str] | None = None
    log: list[str] = []

    def close() -> None:
        if current is not None:
            outcomes[current["name"]] = CaseOutcome(
                current["name"], current["status"], current["failure"] or "", tuple(log)
            )

    for line in proc.stdout.splitlines():
        verdict = _VERDICT.match(line)
        if verdict is None:
            log.append(line)
            continue
        close()
        current, log = verdict, []
    close()
    missing = [c["name"] for c in cases if c["name"] not in outcomes]
    if missing:
        raise AssertionError(
            f"run.sh steps gave no verdict for {missing} (exit {proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return outcomes


def compile_jenkinsfiles(
    paths: Sequence[Path], *, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Compiles each file plain, CPS and sandbox+CPS (``run.sh compile``) in one JVM."""
    root = sandbox_dir()
    if root is None:
        pytest.skip(SKIP_REASON)
    return subprocess.run(
        ["bash", str(root / "run.sh"), "compile", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

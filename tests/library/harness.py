"""Drive ``tests/groovy/PipelineHarness.groovy``: many pipeline runs in one JVM.

A case is a dict (see the harness' header); ``run_cases`` writes them to a spec file, runs
Groovy 2.4 once and returns each case's outcome by name: result, stage results, the recorded
step calls and the log.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conftest import run_groovy

ROOT = Path(__file__).resolve().parent.parent.parent
HARNESS = ROOT / "tests" / "groovy" / "PipelineHarness.groovy"
STUBS = ROOT / "tests" / "groovy" / "stubs"

# What the CLI answers in recorded mode: `--version` for bridgeSetup, JSON for each command.
CLI_VERSION = "/agent/jenkins-bridge/bin/jenkins-bridge\njenkins-bridge, version 0.1.0\n"


def cli_answers(repository: str = "registry.example.com/payments/api") -> list[dict[str, Any]]:
    return [
        {"match": r"--version", "stdout": CLI_VERSION},
        {
            "match": r"image build",
            "result": {
                "status": "built",
                "data": {"reference": f"{repository}:0123456789ab", "repository": repository},
            },
        },
        {
            "match": r"image push",
            "result": {
                "status": "pushed",
                "data": {"reference": f"{repository}@sha256:" + "a" * 64},
            },
        },
        {"match": r" validate ", "result": {"status": "ok", "data": {"services": []}}},
        {
            "match": r" deploy ",
            "result": {
                "status": "live",
                "data": {
                    "result": "live",
                    "record": {"digest": f"{repository}@sha256:" + "d" * 64},
                },
            },
        },
        {"match": r" rollback ", "result": {"status": "rolled-back", "data": {}}},
    ]


def case(name: str, jenkinsfile: Path | None = None, **fields: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "library": str(ROOT),
        "mode": "recorded",
        "env": {"JOB_NAME": "team/app", "BUILD_NUMBER": "7", "BUILD_URL": "http://127.0.0.1/b/7/"},
        "checkoutEnv": {"GIT_BRANCH": "origin/main", "GIT_COMMIT": "0123456789abcdef0123"},
        "sh": cli_answers(),
    }
    if jenkinsfile is not None:
        spec["jenkinsfile"] = str(jenkinsfile)
    spec.update(fields)
    return spec


def run_cases(cases: Sequence[dict[str, Any]], tmp: Path, timeout: float = 600) -> dict[str, Any]:
    spec = tmp / "harness-spec.json"
    spec.write_text(json.dumps(list(cases)), encoding="utf-8")
    classpath = os.pathsep.join([str(STUBS), str(ROOT / "src")])
    outcomes, stderr = run_groovy(
        ["-cp", classpath, str(HARNESS), str(spec)], "name", timeout=timeout, cwd=ROOT
    )
    crashed = {name: o["crashed"][:3000] for name, o in outcomes.items() if "crashed" in o}
    assert not crashed, crashed
    missing = [c["name"] for c in cases if c["name"] not in outcomes]
    assert not missing, f"no outcome for {missing}: {stderr[-3000:]}"
    return outcomes


def shell_calls(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in outcome["calls"] if c["step"] == "sh"]


def cli_commands(outcome: dict[str, Any]) -> list[str]:
    """The sh scripts that run the CLI (not setup or housekeeping)."""
    return [c["script"] for c in shell_calls(outcome) if c["script"].startswith('"$BRIDGE_CLI"')]


def stage_results(outcome: dict[str, Any]) -> list[tuple[str, str]]:
    return [(name, status) for name, status in outcome["stages"]]

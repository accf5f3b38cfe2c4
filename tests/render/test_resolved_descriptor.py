"""Which descriptor a build runs with: the generated Jenkinsfile carries the resolved
descriptor (team defaults merged, as render used them), for both job types, so nothing is
hand-copied into the service repository and nothing drifts; a changed ``_defaults.yaml``
changes the pipeline only through ``render`` (and ``render --check`` says it is stale)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CliResult

from jenkins_bridge.render.quoting import groovy_long_string

_METHOD = re.compile(r"String resolvedDescriptor\(\) \{\n    return (.*?)\n\}\n", re.S)
_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'")


def resolved_in(jenkinsfile: str) -> dict[str, Any]:
    """The descriptor the Jenkinsfile hands its steps (ASCII JSON: only \\\\ and \\' escapes)."""
    found = _METHOD.search(jenkinsfile)
    assert found, "the Jenkinsfile carries no resolvedDescriptor()"
    text = "".join(re.sub(r"\\(.)", r"\1", m.group(1)) for m in _LITERAL.finditer(found.group(1)))
    data: dict[str, Any] = json.loads(text)
    return data


DEFAULTS = """\
apiVersion: jenkins-bridge/v1
kind: Service
pipeline: {agent: linux-docker, timeoutMinutes: 45}
image: {repository: registry.example.com/platform/app, buildArgs: {BASE: debian-12}}
locked: [pipeline.agent]
"""


def _service(job_type: str) -> str:
    return (
        "metadata: {name: app, team: platform}\n"
        "source: {repo: https://git.example.com/platform/app.git}\n"
        f"pipeline: {{jobType: {job_type}, keepBuilds: 5}}\n"
    )


@pytest.mark.parametrize("job_type", ["pipeline", "multibranch"])
def test_the_pipeline_carries_the_merged_descriptor_and_follows_defaults_only_after_render(
    job_type: str, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    repo = tmp_path / "descriptors"
    (repo / ".git").mkdir(parents=True)
    (repo / "platform").mkdir()
    (repo / "platform" / "_defaults.yaml").write_text(DEFAULTS)
    (repo / "platform" / "app.yaml").write_text(_service(job_type))
    out = tmp_path / "out"
    assert cli("render", str(repo), "-o", str(out)).exit_code == 0
    jenkinsfile = out / "platform" / "app" / "Jenkinsfile"
    resolved = resolved_in(jenkinsfile.read_text())
    assert resolved["pipeline"] == {
        "agent": "linux-docker",
        "timeoutMinutes": 45,
        "jobType": job_type,
        "keepBuilds": 5,
    }
    assert resolved["image"]["buildArgs"] == {"BASE": "debian-12"}
    assert "locked" not in resolved
    manifest = json.loads((out / "manifest.json").read_text())
    assert "platform/app/Jenkinsfile" in {a["path"] for a in manifest["artifacts"]}

    # A changed team default: the rendered pipeline still says 45 (nothing changes silently);
    # render --check reports it stale; the next render carries the new value.
    (repo / "platform" / "_defaults.yaml").write_text(DEFAULTS.replace("45", "30"))
    assert resolved_in(jenkinsfile.read_text())["pipeline"]["timeoutMinutes"] == 45
    check = cli("render", str(repo), "-o", str(out), "--check")
    assert check.exit_code == 2
    assert "platform/app/Jenkinsfile" in check.stdout + check.stderr
    assert cli("render", str(repo), "-o", str(out)).exit_code == 0
    assert resolved_in(jenkinsfile.read_text())["pipeline"]["timeoutMinutes"] == 30
    assert cli("render", str(repo), "-o", str(out), "--check").exit_code == 0


@pytest.mark.parametrize(
    "value", ["", "x" * 500, "a'b\\c" * 40, "\u202e\x1b\n${evil()}\U0001f600" * 30]
)
def test_long_string_is_one_value_split_into_short_literals(value: str) -> None:
    text = groovy_long_string(value)
    for line in text.splitlines():
        assert len(line) <= 8 + 96 + 4, line
    if value.isascii() and value.isprintable():
        pieces = _LITERAL.findall(text)
        assert "".join(re.sub(r"\\(.)", r"\1", p) for p in pieces) == value

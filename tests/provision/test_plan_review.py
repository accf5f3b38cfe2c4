"""What a reviewer reads in ``plan`` (issue 20): sectioned diffs, change kinds, what plain plan
did not fetch, managed jobs with no descriptor; ``apply``'s confirmation; controllers.yaml
library settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import GOLDEN, CliResult, Provisioned
from terminal import run_in_terminal

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.provision.review import flatten, split_descriptor
from jenkins_bridge.render.jenkinsfile import render_jenkinsfile
from jenkins_bridge.render.quoting import groovy_literals
from jenkins_bridge.testing import JenkinsEmulator

from .conftest import TOKEN, USER, write_service, write_services

Cli = Callable[..., CliResult]
FAST = ("--max-rps", "0")
PARAMETER = "pipeline: {parameters: [{name: TARGET, description: 'build && test <all>'}]}"


def test_update_diff_is_script_text_and_one_key_per_line(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(write_services(tmp_path / "d", teams=1, per_team=2))
    write_service(root, "team-000", "svc-0001", branch="develop", pipeline=PARAMETER[10:])
    planned = cli("plan", str(root), *FAST)
    assert planned.exit_code == 2, planned.stderr
    out = planned.stdout
    header = "~ update job team-000/svc-0001 (changed): job settings, pipeline script, "
    assert header + "resolved descriptor" in out
    # XML text is shown as text, never escaped
    assert "&amp;" not in out and "&lt;" not in out
    assert "build && test <all>" in out
    # the resolved descriptor: one key a line, not rewrapped JSON literals
    assert '-source.branch: "main"' in out.splitlines()
    assert '+source.branch: "develop"' in out.splitlines()
    assert '+pipeline.parameters[0].description: "build && test <all>"' in out.splitlines()
    assert "# pipeline script" in out and "# resolved descriptor" in out
    assert any(line.startswith("+") and "branch: 'develop'" in line for line in out.splitlines())
    assert "updates by kind of change: job settings 1, pipeline script 1, " in out
    diff_lines = [
        line for line in out.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"
    ]
    assert len(diff_lines) < 30, diff_lines


def test_plain_plan_says_what_it_did_not_fetch_and_what_prune_would_take(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, provisioned: Provisioned
) -> None:
    root = provisioned(write_services(tmp_path / "d", teams=1, per_team=3))
    (root / "team-000" / "svc-0002.yaml").unlink()
    planned = cli("plan", str(root), *FAST)
    assert planned.exit_code == 0, planned.stderr
    assert (
        "1 managed job(s) have no descriptor (would be pruned with --prune): team-000/svc-0002"
        in planned.stdout
    )
    assert "3 unchanged item(s) were not fetched" in planned.stdout
    assert "--verify fetches them" in planned.stdout
    data = cli("plan", str(root), "--output", "json", *FAST).json()["data"]
    assert data["unpruned"] == ["team-000/svc-0002"] and data["not_fetched"] == 3
    verified = cli("plan", str(root), "--verify", *FAST)
    assert "not fetched" not in verified.stdout and "would be pruned" in verified.stdout
    pruning = cli("plan", str(root), "--prune", *FAST)
    assert "- disable job team-000/svc-0002 (removed)" in pruning.stdout
    assert "would be pruned" not in pruning.stdout


def test_apply_asks_on_a_terminal_above_the_threshold(
    jenkins_env: JenkinsEmulator, tmp_path: Path
) -> None:
    root = write_services(tmp_path / "d", teams=1, per_team=3)  # 4 changes with the folder
    args = ("apply", str(root), "--confirm-above", "3", *FAST)
    refused = run_in_terminal(args, answers={"[y/N]:": "n"})
    assert "Apply these 4 changes? [y/N]:" in refused.output
    assert "+ create job team-000/svc-0001 (new)" in refused.output  # what it asks about
    assert refused.exit_code == 1 and "apply was not confirmed" in refused.output
    assert jenkins_env.items == {}
    # --yes skips the question; so does staying at or under the threshold
    assert run_in_terminal((*args, "--yes")).exit_code == 0
    assert len(jenkins_env.items) == 4
    write_service(root, "team-000", "svc-0001", branch="develop")
    quiet = run_in_terminal(args)
    assert quiet.exit_code == 0 and "[y/N]" not in quiet.output
    assert "branch: 'develop'" in jenkins_env.items["team-000/svc-0001"].config_xml


def test_apply_off_a_terminal_proceeds_without_asking(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path
) -> None:
    # CI: nobody to ask; the plan was the review. It must neither hang nor refuse.
    root = write_services(tmp_path / "d", teams=1, per_team=3)
    applied = cli("apply", str(root), "--confirm-above", "1", *FAST)
    assert applied.exit_code == 0, applied.stderr
    assert len(jenkins_env.items) == 4


def test_library_settings_come_from_controllers_yaml_and_options_override_them(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JENKINS_BRIDGE_LIBRARY_REPO")
    config = tmp_path / "controllers.yaml"
    config.write_text(
        f"controllers:\n  local:\n    url: {jenkins_env.url}\n    user: {USER}\n"
        "    token_env: LOCAL_TOKEN\n    library:\n"
        "      repo: https://git.example.com/platform/from-yaml.git\n"
        "      version: release/2\n      credentials_id: library-reader\n"
    )
    monkeypatch.setenv("JENKINS_BRIDGE_CONFIG", str(config))
    monkeypatch.setenv("LOCAL_TOKEN", TOKEN)
    root = write_services(tmp_path / "d", teams=1, per_team=1)
    applied = cli("apply", str(root), "--controller", "local", *FAST)
    assert applied.exit_code == 0, applied.stderr
    folder = jenkins_env.items["team-000"].config_xml
    assert "https://git.example.com/platform/from-yaml.git" in folder
    assert "release/2" in folder and "library-reader" in folder
    # an option (or its environment variable) wins over the file, field by field
    other = "https://git.example.com/platform/from-option.git"
    planned = cli("plan", str(root), "--controller", "local", "--library-repo", other, *FAST)
    assert planned.exit_code == 2 and "from-option.git" in planned.stdout
    assert "library-reader" not in [line for line in planned.stdout.splitlines() if line[:1] == "-"]
    monkeypatch.setenv("JENKINS_BRIDGE_LIBRARY_REPO", "https://git.example.com/p/from-env.git")
    from_env = cli("plan", str(root), "--controller", "local", *FAST)
    assert from_env.exit_code == 2 and "from-env.git" in from_env.stdout
    monkeypatch.delenv("JENKINS_BRIDGE_LIBRARY_REPO")
    # a bad value in the file is a located usage error, not a traceback
    config.write_text(config.read_text().replace("release/2", "'bad version'"))
    bad = cli("plan", str(root), "--controller", "local", *FAST)
    assert bad.exit_code == 1 and "library.version 'bad version'" in bad.stderr
    assert str(config) in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("case", ["hostile-values", "full", "minimal"])
def test_the_resolved_descriptor_is_read_back_exactly(case: str) -> None:
    # Every value, quotes, backslashes and non-ASCII included, comes back from the Groovy
    # literals as the JSON render wrote, so the key-per-line diff shows real values.
    for service in load_services([str(GOLDEN / case)]):
        script, lines = split_descriptor(render_jenkinsfile(service))
        assert lines == list(flatten(json.loads(service.resolved))), service.full_name
        assert "resolvedDescriptor() {" in script and "'{" not in script


def test_a_descriptor_in_parts_is_read_back_whole() -> None:
    value = {"env": {f"K{i}": "x'\\\\é" * 30 for i in range(300)}}
    literals = groovy_literals(json.dumps(value, ensure_ascii=False))
    parts = [literals[i : i + 200] for i in range(0, len(literals), 200)]
    methods = "\n\n".join(
        f"String resolvedDescriptorPart{n + 1}() {{\n    return " + " +\n        ".join(p) + "\n}"
        for n, p in enumerate(parts)
    )
    calls = " +\n        ".join(f"resolvedDescriptorPart{n + 1}()" for n in range(len(parts)))
    script = (
        f"// x\nString resolvedDescriptor() {{\n    return {calls}\n}}\n\n"
        f"{methods}\n\npipeline {{}}\n"
    )
    body, lines = split_descriptor(script)
    assert len(parts) > 1 and lines == list(flatten(value))
    assert "resolvedDescriptorPart" not in body and "pipeline {}" in body

"""The generated pipeline's shape, read from the Groovy 2.4 AST (how calls nest), not from text.

What matters in Jenkins: an approval waiting must hold no executor and must not be cut by the
work's timeout; build, tests and push of one image share one agent (the image lives on that
machine's engine); an approval can expire on purpose and says so; a multibranch deploy guard
compares the branch exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import GOLDEN, groovy_facts

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.errors import InvalidDescriptors
from jenkins_bridge.render.jenkinsfile import render_jenkinsfile

pytestmark = pytest.mark.groovy


def _facts(tmp_path: Path, *cases: str) -> dict[str, tuple[Service, str, dict[str, Any]]]:
    rendered: dict[str, tuple[Service, Path, str]] = {}
    for case in cases:
        (service, *_) = load_services([GOLDEN / case])
        path = tmp_path / f"{case}.groovy"
        text = render_jenkinsfile(service)
        path.write_text(text, encoding="utf-8")
        rendered[case] = (service, path, text)
    facts = groovy_facts([path for _, path, _ in rendered.values()])
    return {case: (s, text, facts[str(path)]) for case, (s, path, text) in rendered.items()}


def _stage(paths: list[str], name: str) -> list[str]:
    """The paths inside one top-level stage, relative to it."""
    prefix = f"pipeline/stages/stage:{name}/"
    return [p[len(prefix) :] for p in paths if p.startswith(prefix)]


def test_no_executor_is_held_for_the_whole_run(tmp_path: Path) -> None:
    for case in ("full", "multibranch", "minimal", "hostile-values"):
        _, text, facts = _facts(tmp_path, case)[case]
        assert facts["ok"], facts.get("error")
        assert "\n    agent none\n" in text, case
        # Nothing pipeline-wide would abort an approval while it waits, and no top-level
        # step needs a workspace (there is none with `agent none`).
        assert "pipeline/options/timeout" not in facts["paths"], case
        assert not [p for p in facts["paths"] if p.startswith("pipeline/post/cleanup")], case


def test_build_tests_and_push_share_one_agent_and_one_work_timeout(tmp_path: Path) -> None:
    service, text, facts = _facts(tmp_path, "full")["full"]
    paths = facts["paths"]
    stage = _stage(paths, "Build")
    assert "agent/label:linux-docker" in stage
    assert "options/timeout" in stage
    for step in ("bridgeBuild", "bridgeTest", "bridgePush"):
        assert any(p.startswith("stages/stage:") and p.endswith(f"steps/{step}") for p in stage)
    assert "post/cleanup/deleteDir" in stage
    # No other stage builds, tests or pushes.
    for step in ("bridgeBuild", "bridgeTest", "bridgePush"):
        assert all(p.startswith("pipeline/stages/stage:Build/") for p in paths if step in p)
    assert f"timeout({service.pipeline.timeout_minutes})" in text


def test_approval_waits_without_agent_and_expires_on_its_own_timeout(tmp_path: Path) -> None:
    for case in ("full", "multibranch"):
        service, text, facts = _facts(tmp_path, case)[case]
        paths = facts["paths"]
        (production,) = [d for d in service.deploy if d.environment == "production"]
        assert production.approval is not None
        approve = _stage(paths, "Approve: production")
        deploy = _stage(paths, "Deploy: production")
        assert any(p.startswith("input/") for p in approve), case
        assert not any(p.startswith("agent") for p in approve), "an approval holds no agent"
        assert "options/timeout" in approve
        if service.pipeline.job_type == "multibranch":
            # skipped approvals start no timer; a plain job builds only the deploy branch
            assert "when/beforeOptions" in approve
        else:
            assert not any(p.startswith("when") for p in approve + deploy)
        # The deploy work: its own agent and timeout, no input under that timeout.
        assert any(p.startswith("agent") for p in deploy), case
        assert "options/timeout" in deploy
        assert ("when/beforeAgent" in deploy) == (service.pipeline.job_type == "multibranch")
        assert not any(p.startswith("input") for p in deploy)
        assert "post/cleanup/deleteDir" in deploy
        minutes = production.approval.timeout_minutes
        assert f"timeout({minutes})\n" in text  # minutes, the step's default unit
        # Declarative runs no post of a stage whose input was declined or expired
        # (ModelInterpreter.executeSingleStage): the top-level post { aborted } says it.
        assert not any(p.startswith("post/") for p in approve), case
        said = [p for p in paths if p.startswith("pipeline/post/aborted/echo:")]
        assert any(f"production after {minutes} minutes" in p for p in said), said
        # Whoever is notified hears about an abort (an expired approval aborts the build).
        if service.pipeline.notify.email:
            assert "pipeline/post/aborted/mail" in paths


def test_an_unapproved_deploy_has_no_approval_stage(tmp_path: Path) -> None:
    _, _, facts = _facts(tmp_path, "full")["full"]
    assert not _stage(facts["paths"], "Approve: staging")
    assert _stage(facts["paths"], "Deploy: staging")


def test_multibranch_deploy_guard_compares_the_branch_exactly(tmp_path: Path) -> None:
    service, text, facts = _facts(tmp_path, "multibranch")["multibranch"]
    branch = service.source.branch
    # `branch 'release'` is a case-insensitive Ant glob: 'Release' would deploy too.
    assert "branch" not in facts["calls"]
    guard = f"expression {{ env.BRANCH_NAME == '{branch}' }}"
    for stage in ("Build/stages/stage:Push image", "Approve: production", "Deploy: staging"):
        assert f"pipeline/stages/stage:{stage}/when/expression" in facts["paths"], stage
    assert text.count(guard) == 4  # push, two deploys, one approval


def _approval_descriptor(tmp_path: Path, approval: dict[str, Any]) -> Path:
    path = tmp_path / "svc.yaml"
    document = {
        "apiVersion": "jenkins-bridge/v1",
        "kind": "Service",
        "metadata": {"name": "svc", "team": "core"},
        "source": {"repo": "https://git.example.com/core/svc.git"},
        "image": {"repository": "registry.example.com/core/svc"},
        "deploy": [{"environment": "prod", "approval": approval}],
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_approval_timeout_defaults_from_the_schema_and_is_bounded(tmp_path: Path) -> None:
    from jenkins_bridge.descriptor.schema import SCHEMA

    approval = SCHEMA["properties"]["deploy"]["items"]["properties"]["approval"]
    default = approval["properties"]["timeoutMinutes"]["default"]
    (service,) = load_services([_approval_descriptor(tmp_path, {})])
    assert service.deploy[0].approval is not None
    assert service.deploy[0].approval.timeout_minutes == default
    (service,) = load_services([_approval_descriptor(tmp_path, {"timeoutMinutes": 30})])
    assert service.deploy[0].approval is not None
    assert service.deploy[0].approval.timeout_minutes == 30
    with pytest.raises(InvalidDescriptors) as caught:
        load_services([_approval_descriptor(tmp_path, {"timeoutMinutes": 0})])
    assert "deploy[0].approval.timeoutMinutes: must be at least 1" in str(
        caught.value.problems()[0]
    )

"""Every generated Jenkinsfile parses as Groovy 2.4, and descriptor values stay string data.

One JVM parses all files (a JVM start costs ~1 s). The AST facts prove the escaping: a hostile
value appears as one string constant, adds no method call, and no user value is in a GString.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import GOLDEN, ROOT, groovy_facts

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.render.jenkinsfile import render_jenkinsfile

pytestmark = pytest.mark.groovy

# Every method name the template may call; anything else would be injected code.
ALLOWED_CALLS = {
    "pipeline", "agent", "label", "options", "timeout", "buildDiscarder", "logRotator",
    "timestamps", "disableConcurrentBuilds", "triggers", "pollSCM", "cron", "parameters",
    "booleanParam", "string", "text", "choice", "environment", "stages", "stage", "steps",
    "when", "expression", "branch", "input", "message", "ok", "submitter",
    "bridgeBuild", "bridgeTest", "bridgePush", "bridgeDeploy", "bridgeValidate", "post",
    "failure", "fixed", "mail", "cleanup", "deleteDir", "replaceFirst", "any",
    "echo", "aborted", "beforeAgent", "beforeOptions",
    "runScript",  # the main() Groovy adds to every script class
    "skipDefaultCheckout", "git",  # a plain job checks its source out itself
    "resolvedDescriptor",  # the script method carrying the resolved descriptor
}  # fmt: skip
# The only GStrings the template writes itself (Jenkins' own env, never descriptor values).
ALLOWED_GSTRINGS = {
    "Build failed: $env.JOB_NAME #$env.BUILD_NUMBER",
    "Build fixed: $env.JOB_NAME #$env.BUILD_NUMBER",
    "Build aborted: $env.JOB_NAME #$env.BUILD_NUMBER",
    "See $env.BUILD_URL",
}


def _render_all(tmp_path: Path) -> dict[Path, object]:
    sources = [c for c in sorted(GOLDEN.iterdir()) if not c.name.startswith("err-")]
    sources.append(ROOT / "examples")
    rendered = {}
    for index, source in enumerate(sources):
        for service in load_services([source]):
            target = tmp_path / f"{index}-{service.metadata.team}-{service.metadata.name}.groovy"
            target.write_text(render_jenkinsfile(service), encoding="utf-8")
            rendered[target] = service
    return rendered


def test_every_generated_jenkinsfile_parses(tmp_path: Path) -> None:
    rendered = _render_all(tmp_path)
    assert len(rendered) >= 6
    facts = groovy_facts(list(rendered))
    for path in rendered:
        entry = facts[str(path)]
        assert entry["ok"], entry.get("error")
        assert set(entry["calls"]) <= ALLOWED_CALLS, set(entry["calls"]) - ALLOWED_CALLS
        assert set(entry["gstrings"]) <= ALLOWED_GSTRINGS, entry["gstrings"]


def test_the_checker_rejects_broken_groovy(tmp_path: Path) -> None:
    broken = tmp_path / "broken.groovy"
    broken.write_text("pipeline {\n  stage('x' {\n}\n", encoding="utf-8")
    injected = tmp_path / "injected.groovy"
    injected.write_text("pipeline { agent { label 'x' }; evil() }\n", encoding="utf-8")
    facts = groovy_facts([broken, injected])
    assert facts[str(broken)]["ok"] is False
    assert "evil" in facts[str(injected)]["calls"]  # the facts would catch an injection


def test_hostile_values_come_out_as_the_same_string_literals(tmp_path: Path) -> None:
    (service,) = load_services([GOLDEN / "hostile-values"])
    path = tmp_path / "evil.groovy"
    path.write_text(render_jenkinsfile(service), encoding="utf-8")
    entry = groovy_facts([path])[str(path)]
    assert entry["ok"], entry.get("error")
    strings = entry["strings"]
    expected_values = [
        service.pipeline.agent,
        service.pipeline.parameters[0].default,
        service.pipeline.parameters[0].description,
        *service.pipeline.parameters[1].choices,
        service.pipeline.test[0].name,
        service.pipeline.test[0].run,
        service.pipeline.notify.email,
        service.deploy[0].approval.submitter if service.deploy[0].approval else None,
        service.deploy[0].approval.message if service.deploy[0].approval else None,
    ]
    for value in expected_values:
        assert value in strings, f"{value!r} did not survive as one string constant"
    assert set(entry["calls"]) <= ALLOWED_CALLS
    assert set(entry["gstrings"]) <= ALLOWED_GSTRINGS

"""config.xml and folder.xml: well-formed, round-trip, escaped, deterministic."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import GOLDEN

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.render.jenkinsfile import render_jenkinsfile
from jenkins_bridge.render.job_config import render_folder_config, render_job_config
from jenkins_bridge.render.ownership import MANAGED_MARKER

RENDER_CASES = [c for c in sorted(GOLDEN.iterdir()) if not c.name.startswith("err-")]


def _services(case: Path):  # type: ignore[no-untyped-def]
    return load_services([case])


@pytest.mark.parametrize("case", RENDER_CASES, ids=lambda c: c.name)
def test_configs_parse_and_round_trip(case: Path) -> None:
    for service in _services(case):
        for text in (render_job_config(service), render_folder_config(service.metadata.team)):
            assert text.startswith("<?xml version='1.1' encoding='UTF-8'?>\n")
            root = ET.fromstring(text.split("\n", 1)[1])
            again = ET.tostring(root, encoding="unicode")
            assert ET.canonicalize(again) == ET.canonicalize(text.split("\n", 1)[1])


def test_hostile_values_are_escaped_data() -> None:
    (service,) = _services(GOLDEN / "hostile-values")
    text = render_job_config(service)
    root = ET.fromstring(text.split("\n", 1)[1])
    assert root.tag == "flow-definition"
    description = root.findtext("description") or ""
    assert service.metadata.description in description
    assert MANAGED_MARKER in description
    # The script travels as XML text, exactly the Jenkinsfile render writes.
    assert root.findtext("definition/script") == render_jenkinsfile(service)
    names = [e.text for e in root.iter("name")]
    assert "P1" in names and "P2" in names
    # Nothing a value says became markup: the element set is the one we build.
    assert root.find(".//x") is None
    assert "]]>" not in text or "]]&gt;" in text
    choices = [e.text for e in root.iter("string")]
    assert choices[0] == "${b}"  # declarative: the first choice is the default


def test_plugin_versions_fill_plugin_attributes() -> None:
    (service,) = _services(GOLDEN / "minimal")
    text = render_job_config(service, {"workflow-job": "1436.v", "workflow-cps": "4000.v"})
    root = ET.fromstring(text.split("\n", 1)[1])
    assert root.get("plugin") == "workflow-job@1436.v"
    assert root.find("definition").get("plugin") == "workflow-cps@4000.v"  # type: ignore[union-attr]


def test_a_plain_job_holds_its_script_and_reads_nothing_from_the_service_repository() -> None:
    """Issue 11: onboarding a plain pipeline job commits nothing into the service repository.
    The job's definition is the sandboxed script itself (CpsFlowDefinition's fields, in
    XStream's order), not a script path read from source.repo."""
    for case in ("minimal", "full", "team-defaults", "hostile-values"):
        for service in _services(GOLDEN / case):
            root = ET.fromstring(render_job_config(service).split("\n", 1)[1])
            definition = root.find("definition")
            assert definition is not None
            assert definition.get("class") == "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"
            assert [child.tag for child in definition] == ["script", "sandbox"]
            assert definition.findtext("sandbox") == "true"
            assert root.find(".//scm") is None and root.find(".//scriptPath") is None


def test_multibranch_is_a_multibranch_project() -> None:
    (service,) = _services(GOLDEN / "multibranch")
    root = ET.fromstring(render_job_config(service).split("\n", 1)[1])
    assert root.tag == "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
    assert root.findtext(".//factory/scriptPath") == "ci/Jenkinsfile"
    assert root.findtext(".//source/remote") == service.source.repo


def test_render_is_deterministic() -> None:
    first = [render_job_config(s) for s in _services(GOLDEN / "full")]
    second = [render_job_config(s) for s in _services(GOLDEN / "full")]
    assert first == second

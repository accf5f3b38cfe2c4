"""config.xml and folder.xml: well-formed, round-trip, escaped, deterministic."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import GOLDEN

from jenkins_bridge.descriptor import load_services
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
    assert root.findtext(".//hudson.plugins.git.UserRemoteConfig/url") == service.source.repo
    names = [e.text for e in root.iter("name")]
    assert "P1" in names and "P2" in names
    # Nothing a value says became markup: the element set is the one we build.
    assert root.find(".//x") is None
    assert "]]>" not in text or "]]&gt;" in text
    choices = [e.text for e in root.iter("string")]
    assert choices[0] == "${b}"  # declarative: the first choice is the default


def test_plugin_versions_fill_plugin_attributes() -> None:
    (service,) = _services(GOLDEN / "minimal")
    text = render_job_config(service, {"workflow-job": "1436.v", "git": "5.7.0"})
    root = ET.fromstring(text.split("\n", 1)[1])
    assert root.get("plugin") == "workflow-job@1436.v"
    assert root.find(".//scm").get("plugin") == "git@5.7.0"  # type: ignore[union-attr]
    assert root.find("definition").get("plugin") == "workflow-cps"  # type: ignore[union-attr]


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

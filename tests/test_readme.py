"""The README's descriptor reference is generated from the schema; keep them in step."""

from __future__ import annotations

from conftest import ROOT

from jenkins_bridge.descriptor.reference import END, START, render_reference


def test_readme_descriptor_reference_matches_schema() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert START in text and END in text
    embedded = text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert embedded == render_reference(), (
        "README descriptor reference is stale: regenerate with "
        "`python -m jenkins_bridge.descriptor.reference`"
    )

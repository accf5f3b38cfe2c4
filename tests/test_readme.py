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


def test_readme_monitoring_alert_is_the_generated_one() -> None:
    from conftest import GOLDEN

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- monitoring-alert:start -->\n```yaml\n", "```\n<!-- monitoring-alert:end -->"
    assert start in text and end in text
    shown = text.split(start, 1)[1].split(end, 1)[0]
    rules = GOLDEN / "full" / "expected" / "payments" / "payments-api" / "monitoring" / "rules.yml"
    assert shown.startswith("  - alert: ")
    assert shown in rules.read_text(encoding="utf-8"), "README alert differs from golden rules"

"""README is a short front page that leads into the documentation site; what it used to carry
(the descriptor reference, the monitoring example) is checked where it lives now, in docs/."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import GOLDEN, ROOT

README = ROOT / "README.md"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_readme_is_a_short_front_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 200
    for command in ("make demo", "make test", "make check"):
        assert command in text, command
    for verb in ("generates", "provisions", "builds and pushes", "deploys", "monitors"):
        assert f"**{verb}**" in text, verb


def test_readme_links_resolve_and_lead_into_the_docs() -> None:
    targets = LINK.findall(README.read_text(encoding="utf-8"))
    missing = [t for t in targets if "://" not in t and not (ROOT / t).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"
    for page in (
        "docs/getting-started.md",
        "docs/reference/descriptor.md",
        "docs/reference/cli.md",
        "docs/troubleshooting.md",
        "docs/targets/docker.md",
        "docs/jenkins/provisioning.md",
    ):
        assert page in targets, page


def test_readme_example_descriptor_is_valid(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert example is not None
    path = tmp_path / "payments-api.yaml"
    path.write_text(example.group(1), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "jenkins_bridge", "validate", str(path)],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_monitoring_page_alert_is_the_generated_one() -> None:
    text = (ROOT / "docs" / "guides" / "monitoring.md").read_text(encoding="utf-8")
    start, end = "<!-- monitoring-alert:start -->\n```yaml\n", "```\n<!-- monitoring-alert:end -->"
    assert start in text and end in text
    shown = text.split(start, 1)[1].split(end, 1)[0]
    rules = GOLDEN / "full" / "expected" / "payments" / "payments-api" / "monitoring" / "rules.yml"
    assert shown.startswith("  - alert: ")
    assert shown in rules.read_text(encoding="utf-8"), "docs alert differs from golden rules"

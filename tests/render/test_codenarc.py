"""Generated Jenkinsfiles pass CodeNarc's Jenkinsfile rule set (via npm-groovy-lint).

CodeNarc parses with Groovy 4 and checks style and correctness rules; the Groovy 2.4 parse
test stays the authority on syntax. One run lints every file (~10 s: a JVM start).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import GOLDEN, ROOT

pytestmark = pytest.mark.codenarc

LINTER = ROOT / ".tools" / "node_modules" / ".bin" / "npm-groovy-lint"


def _lint(folder: Path) -> dict[str, list[dict[str, object]]]:
    if not LINTER.exists():
        pytest.fail("npm-groovy-lint is not installed; `make test` installs it into .tools/")
    (folder / ".groovylintrc.json").write_text('{"extends": "recommended-jenkinsfile"}\n')
    proc = subprocess.run(
        [str(LINTER), "--noserver", "-o", "json", "--failon", "none", "."],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(proc.stdout[proc.stdout.index("{") :])
    return {Path(name).name: entry["errors"] for name, entry in report["files"].items()}


def test_generated_jenkinsfiles_have_no_codenarc_errors_or_warnings(tmp_path: Path) -> None:
    sources = sorted(GOLDEN.glob("*/expected/*/*/Jenkinsfile"))
    assert len(sources) >= 6
    for index, source in enumerate(sources):
        (tmp_path / f"J{index}.groovy").write_text(source.read_text())
    (tmp_path / "bad.groovy").write_text("pipeline { agent any }\ndef unused = 1\n")
    results = _lint(tmp_path)
    assert any(e["severity"] in ("error", "warning") for e in results["bad.groovy"]), (
        "the linter is not checking anything"
    )
    for name, errors in results.items():
        if name == "bad.groovy":
            continue
        serious = [e for e in errors if e["severity"] in ("error", "warning")]
        assert not serious, (name, serious)

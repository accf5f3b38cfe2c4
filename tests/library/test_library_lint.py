"""CodeNarc's Jenkinsfile rules (npm-groovy-lint) over the library (vars/, src/) and the
project's own Jenkinsfile: no errors or warnings. The generated Jenkinsfiles of the golden
cases are linted by tests/render/test_codenarc.py. One run, one JVM."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.library.step_docs import ROOT
from tests.render.test_codenarc import _lint

pytestmark = pytest.mark.codenarc


def test_library_and_own_jenkinsfile_have_no_codenarc_errors_or_warnings(tmp_path: Path) -> None:
    shutil.copytree(
        ROOT / "vars", tmp_path / "vars", ignore=shutil.ignore_patterns("*.txt", "*.md")
    )
    shutil.copytree(ROOT / "src", tmp_path / "src")
    shutil.copy(ROOT / "Jenkinsfile", tmp_path / "Jenkinsfile.groovy")
    (tmp_path / "bad.groovy").write_text("pipeline { agent any }\ndef unused = 1\n")
    results = _lint(tmp_path)
    assert any(e["severity"] in ("error", "warning") for e in results["bad.groovy"])
    linted = {name for name in results if name != "bad.groovy"}
    expected = {p.name for p in (ROOT / "vars").glob("*.groovy")} | {"Jenkinsfile.groovy"}
    expected |= {p.name for p in (ROOT / "src").rglob("*.groovy")}
    assert linted == expected, "the linter skipped files"
    for name in linted:
        serious = [e for e in results[name] if e["severity"] in ("error", "warning")]
        assert not serious, (name, serious)

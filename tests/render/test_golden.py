"""Golden cases: tests/golden/<case>/ holds descriptors and either expected/ or expected.error.

Adding a case is adding files. UPDATE_GOLDEN=1 rewrites the expectations from the current
code, so reviewing a renderer change is reviewing a diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import GOLDEN, CliResult

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.errors import InvalidDescriptors
from jenkins_bridge.output.incremental import CACHE_FOLDER
from jenkins_bridge.output.run import render_run

UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir())
RENDER_CASES = [c for c in CASES if not c.name.startswith("err-")]
ERROR_CASES = [c for c in CASES if c.name.startswith("err-")]


def _staged(case: Path, tmp_path: Path) -> Path:
    """The case's descriptors in a repository of their own (a ``.git`` marker), so the names
    generated files carry (``<case>/<file>``) do not depend on where this checkout lives or
    whether it is one."""
    repo = tmp_path / "repo"
    shutil.copytree(case, repo / case.name, ignore=shutil.ignore_patterns("expected*"))
    (repo / ".git").mkdir()
    return repo / case.name


def _files(root: Path) -> dict[str, str]:
    """The rendered files (render's cache is not output: it is this machine's)."""
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and CACHE_FOLDER not in p.relative_to(root).parts
    }


@pytest.mark.parametrize("case", RENDER_CASES, ids=lambda c: c.name)
def test_render_matches_golden(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_staged(case, tmp_path))
    tree = render_run(["."]).tree
    actual = {path: artifact.text for path, artifact in tree.artifacts.items()}
    expected_dir = case / "expected"
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for path, text in actual.items():
            (expected_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / path).write_text(text, encoding="utf-8")
    assert expected_dir.is_dir(), f"no expected/ in {case}; run with UPDATE_GOLDEN=1"
    expected = _files(expected_dir)
    assert sorted(actual) == sorted(expected)
    for path in expected:
        assert actual[path] == expected[path], f"{case.name}/{path} differs from golden"


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c.name)
def test_error_matches_golden(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_staged(case, tmp_path))
    with pytest.raises(InvalidDescriptors) as caught:
        load_services(["."])
    problems = caught.value.problems()
    text = "".join(f"{p}\n" for p in problems)
    expected_file = case / "expected.error"
    if UPDATE:
        expected_file.write_text(text, encoding="utf-8")
    assert expected_file.is_file(), f"no expected.error in {case}; run with UPDATE_GOLDEN=1"
    assert text == expected_file.read_text(encoding="utf-8")
    for problem in problems:  # every problem is located
        assert problem.file and problem.file.endswith(".yaml"), problem


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c.name)
def test_cli_reports_error_without_traceback(case: Path, cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(_staged(case, tmp_path))
    result: CliResult = cli("validate", ".")
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert result.stderr == (case / "expected.error").read_text(encoding="utf-8")
    as_json = cli("--output", "json", "validate", ".").json()
    assert as_json["status"] == "invalid"
    assert as_json["errors"] and all(e["file"] and e["line"] for e in as_json["errors"])


def test_cli_render_writes_the_golden_tree(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    case = GOLDEN / "full"
    monkeypatch.chdir(_staged(case, tmp_path))
    result = cli("render", ".", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    assert _files(tmp_path / "out") == _files(case / "expected")

"""The hostile-YAML corpus: each file in ``hostile_yaml/`` is a descriptor a careless or
hostile user could write, with its first line ``# expect: LINE:COL: MESSAGE``.

Through the CLI, each must give exit code 1, that located message, only located one-line
messages, no traceback, and nothing a terminal would interpret (raw control characters).
Adding a case is adding a file.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult

CORPUS = Path(__file__).parent / "hostile_yaml"
CASES = sorted(CORPUS.glob("*.yaml"))
LOCATED = re.compile(r"^svc\.yaml:\d+:\d+: \S")


def expectation(case: Path) -> str:
    first = case.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    assert first.startswith("# expect: "), f"{case.name}: first line must be '# expect: ...'"
    return first.removeprefix("# expect: ")


def test_the_corpus_is_there() -> None:
    assert len(CASES) >= 30


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.stem)
def test_hostile_yaml_is_a_located_error(
    case: Path,
    cli: Callable[..., CliResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shutil.copy(case, tmp_path / "svc.yaml")
    monkeypatch.chdir(tmp_path)
    result = cli("validate", "svc.yaml")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines and all(LOCATED.match(line) for line in lines), lines
    assert any(line.startswith(f"svc.yaml:{expectation(case)}") for line in lines), lines
    printed = result.stdout + result.stderr
    assert all(ch.isprintable() or ch == "\n" for ch in printed), ascii(printed)

    as_json = cli("--output", "json", "validate", "svc.yaml").json()
    assert as_json["status"] == "invalid"
    assert all(e["file"] == "svc.yaml" and e["line"] >= 1 for e in as_json["errors"])

"""Command-line values that would never end or name nothing: one clean error line, exit 1,
before the descriptor or an engine is touched (no traceback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ARGS = {
    "deploy": ["deploy", "svc.yaml", "--env", "test", "--image", "img:1"],
    "rollback": ["rollback", "svc.yaml", "--env", "test"],
    "logs": ["logs", "svc.yaml", "--env", "test"],
}


@pytest.mark.parametrize(
    ("command", "extra", "words"),
    [
        ("deploy", ["--timeout", "nan"], "not a finite number"),
        ("deploy", ["--timeout", "inf"], "not a finite number"),
        ("deploy", ["--timeout", "0.5"], "not a finite number >= 1"),
        ("deploy", ["--lock-wait", "nan"], "not a finite number"),
        ("rollback", ["--lock-wait", "-inf"], "not a finite number"),
        ("deploy", ["--image", ""], "must not be empty"),
        ("rollback", ["--to", ""], "must not be empty"),
        ("logs", ["--since", "-5"], "-5"),
    ],
)
def test_refused_before_anything_runs(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, extra: list[str],
    words: str,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)  # svc.yaml does not exist: nothing past the options is read
    result = cli(*ARGS[command], *extra)
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], result.stderr

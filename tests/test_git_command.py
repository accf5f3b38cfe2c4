"""git_answer: git's output in a checkout, None wherever git cannot answer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import git_repository

from jenkins_bridge.git_command import git_answer


def test_a_checkout_answers(tmp_path: Path) -> None:
    git_repository(tmp_path)
    subprocess.run(["git", "-C", str(tmp_path), "config", "x.y", "z"], check=True)
    assert git_answer(tmp_path, "config", "--get", "x.y") == "z\n"


def test_no_answer_outside_a_checkout_or_without_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert git_answer(tmp_path, "rev-parse", "HEAD") is None
    assert git_answer(tmp_path / "missing", "status") is None
    monkeypatch.setenv("PATH", str(tmp_path))  # no git on it
    assert git_answer(tmp_path, "--version") is None

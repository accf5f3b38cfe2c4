"""Asking the git command line one question about a folder: its answer, or None where git is
missing, fails, or takes too long (a checkout is a convenience here, never a requirement)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_answer(folder: Path | str, *args: str, timeout: float = 10) -> str | None:
    """The standard output of ``git -C folder args``, or None if it did not exit 0."""
    try:
        completed = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout if completed.returncode == 0 else None

"""Gathers the facts an image is stamped with (commit, branch, build number, time) from the
Jenkins environment and git, so ``tags`` can stay pure."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from jenkins_bridge.containers.tags import BuildFacts, created_from


def git_head(directory: Path) -> str | None:
    """``git rev-parse HEAD`` in ``directory``, or None outside a checkout / without git."""
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = completed.stdout.strip()
    return commit if completed.returncode == 0 and commit else None


def collect_build_facts(
    environ: Mapping[str, str], context_dir: Path, *, now: datetime | None = None
) -> BuildFacts:
    """Jenkins' variables win over git: ``GIT_COMMIT``, ``BRANCH_NAME``, ``BUILD_NUMBER``,
    ``BUILD_URL``, and ``SOURCE_DATE_EPOCH`` for the creation time."""
    commit = environ.get("GIT_COMMIT", "").strip() or git_head(context_dir)
    return BuildFacts(
        commit=commit,
        branch=environ.get("BRANCH_NAME", "").strip() or None,
        build_number=environ.get("BUILD_NUMBER", "").strip() or None,
        build_url=environ.get("BUILD_URL", "").strip() or None,
        created=created_from(environ.get("SOURCE_DATE_EPOCH"), now or datetime.now(UTC)),
    )

"""Gathers the facts an image is stamped with (commit, branch, build number, time) from the
Jenkins environment and git, so ``tags`` can stay pure. Values from the environment are
checked here: each one ends up in a tag, a label or a timestamp."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from jenkins_bridge.containers.errors import InvalidBuildEnvironment
from jenkins_bridge.containers.tags import BuildFacts, created_from, sanitize_tag
from jenkins_bridge.git_command import git_answer

_COMMIT = re.compile(r"[0-9a-fA-F]{7,64}")
_NUMBER = re.compile(r"[1-9][0-9]{0,9}")
_EPOCH = re.compile(r"0|[1-9][0-9]{0,11}")
# 9999-12-31T23:59:59Z: the last second an RFC 3339 timestamp (and datetime) can hold.
MAX_SOURCE_DATE_EPOCH = 253402300799
MAX_BRANCH_LENGTH = 255
# Control and invisible formatting characters (newlines would split a log line or a LABEL
# instruction; bidi overrides would make a label lie).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_URL = re.compile(r"https?://[^\x00-\x20\x7f-\x9f]{1,2000}")


def git_head(directory: Path) -> str | None:
    """``git rev-parse HEAD`` in ``directory``, or None outside a checkout / without git."""
    commit = (git_answer(directory, "rev-parse", "--verify", "-q", "HEAD") or "").strip()
    return commit or None


def _variable(environ: Mapping[str, str], name: str) -> str | None:
    """The variable's value, None when unset or empty (CI templates often set ``X=``)."""
    value = environ.get(name)
    return value if value else None


def checked_commit(value: str) -> str:
    if _COMMIT.fullmatch(value) is None:
        raise InvalidBuildEnvironment("GIT_COMMIT", value, "a git commit id (7-64 hex digits)")
    return value.lower()


def checked_branch(value: str) -> str:
    """A branch name goes into a tag (sanitized) and a label (verbatim): it must be printable,
    of sane length, and leave something when sanitized."""
    if len(value) > MAX_BRANCH_LENGTH or _UNPRINTABLE.search(value) or not sanitize_tag(value):
        raise InvalidBuildEnvironment(
            "BRANCH_NAME",
            value,
            f"a branch name (1-{MAX_BRANCH_LENGTH} printable characters, with at least one "
            "letter or digit)",
        )
    return value


def checked_build_number(value: str) -> str:
    if _NUMBER.fullmatch(value) is None:
        raise InvalidBuildEnvironment(
            "BUILD_NUMBER", value, "a positive whole number (1 to 10 digits)"
        )
    return value


def checked_source_date_epoch(value: str) -> int:
    if _EPOCH.fullmatch(value) is None or int(value) > MAX_SOURCE_DATE_EPOCH:
        raise InvalidBuildEnvironment(
            "SOURCE_DATE_EPOCH",
            value,
            f"a whole number of seconds since 1970 (0 to {MAX_SOURCE_DATE_EPOCH})",
        )
    return int(value)


def checked_build_url(value: str) -> str:
    if _URL.fullmatch(value) is None:
        raise InvalidBuildEnvironment(
            "BUILD_URL", value, "an http(s) URL without spaces or control characters"
        )
    return value


def collect_build_facts(
    environ: Mapping[str, str], context_dir: Path, *, now: datetime | None = None
) -> BuildFacts:
    """Jenkins' variables win over git: ``GIT_COMMIT``, ``BRANCH_NAME``, ``BUILD_NUMBER``,
    ``BUILD_URL``, and ``SOURCE_DATE_EPOCH`` for the creation time. A value that is set but
    unusable raises ``InvalidBuildEnvironment`` rather than being ignored or passed on."""
    commit = _variable(environ, "GIT_COMMIT")
    branch = _variable(environ, "BRANCH_NAME")
    number = _variable(environ, "BUILD_NUMBER")
    url = _variable(environ, "BUILD_URL")
    epoch = _variable(environ, "SOURCE_DATE_EPOCH")
    return BuildFacts(
        commit=checked_commit(commit) if commit else git_head(context_dir),
        branch=checked_branch(branch) if branch else None,
        build_number=checked_build_number(number) if number else None,
        build_url=checked_build_url(url) if url else None,
        created=created_from(
            str(checked_source_date_epoch(epoch)) if epoch else None, now or datetime.now(UTC)
        ),
    )

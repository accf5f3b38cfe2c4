"""Which tags and OCI labels an image gets: pure functions over facts passed in.

Nothing here reads the environment, the clock, git or the engine; ``provenance`` gathers
those facts so that every rule below is unit-testable with plain values. A reference is split
into registry and path by docker's own rule (``split_repo_name``, as docker-py and the docker
CLI do it); it is written out here so that the build path never imports docker-py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from jenkins_bridge.containers.errors import InvalidImageName, InvalidTag, NoImmutableTag

SHORT_COMMIT_LENGTH = 12
MAX_TAG_LENGTH = 128
MUTABLE_TAGS = frozenset({"latest"})

# Docker's reference grammar (distribution/reference), split into the parts we check.
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)"
    r"(?:\.(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?))*"
    r"(?::[0-9]+)?"
)
_INVALID_TAG_CHARACTERS = re.compile(r"[^A-Za-z0-9_.-]+")

# What docker calls the registry of names without a registry part (Docker Hub).
INDEX_NAME = "docker.io"

LABEL_SOURCE = "org.opencontainers.image.source"
LABEL_REVISION = "org.opencontainers.image.revision"
LABEL_CREATED = "org.opencontainers.image.created"
LABEL_VERSION = "org.opencontainers.image.version"
LABEL_TITLE = "org.opencontainers.image.title"
LABEL_DESCRIPTION = "org.opencontainers.image.description"
LABEL_BUILD_URL = "io.jenkins.build-url"
LABEL_DESCRIPTOR_DIGEST = "io.jenkins-bridge.descriptor-sha256"


class BuildFacts(NamedTuple):
    """What the build knows about where it runs (gathered by ``provenance``)."""

    commit: str | None  # full git commit id
    branch: str | None
    build_number: str | None
    build_url: str | None
    created: datetime  # timezone-aware


def is_valid_tag(tag: str) -> bool:
    return _TAG.fullmatch(tag) is not None


def check_tag(tag: str) -> str:
    """Return ``tag`` unchanged if docker accepts it, else raise ``InvalidTag``."""
    if not is_valid_tag(tag):
        raise InvalidTag(tag)
    return tag


def sanitize_tag(text: str) -> str:
    """Turn free text (a branch name, say) into a valid tag, or "" if nothing usable is left.

    ``feature/JIRA-12 fix`` becomes ``feature-JIRA-12-fix``.
    """
    cleaned = _INVALID_TAG_CHARACTERS.sub("-", text).lstrip(".-")
    cleaned = cleaned[:MAX_TAG_LENGTH].rstrip(".-")
    return cleaned


def split_repo_name(repository: str) -> tuple[str, str]:
    """(registry, path): the first component is a registry only when it looks like a host
    (has a '.' or ':', or is ``localhost``), else the name is on Docker Hub."""
    first, sep, rest = repository.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost"):
        return INDEX_NAME, repository
    return first, rest


def check_repository(repository: str) -> str:
    """Return ``repository`` if it is a valid image name without tag/digest, else raise."""
    if not repository:
        raise InvalidImageName(repository, "it is empty")
    if "@" in repository:
        raise InvalidImageName(repository, "it contains a digest ('@'); give the name only")
    registry, path = split_repo_name(repository)
    if registry != INDEX_NAME and _DOMAIN.fullmatch(registry) is None:
        raise InvalidImageName(repository, f"registry part '{registry}' is not a host[:port]")
    if ":" in path:
        raise InvalidImageName(repository, "it contains a tag (':'); tags come from the build")
    for component in path.split("/"):
        if _PATH_COMPONENT.fullmatch(component) is None:
            reason = (
                "repository names must be lowercase"
                if component.lower() != component
                else f"path component '{component}' may only hold a-z, 0-9 and single '.', '_', '-'"
            )
            raise InvalidImageName(repository, reason)
    if len(repository) > 255:
        raise InvalidImageName(repository, "it is longer than 255 characters")
    return repository


def short_commit(commit: str) -> str:
    return commit[:SHORT_COMMIT_LENGTH]


def immutable_tags(facts: BuildFacts) -> list[str]:
    """The tags every build gets: short commit, then ``<branch>-<build number>`` if known."""
    tags: list[str] = []
    if facts.commit:
        commit_tag = sanitize_tag(short_commit(facts.commit))
        if commit_tag:
            tags.append(commit_tag)
    if facts.branch and facts.build_number:
        branch_tag = sanitize_tag(f"{facts.branch}-{facts.build_number}")
        if branch_tag and branch_tag not in tags:
            tags.append(branch_tag)
    return tags


def image_tags(facts: BuildFacts, requested: Iterable[str] = ()) -> list[str]:
    """Immutable tags first, then the explicitly requested ones (validated), no duplicates.

    Raises ``NoImmutableTag`` if the result would hold only mutable tags such as ``latest``.
    """
    tags = immutable_tags(facts)
    for tag in requested:
        check_tag(tag)
        if tag not in tags:
            tags.append(tag)
    if deploy_tag(tags) is None:
        raise NoImmutableTag()
    return tags


def deploy_tag(tags: Sequence[str]) -> str | None:
    """The tag a deploy may refer to: the first one that is not mutable (never ``latest``)."""
    for tag in tags:
        if tag not in MUTABLE_TAGS:
            return tag
    return None


def rfc3339_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def created_from(source_date_epoch: str | None, now: datetime) -> datetime:
    """``$SOURCE_DATE_EPOCH`` (reproducible builds) when set and numeric, else ``now``."""
    if source_date_epoch is not None and source_date_epoch.strip().isdigit():
        return datetime.fromtimestamp(int(source_date_epoch.strip()), tz=UTC)
    return now


def image_version(facts: BuildFacts) -> str:
    """The human version label: ``<branch>-<build>`` in CI, else the short commit."""
    if facts.branch and facts.build_number:
        version = sanitize_tag(f"{facts.branch}-{facts.build_number}")
        if version:
            return version
    if facts.commit:
        return short_commit(facts.commit)
    return "unknown"


def oci_labels(
    *,
    facts: BuildFacts,
    source_repo: str,
    title: str,
    description: str,
    descriptor_digest: str,
) -> dict[str, str]:
    """The labels every image carries; empty facts give no label rather than an empty one."""
    labels = {
        LABEL_SOURCE: source_repo,
        LABEL_REVISION: facts.commit or "",
        LABEL_CREATED: rfc3339_utc(facts.created),
        LABEL_VERSION: image_version(facts),
        LABEL_TITLE: title,
        LABEL_DESCRIPTION: description,
        LABEL_BUILD_URL: facts.build_url or "",
        LABEL_DESCRIPTOR_DIGEST: descriptor_digest,
    }
    return {key: value for key, value in labels.items() if value}

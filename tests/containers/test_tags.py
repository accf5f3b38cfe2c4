"""Tag, label and image-name rules (pure: no engine)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jenkins_bridge.containers.errors import InvalidImageName, InvalidTag, NoImmutableTag, scrub
from jenkins_bridge.containers.tags import (
    BuildFacts,
    check_repository,
    check_tag,
    created_from,
    deploy_tag,
    image_tags,
    immutable_tags,
    oci_labels,
    rfc3339_utc,
    sanitize_tag,
    split_repo_name,
)

COMMIT = "0123456789abcdef0123456789abcdef01234567"
WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def facts(**overrides: object) -> BuildFacts:
    values: dict[str, object] = {
        "commit": COMMIT,
        "branch": None,
        "build_number": None,
        "build_url": None,
        "created": WHEN,
    }
    values.update(overrides)
    return BuildFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("main", "main"),
        ("feature/JIRA-12 fix", "feature-JIRA-12-fix"),
        ("release/1.2", "release-1.2"),
        ("--weird..", "weird"),
        (".hidden", "hidden"),
        ("ümlaut-branch", "mlaut-branch"),
        ("///", ""),
        ("x" * 300, "x" * 128),
    ],
)
def test_sanitize_tag_gives_a_valid_docker_tag(text: str, expected: str) -> None:
    assert sanitize_tag(text) == expected
    if expected:
        assert check_tag(expected) == expected


@pytest.mark.parametrize("tag", ["", "-x", ".x", "a/b", "a:b", "x" * 129, "sp ace"])
def test_check_tag_rejects_invalid_tags(tag: str) -> None:
    with pytest.raises(InvalidTag) as caught:
        check_tag(tag)
    assert caught.value.tag == tag


def test_immutable_tags_are_short_commit_then_branch_build() -> None:
    tags = immutable_tags(facts(branch="feature/login", build_number="42"))
    assert tags == ["0123456789ab", "feature-login-42"]


def test_immutable_tags_need_both_branch_and_build_number() -> None:
    assert immutable_tags(facts(branch="main")) == ["0123456789ab"]
    assert immutable_tags(facts(commit=None, branch="main", build_number="3")) == ["main-3"]


def test_image_tags_append_requested_tags_without_duplicates() -> None:
    tags = image_tags(facts(), ["0123456789ab", "latest", "v1.2.3"])
    assert tags == ["0123456789ab", "latest", "v1.2.3"]


def test_latest_alone_is_not_an_immutable_tag() -> None:
    with pytest.raises(NoImmutableTag):
        image_tags(facts(commit=None), ["latest"])


def test_no_facts_and_no_tags_is_an_error_with_next_step() -> None:
    with pytest.raises(NoImmutableTag) as caught:
        image_tags(facts(commit=None))
    assert "GIT_COMMIT" in (caught.value.hint or "")


def test_requested_invalid_tag_is_refused() -> None:
    with pytest.raises(InvalidTag):
        image_tags(facts(), ["bad tag"])


def test_deploy_tag_is_never_latest() -> None:
    assert deploy_tag(["latest", "0123456789ab"]) == "0123456789ab"
    assert deploy_tag(["latest"]) is None


def test_created_prefers_source_date_epoch() -> None:
    assert created_from("0", WHEN) == datetime(1970, 1, 1, tzinfo=UTC)
    assert created_from(None, WHEN) == WHEN
    assert created_from("not-a-number", WHEN) == WHEN
    assert rfc3339_utc(created_from("1700000000", WHEN)) == "2023-11-14T22:13:20Z"


def test_oci_labels_carry_provenance() -> None:
    labels = oci_labels(
        facts=facts(branch="main", build_number="9", build_url="https://ci/job/x/9/"),
        source_repo="https://git.example.com/team/app.git",
        title="app",
        description="The app",
        descriptor_digest="ab" * 32,
    )
    assert labels == {
        "org.opencontainers.image.source": "https://git.example.com/team/app.git",
        "org.opencontainers.image.revision": COMMIT,
        "org.opencontainers.image.created": "2024-05-06T07:08:09Z",
        "org.opencontainers.image.version": "main-9",
        "org.opencontainers.image.title": "app",
        "org.opencontainers.image.description": "The app",
        "io.jenkins.build-url": "https://ci/job/x/9/",
        "io.jenkins-bridge.descriptor-sha256": "ab" * 32,
    }


def test_oci_labels_leave_out_unknown_facts() -> None:
    labels = oci_labels(
        facts=facts(), source_repo="r", title="t", description="", descriptor_digest="d"
    )
    assert "io.jenkins.build-url" not in labels
    assert "org.opencontainers.image.description" not in labels
    assert labels["org.opencontainers.image.version"] == "0123456789ab"


@pytest.mark.parametrize(
    ("repository", "split"),
    [
        ("127.0.0.1:5000/team/app", ("127.0.0.1:5000", "team/app")),
        ("registry.example.com/app", ("registry.example.com", "app")),
        ("localhost/app", ("localhost", "app")),
        ("team/app", ("docker.io", "team/app")),
        ("app", ("docker.io", "app")),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, tuple) else None,  # "app-docker.io-app"
)
def test_check_repository_agrees_with_docker_py(repository: str, split: tuple[str, str]) -> None:
    """Our split is the one docker-py makes (registry, path); our stricter checks run on it."""
    import docker.auth

    assert docker.auth.split_repo_name(repository) == split
    assert split_repo_name(repository) == split
    assert check_repository(repository) == repository


@pytest.mark.parametrize(
    ("repository", "reason"),
    [
        ("127.0.0.1:5000/Team/App", "lowercase"),
        ("127.0.0.1:5000/team/app:v1", "tag"),
        ("127.0.0.1:5000/team/app@sha256:00", "digest"),
        ("127.0.0.1:5000/team//app", "path component"),
        ("", "empty"),
    ],
)
def test_check_repository_rejects_bad_names(repository: str, reason: str) -> None:
    with pytest.raises(InvalidImageName) as caught:
        check_repository(repository)
    assert reason in caught.value.message


def test_scrub_removes_every_secret() -> None:
    assert scrub("login pw=hunter2 failed hunter2", ["hunter2", None, ""]) == (
        "login pw=*** failed ***"
    )

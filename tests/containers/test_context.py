"""The build context stays inside the descriptor's repository (pure filesystem checks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jenkins_bridge.containers.context import (
    check_build_context,
    check_context_links,
    confine,
    repository_root,
)
from jenkins_bridge.containers.errors import ContextLinkOutside, OutsideRepository


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "svc" / "src").mkdir(parents=True)
    (root / "svc" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("s")
    return root


def test_the_repository_is_the_nearest_folder_with_git(repo: Path, tmp_path: Path) -> None:
    assert repository_root(repo / "svc" / "src") == repo.resolve()
    (repo / "svc" / ".git").write_text("gitdir: elsewhere\n")  # a worktree or submodule
    assert repository_root(repo / "svc" / "src") == (repo / "svc").resolve()
    assert repository_root(tmp_path / "outside") == (tmp_path / "outside").resolve()


def test_confine_follows_links_before_judging(repo: Path, tmp_path: Path) -> None:
    root = repo.resolve()
    assert confine("image.context", ".", repo / "svc", root) == root / "svc"
    (repo / "svc" / "ctx").symlink_to(tmp_path / "outside")
    with pytest.raises(OutsideRepository, match=r"resolves to .*outside, outside the repository"):
        confine("image.context", "ctx", repo / "svc" / "ctx", root)
    with pytest.raises(OutsideRepository):
        confine("image.context", "../..", repo / "svc" / ".." / "..", root)


def test_links_in_the_context_are_judged_by_their_targets(repo: Path, tmp_path: Path) -> None:
    root, context = repo.resolve(), repo / "svc"
    (context / "src" / "ok").symlink_to("../Dockerfile")
    check_context_links(context, root)
    (context / "src" / "deep").mkdir()
    (context / "src" / "deep" / "leak").symlink_to(tmp_path / "outside" / "secret")
    with pytest.raises(ContextLinkOutside) as caught:
        check_context_links(context, root)
    assert caught.value.link == "src/deep/leak"


def test_a_linked_folder_in_the_context_is_not_walked_into(repo: Path, tmp_path: Path) -> None:
    # The link itself leads out, so it is refused; what lies behind it is never listed.
    (repo / "svc" / "data").symlink_to(tmp_path / "outside")
    with pytest.raises(ContextLinkOutside, match="data"):
        check_build_context(repo / "svc", repo / "svc" / "Dockerfile", repo.resolve())

"""The owner a run is: repository identity from --source-id or the git remote, and scope."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git_repository as shared_git_repository

from jenkins_bridge.errors import UsageError
from jenkins_bridge.provision.identity import normalise_remote, run_owner


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/Acme/Services.git",
        "https://ci:secret@GitHub.com/Acme/Services.git/",
        "git@github.com:Acme/Services.git",
        "ssh://git@github.com:22/Acme/Services",
        "github.com:Acme/Services",
    ],
)
def test_remote_urls_of_one_repository_are_one_identity(url: str) -> None:
    assert normalise_remote(url) == "github.com/Acme/Services"


def test_file_remotes_keep_their_path() -> None:
    assert normalise_remote("/srv/git/services.git") == "srv/git/services"


def git_repository(path: Path, remote: str | None) -> Path:
    (path / "services" / "pay").mkdir(parents=True)
    (path / "services" / "pay" / "api.yaml").write_text("x", encoding="utf-8")
    return shared_git_repository(path, remote or None)


def test_owner_is_the_remote_and_the_folders_read(tmp_path: Path) -> None:
    repo = git_repository(tmp_path / "r", "git@git.example.com:platform/r.git")
    owner = run_owner([str(repo / "services")])
    assert owner.repository == "git.example.com/platform/r"
    assert owner.scope == ("services/",)
    assert run_owner([str(repo)]).scope == ("",)
    single = run_owner([str(repo / "services" / "pay" / "api.yaml")])
    assert single.scope == ("services/pay/api.yaml",)
    assert single.covers("services/pay/api.yaml") and not single.covers("services/pay/b.yaml")
    assert single.covers("team:pay")  # team folders are shared by the whole repository
    assert run_owner([str(repo)], "platform").repository == "platform"


def test_repository_without_remote_and_plain_folders_are_named_by_path(tmp_path: Path) -> None:
    repo = git_repository(tmp_path / "r", None)
    assert run_owner([str(repo / "services")]).repository == f"local:{repo.resolve()}"
    plain = tmp_path / "plain"
    (plain / "a").mkdir(parents=True)
    owner = run_owner([str(plain / "a")])
    assert owner.repository == f"local:{(plain / 'a').resolve()}" and owner.scope == ("",)


def test_descriptors_from_two_repositories_need_a_source_id(tmp_path: Path) -> None:
    one = git_repository(tmp_path / "one", "https://git.example.com/one.git")
    two = git_repository(tmp_path / "two", "https://git.example.com/two.git")
    with pytest.raises(UsageError, match="more than one repository") as error:
        run_owner([str(one), str(two)])
    assert "--source-id" in (error.value.hint or "")
    assert run_owner([str(one), str(two)], "both").repository == "both"

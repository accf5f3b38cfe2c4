"""Through the CLI: a ``source.repo`` that git would run, read from the Jenkins machine's
disk, or that carries credentials is refused before anything is generated or provisioned."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult

Cli = Callable[..., CliResult]


def descriptor(repo: str) -> str:
    return (
        "apiVersion: jenkins-bridge/v1\nkind: Service\nmetadata: {name: svc, team: core}\n"
        f"source: {{repo: {repo}}}\n"
    )


@pytest.mark.parametrize(
    ("repo", "message"),
    [
        ('"ext::sh -c touch% /tmp/pwned"', "'ext::' is git's remote-helper syntax"),
        ('"--upload-pack=touch /tmp/pwned"', "must not start with '-'"),
        ('"-oProxyCommand=touch /tmp/pwned"', "must not start with '-'"),
        ("file:///srv/git/core/svc.git", "file:// is a repository on the Jenkins machine"),
        ("/srv/git/core/svc.git", "is a path on the Jenkins machine's own disk"),
        ('"https://git.example.com/a.git\\n--upload-pack=x"', "must be one line"),
        ("https://deploy:hunter2@git.example.com/core/svc.git", "must not hold credentials"),
        ("deploy:hunter2@git.example.com:core/svc.git", "must not hold credentials"),
        ("ssh://-oProxyCommand=x/core/svc.git", "the host must not start with '-'"),
        ("foo://git.example.com/core/svc.git", "scheme 'foo://' is not allowed"),
    ],
)
def test_unsafe_repositories_are_refused(
    repo: str, message: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "svc.yaml").write_text(descriptor(repo))
    monkeypatch.chdir(tmp_path)
    result = cli("validate", "svc.yaml")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"svc.yaml:4:16: source.repo: {message}"), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "hunter2" not in result.stderr
    assert cli("render", "svc.yaml", "-o", "out").exit_code == 1
    assert not (tmp_path / "out").exists()


def test_a_repository_from_defaults_is_located_there(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "_defaults.yaml").write_text("source: {repo: 'file:///srv/x.git'}\n")
    (tmp_path / "svc.yaml").write_text(descriptor("x").replace("source: {repo: x}\n", ""))
    monkeypatch.chdir(tmp_path)
    result = cli("validate", ".")
    assert result.exit_code == 1
    assert result.stderr.startswith("_defaults.yaml:1:16: source.repo: file:// is")


@pytest.mark.parametrize(
    "repo",
    [
        "https://git.example.com/core/svc.git",
        "ssh://git@git.example.com:2222/core/svc.git",
        "git@git.example.com:core/svc.git",
    ],
)
def test_remote_repositories_render(
    repo: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "svc.yaml").write_text(descriptor(repo))
    monkeypatch.chdir(tmp_path)
    result = cli("render", "svc.yaml", "-o", "out")
    assert result.exit_code == 0, result.stderr
    assert f"git(url: '{repo}'," in (tmp_path / "out/core/svc/config.xml").read_text()

"""The build context is the repository's: a context, Dockerfile or link inside the context that
leads outside the descriptor's repository is refused before anything reaches the engine.

DOCKER_HOST points at a socket this test listens on, so "before anything reaches the engine"
is checked directly: nobody may connect to it. A case that is allowed gets as far as the
engine, which hangs up at once, so it fails with daemon-unreachable instead."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import write_image_service

from jenkins_bridge.cli import main

SECRET = "SECRET-OUTSIDE-THE-REPO\n"
DOCKERFILE = "FROM scratch\nCOPY . /app\n"


@dataclass
class Repo:
    root: Path  # holds .git
    service: Path  # the descriptor's folder
    outside: Path  # not in the repository
    engine: FakeEngine

    def descriptor(self, image_fields: str = "") -> Path:
        return write_image_service(self.service, image_fields)

    def engine_was_contacted(self) -> bool:
        return self.engine.connections > 0

    def set_up(self, case: Case) -> str:
        """Lay this repository out as ``case`` wants; returns the case's image fields."""
        prepare, image_fields = case
        prepare(self)
        return image_fields


# How to set a repository up, and the image fields of its descriptor.
Case = tuple[Callable[[Repo], object], str]


class FakeEngine:
    """A unix socket that counts connections and hangs up on each at once."""

    def __init__(self, path: Path) -> None:
        self.connections = 0
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.bind(str(path))
        self._socket.listen(8)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        self._thread.join(timeout=5)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Repo]:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    service = root / "svc"
    service.mkdir()
    (service / "Dockerfile").write_text(DOCKERFILE)
    (service / "app.txt").write_text("app\n")
    (root / "shared").mkdir()
    (root / "shared" / "lib.txt").write_text("shared\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    (outside / "Dockerfile").write_text(DOCKERFILE)
    engine = FakeEngine(tmp_path / "engine.sock")
    for name in ("GIT_COMMIT", "BRANCH_NAME", "BUILD_NUMBER", "BUILD_URL", "SOURCE_DATE_EPOCH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_COMMIT", "0123456789abcdef0123456789abcdef01234567")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'engine.sock'}")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    yield Repo(root, service, outside, engine)
    engine.close()


def _build(repo: Repo, descriptor: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    code = main(["--output", "json", "image", "build", str(descriptor)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert SECRET.strip() not in out + err
    result: dict[str, object] = json.loads(out)
    result["exit_code"] = code
    return result


def _link(path: Path, target: Path | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


# name -> (how to set the repository up, image fields) for contexts that must be refused.
REFUSED: dict[str, Case] = {
    "context-parent-escape": (lambda r: None, "context: ../../outside\n"),
    "context-absolute": (lambda r: None, "context: {outside}\n"),
    "context-is-a-link-out": (lambda r: _link(r.service / "ctx", r.outside), "context: ctx\n"),
    "dockerfile-parent-escape": (lambda r: None, "dockerfile: ../../outside/Dockerfile\n"),
    "dockerfile-is-a-link-out": (
        lambda r: (
            (r.service / "Dockerfile").unlink(),
            _link(r.service / "Dockerfile", r.outside / "Dockerfile"),
        ),
        "",
    ),
    "file-link-in-context": (
        lambda r: _link(r.service / "secret.txt", r.outside / "secret.txt"),
        "",
    ),
    "folder-link-in-context": (lambda r: _link(r.service / "data", r.outside), ""),
    "deep-link-in-context": (
        lambda r: _link(r.service / "a" / "b" / "c" / "key", r.outside / "secret.txt"),
        "",
    ),
    "dangling-link-out": (lambda r: _link(r.service / "later", r.outside / "not-yet"), ""),
    "absolute-link-to-etc": (lambda r: _link(r.service / "passwd", "/etc/passwd"), ""),
    "link-to-repository-parent": (lambda r: _link(r.service / "up", r.root.parent), ""),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_contexts_leading_outside_the_repository_are_refused_before_the_engine(
    repo: Repo, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    fields = repo.set_up(REFUSED[case])
    descriptor = repo.descriptor(fields.format(outside=repo.outside))
    result = _build(repo, descriptor, capsys)
    assert result["exit_code"] == 1
    errors = result["errors"]
    assert isinstance(errors, list) and len(errors) == 1
    if result["status"] != "invalid":  # validation may refuse the value even earlier
        assert result["status"] in ("outside-repository", "context-link-outside"), errors
        assert "outside the repository" in errors[0]["message"]
    assert not repo.engine_was_contacted()


ALLOWED: dict[str, Case] = {
    "plain-context": (lambda r: None, ""),
    "context-in-a-subfolder": (
        lambda r: (
            (r.service / "sub").mkdir(),
            (r.service / "sub" / "Dockerfile").write_text(DOCKERFILE),
        ),
        "context: sub\n",
    ),
    "link-inside-the-repository": (lambda r: _link(r.service / "lib", r.root / "shared"), ""),
    "relative-link-inside-the-context": (lambda r: _link(r.service / "alias.txt", "app.txt"), ""),
}


@pytest.mark.parametrize("case", sorted(ALLOWED))
def test_contexts_inside_the_repository_reach_the_engine(
    repo: Repo, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    fields = repo.set_up(ALLOWED[case])
    result = _build(repo, repo.descriptor(fields), capsys)
    # The engine hangs up at once: the build got past every check.
    assert result["status"] == "daemon-unreachable", result
    assert result["exit_code"] == 1
    assert repo.engine_was_contacted()


def test_without_a_git_folder_the_descriptors_folder_is_the_repository(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo.root / ".git").rmdir()
    _link(repo.service / "lib", repo.root / "shared")  # inside the old repo, not the folder
    result = _build(repo, repo.descriptor(), capsys)
    assert result["status"] == "context-link-outside"
    assert not repo.engine_was_contacted()

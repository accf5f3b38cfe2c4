"""Only regular files inside the folder given are read, never more than the limit plus one
byte, and a FIFO or device is reported without being opened for reading."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jenkins_bridge.descriptor import load_services, loading
from jenkins_bridge.descriptor.yamlsource import MAX_BYTES, YamlProblem
from jenkins_bridge.errors import InvalidDescriptors, Problem

VALID = (
    "apiVersion: jenkins-bridge/v1\nkind: Service\nmetadata: {name: NAME, team: core}\n"
    "source: {repo: https://git.example.com/core/svc.git}\n"
)


def problems_of(*paths: Path) -> list[Problem]:
    with pytest.raises(InvalidDescriptors) as caught:
        load_services(list(paths))
    return caught.value.problems()


@pytest.mark.timeout(20)  # reading a FIFO would block forever
def test_a_fifo_descriptor_is_reported_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "svc.yaml")
    (tmp_path / "ok.yaml").write_text(VALID.replace("NAME", "ok"))
    for given in (tmp_path, tmp_path / "svc.yaml"):
        problem = next(p for p in problems_of(given) if "svc.yaml" in str(p.file))
        assert (problem.line, problem.column) == (1, 1)
        assert "is a FIFO (named pipe), not a file; not read" in problem.message


@pytest.mark.timeout(20)
def test_a_fifo_defaults_file_is_reported_not_skipped(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "_defaults.yaml")
    (tmp_path / "svc.yaml").write_text(VALID.replace("NAME", "svc"))
    (problem,) = problems_of(tmp_path)
    assert problem.file == str(tmp_path / "_defaults.yaml") and "FIFO" in problem.message


def test_a_link_leading_outside_the_folder_given_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "outside.yaml"
    secret.write_text(VALID.replace("NAME", "leak"))
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "svc.yaml").symlink_to(secret)
    (tmp_path / "team" / "passwd.yaml").symlink_to("/etc/passwd")
    problems = problems_of(tmp_path / "team")
    assert [Path(str(p.file)).name for p in problems] == ["passwd.yaml", "svc.yaml"]
    for problem in problems:
        assert "is a symbolic link to" in problem.message
        assert f"outside {tmp_path / 'team'}" in problem.message


def test_a_defaults_link_leading_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.yaml").write_text("pipeline: {agent: x}\n")
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "_defaults.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    (tmp_path / "team" / "svc.yaml").write_text(VALID.replace("NAME", "svc"))
    (problem,) = problems_of(tmp_path / "team")
    assert problem.file == str(tmp_path / "team" / "_defaults.yaml")
    assert "is a symbolic link to" in problem.message


def test_a_link_inside_the_folder_given_is_read(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "svc.yaml").write_text(VALID.replace("NAME", "svc"))
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "svc.yaml").symlink_to(tmp_path / "real" / "svc.yaml")
    (service,) = load_services([tmp_path])
    assert service.metadata.name == "svc"
    assert service.path == tmp_path / "real" / "svc.yaml"  # the file itself, not the link


def test_a_dangling_link_is_reported(tmp_path: Path) -> None:
    (tmp_path / "svc.yaml").symlink_to(tmp_path / "gone.yaml")
    (problem,) = problems_of(tmp_path / "svc.yaml")
    assert problem.message == "cannot read file: No such file or directory"


def test_a_device_is_reported_never_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda p, *a: opened.append(p) or real_open(p, *a))
    with pytest.raises(YamlProblem) as caught:
        loading._read(Path("/dev/zero"))
    assert caught.value.problem.message == "is a character device, not a file; not read"
    assert opened == []


def test_at_most_the_limit_plus_one_byte_is_read(tmp_path: Path, bytes_read: list[int]) -> None:
    big = tmp_path / "svc.yaml"
    big.write_bytes(b"# " + b"x" * (5 * MAX_BYTES) + b"\n")
    (problem,) = problems_of(big)
    assert "file is larger than" in problem.message
    assert sum(bytes_read) == MAX_BYTES + 1

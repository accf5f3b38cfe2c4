"""Through the CLI: descriptor and ``_defaults.yaml`` paths that lead outside the folder given
are refused, a FIFO is reported without hanging, and a huge file is not read to its end."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult

from jenkins_bridge.descriptor.yamlsource import MAX_BYTES

Cli = Callable[..., CliResult]

VALID = (
    "apiVersion: jenkins-bridge/v1\nkind: Service\nmetadata: {name: NAME, team: core}\n"
    "source: {repo: https://git.example.com/core/svc.git}\n"
)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "ok.yaml").write_text(VALID.replace("NAME", "ok"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "services"


@pytest.mark.timeout(30)
def test_a_fifo_is_reported_and_nothing_hangs(folder: Path, cli: Cli) -> None:
    os.mkfifo(folder / "svc.yaml")
    for given in ("services", "services/svc.yaml"):
        result = cli("validate", given)
        assert result.exit_code == 1
        assert (
            result.stderr == "services/svc.yaml:1:1: is a FIFO (named pipe), not a file; not read\n"
        )
    result = cli("render", "services", "-o", "out")
    assert result.exit_code == 1 and "FIFO" in result.stderr


@pytest.mark.timeout(30)
def test_a_fifo_defaults_file_is_reported(folder: Path, cli: Cli) -> None:
    os.mkfifo(folder / "_defaults.yaml")
    result = cli("validate", "services")
    assert result.exit_code == 1
    assert result.stderr.startswith("services/_defaults.yaml:1:1: is a FIFO")


def test_links_out_of_the_folder_given_are_refused(folder: Path, cli: Cli) -> None:
    (folder / "passwd.yaml").symlink_to("/etc/passwd")
    (folder.parent / "other-team.yaml").write_text(VALID.replace("NAME", "other"))
    (folder / "borrowed.yaml").symlink_to(folder.parent / "other-team.yaml")
    result = cli("validate", "services")
    assert result.exit_code == 1
    real = os.path.realpath(folder)
    assert result.stderr.splitlines() == [
        f"services/borrowed.yaml:1:1: is a symbolic link to {os.path.realpath(folder.parent)}"
        f"/other-team.yaml, outside {real}; only files inside the folder given are read",
        f"services/passwd.yaml:1:1: is a symbolic link to /etc/passwd, outside {real}; "
        "only files inside the folder given are read",
    ]
    assert "root:" not in result.stderr  # nothing of the file's content is shown


def test_a_defaults_link_out_of_the_folder_is_refused(folder: Path, cli: Cli) -> None:
    (folder.parent / "lax.yaml").write_text("pipeline: {agent: anything}\n")
    (folder / "_defaults.yaml").symlink_to(folder.parent / "lax.yaml")
    result = cli("validate", "services")
    assert result.exit_code == 1
    assert result.stderr.startswith("services/_defaults.yaml:1:1: is a symbolic link to ")


def test_a_device_is_reported(folder: Path, cli: Cli) -> None:
    result = cli("validate", "/dev/null")
    assert result.exit_code == 1
    assert result.stderr == "/dev/null:1:1: is a character device, not a file; not read\n"


def test_a_huge_file_is_refused_after_the_limit(
    folder: Path, cli: Cli, bytes_read: list[int]
) -> None:
    with open(folder / "big.yaml", "wb") as big:
        big.truncate(2**28)  # 256 MiB, sparse (a bigger one is what we guard against)
    result = cli("validate", "services")
    assert result.exit_code == 1
    assert "services/big.yaml:1:1: file is larger than 1000 kB" in result.stderr
    small = (folder / "ok.yaml").stat().st_size
    assert sum(bytes_read) == MAX_BYTES + 1 + small

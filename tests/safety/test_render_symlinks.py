"""A hostile output tree: links planted under -o never make render write, read out or delete
anything outside it. Each case plants links, renders (and checks), then proves the outside
is untouched; adding a case is adding a row to CASES."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import GOLDEN, CliResult

SECRET = "TOP-SECRET-CONTENT-0xC0FFEE\n"
Cli = Callable[..., CliResult]


@dataclass
class Farm:
    src: Path
    out: Path
    outside: Path  # a folder that is not under -o
    victim: Path  # a file outside -o that must survive unchanged

    def snapshot(self) -> dict[str, bytes | str]:
        """Everything outside -o: file bytes and link targets."""
        found: dict[str, bytes | str] = {}
        for path in sorted(self.outside.rglob("*")):
            key = str(path.relative_to(self.outside))
            if path.is_symlink():
                found[key] = "-> " + os.readlink(path)
            elif path.is_file():
                found[key] = path.read_bytes()
            else:
                found[key] = "dir"
        return found


@pytest.fixture
def farm(tmp_path: Path) -> Farm:
    src = tmp_path / "src"
    src.mkdir()
    (src / "hello.yaml").write_text((GOLDEN / "minimal" / "hello.yaml").read_text())
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text(SECRET)
    (outside / "hello").mkdir()
    (outside / "hello" / "config.xml").write_text(SECRET)
    (outside / "hello" / "Jenkinsfile").write_text(SECRET)
    return Farm(src, tmp_path / "out", outside, victim)


def _link(path: Path, target: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


# Each case plants links under an output that does not exist yet ("fresh") or that holds a
# complete earlier render ("rendered").
CASES: dict[str, tuple[str, Callable[[Farm], None]]] = {
    "team-folder-is-link": ("fresh", lambda f: _link(f.out / "core", f.outside)),
    "service-folder-is-link": (
        "fresh",
        lambda f: _link(f.out / "core" / "hello", f.outside / "hello"),
    ),
    "jenkinsfile-is-link": (
        "fresh",
        lambda f: _link(
            f.out / "core" / "hello" / "Jenkinsfile", f.outside / "hello" / "Jenkinsfile"
        ),
    ),
    "config-is-link-in-rendered-tree": (
        "rendered",
        lambda f: (
            (f.out / "core" / "hello" / "config.xml").unlink(),
            _link(f.out / "core" / "hello" / "config.xml", f.victim),
        ),
    ),
    "folder-xml-is-dangling-link": (
        "fresh",
        lambda f: _link(f.out / "core" / "folder.xml", f.outside / "created-by-render.xml"),
    ),
    "manifest-is-link": ("fresh", lambda f: _link(f.out / "manifest.json", f.victim)),
    "old-temporary-name-is-link": (
        "rendered",
        lambda f: (
            (f.out / "core" / "hello" / "config.xml").write_text("stale\n"),
            _link(f.out / "core" / "hello" / ".config.xml.tmp", f.victim),
        ),
    ),
    "random-temporary-name-is-link": (
        "rendered",
        lambda f: (
            (f.out / "core" / "hello" / "config.xml").write_text("stale\n"),
            _link(f.out / "core" / "hello" / ".jenkins-bridge-tmp-0123456789abcdef", f.victim),
        ),
    ),
    "jenkinsfile-is-hard-link-to-outside-file": (
        "fresh",
        lambda f: (
            (f.out / "core" / "hello").mkdir(parents=True),
            os.link(f.outside / "hello" / "Jenkinsfile", f.out / "core" / "hello" / "Jenkinsfile"),
        ),
    ),
    "config-is-a-fifo": (
        "fresh",
        lambda f: (
            (f.out / "core" / "hello").mkdir(parents=True),
            os.mkfifo(f.out / "core" / "hello" / "config.xml"),
        ),
    ),
    "manifest-is-a-fifo": ("fresh", lambda f: (f.out.mkdir(), os.mkfifo(f.out / "manifest.json"))),
    "manifest-is-a-directory": ("fresh", lambda f: (f.out / "manifest.json").mkdir(parents=True)),
    "team-folder-is-a-file": (
        "fresh",
        lambda f: (f.out.mkdir(), (f.out / "core").write_text("not a folder")),
    ),
    "team-folder-replaced-by-link-after-render": (
        "rendered",
        lambda f: (
            os.rename(f.out / "core", f.outside / "moved-core"),
            _link(f.out / "core", f.outside / "moved-core"),
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_links_under_the_output_never_reach_outside(cli: Cli, farm: Farm, case: str) -> None:
    state, plant = CASES[case]
    if state == "rendered":
        assert cli("render", str(farm.src), "-o", str(farm.out)).exit_code == 0
    plant(farm)
    before = farm.snapshot()
    check = cli("render", str(farm.src), "-o", str(farm.out), "--check")
    assert SECRET.strip() not in check.stdout + check.stderr, "check printed a file from outside"
    result = cli("render", str(farm.src), "-o", str(farm.out))
    assert farm.snapshot() == before, "render changed something outside -o"
    assert SECRET.strip() not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    if result.exit_code != 0:
        assert result.exit_code == 1
        assert "link" in result.stderr, result.stderr
    # Whatever render did, a second render followed by --check agrees with it.
    again = cli("render", str(farm.src), "-o", str(farm.out), "--check")
    assert again.exit_code in (0, 1, 2)
    assert SECRET.strip() not in again.stdout + again.stderr


def test_a_linked_team_folder_is_refused_by_name_and_nothing_is_written(
    cli: Cli, farm: Farm
) -> None:
    _link(farm.out / "core", farm.outside)
    result = cli("--output", "json", "render", str(farm.src), "-o", str(farm.out))
    assert result.exit_code == 1
    messages = [e["message"] for e in result.json()["errors"]]
    assert any(str(farm.out.resolve() / "core") in m and "symbolic link" in m for m in messages)
    assert len(messages) == 2  # the linked folder once (not each file under it), then a summary
    assert sorted(p.name for p in farm.out.iterdir()) == ["core"]  # not even the manifest


def test_check_names_a_linked_file_instead_of_printing_it(cli: Cli, farm: Farm) -> None:
    assert cli("render", str(farm.src), "-o", str(farm.out)).exit_code == 0
    config = farm.out / "core" / "hello" / "config.xml"
    config.unlink()
    config.symlink_to(farm.victim)
    result = cli("--output", "json", "render", str(farm.src), "-o", str(farm.out), "--check")
    assert result.exit_code == 2
    data = result.json()["data"]
    assert "core/hello/config.xml" in data["stale"]
    assert "symbolic link" in data["diff"] and SECRET.strip() not in data["diff"]


def test_the_output_folder_itself_may_be_a_link(cli: Cli, farm: Farm, tmp_path: Path) -> None:
    real = tmp_path / "real-out"
    real.mkdir()
    farm.out.symlink_to(real)
    assert cli("render", str(farm.src), "-o", str(farm.out)).exit_code == 0
    assert (real / "core" / "hello" / "Jenkinsfile").is_file()
    assert cli("render", str(farm.src), "-o", str(farm.out), "--check").exit_code == 0


def test_leftover_temporary_files_are_removed(cli: Cli, farm: Farm) -> None:
    assert cli("render", str(farm.src), "-o", str(farm.out)).exit_code == 0
    leftovers = [
        farm.out / ".jenkins-bridge-tmp-aaaa",
        farm.out / "core" / "hello" / ".jenkins-bridge-tmp-bbbb",
    ]
    for path in leftovers:
        path.write_text("half a file")
    (farm.out / "core" / "hello" / "config.xml").write_text("stale\n")
    assert cli("render", str(farm.src), "-o", str(farm.out)).exit_code == 0
    assert not any(path.exists() for path in leftovers)
    assert cli("render", str(farm.src), "-o", str(farm.out), "--check").exit_code == 0

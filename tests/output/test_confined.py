"""ConfinedDir: reading, writing and removing under a directory without following links."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from jenkins_bridge.errors import BridgeError
from jenkins_bridge.output.confined import (
    TEMPORARY_PREFIX,
    ConfinedDir,
    UnsafeOutputPath,
    relative_parts,
)


@pytest.mark.parametrize(
    "path",
    ["", "/etc/passwd", "..", "a/../b", "./a", "a//b", "a/", "a\\b", "a\0b", "a/./b"],
)
def test_paths_that_could_leave_the_directory_are_not_relative_parts(path: str) -> None:
    assert relative_parts(path) is None


def test_plain_relative_paths_split_into_parts() -> None:
    assert relative_parts("core/app/config.xml") == ("core", "app", "config.xml")
    assert relative_parts("..hidden/x") == ("..hidden", "x")


def test_write_creates_folders_and_replaces_atomically(tmp_path: Path) -> None:
    with ConfinedDir(tmp_path / "out", create=True) as root:
        root.write("a/b/c.txt", b"one")
        root.write("a/b/c.txt", b"two")
        assert root.read("a/b/c.txt")[1] == b"two"
    assert sorted(os.listdir(tmp_path / "out" / "a" / "b")) == ["c.txt"]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the output (``tmp_path/out``, made empty) holding ``f`` = "keep": what
    links in the output point at; it must come through every test untouched."""
    (tmp_path / "out").mkdir()
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "f").write_text("keep")
    return folder


def test_write_refuses_a_link_at_the_path_and_on_the_way(tmp_path: Path, outside: Path) -> None:
    out = tmp_path / "out"
    (out / "file").symlink_to(outside / "f")
    (out / "dir").symlink_to(outside)
    with ConfinedDir(out) as root:
        with pytest.raises(UnsafeOutputPath, match="symbolic link"):
            root.write("file", b"x")
        with pytest.raises(UnsafeOutputPath, match="folder dir on the way"):
            root.write("dir/f", b"x")
        found, data = root.read("dir/f")
        assert found.kind == "through-symlink" and data is None
        assert root.remove("dir/f").kind == "through-symlink"
        assert root.remove("file").kind == "symlink"
    assert (outside / "f").read_text() == "keep"
    assert (out / "file").is_symlink()


def test_remove_deletes_empty_folders_up_to_the_root_only(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with ConfinedDir(out, create=True) as root:
        root.write("a/b/c.txt", b"x")
        root.write("a/keep.txt", b"x")
        assert root.remove("a/b/c.txt").kind == "file"
    assert sorted(os.listdir(out / "a")) == ["keep.txt"]
    assert out.is_dir()


def test_temporaries_are_removed_without_following_links(tmp_path: Path, outside: Path) -> None:
    out = tmp_path / "out"
    (out / f"{TEMPORARY_PREFIX}1").write_text("half")
    (out / f"{TEMPORARY_PREFIX}2").symlink_to(outside / "f")
    # an interrupted run's staging folder goes with what it holds, links not followed
    staged = out / f"{TEMPORARY_PREFIX}3" / f"{TEMPORARY_PREFIX}4" / "team"
    staged.mkdir(parents=True)
    (staged / "config.xml").write_text("half")
    (staged / "f").symlink_to(outside / "f")
    (staged / "dir").symlink_to(outside)
    with ConfinedDir(out) as root:
        removed = root.remove_temporaries("", spare=f"{TEMPORARY_PREFIX}5")
    assert sorted(removed) == [f"{TEMPORARY_PREFIX}{n}" for n in (1, 2, 3)]
    assert os.listdir(out) == []
    assert sorted(os.listdir(outside)) == ["f"] and (outside / "f").read_text() == "keep"


def test_the_running_render_spares_its_own_staging_folder(tmp_path: Path) -> None:
    (tmp_path / f"{TEMPORARY_PREFIX}mine" / "a").mkdir(parents=True)
    (tmp_path / f"{TEMPORARY_PREFIX}old").mkdir()
    with ConfinedDir(tmp_path) as root:
        assert root.remove_temporaries("", spare=f"{TEMPORARY_PREFIX}mine") == [
            f"{TEMPORARY_PREFIX}old"
        ]
    assert os.listdir(tmp_path) == [f"{TEMPORARY_PREFIX}mine"]


def test_a_missing_root_reads_as_missing_and_refuses_writes(tmp_path: Path) -> None:
    with ConfinedDir(tmp_path / "nope") as root:
        assert not root.exists
        with pytest.raises(BridgeError, match="does not exist"):
            root.write("x", b"")


def test_a_file_where_a_folder_should_be_is_named(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "core").write_text("i am a file")
    with ConfinedDir(out) as root, pytest.raises(UnsafeOutputPath, match="core on the way"):
        root.write("core/folder.xml", b"x")


def test_a_folder_moved_outside_after_it_was_opened_is_not_written(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    with ConfinedDir(out, create=True) as root:
        root.write("team/a.txt", b"a")  # the walk leaves team/ open for the next file
        os.rename(out / "team", outside / "team")
        (out / "team").symlink_to(outside / "team")
        with pytest.raises(UnsafeOutputPath, match="outside"):
            root.write("team/b.txt", b"b")
    assert sorted(os.listdir(outside / "team")) == ["a.txt"]


def test_a_folder_moved_to_a_sibling_whose_name_starts_like_the_root_is_outside(
    tmp_path: Path,
) -> None:
    # The check compares the folder's path as text first: "out-b/team" starts with "out".
    out, sibling = tmp_path / "out", tmp_path / "out-b"
    sibling.mkdir()
    with ConfinedDir(out, create=True) as root:
        root.write("team/a.txt", b"a")
        os.rename(out / "team", sibling / "team")
        with pytest.raises(UnsafeOutputPath, match="outside"):
            root.write("team/b.txt", b"b")
    assert sorted(os.listdir(sibling / "team")) == ["a.txt"]


def test_temporary_names_differ_per_file_and_per_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    names: list[str] = []
    real_replace = os.replace

    def spy(source: str, target: str, **kwargs: object) -> None:
        names.append(source)
        real_replace(source, target, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "replace", spy)
        for _ in range(2):
            with ConfinedDir(out, create=True) as root:
                root.write("a.txt", b"a")
                root.write("b.txt", b"b")
    assert len(set(names)) == 4 and all(n.startswith(TEMPORARY_PREFIX) for n in names)
    assert sorted(os.listdir(out)) == ["a.txt", "b.txt"]


def _staging_with(root: ConfinedDir, files: dict[str, bytes]) -> ConfinedDir:
    run = root.subfolder(f"{TEMPORARY_PREFIX}run", create=True)
    chunk = run.subfolder(f"{TEMPORARY_PREFIX}chunk", create=True)
    run.close()
    done: list[str] = []
    chunk.create_all(sorted(files.items()), done)
    assert done == sorted(files)
    return chunk


STAGED = {"team/new/a.txt": b"a", "team/old.txt": b"new", "other/b.txt": b"b"}


@pytest.mark.parametrize("other_file_system", [False, True])
def test_staged_files_move_into_place_whole_or_merged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other_file_system: bool
) -> None:
    out = tmp_path / "out"
    (out / "team").mkdir(parents=True)
    (out / "team" / "old.txt").write_text("old")
    (out / "team" / "keep.txt").write_text("keep")
    if other_file_system:  # as if team/ were a mount point: no rename across it
        real = os.replace

        def replace(src: str, dst: str, *, src_dir_fd: int, dst_dir_fd: int) -> None:
            if src_dir_fd != dst_dir_fd:
                raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
            real(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)

        monkeypatch.setattr(os, "replace", replace)
    moved: list[str] = []
    with ConfinedDir(out) as root, _staging_with(root, STAGED) as staged:
        root.move_in(staged, moved)
        root.remove_folder(f"{TEMPORARY_PREFIX}run")
    monkeypatch.undo()
    if other_file_system:
        assert sorted(moved) == sorted(STAGED)
    else:  # a folder missing in the output moves whole
        assert sorted(moved) == ["other", "team/new", "team/old.txt"]
    assert {p: (out / p).read_bytes() for p in STAGED} == STAGED
    assert (out / "team" / "keep.txt").read_text() == "keep"
    assert sorted(os.listdir(out)) == ["other", "team"]
    assert sorted(os.listdir(out / "team")) == ["keep.txt", "new", "old.txt"]


def test_a_link_made_since_the_scan_is_not_moved_through(tmp_path: Path, outside: Path) -> None:
    out = tmp_path / "out"
    (out / "team").symlink_to(outside)
    with ConfinedDir(out) as root, _staging_with(root, STAGED) as staged:
        with pytest.raises(UnsafeOutputPath, match="team: it is a symbolic link"):
            root.move_in(staged, [])
        root.remove_folder(f"{TEMPORARY_PREFIX}run")
    assert sorted(os.listdir(outside)) == ["f"]
    assert os.listdir(out) in (["team"], ["other", "team"], ["team", "other"])


def test_create_all_walks_each_folder_once_and_keeps_the_last_of_a_path_given_twice(
    tmp_path: Path,
) -> None:
    files = [("a/b/x", b"1"), ("a/b/x", b"2"), ("a/b/y", b"3"), ("a/c", b"4"), ("d", b"5")]
    done: list[str] = []
    with ConfinedDir(tmp_path) as root:
        staging = root.subfolder(f"{TEMPORARY_PREFIX}s", create=True)
        with staging:
            staging.create_all(files, done)
            with pytest.raises(UnsafeOutputPath, match="plain relative path"):
                staging.create_all([("a/..", b"x")], done)
    assert done == [path for path, _ in files]
    made = tmp_path / f"{TEMPORARY_PREFIX}s"
    assert [(made / p).read_bytes() for p in ("a/b/x", "a/b/y", "a/c", "d")] == [
        b"2",
        b"3",
        b"4",
        b"5",
    ]

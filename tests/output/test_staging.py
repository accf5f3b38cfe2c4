"""Files written ahead by the processes that render them (output/staging.py): the tree and
the report are the ones the serial writer makes, and a run that fails anywhere (a link in
any chunk's folders, a problem across files, a worker that dies or cannot write) leaves the
output as it was, with no temporaries."""

from __future__ import annotations

import errno
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CliResult, write_numbered_services

from jenkins_bridge import workers
from jenkins_bridge.errors import InvalidDescriptors
from jenkins_bridge.output import run as run_module
from jenkins_bridge.output.confined import TEMPORARY_PREFIX, ConfinedDir
from jenkins_bridge.output.incremental import CACHE, RenderCache, record_output
from jenkins_bridge.output.run import render_run
from jenkins_bridge.output.staging import StagedChunk, StageTarget, stage_chunk
from jenkins_bridge.output.workspace import (
    RenderInterrupted,
    WriteReport,
    write_tree,
)
from jenkins_bridge.render.artifacts import Artifact
from jenkins_bridge.workers import PARALLEL_THRESHOLD, WorkerFailed

Cli = Callable[..., CliResult]
COUNT = PARALLEL_THRESHOLD + 50  # enough for the process pool


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # team = i % 7: every team's services are spread over several chunks
    return write_numbered_services(tmp_path_factory.mktemp("src"), COUNT, teams=7)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 30 descriptors: ~16 chunks over 2 workers, each team in several of them."""
    monkeypatch.setattr(workers, "MAX_CHUNK", 30)


def _tree(out: Path) -> dict[str, bytes | str]:
    """Every file (bytes), link and folder under ``out``, but the reuse cache."""
    found: dict[str, bytes | str] = {}
    for folder, folders, files in os.walk(out):
        for name in [*folders, *files]:
            path = Path(folder, name)
            key = str(path.relative_to(out))
            if key.startswith(CACHE):
                continue
            if path.is_symlink():
                found[key] = "-> " + os.readlink(path)
            elif path.is_dir():
                found[key] = "dir"
            else:
                found[key] = path.read_bytes()
    return found


def _temporaries(out: Path) -> list[Path]:
    return list(out.rglob(f"{TEMPORARY_PREFIX}*"))


def _serial(src: Path, out: Path) -> WriteReport:
    run = render_run([src], workers=1, reuse=out)
    assert run.staging is None and not run.tree.staged
    return write_tree(out, run.tree, cache=run.cache, previous=run.previous)


def _staged(src: Path, out: Path, count: int) -> WriteReport:
    run = render_run([src], workers=count, reuse=out, out=out)
    assert run.staging is not None
    assert run.tree.staged and all(not p.endswith("folder.xml") for p in run.tree.staged)
    return write_tree(out, run.tree, cache=run.cache, previous=run.previous, staging=run.staging)


@pytest.mark.parametrize("count", [1, 2])  # 1: in this process, one chunk
def test_staged_files_make_the_serial_writers_tree_and_report(
    src: Path, tmp_path: Path, count: int
) -> None:
    serial, staged = tmp_path / "serial", tmp_path / "staged"
    first = (_serial(src, serial), _staged(src, staged, count))
    assert first[0].as_data() == first[1].as_data()
    assert first[1].written == [*sorted(first[1].written[:-1]), "manifest.json"]
    assert len(first[1].written) > COUNT * 2
    assert _tree(serial) == _tree(staged)
    assert not _temporaries(staged)
    # Then into a tree that holds them: an edited file, one removed, a service gone and one
    # new (its team folder exists: the staged folder is merged into it, not moved whole).
    for out in (serial, staged):
        (out / "team-3" / "svc-3" / "config.xml").write_text("edited by hand\n")
        (out / "team-5" / "svc-12" / "Jenkinsfile").unlink()
    (src / "team-1" / "svc-1.yaml").rename(src / "team-1" / "svc-new.yaml")
    (src / "team-1" / "svc-new.yaml").write_text(
        (src / "team-1" / "svc-new.yaml").read_text().replace("svc-1,", "svc-new,")
    )
    try:
        second = (_serial(src, serial), _staged(src, staged, count))
    finally:
        (src / "team-1" / "svc-new.yaml").write_text(
            (src / "team-1" / "svc-new.yaml").read_text().replace("svc-new,", "svc-1,")
        )
        (src / "team-1" / "svc-new.yaml").rename(src / "team-1" / "svc-1.yaml")
    assert second[0].as_data() == second[1].as_data()
    written = second[1].written
    assert "team-3/svc-3/config.xml" in written and "team-5/svc-12/Jenkinsfile" in written
    assert "team-1/svc-new/Jenkinsfile" in written and "team-1/svc-1/Jenkinsfile" in (
        second[1].removed
    )
    assert len(second[1].unchanged) > COUNT * 2
    assert _tree(serial) == _tree(staged)
    assert not _temporaries(staged)


def test_the_cli_stages_and_check_agrees(src: Path, tmp_path: Path, cli: Cli) -> None:
    out = tmp_path / "out"
    serial = tmp_path / "serial"
    _serial(src, serial)
    assert cli("render", str(src), "-o", str(out), "--workers", "2").exit_code == 0
    assert _tree(out) == _tree(serial)
    assert cli("render", str(src), "-o", str(out), "--check").exit_code == 0
    again = cli("--output", "json", "render", str(src), "-o", str(out), "--force")
    assert again.exit_code == 0 and '"written": []' in again.stdout
    assert not _temporaries(out)


@pytest.mark.parametrize("fresh", [True, False])
def test_a_link_in_a_later_chunks_folder_refuses_and_nothing_is_written(
    src: Path, tmp_path: Path, cli: Cli, fresh: bool
) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    if not fresh:
        assert cli("render", str(src), "-o", str(out)).exit_code == 0
        (out / "team-0" / "svc-0" / "config.xml").write_text("stale\n")  # would be written
        for name in ("svc-6", "svc-97"):
            (out / "team-6" / name).rename(tmp_path / name)
    out.mkdir(exist_ok=True)
    # svc-6 and svc-97 come last in their team: a chunk late in the run
    (out / "team-6" / "svc-6").parent.mkdir(exist_ok=True)
    (out / "team-6" / "svc-6").symlink_to(outside)
    (out / "team-6" / "svc-97").symlink_to(outside)
    before = _tree(out)
    result = cli("render", str(src), "-o", str(out), "--workers", "2")
    assert result.exit_code == 1
    assert f"{out / 'team-6' / 'svc-6'}: it is a symbolic link" in result.stderr
    assert f"{out / 'team-6' / 'svc-97'}: it is a symbolic link" in result.stderr
    assert _tree(out) == before
    assert not _temporaries(out)
    assert sorted(os.listdir(outside)) == ["keep"]


def test_a_problem_across_chunks_writes_nothing(src: Path, tmp_path: Path, cli: Cli) -> None:
    dup = src / "team-6" / "zz-dup.yaml"  # a later chunk defines svc-0 of team-0 again
    dup.write_text((src / "team-0" / "svc-0.yaml").read_text())
    out = tmp_path / "deep" / "out"
    try:
        with pytest.raises(InvalidDescriptors, match="problem"):
            render_run([src], workers=2, out=out)
        result = cli("render", str(src), "-o", str(out), "--workers", "2")
    finally:
        dup.unlink()
    assert result.exit_code == 1 and "already defined" in result.stderr
    assert not (tmp_path / "deep").exists()  # the folders made to stage in are gone too
    # into an existing output: as it was
    assert cli("render", str(src), "-o", str(out)).exit_code == 0
    before = _tree(out)
    dup.write_text((src / "team-0" / "svc-0.yaml").read_text())
    try:
        (src / "team-2" / "svc-2.yaml").write_text(
            (src / "team-2" / "svc-2.yaml").read_text().replace("make test", "make check")
        )
        assert cli("render", str(src), "-o", str(out), "--workers", "2").exit_code == 1
        assert cli("render", str(src), "-o", str(out), "--force").exit_code == 1
    finally:
        dup.unlink()
        (src / "team-2" / "svc-2.yaml").write_text(
            (src / "team-2" / "svc-2.yaml").read_text().replace("make check", "make test")
        )
    assert _tree(out) == before
    assert not _temporaries(out)


def _kill_in_chunk(name: str) -> Callable[[StageTarget, list[Artifact]], StagedChunk]:
    """stage_chunk that stages the chunk holding service ``name``, then dies (SIGKILL)."""

    def stage(target: StageTarget, artifacts: list[Artifact]) -> StagedChunk:
        staged = stage_chunk(target, artifacts)
        if any(f"/{name}/" in a.path for a in artifacts):
            assert staged.staged  # its files are in the staging folder
            os.kill(os.getpid(), signal.SIGKILL)
        return staged

    return stage


def test_a_worker_killed_mid_run_fails_it_and_leaves_nothing(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    _serial(src, out)
    for stale in ("team-4/svc-4/config.xml", "team-6/svc-300/Jenkinsfile"):
        (out / stale).write_text("stale\n")
    before = _tree(out)
    monkeypatch.setattr(run_module, "stage_chunk", _kill_in_chunk("svc-300"))
    with pytest.raises(WorkerFailed, match="died"):
        render_run([src], workers=2, out=out)
    assert _tree(out) == before
    assert not _temporaries(out)


def test_a_staging_folder_a_killed_run_left_is_removed_by_the_next(
    src: Path, tmp_path: Path, cli: Cli
) -> None:
    out = tmp_path / "out"
    assert cli("render", str(src), "-o", str(out)).exit_code == 0
    left = out / f"{TEMPORARY_PREFIX}run" / f"{TEMPORARY_PREFIX}chunk" / "team-0" / "svc-0"
    left.mkdir(parents=True)
    (left / "config.xml").write_text("half a file")
    (left / "link").symlink_to(tmp_path)
    (src / "team-0" / "svc-0.yaml").write_text(
        (src / "team-0" / "svc-0.yaml").read_text().replace("make test", "make check")
    )
    try:
        assert cli("render", str(src), "-o", str(out), "--workers", "2").exit_code == 0
    finally:
        (src / "team-0" / "svc-0.yaml").write_text(
            (src / "team-0" / "svc-0.yaml").read_text().replace("make check", "make test")
        )
    assert not _temporaries(out)
    assert tmp_path.is_dir() and (tmp_path / "out").is_dir()


def test_a_worker_that_cannot_write_is_an_error_not_a_crash(
    src: Path, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ConfinedDir.create_all

    def full(
        self: ConfinedDir, files: list[tuple[str, bytes]], done: list[str], *more: Any
    ) -> None:
        before = [f for f in files if "/svc-200/" not in f[0]]
        if len(before) < len(files):  # as if the disk filled up at svc-200's first file
            first = files.index(next(f for f in files if "/svc-200/" in f[0]))
            real(self, files[:first], done, *more)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(self, files, done, *more)

    monkeypatch.setattr(ConfinedDir, "create_all", full)
    out = tmp_path / "out"
    result = cli("render", str(src), "-o", str(out), "--workers", "2")
    assert result.exit_code == 1
    message = f"error: cannot write {out / 'team-4' / 'svc-200' / 'Jenkinsfile'}: No space left"
    assert result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1
    assert not out.exists()


def test_interrupted_while_moving_staged_files_into_place(
    src: Path, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    run = render_run([src], workers=2, out=out)
    assert run.staging is not None
    real = ConfinedDir.move_in
    calls: list[int] = []

    def move_in(self: ConfinedDir, source: ConfinedDir, moved: list[str]) -> None:
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        real(self, source, moved)

    monkeypatch.setattr(ConfinedDir, "move_in", move_in)
    with pytest.raises(RenderInterrupted) as caught:
        write_tree(out, run.tree, cache=run.cache, staging=run.staging)
    monkeypatch.undo()
    written = caught.value.data["written"]
    assert isinstance(written, list) and written and "manifest.json" not in written
    assert all((out / path).is_file() for path in written)  # what it says was written was
    assert not _temporaries(out)
    assert cli("render", str(src), "-o", str(out), "--check").exit_code == 2
    assert cli("render", str(src), "-o", str(out)).exit_code == 0
    assert cli("render", str(src), "-o", str(out), "--check").exit_code == 0


def test_after_one_edit_the_manifest_is_spliced_from_staged_entries_too(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    _serial(src, out)
    spliced: list[str | None] = []
    real = run_module.spliced_manifest_text

    def splice(*args: object) -> str | None:
        spliced.append(real(*args))  # type: ignore[arg-type]
        return spliced[-1]

    monkeypatch.setattr(run_module, "spliced_manifest_text", splice)
    edited = src / "team-2" / "svc-2.yaml"
    text = edited.read_text()
    edited.write_text(text.replace("make test", "make check"))
    try:
        run = render_run([src], reuse=out, out=out)
        assert run.reused == COUNT - 1 and run.tree.staged
        write_tree(out, run.tree, cache=run.cache, previous=run.previous, staging=run.staging)
        assert spliced and spliced[0] is not None
        assert (
            run.tree.artifacts["manifest.json"].text
            == render_run([src]).tree.artifacts["manifest.json"].text
        )
    finally:
        edited.write_text(text)


def test_a_full_run_joins_the_manifest_from_the_chunks_entries(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    joined: list[str | None] = []
    real = run_module.joined_manifest_text

    def join(entries: list[tuple[str, str]]) -> str | None:
        joined.append(real(entries))
        return joined[-1]

    monkeypatch.setattr(run_module, "joined_manifest_text", join)
    run = render_run([src], workers=2, out=tmp_path / "out")
    assert run.staging is not None
    run.staging.discard()
    assert len(joined) == 1 and joined[0] is not None
    assert run.tree.artifacts["manifest.json"].text == joined[0]
    assert joined[0] == render_run([src]).tree.artifacts["manifest.json"].text


def _recorded_again(cache: RenderCache, out: Path) -> RenderCache:
    """What record_output notes of the same files when it looks at each of them now."""
    again = RenderCache(cache.run)
    record_output(again, out, list(cache.files))
    return again


@pytest.mark.parametrize("count", [1, 2])
def test_files_moved_into_place_whole_are_recorded_as_they_were_made(
    src: Path, tmp_path: Path, count: int
) -> None:
    out = tmp_path / "out"
    for edit in (False, True):  # fresh (teams move whole), then into folders that exist
        if edit:
            shutil.rmtree(out / "team-2" / "svc-2")  # moves whole into team-2
            (out / "team-3" / "svc-3" / "config.xml").write_text("edited\n")  # renamed alone
            shutil.rmtree(out / "team-4")  # the whole team again
        run = render_run([src], workers=count, reuse=out, out=out)
        assert run.staging is not None
        staging = run.staging
        write_tree(out, run.tree, cache=run.cache, previous=run.previous, staging=staging)
        assert staging.placed_files and staging.placed_folders
        if edit:
            assert "team-3/svc-3/config.xml" not in staging.placed_files  # renamed: looked at
            assert "team-2/svc-2/Jenkinsfile" in staging.placed_files
            assert "team-2" in staging.entered and "team-2/svc-2" in staging.placed_folders
        again = _recorded_again(run.cache, out)
        assert run.cache.files == again.files
        assert {f: run.cache.folders.get(f) for f in again.folders} == again.folders
        # and the next run finds every service in place
        assert render_run([src], reuse=out).reused == COUNT

"""A render's files, written ahead by the processes that render them.

Once a chunk of services is rendered (in a worker, or in the run itself for a small run), its
files are compared with the output (``ConfinedDir.read``: unchanged, to write, or refused) and
those to write go into the run's staging folder inside the output
(``.jenkins-bridge-tmp-…/.jenkins-bridge-tmp-<chunk>/<path>``, created exclusively, reached
without following links). Only what each file is (path, kind, sha256) goes back to the run,
not its text. When the whole run has passed (no problem in any chunk, the checks across
files, no refusal anywhere), ``write_tree`` moves the staged files into place
(``ConfinedDir.move_in``: a folder missing in the output moves as one rename); otherwise the
staging folder is deleted and the output is as it was. A run killed in between leaves the
staging folder to the next render, which deletes it (``remove_temporaries``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jenkins_bridge.errors import BridgeError
from jenkins_bridge.output.confined import TEMPORARY_PREFIX, ConfinedDir, Found
from jenkins_bridge.output.incremental import FileStat, OutputStat, RenderCache, file_stat
from jenkins_bridge.output.manifest import entry_text
from jenkins_bridge.render.artifacts import Artifact

_MISSING = Found("missing")


def refusal(path: str, found: Found) -> tuple[str, str] | None:
    """What render refuses to write through at ``path``: the path to name (a linked folder
    once, not once per file under it) and why; None where it writes (a file, a hard link it
    replaces, nothing)."""
    if found.kind in ("file", "missing", "hardlink"):
        return None
    if found.kind == "through-symlink" and found.target is not None:
        return found.target, "it is a symbolic link"
    if found.kind == "other" and found.target is not None:
        return found.target, "it is not a folder"
    return path, found.reason()


@dataclass(frozen=True, slots=True)
class StageTarget:
    """Where a chunk stages its files: the output and the run's staging folder's name."""

    out: Path
    folder: str


@dataclass(slots=True)
class StagedChunk:
    """What one chunk found in the output and staged: data, so it crosses the process pool."""

    folder: str | None = None  # its folder in the staging folder; None: nothing staged
    staged: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refusals: list[tuple[str, str]] = field(default_factory=list)
    dirty: list[str] = field(default_factory=list)  # folders holding leftover temporaries
    # (path, its manifest entry's text) of each file, made here in parallel (``entry_text``)
    entries: list[tuple[str, str]] = field(default_factory=list)
    # What the render cache records of each staged file and folder, taken as they were made:
    # a file in a folder moved into place whole keeps them (renaming a folder changes
    # nothing of what is in it), so write_tree need not look at it again.
    stats: dict[str, FileStat] = field(default_factory=dict)
    inodes: dict[str, int] = field(default_factory=dict)
    error: tuple[str, str | None] | None = None  # a file it could not read or stage


def stage_chunk(target: StageTarget, artifacts: Sequence[Artifact]) -> StagedChunk:
    """Compare ``artifacts`` with the output and stage those that differ; never raises a
    user's error (an unreadable file, a full disk): it comes back as data."""
    chunk = StagedChunk()
    try:
        _stage(target, sorted(artifacts, key=lambda a: a.path), chunk)
    except BridgeError as exc:
        chunk.error = (exc.message, exc.hint)
    return chunk


def _stage(target: StageTarget, artifacts: list[Artifact], chunk: StagedChunk) -> None:
    with contextlib.ExitStack() as stack:
        root = stack.enter_context(ConfinedDir(target.out))
        folders = _Listings(root)
        pending: list[tuple[str, bytes]] = []
        for artifact in artifacts:
            path = artifact.path
            folder, _, name = path.rpartition("/")
            names = folders.names(folder)
            if names is None or name in names:
                found, current = root.read(path)
            else:  # not there: no need to look
                found, current = _MISSING, None
            refused = refusal(path, found)
            if refused is not None:
                chunk.refusals.append(refused)
                continue
            chunk.entries.append(
                (path, entry_text(artifact.kind, path, artifact.sha256, artifact.source))
            )
            data = artifact.text.encode("utf-8")
            if current == data:
                chunk.unchanged.append(path)
            elif not chunk.refusals:  # else the run will fail: only the scan matters
                pending.append((path, data))
        if pending and not chunk.refusals:
            if not root.exists:
                root = stack.enter_context(ConfinedDir(target.out, create=True))
            run = stack.enter_context(root.subfolder(target.folder, create=True))
            chunk.folder = f"{TEMPORARY_PREFIX}{secrets.token_hex(8)}"
            staged = stack.enter_context(run.subfolder(chunk.folder, create=True))
            made: dict[str, os.stat_result] = {}
            try:
                staged.create_all(pending, chunk.staged, made, chunk.inodes)
            except OSError as exc:
                where = root.root / pending[len(chunk.staged)][0]
                raise BridgeError(f"cannot write {where}: {exc.strerror or exc}") from exc
            chunk.stats = dict(zip(made, map(file_stat, made.values()), strict=True))
        # Where an interrupted run may have left temporaries (looked at here, in parallel;
        # removed by write_tree once the run has passed). The root is write_tree's.
        chunk.dirty = sorted(folders.dirty)


class _Listings:
    """What the output's folders hold, each listed once (a folder missing, or missing from
    the one above it, is not asked for): a file not listed needs no read."""

    def __init__(self, root: ConfinedDir) -> None:
        self._root = root
        self._known: dict[str, frozenset[str] | None] = {}
        self.dirty: set[str] = set()

    def names(self, folder: str) -> frozenset[str] | None:
        """The names in ``folder`` (empty if it is missing); None: read each file (a link or
        a file on the way: ``ConfinedDir.read`` says which)."""
        if folder in self._known:
            return self._known[folder]
        names: frozenset[str] | None
        if not self._root.exists:
            names = frozenset()
        else:
            parent, _, name = folder.rpartition("/")
            above = self.names(parent) if folder else None
            if above is not None and name not in above:
                names = frozenset()
            else:
                listed = self._root.names(folder)
                if isinstance(listed, Found):
                    names = frozenset() if listed.kind == "missing" else None
                else:
                    names = listed
                    if folder and any(n.startswith(TEMPORARY_PREFIX) for n in names):
                        self.dirty.add(folder)
        self._known[folder] = names
        return names


def _under(paths: list[str], moved: list[str]) -> list[str]:
    """The ``paths`` that are one of ``moved`` (files, and folders moved whole) or in one."""
    if not moved:
        return []
    gone = set(moved)
    found = []
    for path in paths:
        folder = path
        while folder:
            if folder in gone:
                found.append(path)
                break
            folder = folder.rpartition("/")[0]
    return found


class Staging:
    """The run's staging folder in the output, and what its chunks found and staged, until
    ``write_tree`` moves the staged files into place or the run fails and it is deleted."""

    def __init__(self, out: Path) -> None:
        self.target = StageTarget(out, f"{TEMPORARY_PREFIX}{secrets.token_hex(8)}")
        self.chunks: list[StagedChunk] = []
        # The output's folders that do not exist yet: a chunk creates them to stage its
        # files, and a failed run removes them again (those left empty).
        self._created: list[Path] = []
        level = Path(os.path.abspath(out))
        while not os.path.lexists(level) and level != level.parent:
            self._created.append(level)
            level = level.parent
        self._open = True
        # Once moved into place: the files and folders whose stats were taken as they were
        # made (in a folder moved whole), and the folders entered above those
        self.placed_files: dict[str, FileStat] = {}
        self.placed_folders: dict[str, int] = {}
        self.entered: set[str] = set()

    @property
    def staged(self) -> list[str]:
        return [path for chunk in self.chunks for path in chunk.staged]

    @property
    def unchanged(self) -> list[str]:
        return [path for chunk in self.chunks for path in chunk.unchanged]

    @property
    def refusals(self) -> list[tuple[str, str]]:
        return [refused for chunk in self.chunks for refused in chunk.refusals]

    @property
    def dirty(self) -> list[str]:
        return [folder for chunk in self.chunks for folder in chunk.dirty]

    def raise_error(self) -> None:
        """A chunk's error reading or staging a file, as the writer would have raised it."""
        for chunk in self.chunks:
            if chunk.error is not None:
                message, hint = chunk.error
                raise BridgeError(message, hint=hint)

    def move_into(self, root: ConfinedDir, written: list[str]) -> None:
        """Move every chunk's staged files into place, chunk by chunk in the run's order (a
        path staged twice: the later one stays, as in the rendered tree); each file is added
        to ``written`` once it is in place (an interrupt leaves the list true)."""
        chunks = [chunk for chunk in self.chunks if chunk.folder is not None]
        if not chunks:
            return
        with root.subfolder(self.target.folder) as run:
            for chunk in chunks:
                assert chunk.folder is not None
                moved: list[str] = []
                try:
                    with run.subfolder(chunk.folder) as staged:
                        root.move_in(staged, moved)
                finally:
                    written.extend(_under(chunk.staged, moved))
                    self._placed(chunk, moved)
        self._created = []  # the output holds the run's files now

    def _placed(self, chunk: StagedChunk, moved: list[str]) -> None:
        whole = [path for path in moved if path in chunk.inodes]  # folders moved whole
        files = _under(chunk.staged, whole)
        self.placed_files.update((path, chunk.stats[path]) for path in files)
        folders = _under(list(chunk.inodes), whole)
        self.placed_folders.update((folder, chunk.inodes[folder]) for folder in folders)
        for path in moved:
            folder = path.rpartition("/")[0]
            while folder and folder not in self.entered:
                self.entered.add(folder)
                folder = folder.rpartition("/")[0]

    def record(self, cache: RenderCache, out: Path) -> None:
        """Note in ``cache`` what was taken of the files and folders as they were made, and
        the folders entered above them as they are now."""
        cache.files.update(self.placed_files)
        cache.folders.update(self.placed_folders)
        now = OutputStat(out)
        for folder in self.entered:
            found = now.folder(folder)
            if found is not None:
                cache.folders[folder] = found

    def discard(self) -> None:
        """Delete the staging folder with what is left in it, and the output's folders the
        run created while they are empty; once (later calls do nothing)."""
        if not self._open:
            return
        self._open = False
        with ConfinedDir(self.target.out) as root:
            if root.exists:
                root.remove_folder(self.target.folder)
        for level in self._created:
            with contextlib.suppress(OSError):
                os.rmdir(level)

"""What lets ``render`` redo only the services whose inputs changed: a fingerprint of each
descriptor's inputs and a cache, kept in the output directory, of what each one produced.

A service is taken from the cache only when everything that can change its files is the
same: its descriptor's bytes, every ``_defaults.yaml`` that governs it, the tool (version,
code and templates), the run's options and the list of descriptors; and each file it wrote
is still the one render left there (same inode, size, modification and change time, under
folders that are still the same folders). Anything else, or a cache that is missing, foreign or
unreadable, means a full render. The cache is input to check, never trusted: a wrong entry
costs a re-render, never a stale file.

An input file (a descriptor, a ``_defaults.yaml``) is read only when its stat changed, as git's
index does: the cache records each one's device, inode, size, modification and change time with
the sha256 of its bytes, and a file whose stat is the recorded one is not read again, unless it
is "racy": changed less than ``RACY_NS`` before the run that recorded it started, when a second
edit within the same clock tick (or the file system's timestamp granularity) could have left
the stat as it was. Those are always read.
"""

from __future__ import annotations

import bisect
import functools
import gc
import hashlib
import itertools
import json
import operator
import os
import stat
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jenkins_bridge import __version__
from jenkins_bridge.descriptor.loading import DEFAULTS_FILE, DescriptorFile
from jenkins_bridge.descriptor.yamlsource import MAX_BYTES
from jenkins_bridge.output.confined import ConfinedDir

# In a folder of its own that tells git to ignore it (as mypy's and ruff's caches do): a
# rendered tree is often committed, and what the cache records (inodes, times) is this
# machine's alone.
CACHE_FOLDER = ".jenkins-bridge-cache"
CACHE = f"{CACHE_FOLDER}/render.json"
CACHE_GITIGNORE = (
    f"{CACHE_FOLDER}/.gitignore",
    b"# jenkins-bridge render's cache: not output\n*\n",
)
# 2: a file's change time; 3: the manifest's; 4: input files' stats and digests; 5: a position
# in the service's own descriptor names it as null (two absolute paths a service fewer to parse);
# 6: by column (stats flat, with the mode), a service's summary and positions on a line of
# their own, parsed only where needed (a third of the time to read); 7: a folder by its inode;
# 8: a fingerprint is its parts side by side, not hashed again; 9: the rows in segments, each
# its columns on a line then its rows' details, so that a run copies the previous cache's
# segments whose rows it carried as they are (bytes) and encodes only the others
_FORMAT = "jenkins-bridge-render-cache/9"
_PACKAGE = Path(__file__).resolve().parent.parent


def _tool_digest(inputs: InputDigests) -> str:
    """The tool's own inputs to rendering: its version and every module and template of the
    package (an editable install changes them without a new version), each trusted by its
    stat as the descriptors are."""
    digest = hashlib.sha256(__version__.encode())
    paths: list[str] = []
    for folder, dirs, files in os.walk(_PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        paths.extend(
            os.path.join(folder, name)
            for name in sorted(files)
            if name.endswith((".py", ".j2", ".json", ".yaml"))
        )
    for path, data in zip(paths, inputs.of_many(paths, limit=None), strict=True):
        digest.update(os.path.relpath(path, _PACKAGE).encode() + b"\0")
        digest.update(data.encode() + b"\0")
    return digest.hexdigest()


def run_key(
    files: Sequence[DescriptorFile], options: Mapping[str, Any], inputs: InputDigests | None = None
) -> str:
    """What every service of a run shares: the tool, the options and the list of descriptors
    (a descriptor added or removed changes the checks across files and the team files)."""
    digest = hashlib.sha256(_tool_digest(inputs or InputDigests()).encode())
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    # one update with every descriptor's part (the digest of their concatenation, as one
    # update each gave; 5,000 updates were a third of the key's time)
    digest.update("".join([f"\0{d.key}\0{d.origin}\0{d.text}" for d in files]).encode())
    return digest.hexdigest()


def _read_regular(path: str, limit: int | None = MAX_BYTES) -> tuple[bytes, os.stat_result] | None:
    """The bytes of a regular file (never a FIFO or device, never more than ``limit``: the
    loader's) and its stat taken before reading; None for anything else, which the loader
    then reports."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (limit is not None and info.st_size > limit):
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks), info
    except OSError:
        return None
    finally:
        os.close(fd)


# An input file changed this close to (or after) the start of the run that recorded its stat
# is read again: a kernel stamps files from a clock that advances in ticks (up to 10 ms, and
# it may lag ``time.time_ns``) and some file systems keep coarser times (FAT: 2 s), so an
# edit in the same tick as the recording could leave the whole stat unchanged.
RACY_NS = 3_000_000_000

# st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns, sha256 of the bytes
InputRecord = tuple[int, int, int, int, int, str]

ABSENT = "-"  # no file there (not even a dangling link)
UNREADABLE = "?"  # something there that is not a readable regular file


class InputDigests:
    """The sha256 of input files' bytes, trusting a recorded stat as git's index does.

    ``recorded``: the previous cache's records; ``since``: when the run that took them started
    (``time.time_ns``). A record is trusted while the file's stat is the recorded one and the
    file's modification and change times are more than ``RACY_NS`` older than ``since``; any
    other file is read. ``records`` holds what the next cache keeps: a record is taken by
    ``fstat`` on the open file before reading it, so a later edit changes the stat.
    """

    def __init__(self, recorded: Mapping[str, InputRecord] | None = None, since: int = 0):
        self.recorded = recorded or {}
        self.trusted_before = since - RACY_NS
        self.started = time.time_ns()  # before any file is looked at: this run's ``since``
        self.records: dict[str, InputRecord] = {}

    def of(self, path: str, limit: int | None = MAX_BYTES) -> str:
        """The hex sha256 of ``path``'s bytes, ``ABSENT`` or ``UNREADABLE`` (also a file of
        more than ``limit`` bytes)."""
        recorded = self.recorded.get(path)
        if recorded is not None:
            try:
                info = os.stat(path)
            except OSError:
                info = None
            if (
                info is not None
                and info.st_mtime_ns == recorded[3]
                and info.st_ctime_ns == recorded[4]
                and info.st_size == recorded[2]
                and info.st_ino == recorded[1]
                and info.st_dev == recorded[0]
                and info.st_mtime_ns < self.trusted_before
                and info.st_ctime_ns < self.trusted_before
            ):
                self.records[path] = recorded
                return recorded[5]
        found = _read_regular(path, limit)
        if found is None:
            return UNREADABLE if os.path.lexists(path) else ABSENT
        data, info = found
        digest = hashlib.sha256(data).hexdigest()
        self.records[path] = (
            info.st_dev,
            info.st_ino,
            info.st_size,
            info.st_mtime_ns,
            info.st_ctime_ns,
            digest,
        )
        return digest

    def of_many(self, paths: Sequence[str], limit: int | None = MAX_BYTES) -> list[str]:
        """``of`` of each path: the stats taken in one pass in C, a path whose stat is not
        its trusted record looked at again on its own by ``of``."""
        recorded = self.recorded
        trusted_before = self.trusted_before
        try:
            now: list[tuple[int, ...] | None] = list(map(_INPUT_STAT, map(os.stat, paths)))
        except OSError:
            now = [None] * len(paths)
        records = self.records
        digests: list[str] = []
        for path, current in zip(paths, now, strict=True):
            record = recorded.get(path)
            if (
                record is not None
                and current is not None
                and current == record[:5]
                and record[3] < trusted_before
                and record[4] < trusted_before
            ):
                records[path] = record
                digests.append(record[5])
            else:
                digests.append(self.of(path, limit))
        return digests


_INPUT_STAT = operator.attrgetter("st_dev", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns")


class _DefaultsChain:
    """The ``_defaults.yaml`` files above each folder, up to where defaults start to govern
    (the repository, else the folder given): their digests, or that there is none."""

    def __init__(self, inputs: InputDigests) -> None:
        self._inputs = inputs
        self._digests: dict[tuple[str, str], bytes] = {}

    def digest(self, folder: str, root: str) -> bytes:
        cached = self._digests.get((folder, root))
        if cached is not None:
            return cached
        outer = b""
        if folder != root and _within(folder, root):
            outer = self.digest(os.path.dirname(folder), root)
        real = os.path.join(folder, DEFAULTS_FILE)
        own = self._inputs.of(real).encode()
        value = hashlib.sha256(outer + real.encode() + b"\0" + own).digest()
        self._digests[(folder, root)] = value
        return value


def _within(real: str, folder: str) -> bool:
    return real == folder or real.startswith(folder.rstrip(os.sep) + os.sep)


def _scope(
    descriptor: DescriptorFile, scopes: dict[tuple[str, str, str, str], tuple[str, str]]
) -> tuple[str, str]:
    """The folder whose ``_defaults.yaml`` chain governs ``descriptor`` and where the chain
    starts, by the loader's rule (``loading._GoverningCache.of``): the folder the entry is in
    (not where a link leads), up to its repository, else the folder given. ``scopes``: the
    answers so far, by the entry's folder as shown, ``top`` and ``root`` (what decides it),
    so each folder is resolved once per run as the loader does (not once per file)."""
    where = descriptor.text
    head, slash, _ = where.rpartition("/")  # all ``dirname`` reads: the answers kept by it
    key = (head, slash, descriptor.top, descriptor.root)
    known = scopes.get(key)
    if known is not None:
        return known
    shown = os.path.dirname(where) or "."  # ``path.parent``, without pathlib
    folder = os.path.realpath(shown)
    top = descriptor.top or folder
    root = descriptor.root if descriptor.root and _within(folder, descriptor.root) else top
    scopes[key] = found = (folder, root if _within(folder, root) else folder)
    return found


def fingerprints(
    files: Sequence[DescriptorFile], inputs: InputDigests | None = None
) -> dict[str, str | None]:
    """Each descriptor's input fingerprint by its key; None where it cannot be read (it is
    then loaded, and its problem reported, as in a full render). ``inputs``: the digests of
    files, trusting the previous cache's stats (None: every file is read).

    A fingerprint is the digest of its ``_defaults.yaml`` chain, its origin and the digest of
    its bytes, side by side (both digests of fixed length, so it reads one way only): not
    hashed again, which was a tenth of the fingerprints of 5,000 descriptors."""
    inputs = inputs if inputs is not None else InputDigests()
    chain = _DefaultsChain(inputs)
    scopes: dict[tuple[str, str, str, str], tuple[str, str]] = {}
    chains: dict[tuple[str, str], str] = {}
    found: dict[str, str | None] = {}
    # each chain's digest by what decides the scope (``_scope``'s key): a folder's files in a row
    known: dict[tuple[str, str, str, str], str] = {}
    digests = inputs.of_many([descriptor.key or descriptor.text for descriptor in files])
    for descriptor, data in zip(files, digests, strict=True):
        if data in (ABSENT, UNREADABLE):
            found[descriptor.key] = None
            continue
        head, slash, _ = descriptor.text.rpartition("/")
        where = (head, slash, descriptor.top, descriptor.root)
        governing = known.get(where)
        if governing is None:
            scope = _scope(descriptor, scopes)
            governing = chains.get(scope)
            if governing is None:
                governing = chains[scope] = chain.digest(*scope).hex()
            known[where] = governing
        found[descriptor.key] = f"{governing} {descriptor.origin} {data}"
    return found


# mode, size, mtime_ns, inode, ctime_ns (``lstat``): size, modification time and inode can all
# be put back by hand (a write in place, then ``touch -r``); the change time cannot, short of
# changing the clock. The mode says it is still a regular file.
FileStat = tuple[int, int, int, int, int]
# A folder's inode: the same folder, not a link (it is recorded and checked as a directory,
# never through a link) or another folder put in its place.
FolderStat = int
_FILE_STAT = operator.attrgetter("st_mode", "st_size", "st_mtime_ns", "st_ino", "st_ctime_ns")


def file_stat(info: os.stat_result) -> FileStat:
    """What the cache records of a file's ``lstat`` (or of its ``fstat`` where it was made)."""
    stats: FileStat = _FILE_STAT(info)
    return stats


_NOT_A_FILE: FileStat = (0, 0, 0, 0, 0)  # no lstat gives mode 0: never in place


# Each column as ``RenderCache.encoded`` writes it, by one encoder made once (``json.dumps`` with
# separators makes a new one per call).
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
_COLUMNS = ("keys", "prints", "teams", "routings", "counts", "paths", "kinds", "shas", "sources")


@dataclass(slots=True)
class CacheRows:
    """Rendered services' rows of the cache, made where they were rendered (a chunk's, in a
    worker): their columns, each column's JSON (``text``, once ``encode``-d) and each
    row's details line. ``RenderCache.encoded`` joins a chunk's text
    as it is where its rows stay together (~80 -> ~10 ms at N = 5,000 in the run itself)."""

    keys: list[str] = field(default_factory=list)
    prints: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    routings: list[dict[str, Any] | None] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    shas: list[str] = field(default_factory=list)
    sources: list[str | None] = field(default_factory=list)
    details: list[bytes] = field(default_factory=list)
    text: tuple[str, ...] = ()
    # The records of their input files, where they were taken with the rows (``fingerprints``)
    inputs: dict[str, InputRecord] = field(default_factory=dict)

    def add(
        self,
        key: str,
        fingerprint: str,
        summary: dict[str, Any],
        positions: dict[str, Any],
        routing: dict[str, Any] | None,
        artifacts: Iterable[tuple[str, str, str, str | None]],
    ) -> None:
        """A service's row: its key and fingerprint, ``summary`` (the data the checks across
        files read), ``positions`` (its name's and team's, the governing _defaults.yaml
        files), its alert routing as plain data and its files (path, kind, sha256, source)."""
        self.keys.append(key)
        self.prints.append(fingerprint)
        self.teams.append(str(summary["metadata"]["team"]))
        self.routings.append(routing)
        count = len(self.paths)
        for path, kind, sha256, source in artifacts:
            self.paths.append(path)
            self.kinds.append(kind)
            self.shas.append(sha256)
            self.sources.append(source)
        self.counts.append(len(self.paths) - count)
        self.details.append(_ENCODE([summary, _compact(positions, key)]).encode())

    def encode(self) -> CacheRows:
        self.text = tuple(_ENCODE(getattr(self, column)) for column in _COLUMNS)
        return self


@dataclass
class ServiceTable:
    """The services a cache holds, by column, as read: row ``i`` is the descriptor
    ``keys[i]``, its files are ``paths[starts[i]:starts[i + 1]]`` (with their kinds,
    digests, sources and stats at the same places). A row's summary and positions
    (``details``) are parsed only for the few rows the checks across files need."""

    keys: list[str]
    prints: list[str]
    teams: list[str]
    routings: list[dict[str, Any] | None]
    starts: list[int]
    paths: list[str]
    kinds: list[str]
    shas: list[str]
    sources: list[str | None]
    stats: list[FileStat]
    details: list[bytes]  # per row: JSON [summary, positions as written by ``_compact``]
    # The segments as read: segment ``s`` holds rows ``firsts[s]`` to ``firsts[s + 1]``
    # (excluded); its line of columns is ``data[a:b]`` and its rows' details ``data[c:d]``,
    # ``spans[s]`` = (a, b, c, d): what ``RenderCache.encoded`` copies when it carries those
    # rows together
    firsts: list[int] = field(default_factory=list)
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)
    data: bytes = b""

    def rows(self) -> dict[str, int]:
        return dict(zip(self.keys, range(len(self.keys)), strict=True))

    def detail(self, row: int) -> tuple[dict[str, Any], dict[str, Any]]:
        summary, positions = json.loads(self.details[row])
        return summary, positions

    def entries(self, row: int) -> list[dict[str, Any]]:
        """Row ``row``'s files as manifest entries."""
        span = range(self.starts[row], self.starts[row + 1])
        return [
            {
                "kind": self.kinds[i],
                "path": self.paths[i],
                "sha256": self.shas[i],
                "source": self.sources[i],
            }
            for i in span
        ]


@dataclass
class RenderCache:
    """What a render keeps for the next one. Read from a file, ``table`` holds every service;
    built by a run, ``services`` holds those it rendered and ``kept`` the rows of the
    previous cache's ``table`` it carried (written back as they were read)."""

    run: str
    # The rows of the services this run rendered, chunk by chunk in the run's order
    rows: list[CacheRows] = field(default_factory=list)
    # Stats of the files this run wrote or found in place (service files by their rows,
    # the manifest and the files of ``extra`` here)
    files: dict[str, FileStat] = field(default_factory=dict)
    folders: dict[str, FolderStat] = field(default_factory=dict)  # folder path -> stat
    # The entries of the manifest this run wrote that no service produced (folders, alert
    # routes, files kept from before), as written; ``files`` holds the manifest's own stat.
    # Together with the services they stand for the manifest while it is still that file.
    extra: list[dict[str, Any]] = field(default_factory=list)
    # Input files' stats and digests (``InputDigests``), and when the run that took them
    # started: what lets the next run not read them again.
    inputs: dict[str, InputRecord] = field(default_factory=dict)
    since: int = 0
    table: ServiceTable | None = None
    kept: list[int] = field(default_factory=list)
    # Entries of ``extra`` this run carried as they were (the folder files it did not render)
    carried_extra: list[dict[str, Any]] = field(default_factory=list)

    def encoded(self) -> bytes:
        """One line of JSON with the cache's head (``segments``: how many rows each segment
        holds), a line of JSON per segment with its rows' columns, then one line of details
        per row, in the same order. Rows are written in team order, so that the next
        run finds each team's files together (``placement`` opens each team folder once
        per run of its rows). A segment of the previous cache (``table``) whose rows are all
        carried, next to each other in this order, is copied as it was read (the same rows,
        so the same values as encoding them again); a chunk of rendered rows that stay
        together is written with its text (``CacheRows``); the other rows are encoded here,
        a segment per run of them."""
        table = self.table
        kept = self.kept if table is not None else []
        fresh: list[tuple[CacheRows, int, int]] = []  # (chunk, row in it, its first row's index)
        for chunk in self.rows:
            first = len(fresh)
            fresh.extend(
                zip(itertools.repeat(chunk), range(len(chunk.keys)), itertools.repeat(first))
            )
        # (team, 0 for a kept row / 1 for a new one, index)
        order: list[tuple[str, int, int]] = []
        if table is not None:
            order += zip(map(table.teams.__getitem__, kept), itertools.repeat(0), kept)
        order += zip(
            (chunk.teams[row] for chunk, row, _ in fresh), itertools.repeat(1), range(len(fresh))
        )
        if kept or not all(map(operator.le, order, order[1:])):
            order.sort()
        files = self.files
        out = _Segments()
        produced: set[str] = set()
        loose = out.loose
        chunk_starts: dict[int, list[int]] = {}  # a chunk's rows' first files, by its first row
        at, total = 0, len(order)
        while at < total:
            team, new, index = order[at]
            if new:
                chunk, row, first = fresh[index]
                size = len(chunk.keys)
                whole = zip(chunk.teams, [1] * size, range(first, first + size), strict=True)
                # (among carried rows, a chunk's text would cut the columns in pieces to copy)
                if not kept and row == 0 and chunk.text and order[at : at + size] == list(whole):
                    chunk_stats = map(files.get, chunk.paths, itertools.repeat(_NOT_A_FILE))
                    out.whole(chunk.text, list(chunk_stats), chunk.details)
                    loose = out.loose
                    produced.update(chunk.paths)
                    at += size
                    continue
                if first not in chunk_starts:
                    chunk_starts[first] = [0, *itertools.accumulate(chunk.counts)]
                start, end = chunk_starts[first][row], chunk_starts[first][row + 1]
                loose.keys.append(chunk.keys[row])
                loose.prints.append(chunk.prints[row])
                loose.routings.append(chunk.routings[row])
                loose.details.append(chunk.details[row])
            else:
                assert table is not None  # kept rows come from it
                # kept rows next to each other in both orders: copied as one
                last = index
                at += 1
                while at < total:
                    _, new, following = order[at]
                    if new or following != last + 1:
                        break
                    last = following
                    at += 1
                out.carry(table, index, last + 1)
                loose = out.loose
                continue
            loose.teams.append(team)
            loose.counts.append(end - start)
            loose.paths += chunk.paths[start:end]
            loose.kinds += chunk.kinds[start:end]
            loose.shas += chunk.shas[start:end]
            loose.sources += chunk.sources[start:end]
            out.stats += map(files.get, chunk.paths[start:end], itertools.repeat(_NOT_A_FILE))
            produced.update(chunk.paths[start:end])
            at += 1
        out.flush()
        inputs = self.inputs
        head: list[tuple[str, str]] = [
            ("format", _ENCODE(_FORMAT)),
            ("run", _ENCODE(self.run)),
            ("since", _ENCODE(self.since)),
            ("segments", _ENCODE(out.sizes)),
            ("files", _ENCODE({path: s for path, s in files.items() if path not in produced})),
            ("folders", _ENCODE(list(self.folders))),
            ("folder_stats", _ENCODE(list(self.folders.values()))),
            ("extra", _ENCODE([*self.extra, *self.carried_extra])),
            ("inputs", _ENCODE(list(inputs))),
            ("input_stats", _ENCODE([value for record in inputs.values() for value in record[:5]])),
            ("input_digests", _ENCODE([record[5] for record in inputs.values()])),
        ]
        # what ``json.dumps`` of the head with these separators writes; then the segments,
        # each large text copied once more only (as bytes, into the whole)
        parts: list[bytes | memoryview] = [b"{"]
        for name, value in head:
            parts += (b',"' if len(parts) > 1 else b'"', name.encode(), b'":', value.encode())
        parts.append(b"}\n")
        parts += out.lines
        parts += out.details
        return b"".join(parts)

    def produced(self) -> set[str]:
        """The paths of the files of the services this run rendered."""
        return {path for chunk in self.rows for path in chunk.paths}


class _Segments:
    """The segments ``RenderCache.encoded`` writes, block by block: ``loose`` holds the rows
    of the segment being made (``stats`` their files' stats), ``sizes`` each block's rows."""

    def __init__(self) -> None:
        self.loose = CacheRows()
        self.stats: list[FileStat] = []
        self.lines: list[bytes | memoryview] = []  # each segment's line of columns
        self.details: list[bytes | memoryview] = []  # each segment's details lines
        self.sizes: list[int] = []

    def flush(self) -> None:
        """The rows in ``loose`` as a segment of their own (none when there are none)."""
        if self.loose.keys:
            self._block(self.loose.encode().text, self.stats, self.loose.details)
            self.loose, self.stats = CacheRows(), []

    def whole(self, text: tuple[str, ...], stats: list[FileStat], details: list[bytes]) -> None:
        """A segment of rows whose columns are ``text`` (``CacheRows.encode``), after the
        rows in ``loose``."""
        self.flush()
        self._block(text, stats, details)

    def _block(self, text: tuple[str, ...], stats: list[FileStat], details: list[bytes]) -> None:
        flat = _ENCODE(list(itertools.chain.from_iterable(stats)))
        line = f"[{','.join(text)},{flat}]".encode()
        self.lines.append(line + b"\n")
        self.details.append(b"\n".join([*details, b""]))
        self.sizes.append(len(details))

    def carry(self, table: ServiceTable, first: int, end: int) -> None:
        """``table``'s rows ``first`` to ``end`` (excluded), in that order: each of its
        segments that lies whole among them copied as it was read, the rest into ``loose``."""
        firsts = table.firsts
        segment = bisect.bisect_left(firsts, first)
        if segment >= len(firsts) - 1:  # none starts among them (or no segments known)
            _copy_rows_of(table, first, end, self.loose, self.stats)
            return
        if firsts[segment] > first:
            _copy_rows_of(table, first, min(firsts[segment], end), self.loose, self.stats)
        view = memoryview(table.data)
        spans = table.spans
        while segment < len(firsts) - 1 and firsts[segment + 1] <= end:
            self.flush()
            line, line_end, own, own_end = spans[segment]
            self.lines.append(view[line:line_end])
            self.details.append(view[own:own_end])
            self.sizes.append(firsts[segment + 1] - firsts[segment])
            segment += 1
        if firsts[segment] < end:
            _copy_rows_of(table, firsts[segment], end, self.loose, self.stats)


def _copy_rows_of(
    table: ServiceTable,
    first: int,
    end: int,
    rows: CacheRows,
    stats: list[FileStat],
) -> None:
    """Append ``table``'s rows ``first`` to ``end`` (excluded) to ``rows`` (their details
    too) and ``stats`` (in ``RenderCache.encoded``'s order), slice by slice."""
    rows.keys += table.keys[first:end]
    rows.prints += table.prints[first:end]
    rows.teams += table.teams[first:end]
    rows.routings += table.routings[first:end]
    rows.details += table.details[first:end]
    starts = table.starts
    rows.counts += map(operator.sub, starts[first + 1 : end + 1], starts[first:end])
    start, stop = starts[first], starts[end]
    rows.paths += table.paths[start:stop]
    rows.kinds += table.kinds[start:stop]
    rows.shas += table.shas[start:stop]
    rows.sources += table.sources[start:stop]
    stats += table.stats[start:stop]


def _compact(positions: dict[str, Any], key: str) -> dict[str, Any]:
    """``positions`` with the file of a name or team position that is the service's own
    descriptor (``key``) written as None: ``expand_position`` puts it back."""
    compact = dict(positions)
    for part in ("name", "team"):
        where = positions[part]
        if where[0] == key:
            compact[part] = [None, *where[1:]]
    return compact


def expand_position(where: Sequence[Any], key: str) -> tuple[Any, ...]:
    """A position as the cache holds it, with its file back when written as None."""
    return (key, *where[1:]) if where[0] is None else tuple(where)


def read_cache(root: ConfinedDir) -> RenderCache | None:
    """The cache an earlier render left, or None when there is none usable (then everything
    is rendered)."""
    if not root.exists:
        return None
    _, data = root.read(CACHE)
    if data is None:
        return None
    # ~50,000 objects, all kept: the collector's passes while they are made find nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse_cache(data)
    finally:
        if enabled:
            gc.enable()


def _tuples(flat: list[Any], size: int) -> list[tuple[Any, ...]]:
    """``flat`` cut into tuples of ``size`` (made in C); ValueError if it does not divide."""
    if len(flat) % size:
        raise ValueError("a table of stats cut short")
    return list(zip(*[iter(flat)] * size, strict=True))


def _joined(lists: Sequence[list[Any]]) -> list[Any]:
    """``lists`` one after the other, in a list made at its size (extending one list by each
    in turn copied it again as it grew: 15 M instructions per read at N = 5,000)."""
    joined: list[Any] = [None] * sum(map(len, lists))
    at = 0
    for values in lists:
        joined[at : at + len(values)] = values
        at += len(values)
    return joined


def _parse_cache(data: bytes) -> RenderCache | None:
    """The cache in ``data``; None for anything but a whole cache of this format (every
    segment's columns as long as they should be, as many lines as the head says). Values are
    taken as they are: a stat or digest of another type never equals a real one (so its
    service is rendered again), and a field of another type where one is used raises there
    (``render_run`` then renders everything)."""
    try:
        at = data.index(b"\n") + 1  # (offsets in ``data``: its parts are not copied out)
        raw = json.loads(data[:at])
        if raw.get("format") != _FORMAT:
            return None
        sizes = raw["segments"]
        if type(sizes) is not list or not all(type(size) is int and size > 0 for size in sizes):
            return None
        segments: list[list[list[Any]]] = []
        firsts, ends, line = [0], [], at
        # each segment's line found by ``index`` (``split`` looks at each byte in Python's
        # own loop: the columns are nine tenths of the bytes)
        for size in sizes:
            end = data.index(b"\n", at)
            segment = json.loads(data[at:end])
            if type(segment) is not list or len(segment) != 10:
                return None
            if not all(type(column) is list for column in segment):
                return None
            keys, prints, teams, routings, counts, paths, kinds, shas, sources, stats = segment
            if {len(keys), len(prints), len(teams), len(routings), len(counts)} != {size}:
                return None
            if not all(type(count) is int and count >= 0 for count in counts):
                return None
            artifacts = sum(counts)
            if {len(paths), len(kinds), len(shas), len(sources)} != {artifacts}:
                return None
            if len(stats) != 5 * artifacts:
                return None
            segment[9] = _tuples(stats, 5)  # (joined as 5 times fewer tuples)
            segments.append(segment)
            firsts.append(firsts[-1] + size)
            ends.append(end)
            at = end + 1
        details = data[at:].split(b"\n")
        if details.pop() != b"" or len(details) != firsts[-1]:
            return None
        spans: list[tuple[int, int, int, int]] = []
        for end, first, last in zip(ends, firsts, firsts[1:], strict=False):
            own = at + sum(map(len, details[first:last])) + last - first
            spans.append((line, end + 1, at, own))
            line, at = end + 1, own
        columns = list(map(_joined, zip(*segments, strict=True))) or [[] for _ in range(10)]
        keys, prints, teams, routings, counts, paths, kinds, shas, sources, stats = columns
        table = ServiceTable(
            keys,
            prints,
            teams,
            routings,
            [0, *itertools.accumulate(counts)],
            paths,
            kinds,
            shas,
            sources,
            stats,
            details,
            firsts,
            spans,
            data,
        )
        cache = RenderCache(str(raw["run"]), table=table, since=int(raw["since"]))
        files = raw["files"]
        cache.files = dict(zip(files, map(tuple, files.values()), strict=True))
        if set(map(len, cache.files.values())) - {5}:
            return None
        inodes = raw["folder_stats"]
        if not all(type(inode) is int for inode in inodes):
            return None
        cache.folders = dict(zip(raw["folders"], inodes, strict=True))
        cache.extra = [dict(entry) for entry in raw["extra"]]
        digests = raw["input_digests"]
        if not all(type(digest) is str for digest in digests):
            return None
        records = map(operator.add, _tuples(raw["input_stats"], 5), zip(digests, strict=True))
        cache.inputs = dict(zip(raw["inputs"], records, strict=True))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return cache


def _folders_of(path: str) -> Iterable[str]:
    parts = path.split("/")[:-1]
    return ("/".join(parts[: i + 1]) for i in range(len(parts)))


@dataclass
class Placement:
    """Which of a cache's services no longer have their files as the cache recorded them:
    a file changed, moved, gone or not a regular file any more, or a folder on the way that
    is not the recorded folder (a link, another folder, gone), or a folder it does not
    record; and the recorded folders that are still in place."""

    misplaced: set[int]
    folders: dict[str, FolderStat]


def placement(cache: RenderCache, out: Path) -> Placement:
    """Every service's files and their folders compared with what ``cache`` recorded, never
    following a link: team by team (the first folder of every service's files), its folder
    opened without following a link and listed once (its service folders' inodes and types
    come with the listing), each file ``lstat``-ed relative to it, in passes made in C. At
    N = 5,000 that is 15,000 short lookups and 200 listings, where an ``lstat`` of each file
    and folder from the top (20,000 calls) was a fifth of an incremental ``render --check``."""
    table = cache.table
    if table is None:
        return Placement(set(), {})
    paths = table.paths
    split = list(map(_PARTITION, paths))
    teams = list(map(_FIRST, split))
    rests = list(map(_LAST, split))
    # where the team changes (rows are written grouped by team; any order is still right)
    cuts = [0, *itertools.compress(range(1, len(teams)), map(operator.ne, teams, teams[1:]))]
    cuts.append(len(teams))
    misplaced_files: list[int] = []
    folders: dict[str, FolderStat] = {}
    recorded = cache.folders
    try:
        root = os.open(str(out), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return Placement(set(range(len(table.keys))), {})
    try:
        for start, end in itertools.pairwise(cuts):
            now = _team_stats(root, teams[start], rests[start:end], recorded, folders)
            if now is None:
                misplaced_files.extend(range(start, end))
                continue
            misplaced_files.extend(
                itertools.compress(range(start, end), map(operator.ne, now, table.stats[start:end]))
            )
    finally:
        os.close(root)
    starts = table.starts
    return Placement({bisect.bisect_right(starts, i) - 1 for i in misplaced_files}, folders)


_PARTITION = operator.methodcaller("partition", "/")
_RPARTITION = operator.methodcaller("rpartition", "/")
_FIRST = operator.itemgetter(0)
_LAST = operator.itemgetter(2)
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _team_stats(
    root: int,
    team: str,
    rests: list[str],
    recorded: Mapping[str, FolderStat],
    folders: dict[str, FolderStat],
) -> list[FileStat | None] | None:
    """``_FILE_STAT`` of each file of ``rests`` under the folder ``team`` (None where there
    is none), when ``team`` and every folder on the way to them are the ones ``recorded``
    (a directory, the same inode; added to ``folders``); None when one is not."""
    try:
        fd = os.open(team, _FOLDER_FLAGS, dir_fd=root)
    except OSError:
        return None  # gone, a link, not a folder
    try:
        wrong = _folders_not_in_place(fd, team, rests, recorded, folders)
        if wrong is None:
            return None
        lstat = functools.partial(os.stat, dir_fd=fd, follow_symlinks=False)
        try:
            found: list[FileStat | None] = list(map(_FILE_STAT, map(lstat, rests)))
        except OSError:
            found = []
            for rest in rests:
                try:
                    found.append(_FILE_STAT(lstat(rest)))
                except OSError:
                    found.append(None)
        if wrong:
            under = tuple(folder + "/" for folder in wrong)
            found = [
                None if rest.startswith(under) else now
                for rest, now in zip(rests, found, strict=True)
            ]
        return found
    finally:
        os.close(fd)


def _folders_not_in_place(
    fd: int,
    team: str,
    rests: list[str],
    recorded: Mapping[str, FolderStat],
    folders: dict[str, FolderStat],
) -> set[str] | None:
    """The folders below ``team`` (open as ``fd``) that one of ``rests`` lies in and that are
    not the ones ``recorded`` (by their path below ``team``; those in place are added to
    ``folders``); None when ``team`` itself is not."""
    here = os.fstat(fd).st_ino  # a folder, not a link: opened with O_DIRECTORY | O_NOFOLLOW
    if recorded.get(team) != here:
        return None
    folders[team] = here
    prefix = team + "/"
    inner = set(map(_FIRST, map(_RPARTITION, rests)))  # each file's folder, below ``team``
    inner.discard("")  # a file right in the team folder
    top = sorted(set(map(_FIRST, map(_PARTITION, inner))))
    with os.scandir(fd) as listing:
        listed = {
            entry.name: entry.inode() for entry in listing if entry.is_dir(follow_symlinks=False)
        }
    full = list(map(prefix.__add__, top))
    want = list(map(recorded.get, full))
    wrong: set[str] = set()
    if None in want or not all(map(operator.eq, want, map(listed.get, top))):
        # one differs: each looked at by lstat (on some file systems a listing's inode is
        # not the one stat gives)
        wrong.update(
            name for name, was in zip(top, want, strict=True) if not _is_folder(fd, name, was)
        )
    if wrong:
        kept = zip(full, top, want, strict=True)
        folders.update((path, was) for path, name, was in kept if name not in wrong and was)
    else:
        folders.update(zip(full, want, strict=True))  # type: ignore[arg-type]
    for folder in sorted(inner - set(top)):  # deeper ones (a monitoring folder), parents first
        parts = folder.split("/")
        for depth in range(2, len(parts) + 1):
            if "/".join(parts[: depth - 1]) in wrong:
                break  # the files below are not in place already
            name = "/".join(parts[:depth])
            if prefix + name in folders:
                continue
            was = recorded.get(prefix + name)
            if was is None or not _is_folder(fd, name, was):
                wrong.add(name)
                break
            folders[prefix + name] = was
    return wrong


def _is_folder(fd: int, name: str, recorded: FolderStat | None) -> bool:
    """Whether ``name`` under ``fd`` is a folder (not a link) with the ``recorded`` inode."""
    try:
        info = os.lstat(name, dir_fd=fd)
    except OSError:
        return False
    return recorded is not None and stat.S_ISDIR(info.st_mode) and info.st_ino == recorded


class OutputStat:
    """What lies in the output now, by ``lstat`` (never following a link)."""

    def __init__(self, out: Path) -> None:
        self.prefix = str(out).rstrip("/") + "/"

    def folder(self, path: str) -> FolderStat | None:
        try:
            info = os.lstat(self.prefix + path)
        except OSError:
            return None
        return info.st_ino if stat.S_ISDIR(info.st_mode) else None

    def file(self, path: str) -> FileStat | None:
        try:
            info = os.lstat(self.prefix + path)
        except OSError:
            return None
        return _FILE_STAT(info) if stat.S_ISREG(info.st_mode) else None


def manifest_entries(
    cache: RenderCache, manifest: str, carried: Iterable[int], now: OutputStat
) -> list[dict[str, Any]] | None:
    """The entries of the manifest on disk that are not the carried rows' (those are in the
    new tree unchanged, so never left over), without reading it: the cache's record of it,
    when ``manifest`` is still the file the run that wrote ``cache`` left (same inode, size,
    modification and change time); else None, and it is read."""
    recorded = cache.files.get(manifest)
    if recorded is None or now.file(manifest) != recorded or cache.table is None:
        return None
    entries = list(cache.extra)
    left = set(range(len(cache.table.keys))) - set(carried)
    for row in sorted(left):
        entries.extend(cache.table.entries(row))
    return entries


def record_output(cache: RenderCache, out: Path, paths: Iterable[str]) -> None:
    """Note the files as render left them (after writing) and their folders."""
    now = OutputStat(out)
    seen: set[str] = set()  # each folder once (a team's folder holds ~75 files)
    for path in paths:
        current = now.file(path)
        if current is None:
            continue
        cache.files[path] = current
        for folder in _folders_of(path):
            if folder in seen:
                continue
            seen.add(folder)
            found = now.folder(folder)
            if found is not None:
                cache.folders[folder] = found

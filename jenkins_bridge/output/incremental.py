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

import gc
import hashlib
import json
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
# in the service's own descriptor names it as null (two absolute paths a service fewer to parse)
_FORMAT = "jenkins-bridge-render-cache/5"
_PACKAGE = Path(__file__).resolve().parent.parent


def _tool_digest(inputs: InputDigests) -> str:
    """The tool's own inputs to rendering: its version and every module and template of the
    package (an editable install changes them without a new version), each trusted by its
    stat as the descriptors are."""
    digest = hashlib.sha256(__version__.encode())
    for folder, dirs, files in os.walk(_PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".j2", ".json", ".yaml")):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, _PACKAGE).encode() + b"\0")
                digest.update(inputs.of(path, limit=None).encode() + b"\0")
    return digest.hexdigest()


def run_key(
    files: Sequence[DescriptorFile], options: Mapping[str, Any], inputs: InputDigests | None = None
) -> str:
    """What every service of a run shares: the tool, the options and the list of descriptors
    (a descriptor added or removed changes the checks across files and the team files)."""
    digest = hashlib.sha256(_tool_digest(inputs or InputDigests()).encode())
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    for descriptor in files:
        digest.update(f"\0{descriptor.key}\0{descriptor.origin}\0{descriptor.path}".encode())
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
    descriptor: DescriptorFile, scopes: dict[tuple[str, str, str], tuple[str, str]]
) -> tuple[str, str]:
    """The folder whose ``_defaults.yaml`` chain governs ``descriptor`` and where the chain
    starts, by the loader's rule (``loading._GoverningCache.of``): the folder the entry is in
    (not where a link leads), up to its repository, else the folder given. ``scopes``: the
    answers so far, by the entry's folder as shown, ``top`` and ``root`` (what decides it),
    so each folder is resolved once per run as the loader does (not once per file)."""
    shown = os.path.dirname(str(descriptor.path)) or "."  # ``path.parent``, without pathlib
    key = (shown, descriptor.top, descriptor.root)
    known = scopes.get(key)
    if known is not None:
        return known
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
    files, trusting the previous cache's stats (None: every file is read)."""
    inputs = inputs if inputs is not None else InputDigests()
    chain = _DefaultsChain(inputs)
    scopes: dict[tuple[str, str, str], tuple[str, str]] = {}
    found: dict[str, str | None] = {}
    for descriptor in files:
        data = inputs.of(descriptor.key or str(descriptor.path))
        if data in (ABSENT, UNREADABLE):
            found[descriptor.key] = None
            continue
        folder, root = _scope(descriptor, scopes)
        digest = hashlib.sha256(chain.digest(folder, root))
        digest.update(descriptor.origin.encode() + b"\0" + data.encode())
        found[descriptor.key] = digest.hexdigest()
    return found


# size, mtime_ns, inode, ctime_ns: the first three can all be put back by hand (a write in
# place, then ``touch -r``); the change time cannot, short of changing the clock.
FileStat = tuple[int, int, int, int]


@dataclass
class CachedService:
    """What one descriptor gave last time: enough to repeat the checks across files and the
    team files without loading it, and the files it produced."""

    fingerprint: str
    summary: dict[str, Any]  # the data the checks across files read (``LoadedFiles`` record)
    positions: dict[str, Any]  # name and team positions, governing _defaults.yaml files
    routing: dict[str, Any] | None  # its AlertRouting as plain data
    artifacts: list[list[str | None]]  # [path, kind, sha256, source]


@dataclass
class RenderCache:
    run: str
    services: dict[str, CachedService] = field(default_factory=dict)
    files: dict[str, FileStat] = field(default_factory=dict)  # artifact path -> stat
    folders: dict[str, int] = field(default_factory=dict)  # folder path -> inode
    # The entries of the manifest this run wrote that no service of ``services`` produced
    # (folders, alert routes, files kept from before), as written; ``files`` holds the
    # manifest's own stat. Together they stand for the manifest while it is still that file.
    extra: list[dict[str, Any]] = field(default_factory=list)
    # Input files' stats and digests (``InputDigests``), and when the run that took them
    # started: what lets the next run not read them again.
    inputs: dict[str, InputRecord] = field(default_factory=dict)
    since: int = 0

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": _FORMAT,
                "run": self.run,
                "services": {
                    key: [
                        s.fingerprint,
                        s.summary,
                        _compact(s.positions, key),
                        s.routing,
                        s.artifacts,
                    ]
                    for key, s in self.services.items()
                },
                "files": self.files,
                "folders": self.folders,
                "extra": self.extra,
                "inputs": self.inputs,
                "since": self.since,
            },
            separators=(",", ":"),
        )


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
    # ~100,000 objects, all kept: the collector's passes while they are made found nothing
    # and were a tenth of reading the cache (N = 5,000).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse_cache(data)
    finally:
        if enabled:
            gc.enable()


def _parse_cache(data: bytes) -> RenderCache | None:
    try:
        raw = json.loads(data)
        if raw.get("format") != _FORMAT:
            return None
        cache = RenderCache(str(raw["run"]))
        for key, (fingerprint, summary, positions, routing, artifacts) in raw["services"].items():
            cache.services[key] = CachedService(fingerprint, summary, positions, routing, artifacts)
        # Tuples made in C (a comprehension of int() calls was most of reading the cache
        # beyond the JSON): a value of another type never equals a stat, so such an entry
        # is simply not in place; the length is what the checks index.
        files = raw["files"]
        cache.files = dict(zip(files, map(tuple, files.values()), strict=True))
        if set(map(len, cache.files.values())) - {4}:
            return None
        cache.folders = {path: int(inode) for path, inode in raw["folders"].items()}
        cache.extra = [dict(entry) for entry in raw["extra"]]
        inputs = raw["inputs"]
        cache.inputs = dict(zip(inputs, map(tuple, inputs.values()), strict=True))
        if set(map(len, cache.inputs.values())) - {6} or not all(
            type(record[5]) is str for record in cache.inputs.values()
        ):
            return None
        cache.since = int(raw["since"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return cache


def _folders_of(path: str) -> Iterable[str]:
    parts = path.split("/")[:-1]
    return ("/".join(parts[: i + 1]) for i in range(len(parts)))


class OutputStat:
    """What lies in the output now, by ``lstat`` (never following a link), memoised."""

    def __init__(self, out: Path) -> None:
        self.out = str(out)
        # Paths are joined by hand: ``os.path.join`` was a third of checking 15,000 files
        # in place (N = 5,000). An artifact path is relative and '/'-separated, and one
        # that is not (an absolute path in a tampered cache) still names a place under
        # ``out`` here, where ``join`` would have gone to it.
        self.prefix = self.out.rstrip("/") + "/"
        self._folders: dict[str, int | None] = {}
        # folder -> whether it and every folder above it are the ones the cache being
        # checked recorded (a run checks against one cache)
        self.parents_in_place: dict[str, bool] = {}

    def folder(self, path: str) -> int | None:
        if path not in self._folders:
            try:
                info = os.lstat(self.prefix + path)
                self._folders[path] = info.st_ino if stat.S_ISDIR(info.st_mode) else None
            except OSError:
                self._folders[path] = None
        return self._folders[path]

    def file(self, path: str) -> FileStat | None:
        try:
            info = os.lstat(self.prefix + path)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        return (info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)


def still_in_place(cache: RenderCache, paths: Iterable[str], now: OutputStat) -> bool:
    """Whether each of ``paths`` is still the file the last render left (and its folders the
    same folders, so none became a link).

    ``OutputStat.file`` and the folder verdict inlined: this runs once per output file.
    """
    files = cache.files
    prefix = now.prefix
    verdicts = now.parents_in_place
    lstat, is_regular = os.lstat, stat.S_ISREG
    for path in paths:
        recorded = files.get(path)
        if recorded is None:
            return False
        try:
            info = lstat(prefix + path)
        except OSError:
            return False
        if (
            info.st_mtime_ns != recorded[1]
            or info.st_size != recorded[0]
            or info.st_ino != recorded[2]
            or info.st_ctime_ns != recorded[3]
            or not is_regular(info.st_mode)
        ):
            return False
        folder = path.rpartition("/")[0]
        verdict = verdicts.get(folder)
        if verdict is None:
            verdict = _parents_in_place(cache, now, folder)
        if not verdict:
            return False
    return True


def _parents_in_place(cache: RenderCache, now: OutputStat, folder: str) -> bool:
    """Whether ``folder`` and those above it are the folders ``cache`` recorded; once each."""
    known = now.parents_in_place.get(folder)
    if known is not None:
        return known
    if not folder:
        verdict = True
    else:
        inode = cache.folders.get(folder)
        verdict = (
            inode is not None
            and now.folder(folder) == inode
            and _parents_in_place(cache, now, folder.rpartition("/")[0])
        )
    now.parents_in_place[folder] = verdict
    return verdict


def manifest_entries(
    cache: RenderCache, manifest: str, carried: set[str], now: OutputStat
) -> list[dict[str, Any]] | None:
    """The entries of the manifest on disk that are not the carried services' (those are in
    the new tree unchanged, so never left over), without reading it: the cache's record of
    it, when ``manifest`` is still the file the run that wrote ``cache`` left (same inode,
    size, modification and change time); else None, and it is read."""
    recorded = cache.files.get(manifest)
    if recorded is None or now.file(manifest) != recorded:
        return None
    entries = list(cache.extra)
    for key, service in cache.services.items():
        if key not in carried:
            entries.extend(
                {"kind": kind, "path": path, "sha256": sha256, "source": source}
                for path, kind, sha256, source in service.artifacts
            )
    return entries


def carry_over(cache: RenderCache, previous: RenderCache, paths: Iterable[str]) -> None:
    """Keep what ``previous`` noted of files this run carries (they were checked in place)."""
    done: set[str] = set()
    for path in paths:
        cache.files[path] = previous.files[path]
        parent = path.rpartition("/")[0]
        if parent in done:
            continue
        done.add(parent)
        for folder in _folders_of(path):
            cache.folders[folder] = previous.folders[folder]


def record_output(cache: RenderCache, out: Path, paths: Iterable[str]) -> None:
    """Note the files as render left them (after writing) and their folders."""
    now = OutputStat(out)
    for path in paths:
        current = now.file(path)
        if current is None:
            continue
        cache.files[path] = current
        for folder in _folders_of(path):
            inode = now.folder(folder)
            if inode is not None:
                cache.folders[folder] = inode

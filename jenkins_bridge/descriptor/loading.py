"""Find descriptor files, apply the ``_defaults.yaml`` files above them, validate, build models.

Every problem of a run is collected and raised at once as ``InvalidDescriptors``. Only regular
files inside the folder given are read, and never more than the size limit allows.
"""

from __future__ import annotations

import copy
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jenkins_bridge.descriptor.environments import environment_problems, merged_runtime
from jenkins_bridge.descriptor.git_remote import repository_url_problem
from jenkins_bridge.descriptor.schema import SCHEMA, with_defaults
from jenkins_bridge.descriptor.validation import field_problems, problem_at, schema_problems
from jenkins_bridge.descriptor.yamlsource import (
    MAX_BYTES,
    KeyPath,
    LoadedDocument,
    Position,
    YamlProblem,
    load_yaml_mapping,
    visible,
)
from jenkins_bridge.errors import InvalidDescriptors, Problem, UsageError

# The typed model is built only by the commands that use it (render, apply, deploy...):
# creating its ~30 dataclasses costs validate, which needs none of them, a sixth of its time.
# So each function below that builds model objects imports it itself (mypy sees it here).
if TYPE_CHECKING:
    from jenkins_bridge.descriptor import model
    from jenkins_bridge.descriptor.image import ImageDescriptor, ImageSpec

DEFAULTS_FILE = "_defaults.yaml"
SUFFIXES = (".yaml", ".yml")


class DescriptorFile:
    """A descriptor file ``discover`` found.

    ``path``: the file as shown (under the PATH argument), made only when asked for (by
    ``path``; ``text`` is ``str(path)``): a run that takes 5,000 unchanged services from its
    cache asks for none, and making them was a third of ``discover``.
    ``origin``: the file's path in its git repository; stable across machines and PATHs.
    ``key``: its real path, to notice a file named twice.
    ``top``: real path of the folder given (for a file, its folder): reads stay inside.
    ``root``: where _defaults.yaml files start to govern: its repository, else ``top``.
    """

    __slots__ = ("_folder", "_name", "_path", "key", "origin", "root", "text", "top")

    def __init__(
        self, path: Path, origin: str, key: str = "", top: str = "", root: str = ""
    ) -> None:
        self._path: Path | None = path
        self._folder: Path | None = None
        self._name = ""
        self.text = str(path)
        self.origin = origin
        self.key = key
        self.top = top
        self.root = root

    @classmethod
    def in_folder(
        cls, folder: Path, text: str, name: str, origin: str, key: str, top: str, root: str
    ) -> DescriptorFile:
        """The file ``name`` in ``folder`` (whose ``str`` is ``text``, given as it is known
        for every file of the folder), its ``Path`` not made yet."""
        found = cls.__new__(cls)
        found._path = None
        found._folder = folder
        found._name = name
        # what ``str(folder / name)`` gives: the folder "." is left out, "/" not doubled
        found.text = (
            name if text == "." else text + name if text.endswith("/") else f"{text}/{name}"
        )
        found.origin = origin
        found.key = key
        found.top = top
        found.root = root
        return found

    @property
    def path(self) -> Path:
        path = self._path
        if path is None:
            assert self._folder is not None  # made by ``in_folder``
            path = self._path = self._folder / self._name
        return path

    def _fields(self) -> tuple[str, str, str, str, str]:
        return (self.text, self.origin, self.key, self.top, self.root)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DescriptorFile):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"DescriptorFile(path={self.text!r}, origin={self.origin!r}, key={self.key!r}, "
            f"top={self.top!r}, root={self.root!r})"
        )


Roots = dict[str, str | None]


def _repository_root(folder: str, cache: Roots) -> str | None:
    """The nearest enclosing folder holding ``.git`` (a folder, or a file in worktrees)."""
    if folder not in cache:
        parent = os.path.dirname(folder)
        if os.path.exists(os.path.join(folder, ".git")):
            cache[folder] = folder
        else:
            cache[folder] = None if parent == folder else _repository_root(parent, cache)
    return cache[folder]


def _with_origin(
    path: Path, fallback: str, roots: Roots, top: str, real: str | None = None
) -> DescriptorFile:
    """Name a descriptor by its path in its repository, so the name (which generated files
    carry) does not depend on which folder was passed; outside a repository, by ``fallback``
    (its path under the PATH argument).

    ``real`` is where the entry itself is (a symbolic link is not followed here: whether it
    may be read is decided when reading).
    """
    real = real or os.path.join(os.path.realpath(path.parent), path.name)
    root = _repository_root(os.path.dirname(real), roots)
    origin = real[len(root) + 1 :] if root is not None else fallback
    key = os.path.realpath(real) if os.path.islink(real) else real  # ``real``'s folder is real
    return DescriptorFile(path, origin.replace(os.sep, "/"), key, top, root or top)


def _walk_folder(folder: Path, roots: Roots) -> list[DescriptorFile]:
    """Descriptor files under ``folder`` in sorted order, skipping names starting '_' or '.'.

    Links to folders are not followed; links to files, FIFOs and the like are listed, so
    that reading them reports what they are.

    What ``os.walk`` gave, with ``os.scandir``'s entries kept: whether an entry is a link
    comes with it (no ``lstat`` per file), and each folder's path, real path and repository
    are worked out once for all its files (5,000 descriptors: a tenth of an incremental
    ``render --check``'s instructions went to finding them).
    """
    base = os.path.realpath(folder)
    found: list[DescriptorFile] = []
    _walk_into(folder, str(folder), "", base, roots, found)
    return found


def _walk_into(
    shown: Path, current: str, rel_dir: str, base: str, roots: Roots, found: list[DescriptorFile]
) -> None:
    """Add ``current``'s descriptors, then its subfolders' in name order, to ``found``.

    ``shown``: ``current`` as a path (``current`` is ``str(shown)`` for the folder given,
    then ``os.path.join``-ed, which ``str`` of a path may write otherwise: "./a"); ``rel_dir``:
    its path under the folder given ('' for that folder, else ending in '/')."""
    try:
        with os.scandir(current) as listing:
            entries = list(listing)
    except OSError:
        return  # as os.walk: a folder that cannot be listed holds nothing
    files: list[os.DirEntry[str]] = []
    dirs: list[os.DirEntry[str]] = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        (dirs if is_dir else files).append(entry)
    if rel_dir and _is_render_output(current, [entry.name for entry in files]):
        return  # generated YAML (Prometheus, Alertmanager) is not a descriptor
    real_dir = os.path.join(base, rel_dir) if rel_dir else base  # its folders are real
    root = _repository_root(real_dir.rstrip(os.sep) or os.sep, roots)
    prefix = real_dir if real_dir.endswith(os.sep) else real_dir + os.sep
    text = str(shown)
    for entry in sorted(files, key=_name):
        name = entry.name
        if name.startswith(("_", ".")) or not name.endswith(SUFFIXES):
            continue
        real = prefix + name
        origin = real[len(root) + 1 :] if root is not None else rel_dir + name
        try:
            link = entry.is_symlink()
        except OSError:
            link = os.path.islink(real)
        key = os.path.realpath(real) if link else real
        found.append(
            DescriptorFile.in_folder(
                shown, text, name, origin.replace(os.sep, "/"), key, base, root or base
            )
        )
    for entry in sorted(dirs, key=_name):
        name = entry.name
        if name.startswith(("_", ".")):
            continue
        try:
            link = entry.is_symlink()
        except OSError:
            link = os.path.islink(entry.path)
        if not link:  # a link to a folder is not followed (nor listed)
            _walk_into(shown / name, entry.path, f"{rel_dir}{name}/", base, roots, found)


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


RENDER_MANIFEST = "manifest.json"
_RENDER_MARK = b'"generator": "jenkins-bridge"'


def _is_render_output(folder: str, files: list[str]) -> bool:
    """Whether ``folder`` is a tree ``render`` wrote: its ``manifest.json`` (a regular file,
    read without following links or blocking) names jenkins-bridge as its generator. The key
    is among the last lines (keys are sorted), so only the file's end is read."""
    if RENDER_MANIFEST not in files:
        return False
    try:
        fd = os.open(
            os.path.join(folder, RENDER_MANIFEST),
            os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC,
        )
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return False
        os.lseek(fd, max(0, info.st_size - 4096), os.SEEK_SET)
        return _RENDER_MARK in os.read(fd, 4096)
    except OSError:
        return False
    finally:
        os.close(fd)


def _is_entry(path: Path) -> bool:
    """Anything but a folder: a file, a link (even dangling), a FIFO, a device."""
    return os.path.lexists(path) and not path.is_dir()


def discover(paths: Sequence[str | Path]) -> list[DescriptorFile]:
    """Descriptor files named by ``paths``: files as given, directories searched recursively.

    Files and folders starting with '_' or '.' are skipped in directories; a ``_defaults.yaml``
    named on its own stands for the descriptors it governs (its folder's subtree).
    """
    found: list[DescriptorFile] = []
    missing = []
    roots: Roots = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(_walk_folder(path, roots))
        elif _is_entry(path) and path.name == DEFAULTS_FILE:
            # Defaults are checked through the descriptors they apply to (pre-commit passes
            # the changed file alone): take those of its whole subtree.
            found.extend(_walk_folder(path.parent, roots))
        elif _is_entry(path):
            found.append(_with_origin(path, path.name, roots, os.path.realpath(path.parent)))
        else:
            missing.append(str(raw))
    unique: dict[str, DescriptorFile] = {}
    for descriptor in found:  # a file named twice (say, itself and its folder) counts once
        first = unique.setdefault(descriptor.key, descriptor)
        # Only a second naming can be the better one: one lstat per duplicate, not per file.
        if first is descriptor:
            continue
        if first.path.is_symlink() and not descriptor.path.is_symlink():
            unique[descriptor.key] = descriptor  # the file itself, not a link to it

    found = list(unique.values())
    if missing:
        raise UsageError(
            f"no such file or directory: {', '.join(missing)}",
            hint="pass descriptor files or folders that hold them",
        )
    if not found:
        raise UsageError(
            f"no descriptors (*.yaml, *.yml) found in {', '.join(map(str, paths))}",
            hint="create one with 'jenkins-bridge init NAME --team TEAM'",
        )
    return found


_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def _within(real: str, folder: str) -> bool:
    """Whether ``real`` is ``folder`` or inside it (both real, absolute paths)."""
    return real == folder or real.startswith(folder.rstrip(os.sep) + os.sep)


def _read(
    path: Path | str, inside: str = "", name: str | None = None, real: str | None = None
) -> LoadedDocument:
    """Read a descriptor or ``_defaults.yaml`` safely: it must resolve to a regular file
    inside the folder ``inside`` (a symbolic link may not lead out of it), and at most
    ``MAX_BYTES`` + 1 bytes are read, so a FIFO, a device or a huge file cannot hang or
    exhaust us. Messages name the file as given (``name``), so the user finds it from where
    they ran us. ``real`` is its real path when the caller knows it already."""
    name = str(path) if name is None else name

    def refuse(message: str) -> YamlProblem:
        return YamlProblem(Problem("io", message, name, 1, 1))

    real = real or os.path.realpath(path)
    if inside and not _within(real, inside):
        raise refuse(
            f"is a symbolic link to {visible(real)}, outside {visible(inside)}; "
            "only files inside the folder given are read"
        )
    try:
        kind = stat.S_IFMT(os.stat(real).st_mode)  # stat does not open: a FIFO cannot block
        if kind != stat.S_IFREG:
            raise refuse(f"is {_KINDS.get(kind, 'not a regular file')}, not a file; not read")
        # O_NONBLOCK and O_NOFOLLOW: if it was swapped for a FIFO or a link since, this fails
        # or returns at once instead of blocking, and fstat below tells.
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise refuse(f"cannot read file: {exc.strerror}") from exc
    try:
        kind = stat.S_IFMT(os.fstat(fd).st_mode)
        if kind != stat.S_IFREG:
            raise refuse(f"is {_KINDS.get(kind, 'not a regular file')}, not a file; not read")
        chunks = []
        left = MAX_BYTES + 1  # one byte more than allowed tells "too large" without reading on
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise refuse(f"cannot read file: {exc.strerror}") from exc
    finally:
        os.close(fd)
    return load_yaml_mapping(b"".join(chunks), name)


_Lock = tuple[str, LoadedDocument, int]  # dotted path, the _defaults.yaml locking it, index


@dataclass
class _Governing:
    """What governs the descriptors of one folder: every ``_defaults.yaml`` from the top
    (the repository, else the folder given) down to this folder, merged nearest last."""

    data: dict[str, Any]
    locks: list[_Lock]
    doc: LoadedDocument | None  # the nearest _defaults.yaml, the ones above as its fallback
    files: tuple[tuple[str, str], ...]  # (real path, name as shown) of each, top first
    problems: list[Problem]


_UNGOVERNED = _Governing({}, [], None, (), [])


def _is_descriptor_key(dotted_path: str) -> bool:
    node: Any = SCHEMA
    for part in dotted_path.split("."):
        properties = node.get("properties") if isinstance(node, dict) else None
        if properties and part in properties:
            node = properties[part]
        elif isinstance(node, dict) and isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]  # e.g. runtime.env.<NAME>
        else:
            return False
    return True


def _locked_paths(doc: LoadedDocument) -> tuple[list[str], list[Problem]]:
    """The dotted paths a ``_defaults.yaml`` locks; a path no descriptor can have would lock
    nothing, so it is an error rather than a lock that silently does not hold."""
    locked = doc.data.get("locked", [])
    if not isinstance(locked, list) or not all(isinstance(p, str) for p in locked):
        return [], [problem_at(doc, ("locked",), "must be a list of dotted paths")]
    problems = [
        problem_at(doc, ("locked", index), f"'{visible(path)}' is not a descriptor key")
        for index, path in enumerate(locked)
        if not _is_descriptor_key(path)
    ]
    return locked, problems


def _overrides(
    locks: Sequence[_Lock], doc: LoadedDocument, data: dict[str, Any], governed: dict[str, Any]
) -> list[Problem]:
    """Problems for each locked path that ``data`` (of ``doc``) sets to another value than
    ``governed`` (what the _defaults.yaml files above give)."""
    problems = []
    for locked, lock_doc, index in locks:
        own = _lookup(data, locked)
        if own is _MISSING or own == _lookup(governed, locked):
            continue
        file, line, column = lock_doc.where(("locked", index))
        problems.append(
            problem_at(
                doc,
                tuple(locked.split(".")),
                f"is locked by {file}:{line}:{column} and may not be overridden here",
                key=True,
            )
        )
    return problems


def _govern(outer: _Governing, real: str, name: str, inside: str) -> _Governing:
    """``outer`` with the ``_defaults.yaml`` at ``real`` applied under it: it may override
    values, but not what ``outer`` locks, and its own locks add to those."""
    try:
        doc = _read(real, inside, name)
    except YamlProblem as exc:
        return _Governing(
            outer.data,
            outer.locks,
            outer.doc,
            (*outer.files, (real, name)),
            [*outer.problems, exc.problem],
        )
    own = {k: v for k, v in doc.data.items() if k != "locked"}
    # The problems above are repeated, so they are reported however the files are chunked.
    overrides = _overrides(outer.locks, doc, own, outer.data)
    problems = [*outer.problems, *overrides]
    if overrides:  # the locked values stand, so the descriptors below are checked against them
        own = copy.deepcopy(own)
        for dotted_path, _, _ in outer.locks:
            _remove(own, dotted_path)
    locked, found = _locked_paths(doc)
    problems += found
    doc.fallback = outer.doc
    return _Governing(
        _deep_merge(outer.data, own),
        [*outer.locks, *((path, doc, i) for i, path in enumerate(locked))],
        doc,
        (*outer.files, (real, name)),
        problems,
    )


class _GoverningCache:
    """The ``_Governing`` of each folder, built once per folder from its parent's."""

    def __init__(self) -> None:
        self.by_folder: dict[tuple[str, str], _Governing] = {}
        self.real_folders: dict[str, str] = {}

    def of(self, descriptor: DescriptorFile) -> _Governing:
        shown = os.path.dirname(descriptor.text) or "."  # ``str(path.parent)``
        folder = self.real_folders.get(shown)
        if folder is None:
            folder = self.real_folders[shown] = os.path.realpath(shown)
        top = descriptor.top or folder
        root = descriptor.root if descriptor.root and _within(folder, descriptor.root) else top
        if not _within(folder, root):
            root = folder
        return self._of(folder, shown, root, top)

    def _of(self, folder: str, shown: str, root: str, top: str) -> _Governing:
        cached = self.by_folder.get((folder, root))
        if cached is not None:
            return cached
        outer = _UNGOVERNED
        if folder != root:
            parent_shown = os.path.normpath(os.path.join(shown, os.pardir))
            outer = self._of(os.path.dirname(folder), parent_shown, root, top)
        real = os.path.join(folder, DEFAULTS_FILE)
        governing = outer
        if os.path.lexists(real):
            inside = top if _within(folder, top) else root
            governing = _govern(outer, real, str(Path(shown, DEFAULTS_FILE)), inside)
        self.by_folder[(folder, root)] = governing
        return governing


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


_MISSING = object()


def _lookup(data: dict[str, Any], dotted_path: str) -> Any:
    node: Any = data
    for part in dotted_path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _remove(data: dict[str, Any], dotted_path: str) -> None:
    *parents, last = dotted_path.split(".")
    node: Any = data
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(last, None)


@dataclass
class LoadedFiles:
    """What loading some descriptor files gave: validated data, problems, and where each
    service's name is (for the checks across files, which need every file of the run).

    It holds plain data rather than ``Service`` objects because chunks travel between
    processes, and plain dicts pickle several times faster than nested dataclasses.
    """

    records: list[tuple[dict[str, Any], Path, str]]  # merged, validated data; file; origin
    problems: list[Problem]
    name_positions: dict[Path, tuple[str, int, int]]
    team_positions: dict[Path, Position] = field(default_factory=dict)
    # The _defaults.yaml files governing each file, top first: (real path, name as shown).
    governed_by: dict[Path, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # Each record's data with the schema's defaults filled, as validation computed it, so
    # building the model does not fill them again (a tenth of a render's CPU). Not sent
    # between processes (see __getstate__): where it is missing, the model fills them itself.
    filled: dict[Path, dict[str, Any]] = field(default_factory=dict)

    def services(self) -> list[model.Service]:
        return [
            build_service(data, path, origin, full=self.filled.get(path))
            for data, path, origin in self.records
        ]

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "filled": {}}


def load_files(files: Sequence[DescriptorFile]) -> LoadedFiles:
    """Load, merge and validate ``files`` (no checks across files; see ``load_services``)."""
    loaded = LoadedFiles([], [], {})
    governing = _GoverningCache()
    reported: set[int] = set()
    for descriptor in files:
        governed = governing.of(descriptor)
        if id(governed) not in reported:  # a folder's defaults problems, once per chunk
            reported.add(id(governed))
            loaded.problems.extend(governed.problems)
        try:
            doc = _read(descriptor.path, descriptor.top, real=descriptor.key or None)
        except YamlProblem as exc:
            loaded.problems.append(exc.problem)
            continue
        data, full, found = _validate_one(doc, governed)
        loaded.problems.extend(found)
        if data is not None:
            loaded.records.append((data, descriptor.path, descriptor.origin))
            if full is not None:
                loaded.filled[descriptor.path] = full
            loaded.name_positions[descriptor.path] = doc.where(("metadata", "name"))
            loaded.team_positions[descriptor.path] = doc.where(("metadata", "team"))
            loaded.governed_by[descriptor.path] = governed.files
    return loaded


def locate(descriptor: DescriptorFile, path: KeyPath) -> Position:
    """Where ``path`` is in ``descriptor``, or in the ``_defaults.yaml`` it came from: for a
    problem found after loading (render's size limits). Reads the files again; a file that
    cannot be read now is named at its first line."""
    governed = _GoverningCache().of(descriptor)
    try:
        doc = _read(descriptor.path, descriptor.top, real=descriptor.key or None)
    except YamlProblem:
        return (str(descriptor.path), 1, 1)
    doc.fallback = governed.doc
    return doc.where(path, key=True)


def check_across_files(
    names: Iterable[tuple[str, Path]], positions: dict[Path, tuple[str, int, int]]
) -> list[Problem]:
    """Problems only a whole run can see: the same service defined in two files.

    ``names`` holds (full name, descriptor path) in file order.
    """
    problems = []
    seen: dict[str, Path] = {}
    for full_name, path in names:
        key = full_name.lower()  # Jenkins item names are case-insensitive
        if key in seen:
            file, line, column = positions[path]
            first_file, first_line, _ = positions[seen[key]]
            problems.append(
                Problem(
                    "invalid",
                    f"metadata.name: service '{full_name}' is already defined at "
                    f"{first_file}:{first_line}; names must be unique within a team",
                    file,
                    line,
                    column,
                )
            )
        else:
            seen[key] = path
    return problems


def _governed_text(files: tuple[tuple[str, str], ...]) -> str:
    return " and ".join(name for _, name in files) if files else "no _defaults.yaml"


def check_team_defaults(chunks: Sequence[LoadedFiles]) -> list[Problem]:
    """Problems only a whole run can see: a team whose services are governed by different
    ``_defaults.yaml`` files. Otherwise moving a descriptor to a folder next door would
    escape its team's locked defaults."""
    problems = []
    first: dict[str, tuple[Path, tuple[tuple[str, str], ...], Position]] = {}
    for chunk in chunks:
        for data, path, _ in chunk.records:
            team = data["metadata"]["team"]
            governed = chunk.governed_by.get(path, ())
            position = chunk.team_positions.get(path, (str(path), 1, 1))
            seen = first.setdefault(team.lower(), (path, governed, position))
            if [real for real, _ in seen[1]] == [real for real, _ in governed]:
                continue
            file, line, column = position
            problems.append(
                Problem(
                    "invalid",
                    f"metadata.team: team '{team}' is governed here by "
                    f"{_governed_text(governed)}, but at {seen[2][0]}:{seen[2][1]} by "
                    f"{_governed_text(seen[1])}; keep a team's descriptors under the same "
                    "_defaults.yaml",
                    file,
                    line,
                    column,
                )
            )
    return problems


def check_team_receivers(chunks: Sequence[LoadedFiles]) -> list[Problem]:
    """Problems only a whole run can see: one alert receiver name declared differently by two
    services of a team. The team's Alertmanager route holds one receiver per name, so one of
    them would silently get the other's alerts."""
    problems = []
    first: dict[tuple[str, str], tuple[Any, Path, Position]] = {}
    for chunk in chunks:
        for data, path, _ in chunk.records:
            team = data["metadata"]["team"].lower()
            alerts = data.get("monitoring", {}).get("alerts", {})
            position = chunk.team_positions.get(path, (str(path), 1, 1))
            for name, receiver in sorted(alerts.get("receivers", {}).items()):
                seen = first.setdefault((team, name), (receiver, path, position))
                if seen[0] == receiver:
                    continue
                file, line, column = position
                problems.append(
                    Problem(
                        "invalid",
                        f"monitoring.alerts.receivers.{name}: declared here differently than "
                        f"for {seen[2][0]}:{seen[2][1]} of the same team '{team}'; a team has "
                        "one set of receivers: declare them once, in its _defaults.yaml",
                        file,
                        line,
                        column,
                    )
                )
    return problems


def load_services(
    paths: Sequence[str | Path], *, workers: int | None = None
) -> list[model.Service]:
    """Load, merge, validate and build every descriptor under ``paths``; all problems at once.

    Thousands of files are loaded by several processes (``workers``: ``jenkins_bridge.workers``).
    """
    from jenkins_bridge.workers import map_chunks

    return collect(map_chunks(load_files, discover(paths), workers=workers))


def check_services(
    paths: Sequence[str | Path], *, workers: int | None = None
) -> list[tuple[str, Path]]:
    """``load_services`` without building the typed models (``validate``): the same files,
    merges and checks, every problem raised at once; the full name and file of each service."""
    from jenkins_bridge.workers import map_chunks

    chunks = map_chunks(load_files, discover(paths), workers=workers)
    check_chunks(chunks)
    return [
        (f"{data['metadata']['team']}/{data['metadata']['name']}", path)
        for chunk in chunks
        for data, path, _ in chunk.records
    ]


def check_chunks(chunks: Sequence[LoadedFiles]) -> None:
    """Raise every problem of a run's chunks, including those only the whole run can see."""
    positions = {path: pos for chunk in chunks for path, pos in chunk.name_positions.items()}
    names = [
        (f"{data['metadata']['team']}/{data['metadata']['name']}", path)
        for chunk in chunks
        for data, path, _ in chunk.records
    ]
    # A folder's _defaults.yaml is read by every chunk that has files there: report it once.
    problems = list(dict.fromkeys(p for chunk in chunks for p in chunk.problems))
    problems += check_across_files(names, positions)
    problems += check_team_defaults(chunks)
    problems += check_team_receivers(chunks)
    if problems:
        raise InvalidDescriptors(problems)


def collect(chunks: Sequence[LoadedFiles]) -> list[model.Service]:
    """The services of all chunks of a run, after the checks across files; or every problem."""
    check_chunks(chunks)
    return [service for chunk in chunks for service in chunk.services()]


def load_service(path: str | Path) -> model.Service:
    """Load one descriptor file (with its folder's ``_defaults.yaml``)."""
    services = load_services([path])
    return services[0]


def load_image_descriptor(path: str | Path) -> ImageDescriptor:
    """``load_service``'s loading and checks (the same problems, raised the same way), but
    only what image build and push read of the result (``descriptor.image``), with the same
    values as the model's."""
    from jenkins_bridge.descriptor.image import ImageDescriptor
    from jenkins_bridge.workers import map_chunks

    chunks = map_chunks(load_files, discover([path]), workers=None)
    check_chunks(chunks)
    chunk = chunks[0]
    data, found, _ = chunk.records[0]
    full = chunk.filled.get(found)
    if full is None:
        full = with_defaults(data)
    return ImageDescriptor(
        name=full["metadata"]["name"],
        description=full["metadata"]["description"],
        source_repo=full["source"]["repo"],
        image=_image_spec(full.get("image")),
        path=found,
        digest=_digest(_canonical(data)),
    )


def _validate_one(
    doc: LoadedDocument, governing: _Governing
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[Problem]]:
    """The merged data (None if it has problems), it with the schema's defaults filled (when
    computed), and the problems."""
    data = doc.data
    combined = doc
    problems = _overrides(governing.locks, doc, doc.data, governing.data)
    if governing.doc is not None:
        data = _deep_merge(governing.data, doc.data)
        combined = LoadedDocument(file=doc.file, data=data, root=doc.root, fallback=governing.doc)
    problems.extend(schema_problems(combined, data))
    problems.extend(field_problems(combined, data))
    problems.extend(_source_problems(combined, data))
    full = None
    if not problems:  # the checks across environments read schema-valid data only
        full = with_defaults(data)
        problems.extend(environment_problems(combined, data, full))
    if problems:
        return None, None, problems
    return data, full, []


def _source_problems(doc: LoadedDocument, data: dict[str, Any]) -> list[Problem]:
    """``source.repo`` must be a remote git URL without credentials (see ``git_remote``)."""
    source = data.get("source")
    repo = source.get("repo") if isinstance(source, dict) else None
    message = repository_url_problem(repo) if isinstance(repo, str) and repo else None
    return [] if message is None else [problem_at(doc, ("source", "repo"), message)]


def _parameter_default(value: Any) -> str | bool | None:
    if value is None or isinstance(value, bool):
        return value
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_service(
    data: dict[str, Any], path: Path, origin: str, *, full: dict[str, Any] | None = None
) -> model.Service:
    """Build the typed model from validated data. Defaults come from the schema alone
    (``with_defaults``; ``full``: that result when the caller has it already); a key read with
    ``.get`` is one the schema gives no default."""
    from jenkins_bridge.descriptor import model

    canonical = _canonical(data)
    if full is None:
        full = with_defaults(data)
    meta = full["metadata"]
    src = full["source"]
    pipe = full["pipeline"]
    runtime = full["runtime"]
    monitoring = full["monitoring"]
    image = full.get("image")
    return model.Service(
        metadata=model.Metadata(
            name=meta["name"],
            team=meta["team"],
            description=meta["description"],
            owners=tuple(meta["owners"]),
        ),
        source=model.Source(
            repo=src["repo"],
            branch=src["branch"],
            credentials_id=src.get("credentialsId"),
            jenkinsfile=src["jenkinsfile"],
            descriptor=src["descriptor"],
        ),
        pipeline=model.PipelineSpec(
            job_type=pipe["jobType"],
            agent=pipe["agent"],
            timeout_minutes=pipe["timeoutMinutes"],
            keep_builds=pipe["keepBuilds"],
            triggers=model.Triggers(
                poll=pipe["triggers"].get("poll"), cron=pipe["triggers"].get("cron")
            ),
            parameters=tuple(
                model.Parameter(
                    name=p["name"],
                    type=p["type"],
                    default=_parameter_default(p.get("default")),
                    description=p["description"],
                    choices=tuple(p.get("choices", ())),
                )
                for p in pipe["parameters"]
            ),
            test=tuple(model.TestStep(t["name"], t["run"]) for t in pipe["test"]),
            notify=model.Notify(email=pipe["notify"].get("email")),
            library=pipe["library"],
        ),
        image=_image_spec(image),
        runtime=_runtime_spec(runtime),
        deploy=tuple(
            model.DeployStage(
                environment=s["environment"],
                target=s["target"],
                strategy=s["strategy"],
                listen=s.get("listen"),
                replicas=s["replicas"],
                approval=(
                    None
                    if "approval" not in s
                    else model.Approval(
                        submitter=s["approval"].get("submitter"),
                        message=s["approval"]["message"],
                        timeout_minutes=s["approval"]["timeoutMinutes"],
                    )
                ),
                **_deploy_stage(s),
                **_stage_runtime(runtime, s.get("runtime", {}), s["podSecurity"]),
            )
            for s in full["deploy"]
        ),
        monitoring=model.Monitoring(
            metrics_path=monitoring["metricsPath"],
            scrape_interval_seconds=monitoring["scrapeIntervalSeconds"],
            slo=model.Slo(
                availability=monitoring["slo"].get("availability"),
                latency_p95_ms=monitoring["slo"].get("latencyP95Ms"),
            ),
            alerts_notify=monitoring["alerts"].get("notify"),
            receivers=tuple(
                model.Receiver(name, r.get("email"), r.get("webhook"))
                for name, r in sorted(monitoring["alerts"]["receivers"].items())
            ),
            runbook_url=monitoring["alerts"].get("runbookUrl"),
        ),
        path=path,
        origin=origin,
        digest=_digest(canonical),
        resolved=_ascii_json(data, canonical),
    )


def _canonical(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(canonical: str) -> str:
    # with the model or image view: validate, which builds neither, needs no OpenSSL hashes
    import hashlib

    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _image_spec(image: dict[str, Any] | None) -> ImageSpec | None:
    if image is None:
        return None
    from jenkins_bridge.descriptor.image import ImageSpec

    return ImageSpec(
        repository=image["repository"],
        credentials_id=image.get("credentialsId"),
        context=image["context"],
        dockerfile=image["dockerfile"],
        target=image.get("target"),
        build_args={k: _text(v) for k, v in sorted(image["buildArgs"].items())},
    )


def _ascii_json(data: dict[str, Any], canonical: str) -> str:
    """``data`` as compact JSON with every character beyond ASCII escaped: ``canonical`` (the
    same without that escaping) itself when it has none of them. DEL is the one ASCII
    character only the escaping form escapes."""
    if canonical.isascii() and "\x7f" not in canonical:
        return canonical
    import json

    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _runtime_spec(runtime: dict[str, Any]) -> model.RuntimeSpec:
    """The runtime model from data whose schema defaults are filled (top-level or merged)."""
    from jenkins_bridge.descriptor import model

    health = runtime["healthcheck"]
    return model.RuntimeSpec(
        port=runtime["port"],
        env={k: _text(v) for k, v in sorted(runtime["env"].items())},
        secrets=tuple(model.Secret(s["env"], s["credentialsId"]) for s in runtime["secrets"]),
        healthcheck=model.Healthcheck(
            path=health["path"],
            interval_seconds=health["intervalSeconds"],
            timeout_seconds=health["timeoutSeconds"],
            retries=health["retries"],
            start_period_seconds=health["startPeriodSeconds"],
            command=tuple(health.get("command", ())),
        ),
        restart=runtime["restart"],
        resources=model.Resources(
            cpus=runtime["resources"].get("cpus"), memory=runtime["resources"].get("memory")
        ),
        **_deploy_runtime(runtime),
        compose_subnet=runtime.get("composeSubnet"),
    )


def _stage_runtime(
    runtime: dict[str, Any], override: dict[str, Any], pod: dict[str, Any]
) -> dict[str, Any]:
    """A stage's merged runtime, and its pod security with the defaults the runtime decides
    (non-root only where the kubelet can verify it: a non-zero numeric user)."""
    from jenkins_bridge.descriptor import model

    spec = _runtime_spec(merged_runtime(runtime, override))
    user = (spec.security.user or "").split(":")[0]
    return {
        "runtime": spec,
        "pod_security": model.PodSecurity(
            run_as_non_root=pod.get("runAsNonRoot", user.isdigit() and int(user) != 0),
            seccomp_profile=pod["seccompProfile"],
            read_only_root_filesystem=pod.get("readOnlyRootFilesystem", spec.security.read_only),
        ),
    }


def _companion_healthcheck(section: dict[str, Any]) -> model.Healthcheck:
    """A companion's Docker healthcheck (schema defaults already filled); it has no HTTP path,
    so the app's default stands in for the model's field."""
    from jenkins_bridge.descriptor import model

    return model.Healthcheck(
        path=_APP_HEALTH_PATH,
        interval_seconds=section["intervalSeconds"],
        timeout_seconds=section["timeoutSeconds"],
        retries=section["retries"],
        start_period_seconds=section["startPeriodSeconds"],
        command=tuple(section.get("command", ())),
    )


_APP_HEALTH_PATH: str = SCHEMA["properties"]["runtime"]["properties"]["healthcheck"]["properties"][
    "path"
]["default"]


def _deploy_runtime(runtime: dict[str, Any]) -> dict[str, Any]:
    """The runtime fields of Docker deploys (companions, security, stop timeout), read from
    data whose schema defaults are filled."""
    from jenkins_bridge.descriptor import model

    security = runtime["security"]
    companions = tuple(
        model.Companion(
            name=c["name"],
            image=c["image"],
            command=tuple(c.get("command", ())),
            env={k: _text(v) for k, v in sorted(c["env"].items())},
            secrets=tuple(model.Secret(s["env"], s["credentialsId"]) for s in c["secrets"]),
            volume=model.VolumeMount(**c["volume"]) if "volume" in c else None,
            healthcheck=_companion_healthcheck(c["healthcheck"]) if "healthcheck" in c else None,
            port=c.get("port"),
        )
        for c in runtime["companions"]
    )
    return {
        "stop_timeout_seconds": runtime["stopTimeoutSeconds"],
        "security": model.SecurityOptions(
            no_new_privileges=security["noNewPrivileges"],
            user=security.get("user"),
            read_only=security["readOnly"],
            tmpfs=tuple(security["tmpfs"]),
            cap_drop=tuple(security["capDrop"]),
            cap_add=tuple(security["capAdd"]),
        ),
        "companions": companions,
    }


def _deploy_stage(stage: dict[str, Any]) -> dict[str, Any]:
    """The fields of a Docker deploy stage (engine, network, proxy, health gate, hook)."""
    return {
        "host": stage.get("host"),
        "subnet": stage.get("subnet"),
        "subnet_pool": stage.get("subnetPool"),
        "refused_subnets": tuple(stage["refusedSubnets"]),
        "proxy_image": stage["proxyImage"],
        "helper_image": stage["helperImage"],
        "health_timeout_seconds": stage["healthTimeoutSeconds"],
        "drain_seconds": stage["drainSeconds"],
        "pre_switch": tuple(stage.get("preSwitch", ())),
        "network": stage["network"],
        "update_order": stage["updateOrder"],
        "monitor_seconds": stage["monitorSeconds"],
        "namespace": stage["namespace"],
        "secret_name": stage["secretName"],
        "context": stage.get("context"),
        "canary": _canary(stage["canary"]),
    }


def _canary(canary: dict[str, Any]) -> model.CanarySpec:
    from jenkins_bridge.descriptor import model

    ratio = canary.get("maxErrorRatio")
    return model.CanarySpec(
        steps=tuple(canary["steps"]),
        interval_seconds=canary["intervalSeconds"],
        min_requests=canary["minRequests"],
        max_error_ratio=None if ratio is None else float(ratio),
        max_burn_rate=float(canary["maxBurnRate"]),
        max_p95_ms=canary.get("maxP95Ms"),
        prometheus=canary.get("prometheus"),
    )

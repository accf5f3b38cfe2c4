"""A directory that can be read, written and pruned without ever leaving it.

Every access walks from the directory's own file descriptor one component at a time with
``O_NOFOLLOW``, so a symlink planted anywhere under it (a team folder, a generated file, a
temporary name) is refused instead of followed; files are written under a random temporary
name created with ``O_EXCL`` and renamed into place, which never follows a link either.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import secrets
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from jenkins_bridge.errors import BridgeError

# Temporary files are named with this prefix; a render cleans up any it finds in the folders it
# writes (what an interrupted render leaves behind).
TEMPORARY_PREFIX = ".jenkins-bridge-tmp-"

_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeOutputPath(BridgeError):
    """A path under the output directory that render will not write, read or remove."""

    code = "unsafe-output-path"

    def __init__(self, root: Path, path: str, reason: str) -> None:
        super().__init__(
            f"{root / path}: {reason}; refusing to write through it",
            hint=f"remove it, or render into a directory without links (-o {root})",
        )
        self.path = path
        self.reason = reason


def relative_parts(path: str) -> tuple[str, ...] | None:
    """The components of a relative POSIX path, or None if it is absolute, empty or has
    '.', '..', empty or NUL components (anything that could name a place outside)."""
    if not path or "\0" in path or "\\" in path or path.startswith("/"):
        return None
    parts = tuple(path.split("/"))
    if any(part in ("", ".", "..") for part in parts):
        return None
    return parts


@dataclass(frozen=True, slots=True)
class Found:
    """What lies at a path: ``kind`` is file, missing, symlink, hardlink (a regular file with
    other names), directory, other or through-symlink (a folder on the way is a link);
    ``target`` says where a link points, or which folder on the way is wrong."""

    kind: str
    target: str | None = None

    def reason(self) -> str:
        if self.kind == "symlink":
            return f"it is a symbolic link (to {self.target})"
        if self.kind == "through-symlink":
            return f"folder {self.target} on the way is a symbolic link"
        if self.kind == "directory":
            return "it is a directory"
        if self.kind == "hardlink":
            return "it is a hard link (its content is shared with another file)"
        if self.target is not None:
            return f"{self.target} on the way is not a folder"
        return "it is not a regular file"


class ConfinedDir:
    """An open directory; every path given to it is relative and stays inside it."""

    def __init__(self, root: Path, *, create: bool = False) -> None:
        if create:
            root.mkdir(parents=True, exist_ok=True)
        # The root itself may be a link the user chose (-o link/); what is under it may not.
        self.root = root.resolve()
        # What /proc names a folder inside the root starts with (see _check_still_inside).
        self._inside = (str(self.root).rstrip("/") + "/", str(self.root))
        # Temporary names: one random part per directory opened, then a count (a fresh random
        # name for each file cost a getrandom call; O_EXCL refuses any name already there).
        self._token = secrets.token_hex(8)
        self._serial = itertools.count()
        self._chain: list[tuple[str, int]] = []  # open folders of the last path walked
        try:
            self._fd = os.open(self.root, _DIRECTORY_FLAGS)
        except FileNotFoundError:
            self._fd = -1
        except OSError as exc:
            raise BridgeError(f"cannot open output directory {root}: {exc.strerror}") from exc

    @classmethod
    def _opened(cls, root: Path, fd: int) -> ConfinedDir:
        self = cls.__new__(cls)
        self.root = root
        self._inside = (str(root).rstrip("/") + "/", str(root))
        self._token = secrets.token_hex(8)
        self._serial = itertools.count()
        self._chain = []
        self._fd = fd
        return self

    def subfolder(self, name: str, *, create: bool = False) -> ConfinedDir:
        """The folder ``name`` directly in this one (created if asked and missing), opened
        without following a link, as a directory of its own: a staging folder of temporaries
        (see ``staging``)."""
        parts = self._parts(name)
        if len(parts) != 1 or not name.startswith(TEMPORARY_PREFIX):
            raise UnsafeOutputPath(self.root, name, "it is not a temporary folder's name")
        try:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o777, dir_fd=self._fd)
            fd = os.open(name, _DIRECTORY_FLAGS, dir_fd=self._fd)
        except OSError as exc:
            raise BridgeError(f"cannot open {self.root / name}: {exc.strerror or exc}") from exc
        return ConfinedDir._opened(self.root / name, fd)

    @property
    def exists(self) -> bool:
        return self._fd >= 0

    def close(self) -> None:
        self._drop(0)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ConfinedDir:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- walking ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _folder(self, parts: tuple[str, ...], *, create: bool) -> Iterator[int | Found]:
        """An fd of the folder ``parts`` (created if asked), or a ``Found`` saying why not.

        The folders of the last path walked stay open: paths come sorted, so the next one
        mostly shares them, and each folder is opened (and checked) once, not once per file.
        """
        common = 0
        limit = min(len(self._chain), len(parts))
        while common < limit and self._chain[common][0] == parts[common]:
            common += 1
        self._drop(common)
        fd = self._chain[-1][1] if self._chain else self._fd
        for index in range(common, len(parts)):
            part = parts[index]
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
            try:
                child = os.open(part, _DIRECTORY_FLAGS, dir_fd=fd)
            except OSError as exc:
                here = "/".join(parts[: index + 1])
                if exc.errno == errno.ENOENT:
                    yield Found("missing")
                    return
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    yield Found("through-symlink" if _is_link(part, fd) else "other", here)
                    return
                raise
            self._chain.append((part, child))
            fd = child
        yield fd

    def _drop(self, keep: int) -> None:
        """Close the open folders beyond the first ``keep``."""
        while len(self._chain) > keep:
            os.close(self._chain.pop()[1])

    def read(self, path: str) -> tuple[Found, bytes | None]:
        """The bytes of a regular file at ``path`` (never through a link), or why not."""
        try:
            return self._read(path)
        except OSError as exc:
            raise BridgeError(f"cannot read {self.root / path}: {exc.strerror or exc}") from exc

    def _read(self, path: str) -> tuple[Found, bytes | None]:
        parts = self._parts(path)
        with self._folder(parts[:-1], create=False) as folder:
            if isinstance(folder, Found):
                return folder, None
            try:
                fd = os.open(parts[-1], _READ_FLAGS, dir_fd=folder)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return Found("missing"), None
                if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
                    return _lstat_kind(parts[-1], folder), None
                raise
            try:
                status = os.fstat(fd)
                if not stat.S_ISREG(status.st_mode):
                    return Found("other"), None
                if status.st_nlink > 1:  # its content is also another file's, maybe outside
                    return Found("hardlink"), None
                with os.fdopen(fd, "rb", closefd=False) as handle:
                    return Found("file"), handle.read()
            finally:
                os.close(fd)

    def write(self, path: str, data: bytes) -> None:
        """Put ``data`` at ``path`` atomically: a random temporary file in the same folder,
        then a rename over the old file. Refuses links on the way and at the path."""
        try:
            self._write(path, data)
        except OSError as exc:
            raise BridgeError(f"cannot write {self.root / path}: {exc.strerror or exc}") from exc

    def _write(self, path: str, data: bytes) -> None:
        parts = self._parts(path)
        with self._folder(parts[:-1], create=True) as folder:
            if isinstance(folder, Found):
                raise UnsafeOutputPath(self.root, path, folder.reason())
            found = _lstat_kind(parts[-1], folder)
            if found.kind not in ("file", "missing"):
                raise UnsafeOutputPath(self.root, path, found.reason())
            self._check_still_inside(folder, path)
            self._put(folder, parts[-1], data)

    def _put(self, folder: int, name: str, data: bytes) -> None:
        """``data`` into a temporary file in ``folder``, renamed to ``name``."""
        temporary = f"{TEMPORARY_PREFIX}{self._token}{next(self._serial):x}"
        try:
            fd = os.open(temporary, _CREATE_FLAGS, 0o666, dir_fd=folder)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            # Ctrl-C included. Whatever still slips through (a second signal right here)
            # is removed by the next render (remove_temporaries).
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=folder)
            raise

    def create_all(
        self,
        files: Sequence[tuple[str, bytes]],
        done: list[str],
        made: dict[str, os.stat_result] | None = None,
        folders: dict[str, int] | None = None,
    ) -> None:
        """Put each ``(path, data)`` of ``files`` (sorted by path) as a new file, appending
        its path to ``done`` (and its ``fstat`` to ``made``, each folder's inode on the way
        to ``folders``); an earlier file at a path is unlinked first. For a staging folder,
        whose files are ours and move into place whole (``move_in``), so they need no
        temporary name of their own; each folder is walked once for all its files. Raises
        ``OSError`` for the file after the last one ``done``: the caller names it by where
        it goes, not by its staging path."""
        start = 0
        while start < len(files):
            folder_path = files[start][0].rpartition("/")[0]
            end = start
            while end < len(files) and files[end][0].rpartition("/")[0] == folder_path:
                end += 1
            parts = self._parts(folder_path) if folder_path else ()
            with self._folder(parts, create=True) as folder:
                if isinstance(folder, Found):
                    raise UnsafeOutputPath(self.root, files[start][0], folder.reason())
                if folders is not None and folder_path not in folders:
                    for depth, (_, fd) in enumerate(self._chain, 1):
                        above = "/".join(parts[:depth])
                        if above not in folders:
                            folders[above] = os.fstat(fd).st_ino
                for path, data in files[start:end]:
                    name = path.rpartition("/")[2]
                    if relative_parts(name) is None:
                        raise UnsafeOutputPath(self.root, path, "it is not a plain relative path")
                    info = _create(folder, name, data)
                    if made is not None:
                        made[path] = info
                    done.append(path)
            start = end

    def move_in(self, source: ConfinedDir, moved: list[str]) -> None:
        """Move everything in ``source`` (a staging folder inside this directory) to the same
        path here: what is missing here moves whole (a new team folder is one rename,
        whatever it holds), a folder here is entered without following a link and merged
        into, a regular file here is replaced. Anything else here now (a link, a file where
        a folder goes) is refused. Each path moved is appended to ``moved`` as it goes."""
        self._drop(0)
        try:
            self._merge(source._fd, self._fd, (), moved)
        except OSError as exc:
            raise BridgeError(f"cannot move files into {self.root}: {exc.strerror or exc}") from exc

    def _merge(self, source: int, here: int, parts: tuple[str, ...], moved: list[str]) -> None:
        self._check_still_inside(here, "/".join(parts) or ".")  # once per folder written in
        with os.scandir(source) as listing:
            entries = sorted((entry.name, entry.is_dir(follow_symlinks=False)) for entry in listing)
        for name, is_folder in entries:
            path = "/".join((*parts, name))
            try:
                mode: int | None = os.lstat(name, dir_fd=here).st_mode
            except FileNotFoundError:
                mode = None
            if mode is None or (not is_folder and stat.S_ISREG(mode)):
                if self._rename(source, here, name, is_folder) or not is_folder:
                    moved.append(path)
                    continue
                mode = stat.S_IFDIR  # made here to merge into
            if is_folder and stat.S_ISDIR(mode):
                inner = os.open(name, _DIRECTORY_FLAGS, dir_fd=source)
                try:
                    try:
                        target = os.open(name, _DIRECTORY_FLAGS, dir_fd=here)
                    except OSError as exc:
                        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                            raise
                        raise UnsafeOutputPath(self.root, path, "it is a symbolic link") from exc
                    try:
                        self._merge(inner, target, (*parts, name), moved)
                    finally:
                        os.close(target)
                finally:
                    os.close(inner)
            else:
                found = _lstat_kind(name, here)  # what lies there now, since the scan
                is_file = is_folder and found.kind == "file"
                raise UnsafeOutputPath(
                    self.root, path, "it is not a folder" if is_file else found.reason()
                )

    def _rename(self, source: int, here: int, name: str, is_folder: bool) -> bool:
        """Rename ``name`` from ``source`` to ``here`` (never following a link: a folder
        renamed onto a link made since fails). False where ``here`` is on another file
        system (a folder mounted under the output): a file is copied there instead, through
        a temporary name; a folder is made there to merge into."""
        try:
            os.replace(name, name, src_dir_fd=source, dst_dir_fd=here)
            return True
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
        if is_folder:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o777, dir_fd=here)
            return False
        with os.fdopen(os.open(name, _READ_FLAGS, dir_fd=source), "rb") as handle:
            data = handle.read()
        self._put(here, name, data)
        return False

    def remove_folder(self, name: str) -> None:
        """Delete a staging folder directly in this one and everything in it, never following
        a link (what a failed or finished run leaves of its staged files)."""
        if relative_parts(name) != (name,) or not name.startswith(TEMPORARY_PREFIX):
            raise UnsafeOutputPath(self.root, name, "it is not a temporary folder's name")
        self._drop(0)
        if self._fd >= 0:
            _remove_folder(name, self._fd)

    def remove(self, path: str) -> Found:
        """Unlink the regular file at ``path`` and the folders it leaves empty; returns what
        was there (only a ``file`` is removed)."""
        try:
            return self._remove(path)
        except OSError as exc:
            raise BridgeError(f"cannot remove {self.root / path}: {exc.strerror or exc}") from exc

    def _remove(self, path: str) -> Found:
        parts = self._parts(path)
        with self._folder(parts[:-1], create=False) as folder:
            if isinstance(folder, Found):
                return folder
            found = _lstat_kind(parts[-1], folder)
            if found.kind != "file":
                return found
            os.unlink(parts[-1], dir_fd=folder)
        for depth in range(len(parts) - 1, 0, -1):
            with self._folder(parts[: depth - 1], create=False) as parent:
                if isinstance(parent, Found):
                    break
                try:
                    os.rmdir(parts[depth - 1], dir_fd=parent)
                except OSError:
                    break
        self._drop(0)  # never reuse a folder that may just have been removed
        return found

    def remove_temporaries(self, folder_path: str, *, spare: str | None = None) -> list[str]:
        """Delete leftover temporary files in one folder (empty string: the root), and the
        staging folders an interrupted run left with everything in them (but ``spare``)."""
        parts = self._parts(folder_path) if folder_path else ()
        removed: list[str] = []
        with self._folder(parts, create=False) as folder:
            if isinstance(folder, Found):
                return removed
            for name in os.listdir(folder):
                if name.startswith(TEMPORARY_PREFIX) and name != spare:
                    with contextlib.suppress(FileNotFoundError):
                        try:
                            os.unlink(name, dir_fd=folder)  # unlink never follows a link
                        except IsADirectoryError:
                            _remove_folder(name, folder)
                        removed.append(str(PurePosixPath(folder_path, name)))
        return removed

    def names(self, folder_path: str) -> frozenset[str] | Found:
        """The names in one folder (empty string: the root), or why it cannot be listed."""
        parts = self._parts(folder_path) if folder_path else ()
        with self._folder(parts, create=False) as folder:
            if isinstance(folder, Found):
                return folder
            return frozenset(os.listdir(folder))

    def _check_still_inside(self, folder: int, path: str) -> None:
        """The folder we are about to write in, by its resolved path, is still under the
        resolved root (it could have been moved since it was opened). Linux names an open
        folder in /proc; elsewhere the walk without links is the guarantee."""
        try:
            text = os.readlink(f"/proc/self/fd/{folder}")
        except OSError:
            return
        if text.startswith(self._inside[0]) or text == self._inside[1]:
            return  # the common case, without building paths
        where = Path(text)
        if where != self.root and not where.is_relative_to(self.root):
            raise UnsafeOutputPath(self.root, path, f"its folder is now {where}, outside")

    def _parts(self, path: str) -> tuple[str, ...]:
        parts = relative_parts(path)
        if parts is None:
            raise UnsafeOutputPath(self.root, path, "it is not a plain relative path")
        if self._fd < 0:
            raise BridgeError(f"output directory {self.root} does not exist")
        return parts


def _create(folder: int, name: str, data: bytes) -> os.stat_result:
    """A new file ``name`` in ``folder`` holding ``data``; its ``fstat`` once written."""
    try:
        fd = os.open(name, _CREATE_FLAGS, 0o666, dir_fd=folder)
    except FileExistsError:  # a path rendered twice (the run fails): the last one stays
        os.unlink(name, dir_fd=folder)
        fd = os.open(name, _CREATE_FLAGS, 0o666, dir_fd=folder)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        return os.fstat(fd)
    finally:
        os.close(fd)


def _empty(folder: int) -> None:
    """Delete everything in an open folder, depth first, never following a link."""
    with os.scandir(folder) as listing:
        entries = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in listing]
    for name, is_folder in entries:
        if is_folder:
            _remove_folder(name, folder)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=folder)


def _remove_folder(name: str, parent: int) -> None:
    try:
        fd = os.open(name, _DIRECTORY_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # replaced by a link or file since
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=parent)
        return
    try:
        _empty(fd)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.rmdir(name, dir_fd=parent)


def _is_link(name: str, folder: int) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=folder).st_mode)
    except OSError:
        return False


def _lstat_kind(name: str, folder: int) -> Found:
    try:
        mode = os.lstat(name, dir_fd=folder).st_mode
    except FileNotFoundError:
        return Found("missing")
    if stat.S_ISLNK(mode):
        try:
            target: str | None = os.readlink(name, dir_fd=folder)
        except OSError:
            target = None
        return Found("symlink", target)
    if stat.S_ISREG(mode):
        return Found("file")
    if stat.S_ISDIR(mode):
        return Found("directory")
    return Found("other")

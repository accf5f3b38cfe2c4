"""The build context belongs to the descriptor's repository: where it may be, and what it may
hold, checked before a byte is sent to the engine.

A descriptor names its context and Dockerfile by relative paths; resolved with every link
followed, both must stay inside the repository (the nearest folder above the descriptor that
holds ``.git``, else the descriptor's own folder). A link anywhere in the context that leads
outside is refused too: the engine would otherwise receive, or COPY, what it points at.
"""

from __future__ import annotations

import os
from pathlib import Path

from jenkins_bridge.containers.errors import ContextLinkOutside, OutsideRepository


def repository_root(folder: Path) -> Path:
    """The nearest folder at or above ``folder`` (the descriptor's) holding ``.git``; else
    ``folder`` itself. Links are resolved first."""
    folder = Path(os.path.realpath(folder))
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def confine(what: str, given: str, path: Path, root: Path) -> Path:
    """``path`` with every link resolved, or ``OutsideRepository`` if that leaves ``root``."""
    real = Path(os.path.realpath(path))
    if not _inside(real, root):
        raise OutsideRepository(what, given, str(real), str(root))
    return real


def check_context_links(context: Path, root: Path) -> None:
    """Refuse a context holding a link (to a file or a folder) whose target leaves ``root``.

    Links are not followed while walking; each one is resolved on its own.
    """
    for folder, dirnames, filenames in os.walk(context, followlinks=False):
        for name in (*dirnames, *filenames):
            path = Path(folder, name)
            if not path.is_symlink():
                continue
            target = Path(os.path.realpath(path))
            if not _inside(target, root):
                relative = path.relative_to(context).as_posix()
                raise ContextLinkOutside(str(context), relative, os.readlink(path), str(root))


def check_build_context(
    context: Path, dockerfile: Path, root: Path, given: tuple[str, str] | None = None
) -> None:
    """Both paths (links followed) inside ``root``, and no link in the context leading out.

    ``given`` is how the descriptor wrote them (image.context, image.dockerfile), for errors.
    """
    context_given, dockerfile_given = given or (str(context), str(dockerfile))
    confine("image.context", context_given, context, root)
    confine("image.dockerfile", dockerfile_given, dockerfile, root)
    check_context_links(context, root)

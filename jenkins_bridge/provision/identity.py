"""Which descriptor repository a run speaks for: the identity its ownership lines carry.

The identity is ``--source-id`` when given; otherwise the normalised URL of the git remote
(``origin``, else the first remote) of the repository holding the descriptors, so every clone
and CI checkout of one repository is the same owner; a repository without a remote, or
descriptors outside any repository, are named ``local:<absolute path>``. The scope is which
descriptor files the run read, as paths in that repository (see ``state.Owner``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from jenkins_bridge.errors import UsageError
from jenkins_bridge.git_command import git_answer
from jenkins_bridge.provision.state import Owner

_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")


def normalise_remote(url: str) -> str:
    """``https://user@GitHub.com/Org/Repo.git`` and ``git@github.com:Org/Repo`` are both
    ``github.com/Org/Repo``: no scheme, user, password, port or ``.git``; host lower-cased."""
    text = url.strip()
    if "://" in text:
        parts = urlsplit(text)
        host, path = (parts.hostname or "").lower(), parts.path
    else:
        match = _SCP_LIKE.match(text)
        host, path = (match.group("host").lower(), match.group("path")) if match else ("", text)
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return f"{host}/{path}" if host else path


def _repository_root(path: str) -> str | None:
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _remote_url(root: str) -> str | None:
    answer = git_answer(root, "config", "--get-regexp", r"^remote\..*\.url$")
    remotes: dict[str, str] = {}
    for line in (answer or "").splitlines():
        key, _, value = line.partition(" ")
        remotes[key[len("remote.") : -len(".url")]] = value
    if not remotes:
        return None
    return remotes.get("origin") or remotes[sorted(remotes)[0]]


def _scope_entry(real: str, root: str) -> str:
    rel = os.path.relpath(real, root).replace(os.sep, "/")
    if os.path.isdir(real):
        return "" if rel == "." else rel + "/"
    if os.path.basename(real) == "_defaults.yaml":
        folder = os.path.dirname(rel)
        return folder + "/" if folder else ""
    return rel


def run_owner(paths: Sequence[str], source_id: str | None = None) -> Owner:
    """The owner a run over ``paths`` is (see the module docstring)."""
    identities: set[str] = set()
    scope: list[str] = []
    outside: list[str] = []
    for raw in paths:
        real = os.path.realpath(raw)
        root = _repository_root(real)
        if root is None:
            # Outside a repository a descriptor's origin is its path under PATH: all covered.
            outside.append(real if os.path.isdir(real) else os.path.dirname(real))
            scope.append("")
            continue
        remote = _remote_url(root)
        identities.add(normalise_remote(remote) if remote else f"local:{root}")
        scope.append(_scope_entry(real, root))
    if outside:
        identities.add(f"local:{os.path.commonpath(outside)}")
    if source_id is not None:
        if not source_id.strip() or any(c.isspace() for c in source_id):
            raise UsageError(f"--source-id must be one word, not {source_id!r}")
        return Owner(source_id, tuple(sorted(set(scope))))
    if len(identities) != 1:
        raise UsageError(
            "the descriptors come from more than one repository: " + ", ".join(sorted(identities)),
            hint="run once per repository, or pass --source-id to name them as one owner",
        )
    return Owner(identities.pop(), tuple(sorted(set(scope))))

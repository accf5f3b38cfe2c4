"""Which Jenkins controller a run talks to, and with whose credentials.

A controller is ``--jenkins URL`` (credentials in ``$JENKINS_USER``/``$JENKINS_TOKEN``) or a
name in ``controllers.yaml`` whose entry names the variable that holds the token. Tokens come
from the environment only, never from the command line or the file.

An entry may also say where that controller finds the shared library (``library:`` with
``repo``, ``version``, ``credentials_id``, ``scope``), so plan and apply need no library
options; options and their environment variables override it, and what neither gives keeps the
defaults of ``render.job_config.SharedLibrary`` (the one place they live).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jenkins_bridge.descriptor.git_remote import repository_url_problem
from jenkins_bridge.descriptor.schema import CREDENTIALS_ID_PATTERN
from jenkins_bridge.errors import UsageError
from jenkins_bridge.render.job_config import SharedLibrary

if TYPE_CHECKING:
    from jenkins_bridge.jenkins.client import JenkinsClient

CONTROLLER_KEYS = frozenset({"url", "user", "token_env", "library"})
LIBRARY_KEYS = frozenset({"repo", "version", "credentials_id", "scope"})
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}")


@dataclass(frozen=True, slots=True)
class LibrarySettings:
    """Shared-library settings from one source (options, or a controllers.yaml entry); None
    is "not said here", so sources layer with ``over``."""

    scope: str | None = None
    repo: str | None = None
    credentials_id: str | None = None
    version: str | None = None

    def over(self, base: LibrarySettings) -> LibrarySettings:
        """These settings where given, ``base``'s elsewhere."""
        said = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(base, **{k: v for k, v in said.items() if v is not None})

    def shared_library(self) -> SharedLibrary:
        said = {f.name: getattr(self, f.name) for f in fields(self)}
        return SharedLibrary(**{k: v for k, v in said.items() if v is not None})


def check_library_settings(where: str, settings: Mapping[str, Any]) -> LibrarySettings:
    """A controllers.yaml ``library:`` mapping, checked as the options are checked."""
    unknown = set(settings) - LIBRARY_KEYS
    if unknown:
        raise UsageError(
            f"{where}: unknown library keys: {', '.join(sorted(unknown))}",
            hint="allowed: repo, version, credentials_id, scope",
        )
    values = {k: v for k, v in settings.items() if v is not None}
    for key, value in values.items():
        if not isinstance(value, str) or not value:
            raise UsageError(f"{where}: library.{key} must be a non-empty string")
    scope = values.get("scope")
    if scope is not None and scope not in ("folder", "global"):
        raise UsageError(f"{where}: library.scope must be 'folder' or 'global', not {scope!r}")
    repo = values.get("repo")
    if repo is not None and (problem := repository_url_problem(repo)) is not None:
        raise UsageError(f"{where}: library.repo {problem}")
    credentials_id = values.get("credentials_id")
    if credentials_id is not None and not re.match(CREDENTIALS_ID_PATTERN, credentials_id):
        raise UsageError(
            f"{where}: library.credentials_id {credentials_id!r} is not a Jenkins credentials ID",
            hint="use letters, digits, '.', '_' or '-' (the ID, never the secret)",
        )
    version = values.get("version")
    if version is not None and not _VERSION.fullmatch(version):
        raise UsageError(
            f"{where}: library.version {version!r} is not a tag or branch name",
            hint="letters, digits, '.', '_', '-' and '/', as git names a ref",
        )
    return LibrarySettings(**values)


@dataclass(frozen=True, slots=True)
class Controller:
    url: str
    user: str | None
    token: str | None = field(repr=False)
    name: str | None = None
    library: LibrarySettings = LibrarySettings()  # from its controllers.yaml entry


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How hard a run may use the controller."""

    workers: int  # parallel requests
    max_rps: float  # request-rate cap, 0 for none
    timeout: float  # seconds per request


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$JENKINS_BRIDGE_CONFIG``, else ``$XDG_CONFIG_HOME/jenkins-bridge/controllers.yaml``."""
    env = os.environ if environ is None else environ
    explicit = env.get("JENKINS_BRIDGE_CONFIG")
    if explicit:
        return Path(explicit)
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "jenkins-bridge" / "controllers.yaml"


def load_controllers(path: Path) -> dict[str, dict[str, Any]]:
    """``controllers: {name: {url, user, token_env, library}}`` (the ``controllers:`` key is
    optional); ``library`` comes back as ``LibrarySettings``."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise UsageError(
            f"no controllers file at {path}",
            hint="create it, or set $JENKINS_BRIDGE_CONFIG to its path",
        ) from None
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("controllers"), dict):
        data = data["controllers"]
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of controller name to settings")
    out: dict[str, dict[str, Any]] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise UsageError(f"{path}: controller {name!r} needs at least a 'url'")
        unknown = set(entry) - CONTROLLER_KEYS
        if unknown:
            raise UsageError(
                f"{path}: controller {name!r} has unknown keys: {', '.join(sorted(unknown))}",
                hint="allowed: url, user, token_env (the NAME of the variable holding the "
                "token), library",
            )
        library = entry.get("library") or {}
        if not isinstance(library, dict):
            raise UsageError(f"{path}: controller {name!r}: library must be a mapping")
        settings: dict[str, Any] = {str(k): str(v) for k, v in entry.items() if k != "library"}
        settings["library"] = check_library_settings(f"{path}: controller {name!r}", library)
        out[str(name)] = settings
    return out


def controller_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """The names in controllers.yaml, for shell completion; none when it cannot be read."""
    try:
        return sorted(load_controllers(config_path(environ)))
    except UsageError:
        return []


def resolve_controller(
    jenkins: str | None, controller: str | None, environ: Mapping[str, str] | None = None
) -> Controller:
    """The controller ``--jenkins`` or ``--controller`` names, with its credentials."""
    env = os.environ if environ is None else environ
    if controller is not None:
        if jenkins is not None:
            raise UsageError("use either --jenkins or --controller, not both")
        path = config_path(env)
        entries = load_controllers(path)
        entry = entries.get(controller)
        if entry is None:
            known = ", ".join(sorted(entries)) or "none"
            raise UsageError(f"no controller {controller!r} in {path} (known: {known})")
        token_env = entry.get("token_env", "JENKINS_TOKEN")
        token = env.get(token_env)
        if not token:
            raise UsageError(
                f"controller {controller!r}: ${token_env} is not set",
                hint=f"export {token_env}=<API token of {entry.get('user', 'the user')}>",
            )
        return Controller(
            entry["url"],
            entry.get("user") or env.get("JENKINS_USER"),
            token,
            controller,
            entry["library"],
        )
    url = jenkins or env.get("JENKINS_URL")
    if not url:
        raise UsageError(
            "no Jenkins controller given",
            hint="pass --jenkins URL, set $JENKINS_URL, or use --controller NAME",
        )
    user, token = env.get("JENKINS_USER") or None, env.get("JENKINS_TOKEN") or None
    if bool(user) != bool(token):
        missing = "JENKINS_TOKEN" if user else "JENKINS_USER"
        raise UsageError(f"${missing} is not set", hint="set both $JENKINS_USER and $JENKINS_TOKEN")
    return Controller(url, user, token)


def connect(controller: Controller, limits: ConnectionLimits) -> JenkinsClient:
    """A client for ``controller``; no request is made yet."""
    from jenkins_bridge.jenkins.client import Credentials, JenkinsClient

    return JenkinsClient(
        controller.url,
        Credentials(controller.user, controller.token),
        max_rps=limits.max_rps,
        pool_size=max(limits.workers, 4),
        timeout=limits.timeout,
    )

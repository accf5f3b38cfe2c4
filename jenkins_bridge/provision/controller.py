"""Which Jenkins controller a run talks to, and with whose credentials.

A controller is ``--jenkins URL`` (credentials in ``$JENKINS_USER``/``$JENKINS_TOKEN``) or a
name in ``controllers.yaml`` whose entry names the variable that holds the token. Tokens come
from the environment only, never from the command line or the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from jenkins_bridge.errors import UsageError

if TYPE_CHECKING:
    from jenkins_bridge.jenkins.client import JenkinsClient

CONTROLLER_KEYS = frozenset({"url", "user", "token_env"})


@dataclass(frozen=True, slots=True)
class Controller:
    url: str
    user: str | None
    token: str | None = field(repr=False)
    name: str | None = None


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


def load_controllers(path: Path) -> dict[str, dict[str, str]]:
    """``controllers: {name: {url, user, token_env}}`` (the ``controllers:`` key is optional)."""
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
    out: dict[str, dict[str, str]] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise UsageError(f"{path}: controller {name!r} needs at least a 'url'")
        unknown = set(entry) - CONTROLLER_KEYS
        if unknown:
            raise UsageError(
                f"{path}: controller {name!r} has unknown keys: {', '.join(sorted(unknown))}",
                hint="allowed: url, user, token_env (the NAME of the variable holding the token)",
            )
        out[str(name)] = {str(k): str(v) for k, v in entry.items()}
    return out


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
            entry["url"], entry.get("user") or env.get("JENKINS_USER"), token, controller
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

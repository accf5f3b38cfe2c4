"""One shape for every deploy target: the ``Platform`` protocol and the one place that picks
the implementation for an environment's ``target``.

The CLI resolves a platform with ``platform_for`` and calls its methods; it never asks which
target it has. Each implementation (``rollout.DockerHost``, ``swarm.SwarmPlatform``,
``kubernetes.KubernetesPlatform``) keeps the same contract: ``deploy``/``rollback`` return a
``DeployResult`` (``live`` or ``rolled-back``) or raise, ``history`` returns the records oldest
first, ``status`` a ``StatusView``. A command a platform does not have raises ``Unsupported``
(one line naming the target and what to use instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from jenkins_bridge.deploy.errors import DeployError, NothingToRollBack

if TYPE_CHECKING:
    from jenkins_bridge.deploy.records import DeployRecord
    from jenkins_bridge.deploy.rollout import DeployResult
    from jenkins_bridge.deploy.target import DeployTarget
    from jenkins_bridge.descriptor.model import Service

Log = Callable[[str], None]


class Unsupported(DeployError):
    code = "unsupported-command"


class StatusView(Protocol):
    """What ``status`` shows for an environment, whatever runs it."""

    @property
    def serving(self) -> bool: ...

    def as_json(self) -> dict[str, Any]: ...

    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class CommandOptions:
    """Command-line overrides; a platform uses the ones that mean something to it."""

    subnet: str | None = None
    proxy_image: str | None = None
    timeout: float | None = None


# How long a deploy waits for another deploy of the same environment (``--lock-wait``).
LOCK_WAIT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class DeployOptions:
    """How one deploy runs: its action word, the strategy override and the lock's terms.
    ``strategy`` means something to the Docker host only (Swarm and Kubernetes roll)."""

    action: str = "deploy"
    strategy: str | None = None
    lock_wait: float = LOCK_WAIT_SECONDS
    break_lock: bool = False


PLAIN_DEPLOY = DeployOptions()


class Platform(Protocol):
    """The commands on one service environment. Implementations inherit from it: ``rollback``
    is said once here (the previous version, or ``to``, deployed as action ``rollback``), and
    a platform without ``logs``/``exec`` keeps the refusals below."""

    target: DeployTarget

    def deploy(
        self, image: str, environ: Mapping[str, str], log: Log, options: DeployOptions
    ) -> DeployResult: ...

    def previous_image(self, environ: Mapping[str, str], log: Log) -> str:
        """The version ``rollback`` returns to when no ``to`` is given."""
        ...

    def status(self, log: Log) -> StatusView: ...

    def history(self, log: Log) -> list[DeployRecord]: ...

    def rollback(
        self, environ: Mapping[str, str], log: Log, to: str | None, options: DeployOptions
    ) -> DeployResult:
        image = to if to is not None else self.previous_image(environ, log)
        return self.deploy(image, environ, log, replace(options, action="rollback"))

    def logs(self, log: Log, *, since: int | None, follow: bool) -> Iterator[str]:
        raise unsupported(self.target, "logs", "read the logs with the platform's own tool")

    def exec(self, argv: tuple[str, ...], environ: Mapping[str, str], log: Log) -> tuple[int, str]:
        raise unsupported(self.target, "exec", "run it with the platform's own tool")


def status_json(status: Any, image: str | None, name: str) -> dict[str, Any]:
    """A status dataclass as JSON; its live version shown as the Docker host shows its live
    container (``{"image", "name"}``) so one reader reads every target."""
    data: dict[str, Any] = asdict(status)
    data["live"] = None if image is None else {"image": image, "name": name}
    return data


def unsupported(target: DeployTarget, command: str, instead: str) -> Unsupported:
    """The refusal of a command a platform does not have: it names the target and the tool."""
    return Unsupported(
        f"{target.service.path}: deploy environment '{target.environment}' has target "
        f"'{target.stage.target}', which has no '{command}' command here",
        hint=instead,
    )


def no_proxy(target: DeployTarget) -> Unsupported:
    """``--proxy-image`` is the Docker host's traffic-switching nginx, on every target."""
    return Unsupported(
        f"{target.service.path}: deploy environment '{target.environment}' has target "
        f"'{target.stage.target}', which runs no proxy: --proxy-image does not apply",
        hint="Swarm's lock and state containers run deploy[].helperImage",
    )


def nothing_to_roll_back(target: DeployTarget, why: str) -> NothingToRollBack:
    """The refusal of a rollback with nowhere to go: ``why``, and how to name a version."""
    return NothingToRollBack(
        f"{target.owner} {target.environment}: {why}",
        hint="pass --to IMAGE to deploy a given version",
    )


def platform_for(service: Service, environment: str, options: CommandOptions) -> Platform:
    """The platform of ``environment``'s target: the one place that chooses by target."""
    from jenkins_bridge.deploy.target import find_stage

    kind = find_stage(service, environment).target
    if kind == "kubernetes":
        from jenkins_bridge.deploy.kubernetes import KubernetesPlatform

        return KubernetesPlatform.resolve(service, environment, options)
    if kind == "swarm":
        from jenkins_bridge.deploy.swarm import SwarmPlatform

        return SwarmPlatform.resolve(service, environment, options)
    from jenkins_bridge.deploy.rollout import DockerHost

    return DockerHost.resolve(service, environment, options)

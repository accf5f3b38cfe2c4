"""One shape for every deploy target: the ``Platform`` protocol and the one place that picks
the implementation for an environment's ``target``.

The CLI resolves a platform with ``platform_for`` and calls its methods; it never asks which
target it has. Each implementation (``host_platform.DockerHostPlatform`` over
``rollout.DockerHost``, ``swarm_platform.SwarmServicePlatform`` over ``swarm.SwarmPlatform``,
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
    from jenkins_bridge.deploy.dry_run import DeployPlan
    from jenkins_bridge.deploy.lock_admin import LockView
    from jenkins_bridge.deploy.records import DeployRecord
    from jenkins_bridge.deploy.removal import Removal, RemoveOptions
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
        if to is None:
            image = self.previous_image(environ, log)
        elif (number := history_number(to)) is not None:
            image = record_image(self.target, self.history(log), number, log)
        else:
            image = to
        return self.deploy(image, environ, log, replace(options, action="rollback"))

    def logs(
        self, log: Log, *, since: int | None, follow: bool, companion: str | None = None
    ) -> Iterator[str]:
        raise unsupported(self.target, "logs", "read the logs with the platform's own tool")

    def exec(
        self,
        argv: tuple[str, ...],
        environ: Mapping[str, str],
        log: Log,
        *,
        companion: str | None = None,
        stdin: bytes | None = None,
    ) -> tuple[int, str]:
        raise unsupported(self.target, "exec", "run it with the platform's own tool")

    def restart(self, companion: str, log: Log, options: DeployOptions) -> str:
        """Restart companion ``companion`` (same spec, same volume) under the lock."""
        raise unsupported(self.target, "restart", "restart it with the platform's own tool")

    def remove(self, log: Log, options: RemoveOptions) -> Removal:
        raise unsupported(self.target, "remove", "remove it with the platform's own tool")

    def lock(self, log: Log, *, release: bool) -> LockView:
        """Who holds the environment's lock; with ``release``, remove it (naming the holder)."""
        raise unsupported(self.target, "lock", "read it with the platform's own tool")

    def plan(
        self, image: str, environ: Mapping[str, str], log: Log, options: DeployOptions
    ) -> DeployPlan:
        """What ``deploy`` of ``image`` would change (a dry run: nothing is changed)."""
        raise unsupported(self.target, "deploy --dry-run", "compare with the platform's own tool")

    def image_labels(self, references: list[str], log: Log) -> dict[str, dict[str, str]]:
        """The labels of the images ``references`` (those the target has), for history lines;
        a target that keeps no images knows none."""
        return {}


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
        hint="pass --to N (a number from history) or --to IMAGE to deploy a given version",
    )


def history_number(text: str) -> int | None:
    """``12`` or ``#12`` -> 12 (a history record's number); None for anything else (an image
    reference; one really named by digits only is written out: ``docker.io/library/12``)."""
    digits = text.removeprefix("#")
    return int(digits) if digits.isascii() and digits.isdigit() else None


def record_image(target: DeployTarget, records: list[DeployRecord], number: int, log: Log) -> str:
    """The digest of history record ``number``, which must have been live (returning to a
    version that never passed its health gate is a deploy of that image, said as such)."""
    record = next((r for r in records if r.seq == number), None)
    if record is None:
        known = f"#{records[0].seq} to #{records[-1].seq}" if records else "none"
        raise nothing_to_roll_back(target, f"history has no record #{number} (records: {known})")
    if record.result != "live":
        raise NothingToRollBack(
            f"{target.owner} {target.environment}: #{number} ({record.digest}) was "
            f"{record.result}, never live",
            hint=f"to deploy it anyway: deploy --image {record.digest}",
        )
    log(f"rolling back to #{number}: {record.digest}")
    return record.digest


def platform_for(service: Service, environment: str, options: CommandOptions) -> Platform:
    """The platform of ``environment``'s target: the one place that chooses by target."""
    from jenkins_bridge.deploy.target import find_stage

    kind = find_stage(service, environment).target
    if kind == "kubernetes":
        from jenkins_bridge.deploy.kubernetes import KubernetesPlatform

        return KubernetesPlatform.resolve(service, environment, options)
    if kind == "swarm":
        from jenkins_bridge.deploy.swarm_platform import SwarmServicePlatform

        return SwarmServicePlatform.resolve(service, environment, options)
    from jenkins_bridge.deploy.host_platform import DockerHostPlatform

    return DockerHostPlatform.resolve(service, environment, options)

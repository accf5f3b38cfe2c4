"""One shape for every deploy target: the ``Platform`` protocol, what its deploys return
(``DeployResult``) and the refusals and history look-ups every target says the same way.

Each implementation (``docker_host.platform.DockerHostPlatform``, ``swarm.platform.
SwarmPlatform``, ``kubernetes.KubernetesPlatform``) keeps the same contract: ``deploy``/
``rollback`` return a ``DeployResult`` (``live`` or ``rolled-back``) or raise, ``history``
returns the records oldest first, ``status`` a ``StatusView``. A command a platform does not
have raises ``Unsupported`` (one line naming the target and what to use instead). Which
implementation an environment gets is ``targets.platform_for``'s choice, made in one place
above all of them (this module imports none).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from jenkins_bridge.deploy.canary.run import CanaryRun
from jenkins_bridge.deploy.dry_run import DeployPlan
from jenkins_bridge.deploy.errors import DeployError, NotDeployed, NothingToRollBack
from jenkins_bridge.deploy.lock_admin import LockView
from jenkins_bridge.deploy.options import DeployOptions, Log, RemoveOptions
from jenkins_bridge.deploy.records import DeployRecord, last_live, rollback_candidate
from jenkins_bridge.deploy.removal import Removal
from jenkins_bridge.deploy.target import DeployTarget
from jenkins_bridge.descriptor.model import Companion


@dataclass
class DeployResult:
    """What a deploy or rollback did: ``live`` or ``rolled-back``, and its history record."""

    result: str  # live | rolled-back
    record: DeployRecord
    failed_logs: str = ""
    steps: list[str] = field(default_factory=list)
    canary: CanaryRun | None = None  # strategy canary: each step and its verdict

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "result": self.result,
            "record": self.record.as_json(),
            "steps": self.steps,
        }
        if self.canary is not None:
            data["canary"] = self.canary.as_json()
        return data


class Unsupported(DeployError):
    code = "unsupported-command"


class StatusView(Protocol):
    """What ``status`` shows for an environment, whatever runs it."""

    @property
    def serving(self) -> bool: ...

    def as_json(self) -> dict[str, Any]: ...

    def text(self) -> str: ...


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


def rollback_image(
    target: DeployTarget, history: list[DeployRecord], current: str | None, log: Log
) -> str:
    """The image a rollback returns to: the newest live version before ``current`` (what runs
    now, or else the newest live record)."""
    if current is None:
        newest = last_live(history)
        current = newest.digest if newest else None
    candidate = rollback_candidate(history, current)
    if candidate is None:
        raise nothing_to_roll_back(target, "history has no earlier live version")
    log(f"rolling back to {candidate.digest} (deploy #{candidate.seq})")
    return candidate.digest


def find_companion(target: DeployTarget, name: str) -> Companion:
    """The descriptor's companion ``name``; an error listing the ones there are."""
    companions = target.service.runtime.companions
    for companion in companions:
        if companion.name == name:
            return companion
    known = ", ".join(c.name for c in companions) or "none"
    raise DeployError(
        f"{target.service.path}: service {target.owner} has no companion '{name}' "
        f"(companions: {known})",
        hint="name one of runtime.companions[].name",
    )


def not_running(target: DeployTarget, what: str, hint: str) -> NotDeployed:
    return NotDeployed(f"{target.owner} {target.environment}: {what}", hint=hint)

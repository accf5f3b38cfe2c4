"""``jenkins-bridge deploy|rollback|status|history|logs|exec|restart|remove|lock``: a service
environment on its target (Docker host, Swarm, Kubernetes).

Thin: parse, resolve the environment's ``Platform`` (``deploy.targets``), call one of its
methods, print; it never branches on the target. Progress
goes to stderr; stdout carries only the result (or the JSON envelope).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jenkins_bridge.cli.completion import environments
from jenkins_bridge.cli.output import Outcome, PhaseLog, progress
from jenkins_bridge.deploy.options import LOCK_WAIT_SECONDS
from jenkins_bridge.errors import EXIT_ERROR, EXIT_OK, EXIT_ROLLED_BACK

if TYPE_CHECKING:  # the deploy package (and docker) load only when a command runs
    from jenkins_bridge.deploy.options import DeployOptions
    from jenkins_bridge.deploy.platform import DeployResult, Platform


class Seconds(click.ParamType[float]):
    """A finite number of seconds of at least ``minimum``: ``nan`` and ``inf`` would make a
    wait that never ends (every comparison with nan is false)."""

    name = "seconds"

    def __init__(self, minimum: float) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(value)
            except ValueError:
                self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(number) or number < self.minimum:
            self.fail(f"{value!r} is not a finite number >= {self.minimum:g}", param, ctx)
        return number


class Given(click.ParamType[str]):
    """A text that must not be empty (``--image ""`` names nothing)."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not str(value).strip():
            self.fail("must not be empty", param, ctx)
        return str(value)


_descriptor = click.argument("descriptor", type=click.Path(dir_okay=False, path_type=Path))
_env = click.option(
    "--env",
    "environment",
    required=True,
    help="Deploy environment name (deploy[].environment).",
    shell_complete=environments,
)
_proxy_image = click.option(
    "--proxy-image", help="nginx image of the proxy (default deploy[].proxyImage)."
)


def _platform(descriptor: Path, environment: str, **overrides: Any) -> Platform:
    """The platform of ENV; ``overrides`` are ``CommandOptions`` fields given on the line."""
    from jenkins_bridge.deploy.options import CommandOptions
    from jenkins_bridge.deploy.targets import platform_for
    from jenkins_bridge.descriptor import load_service

    return platform_for(load_service(descriptor), environment, CommandOptions(**overrides))


def _changing(
    descriptor: Path, environment: str, given: dict[str, Any], strategy: str | None = None
) -> tuple[Platform, DeployOptions]:
    """The platform and the deploy terms of a command that changes ENV (deploy, rollback)."""
    from jenkins_bridge.deploy.options import DeployOptions

    lock = {key: given.pop(key) for key in ("lock_wait", "break_lock")}
    return _platform(descriptor, environment, **given), DeployOptions(strategy=strategy, **lock)


def _change_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The options of every command that changes ENV: overrides and the lock's terms."""
    for option in (
        click.option(
            "--break-lock",
            is_flag=True,
            help="Take over a lock whose holder is gone (the holder is named in the error).",
        ),
        click.option(
            "--lock-wait",
            help="Seconds to wait for another deploy of this environment to finish (at least 0).",
            default=LOCK_WAIT_SECONDS,
            show_default=True,
            type=Seconds(0),
        ),
        click.option(
            "--subnet",
            type=Given(),
            help="Subnet of the service network (default deploy[].subnet).",
        ),
        _proxy_image,
        click.option(
            "--timeout", type=Seconds(1), help="Health gate timeout, seconds (at least 1)."
        ),
    ):
        function = option(function)
    return function


def _result(outcome: DeployResult) -> Outcome:
    record = outcome.record
    if outcome.result == "live":
        text = f"live: {record.container} runs {record.digest}"
        if record.downtime_seconds is not None:
            text += f" (measured downtime {record.downtime_seconds:.3f} s)"
        return Outcome(status="live", data=outcome.as_json(), text=text, exit_code=EXIT_OK)
    if outcome.failed_logs:
        progress(f"--- logs of the failed version {record.container} ---")
        sys.stderr.write(
            outcome.failed_logs
            if outcome.failed_logs.endswith("\n")
            else outcome.failed_logs + "\n"
        )
        progress("--- end of logs ---")
    failed = "its canary analysis" if outcome.canary is not None else "its health gate"
    text = f"rolled back: {record.digest} failed {failed} ({record.detail})"
    return Outcome(
        status="rolled-back", data=outcome.as_json(), text=text, exit_code=EXIT_ROLLED_BACK
    )


def _warned(outcome: Outcome, warnings: list[str]) -> Outcome:
    """``warnings`` said on stderr and kept in the JSON envelope (``data.warnings``)."""
    for warning in warnings:
        progress(f"warning: {warning}")
    outcome.data["warnings"] = warnings
    return outcome


@click.command("deploy")
@_descriptor
@_env
@click.option("--image", required=True, type=Given(), help="Image reference; resolved to a digest.")
@_change_options
@click.option(
    "--strategy",
    type=click.Choice(["blue-green", "recreate", "canary"]),
    help="Override deploy[].strategy (docker target).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print what the deploy would change (network, proxy, companions, versions) and "
    "change nothing.",
)
def deploy(
    descriptor: Path,
    environment: str,
    image: str,
    strategy: str | None,
    dry_run: bool,
    **given: Any,
) -> Outcome:
    """Deploy IMAGE to ENV: exit 0 live, 3 failed its health gate or its canary analysis
    (previous still serves)."""
    from jenkins_bridge.deploy.image_origin import foreign_image_warning

    platform, options = _changing(descriptor, environment, given, strategy)
    foreign = foreign_image_warning(platform.target.service, image)
    warnings = [foreign] if foreign else []
    if dry_run:
        plan = platform.plan(image, os.environ, progress, options)
        return _warned(Outcome(status="dry-run", data=plan.as_json(), text=plan.text()), warnings)
    # Said with the result (an error before it stays one line; the image is named there).
    return _warned(_result(platform.deploy(image, os.environ, PhaseLog(), options)), warnings)


@click.command("rollback")
@_descriptor
@_env
@click.option(
    "--to",
    "to",
    type=Given(),
    help="A history number (12 or #12, from `history`) or an image to return to "
    "(default: the previous live version).",
)
@_change_options
def rollback(descriptor: Path, environment: str, to: str | None, **given: Any) -> Outcome:
    """Return ENV to the previous live version (from history) or to --to, health-gated."""
    platform, options = _changing(descriptor, environment, given)
    return _result(platform.rollback(os.environ, PhaseLog(), to, options))


@click.command("status")
@_descriptor
@_env
@_proxy_image
def status(descriptor: Path, environment: str, proxy_image: str | None) -> Outcome:
    """What runs for ENV and whether it serves: exit 0 when it does, 1 when nothing serves."""
    found = _platform(descriptor, environment, proxy_image=proxy_image).status(progress)
    return Outcome(
        status="live" if found.serving else "not-live",
        data=found.as_json(),
        text=found.text(),
        exit_code=EXIT_OK if found.serving else EXIT_ERROR,
    )


@click.command("history")
@_descriptor
@_env
@_proxy_image
def history(descriptor: Path, environment: str, **given: Any) -> Outcome:
    """Every deploy and rollback of ENV, oldest first, as kept on its target: one aligned line
    each (short digests; build and commit from the image's OCI labels when not recorded)."""
    from jenkins_bridge.deploy.history_table import history_lines, image_facts

    platform = _platform(descriptor, environment, **given)
    records = platform.history(progress)
    labels = platform.image_labels([r.digest for r in records], progress) if records else {}
    return Outcome(
        status="ok",
        data={
            "records": [r.as_json() for r in records],
            "images": {ref: image_facts(found) for ref, found in sorted(labels.items())},
        },
        text="\n".join(history_lines(records, labels)) or "no deploys recorded",
    )


_companion = click.option(
    "--companion", metavar="NAME", help="A companion (runtime.companions[].name), not the app."
)


@click.command("logs")
@_descriptor
@_env
@_companion
@click.option("--follow", is_flag=True, help="Keep printing new lines.")
@click.option("--since", type=click.IntRange(min=0), help="Only lines newer than this Unix time.")
def logs(
    descriptor: Path, environment: str, companion: str | None, follow: bool, since: int | None
) -> Outcome:
    """The live version's logs (or a companion's). On Swarm with no task running: the newest
    task's logs, said so."""
    chunks = _platform(descriptor, environment).logs(
        progress, since=since, follow=follow, companion=companion
    )
    if not follow:
        text = "".join(chunks)
        return Outcome(status="ok", data={"logs": text}, text=text.rstrip("\n"))
    for chunk in chunks:  # streamed as it comes, in text and json mode alike
        sys.stdout.write(chunk)
        sys.stdout.flush()
    return Outcome(status="ok")


@click.command("exec", context_settings={"ignore_unknown_options": True})
@_descriptor
@_env
@_companion
@click.option(
    "-i", "--interactive", is_flag=True, help="Send this command's stdin to the command's stdin."
)
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(
    descriptor: Path,
    environment: str,
    companion: str | None,
    interactive: bool,
    argv: tuple[str, ...],
) -> Outcome:
    """Run a command (after --) in the live version: a one-off container of it on a Docker
    host, a running task's container on Swarm; with --companion, inside that companion's
    running container. Exits with the command's exit code."""
    stdin = sys.stdin.buffer.read() if interactive else None
    code, output = _platform(descriptor, environment).exec(
        argv, os.environ, progress, companion=companion, stdin=stdin
    )
    return Outcome(
        status="ok" if code == 0 else "failed",
        data={"exit_code": code, "output": output},
        text=output.rstrip("\n"),
        exit_code=code if 0 <= code <= 255 else EXIT_ERROR,
    )


def _lock_terms(wait: float) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The lock options of a command that changes ENV without deploying; ``wait`` by default."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        for option in (
            click.option(
                "--break-lock", is_flag=True, help="Take over the lock whatever holds it."
            ),
            click.option(
                "--lock-wait",
                help="Seconds to wait for a deploy of this environment to finish.",
                default=wait,
                show_default=True,
                type=click.FloatRange(min=0),
            ),
            _proxy_image,
        ):
            function = option(function)
        return function

    return decorate


@click.command("restart")
@_descriptor
@_env
@click.option(
    "--companion", metavar="NAME", required=True, help="The companion to restart (by name)."
)
@_lock_terms(LOCK_WAIT_SECONDS)
def restart(
    descriptor: Path,
    environment: str,
    companion: str,
    lock_wait: float,
    break_lock: bool,
    proxy_image: str | None,
) -> Outcome:
    """Restart a companion (same spec, same volume) and wait until it is healthy, holding the
    environment's lock. The app restarts by deploying (or rolling back)."""
    from jenkins_bridge.deploy.options import DeployOptions

    platform = _platform(descriptor, environment, proxy_image=proxy_image)
    options = DeployOptions(action="restart", lock_wait=lock_wait, break_lock=break_lock)
    text = platform.restart(companion, progress, options)
    return Outcome(status="ok", data={"companion": companion, "result": text}, text=text)


@click.command("remove")
@_descriptor
@_env
@click.option("--volumes", is_flag=True, help="Also remove the named volumes (companion data).")
@click.option("--history", "remove_history", is_flag=True, help="Also remove the deploy history.")
@_lock_terms(0.0)
def remove(
    descriptor: Path,
    environment: str,
    volumes: bool,
    remove_history: bool,
    lock_wait: float,
    break_lock: bool,
    proxy_image: str | None,
) -> Outcome:
    """Remove ENV from its target: containers (app, companions, proxy), Swarm services and
    secrets, the network. Volumes and history are kept unless --volumes / --history. Refuses
    while a deploy holds the lock (naming it)."""
    from jenkins_bridge.deploy.options import RemoveOptions

    options = RemoveOptions(volumes, remove_history, lock_wait, break_lock)
    removal = _platform(descriptor, environment, proxy_image=proxy_image).remove(progress, options)
    return Outcome(status="removed", data=removal.as_json(), text=removal.text())


@click.group("lock")
def lock() -> None:
    """See or release ENV's deploy lock."""


@lock.command("show")
@_descriptor
@_env
def lock_show(descriptor: Path, environment: str) -> Outcome:
    """Who holds ENV's deploy lock (build URL or user@host, host, pid, since, action)."""
    view = _platform(descriptor, environment).lock(progress, release=False)
    return Outcome(status="locked" if view.held else "free", data=view.as_json(), text=view.text())


@lock.command("release")
@_descriptor
@_env
def lock_release(descriptor: Path, environment: str) -> Outcome:
    """Remove ENV's deploy lock whoever holds it, naming the holder (for a holder that died
    where the next deploy cannot tell: another agent)."""
    view = _platform(descriptor, environment).lock(progress, release=True)
    return Outcome(
        status="released" if view.released else "free", data=view.as_json(), text=view.text()
    )

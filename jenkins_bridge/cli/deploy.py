"""``jenkins-bridge deploy|rollback|status|history|logs|exec``: a service on a Docker engine.

Thin: parse, resolve the environment, call one function of ``deploy.rollout``, print. Progress
goes to stderr; stdout carries only the result (or the JSON envelope).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jenkins_bridge.cli.output import Outcome, progress
from jenkins_bridge.errors import EXIT_ERROR, EXIT_OK, EXIT_ROLLED_BACK

if TYPE_CHECKING:  # the deploy package (and docker) load only when a command runs
    from jenkins_bridge.deploy.rollout import DeployResult
    from jenkins_bridge.deploy.target import DeployTarget

_descriptor = click.argument("descriptor", type=click.Path(dir_okay=False, path_type=Path))
_env = click.option("--env", "environment", required=True, help="Deploy environment name.")


def _target(
    descriptor: Path,
    environment: str,
    *,
    subnet: str | None = None,
    proxy_image: str | None = None,
    timeout: float | None = None,
) -> DeployTarget:
    from jenkins_bridge.deploy.target import find_stage, resolve_target
    from jenkins_bridge.descriptor import load_service

    service = load_service(descriptor)
    if find_stage(service, environment).target == "kubernetes":
        from jenkins_bridge.deploy.kubernetes import resolve_kubernetes_target

        return resolve_kubernetes_target(service, environment, timeout=timeout)
    if find_stage(service, environment).target == "swarm":
        from jenkins_bridge.deploy.swarm import resolve_swarm_target

        return resolve_swarm_target(service, environment, timeout=timeout)
    return resolve_target(
        service,
        environment,
        subnet=subnet,
        proxy_image=proxy_image,
        timeout=timeout,
    )


def _lock_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "--lock-wait",
        type=click.FloatRange(min=0),
        default=60.0,
        show_default=True,
        help="Seconds to wait for another deploy of this environment to finish.",
    )(function)
    return click.option(
        "--break-lock",
        is_flag=True,
        help="Take over a lock whose holder is gone (the holder is named in the error).",
    )(function)


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
    text = f"rolled back: {record.digest} failed its health gate ({record.detail})"
    return Outcome(
        status="rolled-back", data=outcome.as_json(), text=text, exit_code=EXIT_ROLLED_BACK
    )


@click.command("deploy")
@_descriptor
@_env
@click.option("--image", required=True, help="Image reference; resolved to a digest.")
@click.option("--timeout", type=click.FloatRange(min=1), help="Health gate timeout, seconds.")
@click.option("--subnet", help="Subnet of the service network (default deploy[].subnet).")
@click.option("--proxy-image", help="nginx image of the proxy (default deploy[].proxyImage).")
@click.option(
    "--strategy",
    type=click.Choice(["blue-green", "recreate"]),
    help="Override deploy[].strategy.",
)
@_lock_options
def deploy(
    descriptor: Path,
    environment: str,
    image: str,
    timeout: float | None,
    subnet: str | None,
    proxy_image: str | None,
    strategy: str | None,
    lock_wait: float,
    break_lock: bool,
) -> Outcome:
    """Deploy IMAGE to ENV: exit 0 live, 3 failed its health gate (previous still serves)."""
    from jenkins_bridge.deploy.rollout import deploy as run_deploy

    target = _target(
        descriptor, environment, subnet=subnet, proxy_image=proxy_image, timeout=timeout
    )
    if target.stage.target == "kubernetes":
        from jenkins_bridge.deploy import kubernetes

        return _result(kubernetes.deploy(target, image, os.environ, progress))
    if target.stage.target == "swarm":
        from jenkins_bridge.deploy import swarm

        return _result(
            swarm.deploy(
                target, image, os.environ, progress, lock_wait=lock_wait, break_lock=break_lock
            )
        )
    if strategy is None and target.stage.strategy not in ("blue-green", "recreate"):
        strategy = "blue-green"  # the docker target's meaning of "rolling" with one replica
    done = run_deploy(
        target,
        image,
        os.environ,
        progress,
        strategy=strategy,
        lock_wait=lock_wait,
        break_lock=break_lock,
    )
    return _result(done)


@click.command("rollback")
@_descriptor
@_env
@click.option("--to", "to", help="Image to return to (default: the previous live version).")
@click.option("--timeout", type=click.FloatRange(min=1), help="Health gate timeout, seconds.")
@click.option("--proxy-image", help="nginx image of the proxy (default deploy[].proxyImage).")
@click.option("--subnet", help="Subnet of the service network (default deploy[].subnet).")
@_lock_options
def rollback(
    descriptor: Path,
    environment: str,
    to: str | None,
    timeout: float | None,
    proxy_image: str | None,
    subnet: str | None,
    lock_wait: float,
    break_lock: bool,
) -> Outcome:
    """Return ENV to the previous live version (from history) or to --to, health-gated."""
    from jenkins_bridge.deploy.rollout import rollback as run_rollback

    target = _target(
        descriptor, environment, subnet=subnet, proxy_image=proxy_image, timeout=timeout
    )
    if target.stage.target == "swarm":
        from jenkins_bridge.deploy import swarm

        run_rollback = swarm.rollback
    done = run_rollback(
        target, os.environ, progress, to=to, lock_wait=lock_wait, break_lock=break_lock
    )
    return _result(done)


@click.command("status")
@_descriptor
@_env
@click.option("--proxy-image", help="nginx image of the proxy (default deploy[].proxyImage).")
def status(descriptor: Path, environment: str, proxy_image: str | None) -> Outcome:
    """What runs for ENV: the proxy, the live version, other versions, companions, the lock."""
    from jenkins_bridge.deploy.rollout import status as read_status

    target = _target(descriptor, environment, proxy_image=proxy_image)
    if target.stage.target == "swarm":
        from jenkins_bridge.deploy import swarm

        found = swarm.status(target, progress)
        return Outcome(
            status="live" if found.live else "not-live", data=found.as_json(), text=found.text()
        )
    report = read_status(target, progress)
    lines = [f"{report.service} {report.environment} on {report.engine}, listen {report.listen}"]
    live = report.live
    lines.append(
        f"live: {live.name} {live.image} ({live.status}, health {live.health})"
        if live
        else "live: nothing"
    )
    for app in report.apps:
        if live is None or app.name != live.name:
            lines.append(f"app: {app.name} {app.image} ({app.status})")
    for companion in report.companions:
        lines.append(
            f"companion: {companion.name} ({companion.status}, health "
            f"{companion.health}, restarts {companion.restarts})"
        )
    if report.lock:
        lines.append(f"locked: {report.lock}")
    return Outcome(
        status="live" if live else "not-live", data=report.as_json(), text="\n".join(lines)
    )


@click.command("history")
@_descriptor
@_env
@click.option("--proxy-image", help="nginx image of the proxy (default deploy[].proxyImage).")
def history(descriptor: Path, environment: str, proxy_image: str | None) -> Outcome:
    """Every deploy and rollback of ENV, oldest first, as kept on the engine."""
    from jenkins_bridge.deploy.rollout import history as read_history

    target = _target(descriptor, environment, proxy_image=proxy_image)
    if target.stage.target == "swarm":
        from jenkins_bridge.deploy import swarm

        read_history = swarm.history
    records = read_history(target, progress)
    lines = [
        f"#{r.seq} {r.started} {r.action} {r.result} {r.digest} (previous {r.previous or '-'}, "
        f"{r.duration_seconds:.1f} s, build {r.build_url or '-'}, commit {r.git_commit or '-'})"
        for r in records
    ]
    return Outcome(
        status="ok",
        data={"records": [r.as_json() for r in records]},
        text="\n".join(lines) or "no deploys recorded",
    )


@click.command("logs")
@_descriptor
@_env
@click.option("--follow", is_flag=True, help="Keep printing new lines.")
@click.option("--since", type=int, help="Only lines newer than this Unix time.")
def logs(descriptor: Path, environment: str, follow: bool, since: int | None) -> Outcome:
    """The live version's logs."""
    from jenkins_bridge.deploy.rollout import logs as read_logs

    chunks = read_logs(_target(descriptor, environment), progress, since=since, follow=follow)
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
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(descriptor: Path, environment: str, argv: tuple[str, ...]) -> Outcome:
    """Run a command (after --) in a one-off container of the live version."""
    from jenkins_bridge.deploy.rollout import exec_once

    code, output = exec_once(_target(descriptor, environment), argv, os.environ, progress)
    return Outcome(
        status="ok" if code == 0 else "failed",
        data={"exit_code": code, "output": output},
        text=output.rstrip("\n"),
        exit_code=EXIT_OK if code == 0 else EXIT_ERROR,
    )

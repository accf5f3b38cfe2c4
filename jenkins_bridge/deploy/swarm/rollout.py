"""Deploys to a Docker Swarm service (``target: swarm``): Swarm drives the rolling update, this
module reports the truth of it.

Same contract as the Docker-host deploy: the lock and the history records are the ones of
the Docker host's ``Session`` (kept on the manager engine), the result is ``live`` (exit 0) or
``rolled-back`` (exit 3: Swarm's own automatic rollback, ``UpdateStatus.State ==
rollback_completed``), anything else raises. Success needs the serving version to answer its
health path on every replica, not just Swarm's ``completed``.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Mapping
from dataclasses import replace

from jenkins_bridge.containers.swarm import ServiceSpec
from jenkins_bridge.deploy.clock import iso, now
from jenkins_bridge.deploy.docker_host.session import connect
from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.deploy.history_store import HistoryNotWritten
from jenkins_bridge.deploy.interrupts import reached, stops_as_interrupts
from jenkins_bridge.deploy.options import DeployOptions, Log
from jenkins_bridge.deploy.platform import DeployResult
from jenkins_bridge.deploy.records import (
    IMAGE_LABEL,
    RECORD_LABEL,
    SEQ_LABEL,
    DeployRecord,
    ShapeError,
)
from jenkins_bridge.deploy.swarm import tasks as swarm_tasks
from jenkins_bridge.deploy.swarm.session import DONE_STATES, SwarmSession, update_timeout
from jenkins_bridge.deploy.swarm.target import POLL_SECONDS, probed_addresses, wait_answering
from jenkins_bridge.deploy.target import (
    DeployTarget,
    bound_secrets,
)
from jenkins_bridge.errors import BridgeError


def deploy(
    target: DeployTarget, image: str, environ: Mapping[str, str], log: Log, options: DeployOptions
) -> DeployResult:
    """Create or update the swarm service to ``image``: ``live`` or ``rolled-back``.
    (Swarm's rolling update replaces ``strategy``; ``updateOrder`` says which task first.)"""
    runtime_spec = target.service.runtime
    secret_values = bound_secrets(runtime_spec.secrets, environ, target.owner)
    for companion in runtime_spec.companions:  # fail before any change
        bound_secrets(companion.secrets, environ, target.names.companion(companion.name))
    with stops_as_interrupts(), connect(target) as runtime:
        session = SwarmSession(target, runtime, environ, log)
        session.check_owner()
        resolved = runtime.resolve_image(image)
        log(f"{image} resolves to {resolved.digest_reference}")
        runtime.resolve_image(target.helper_image)  # the lock's and the state's image
        try:
            with session.locked(options):
                reached("locked")
                for line in adopt_unrecorded(session):
                    log(line)
                return _deploy_locked(
                    session, image, resolved.digest_reference, options.action, secret_values
                )
        except BridgeError as exc:
            session.redact.error(exc)
            raise


def _deploy_locked(
    session: SwarmSession, image: str, digest: str, action: str, secrets: Mapping[str, str]
) -> DeployResult:
    target = session.target
    log = session.log
    started = time.monotonic()
    history = session.store.parsed().records  # what cannot be read is kept aside on write
    before = session.services.inspect(session.name)
    # A service at 0 replicas (a failed first deploy kept for inspection) serves nothing, and
    # Swarm scales it up rather than rolling an update: it is deployed like a new one.
    fresh = before is None or before.replicas == 0
    previous = None if fresh or before is None else before.container_labels.get(IMAGE_LABEL)
    seq = 1 + max([r.seq for r in history] + [0])
    record = DeployRecord(
        seq=seq,
        action=action,
        environment=target.environment,
        image=image,
        digest=digest,
        container=session.name,
        previous=previous,
        result="pending",
        started=iso(now()),
        duration_seconds=0.0,
        build_url=session.environ.get("BUILD_URL") or None,
        git_commit=session.environ.get("GIT_COMMIT") or None,
        descriptor_sha256=target.service.digest,
        agent=session.environ.get("NODE_NAME") or socket.gethostname(),
    )

    def finish(result: str, detail: str = "") -> DeployRecord:
        done = replace(
            record,
            result=result,
            detail=session.redact(detail),
            duration_seconds=round(time.monotonic() - started, 3),
        )
        session.append_history(done)
        return done

    applied = passed = False
    spec: ServiceSpec | None = None
    try:
        network = target.names.network
        if target.stage.network != "host" and session.runtime.network_subnet(network) is None:
            subnet = session.choose_subnet()
            if session.services.ensure_overlay(network, subnet, session.labels("network")):
                log(f"created overlay network {network} ({subnet or 'subnet chosen by Swarm'})")
        for step in session.ensure_companion_services():
            log(step)
        reached("companions")
        spec = session.spec(digest, record, secrets)
        log(
            f"{'creating' if fresh else 'updating'} swarm service {session.name} "
            f"({target.stage.replicas} x {digest})"
        )
        earlier = session.task_ids(session.name) if before is not None else set()
        session.services.apply(spec)
        applied = True
        reached("gate")
        if fresh or before is None:
            try:
                session.wait_converged(session.name, digest, target.stage.replicas, earlier)
            except DeployError as exc:
                # Like the Docker host's failed first deploy: nothing served before, nothing
                # serves now, and the failed version is kept (at 0 replicas) for inspection.
                session.services.apply(replace(spec, replicas=0))
                detail = (
                    f"{exc.message}; serving: nothing (first deploy); service {session.name} "
                    f"scaled to 0 and kept for inspection (docker service ps --no-trunc "
                    f"{session.name}; remove it with docker service rm {session.name})"
                )
                log(detail)
                return DeployResult("rolled-back", finish("rolled-back", detail))
            state = session.services.inspect(session.name)
            assert state is not None
        else:
            state = session.wait_update(before.update_started, update_timeout(target))
        log(f"Swarm update state: {state.update_state or 'created'} {state.update_message}")
        if state.update_state == "rollback_completed":
            # Swarm reports this before the old tasks listen again: wait for them to answer.
            failing = wait_answering(target, target.health_timeout)
            serving = previous or "nothing"
            answer = (
                "answers"
                if not failing
                else f"does not answer on {probed_addresses(target, failing)}"
            )
            causes = swarm_tasks.failure_causes(
                session.services,
                session.name,
                swarm_tasks.this_attempt(session.services.tasks(session.name), earlier),
            )
            detail = (
                f"Swarm rolled back the update ({state.update_message}); serving {serving}, "
                f"which {answer} its health path"
                + (f"; failed tasks: {'; '.join(causes)}" if causes else "")
            )
            log(detail)
            session.prune_secrets()
            return DeployResult("rolled-back", finish("rolled-back", detail), failed_logs="")
        if state.update_state in ("paused", "rollback_paused"):
            raise DeployError(
                f"Swarm {state.update_state.replace('_', ' ')} the update of {session.name}: "
                f"{state.update_message}",
                hint=f"docker service ps --no-trunc {session.name}; then deploy or rollback",
            )
        failing = wait_answering(target, target.health_timeout)
        if failing:
            raise DeployError(
                f"{session.name}: Swarm reports the update done, but "
                f"{probed_addresses(target, failing)} do not answer with 200 within "
                f"{target.health_timeout:g} s",
                hint=f"docker service ps --no-trunc {session.name}",
            )
        log(f"every replica answers {target.service.runtime.healthcheck.path}")
        passed = True  # every replica answers: an interrupt from here on leaves it live
        session.prune_secrets()
        reached("finished")
        return DeployResult("live", finish("live"))
    except HistoryNotWritten:
        raise
    except KeyboardInterrupt as stop:
        why = f"interrupted ({stop.args[0]})" if stop.args else "interrupted"
        if passed:
            detail = f"{why} after every replica answered; this version serves"
        elif applied and spec is not None:
            detail = f"{why}; {_undo(session, spec, seq, fresh, previous)}"
        else:
            detail = f"{why}; the service was not changed"
        log(detail)
        try:
            finish("live" if passed else "interrupted", detail)
        except HistoryNotWritten as exc:
            log(exc.message)
        raise
    except BridgeError as exc:
        try:
            finish("failed", exc.message)
        except HistoryNotWritten as unwritten:
            exc.message += f"; its history record was not written: {unwritten.message}"
        raise


def _undo(
    session: SwarmSession, spec: ServiceSpec, seq: int, fresh: bool, previous: str | None
) -> str:
    """Like the Docker host's interrupt: the version that did not pass does not stay. A new
    service goes to 0 replicas (kept for inspection); an update returns to the previous spec
    (unless Swarm already rolled it back), and this waits until only the previous version's
    tasks run, then says whether they answer. What was done, in words for the record."""
    name = session.name
    if fresh or previous is None:
        session.services.apply(replace(spec, replicas=0))
        return f"service {name} scaled to 0 and kept for inspection (nothing served before)"
    state = session.services.inspect(name)
    if state is None:
        return f"service {name} is gone"
    if state.container_labels.get(SEQ_LABEL) == f"{seq:06d}":  # still this deploy's spec
        session.log(f"returning swarm service {name} to its previous version {previous}")
        if not session.services.restore_previous(name):
            return f"service {name} has no previous spec; Swarm carries on with the update"
        how = f"service {name} was returned to its previous version {previous}"
    else:
        how = f"Swarm had already rolled service {name} back to {previous}"
    deadline = time.monotonic() + update_timeout(session.target)
    while True:
        # Done once an update begun after the interrupted one ended (the restore's, or
        # Swarm's own rollback) and only the previous version's tasks are meant to run.
        now_state = session.services.inspect(name)
        ended = (
            now_state is not None
            and now_state.update_state in DONE_STATES
            and (now_state.update_started != state.update_started or how.startswith("Swarm"))
        )
        tasks = [t for t in session.services.tasks(name) if t.desired == "running"]
        back = [t for t in tasks if t.image == previous and t.state == "running"]
        if ended and len(back) >= spec.replicas and len(back) == len(tasks):
            break
        if time.monotonic() >= deadline:
            return f"{how}, but its tasks did not all run it within the update timeout"
        time.sleep(POLL_SECONDS)
    failing = wait_answering(session.target, session.target.health_timeout)
    answer = (
        "which answers its health path"
        if not failing
        else f"which does not answer on {probed_addresses(session.target, failing)}"
    )
    return f"{how}, {answer}"


def adopt_unrecorded(session: SwarmSession) -> list[str]:
    """The record of a deploy killed before it wrote one (it is on the service's labels),
    added to history with what Swarm made of it."""
    state = session.services.inspect(session.name)
    parsed = session.store.parsed()
    if state is None or not parsed.intact:
        return []
    try:
        record = DeployRecord.from_json(json.loads(state.container_labels.get(RECORD_LABEL, "")))
    except (ShapeError, json.JSONDecodeError):
        return []
    if record.seq <= max([r.seq for r in parsed.records] + [0]):
        return []
    answering = state.replicas > 0 and not wait_answering(session.target, 0)
    if state.update_state == "rollback_completed":
        result = "rolled-back"
    elif state.update_state in (None, "", "completed") and answering:
        result = "live"
    else:
        result = "interrupted"
    detail = (
        f"not recorded by its deploy (killed, or the write failed); recorded by the next "
        f"command: Swarm update state {state.update_state or 'none'}, replicas "
        f"{'answer' if answering else 'do not answer'}"
    )
    try:
        session.store.append(replace(record, result=result, detail=detail))
    except HistoryNotWritten as exc:
        return [f"could not record deploy #{record.seq}: {exc.message}"]
    return [f"recorded the unrecorded deploy #{record.seq} ({result}) in history"]

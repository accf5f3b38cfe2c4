"""The Docker host's deploy algorithm: the order of operations of a deploy (a rollback is a
deploy of an earlier version), its failure and interrupt paths.

Order of a deploy: resolve the image, take the lock, network, proxy, companions, start the new
version beside the old one, health gate, pre-switch hook, switch the proxy, drain, stop the
old one, record. The proxy's configuration is the one truth of what is live: it is rewritten
atomically, so an interrupted deploy leaves either the old or the new version serving.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from jenkins_bridge.containers.runtime import ContainerInfo, RuntimeFailure
from jenkins_bridge.deploy import health
from jenkins_bridge.deploy.canary.run import CanaryRun
from jenkins_bridge.deploy.clock import iso, now
from jenkins_bridge.deploy.docker_host import leftovers
from jenkins_bridge.deploy.docker_host.canary import clear_logs, run_canary
from jenkins_bridge.deploy.docker_host.companions import ensure_companions
from jenkins_bridge.deploy.docker_host.proxy_container import ensure_proxy
from jenkins_bridge.deploy.docker_host.session import PreparedSwitch, Session, connect
from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.deploy.history_store import HistoryNotWritten
from jenkins_bridge.deploy.interrupts import reached, stops_as_interrupts
from jenkins_bridge.deploy.options import PLAIN_DEPLOY, DeployOptions, Log
from jenkins_bridge.deploy.platform import DeployResult
from jenkins_bridge.deploy.proxy import upstream_address
from jenkins_bridge.deploy.records import IMAGE_LABEL, DeployRecord
from jenkins_bridge.deploy.target import DeployTarget, bound_secrets
from jenkins_bridge.errors import BridgeError


def deploy(
    target: DeployTarget,
    image: str,
    environ: Mapping[str, str],
    log: Log,
    options: DeployOptions = PLAIN_DEPLOY,
) -> DeployResult:
    """Deploy ``image``; the result says ``live`` or ``rolled-back`` (errors raise). SIGTERM
    and SIGHUP interrupt it like Ctrl-C (``deploy.interrupts``)."""
    runtime_spec = target.service.runtime
    bound_secrets(runtime_spec.secrets, environ, target.owner)  # fail before any change
    for companion in runtime_spec.companions:
        bound_secrets(companion.secrets, environ, target.names.companion(companion.name))
    chosen = options.strategy or target.stage.strategy
    with stops_as_interrupts(), connect(target) as runtime:
        session = Session(target, runtime, environ, log)
        session.check_owner()
        resolved = runtime.resolve_image(image)
        log(f"{image} resolves to {resolved.digest_reference}")
        runtime.resolve_image(target.proxy_image)
        try:
            with session.locked(options), session.held():
                reached("locked")
                return _deploy_locked(
                    session, image, resolved.digest_reference, options.action, chosen
                )
        except BridgeError as exc:
            session.redact.error(exc)
            raise


def _deploy_locked(
    session: Session, image: str, digest: str, action: str, strategy: str
) -> DeployResult:
    target = session.target
    runtime = session.runtime
    log = session.log
    started = time.monotonic()
    steps: list[str] = []
    created_network = session.ensure_network()
    try:
        changed = ensure_proxy(session)
    except DeployError:
        if created_network:
            runtime.remove_network(session.names.network)
        raise
    steps.extend([changed] if changed else [])
    session.read_ahead()  # both reads at once, while the set-aside companions are looked at
    cleared, apps = leftovers.clear(session)  # apps: one listing for all (each an inspect)
    for line in cleared:
        log(line)
        steps.append(line)
    history = session.store.parsed().records  # what cannot be read is kept aside on write
    current = session.live_app(apps)
    seq = 1 + max([r.seq for r in history] + [leftovers.seq_of(a) for a in apps] + [0])
    record = DeployRecord(
        seq=seq,
        action=action if strategy != "recreate" or action != "deploy" else "recreate",
        environment=target.environment,
        image=image,
        digest=digest,
        container=session.names.app(seq),
        previous=current.labels.get(IMAGE_LABEL) if current else None,
        result="pending",
        started=iso(now()),
        duration_seconds=0.0,
        build_url=session.environ.get("BUILD_URL") or None,
        git_commit=session.environ.get("GIT_COMMIT") or None,
        descriptor_sha256=target.service.digest,
        agent=session.environ.get("NODE_NAME") or socket.gethostname(),
    )

    switched_at: list[float] = []

    def finish(result: str, detail: str = "", downtime: float | None = None) -> DeployRecord:
        done = replace(
            record,
            switched_after_seconds=round(switched_at[0] - started, 3) if switched_at else None,
            result=result,
            detail=session.redact(detail),
            duration_seconds=round(time.monotonic() - started, 3),
            downtime_seconds=None if downtime is None else round(downtime, 3),
        )
        session.append_history(done)
        return done

    stop_timeout = target.service.runtime.stop_timeout_seconds
    down_since: float | None = None
    switched = False
    canary: CanaryRun | None = None
    splitting = False  # a canary's steps began: it answered real requests
    if strategy == "canary" and current is None:
        log("canary: no version is live yet, nothing to compare with: switching at once")
        strategy = "blue-green"
    try:
        for step in ensure_companions(session, session.environ):
            log(step)
            steps.append(step)
        reached("companions")
        # Created before anything is stopped: its labels carry this deploy's record, so a
        # SIGKILL from here on (a recreate's old version already down) leaves the next
        # command a record to name and write (``leftovers.clear``).
        track = "canary" if strategy == "canary" else "stable"
        runtime.create(session.app_spec(seq, digest, record, track))
        if strategy == "recreate" and current is not None:
            log(f"recreate: stopping {current.name}")
            down_since = time.monotonic()
            session.switch(None, seq * 10)
            runtime.stop(current.name, stop_timeout)
            reached("recreate-stopped")
        log(f"starting {record.container} ({digest})")
        runtime.start(record.container)
        reached("gate")
        verdict = session.wait_healthy(record.container, with_probe=True)
        if verdict.state != health.HEALTHY:
            return _roll_back(session, record, current, verdict.reason, down_since, finish)
        hook = target.stage.pre_switch
        if hook:
            log(f"pre-switch hook: {' '.join(hook)}")
            session.run_hook(seq, digest, hook, target.health_timeout)
        # The proxy's write-and-reload command starts now, while the alias is given, and
        # gets its configuration once the new address is known (a canary writes its steps').
        canary_steps = strategy == "canary" and current is not None
        prepared = None if canary_steps else session.prepare_switch(seq * 10 + 1)
        try:
            new = runtime.attach_aliases(record.container, session.names.network, ("app",))
            reached("gated")
            if canary_steps:
                assert current is not None
                # The alias first: reconnecting changes the address the proxy's split names.
                splitting = True
                canary = run_canary(session, seq, current, new)
                if not canary.passed:
                    return _canary_rolled_back(session, record, current, canary, finish)
            _switch_to(session, new, seq * 10 + 1, prepared)
        finally:
            if prepared is not None:
                prepared.cancel()  # nothing when it switched; else it changes nothing
        if canary is not None:
            clear_logs(session)
        switched = True
        switched_at.append(time.monotonic())
        downtime = None if down_since is None else time.monotonic() - down_since
        log(f"traffic switched to {record.container}")
        reached("switched")
        if current is not None and down_since is None:
            time.sleep(target.drain_seconds)
            log(f"stopping {current.name} after {target.drain_seconds:g} s of drain")
            runtime.stop(current.name, stop_timeout)
        session.prune_stopped({record.container})
        detail = "" if downtime is None else f"measured downtime {downtime:.3f} s"
        if detail:
            log(f"recreate: {detail}")
        reached("finished")
    except HistoryNotWritten:
        raise  # the rolled-back record: what was done is done, the message says the rest
    except KeyboardInterrupt as stop:
        # The same cleanup as a failure: nothing unvetted keeps running, a recreate brings
        # the old version back, and the record says what serves.
        if not switched and splitting:
            # run_canary put all traffic back on the stable version; the canary goes.
            runtime.remove(record.container)
        elif not switched:
            runtime.stop(record.container, stop_timeout)
            if down_since is not None and current is not None:
                _restore(session, current.name, seq * 10 + 4)
        elif current is not None and down_since is None:
            runtime.stop(current.name, stop_timeout)
        serving = session.live_app()
        why = f"interrupted ({stop.args[0]})" if stop.args else "interrupted"
        result = "live" if switched else "interrupted"  # after the switch, the new one serves
        _record_anyway(finish, log, result, f"{why}; serving: {_name(serving)}")
        raise
    except BridgeError as exc:
        if not switched:
            # Traffic never reached the new version: stop it (kept for inspection) and, after
            # a recreate stopped the old one, bring that back.
            runtime.stop(record.container, stop_timeout)
            if down_since is not None and current is not None:
                _restore(session, current.name, seq * 10 + 2)
        state = f"serving: {_name(session.live_app())}"
        exc.message = f"{exc.message}; {state}"
        unrecorded = _record_anyway(finish, log, "failed", exc.message)
        if unrecorded:
            exc.message += f"; {unrecorded}"
        raise
    try:
        if canary is not None:
            detail = _canary_summary(canary)
        done = finish("live", detail, downtime)
        return DeployResult("live", done, steps=steps, canary=canary)
    except HistoryNotWritten as exc:
        exc.message = f"{record.container} is live and serves {digest}, but {exc.message}"
        raise


def _name(app: ContainerInfo | None) -> str:
    return app.name if app else "nothing"


def _record_anyway(finish: Callable[..., DeployRecord], log: Log, result: str, detail: str) -> str:
    """Record a failure or an interrupt; a record that cannot be written is said, not raised
    (the deploy's own error is the one to report)."""
    try:
        finish(result, detail)
    except (HistoryNotWritten, RuntimeFailure) as exc:
        log(exc.message)
        return f"its history record was not written: {exc.message}"
    return ""


def _restore(session: Session, name: str, generation: int) -> None:
    session.runtime.start(name)
    if session.wait_healthy(name, with_probe=True).state == health.HEALTHY:
        info = session.runtime.inspect(name)
        assert info is not None
        _switch_to(session, info, generation)


def _switch_to(
    session: Session, app: ContainerInfo, generation: int, prepared: PreparedSwitch | None = None
) -> None:
    ip = app.addresses.get(session.names.network)
    if not ip:
        raise DeployError(f"{app.name} has no address on network {session.names.network}")
    upstream = upstream_address(ip, session.target.service.runtime.port)
    session.switch(upstream, generation, prepared)


def _roll_back(
    session: Session,
    record: DeployRecord,
    current: ContainerInfo | None,
    reason: str,
    down_since: float | None,
    finish: Callable[..., DeployRecord],
) -> DeployResult:
    runtime = session.runtime
    log = session.log
    logs = runtime.logs(record.container, tail=200)
    log(f"{record.container} failed its health gate: {reason}; stopping it (kept for inspection)")
    runtime.stop(record.container, session.target.service.runtime.stop_timeout_seconds)
    downtime = None
    if down_since is not None and current is not None:
        _restore(session, current.name, record.seq * 10 + 3)
        downtime = time.monotonic() - down_since
    served = current.name if current else "nothing (first deploy)"
    done = finish("rolled-back", f"health gate: {reason}; serving: {served}", downtime)
    return DeployResult("rolled-back", done, failed_logs=session.redact(logs))


def _canary_summary(run: CanaryRun) -> str:
    return "canary passed " + ", ".join(
        f"{r.percent} % ({r.verdict.canary.describe()})" for r in run.results
    )


def _canary_rolled_back(
    session: Session,
    record: DeployRecord,
    current: ContainerInfo,
    run: CanaryRun,
    finish: Callable[..., DeployRecord],
) -> DeployResult:
    """The canary failed a step (traffic is back on ``current`` already): stop it, kept for
    inspection, and record why with the numbers."""
    runtime = session.runtime
    logs = runtime.logs(record.container, tail=200)
    session.log(f"canary failed: stopping {record.container} (kept for inspection)")
    runtime.stop(record.container, session.target.service.runtime.stop_timeout_seconds)
    detected = run.detected_after_seconds or 0.0
    why = run.failure()
    done = finish("rolled-back", f"{why}; detected after {detected:.1f} s; serving: {current.name}")
    return DeployResult("rolled-back", done, failed_logs=session.redact(logs), canary=run)

"""What a killed deploy leaves on a Docker host, found and cleared by the next command.

A SIGKILL (an agent that dies) cannot be caught, so the next ``deploy`` (under its lock) and
``status`` (when the lock is free or its holder is gone) look for: a version that runs but is
not behind the proxy (it never passed its gate, or it is the old one a switch did not stop);
a companion set aside by an unfinished change; a canary's traffic split (all traffic goes back
to the stable version); the attempt itself, missing from history (its record travels on its
container's labels). Each is cleared and named in the output.
"""

from __future__ import annotations

import json
from dataclasses import replace

from jenkins_bridge.containers.runtime import ContainerInfo, RuntimeFailure
from jenkins_bridge.deploy.docker_host.companions import PREVIOUS, restore_set_aside
from jenkins_bridge.deploy.docker_host.session import Session
from jenkins_bridge.deploy.errors import LockHeld
from jenkins_bridge.deploy.history_store import HistoryNotWritten
from jenkins_bridge.deploy.options import DeployOptions
from jenkins_bridge.deploy.records import RECORD_LABEL, SEQ_LABEL, DeployRecord, ShapeError


def seq_of(container: ContainerInfo) -> int:
    try:
        return int(container.labels.get(SEQ_LABEL, "0"))
    except ValueError:
        return 0


def suspects(session: Session, live: ContainerInfo | None, newest_recorded: int) -> list[str]:
    """Names of what looks left behind (read only: nothing is changed)."""
    found = [
        app.name
        for app in session.apps()
        if (app.running and (live is None or app.id != live.id)) or seq_of(app) > newest_recorded
    ]
    for companion in session.target.service.runtime.companions:
        aside = session.names.companion(companion.name) + PREVIOUS
        if session.runtime.inspect(aside) is not None:
            found.append(aside)
    return found


def clear(session: Session) -> tuple[list[str], list[ContainerInfo]]:
    """Clear what killed deploys left (the caller holds the lock): what was done, named, and
    the environment's apps as they are afterwards (listed again only when one was stopped)."""
    done = restore_set_aside(session)
    parsed = session.store.parsed()
    newest = max([r.seq for r in parsed.records] + [0])
    split = session.proxy_split()
    if split is not None:  # first: the canary below is stopped, and it still gets its share
        session.switch(split.stable, newest * 10 + 7)
        done.append(
            f"sent all traffic back to the stable version: a killed deploy left {split.describe()}"
        )
    apps = session.apps()  # one listing for both (each app is one inspect)
    live = session.live_app(apps)
    stop_timeout = session.target.service.runtime.stop_timeout_seconds
    stopped = False
    for app in apps:
        if app.running and (live is None or app.id != live.id):
            session.runtime.stop(app.name, stop_timeout)
            stopped = True
            done.append(
                f"stopped {app.name}: it ran but the proxy does not send it traffic "
                "(left by a killed deploy; kept stopped for inspection)"
            )
        if parsed.intact and seq_of(app) > newest:
            record = _record_of(app)
            if record is None:
                continue
            is_live = live is not None and app.id == live.id
            said = [
                "not recorded by its deploy (killed, or the write failed) "
                + ("after the switch" if is_live else "before the switch")
            ]
            if app.status == "created":
                said.append(f"{app.name} was created but never started")
            if record.action == "recreate" and record.previous and live is None:
                said.append("the recreate had stopped the version before it")
            said.append(f"serving: {'this version' if is_live else _name(live)}")
            said.append("recorded by the next command from the container's labels")
            try:
                session.store.append(
                    replace(
                        record,
                        result="live" if is_live else "interrupted",
                        detail="; ".join(said),
                    )
                )
            except HistoryNotWritten as exc:
                done.append(f"could not record deploy #{record.seq} ({app.name}): {exc.message}")
                continue
            done.append(f"recorded the unrecorded deploy #{record.seq} ({app.name}) in history")
    return done, session.apps() if stopped else apps


def _name(app: ContainerInfo | None) -> str:
    return app.name if app else "nothing"


def _record_of(app: ContainerInfo) -> DeployRecord | None:
    try:
        return DeployRecord.from_json(json.loads(app.labels.get(RECORD_LABEL, "")))
    except (ShapeError, json.JSONDecodeError):
        return None


def clear_if_free(session: Session) -> list[str]:
    """Clear what killed deploys left, under the lock taken without waiting; a live holder
    (a deploy in progress) means nothing is touched."""
    newest = max([r.seq for r in session.store.parsed().records] + [0])
    found = suspects(session, session.live_app(), newest)
    if not found and session.runtime.inspect(session.names.lock) is None:
        return []
    try:
        lock = session.locked(DeployOptions(action="status", lock_wait=0))
        with lock:
            done, _ = clear(session)
        return ([f"removed {lock.took_over}"] if lock.took_over else []) + done
    except LockHeld as exc:
        return [f"nothing cleared ({', '.join(found) or 'no leftovers'}): {exc.message}"]
    except RuntimeFailure as exc:
        return [f"nothing cleared ({', '.join(found)}): {exc.message}"]

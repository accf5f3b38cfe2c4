"""Companions on the Docker host: kept while unchanged, replaced without losing the working one.

A changed companion may share a volume with the one it replaces (a database and its data), so
the two never run at once: the working one is stopped and set aside under ``<name>-previous``,
the new one starts under the name and passes its health check, and only then is the previous
one removed. A new one that fails is stopped and kept as ``<name>-failed`` for inspection, and
the previous one returns under its name; an interrupt restores it the same way, and a kill
leaves ``-previous`` for the next command to put back (``restore_set_aside``).
"""

from __future__ import annotations

from collections.abc import Mapping

from jenkins_bridge.containers.runtime import ContainerSpec
from jenkins_bridge.deploy import health
from jenkins_bridge.deploy.docker_host.session import Session
from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.deploy.health import container_health
from jenkins_bridge.deploy.records import SPEC_LABEL
from jenkins_bridge.deploy.target import bound_secrets, companion_spec_hash
from jenkins_bridge.descriptor.model import Companion
from jenkins_bridge.descriptor.naming import SET_ASIDE_SUFFIXES

PREVIOUS, FAILED = SET_ASIDE_SUFFIXES  # validation keeps companions from these names


def ensure_companions(session: Session, environ: Mapping[str, str]) -> list[str]:
    """Each companion kept, started or replaced; what was done, one line each."""
    return [_ensure(session, c, environ) for c in session.target.service.runtime.companions]


def restore_set_aside(session: Session) -> list[str]:
    """Put back what a killed companion replacement set aside; what was done, named."""
    done: list[str] = []
    for companion in session.target.service.runtime.companions:
        name = session.names.companion(companion.name)
        aside = session.runtime.inspect(name + PREVIOUS)
        if aside is None:
            continue
        current = session.runtime.inspect(name)
        if current is not None and current.running and current.health != "unhealthy":
            session.runtime.remove(aside.name)
            done.append(f"removed {aside.name}, set aside by a killed companion change")
            continue
        if current is not None:
            session.runtime.remove(name)
        session.runtime.rename(aside.name, name)
        session.runtime.start(name)
        done.append(f"restored companion {name} from {aside.name} (a killed change set it aside)")
    return done


def _spec(session: Session, companion: Companion, image: str, spec_hash: str,
          environ: Mapping[str, str]) -> ContainerSpec:  # fmt: skip
    name = session.names.companion(companion.name)
    volumes: dict[str, str] = {}
    if companion.volume is not None:
        volume = session.names.volume(companion.volume.name)
        if session.runtime.ensure_volume(volume, session.labels("volume")):
            session.log(f"created volume {volume}")
        volumes[volume] = companion.volume.path
    runtime = session.target.service.runtime
    return ContainerSpec(
        name=name,
        image=image,
        labels={**session.labels("companion"), SPEC_LABEL: spec_hash},
        env={**companion.env, **bound_secrets(companion.secrets, environ, name)},
        command=companion.command,
        network=session.names.network,
        aliases=(companion.name,),
        volumes=volumes,
        healthcheck=container_health(companion.healthcheck) if companion.healthcheck else None,
        restart=runtime.restart,
        no_new_privileges=runtime.security.no_new_privileges,
    )


def _ensure(session: Session, companion: Companion, environ: Mapping[str, str]) -> str:
    runtime = session.runtime
    name = session.names.companion(companion.name)
    image = runtime.resolve_image(companion.image)
    spec_hash = companion_spec_hash(companion, image.digest_reference)
    existing = runtime.inspect(name)
    working = existing is not None and existing.running and existing.health != "unhealthy"
    if existing is not None and working and existing.labels.get(SPEC_LABEL) == spec_hash:
        return f"companion {companion.name}: kept ({name}, unchanged)"
    spec = _spec(session, companion, image.digest_reference, spec_hash, environ)
    stop_timeout = session.target.service.runtime.stop_timeout_seconds
    aside: str | None = None
    if existing is not None and working:
        session.log(
            f"companion {companion.name}: replacing {name} (spec changed); it waits aside "
            "until the new one is healthy"
        )
        aside = name + PREVIOUS
        runtime.remove(aside)
        runtime.stop(name, stop_timeout)
        runtime.rename(name, aside)
    elif existing is not None:
        session.log(f"companion {companion.name}: replacing {name} (not running or unhealthy)")
        runtime.stop(name, stop_timeout)
        runtime.remove(name)
    put_back = False
    try:
        session.log(f"companion {companion.name}: starting {name}")
        runtime.create(spec)
        runtime.start(name)
        verdict = session.wait_healthy(name, with_probe=False)
        if verdict.state != health.HEALTHY:
            logs = runtime.logs(name, tail=50)
            put_back = True
            restored = _put_back(session, name, aside, stop_timeout)
            raise DeployError(
                f"companion {companion.name} ({name}) is not healthy: {verdict.reason}; "
                + restored,
                hint=session.redact.output("its log", logs),
            )
    except BaseException:  # an engine error or an interrupt: the working one comes back
        if not put_back:
            _put_back(session, name, aside, stop_timeout)
        raise
    if aside is not None:
        runtime.remove(aside)
        return f"companion {companion.name}: replaced ({name}, spec changed)"
    return f"companion {companion.name}: started ({name})"


def _put_back(session: Session, name: str, aside: str | None, stop_timeout: int) -> str:
    """Stop the new companion (kept as ``-failed``) and return the set-aside one; says what."""
    runtime = session.runtime
    if runtime.inspect(name) is not None:
        runtime.stop(name, stop_timeout)
        runtime.remove(name + FAILED)
        runtime.rename(name, name + FAILED)
    if aside is None or runtime.inspect(aside) is None:
        return f"the new one is kept stopped as {name}{FAILED}"
    runtime.rename(aside, name)
    runtime.start(name)
    verdict = session.wait_healthy(name, with_probe=False)
    state = "healthy" if verdict.state == health.HEALTHY else f"not healthy: {verdict.reason}"
    return (
        f"the previous one is back under its name ({state}); the new one is kept stopped as "
        f"{name}{FAILED}"
    )

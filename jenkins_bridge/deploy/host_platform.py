"""The Docker host's day-to-day commands beside its deploys (``rollout.DockerHost``): logs and
exec of the live version or a companion (exit code and stdin passed through), restarting a
companion, the lock shown or released, ``remove`` and the dry run of a deploy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import replace

from jenkins_bridge.containers.runtime import ContainerInfo, DockerRuntime
from jenkins_bridge.deploy import health
from jenkins_bridge.deploy.dry_run import DeployPlan
from jenkins_bridge.deploy.errors import DeployError, NotDeployed, SecretUnbound
from jenkins_bridge.deploy.lock_admin import LockView, read_lock, release_lock
from jenkins_bridge.deploy.platform import DeployOptions, Log
from jenkins_bridge.deploy.records import IMAGE_LABEL, SEQ_LABEL, SPEC_LABEL, DeployRecord
from jenkins_bridge.deploy.removal import Removal, RemoveOptions, remove_engine_objects
from jenkins_bridge.deploy.rollout import DockerHost, Session, connect
from jenkins_bridge.deploy.target import DeployTarget, bound_secrets, companion_spec_hash
from jenkins_bridge.descriptor.model import Companion

EXEC_TIMEOUT_SECONDS = 3600


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


def _exec_record(seq: int) -> DeployRecord:
    """The record an exec container's spec is built with (its labels are replaced)."""
    return DeployRecord(
        seq=seq,
        action="exec",
        environment="",
        image="",
        digest="",
        container="",
        previous=None,
        result="",
        started="",
        duration_seconds=0.0,
    )


class DockerHostPlatform(DockerHost):
    """``target: docker``: the deploys of ``DockerHost`` and the commands that operate it."""

    # -- reading and running in containers -----------------------------------------------

    def _companion_container(
        self, runtime: DockerRuntime, session: Session, name: str
    ) -> ContainerInfo:
        find_companion(self.target, name)
        container = runtime.inspect(session.names.companion(name))
        if container is None:
            raise not_running(
                self.target,
                f"companion {name} ({session.names.companion(name)}) does not exist",
                "deploy the service first: a deploy starts its companions",
            )
        return container

    def _live(self, session: Session) -> ContainerInfo:
        live = session.live_app()
        if live is None:
            raise not_running(self.target, "no version is live", "deploy one first")
        return live

    def logs(
        self, log: Log, *, since: int | None, follow: bool, companion: str | None = None
    ) -> Iterator[str]:
        with connect(self.target) as runtime:
            session = Session(self.target, runtime, {}, log)
            if companion is not None:
                name = self._companion_container(runtime, session, companion).name
            else:
                name = self._live(session).name
            if follow:
                yield from runtime.follow_logs(name, since=since)
            else:
                yield runtime.logs(name, since=since)

    def exec(
        self,
        argv: tuple[str, ...],
        environ: Mapping[str, str],
        log: Log,
        *,
        companion: str | None = None,
        stdin: bytes | None = None,
    ) -> tuple[int, str]:
        """In a companion: inside its running container (its volume, its process). For the
        app: in a one-off container of the live version (its env, network, volumes)."""
        with connect(self.target) as runtime:
            session = Session(self.target, runtime, environ, log)
            if companion is not None:
                container = self._companion_container(runtime, session, companion)
                if not container.running:
                    raise not_running(
                        self.target,
                        f"companion {companion} ({container.name}) is {container.status}",
                        f"restart it: jenkins-bridge restart --companion {companion}",
                    )
                return runtime.exec(container.name, argv, stdin)
            live = self._live(session)
            image = live.labels.get(IMAGE_LABEL) or live.image_id
            seq = int(live.labels.get(SEQ_LABEL, "0") or 0)
            name = session.names.exec(os.getpid())
            spec = replace(
                session.app_spec(seq, image, _exec_record(seq)),
                name=name,
                command=argv,
                labels=session.labels("exec"),
                healthcheck=None,
                restart="no",
                aliases=(),
                stdin=stdin is not None,
            )
            runtime.create(spec)
            try:
                if stdin is None:
                    runtime.start(name)
                else:
                    runtime.start_with_input(name, stdin)
                code = runtime.wait(name, EXEC_TIMEOUT_SECONDS)
                return code, runtime.logs(name)
            finally:
                runtime.remove(name)

    # -- operating ------------------------------------------------------------------------

    def restart(self, companion: str, log: Log, options: DeployOptions) -> str:
        """Stop and start the companion's container (same spec, same volume), then wait for
        its health, holding the lock (a deploy must not replace it meanwhile)."""
        with connect(self.target) as runtime:
            session = Session(self.target, runtime, {}, log)
            container = self._companion_container(runtime, session, companion)
            runtime.resolve_image(self.target.helper_image)  # the lock's image
            with session.locked(replace(options, action="restart")):
                log(f"restarting companion {companion} ({container.name})")
                runtime.stop(container.name, self.target.service.runtime.stop_timeout_seconds)
                runtime.start(container.name)
                verdict = session.wait_healthy(container.name, with_probe=False)
            if verdict.state != health.HEALTHY:
                tail = " | ".join(runtime.logs(container.name, tail=5).strip().splitlines())
                raise DeployError(
                    f"companion {companion} ({container.name}) restarted but is not healthy: "
                    f"{verdict.reason}",
                    hint=f"its last log lines: {tail}" if tail else "it printed nothing",
                )
        return f"companion {companion} restarted ({container.name}, healthy)"

    def lock(self, log: Log, *, release: bool) -> LockView:
        with connect(self.target) as runtime:
            session = Session(self.target, runtime, {}, log)
            act = release_lock if release else read_lock
            return act(runtime, session.names.lock, self.target.owner, self.target.environment)

    def remove(self, log: Log, options: RemoveOptions) -> Removal:
        removal = Removal(self.target.owner, self.target.environment)
        with connect(self.target) as runtime:
            session = Session(self.target, runtime, {}, log)
            runtime.resolve_image(self.target.helper_image)  # the lock's image
            terms = DeployOptions("remove", None, options.lock_wait, options.break_lock)
            with session.locked(terms):
                remove_engine_objects(
                    runtime,
                    removal,
                    network=session.names.network,
                    state=session.names.state,
                    lock=session.names.lock,
                    options=options,
                    log=log,
                )
        return removal

    def image_labels(self, references: list[str], log: Log) -> dict[str, dict[str, str]]:
        with connect(self.target) as runtime:
            found = {ref: runtime.image_labels(ref) for ref in sorted(set(references)) if ref}
        return {ref: labels for ref, labels in found.items() if labels is not None}

    # -- dry run --------------------------------------------------------------------------

    def plan(
        self, image: str, environ: Mapping[str, str], log: Log, options: DeployOptions
    ) -> DeployPlan:
        target = self.target
        strategy = options.strategy or target.stage.strategy
        strategy = strategy if strategy in ("blue-green", "recreate") else "blue-green"
        with connect(target) as runtime:
            session = Session(target, runtime, environ, log)
            names = session.names
            digest = runtime.resolve_image(image).digest_reference
            plan = DeployPlan(target.owner, target.environment, image, digest, None)
            _check_secrets(target, environ, plan)
            held = read_lock(runtime, names.lock, target.owner, target.environment)
            if held.held:
                plan.blockers.append(
                    f"{held.text()}: a deploy would wait up to {options.lock_wait:g} s for it"
                )
            subnet = runtime.network_subnet(names.network)
            if subnet is None:
                plan.step(
                    f"create network {names.network} ({target.subnet})"
                    if target.subnet
                    else f"create network {names.network} (a subnet from deploy[].subnetPool, "
                    "or the engine's choice)"
                )
            else:
                plan.keep(f"network {names.network} ({subnet})")
            proxy = runtime.inspect(names.proxy)
            if proxy is None:
                plan.step(f"start proxy {names.proxy} on {target.listen} ({target.proxy_image})")
            elif not proxy.running:
                plan.step(f"start the stopped proxy {names.proxy}")
            else:
                plan.keep(f"proxy {names.proxy} on {target.listen}")
            for companion in target.service.runtime.companions:
                _plan_companion(runtime, session, companion, plan)
            live = session.live_app()
        plan.live = None if live is None else live.labels.get(IMAGE_LABEL)
        if live is not None and plan.live == digest:
            plan.keep(f"{digest} is already live in {live.name}; a deploy starts it anew")
        if strategy == "recreate" and live is not None:
            plan.step(f"stop {live.name} first (recreate: downtime until the new one is healthy)")
        plan.step(
            f"start a container of {digest} and gate it on its health "
            f"({target.health_timeout:g} s, {target.service.runtime.healthcheck.path})"
        )
        if target.stage.pre_switch:
            plan.step(f"run the pre-switch hook {' '.join(target.stage.pre_switch)}")
        plan.step(
            "point the proxy at it"
            + (f" (from {live.name})" if live is not None else " (nothing serves now)")
        )
        if live is not None and strategy != "recreate":
            plan.step(f"stop {live.name} after {target.drain_seconds:g} s of drain")
        return plan


def _check_secrets(target: DeployTarget, environ: Mapping[str, str], plan: DeployPlan) -> None:
    """A secret without a value stops a deploy before any change: the plan says so."""
    runtime = target.service.runtime
    checks = [(runtime.secrets, target.owner)] + [(c.secrets, c.name) for c in runtime.companions]
    for secrets, who in checks:
        try:
            bound_secrets(secrets, environ, who)
        except SecretUnbound as exc:
            plan.blockers.append(exc.message)


def _plan_companion(
    runtime: DockerRuntime, session: Session, companion: Companion, plan: DeployPlan
) -> None:
    name = session.names.companion(companion.name)
    digest = runtime.resolve_image(companion.image).digest_reference
    existing = runtime.inspect(name)
    if existing is None:
        plan.step(f"start companion {companion.name} ({name}, {digest})")
    elif (
        existing.labels.get(SPEC_LABEL) == companion_spec_hash(companion, digest)
        and existing.running
        and existing.health != "unhealthy"
    ):
        plan.keep(f"companion {companion.name} ({name})")
    else:
        why = "its spec changed" if existing.running else f"it is {existing.status}"
        plan.step(f"replace companion {companion.name} ({name}): {why}")

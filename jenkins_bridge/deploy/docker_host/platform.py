"""The ``Platform`` of ``target: docker``: one engine, a tool-run proxy, blue-green or
recreate (``docker_host.rollout``), and the commands that operate it day to day: logs and exec
of the live version or a companion (exit code and stdin passed through), restarting a
companion, the dry run of a deploy; the lock and ``remove`` are ``EnginePlatform``'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import replace

from jenkins_bridge.containers.runtime import ContainerInfo, DockerRuntime
from jenkins_bridge.deploy import health
from jenkins_bridge.deploy.canary.analysis import Thresholds
from jenkins_bridge.deploy.docker_host.engine_platform import EnginePlatform
from jenkins_bridge.deploy.docker_host.plan import plan_deploy
from jenkins_bridge.deploy.docker_host.rollout import deploy
from jenkins_bridge.deploy.docker_host.session import Session, connect
from jenkins_bridge.deploy.docker_host.status import StatusReport, read_status
from jenkins_bridge.deploy.dry_run import DeployPlan
from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.deploy.options import CommandOptions, DeployOptions, Log
from jenkins_bridge.deploy.platform import (
    DeployResult,
    find_companion,
    not_running,
    rollback_image,
)
from jenkins_bridge.deploy.records import IMAGE_LABEL, SEQ_LABEL, DeployRecord
from jenkins_bridge.deploy.target import resolve_target
from jenkins_bridge.descriptor.model import Service

EXEC_TIMEOUT_SECONDS = 3600


class DockerHostPlatform(EnginePlatform):
    """``target: docker``: deploys, rollbacks and status, and the commands that operate it."""

    @classmethod
    def resolve(
        cls, service: Service, environment: str, options: CommandOptions
    ) -> DockerHostPlatform:
        return cls(
            resolve_target(
                service,
                environment,
                subnet=options.subnet,
                proxy_image=options.proxy_image,
                timeout=options.timeout,
            )
        )

    def deploy(
        self, image: str, environ: Mapping[str, str], log: Log, options: DeployOptions
    ) -> DeployResult:
        if options.strategy is None and self.target.stage.strategy not in (
            "blue-green",
            "recreate",
            "canary",
        ):  # this target's meaning of "rolling" with one replica
            options = replace(options, strategy="blue-green")
        if options.action == "rollback" and (options.strategy or self.target.stage.strategy) in (
            "canary",
            "rolling",
        ):  # a rollback returns to a version that served: no canary steps on the way back
            options = replace(options, strategy="blue-green")
        if options.strategy == "canary" or (
            options.strategy is None and self.target.stage.strategy == "canary"
        ):  # --strategy canary on a descriptor with nothing to judge by: say so before a change
            Thresholds.for_service(self.target.service, self.target.stage)
        return deploy(self.target, image, environ, log, options)

    def previous_image(self, environ: Mapping[str, str], log: Log) -> str:
        """What ``rollback`` returns to: the previous live version in history."""
        with connect(self.target) as runtime:
            session = Session(self.target, runtime, environ, log)
            history = session.history()
            live = session.live_app()
        return rollback_image(
            self.target, history, live.labels.get(IMAGE_LABEL) if live else None, log
        )

    def status(self, log: Log) -> StatusReport:
        """What runs and whether it serves; what killed deploys left is cleared first, when
        no live deploy holds the lock."""
        return read_status(self.target, log)

    def history(self, log: Log) -> list[DeployRecord]:
        with connect(self.target) as runtime:
            return Session(self.target, runtime, {}, log).history()

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
                session.app_spec(seq, image, DeployRecord.placeholder(seq, "exec")),
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

    def plan(
        self, image: str, environ: Mapping[str, str], log: Log, options: DeployOptions
    ) -> DeployPlan:
        return plan_deploy(self.target, image, environ, log, options)

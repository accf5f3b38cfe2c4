"""What the two platforms on a Docker engine (the Docker host and Swarm) do the same way: the
lock shown or released, the labels of the images the engine has, and ``remove``'s sweep of
the environment's containers, network and volumes under its lock.
"""

from __future__ import annotations

from collections.abc import Mapping

from jenkins_bridge.containers.runtime import DockerRuntime
from jenkins_bridge.deploy.docker_host.session import Session, connect
from jenkins_bridge.deploy.lock_admin import LockView, read_lock, release_lock
from jenkins_bridge.deploy.options import DeployOptions, Log, RemoveOptions
from jenkins_bridge.deploy.platform import Platform
from jenkins_bridge.deploy.removal import Removal, remove_engine_objects
from jenkins_bridge.deploy.target import DeployTarget


class EnginePlatform(Platform):
    """A ``Platform`` whose lock and history live on one Docker engine (``Session``)."""

    def __init__(self, target: DeployTarget) -> None:
        self.target = target

    def session(self, runtime: DockerRuntime, environ: Mapping[str, str], log: Log) -> Session:
        """This platform's engine session (Swarm's checks that the engine is a manager)."""
        return Session(self.target, runtime, environ, log)

    def lock(self, log: Log, *, release: bool) -> LockView:
        with connect(self.target) as runtime:
            session = self.session(runtime, {}, log)
            act = release_lock if release else read_lock
            return act(runtime, session.names.lock, self.target.owner, self.target.environment)

    def image_labels(self, references: list[str], log: Log) -> dict[str, dict[str, str]]:
        with connect(self.target) as runtime:
            found = {ref: runtime.image_labels(ref) for ref in sorted(set(references)) if ref}
        return {ref: labels for ref, labels in found.items() if labels is not None}

    def remove(self, log: Log, options: RemoveOptions) -> Removal:
        """Under the lock: what only this target has (``remove_own``), then the containers,
        network and volumes labelled for the environment (``remove_engine_objects``)."""
        removal = Removal(self.target.owner, self.target.environment)
        with connect(self.target) as runtime:
            session = self.session(runtime, {}, log)
            runtime.resolve_image(self.target.helper_image)  # the lock's image
            terms = DeployOptions("remove", None, options.lock_wait, options.break_lock)
            with session.locked(terms):
                self.remove_own(session, removal, log)
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

    def remove_own(self, session: Session, removal: Removal, log: Log) -> None:
        """What ``remove`` takes away before the engine objects (Swarm: services, secrets)."""

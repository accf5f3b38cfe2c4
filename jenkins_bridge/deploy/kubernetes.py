"""Deploys to Kubernetes (``target: kubernetes``): apply the rendered Deployment and Service
(server-side), wait for the rollout (observed generation, updated, ready and available
replicas) within the timeout, and on failure put the previous ReplicaSet's pod template back
and report ``rolled-back`` (exit 3): Kubernetes never rolls back on its own.

The lock and the history have the Docker-host semantics, kept as Kubernetes objects (the
Docker-host ones live on its engine, which a cluster has not):

- the lock is a ``coordination.k8s.io/v1`` Lease named like the Docker lock container
  (``jb-<team>-<name>-<env>-lock``) in the environment's namespace; its annotations carry the
  same lock record (holder, host, pid, since, action), so ``deploy.lock.DeployLock`` decides
  waiting, stale holders and ``--break-lock`` for both;
- the history is the Deployment's annotation ``jenkins-bridge.dev/history``: the same JSON
  records (who: build URL, agent; what: image, descriptor digest, commit; result, detail),
  written under its own field manager so the deploy's server-side apply never drops it. The
  Deployment's ReplicaSet revisions are what ``rollback`` returns to. ``remove`` keeps the
  history in a ConfigMap (``deploy.kubernetes_operations``), read while no Deployment exists.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from jenkins_bridge.containers.runtime import ContainerSpec, NameConflict
from jenkins_bridge.deploy.clock import iso, now
from jenkins_bridge.deploy.dry_run import DeployPlan
from jenkins_bridge.deploy.errors import DeployError, NothingToRollBack, SecretUnbound
from jenkins_bridge.deploy.kubernetes_operations import (
    kept_history,
    plan_deploy,
    remove_environment,
    restart_companion,
)
from jenkins_bridge.deploy.lock import DeployLock, target_lock
from jenkins_bridge.deploy.lock_admin import LockView, lock_blocker, read_lock, release_lock
from jenkins_bridge.deploy.options import CommandOptions, DeployOptions, Log, RemoveOptions
from jenkins_bridge.deploy.platform import (
    DeployResult,
    Platform,
    find_companion,
    no_proxy,
    nothing_to_roll_back,
    status_json,
    unsupported,
)
from jenkins_bridge.deploy.records import (
    LOCK_LABEL,
    DeployRecord,
    LockRecord,
    describe_lock,
    history_from_bytes,
    history_to_bytes,
)
from jenkins_bridge.deploy.removal import Removal
from jenkins_bridge.deploy.target import DeployTarget, Listen, find_stage
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.descriptor.naming import ObjectNames
from jenkins_bridge.kube.cluster import Cluster, DeploymentState
from jenkins_bridge.render.kubernetes import manifests, selector, supporting_manifests

POLL_SECONDS = 1.0
HISTORY_ANNOTATION = "jenkins-bridge.dev/history"
Connect = Callable[[str | None], Cluster]


@dataclass(frozen=True, slots=True)
class _Lease:
    id: str
    labels: Mapping[str, str] = field(default_factory=dict)


class LeaseLocks:
    """Leases in one namespace as ``DeployLock`` sees lock objects (``deploy.lock.LockEngine``)."""

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace

    def create(self, spec: ContainerSpec) -> _Lease:
        holder = LockRecord.parse_label(spec.labels.get(LOCK_LABEL))  # our own: well formed
        uid = self.cluster.create_lease(
            spec.name, self.namespace, spec.labels, holder.holder if holder else "jenkins-bridge"
        )
        if uid is None:
            raise NameConflict(f"creating lease {self.namespace}/{spec.name}", "it exists")
        return _Lease(uid, dict(spec.labels))

    def inspect(self, name: str) -> _Lease | None:
        found = self.cluster.lease(name, self.namespace)
        return None if found is None else _Lease(found[0], found[1])

    def remove(self, name: str) -> None:
        self.cluster.delete_lease(name, self.namespace)


def history_of(state: DeploymentState | None) -> list[DeployRecord]:
    if state is None:
        return []
    return history_from_bytes(state.annotations.get(HISTORY_ANNOTATION, "").encode())


def resolve_kubernetes_target(
    service: Service, environment: str, *, timeout: float | None = None
) -> DeployTarget:
    stage = find_stage(service, environment)
    service = service.for_environment(stage)  # its runtime is this environment's
    if service.image is None:
        raise DeployError(f"{service.path}: deploying needs an 'image' section")
    return DeployTarget(
        service=service,
        stage=stage,
        names=ObjectNames.of(service.metadata.team, service.metadata.name, environment),
        owner=service.full_name,
        docker_host=None,
        subnet=None,
        listen=Listen("cluster", service.runtime.port),
        proxy_image=stage.proxy_image,
        health_timeout=float(timeout if timeout is not None else stage.health_timeout_seconds),
        drain_seconds=float(stage.drain_seconds),
    )


def wait_rollout(
    cluster: Cluster,
    name: str,
    namespace: str,
    timeout: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[bool, DeploymentState | None, str]:
    """(converged, last state, why not) once converged, stalled, or out of time."""
    deadline = clock() + timeout
    state = None
    while True:
        state = cluster.deployment(name, namespace)
        if state is None:
            return False, None, "the Deployment disappeared"
        if state.converged():
            return True, state, ""
        if state.stalled:
            return False, state, state.stalled
        if clock() >= deadline:
            return (
                False,
                state,
                (
                    f"not converged within {timeout:g} s: {state.updated} updated, {state.ready} "
                    f"ready, {state.available} available of {state.replicas} (observed generation "
                    f"{state.observed_generation} of {state.generation})"
                ),
            )
        sleep(POLL_SECONDS)


def pod_annotations(environ: Mapping[str, str]) -> dict[str, str]:
    """Which build made the pods: its URL and commit, on the pod template."""
    return {
        key: value
        for key, value in (
            ("jenkins-bridge.dev/build-url", environ.get("BUILD_URL", "")),
            ("jenkins-bridge.dev/git-commit", environ.get("GIT_COMMIT", "")),
        )
        if value
    }


def _check_secrets(target: DeployTarget, cluster: Cluster) -> None:
    service, stage = target.service, target.stage
    # the companions' secrets come from the same Secret (render/kubernetes.py)
    runtime = service.runtime
    secrets = [*runtime.secrets, *(s for c in runtime.companions for s in c.secrets)]
    if not secrets:
        return
    namespace = stage.namespace
    keys = cluster.secret_keys(stage.secret_name, namespace)
    missing = sorted({s.credentials_id for s in secrets if s.credentials_id not in (keys or ())})
    if missing:
        raise SecretUnbound(
            f"{service.path}: Secret {namespace}/{stage.secret_name} "
            + ("does not exist" if keys is None else f"has no key {', '.join(missing)}")
            + "; nothing was changed",
            hint=f"kubectl -n {namespace} create secret generic {stage.secret_name} "
            + " ".join(f"--from-literal={m}=..." for m in missing),
        )


def deploy(
    target: DeployTarget,
    image: str,
    environ: Mapping[str, str],
    log: Log,
    options: DeployOptions,
    *,
    connect: Connect = Cluster.connect,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeployResult:
    """Apply ``image`` holding the Lease lock; ``live``, or ``rolled-back`` to the previous
    ReplicaSet (errors raise); every outcome after the first apply is in the history."""
    if target.service.image is None:
        raise DeployError(f"{target.service.path}: deploying needs an 'image' section")
    cluster = connect(target.stage.context)
    _check_secrets(target, cluster)
    leases = LeaseLocks(cluster, target.stage.namespace)
    with target_lock(leases, target, options, environ, log):
        return _deploy_locked(target, cluster, image, environ, log, options.action, sleep, clock)


def _deploy_locked(
    target: DeployTarget,
    cluster: Cluster,
    image: str,
    environ: Mapping[str, str],
    log: Log,
    action: str,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> DeployResult:
    service, stage = target.service, target.stage
    name, namespace = service.metadata.name, stage.namespace
    started = clock()
    before = cluster.deployment(name, namespace)
    # After a remove, the history it kept: a new Deployment continues its numbering.
    history = history_of(before) if before is not None else kept_history(cluster, target)
    annotations = pod_annotations(environ)
    deployment, service_object = manifests(service, stage, image, annotations)
    record = DeployRecord(
        seq=1 + max([r.seq for r in history] + [before.revision if before else 0]),
        action=action,
        environment=stage.environment,
        image=image,
        digest=image,
        container=f"{namespace}/{name}",
        previous=before.image if before else None,
        result="pending",
        started=iso(now()),
        duration_seconds=0.0,
        build_url=environ.get("BUILD_URL") or None,
        git_commit=environ.get("GIT_COMMIT") or None,
        descriptor_sha256=service.digest,
        agent=environ.get("NODE_NAME") or socket.gethostname(),
    )

    def finish(result: str, detail: str = "") -> DeployRecord:
        done = replace(
            record, result=result, detail=detail, duration_seconds=round(clock() - started, 3)
        )
        kept = [r for r in history if r.seq != done.seq] + [done]
        text = history_to_bytes(kept).decode()
        cluster.annotate_deployment(name, namespace, {HISTORY_ANNOTATION: text})
        return done

    log(f"applying Service and Deployment {namespace}/{name} ({stage.replicas} x {image})")
    for supporting in supporting_manifests(service, stage):  # companions first, as elsewhere
        cluster.apply(supporting)
    cluster.apply(service_object)
    # strategy canary: a canary Deployment beside the live one first (deploy/kubernetes_canary)
    canary = before if action == "deploy" and stage.strategy == "canary" else None
    canary = None if canary is not None and canary.image == image else canary  # nothing new
    run = None
    try:
        if canary is not None:
            from jenkins_bridge.deploy import kubernetes_canary

            def ready(name: str) -> tuple[bool, str]:
                ok, _, why = wait_rollout(
                    cluster, name, namespace, target.health_timeout, sleep=sleep, clock=clock
                )
                return ok, why

            try:
                run = kubernetes_canary.steps(
                    target, cluster, image, annotations, canary, log, ready, sleep
                )
            except KeyboardInterrupt:  # Ctrl-C, TERM, HUP: the canary goes, stable stays
                finish(
                    "interrupted",
                    "interrupted during the canary; the stable Deployment is untouched",
                )
                raise
            if not run.passed:
                detail = kubernetes_canary.summary(run)
                return DeployResult("rolled-back", finish("rolled-back", detail), canary=run)
        cluster.apply(deployment)
        done = _await_or_roll_back(target, cluster, before, deployment, log, sleep, clock, finish)
        return done if run is None else replace(done, canary=run)
    except DeployError as exc:
        finish("failed", exc.message)
        raise
    finally:  # also a canary Deployment a killed deploy left, whatever this one did
        if stage.strategy == "canary":
            from jenkins_bridge.deploy.kubernetes_canary import remove

            remove(target, cluster, log)


def _await_or_roll_back(
    target: DeployTarget,
    cluster: Cluster,
    before: DeploymentState | None,
    deployment: Mapping[str, Any],
    log: Log,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    finish: Callable[[str, str], DeployRecord],
) -> DeployResult:
    service, stage = target.service, target.stage
    name, namespace = service.metadata.name, stage.namespace
    ok, _, why = wait_rollout(
        cluster, name, namespace, target.health_timeout, sleep=sleep, clock=clock
    )
    if ok:
        log(f"rollout of {namespace}/{name} converged")
        return DeployResult("live", finish("live", ""))
    log(f"rollout of {namespace}/{name} failed: {why}")
    previous = [
        rs for rs in cluster.replica_sets(namespace, selector(service, stage))
        if before is not None and rs.revision <= before.revision and rs.image == before.image
    ]  # fmt: skip
    if not previous:
        raise DeployError(
            f"{namespace}/{name}: the rollout failed ({why}) and there is no previous "
            "ReplicaSet to return to; the Deployment is left as it is for inspection",
            hint=f"kubectl -n {namespace} describe deployment {name}",
        )
    back = previous[-1]
    log(f"rolling back to ReplicaSet {back.name} (revision {back.revision}, {back.image})")
    cluster.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                **{k: v for k, v in deployment["spec"].items() if k != "template"},
                "template": dict(back.template),
            },
        }
    )
    ok, _, again = wait_rollout(
        cluster, name, namespace, target.health_timeout, sleep=sleep, clock=clock
    )
    if not ok:
        raise DeployError(
            f"{namespace}/{name}: the rollout failed ({why}) and the rollback to "
            f"{back.name} did not converge either ({again})",
            hint=f"kubectl -n {namespace} rollout status deployment/{name}",
        )
    detail = f"rollout failed: {why}; rolled back to {back.name} ({back.image})"
    return DeployResult("rolled-back", finish("rolled-back", detail))


@dataclass(frozen=True)
class KubernetesStatus:
    service: str
    environment: str
    engine: str  # the kubeconfig context
    name: str  # namespace/name
    live: str | None  # the image of the Deployment's pod template
    revision: int
    replicas: int
    updated: int
    ready: int
    available: int
    lock: str | None
    last: DeployRecord | None
    canary: str | None = None  # strategy canary: the canary Deployment while a deploy runs one

    def as_json(self) -> dict[str, Any]:
        data = status_json(self, self.live, self.name)
        data["serving"] = self.serving  # as on every target
        return data

    def text(self) -> str:
        counts = (
            f"revision {self.revision}; {self.available} available, {self.ready} ready, "
            f"{self.updated} updated of {self.replicas}"
        )
        return "\n".join(
            [
                f"{self.service} {self.environment} on {self.engine} (Deployment {self.name})",
                f"live: {self.live} ({counts})" if self.live else "live: nothing",
            ]
            + ([f"canary: {self.canary}"] if self.canary else [])
            + ([f"locked: {self.lock}"] if self.lock else [])
        )

    @property
    def serving(self) -> bool:
        return self.live is not None and self.available > 0


def rollback_target_image(target: DeployTarget, cluster: Cluster, log: Log) -> str:
    """The image of the newest ReplicaSet revision before the current one that runs another
    image, skipping images whose deploy history says failed and never live."""
    service, stage = target.service, target.stage
    current = cluster.deployment(service.metadata.name, stage.namespace)
    if current is None:
        raise NothingToRollBack(
            f"{target.owner} {target.environment}: Deployment {stage.namespace}/"
            f"{service.metadata.name} does not exist",
            hint="deploy a version first",
        )
    # A revision whose rollout failed (and was rolled back) is no place to return to.
    failed = {r.digest for r in history_of(current) if r.result != "live"}
    live = {r.digest for r in history_of(current) if r.result == "live"}
    earlier = [
        rs for rs in cluster.replica_sets(stage.namespace, selector(service, stage))
        if rs.revision < current.revision and rs.image != current.image
        and (rs.image in live or rs.image not in failed)
    ]  # fmt: skip
    if not earlier:
        why = f"no ReplicaSet revision before {current.revision} runs another image"
        raise nothing_to_roll_back(target, why)
    back = earlier[-1]
    log(f"rolling back to {back.image} (ReplicaSet {back.name}, revision {back.revision})")
    return back.image


def status(
    target: DeployTarget, log: Log, *, connect: Connect = Cluster.connect
) -> KubernetesStatus:
    cluster = connect(target.stage.context)
    name, namespace = target.service.metadata.name, target.stage.namespace
    state = cluster.deployment(name, namespace)
    lease = cluster.lease(target.names.lock, namespace)
    history = history_of(state)
    canary = None
    if target.stage.strategy == "canary":
        from jenkins_bridge.deploy import kubernetes_canary
        from jenkins_bridge.render.kubernetes import canary_object_name

        running = cluster.deployment(canary_object_name(target.service), namespace)
        canary = kubernetes_canary.describe(running)
    return KubernetesStatus(
        service=target.owner,
        environment=target.environment,
        engine=cluster.context,
        name=f"{namespace}/{name}",
        live=state.image if state else None,
        revision=state.revision if state else 0,
        replicas=state.replicas if state else 0,
        updated=state.updated if state else 0,
        ready=state.ready if state else 0,
        available=state.available if state else 0,
        lock=None if lease is None else describe_lock(lease[1].get(LOCK_LABEL)),
        last=history[-1] if history else None,
        canary=canary,
    )


class KubernetesPlatform(Platform):
    """The ``Platform`` of ``target: kubernetes``: one Deployment and Service in a namespace."""

    def __init__(self, target: DeployTarget, connect: Connect = Cluster.connect) -> None:
        self.target = target
        self.connect = connect

    @classmethod
    def resolve(
        cls, service: Service, environment: str, options: CommandOptions
    ) -> KubernetesPlatform:
        target = resolve_kubernetes_target(service, environment, timeout=options.timeout)
        if options.proxy_image:
            raise no_proxy(target)
        return cls(target)

    def deploy(
        self, image: str, environ: Mapping[str, str], log: Log, options: DeployOptions
    ) -> DeployResult:
        # The Deployment's rolling update replaces the strategy (its maxSurge/maxUnavailable).
        return deploy(self.target, image, environ, log, options, connect=self.connect)

    def previous_image(self, environ: Mapping[str, str], log: Log) -> str:
        return rollback_target_image(self.target, self.connect(self.target.stage.context), log)

    def status(self, log: Log) -> KubernetesStatus:
        return status(self.target, log, connect=self.connect)

    def history(self, log: Log) -> list[DeployRecord]:
        cluster = self.connect(self.target.stage.context)
        state = cluster.deployment(self.target.service.metadata.name, self.target.stage.namespace)
        return history_of(state) if state is not None else kept_history(cluster, self.target)

    def _locked(self, cluster: Cluster, options: DeployOptions, log: Log) -> DeployLock:
        leases = LeaseLocks(cluster, self.target.stage.namespace)
        return target_lock(leases, self.target, options, {}, log)

    def remove(self, log: Log, options: RemoveOptions) -> Removal:
        """The environment's Deployments, Services and PodDisruptionBudget, under the Lease
        lock; claims stay unless ``--volumes``, the history unless ``--history``."""
        cluster = self.connect(self.target.stage.context)
        terms = DeployOptions("remove", None, options.lock_wait, options.break_lock)
        with self._locked(cluster, terms, log):
            return remove_environment(self.target, cluster, self.history(log), log, options)

    def restart(self, companion: str, log: Log, options: DeployOptions) -> str:
        """``kubectl rollout restart`` of the companion's Deployment under the lock, until it
        is ready again."""
        find_companion(self.target, companion)
        cluster = self.connect(self.target.stage.context)
        namespace, timeout = self.target.stage.namespace, self.target.health_timeout

        def ready(name: str) -> tuple[bool, str]:
            ok, _, why = wait_rollout(cluster, name, namespace, timeout)
            return ok, why

        with self._locked(cluster, replace(options, action="restart"), log):
            return restart_companion(self.target, cluster, companion, iso(now()), ready, log)

    def plan(
        self, image: str, environ: Mapping[str, str], log: Log, options: DeployOptions
    ) -> DeployPlan:
        """What ``deploy`` would change, from a server-side dry run of each object."""
        target = self.target
        cluster = self.connect(target.stage.context)
        state = cluster.deployment(target.service.metadata.name, target.stage.namespace)
        live = state.image if state else None
        plan = DeployPlan(target.owner, target.environment, image, image, live)
        try:
            _check_secrets(target, cluster)
        except SecretUnbound as exc:
            plan.blockers.append(exc.message)
        leases = LeaseLocks(cluster, target.stage.namespace)
        held = lock_blocker(
            leases, target.names.lock, target.owner, target.environment, options.lock_wait
        )
        plan.blockers.extend([held] if held else [])
        planned = plan_deploy(target, cluster, image, pod_annotations(environ), live, plan)
        if target.stage.strategy == "canary":
            from jenkins_bridge.deploy import kubernetes_canary

            kubernetes_canary.plan_steps(target, state, image, planned)
        return planned

    def _kubectl(self, command: str) -> str:
        return (
            f"kubectl -n {self.target.stage.namespace} {command} "
            f"deployment/{self.target.service.metadata.name}"
        )

    def logs(
        self, log: Log, *, since: int | None, follow: bool, companion: str | None = None
    ) -> Iterator[str]:
        raise unsupported(self.target, "logs", self._kubectl("logs"))

    def exec(
        self,
        argv: tuple[str, ...],
        environ: Mapping[str, str],
        log: Log,
        *,
        companion: str | None = None,
        stdin: bytes | None = None,
    ) -> tuple[int, str]:
        raise unsupported(self.target, "exec", self._kubectl("exec") + " -- COMMAND")

    def lock(self, log: Log, *, release: bool) -> LockView:
        """The Lease lock's holder; with ``release``, the Lease deleted (``lock release``)."""
        leases = LeaseLocks(self.connect(self.target.stage.context), self.target.stage.namespace)
        act = release_lock if release else read_lock
        return act(leases, self.target.names.lock, self.target.owner, self.target.environment)

"""Deploys to Kubernetes (``target: kubernetes``): apply the rendered Deployment and Service
(server-side), wait for the rollout (observed generation, updated, ready and available
replicas) within the timeout, and on failure put the previous ReplicaSet's pod template back
and report ``rolled-back`` (exit 3): Kubernetes never rolls back on its own.

History and the lock are not kept for this target yet (the Docker-host ones live on an
engine); the result record carries the same fields."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from jenkins_bridge.deploy.errors import DeployError, SecretUnbound
from jenkins_bridge.deploy.records import DeployRecord
from jenkins_bridge.deploy.rollout import DeployResult, Log, _iso, _now
from jenkins_bridge.deploy.target import DeployTarget, Listen, find_stage
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.kube.cluster import Cluster, DeploymentState
from jenkins_bridge.render.kubernetes import manifests, selector

POLL_SECONDS = 1.0


def resolve_kubernetes_target(
    service: Service, environment: str, *, timeout: float | None = None
) -> DeployTarget:
    from jenkins_bridge.deploy.records import ObjectNames

    stage = find_stage(service, environment)
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


def deploy(
    target: DeployTarget,
    image: str,
    environ: Mapping[str, str],
    log: Log,
    *,
    action: str = "deploy",
    connect: Callable[[str | None], Cluster] = Cluster.connect,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeployResult:
    """Apply ``image``; ``live``, or ``rolled-back`` to the previous ReplicaSet (errors raise)."""
    service, stage = target.service, target.stage
    if service.image is None:
        raise DeployError(f"{service.path}: deploying needs an 'image' section")
    name, namespace = service.metadata.name, stage.namespace
    cluster = connect(stage.context)
    started = clock()
    if service.runtime.secrets:
        keys = cluster.secret_keys(stage.secret_name, namespace)
        missing = sorted(
            s.credentials_id
            for s in service.runtime.secrets
            if s.credentials_id not in (keys or ())
        )
        if missing:
            raise SecretUnbound(
                f"{service.path}: Secret {namespace}/{stage.secret_name} "
                + ("does not exist" if keys is None else f"has no key {', '.join(missing)}")
                + "; nothing was changed",
                hint=f"kubectl -n {namespace} create secret generic {stage.secret_name} "
                + " ".join(f"--from-literal={m}=..." for m in missing),
            )
    before = cluster.deployment(name, namespace)
    annotations = {
        key: value
        for key, value in (
            ("jenkins-bridge.dev/build-url", environ.get("BUILD_URL", "")),
            ("jenkins-bridge.dev/git-commit", environ.get("GIT_COMMIT", "")),
        )
        if value
    }
    deployment, service_object = manifests(service, stage, image, annotations)
    record = DeployRecord(
        seq=(before.revision + 1) if before else 1,
        action=action,
        environment=stage.environment,
        image=image,
        digest=image,
        container=f"{namespace}/{name}",
        previous=before.image if before else None,
        result="pending",
        started=_iso(_now()),
        duration_seconds=0.0,
        build_url=environ.get("BUILD_URL") or None,
        git_commit=environ.get("GIT_COMMIT") or None,
        descriptor_sha256=service.digest,
    )

    def finish(result: str, detail: str = "") -> DeployRecord:
        return replace(
            record, result=result, detail=detail, duration_seconds=round(clock() - started, 3)
        )

    log(f"applying Service and Deployment {namespace}/{name} ({stage.replicas} x {image})")
    cluster.apply(service_object)
    cluster.apply(deployment)
    ok, _, why = wait_rollout(
        cluster, name, namespace, target.health_timeout, sleep=sleep, clock=clock
    )
    if ok:
        log(f"rollout of {namespace}/{name} converged")
        return DeployResult("live", finish("live"))
    log(f"rollout of {namespace}/{name} failed: {why}")
    previous = [
        rs for rs in cluster.replica_sets(namespace, selector(service, stage))
        if before is not None and rs.revision <= before.revision and rs.image == before.image
    ]  # fmt: skip
    if not previous:
        raise DeployError(
            f"{namespace}/{name}: the rollout failed ({why}) and there is no previous "
            "ReplicaSet to return to",
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

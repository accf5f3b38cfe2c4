"""Operating a Kubernetes environment beside its deploys: ``remove`` (``helm uninstall``:
claims kept unless ``--volumes``, history kept unless ``--history``), ``restart`` of a
companion (``kubectl rollout restart``) and the dry run of a deploy (each object the deploy
would apply, dry-run applied on the server and compared with the live one).

The commands take the lock and the cluster from ``deploy.kubernetes.KubernetesPlatform``; the
history is the Deployment's annotation there, and ``remove`` keeps it in a ConfigMap named
like the Docker host's state container (``jb-…-state``), which ``history`` and the next
deploy read when the Deployment is gone, so the numbering goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jenkins_bridge.deploy.dry_run import DeployPlan
from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.deploy.options import Log, RemoveOptions
from jenkins_bridge.deploy.platform import not_running
from jenkins_bridge.deploy.records import DeployRecord, history_from_bytes, history_to_bytes
from jenkins_bridge.deploy.removal import Removal
from jenkins_bridge.deploy.target import DeployTarget
from jenkins_bridge.kube.cluster import Cluster
from jenkins_bridge.render.kubernetes import (
    app_object_name,
    canary_object_name,
    manifests,
    supporting_manifests,
)

HISTORY_KEY = "history.json"
# Fields the server owns or fills on every write: not what a deploy changes.
SERVER_FIELDS = {
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
    "status",
    "deployment.kubernetes.io/revision",
}
SHOWN_CHANGES = 6
Ready = Callable[[str], tuple[bool, str]]  # (converged, why not) of a Deployment by name


def kept_history(cluster: Cluster, target: DeployTarget) -> list[DeployRecord]:
    """The history ``remove`` kept in the state ConfigMap (none when there is none)."""
    found = cluster.read("ConfigMap", target.names.state, target.stage.namespace)
    text = ((found or {}).get("data") or {}).get(HISTORY_KEY, "")
    return history_from_bytes(str(text).encode()) if text else []


def _objects(target: DeployTarget) -> list[tuple[str, str]]:
    """(kind, name) of what a deploy of ``target`` applies, the app's last: the order to take
    them away in is the reverse."""
    service, stage = target.service, target.stage
    app = app_object_name(service)
    found = [(m["kind"], m["metadata"]["name"]) for m in supporting_manifests(service, stage)]
    found += [("PodDisruptionBudget", app), ("Service", app), ("Deployment", app)]
    found.append(("Deployment", canary_object_name(service)))  # an interrupted canary's
    return list(dict.fromkeys(found))


def remove_environment(
    target: DeployTarget,
    cluster: Cluster,
    history: list[DeployRecord],
    log: Log,
    options: RemoveOptions,
) -> Removal:
    """Delete the environment's objects (the caller holds its lock): Deployments and
    Services, the PodDisruptionBudget; claims only with ``volumes``; ``history`` is kept in
    the state ConfigMap unless ``options.history``."""
    namespace = target.stage.namespace
    removal = Removal(target.owner, target.environment)
    state = target.names.state
    if options.history:
        if cluster.delete("ConfigMap", state, namespace):
            removal.removed.append(f"ConfigMap {namespace}/{state} (history)")
    elif history:
        cluster.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": state, "namespace": namespace},
                "data": {HISTORY_KEY: history_to_bytes(history).decode()},
            }
        )
        removal.kept.append(
            f"history ConfigMap {namespace}/{state} ({len(history)} records; remove it with "
            "--history)"
        )
    for kind, name in reversed(_objects(target)):
        if kind == "PersistentVolumeClaim" and not options.volumes:
            if cluster.read(kind, name, namespace) is not None:
                removal.kept.append(
                    f"PersistentVolumeClaim {namespace}/{name} (remove it with --volumes)"
                )
            continue
        if cluster.delete(kind, name, namespace):
            log(f"removed {kind} {namespace}/{name}")
            removal.removed.append(f"{kind} {namespace}/{name}")
    return removal


def restart_companion(
    target: DeployTarget, cluster: Cluster, companion: str, moment: str, ready: Ready, log: Log
) -> str:
    """Replace the companion's pod (its claim stays) and wait until its Deployment converges
    again; the caller holds the lock."""
    namespace = target.stage.namespace
    where = f"Deployment {namespace}/{companion}"
    if cluster.deployment(companion, namespace) is None:
        raise not_running(
            target,
            f"companion {companion} ({where}) does not exist",
            "deploy the service first: a deploy starts its companions",
        )
    log(f"restarting companion {companion} ({where})")
    cluster.restart_deployment(companion, namespace, moment)
    ok, why = ready(companion)
    if not ok:
        raise DeployError(
            f"companion {companion} ({where}) restarted but did not become ready: {why}",
            hint=f"kubectl -n {namespace} describe deployment {companion}",
        )
    return f"companion {companion} restarted ({where}, ready)"


def plan_deploy(
    target: DeployTarget,
    cluster: Cluster,
    image: str,
    annotations: Mapping[str, str],
    live: str | None,
    plan: DeployPlan,
) -> DeployPlan:
    """Add to ``plan`` what a deploy of ``image`` would change, object by object in the
    deploy's order: each is dry-run applied on the server (its defaults and admission run,
    nothing is stored) and compared with the live object."""
    service, stage = target.service, target.stage
    deployment, service_object = manifests(service, stage, image, annotations)
    namespace = stage.namespace
    for manifest in [*supporting_manifests(service, stage), service_object, deployment]:
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        current = cluster.read(kind, name, namespace)
        if current is None:
            plan.step(f"create {kind} {namespace}/{name}")
            continue
        changed = changed_fields(current, cluster.apply_dry_run(manifest))
        if changed:
            shown = ", ".join(changed[:SHOWN_CHANGES])
            more = len(changed) - SHOWN_CHANGES
            plan.step(
                f"update {kind} {namespace}/{name}: {shown}"
                + (f" and {more} more field(s)" if more > 0 else "")
            )
        else:
            plan.keep(f"{kind} {namespace}/{name}")
    if live == image:
        plan.keep(f"{image} is already the Deployment's image")
    plan.step(
        f"wait for the rollout ({target.health_timeout:g} s); if it fails, put the previous "
        "ReplicaSet's pod template back"
    )
    return plan


def changed_fields(live: Mapping[str, Any], applied: Mapping[str, Any]) -> list[str]:
    """The dotted paths where ``applied`` (a dry-run apply's result) differs from ``live``,
    leaving out what the server owns (status, revisions, managed fields)."""
    return sorted(_differences(live, applied, ""))


def _differences(old: Any, new: Any, path: str) -> Iterator[str]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            if key in SERVER_FIELDS:
                continue
            yield from _differences(old.get(key), new.get(key), f"{path}.{key}" if path else key)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from _differences(a, b, f"{path}[{index}]")
    elif old != new:
        yield path

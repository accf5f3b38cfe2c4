"""Kubernetes manifests per ``target: kubernetes`` environment, from its merged runtime: the
app's Deployment (rolling update, a readiness probe from the healthcheck and a more tolerant
liveness probe, resources, env, secrets as ``secretKeyRef``s, pod security) and Service; each
companion as a Deployment, a Service and a PersistentVolumeClaim for its named volume; a
PodDisruptionBudget when replicas > 1. What Kubernetes cannot express is refused by
validation (``descriptor.environments``), never dropped here. Pure and deterministic;
``deploy`` applies the same objects with the image and the build's labels filled in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jenkins_bridge.descriptor.model import Companion, DeployStage, RuntimeSpec, Service
from jenkins_bridge.render.monitoring.yaml_text import generated_header, yaml_text

# The oldest and newest Kubernetes versions the manifests are validated against.
OLDEST_VERSION = "1.25.0"
NEWEST_VERSION = "1.37.0"
ENVIRONMENT_LABEL = "jenkins-bridge.dev/environment"
# Which version a pod runs, stable or canary: the scrape config turns it into the ``track``
# label of every series, so Prometheus compares the two during a canary. Not in any
# selector: the app's Service sends traffic to both tracks, in the ratio of their pods.
TRACK_LABEL = "jenkins-bridge.dev/track"
CANARY_SUFFIX = "-canary"
DIGEST_ANNOTATION = "jenkins-bridge.dev/descriptor-sha256"
APP_PORT_NAME = "http"
# Liveness restarts a pod, readiness only takes it out of the Service: liveness waits this
# many times longer (and at least LIVENESS_MIN_PERIOD_SECONDS between probes) so a slow
# moment is not a restart.
LIVENESS_TOLERANCE = 3
LIVENESS_MIN_PERIOD_SECONDS = 10


def app_object_name(service: Service) -> str:
    """The name of the app's Deployment and Service (one environment per namespace, which
    validation enforces, keeps it unique)."""
    return service.metadata.name


def volume_claim_name(service: Service, volume: str) -> str:
    return f"{service.metadata.name}-{volume}"


def kubernetes_stages(service: Service) -> list[DeployStage]:
    return [s for s in service.deploy if s.target == "kubernetes"]


def canary_object_name(service: Service) -> str:
    """The canary Deployment beside the app's (``target: kubernetes``, ``strategy: canary``)."""
    return f"{app_object_name(service)}{CANARY_SUFFIX}"


def selector(service: Service, stage: DeployStage) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": service.metadata.name,
        ENVIRONMENT_LABEL: stage.environment,
    }


def _labels(service: Service, stage: DeployStage) -> dict[str, str]:
    return {
        **selector(service, stage),
        "app.kubernetes.io/part-of": service.metadata.team,
        "app.kubernetes.io/managed-by": "jenkins-bridge",
    }


def _quantity_cpu(cpus: float) -> str:
    return f"{round(cpus * 1000)}m"


def _readiness(runtime: RuntimeSpec) -> dict[str, Any]:
    check = runtime.healthcheck
    return {
        "httpGet": {"path": check.path, "port": APP_PORT_NAME},
        "initialDelaySeconds": check.start_period_seconds,
        "periodSeconds": check.interval_seconds,
        "timeoutSeconds": check.timeout_seconds,
        "failureThreshold": check.retries,
    }


def _liveness(runtime: RuntimeSpec) -> dict[str, Any]:
    check = runtime.healthcheck
    return {
        **_readiness(runtime),
        "periodSeconds": max(check.interval_seconds * 2, LIVENESS_MIN_PERIOD_SECONDS),
        "failureThreshold": check.retries * LIVENESS_TOLERANCE,
    }


def _env(
    plain: Mapping[str, str], secrets: tuple[Any, ...], stage: DeployStage
) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(plain.items())]
    env += [
        {
            "name": secret.env,
            "valueFrom": {
                "secretKeyRef": {"name": stage.secret_name, "key": secret.credentials_id}
            },
        }
        for secret in sorted(secrets, key=lambda s: s.env)
    ]
    return env


def _tmpfs_volumes(runtime: RuntimeSpec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each tmpfs path as a memory-backed emptyDir: (pod volumes, container mounts)."""
    volumes, mounts = [], []
    for index, path in enumerate(runtime.security.tmpfs):
        volumes.append({"name": f"tmpfs-{index}", "emptyDir": {"medium": "Memory"}})
        mounts.append({"name": f"tmpfs-{index}", "mountPath": path})
    return volumes, mounts


def _pod_security(stage: DeployStage) -> dict[str, Any]:
    pod = stage.pod_security
    return {
        "runAsNonRoot": pod.run_as_non_root,
        "seccompProfile": {"type": pod.seccomp_profile},
    }


def _container(service: Service, stage: DeployStage, image: str) -> dict[str, Any]:
    runtime = service.runtime_for(stage)
    env = _env(
        {**{k: v for k, v in runtime.env.items() if k != "PORT"}, "PORT": str(runtime.port)},
        runtime.secrets,
        stage,
    )
    security: dict[str, Any] = {
        "allowPrivilegeEscalation": not runtime.security.no_new_privileges,
        "readOnlyRootFilesystem": stage.pod_security.read_only_root_filesystem,
    }
    if runtime.security.cap_drop or runtime.security.cap_add:
        capabilities: dict[str, Any] = {}
        if runtime.security.cap_add:
            capabilities["add"] = list(runtime.security.cap_add)
        if runtime.security.cap_drop:
            capabilities["drop"] = list(runtime.security.cap_drop)
        security["capabilities"] = capabilities
    user = runtime.security.user
    if user and user.split(":")[0].isdigit():
        security["runAsUser"] = int(user.split(":")[0])
    container: dict[str, Any] = {
        "name": "app",
        "image": image,
        "ports": [{"name": APP_PORT_NAME, "containerPort": runtime.port, "protocol": "TCP"}],
        "env": env,
        "readinessProbe": _readiness(runtime),
        "livenessProbe": _liveness(runtime),
        "securityContext": security,
    }
    mounts = _tmpfs_volumes(runtime)[1]
    if mounts:
        container["volumeMounts"] = mounts
    limits: dict[str, str] = {}
    if runtime.resources.cpus:
        limits["cpu"] = _quantity_cpu(runtime.resources.cpus)
    if runtime.resources.memory:
        limits["memory"] = runtime.resources.memory
    if limits:
        container["resources"] = {"limits": limits, "requests": dict(limits)}
    return container


def manifests(
    service: Service, stage: DeployStage, image: str, annotations: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The app's Deployment and Service of ``stage`` running ``image``; its pods are the
    stable track."""
    runtime = service.runtime_for(stage)
    labels = _labels(service, stage)
    name = app_object_name(service)
    pod_spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": runtime.stop_timeout_seconds,
        "securityContext": _pod_security(stage),
        "containers": [_container(service, stage, image)],
    }
    volumes = _tmpfs_volumes(runtime)[0]
    if volumes:
        pod_spec["volumes"] = volumes
    metadata = {
        "name": name,
        "namespace": stage.namespace,
        "labels": labels,
        "annotations": {DIGEST_ANNOTATION: service.digest},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": stage.replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": selector(service, stage)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {"labels": {**labels, TRACK_LABEL: "stable"}}
                | ({"annotations": dict(sorted(annotations.items()))} if annotations else {}),
                "spec": pod_spec,
            },
        },
    }
    service_object = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {**metadata, "annotations": {DIGEST_ANNOTATION: service.digest}},
        "spec": {
            "type": "ClusterIP",
            "selector": selector(service, stage),
            "ports": [
                {
                    "name": APP_PORT_NAME,
                    "port": runtime.port,
                    "targetPort": APP_PORT_NAME,
                    "protocol": "TCP",
                }
            ],
        },
    }
    return deployment, service_object


def canary_deployment(
    service: Service,
    stage: DeployStage,
    image: str,
    annotations: Mapping[str, str],
    replicas: int,
) -> dict[str, Any]:
    """The canary Deployment of ``stage``: the app's pod template running ``image`` with the
    canary track, ``replicas`` pods. Its selector adds the track, so it never counts the
    stable pods; the stable Deployment's selector (immutable, without the track) matches
    canary pods too, but a ReplicaSet only manages pods it owns (their controller reference).
    """
    deployment = manifests(service, stage, image, annotations)[0]
    spec = deployment["spec"]
    template = spec["template"]
    canary_selector = {**selector(service, stage), TRACK_LABEL: "canary"}
    return {
        **deployment,
        "metadata": {**deployment["metadata"], "name": canary_object_name(service)},
        "spec": {
            **spec,
            "replicas": replicas,
            "selector": {"matchLabels": canary_selector},
            "template": {
                **template,
                "metadata": {
                    **template["metadata"],
                    "labels": {**template["metadata"]["labels"], TRACK_LABEL: "canary"},
                },
            },
        },
    }


def _companion_objects(
    service: Service, stage: DeployStage, companion: Companion
) -> list[dict[str, Any]]:
    """A companion's PersistentVolumeClaim (named volume), Deployment (one replica, recreated:
    the claim is ReadWriteOnce) and Service (its name is the host name the app uses)."""
    assert companion.port is not None  # validation refuses a companion without one here
    selector_labels = {
        "app.kubernetes.io/name": companion.name,
        "app.kubernetes.io/instance": service.metadata.name,
        ENVIRONMENT_LABEL: stage.environment,
    }
    labels = {
        **selector_labels,
        "app.kubernetes.io/component": "companion",
        "app.kubernetes.io/part-of": service.metadata.team,
        "app.kubernetes.io/managed-by": "jenkins-bridge",
    }

    def metadata(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "namespace": stage.namespace,
            "labels": dict(labels),
            "annotations": {DIGEST_ANNOTATION: service.digest},
        }

    objects: list[dict[str, Any]] = []
    container: dict[str, Any] = {
        "name": companion.name,
        "image": companion.image,
        "ports": [{"name": "main", "containerPort": companion.port, "protocol": "TCP"}],
        "securityContext": {"allowPrivilegeEscalation": False},
    }
    if companion.command:
        container["args"] = list(companion.command)  # Docker's command is the image's CMD
    env = _env(companion.env, companion.secrets, stage)
    if env:
        container["env"] = env
    check = companion.healthcheck
    if check is not None and check.command:
        container["readinessProbe"] = {
            "exec": {"command": list(check.command)},
            "initialDelaySeconds": check.start_period_seconds,
            "periodSeconds": check.interval_seconds,
            "timeoutSeconds": check.timeout_seconds,
            "failureThreshold": check.retries,
        }
    pod_spec: dict[str, Any] = {
        "securityContext": {"seccompProfile": {"type": stage.pod_security.seccomp_profile}},
        "containers": [container],
    }
    if companion.volume is not None:
        claim = volume_claim_name(service, companion.volume.name)
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": metadata(claim),
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": companion.volume.size}},
                },
            }
        )
        container["volumeMounts"] = [{"name": "data", "mountPath": companion.volume.path}]
        pod_spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    objects.append(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata(companion.name),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": selector_labels},
                "strategy": {"type": "Recreate"},
                "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
            },
        }
    )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(companion.name),
            "spec": {
                "type": "ClusterIP",
                "selector": selector_labels,
                "ports": [
                    {
                        "name": "main",
                        "port": companion.port,
                        "targetPort": "main",
                        "protocol": "TCP",
                    }
                ],
            },
        }
    )
    return objects


def supporting_manifests(service: Service, stage: DeployStage) -> list[dict[str, Any]]:
    """What the app's Deployment needs beside it, in the order to apply: the companions
    (started first, as on every target) and, with more than one replica, a
    PodDisruptionBudget that keeps all but one replica through a voluntary disruption."""
    objects = [
        obj
        for companion in service.runtime_for(stage).companions
        for obj in _companion_objects(service, stage, companion)
    ]
    if stage.replicas > 1:
        objects.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {
                    "name": app_object_name(service),
                    "namespace": stage.namespace,
                    "labels": _labels(service, stage),
                    "annotations": {DIGEST_ANNOTATION: service.digest},
                },
                "spec": {
                    "maxUnavailable": 1,
                    "selector": {"matchLabels": selector(service, stage)},
                },
            }
        )
    return objects


def render_kubernetes(service: Service, stage: DeployStage) -> str:
    """``kubernetes/<environment>.yaml``: the image is the repository's ``latest`` until a
    deploy sets the one it resolved."""
    assert service.image is not None
    image = f"{service.image.repository}:latest"
    deployment, service_object = manifests(service, stage, image, {})
    objects = [*supporting_manifests(service, stage), service_object, deployment]
    return generated_header(service.origin) + "---\n".join(yaml_text(o) for o in objects)

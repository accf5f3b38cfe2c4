"""Kubernetes manifests per ``target: kubernetes`` environment: a Deployment (rolling update,
readiness and liveness probes from the healthcheck, resources, env, secrets as
``secretKeyRef``s) and a Service. Pure and deterministic; ``deploy`` applies the same objects
with the image and the build's labels filled in (``manifests``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jenkins_bridge.descriptor.model import DeployStage, Service
from jenkins_bridge.render.monitoring.yaml_text import generated_header, yaml_text

# The oldest and newest Kubernetes versions the manifests are validated against.
OLDEST_VERSION = "1.25.0"
NEWEST_VERSION = "1.37.0"
ENVIRONMENT_LABEL = "jenkins-bridge.dev/environment"
DIGEST_ANNOTATION = "jenkins-bridge.dev/descriptor-sha256"


def kubernetes_stages(service: Service) -> list[DeployStage]:
    return [s for s in service.deploy if s.target == "kubernetes"]


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


def _probe(service: Service) -> dict[str, Any]:
    check = service.runtime.healthcheck
    return {
        "httpGet": {"path": check.path, "port": "http"},
        "initialDelaySeconds": check.start_period_seconds,
        "periodSeconds": check.interval_seconds,
        "timeoutSeconds": check.timeout_seconds,
        "failureThreshold": check.retries,
    }


def _container(service: Service, stage: DeployStage, image: str) -> dict[str, Any]:
    runtime = service.runtime
    env: list[dict[str, Any]] = [{"name": "PORT", "value": str(runtime.port)}]
    env += [{"name": k, "value": v} for k, v in sorted(runtime.env.items()) if k != "PORT"]
    env += [
        {
            "name": secret.env,
            "valueFrom": {
                "secretKeyRef": {"name": stage.secret_name, "key": secret.credentials_id}
            },
        }
        for secret in sorted(runtime.secrets, key=lambda s: s.env)
    ]
    security: dict[str, Any] = {
        "allowPrivilegeEscalation": not runtime.security.no_new_privileges,
        "readOnlyRootFilesystem": runtime.security.read_only,
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
        "ports": [{"name": "http", "containerPort": runtime.port, "protocol": "TCP"}],
        "env": env,
        "readinessProbe": _probe(service),
        "livenessProbe": _probe(service),
        "securityContext": security,
    }
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
    """The Deployment and the Service of ``stage`` running ``image``."""
    labels = _labels(service, stage)
    name = service.metadata.name
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
                "metadata": {"labels": dict(labels)}
                | ({"annotations": dict(sorted(annotations.items()))} if annotations else {}),
                "spec": {
                    "terminationGracePeriodSeconds": service.runtime.stop_timeout_seconds,
                    "containers": [_container(service, stage, image)],
                },
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
                    "name": "http",
                    "port": service.runtime.port,
                    "targetPort": "http",
                    "protocol": "TCP",
                }
            ],
        },
    }
    return deployment, service_object


def render_kubernetes(service: Service, stage: DeployStage) -> str:
    """``kubernetes/<environment>.yaml``: the image is the repository's ``latest`` until a
    deploy sets the one it resolved."""
    assert service.image is not None
    image = f"{service.image.repository}:latest"
    deployment, service_object = manifests(service, stage, image, {})
    return (
        generated_header(service.origin)
        + yaml_text(deployment)
        + "---\n"
        + yaml_text(service_object)
    )

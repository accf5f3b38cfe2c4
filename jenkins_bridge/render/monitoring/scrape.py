"""Prometheus configuration per deploy environment: where the service's targets are and the
labels (team, service, environment) every rule and dashboard selects on. Each file is a
complete configuration that loads the service's rules, so it can run as it is."""

from __future__ import annotations

import re
from typing import Any

from jenkins_bridge.descriptor.environments import slot_ports
from jenkins_bridge.descriptor.model import DeployStage, Service
from jenkins_bridge.descriptor.naming import ObjectNames
from jenkins_bridge.render.monitoring.rules import STABLE, TRACK, VERSION
from jenkins_bridge.render.monitoring.yaml_text import generated_header, yaml_text

RULES_FILE = "rules.yml"
# The labels deploy puts on a Docker host's app containers (deploy/records.py; a test keeps
# the two in step): which service, environment and role, and the deploy's seq, the version.
# Not the track: a container's labels never change, so a promoted canary says canary forever.
DOCKER_LABEL = "dev.jenkins-bridge"
DOCKER_SEQ_LABEL = f"{DOCKER_LABEL}.seq"
DOCKER_SOCKET = "unix:///var/run/docker.sock"


def job_name(service: Service, stage: DeployStage) -> str:
    return f"{service.metadata.team}/{service.metadata.name}/{stage.environment}"


def target_labels(service: Service, environment: str) -> dict[str, str]:
    return {
        "team": service.metadata.team,
        "service": service.metadata.name,
        "environment": environment,
    }


def _listen_host(listen: str | None) -> str:
    """The address deploy probes a listen address on (``0.0.0.0``/``[::]`` bind every
    address; loopback answers for them)."""
    host = (listen or "127.0.0.1:0").rpartition(":")[0].strip("[]")
    if host == "localhost":
        return "127.0.0.1"
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def scrape_targets(service: Service, stage: DeployStage) -> list[str]:
    """The static ``host:port`` targets of a Docker host or a Swarm on host networking: what
    deploy serves and probes (the proxy's listen address; one port per task slot)."""
    runtime = service.runtime_for(stage)
    if stage.target == "swarm" and stage.network == "host":
        value = runtime.env.get("PORT", str(runtime.port))
        ports = slot_ports(value, stage.replicas) or [runtime.port]
        host = _listen_host(stage.listen)
        return [f"{host}:{port}" for port in sorted(set(ports))]
    return [stage.listen or f"127.0.0.1:{runtime.port}"]


def swarm_service_name(service: Service, stage: DeployStage) -> str:
    """The Swarm service deploy creates for ``stage`` (the descriptor layer's naming)."""
    return ObjectNames.of(service.metadata.team, service.metadata.name, stage.environment).base


def _discovery(service: Service, stage: DeployStage) -> dict[str, Any]:
    """Static targets for a Docker host (its proxy's ``listen`` address) and a Swarm on host
    networking (one port per task slot); on a Swarm overlay, the DNS of the service's tasks
    on its overlay network (Prometheus runs attached to it), each task on the app's port;
    on Kubernetes, the ``http`` endpoints of the Service deploy applies, in its namespace,
    each with its pod's track (stable or canary) as the ``track`` label; a Docker host whose
    canary Prometheus judges, each app container with its deploy's seq as ``version``."""
    labels = target_labels(service, stage.environment)
    runtime = service.runtime_for(stage)
    if stage.target == "swarm" and stage.network != "host":
        name = swarm_service_name(service, stage)
        return {
            "dns_sd_configs": [{"names": [f"tasks.{name}"], "type": "A", "port": runtime.port}],
            "relabel_configs": _static_labels(labels),
        }
    if stage.target == "kubernetes":
        # here, not at the top: render.kubernetes imports this package's yaml_text
        from jenkins_bridge.render.kubernetes import APP_PORT_NAME, TRACK_LABEL, app_object_name

        return {
            "kubernetes_sd_configs": [
                {"role": "endpoints", "namespaces": {"names": [stage.namespace]}}
            ],
            "relabel_configs": [
                {
                    "source_labels": [
                        "__meta_kubernetes_service_name",
                        "__meta_kubernetes_endpoint_port_name",
                    ],
                    "regex": f"{app_object_name(service)};{APP_PORT_NAME}",
                    "action": "keep",
                },
                *_static_labels(labels),
                *_track_labels(_sanitized("__meta_kubernetes_pod_label_", TRACK_LABEL)),
            ],
        }
    if stage.target == "docker" and stage.strategy == "canary" and stage.canary.prometheus:
        return _docker_containers(service, stage, labels)
    return {"static_configs": [{"targets": scrape_targets(service, stage), "labels": labels}]}


def _docker_containers(
    service: Service, stage: DeployStage, labels: dict[str, str]
) -> dict[str, Any]:
    """A Docker host judged by Prometheus during a canary: each app container on its own (the
    proxy's address would mix both versions), found through the engine by deploy's labels,
    on the environment's network at the app's port, its ``version`` the deploy's seq from its
    container label (true for the container's whole life, unlike the track it was started
    for: a promoted canary keeps its labels). Prometheus runs on the Docker host (container
    addresses are the host's to reach); an ``ssh://`` engine is read through the host's own
    socket. The engine is asked every scrape interval (Prometheus' default is a minute): a
    canary is judged for its first steps only if it is scraped from its start."""
    host = stage.host if stage.host and stage.host.startswith(("unix://", "tcp://")) else None
    names = ObjectNames.of(service.metadata.team, service.metadata.name, stage.environment)
    owner = {"service": service.full_name, "environment": stage.environment, "role": "app"}
    return {
        "docker_sd_configs": [
            {
                "host": host or DOCKER_SOCKET,
                "port": service.runtime_for(stage).port,
                "refresh_interval": f"{service.monitoring.scrape_interval_seconds}s",
                "filters": [
                    {
                        "name": "label",
                        "values": [f"{DOCKER_LABEL}.{k}={v}" for k, v in owner.items()],
                    }
                ],
            }
        ],
        "relabel_configs": [
            {
                "source_labels": ["__meta_docker_network_name"],
                "regex": re.escape(names.network),
                "action": "keep",
            },
            *_static_labels(labels),
            {
                "source_labels": [_sanitized("__meta_docker_container_label_", DOCKER_SEQ_LABEL)],
                "target_label": VERSION,
                "action": "replace",
            },
        ],
    }


def _sanitized(prefix: str, label: str) -> str:
    """A discovery meta label: Prometheus turns every other character into ``_``."""
    return prefix + "".join(c if c.isalnum() else "_" for c in label)


def _track_labels(source: str) -> list[dict[str, Any]]:
    """``track`` from a pod or container label; a workload from before tracks existed is the
    stable one."""
    return [
        {
            "source_labels": [source],
            "regex": "(.+)",
            "target_label": TRACK,
            "replacement": "$1",
            "action": "replace",
        },
        {
            "source_labels": [source],
            "regex": "",
            "target_label": TRACK,
            "replacement": STABLE,
            "action": "replace",
        },
    ]


def _static_labels(labels: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"target_label": name, "replacement": value, "action": "replace"}
        for name, value in labels.items()
    ]


def render_scrape_config(service: Service, stage: DeployStage) -> str:
    """``prometheus-<environment>.yml``: the environment's scrape job and the rule file."""
    interval = f"{service.monitoring.scrape_interval_seconds}s"
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [RULES_FILE],
        "scrape_configs": [
            {
                "job_name": job_name(service, stage),
                "metrics_path": service.monitoring.metrics_path,
                "scrape_interval": interval,
                **_discovery(service, stage),
            }
        ],
    }
    return generated_header(service.origin) + yaml_text(config)

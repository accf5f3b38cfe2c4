"""Prometheus configuration per deploy environment: where the service's targets are and the
labels (team, service, environment) every rule and dashboard selects on. Each file is a
complete configuration that loads the service's rules, so it can run as it is."""

from __future__ import annotations

from typing import Any

from jenkins_bridge.descriptor.model import DeployStage, Service
from jenkins_bridge.render.monitoring.yaml_text import generated_header, yaml_text

RULES_FILE = "rules.yml"


def job_name(service: Service, stage: DeployStage) -> str:
    return f"{service.metadata.team}/{service.metadata.name}/{stage.environment}"


def target_labels(service: Service, environment: str) -> dict[str, str]:
    return {
        "team": service.metadata.team,
        "service": service.metadata.name,
        "environment": environment,
    }


def _discovery(service: Service, stage: DeployStage) -> dict[str, Any]:
    """Static targets for a Docker host (its ``listen`` address, else the container's port
    on the host); the orchestrator's discovery for swarm (the service's task addresses) and
    Kubernetes (the endpoints of the Service named like ours, in the team's namespace)."""
    labels = target_labels(service, stage.environment)
    port = service.runtime.port
    name = service.metadata.name
    if stage.target == "swarm":
        return {
            "dns_sd_configs": [{"names": [f"tasks.{name}"], "type": "A", "port": port}],
            "relabel_configs": _static_labels(labels),
        }
    if stage.target == "kubernetes":
        return {
            "kubernetes_sd_configs": [
                {"role": "endpoints", "namespaces": {"names": [service.metadata.team]}}
            ],
            "relabel_configs": [
                {
                    "source_labels": ["__meta_kubernetes_service_name"],
                    "regex": name,
                    "action": "keep",
                },
                *_static_labels(labels),
            ],
        }
    target = stage.listen or f"127.0.0.1:{port}"
    return {"static_configs": [{"targets": [target], "labels": labels}]}


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

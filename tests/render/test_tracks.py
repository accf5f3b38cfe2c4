"""The two tracks (stable, canary) in the rendered files: on Kubernetes the app's pods are
``stable`` and a canary Deployment's pods ``canary``, the Service selects both, and the scrape
config turns the pod label into the ``track`` label every series carries; on a Docker host
judged by Prometheus, each app container is scraped with its container's track label."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import GOLDEN

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.descriptor.model import DeployStage, Service
from jenkins_bridge.render.kubernetes import (
    NEWEST_VERSION,
    OLDEST_VERSION,
    TRACK_LABEL,
    canary_deployment,
    manifests,
)
from jenkins_bridge.render.monitoring.scrape import render_scrape_config

IMAGE = "registry.example.com/shop/orders@sha256:" + "2" * 64


def _orders() -> tuple[Service, DeployStage]:
    (service,) = load_services([GOLDEN / "kubernetes" / "orders.yaml"])
    return service, service.deploy[1]


def test_the_canary_deployment_is_the_app_with_the_canary_track() -> None:
    service, stage = _orders()
    stable, service_object = manifests(service, stage, IMAGE, {})
    canary = canary_deployment(service, stage, IMAGE, {"a": "b"}, 1)
    assert canary["metadata"]["name"] == "orders-canary"
    assert canary["spec"]["replicas"] == 1
    assert canary["spec"]["selector"]["matchLabels"] == {
        **stable["spec"]["selector"]["matchLabels"],
        TRACK_LABEL: "canary",
    }
    labels = canary["spec"]["template"]["metadata"]["labels"]
    assert labels[TRACK_LABEL] == "canary"
    assert stable["spec"]["template"]["metadata"]["labels"][TRACK_LABEL] == "stable"
    assert canary["spec"]["template"]["metadata"]["annotations"] == {"a": "b"}
    # the Service routes to both tracks: its selector matches canary and stable pods alike
    assert all(labels.get(k) == v for k, v in service_object["spec"]["selector"].items())
    assert TRACK_LABEL not in service_object["spec"]["selector"]
    # the pod spec is the stable one's but for the image
    assert canary["spec"]["template"]["spec"] == stable["spec"]["template"]["spec"]


@pytest.mark.parametrize("version", [OLDEST_VERSION, NEWEST_VERSION])
def test_the_canary_deployment_validates_strictly(version: str, tmp_path: Path) -> None:
    service, stage = _orders()
    path = tmp_path / "canary.yaml"
    path.write_text(yaml.safe_dump(canary_deployment(service, stage, IMAGE, {}, 2)))
    tool = shutil.which("kubernetes-validate", path=str(Path(sys.executable).parent))
    assert tool is not None
    done = subprocess.run(
        [tool, "--strict", "--no-warn", "-k", version, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "passed" in done.stdout, done.stdout + done.stderr


def test_the_scrape_config_labels_each_series_with_its_pods_track() -> None:
    service, stage = _orders()
    config = yaml.safe_load(render_scrape_config(service, stage))
    (job,) = config["scrape_configs"]
    track = [r for r in job["relabel_configs"] if r.get("target_label") == "track"]
    source = "__meta_kubernetes_pod_label_jenkins_bridge_dev_track"
    assert track == [
        {
            "source_labels": [source],
            "regex": "(.+)",
            "target_label": "track",
            "replacement": "$1",
            "action": "replace",
        },
        # a pod without the label (deployed before tracks existed) is the stable one
        {
            "source_labels": [source],
            "regex": "",
            "target_label": "track",
            "replacement": "stable",
            "action": "replace",
        },
    ]


DOCKER_CANARY = """apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: web, team: shop}
source: {repo: https://git.example.com/shop/web.git}
image: {repository: registry.example.com/shop/web}
runtime: {port: 8081}
deploy:
  - environment: staging
    listen: 127.0.0.1:18080
    strategy: canary
    canary: {prometheus: "http://127.0.0.1:9090"}
  - environment: production
    listen: 127.0.0.1:18081
    strategy: canary
monitoring: {slo: {availability: 99.5}}
"""


def test_a_docker_canary_judged_by_prometheus_scrapes_each_container_with_its_version(
    tmp_path: Path,
) -> None:
    from jenkins_bridge.deploy.records import (
        ENVIRONMENT_LABEL,
        ROLE_LABEL,
        SEQ_LABEL,
        SERVICE_LABEL,
    )
    from jenkins_bridge.descriptor.naming import ObjectNames

    path = tmp_path / "web.yaml"
    path.write_text(DOCKER_CANARY, encoding="utf-8")
    (service,) = load_services([path])
    staging, production = service.deploy
    (job,) = yaml.safe_load(render_scrape_config(service, staging))["scrape_configs"]
    # the labels deploy puts on the app containers (deploy/records.py), one filter of them all
    assert job["docker_sd_configs"] == [
        {
            "host": "unix:///var/run/docker.sock",
            "port": 8081,
            "refresh_interval": "15s",
            "filters": [
                {
                    "name": "label",
                    "values": [
                        f"{SERVICE_LABEL}=shop/web",
                        f"{ENVIRONMENT_LABEL}=staging",
                        f"{ROLE_LABEL}=app",
                    ],
                }
            ],
        }
    ]
    keep, *_, version = job["relabel_configs"]
    network = ObjectNames.of("shop", "web", "staging").network
    assert keep["action"] == "keep" and keep["regex"].replace("\\", "") == network
    # the deploy's seq, true for a container's whole life; not the track it was started for,
    # which a promoted canary keeps (a container's labels never change)
    source = "__meta_docker_container_label_" + SEQ_LABEL.replace(".", "_").replace("-", "_")
    assert version == {"source_labels": [source], "target_label": "version", "action": "replace"}
    assert not [r for r in job["relabel_configs"] if r.get("target_label") == "track"]
    # a canary judged from the proxy's log keeps scraping the proxy's address
    (plain,) = yaml.safe_load(render_scrape_config(service, production))["scrape_configs"]
    assert plain["static_configs"][0]["targets"] == ["127.0.0.1:18081"]


@pytest.mark.prometheus
def test_the_docker_canary_scrape_config_passes_promtool(tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(DOCKER_CANARY, encoding="utf-8")
    (service,) = load_services([path])
    config = tmp_path / "prometheus-staging.yml"
    config.write_text(render_scrape_config(service, service.deploy[0]), encoding="utf-8")
    (tmp_path / "rules.yml").write_text("groups: []\n", encoding="utf-8")
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is not installed (Debian prometheus)"
    done = subprocess.run(
        [promtool, "check", "config", "--lint=all", "--lint-fatal", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr

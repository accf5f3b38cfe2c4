"""The two tracks of a Kubernetes environment: the app's pods are ``stable``, a canary
Deployment's pods ``canary``; the Service selects both; the scrape config turns the pod label
into the ``track`` label every series carries."""

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

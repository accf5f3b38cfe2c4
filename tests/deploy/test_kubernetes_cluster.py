"""Against a real cluster, when there is one: KUBECONFIG names it and JB_K8S_IMAGES gives three
pullable versions of the test app (tests/deploy/app: v1, v2 healthy, v3 without /healthz),
comma-separated. v1 live, v2 live, v3 rolled back to v2 (exit 3). Skipped otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from .conftest import CLI

pytestmark = [pytest.mark.kubernetes]

DESCRIPTOR = """\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {{name: {name}, team: jbt}}
source: {{repo: https://git.example.com/jbt/{name}.git}}
image: {{repository: example.invalid/jbt/{name}}}
runtime:
  port: 8080
  healthcheck: {{path: /healthz, intervalSeconds: 1, timeoutSeconds: 1, retries: 2,
                startPeriodSeconds: 0}}
deploy:
  - environment: test
    target: kubernetes
    replicas: 2
    namespace: {namespace}
    healthTimeoutSeconds: 60
"""


def test_real_cluster_rollout_and_rollback(tmp_path: Path) -> None:
    images = [i for i in os.environ.get("JB_K8S_IMAGES", "").split(",") if i]
    if not os.environ.get("KUBECONFIG") or len(images) != 3:
        pytest.skip("set KUBECONFIG and JB_K8S_IMAGES=v1,v2,v3 to run against a real cluster")
    name = f"svc-{uuid.uuid4().hex[:8]}"
    descriptor = tmp_path / "svc.yaml"
    namespace = os.environ.get("JB_K8S_NAMESPACE", "default")
    descriptor.write_text(DESCRIPTOR.format(name=name, namespace=namespace))

    def deploy(image: str) -> tuple[int, dict[str, object]]:
        done = subprocess.run(
            [str(CLI), "--output", "json", "deploy", str(descriptor), "--env", "test",
             "--image", image],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        return done.returncode, json.loads(done.stdout or "{}")

    try:
        assert deploy(images[0])[0] == 0
        assert deploy(images[1])[0] == 0
        code, out = deploy(images[2])
        assert code == 3, out
    finally:
        subprocess.run(
            ["kubectl", "-n", namespace, "delete", "deployment,service", name],
            capture_output=True,
            timeout=120,
        )

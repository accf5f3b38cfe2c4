"""Against a real cluster, when there is one: KUBECONFIG names it and JB_K8S_IMAGES gives three
pullable versions of the test app (tests/deploy/app: v1, v2 healthy, v3 without /healthz),
comma-separated. v1 live, v2 live, v3 rolled back to v2 (exit 3); status, history (the
Deployment's annotation), rollback to v1, the lock Lease released, logs/exec refused naming
kubectl. Skipped otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge.descriptor.naming import ObjectNames

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

    def run(*args: str) -> tuple[int, dict[str, Any]]:
        done = subprocess.run(
            [str(CLI), "--output", "json", args[0], str(descriptor), "--env", "test", *args[1:]],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        return done.returncode, json.loads(done.stdout or "{}")

    try:
        assert run("deploy", "--image", images[0])[0] == 0
        assert run("deploy", "--image", images[1])[0] == 0
        code, out = run("deploy", "--image", images[2])
        assert code == 3, out
        code, out = run("status")
        assert code == 0 and out["data"]["live"]["image"] == images[1], out
        assert out["data"]["lock"] is None
        code, out = run("history")
        results = [(r["image"], r["result"]) for r in out["data"]["records"]]
        assert results == [(images[0], "live"), (images[1], "live"), (images[2], "rolled-back")]
        code, out = run("rollback")
        assert code == 0 and out["data"]["record"]["image"] == images[0], out
        code, out = run("logs")
        assert code == 1 and "kubectl" in json.dumps(out["errors"])
        lease = subprocess.run(
            ["kubectl", "-n", namespace, "get", "lease", ObjectNames.of("jbt", name, "test").lock],
            capture_output=True,
            timeout=60,
        )
        assert lease.returncode != 0  # released
    finally:
        subprocess.run(
            ["kubectl", "-n", namespace, "delete", "deployment,service", name],
            capture_output=True,
            timeout=120,
        )

"""Against a real cluster, when there is one: KUBECONFIG names it and JB_K8S_IMAGES gives three
pullable versions of the test app (tests/deploy/app: v1, v2 healthy, v3 without /healthz),
comma-separated. v1 live, v2 live, v3 rolled back to v2 (exit 3); status, history (the
Deployment's annotation), rollback to v1, the lock Lease released, logs/exec refused naming
kubectl. The canary case (JB_K8S_PROMETHEUS, JB_K8S_CANARY_IMAGES) promotes a good version
and rolls back a bad one judged by Prometheus. Skipped otherwise."""

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


CANARY_DESCRIPTOR = """\
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
    healthTimeoutSeconds: 120
    strategy: canary
    canary: {{steps: [50, 100], intervalSeconds: 90, minRequests: 20, prometheus: "{prometheus}"}}
monitoring: {{scrapeIntervalSeconds: 5, slo: {{availability: 99}}}}
"""


def test_real_cluster_canary_promotes_a_good_version_and_rolls_back_a_bad_one(
    tmp_path: Path,
) -> None:
    """v1 live (a first deploy rolls directly); under a bounded load from a pod in the
    namespace, v2 passes both steps and is promoted (exit 0), the bad build (a fifth of its
    answers 500) fails at the first step (exit 3) with v2 still serving; the canary Deployment
    is gone after each. Needs JB_K8S_PROMETHEUS running the rendered scrape job and rules
    for the namespace, and JB_K8S_CANARY_IMAGES=v1,v2,bad exporting http_requests_total."""
    images = [i for i in os.environ.get("JB_K8S_CANARY_IMAGES", "").split(",") if i]
    prometheus = os.environ.get("JB_K8S_PROMETHEUS", "")
    if not os.environ.get("KUBECONFIG") or len(images) != 3 or not prometheus:
        pytest.skip(
            "set KUBECONFIG, JB_K8S_PROMETHEUS and JB_K8S_CANARY_IMAGES=v1,v2,bad to run "
            "the canary against a real cluster"
        )
    name = f"svc-{uuid.uuid4().hex[:8]}"
    namespace = os.environ.get("JB_K8S_NAMESPACE", "default")
    descriptor = tmp_path / "svc.yaml"
    descriptor.write_text(
        CANARY_DESCRIPTOR.format(name=name, namespace=namespace, prometheus=prometheus)
    )

    def run(*args: str) -> tuple[int, dict[str, Any]]:
        done = subprocess.run(
            [str(CLI), "--output", "json", args[0], str(descriptor), "--env", "test", *args[1:]],
            capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
        return done.returncode, json.loads(done.stdout or "{}")

    def kubectl(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["kubectl", "-n", namespace, *args], capture_output=True, timeout=120)

    load = f"{name}-load"
    # bounded: at most 40,000 requests, 20 per second
    loop = (
        f"i=0; while [ $i -lt 40000 ]; do wget -q -O /dev/null http://{name}:8080/; "
        "i=$((i+1)); sleep 0.05; done"
    )
    try:
        assert run("deploy", "--image", images[0])[0] == 0
        started = kubectl(
            "run", load, f"--image={os.environ.get('JB_K8S_LOAD_IMAGE', 'busybox')}",
            "--restart=Never", "--", "sh", "-c", loop,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        code, out = run("deploy", "--image", images[1])
        assert code == 0, out
        assert kubectl("get", "deployment", f"{name}-canary").returncode != 0  # removed
        code, out = run("deploy", "--image", images[2])
        assert code == 3, out
        assert kubectl("get", "deployment", f"{name}-canary").returncode != 0
        code, out = run("status")
        assert code == 0 and out["data"]["live"]["image"] == images[1], out
        code, out = run("history")
        last = out["data"]["records"][-1]
        assert (last["image"], last["result"]) == (images[2], "rolled-back"), out
        assert "canary step 1/2 (50 %) failed" in last["detail"], last
    finally:
        kubectl("delete", "pod", load, "--ignore-not-found")
        kubectl("delete", "deployment,service", name, f"{name}-canary", "--ignore-not-found")

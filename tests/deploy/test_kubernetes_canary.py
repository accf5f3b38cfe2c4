"""``strategy: canary`` on Kubernetes against recorded API responses (the client's own model
objects, as in test_kubernetes_rollout.py) and Prometheus answers served on loopback (in the
shape a real Prometheus gives, tests/prometheus/recorded): a canary Deployment beside the
stable one, grown step by step and judged per track; a failing step leaves the stable
Deployment untouched and is ``rolled-back`` (exit 3), a passed last step rolls the stable
Deployment to the new image; the canary Deployment never outlives the deploy."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kubernetes")
from kubernetes import client as k8s

from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.deploy.kubernetes import (
    KubernetesPlatform,
    deploy,
    resolve_kubernetes_target,
)
from jenkins_bridge.deploy.kubernetes_canary import STEP_ANNOTATION, canary_replicas
from jenkins_bridge.deploy.platform import DeployOptions
from jenkins_bridge.descriptor import load_service
from jenkins_bridge.kube.cluster import Cluster
from jenkins_bridge.render.kubernetes import TRACK_LABEL
from tests.deploy.test_kubernetes_rollout import (
    NEW,
    OLD,
    NotFound,
    Recorded,
    _cluster,
    _deployment,
)
from tests.prometheus.live import free_port
from tests.prometheus.test_client import Answer, serving, vector

DESCRIPTOR = """\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: orders, team: shop}
source: {repo: https://git.example.com/shop/orders.git}
image: {repository: registry.example.com/shop/orders}
runtime:
  port: 8081
  secrets: [{env: DB_PASSWORD, credentialsId: orders-db}]
deploy:
  - environment: prod
    target: kubernetes
    strategy: canary
    replicas: 2
    namespace: shop
    secretName: orders-secrets
    healthTimeoutSeconds: 30
    canary: {steps: [10, 50, 100], intervalSeconds: 30, minRequests: 50,
             prometheus: "%(prometheus)s"}
monitoring: {slo: {availability: 99, latencyP95Ms: 200}}
"""
HEALTHY = {"canary": (400, 2, 0.08), "stable": (4000, 20, 0.08)}  # requests, 5xx, p95 s
FAILING = {"canary": (400, 80, 0.08), "stable": (4000, 20, 0.08)}  # 20 % 5xx
SLOW = {"canary": (400, 2, 0.45), "stable": (4000, 20, 0.08)}  # p95 450 ms
QUIET = {"canary": (3, 0, 0.08), "stable": (4000, 20, 0.08)}  # too few to judge


def _canary_state(
    replicas: int, ready: int, stalled: bool = False, annotations: dict[str, str] | None = None
) -> Any:
    conditions = [
        k8s.V1DeploymentCondition(
            type="Progressing",
            status="False" if stalled else "True",
            reason="ProgressDeadlineExceeded" if stalled else "NewReplicaSetAvailable",
            message="ReplicaSet has timed out progressing." if stalled else None,
        )
    ]
    return k8s.V1Deployment(
        metadata=k8s.V1ObjectMeta(
            name="orders-canary", namespace="shop", generation=1, annotations=annotations
        ),
        spec=k8s.V1DeploymentSpec(
            replicas=replicas,
            selector=k8s.V1LabelSelector(match_labels={TRACK_LABEL: "canary"}),
            template=k8s.V1PodTemplateSpec(
                spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="app", image=NEW)])
            ),
        ),
        status=k8s.V1DeploymentStatus(
            observed_generation=1,
            replicas=replicas,
            updated_replicas=ready,
            ready_replicas=ready,
            available_replicas=ready,
            conditions=conditions,
        ),
    )


class WithCanary(Recorded):
    """``Recorded`` with the canary Deployment's own responses and its deletion."""

    def __init__(self, deployments: list[Any], canary: list[Any]) -> None:
        super().__init__(deployments, ["orders-db"])
        self._canary: Iterator[Any] = iter(canary)
        self.deleted: list[tuple[str, str, str]] = []
        self.canary_exists = False  # applied and not deleted: what the API would answer

    def read_namespaced_deployment(self, name: str, namespace: str) -> Any:
        if name == "orders-canary":
            return next(self._canary)
        return super().read_namespaced_deployment(name, namespace)

    def delete_namespaced_deployment(self, name: str, namespace: str, **kw: Any) -> Any:
        if name != "orders-canary" or not self.canary_exists:
            raise NotFound()
        self.deleted.append((name, namespace, kw["propagation_policy"]))
        return k8s.V1Status(status="Success")

    def patch_namespaced_deployment(self, name: str, namespace: str, body: Any, **kw: Any) -> Any:
        if name == "orders-canary":
            self.canary_exists = True
        return super().patch_namespaced_deployment(name, namespace, body, **kw)


def _prometheus(tracks: dict[str, tuple[int, int, float]]) -> Any:
    """Answers to the source's three queries from each track's (requests, 5xx, p95 s)."""

    def answer(promql: str) -> Answer:
        column = 1 if "http_request_errors" in promql else 2 if "bucket" in promql else 0
        return vector({track: values[column] for track, values in tracks.items()})

    return answer


def _no_wait(_: float) -> None:
    pass


def _run(
    tmp_path: Path,
    api: WithCanary,
    prometheus: str,
    action: str = "deploy",
    sleep: Callable[[float], None] = _no_wait,
    descriptor: str = DESCRIPTOR,
) -> tuple[Any, list[str]]:
    (tmp_path / "svc.yaml").write_text(descriptor % {"prometheus": prometheus})
    target = resolve_kubernetes_target(load_service(tmp_path / "svc.yaml"), "prod")
    clock = iter(float(n) for n in range(1000))
    lines: list[str] = []
    done = deploy(
        target,
        NEW,
        {"BUILD_URL": "https://ci.example.com/job/1/"},
        lines.append,
        DeployOptions(action=action, lock_wait=0),
        connect=lambda _: Cluster(
            api, api, k8s.ApiClient().sanitize_for_serialization, "test", api, api
        ),
        sleep=sleep,
        clock=lambda: next(clock),
    )
    return done, lines


def _canaries(api: Recorded) -> list[dict[str, Any]]:
    return [b for b in api.applied if b["metadata"]["name"] == "orders-canary"]


def _stables(api: Recorded) -> list[dict[str, Any]]:
    return [
        b for b in api.applied if b["kind"] == "Deployment" and b["metadata"]["name"] == "orders"
    ]


def test_canary_replicas_are_the_steps_share_of_the_replicas_rounded_up() -> None:
    assert [canary_replicas(p, 2) for p in (10, 50, 100)] == [1, 1, 2]
    assert [canary_replicas(p, 10) for p in (1, 25, 50, 100)] == [1, 3, 5, 10]
    assert canary_replicas(1, 1) == 1


def test_a_healthy_canary_goes_through_every_step_then_the_stable_deployment_rolls(
    tmp_path: Path,
) -> None:
    api = WithCanary(
        [_deployment(OLD, 1, 1, 2, 2, 1), _deployment(NEW, 2, 2, 2, 2, 2)],
        [_canary_state(1, 1), _canary_state(1, 1), _canary_state(2, 2)],
    )
    with serving(_prometheus(HEALTHY)) as (url, queries):
        done, lines = _run(tmp_path, api, url)
    assert done.result == "live"
    canaries = _canaries(api)
    assert [c["spec"]["replicas"] for c in canaries] == [1, 1, 2]
    for canary in canaries:
        labels = canary["spec"]["template"]["metadata"]["labels"]
        assert labels[TRACK_LABEL] == "canary"
        assert canary["spec"]["template"]["spec"]["containers"][0]["image"] == NEW
    # the stable Deployment is applied once, after the last step, with the new image
    [stable] = _stables(api)
    assert api.applied.index(stable) > api.applied.index(canaries[-1])
    assert stable["spec"]["template"]["spec"]["containers"][0]["image"] == NEW
    assert stable["spec"]["template"]["metadata"]["labels"][TRACK_LABEL] == "stable"
    assert api.deleted == [("orders-canary", "shop", "Background")]
    assert len(queries) == 9  # three queries per step
    assert done.canary is not None and done.canary.passed  # --output json's "canary"
    shown = done.as_json()["canary"]
    assert (shown["source"], shown["steps"], shown["passed"]) == ("prometheus", [10, 50, 100], True)
    assert [r["outcome"] for r in shown["results"]] == ["pass", "pass", "pass"]
    assert any(
        "step 2/3 (50 %): 1 canary pod(s) beside 2 stable, 33% of requests" in line
        for line in lines
    )
    assert api.history[-1][-1]["result"] == "live"


@pytest.mark.parametrize(
    ("tracks", "reason"),
    [
        (FAILING, "error ratio 20 % (80 of 400 requests answered 5xx) exceeds 14.4 %"),
        (SLOW, "p95 latency 450 ms exceeds 200 ms (stable: 80 ms)"),
    ],
    ids=["errors", "latency"],
)
def test_a_failing_canary_is_rolled_back_at_the_first_step_leaving_stable_untouched(
    tmp_path: Path, tracks: dict[str, tuple[int, int, float]], reason: str
) -> None:
    api = WithCanary([_deployment(OLD, 1, 1, 2, 2, 1)], [_canary_state(1, 1)])
    with serving(_prometheus(tracks)) as (url, queries):
        done, _ = _run(tmp_path, api, url)
    assert done.result == "rolled-back"  # the CLI's exit 3
    assert _stables(api) == []  # never touched
    assert [c["spec"]["replicas"] for c in _canaries(api)] == [1]
    assert api.deleted == [("orders-canary", "shop", "Background")]
    assert len(queries) == 3
    assert done.as_json()["canary"]["results"][0]["outcome"] == "fail"
    [record] = api.history[-1]
    assert record["result"] == "rolled-back" and record["digest"] == NEW
    assert "canary step 1/3 (10 %) failed" in record["detail"] and reason in record["detail"]


def test_a_canary_that_never_gets_ready_is_rolled_back_without_asking_prometheus(
    tmp_path: Path,
) -> None:
    api = WithCanary([_deployment(OLD, 1, 1, 2, 2, 1)], [_canary_state(1, 0, stalled=True)])
    with serving(_prometheus(HEALTHY)) as (url, queries):
        done, _ = _run(tmp_path, api, url)
    assert done.result == "rolled-back" and queries == [] and _stables(api) == []
    assert "the canary did not get ready: ReplicaSet has timed out" in api.history[-1][-1]["detail"]
    assert api.deleted == [("orders-canary", "shop", "Background")]


def test_too_few_requests_wait_one_more_interval_then_fail(tmp_path: Path) -> None:
    api = WithCanary([_deployment(OLD, 1, 1, 2, 2, 1)], [_canary_state(1, 1)])
    with serving(_prometheus(QUIET)) as (url, queries):
        done, lines = _run(tmp_path, api, url)
    assert done.result == "rolled-back" and len(queries) == 6  # judged twice
    assert any("waiting 30 s more" in line for line in lines)
    assert "inconclusive" in api.history[-1][-1]["detail"]


def test_an_unreachable_prometheus_fails_the_deploy_naming_it_and_removes_the_canary(
    tmp_path: Path,
) -> None:
    api = WithCanary([_deployment(OLD, 1, 1, 2, 2, 1)], [_canary_state(1, 1)])
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(
        DeployError, match=f"the canary analysis failed: Prometheus {url}"
    ) as raised:
        _run(tmp_path, api, url)
    assert "the stable Deployment is untouched" in raised.value.message
    assert _stables(api) == [] and api.deleted == [("orders-canary", "shop", "Background")]
    assert api.history[-1][-1]["result"] == "failed"
    assert api.lease is None  # released


def test_a_first_deploy_has_nothing_to_compare_with_and_rolls_out_directly(tmp_path: Path) -> None:
    api = WithCanary([None, _deployment(NEW, 1, 1, 2, 2, 1)], [])
    with serving(_prometheus(HEALTHY)) as (url, queries):
        done, _ = _run(tmp_path, api, url)
    assert done.result == "live" and queries == [] and _canaries(api) == [] and api.deleted == []


def test_a_rollback_is_no_canary(tmp_path: Path) -> None:
    api = WithCanary([_deployment(OLD, 1, 1, 2, 2, 1), _deployment(NEW, 2, 2, 2, 2, 2)], [])
    with serving(_prometheus(FAILING)) as (url, queries):
        done, _ = _run(tmp_path, api, url, action="rollback")
    assert done.result == "live" and queries == [] and _canaries(api) == []


def test_a_canary_a_killed_deploy_left_is_removed_by_the_next_one(tmp_path: Path) -> None:
    api = WithCanary([_deployment(OLD, 1, 1, 2, 2, 1), _deployment(NEW, 2, 2, 2, 2, 2)], [])
    api.canary_exists = True  # a SIGKILLed canary deploy left it serving
    with serving(_prometheus(FAILING)) as (url, _):
        _, lines = _run(tmp_path, api, url, action="rollback")
    assert api.deleted == [("orders-canary", "shop", "Background")]
    assert "canary: Deployment shop/orders-canary removed" in lines


def test_the_steps_are_in_the_history_record_as_json_would_show(tmp_path: Path) -> None:
    api = WithCanary([_deployment(OLD, 1, 1, 2, 2, 1)], [_canary_state(1, 1)])
    with serving(_prometheus(FAILING)) as (url, _):
        done, _ = _run(tmp_path, api, url)
    shown = json.dumps(done.record.as_json())
    assert "canary 20 % errors (80 of 400), p95 80 ms" in shown
    assert "stable 0.5 % errors (20 of 4000), p95 80 ms" in shown


def test_each_step_is_on_the_canary_deployment_and_status_shows_it(tmp_path: Path) -> None:
    api = WithCanary(
        [_deployment(OLD, 1, 1, 2, 2, 1), _deployment(NEW, 2, 2, 2, 2, 2)],
        [_canary_state(1, 1), _canary_state(1, 1), _canary_state(2, 2)],
    )
    with serving(_prometheus(HEALTHY)) as (url, _):
        _run(tmp_path, api, url)
    steps = [c["metadata"]["annotations"][STEP_ANNOTATION] for c in _canaries(api)]
    assert steps == ["10 %, step 1/3", "50 %, step 2/3", "100 %, step 3/3"]

    running = _canary_state(1, 1, annotations={STEP_ANNOTATION: "50 %, step 2/3"})
    api = WithCanary([_deployment(OLD, 1, 1, 2, 2, 1)], [running, None])
    target = resolve_kubernetes_target(load_service(tmp_path / "svc.yaml"), "prod")
    platform = KubernetesPlatform(target, connect=lambda _: _cluster(api))
    shown = platform.status(lambda _: None)
    assert shown.canary == f"{NEW} at 50 %, step 2/3 (1 of 1 pod(s) ready)"
    assert f"canary: {NEW} at 50 %, step 2/3" in shown.text()
    assert shown.as_json()["canary"] == shown.canary


def test_status_without_a_running_canary_says_nothing_of_one(tmp_path: Path) -> None:
    (tmp_path / "svc.yaml").write_text(DESCRIPTOR % {"prometheus": "http://127.0.0.1:1"})
    api = WithCanary([_deployment(OLD, 1, 1, 2, 2, 1)], [None])
    target = resolve_kubernetes_target(load_service(tmp_path / "svc.yaml"), "prod")
    shown = KubernetesPlatform(target, connect=lambda _: _cluster(api)).status(lambda _: None)
    assert shown.canary is None and "canary" not in shown.text()


def test_an_interrupt_during_the_canary_removes_it_and_records_interrupted(tmp_path: Path) -> None:
    api = WithCanary([_deployment(OLD, 1, 1, 2, 2, 1)], [_canary_state(1, 1)])

    def interrupted(_: float) -> None:  # Ctrl-C (or a TERM turned into one) while a step holds
        raise KeyboardInterrupt

    with serving(_prometheus(HEALTHY)) as (url, _), pytest.raises(KeyboardInterrupt):
        _run(tmp_path, api, url, sleep=interrupted)
    assert _stables(api) == [] and api.deleted == [("orders-canary", "shop", "Background")]
    [record] = api.history[-1]
    assert (
        record["result"] == "interrupted" and "stable Deployment is untouched" in record["detail"]
    )
    assert api.lease is None


def test_a_dry_run_shows_each_step_before_the_stable_update(tmp_path: Path) -> None:
    from jenkins_bridge.render.kubernetes import manifests
    from tests.deploy.test_kubernetes_operations import Objects

    (tmp_path / "svc.yaml").write_text(DESCRIPTOR % {"prometheus": "http://prom.example:9090"})
    target = resolve_kubernetes_target(load_service(tmp_path / "svc.yaml"), "prod")
    deployment, service = manifests(target.service, target.stage, OLD, {})
    objects = {("Service", "orders"): service, ("PodDisruptionBudget", "orders"): None}
    api = Objects([_deployment(OLD, 2, 2, 2, 2, 2), deployment], objects)
    plan = KubernetesPlatform(target, connect=lambda _: _cluster(api)).plan(
        NEW, {}, lambda _: None, DeployOptions()
    )
    changes = plan.changes
    first = next(i for i, c in enumerate(changes) if c.startswith("canary step 1/3"))
    update = next(i for i, c in enumerate(changes) if c.startswith("update Deployment shop/orders"))
    assert first < update and changes[first + 2].startswith("canary step 3/3 (100 %)")
    assert changes[first] == (
        "canary step 1/3 (10 %): Deployment shop/orders-canary with 1 pod(s) beside 2 stable "
        "(33% of requests), held 30 s, judged from Prometheus at http://prom.example:9090 "
        "(errors <= 14.4 %, p95 <= 200 ms, at least 50 requests); a failing step ends the "
        "deploy here, rolled-back (exit 3), the stable Deployment untouched"
    )
    assert changes[-1] == "delete Deployment shop/orders-canary (the canary)"
    assert api.applied == []  # nothing changed


def test_a_deploy_of_the_running_image_has_nothing_to_judge(tmp_path: Path) -> None:
    api = WithCanary([_deployment(NEW, 1, 1, 2, 2, 1), _deployment(NEW, 1, 1, 2, 2, 1)], [])
    with serving(_prometheus(FAILING)) as (url, queries):
        done, _ = _run(tmp_path, api, url)
    assert done.result == "live" and queries == [] and _canaries(api) == []

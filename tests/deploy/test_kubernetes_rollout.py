"""The Kubernetes rollout logic against the client's own model objects: a recorded sequence of
API responses (V1Deployment, V1ReplicaSetList, V1Secret) played back through the adapter, so
the same code that reads a real cluster decides live, rolled back (exit 3) or error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402

from jenkins_bridge.deploy.errors import DeployError, SecretUnbound  # noqa: E402
from jenkins_bridge.deploy.kubernetes import deploy, resolve_kubernetes_target  # noqa: E402
from jenkins_bridge.descriptor import load_service  # noqa: E402
from jenkins_bridge.kube.cluster import Cluster, ClusterUnreachable  # noqa: E402

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
    replicas: 2
    namespace: shop
    secretName: orders-secrets
    healthTimeoutSeconds: 30
"""
OLD = "registry.example.com/shop/orders@sha256:" + "1" * 64
NEW = "registry.example.com/shop/orders@sha256:" + "2" * 64


def _deployment(
    image: str, generation: int, observed: int, updated: int, ready: int, revision: int,
    stalled: bool = False,
) -> Any:  # fmt: skip
    conditions = [
        k8s.V1DeploymentCondition(
            type="Progressing",
            status="False" if stalled else "True",
            reason="ProgressDeadlineExceeded" if stalled else "ReplicaSetUpdated",
            message='ReplicaSet "orders-2" has timed out progressing.' if stalled else None,
        )
    ]
    return k8s.V1Deployment(
        metadata=k8s.V1ObjectMeta(
            name="orders",
            namespace="shop",
            generation=generation,
            annotations={"deployment.kubernetes.io/revision": str(revision)},
        ),
        spec=k8s.V1DeploymentSpec(
            replicas=2,
            selector=k8s.V1LabelSelector(match_labels={"app.kubernetes.io/name": "orders"}),
            template=_template(image),
        ),
        status=k8s.V1DeploymentStatus(
            observed_generation=observed,
            replicas=2,
            updated_replicas=updated,
            ready_replicas=ready,
            available_replicas=ready,
            conditions=conditions,
        ),
    )


def _template(image: str) -> Any:
    return k8s.V1PodTemplateSpec(
        metadata=k8s.V1ObjectMeta(
            labels={"app.kubernetes.io/name": "orders", "pod-template-hash": "abc"}
        ),
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="app", image=image)]),
    )


def _replica_sets() -> Any:
    return k8s.V1ReplicaSetList(
        items=[
            k8s.V1ReplicaSet(
                metadata=k8s.V1ObjectMeta(
                    name=f"orders-{revision}",
                    annotations={"deployment.kubernetes.io/revision": str(revision)},
                ),
                spec=k8s.V1ReplicaSetSpec(
                    selector=k8s.V1LabelSelector(), template=_template(image)
                ),
            )
            for revision, image in ((2, NEW), (1, OLD))
        ]
    )


class NotFound(Exception):
    status = 404
    reason = "Not Found"


class Recorded:
    """AppsV1Api and CoreV1Api playing back responses in order; it records every write."""

    def __init__(self, deployments: list[Any], secret_keys: list[str] | None) -> None:
        self._deployments: Iterator[Any] = iter(deployments)
        self.secret_keys = secret_keys
        self.applied: list[dict[str, Any]] = []

    def read_namespaced_deployment(self, name: str, namespace: str) -> Any:
        found = next(self._deployments)
        if found is None:
            raise NotFound()
        return found

    def patch_namespaced_deployment(self, name: str, namespace: str, body: Any, **kw: Any) -> Any:
        assert kw["_content_type"] == "application/apply-patch+yaml" and kw["force"] is True
        self.applied.append(body)

    patch_namespaced_service = patch_namespaced_deployment

    def list_namespaced_replica_set(self, namespace: str, label_selector: str) -> Any:
        assert "app.kubernetes.io/name=orders" in label_selector
        return _replica_sets()

    def read_namespaced_secret(self, name: str, namespace: str) -> Any:
        if self.secret_keys is None:
            raise NotFound()
        return k8s.V1Secret(data={key: "eA==" for key in self.secret_keys})


def _run(tmp_path: Path, api: Recorded) -> Any:
    (tmp_path / "svc.yaml").write_text(DESCRIPTOR)
    target = resolve_kubernetes_target(load_service(tmp_path / "svc.yaml"), "prod")
    serialize = k8s.ApiClient().sanitize_for_serialization
    clock = iter(float(n) for n in range(1000))
    return deploy(
        target,
        NEW,
        {"BUILD_URL": "https://ci.example.com/job/1/"},
        lambda _: None,
        connect=lambda _: Cluster(api, api, serialize, "test"),
        sleep=lambda _: None,
        clock=lambda: next(clock),
    )


def test_a_converging_rollout_is_live(tmp_path: Path) -> None:
    api = Recorded(
        [
            _deployment(OLD, 1, 1, 2, 2, 1),  # before
            _deployment(NEW, 2, 1, 2, 2, 1),  # not observed yet
            _deployment(NEW, 2, 2, 1, 1, 2),  # rolling
            _deployment(NEW, 2, 2, 2, 2, 2),  # converged
        ],
        ["orders-db"],
    )
    done = _run(tmp_path, api)
    assert done.result == "live"
    assert [body["kind"] for body in api.applied] == ["Service", "Deployment"]
    template = api.applied[1]["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == NEW
    assert template["metadata"]["annotations"] == {
        "jenkins-bridge.dev/build-url": "https://ci.example.com/job/1/"
    }
    assert done.record.previous == OLD


def test_a_stalled_rollout_goes_back_to_the_previous_replica_set(tmp_path: Path) -> None:
    api = Recorded(
        [
            _deployment(OLD, 1, 1, 2, 2, 1),
            _deployment(NEW, 2, 2, 1, 0, 2),
            _deployment(NEW, 2, 2, 1, 0, 2, stalled=True),
            _deployment(OLD, 3, 3, 2, 2, 3),  # the rollback converged
        ],
        ["orders-db"],
    )
    done = _run(tmp_path, api)
    assert done.result == "rolled-back"
    assert "orders-1" in done.record.detail and "timed out progressing" in done.record.detail
    back = api.applied[2]
    assert back["spec"]["template"]["spec"]["containers"][0]["image"] == OLD
    assert "pod-template-hash" not in back["spec"]["template"]["metadata"]["labels"]


def test_a_first_deploy_that_never_converges_is_an_error(tmp_path: Path) -> None:
    api = Recorded([None] + [_deployment(NEW, 1, 1, 0, 0, 1)] * 100, ["orders-db"])
    with pytest.raises(DeployError, match="no previous ReplicaSet"):
        _run(tmp_path, api)


def test_a_missing_secret_key_changes_nothing(tmp_path: Path) -> None:
    api = Recorded([], ["other-key"])
    with pytest.raises(SecretUnbound, match="has no key orders-db; nothing was changed"):
        _run(tmp_path, api)
    assert api.applied == []


def test_an_unreachable_context_is_one_line_with_the_next_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(config))
    with pytest.raises(ClusterUnreachable) as raised:
        Cluster.connect(None)
    assert "cannot be reached" in raised.value.message
    assert "nothing was changed" in raised.value.message

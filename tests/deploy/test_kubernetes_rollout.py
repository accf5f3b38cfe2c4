"""The Kubernetes rollout logic against the client's own model objects: a recorded sequence of
API responses (V1Deployment, V1ReplicaSetList, V1Secret) played back through the adapter, so
the same code that reads a real cluster decides live, rolled back (exit 3) or error."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge.descriptor.naming import ObjectNames

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402

from jenkins_bridge.deploy.errors import (  # noqa: E402
    DeployError,
    LockHeld,
    NothingToRollBack,
    SecretUnbound,
)
from jenkins_bridge.deploy.kubernetes import (  # noqa: E402
    HISTORY_ANNOTATION,
    KubernetesPlatform,
    deploy,
    resolve_kubernetes_target,
)
from jenkins_bridge.deploy.options import DeployOptions  # noqa: E402
from jenkins_bridge.deploy.platform import Unsupported  # noqa: E402
from jenkins_bridge.deploy.records import DeployRecord, LockRecord, history_to_bytes  # noqa: E402
from jenkins_bridge.descriptor import load_service  # noqa: E402
from jenkins_bridge.kube.cluster import Cluster, ClusterUnreachable  # noqa: E402
from tests.deploy.samples import deploy_record, unreachable_kubeconfig  # noqa: E402

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
    stalled: bool = False, history: list[DeployRecord] | None = None,
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
            annotations={
                "deployment.kubernetes.io/revision": str(revision),
                **({HISTORY_ANNOTATION: history_to_bytes(history).decode()} if history else {}),
            },
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


def _replica_sets(revisions: tuple[tuple[int, str], ...] = ((2, NEW), (1, OLD))) -> Any:
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
            for revision, image in revisions
        ]
    )


class NotFound(Exception):
    status = 404
    reason = "Not Found"


class Conflict(Exception):
    status = 409
    reason = "Conflict"


class Recorded:
    """AppsV1Api and CoreV1Api playing back responses in order; it records every write."""

    def __init__(
        self, deployments: list[Any], secret_keys: list[str] | None, lease: Any = None
    ) -> None:
        self._deployments: Iterator[Any] = iter(deployments)
        self.secret_keys = secret_keys
        self.applied: list[dict[str, Any]] = []
        self.supporting: list[dict[str, Any]] = []  # applied before the app: PDB, claims
        self.history: list[dict[str, Any]] = []  # the history annotation writes
        self.lease = lease
        self.revisions = ((2, NEW), (1, OLD))
        self.leases_taken: list[dict[str, Any]] = []

    def read_namespaced_deployment(self, name: str, namespace: str) -> Any:
        found = next(self._deployments)
        if found is None:
            raise NotFound()
        return found

    def patch_namespaced_deployment(self, name: str, namespace: str, body: Any, **kw: Any) -> Any:
        assert kw["_content_type"] == "application/apply-patch+yaml" and kw["force"] is True
        if kw["field_manager"] == "jenkins-bridge-history":
            assert set(body["metadata"]) == {"name", "namespace", "annotations"}
            self.history.append(json.loads(body["metadata"]["annotations"][HISTORY_ANNOTATION]))
        else:
            self.applied.append(body)

    patch_namespaced_service = patch_namespaced_deployment

    def patch_namespaced_pod_disruption_budget(
        self, name: str, namespace: str, body: Any, **kw: Any
    ) -> Any:
        self.supporting.append(body)

    patch_namespaced_persistent_volume_claim = patch_namespaced_pod_disruption_budget

    def create_namespaced_lease(self, namespace: str, body: Any) -> Any:
        if self.lease is not None:
            raise Conflict()
        self.leases_taken.append(body)
        self.lease = k8s.V1Lease(
            metadata=k8s.V1ObjectMeta(uid="mine", annotations=body["metadata"]["annotations"])
        )
        return self.lease

    def read_namespaced_lease(self, name: str, namespace: str) -> Any:
        assert name == ObjectNames.of("shop", "orders", "prod").lock and namespace == "shop"
        if self.lease is None:
            raise NotFound()
        return self.lease

    def delete_namespaced_lease(self, name: str, namespace: str) -> Any:
        self.lease = None

    def list_namespaced_replica_set(self, namespace: str, label_selector: str) -> Any:
        assert "app.kubernetes.io/name=orders" in label_selector
        return _replica_sets(self.revisions)

    def read_namespaced_config_map(self, name: str, namespace: str) -> Any:
        raise NotFound()  # no history kept by a remove

    def read_namespaced_secret(self, name: str, namespace: str) -> Any:
        if self.secret_keys is None:
            raise NotFound()
        return k8s.V1Secret(data={key: "eA==" for key in self.secret_keys})


def _cluster(api: Recorded) -> Cluster:
    return Cluster(api, api, k8s.ApiClient().sanitize_for_serialization, "test", api, api)


def _platform(tmp_path: Path, api: Recorded) -> KubernetesPlatform:
    (tmp_path / "svc.yaml").write_text(DESCRIPTOR)
    target = resolve_kubernetes_target(load_service(tmp_path / "svc.yaml"), "prod")
    return KubernetesPlatform(target, connect=lambda _: _cluster(api))


def _run(tmp_path: Path, api: Recorded) -> Any:
    (tmp_path / "svc.yaml").write_text(DESCRIPTOR)
    target = resolve_kubernetes_target(load_service(tmp_path / "svc.yaml"), "prod")
    clock = iter(float(n) for n in range(1000))
    return deploy(
        target,
        NEW,
        {"BUILD_URL": "https://ci.example.com/job/1/"},
        lambda _: None,
        DeployOptions(lock_wait=0),
        connect=lambda _: _cluster(api),
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
    assert [body["kind"] for body in api.supporting] == ["PodDisruptionBudget"]
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
    monkeypatch.setenv("KUBECONFIG", str(unreachable_kubeconfig(tmp_path)))
    with pytest.raises(ClusterUnreachable) as raised:
        Cluster.connect(None)
    assert "cannot be reached" in raised.value.message
    assert "nothing was changed" in raised.value.message


def test_a_deploy_holds_the_lease_and_appends_to_the_history_annotation(tmp_path: Path) -> None:
    api = Recorded(
        [
            _deployment(OLD, 1, 1, 2, 2, 1, history=[deploy_record(1, OLD)]),
            _deployment(NEW, 2, 2, 2, 2, 2),
        ],
        ["orders-db"],
    )
    done = _run(tmp_path, api)
    assert done.result == "live"
    [taken] = api.leases_taken
    held = LockRecord.parse_label(taken["metadata"]["annotations"]["dev.jenkins-bridge.lock"])
    assert held is not None and held.holder == "https://ci.example.com/job/1/"
    assert api.lease is None  # released
    [written] = api.history
    assert [(r["seq"], r["digest"], r["result"]) for r in written] == [
        (1, OLD, "live"),
        (2, NEW, "live"),
    ]
    assert written[1]["build_url"] == "https://ci.example.com/job/1/"
    assert written[1]["previous"] == OLD


def test_a_rolled_back_rollout_is_recorded_as_such(tmp_path: Path) -> None:
    api = Recorded(
        [
            _deployment(OLD, 1, 1, 2, 2, 1),
            _deployment(NEW, 2, 2, 1, 0, 2, stalled=True),
            _deployment(OLD, 3, 3, 2, 2, 3),
        ],
        ["orders-db"],
    )
    _run(tmp_path, api)
    assert [(r["result"], r["digest"]) for r in api.history[-1]] == [("rolled-back", NEW)]


def test_a_failed_first_deploy_is_recorded_and_left_for_inspection(tmp_path: Path) -> None:
    api = Recorded([None] + [_deployment(NEW, 1, 1, 0, 0, 1)] * 100, ["orders-db"])
    with pytest.raises(DeployError, match="left as it is for inspection"):
        _run(tmp_path, api)
    assert api.history[-1][-1]["result"] == "failed"


def test_a_held_lease_refuses_the_deploy_naming_its_holder(tmp_path: Path) -> None:
    holder = LockRecord(
        holder="https://ci.example.com/job/other/3/",
        host=socket.gethostname(),
        pid=os.getpid(),
        since="2026-01-01T00:00:00Z",
        since_epoch=9e12,
    )
    lease = k8s.V1Lease(
        metadata=k8s.V1ObjectMeta(
            uid="theirs", annotations={"dev.jenkins-bridge.lock": holder.to_label()}
        )
    )
    api = Recorded([], ["orders-db"], lease=lease)
    with pytest.raises(LockHeld, match="job/other/3"):
        _run(tmp_path, api)
    assert api.applied == [] and api.lease is lease


def test_rollback_returns_to_the_previous_replica_set_revision(tmp_path: Path) -> None:
    api = Recorded(
        [
            _deployment(NEW, 2, 2, 2, 2, 2),  # what rollback reads to choose
            _deployment(NEW, 2, 2, 2, 2, 2),  # before, inside the lock
            _deployment(OLD, 3, 3, 2, 2, 3),
        ],
        ["orders-db"],
    )
    done = _platform(tmp_path, api).rollback({}, lambda _: None, None, DeployOptions(lock_wait=0))
    assert done.result == "live" and done.record.action == "rollback"
    assert api.applied[1]["spec"]["template"]["spec"]["containers"][0]["image"] == OLD


def test_rollback_with_no_earlier_revision_says_to_pass_to(tmp_path: Path) -> None:
    api = Recorded([_deployment(OLD, 1, 1, 2, 2, 1)], ["orders-db"])
    with pytest.raises(NothingToRollBack, match="no ReplicaSet revision before 1"):
        _platform(tmp_path, api).rollback({}, lambda _: None, None, DeployOptions(lock_wait=0))
    assert api.applied == []


def test_status_and_history_read_the_deployment_and_the_lease(tmp_path: Path) -> None:
    records = [deploy_record(1, OLD), deploy_record(2, NEW)]
    api = Recorded([_deployment(NEW, 2, 2, 2, 1, 2, history=records)] * 2, ["orders-db"])
    platform = _platform(tmp_path, api)
    found = platform.status(lambda _: None)
    assert found.serving and found.live == NEW and found.lock is None
    assert found.last is not None and found.last.seq == 2
    assert "revision 2; 1 available, 1 ready, 2 updated of 2" in found.text()
    assert [r.digest for r in platform.history(lambda _: None)] == [OLD, NEW]


def test_logs_and_exec_are_refused_naming_the_target_and_kubectl(tmp_path: Path) -> None:
    platform = _platform(tmp_path, Recorded([], None))
    with pytest.raises(Unsupported, match="target 'kubernetes'") as raised:
        platform.exec(("true",), {}, lambda _: None)
    assert raised.value.hint is not None and "kubectl -n shop exec" in raised.value.hint
    with pytest.raises(Unsupported, match="no 'logs' command"):
        platform.logs(lambda _: None, since=None, follow=False)


def test_rollback_skips_a_revision_whose_rollout_failed(tmp_path: Path) -> None:
    bad = "registry.example.com/shop/orders@sha256:" + "3" * 64
    records = [deploy_record(1, OLD), deploy_record(2, NEW), deploy_record(3, bad, "rolled-back")]
    current = _deployment(NEW, 4, 4, 2, 2, 4, history=records)
    api = Recorded([current, current, _deployment(OLD, 5, 5, 2, 2, 5)], ["orders-db"])
    api.revisions = ((4, NEW), (3, bad), (1, OLD))
    done = _platform(tmp_path, api).rollback({}, lambda _: None, None, DeployOptions(lock_wait=0))
    assert done.record.image == OLD

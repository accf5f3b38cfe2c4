"""Operations on a Kubernetes environment against recorded client responses: the Lease lock
shown and released naming its holder, ``rollback --to N`` from the history annotation, and
the commands a cluster has no equivalent of here refused in one line."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kubernetes")
from kubernetes import client as k8s

from jenkins_bridge.deploy.errors import (
    DeployError,
    LockHeld,
    LockUnreadable,
    NotDeployed,
    NothingToRollBack,
)
from jenkins_bridge.deploy.options import DeployOptions, RemoveOptions
from jenkins_bridge.deploy.records import LockRecord
from jenkins_bridge.descriptor.naming import ObjectNames
from tests.deploy.samples import deploy_record
from tests.deploy.test_kubernetes_rollout import (
    NEW,
    OLD,
    NotFound,
    Recorded,
    _cluster,
    _deployment,
    _platform,
)


def _held_lease() -> k8s.V1Lease:
    holder = LockRecord(
        holder="https://ci.example.com/job/other/3/",
        host=socket.gethostname(),
        pid=os.getpid(),
        since="2026-01-01T00:00:00Z",
        since_epoch=9e12,
    )
    return k8s.V1Lease(
        metadata=k8s.V1ObjectMeta(
            uid="theirs", annotations={"dev.jenkins-bridge.lock": holder.to_label()}
        )
    )


def test_lock_show_and_release_name_the_lease_holder(tmp_path: Path) -> None:
    api = Recorded([], ["orders-db"], lease=_held_lease())
    platform = _platform(tmp_path, api)
    shown = platform.lock(lambda _: None, release=False)
    assert shown.held and shown.holder is not None
    assert "job/other/3" in shown.text() and api.lease is not None
    released = platform.lock(lambda _: None, release=True)
    assert released.released and "released" in released.text()
    assert released.as_json()["holder"]["holder"] == "https://ci.example.com/job/other/3/"
    assert api.lease is None
    assert platform.lock(lambda _: None, release=False).text().endswith("not locked")


def test_a_lease_lock_of_another_shape_is_a_located_error(tmp_path: Path) -> None:
    """The Lease's holder annotation is parsed strictly, like the Docker host's lock label."""
    damaged = k8s.V1Lease(
        metadata=k8s.V1ObjectMeta(uid="theirs", annotations={"dev.jenkins-bridge.lock": "[1]"})
    )
    api = Recorded([None], ["orders-db"], lease=damaged)
    platform = _platform(tmp_path, api)
    with pytest.raises(LockUnreadable, match=r"the lock jb-.*-lock is held, but .* list, not"):
        platform.lock(lambda _: None, release=False)
    assert "an unreadable lock (the lock label is list" in str(platform.status(lambda _: None).lock)
    released = platform.lock(lambda _: None, release=True)
    assert released.released and released.problem is not None and api.lease is None


def test_rollback_to_a_history_number(tmp_path: Path) -> None:
    records = [deploy_record(1, OLD), deploy_record(2, NEW)]
    current = _deployment(NEW, 2, 2, 2, 2, 2, history=records)
    api = Recorded([current, current, _deployment(OLD, 3, 3, 2, 2, 3)], ["orders-db"])
    done = _platform(tmp_path, api).rollback({}, lambda _: None, "#1", DeployOptions(lock_wait=0))
    assert done.result == "live" and done.record.digest == OLD


def test_rollback_to_a_number_that_never_went_live_is_refused(tmp_path: Path) -> None:
    records = [deploy_record(1, OLD), deploy_record(2, NEW, "rolled-back")]
    api = Recorded([_deployment(OLD, 2, 2, 2, 2, 2, history=records)] * 2, ["orders-db"])
    with pytest.raises(NothingToRollBack, match=r"#2 \(.*\) was rolled-back, never live"):
        _platform(tmp_path, api).rollback({}, lambda _: None, "2", DeployOptions(lock_wait=0))
    with pytest.raises(NothingToRollBack, match=r"no record #7 \(records: #1 to #2\)"):
        _platform(tmp_path, api).rollback({}, lambda _: None, "7", DeployOptions(lock_wait=0))
    assert api.applied == []


COMPANION = """\
  companions:
    - name: db
      image: registry.example.com/library/postgres:16
      port: 5432
      volume: {name: db-data, path: /var/lib/postgresql/data, size: 5Gi}
"""


class Objects(Recorded):
    """``Recorded`` plus a store of the other objects: read, deleted and dry-run applied as a
    cluster would (a dry run answers with what it would make and stores nothing)."""

    def __init__(self, deployments: list[Any], objects: dict[tuple[str, str], Any]) -> None:
        super().__init__(deployments, ["orders-db"])
        self.objects = objects
        self.deleted: list[tuple[str, str]] = []
        self.dry_runs: list[str] = []
        self.restarts: list[dict[str, Any]] = []
        self.config_maps: dict[str, Any] = {}

    def _read(self, kind: str, name: str) -> Any:
        if (kind, name) not in self.objects:
            raise NotFound()
        return self.objects[(kind, name)]

    def _delete(self, kind: str, name: str, **kw: Any) -> Any:
        assert kw["propagation_policy"] == "Background"
        self._read(kind, name)
        del self.objects[(kind, name)]
        self.deleted.append((kind, name))
        return k8s.V1Status(status="Success")

    def read_namespaced_service(self, name: str, namespace: str) -> Any:
        return self._read("Service", name)

    def read_namespaced_persistent_volume_claim(self, name: str, namespace: str) -> Any:
        return self._read("PersistentVolumeClaim", name)

    def read_namespaced_pod_disruption_budget(self, name: str, namespace: str) -> Any:
        return self._read("PodDisruptionBudget", name)

    def read_namespaced_config_map(self, name: str, namespace: str) -> Any:
        if name not in self.config_maps:
            raise NotFound()
        return self.config_maps[name]

    def delete_namespaced_deployment(self, name: str, namespace: str, **kw: Any) -> Any:
        return self._delete("Deployment", name, **kw)

    def delete_namespaced_service(self, name: str, namespace: str, **kw: Any) -> Any:
        return self._delete("Service", name, **kw)

    def delete_namespaced_persistent_volume_claim(
        self, name: str, namespace: str, **kw: Any
    ) -> Any:
        return self._delete("PersistentVolumeClaim", name, **kw)

    def delete_namespaced_pod_disruption_budget(self, name: str, namespace: str, **kw: Any) -> Any:
        return self._delete("PodDisruptionBudget", name, **kw)

    def delete_namespaced_config_map(self, name: str, namespace: str, **kw: Any) -> Any:
        if self.config_maps.pop(name, None) is None:
            raise NotFound()
        return k8s.V1Status(status="Success")

    def patch_namespaced_config_map(self, name: str, namespace: str, body: Any, **kw: Any) -> Any:
        assert kw["field_manager"] == "jenkins-bridge" and kw["force"] is True
        self.config_maps[name] = k8s.V1ConfigMap(data=body["data"])

    def patch_namespaced_deployment(self, name: str, namespace: str, body: Any, **kw: Any) -> Any:
        if kw.get("dry_run") == "All":
            self.dry_runs.append(f"{body['kind']} {name}")
            return body  # what the apply would make: the manifest itself, defaults aside
        if kw["field_manager"] == "jenkins-bridge-restart":
            self.restarts.append(body)
            return None
        return super().patch_namespaced_deployment(name, namespace, body, **kw)

    patch_namespaced_service = patch_namespaced_deployment


def _with_companion(tmp_path: Path, api: Recorded) -> Any:
    from jenkins_bridge.deploy.kubernetes import KubernetesPlatform, resolve_kubernetes_target
    from jenkins_bridge.descriptor import load_service

    from .test_kubernetes_rollout import DESCRIPTOR, _cluster

    text = DESCRIPTOR.replace(
        "  secrets: [{env: DB_PASSWORD", COMPANION + "  secrets: [{env: DB_PASSWORD"
    )
    (tmp_path / "svc.yaml").write_text(text)
    target = resolve_kubernetes_target(load_service(tmp_path / "svc.yaml"), "prod")
    return KubernetesPlatform(target, connect=lambda _: _cluster(api))


def _live_objects() -> dict[tuple[str, str], Any]:
    return {
        ("Deployment", "orders"): object(),
        ("Service", "orders"): k8s.V1Service(metadata=k8s.V1ObjectMeta(name="orders")),
        ("PodDisruptionBudget", "orders"): k8s.V1PodDisruptionBudget(),
        ("Deployment", "db"): object(),
        ("Service", "db"): k8s.V1Service(metadata=k8s.V1ObjectMeta(name="db")),
        ("PersistentVolumeClaim", "orders-db-data"): k8s.V1PersistentVolumeClaim(),
    }


def test_remove_takes_the_objects_and_keeps_claims_and_history(tmp_path: Path) -> None:
    records = [deploy_record(1, OLD), deploy_record(2, NEW)]
    live = _deployment(NEW, 2, 2, 2, 2, 2, history=records)
    api = Objects([live], _live_objects())
    removal = _with_companion(tmp_path, api).remove(lambda _: None, RemoveOptions())
    assert api.deleted == [
        ("Deployment", "orders"),
        ("Service", "orders"),
        ("PodDisruptionBudget", "orders"),
        ("Service", "db"),
        ("Deployment", "db"),
    ]
    assert removal.removed == [f"{kind} shop/{name}" for kind, name in api.deleted]
    assert ("PersistentVolumeClaim", "orders-db-data") in api.objects  # data stays
    assert "PersistentVolumeClaim shop/orders-db-data (remove it with --volumes)" in removal.kept
    state = ObjectNames.of("shop", "orders", "prod").state
    assert any(f"history ConfigMap shop/{state} (2 records" in k for k in removal.kept)
    assert api.lease is None and api.leases_taken[0]["metadata"]["name"].endswith("-lock")
    # The Deployment is gone: history reads what remove kept, and the next deploy goes on.
    platform = _with_companion(tmp_path, api)
    api._deployments = iter([None, None])
    assert [r.seq for r in platform.history(lambda _: None)] == [1, 2]


def test_remove_with_volumes_and_history_takes_them_too(tmp_path: Path) -> None:
    api = Objects(
        [_deployment(NEW, 2, 2, 2, 2, 2, history=[deploy_record(1, NEW)])], _live_objects()
    )
    removal = _with_companion(tmp_path, api).remove(
        lambda _: None, RemoveOptions(volumes=True, history=True)
    )
    assert ("PersistentVolumeClaim", "orders-db-data") in api.deleted
    assert api.objects == {} and api.config_maps == {} and removal.kept == []


def test_remove_refuses_while_a_deploy_holds_the_lease(tmp_path: Path) -> None:
    api = Objects([], _live_objects())
    api.lease = _held_lease()
    with pytest.raises(LockHeld, match=r"is locked: .*job/other/3"):
        _with_companion(tmp_path, api).remove(lambda _: None, RemoveOptions())
    assert api.deleted == []


def test_restart_replaces_the_companions_pod_under_the_lock(tmp_path: Path) -> None:
    db = _deployment(OLD, 3, 3, 2, 2, 3)
    api = Objects([db, db], {})
    said = _with_companion(tmp_path, api).restart("db", lambda _: None, DeployOptions())
    assert said == "companion db restarted (Deployment shop/db, ready)"
    (patch,) = api.restarts
    annotations = patch["spec"]["template"]["metadata"]["annotations"]
    assert set(annotations) == {"kubectl.kubernetes.io/restartedAt"}
    assert api.leases_taken and api.lease is None  # taken, then released
    with pytest.raises(DeployError, match=r"no companion 'cache' \(companions: db\)"):
        _with_companion(tmp_path, api).restart("cache", lambda _: None, DeployOptions())


def test_restart_of_a_companion_not_deployed_says_so(tmp_path: Path) -> None:
    api = Objects([None], {})
    with pytest.raises(NotDeployed, match=r"companion db \(Deployment shop/db\) does not exist"):
        _with_companion(tmp_path, api).restart("db", lambda _: None, DeployOptions())
    assert api.restarts == []


def test_a_dry_run_compares_each_object_with_the_servers_dry_run_apply(tmp_path: Path) -> None:
    from jenkins_bridge.render.kubernetes import manifests

    platform = _platform(tmp_path, Recorded([], None))
    target = platform.target
    deployment, service = manifests(target.service, target.stage, OLD, {})
    live_deployment = _deployment(OLD, 2, 2, 2, 2, 2)
    objects = {("Service", "orders"): service, ("PodDisruptionBudget", "orders"): None}
    api = Objects([live_deployment, deployment], objects)
    del api.objects[("PodDisruptionBudget", "orders")]  # not there: would be created
    api.secret_keys = []  # the Secret lacks the key: a blocker, not an error
    plan = platform.__class__(target, connect=lambda _: _cluster(api)).plan(
        NEW, {}, lambda _: None, DeployOptions()
    )
    assert plan.live == OLD and plan.digest == NEW
    assert plan.changes[0] == "create PodDisruptionBudget shop/orders"
    assert plan.unchanged == ["Service shop/orders"]
    update = plan.changes[1]
    assert update.startswith("update Deployment shop/orders: ")
    assert "spec.template.spec.containers[0].image" in update
    assert plan.changes[-1].startswith("wait for the rollout (30 s)")
    assert any("has no key orders-db" in b for b in plan.blockers)
    assert api.dry_runs == ["Service orders", "Deployment orders"]
    assert api.applied == [] and api.history == [] and api.leases_taken == []  # nothing changed


def test_changed_fields_leave_out_what_the_server_owns() -> None:
    from jenkins_bridge.deploy.kubernetes_operations import changed_fields

    live = {"metadata": {"resourceVersion": "7", "labels": {"a": "1"}}, "status": {"x": 1},
            "spec": {"replicas": 2, "ports": [{"port": 80}]}}  # fmt: skip
    applied = {"metadata": {"resourceVersion": "8", "labels": {"a": "2"}}, "status": {},
               "spec": {"replicas": 2, "ports": [{"port": 81}]}}  # fmt: skip
    assert changed_fields(live, applied) == ["metadata.labels.a", "spec.ports[0].port"]
    assert changed_fields(live, live) == []

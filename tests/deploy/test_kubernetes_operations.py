"""Operations on a Kubernetes environment against recorded client responses: the Lease lock
shown and released naming its holder, ``rollback --to N`` from the history annotation, and
the commands a cluster has no equivalent of here refused in one line."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

pytest.importorskip("kubernetes")
from kubernetes import client as k8s

from jenkins_bridge.deploy.errors import LockUnreadable, NothingToRollBack
from jenkins_bridge.deploy.options import DeployOptions
from jenkins_bridge.deploy.platform import Unsupported
from jenkins_bridge.deploy.records import LockRecord
from tests.deploy.samples import deploy_record
from tests.deploy.test_kubernetes_rollout import (
    NEW,
    OLD,
    Recorded,
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


def test_remove_restart_and_dry_run_are_refused_in_one_line(tmp_path: Path) -> None:
    from jenkins_bridge.deploy.options import RemoveOptions

    platform = _platform(tmp_path, Recorded([], None))
    with pytest.raises(Unsupported, match="no 'remove' command"):
        platform.remove(lambda _: None, RemoveOptions())
    with pytest.raises(Unsupported, match="no 'restart' command"):
        platform.restart("db", lambda _: None, DeployOptions())
    with pytest.raises(Unsupported, match="no 'deploy --dry-run' command"):
        platform.plan(OLD, {}, lambda _: None, DeployOptions())

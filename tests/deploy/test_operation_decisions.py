"""The pure parts of the operating commands: history lines, history numbers, the image's
repository, Swarm task reads scoped to one attempt, the lock view, the dry-run plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge.containers.swarm import TaskState, created_order, task_state
from jenkins_bridge.deploy.dry_run import DeployPlan
from jenkins_bridge.deploy.errors import LockUnreadable, NothingToRollBack
from jenkins_bridge.deploy.history_table import history_lines, short_build, short_digest
from jenkins_bridge.deploy.image_origin import foreign_image_warning, repository_of
from jenkins_bridge.deploy.lock_admin import lock_blocker, read_lock, release_lock
from jenkins_bridge.deploy.options import CommandOptions
from jenkins_bridge.deploy.platform import history_number, record_image
from jenkins_bridge.deploy.records import LOCK_LABEL, LockRecord
from jenkins_bridge.deploy.swarm import tasks as swarm_tasks
from jenkins_bridge.deploy.targets import platform_for
from jenkins_bridge.descriptor import load_service

from .samples import deploy_record
from .test_decisions import DESCRIPTOR
from .test_lock import FakeEngine, Held, _held_by

DIGEST = "127.0.0.1:5000/t/app@sha256:" + "ab" * 32
OTHER = "127.0.0.1:5000/t/app@sha256:" + "cd" * 32


def test_short_digests_and_builds() -> None:
    assert short_digest(DIGEST) == "127.0.0.1:5000/t/app@sha256:abababababab"
    assert short_digest("sha256:" + "1" * 64) == "1" * 12
    assert short_digest(None) == "-"
    assert short_build("https://ci.example.com/job/t/job/app/job/main/42/") == "main#42"
    assert short_build("https://ci.example.com/view/x") == "https://ci.example.com/view/x"


def test_history_lines_are_aligned_and_take_build_and_commit_from_labels() -> None:
    records = [deploy_record(1, DIGEST), deploy_record(12, OTHER, "rolled-back")]
    labels = {
        DIGEST: {
            "org.opencontainers.image.revision": "f" * 40,
            "io.jenkins.build-url": "https://ci.example.com/job/app/7/",
        }
    }
    header, first, second = history_lines(records, labels)
    assert header.split()[:4] == ["#", "STARTED", "ACTION", "RESULT"]
    assert "app#7" in first and "f" * 12 in first and "f" * 13 not in first
    assert second.split()[-2:] == ["-", "-"]  # no record values, no labels
    assert first.index("sha256:abab") == second.index("sha256:cdcd")
    assert max(len(line) for line in (first, second)) < 130
    assert history_lines([], {}) == []


@pytest.mark.parametrize(
    ("text", "number"),
    [("12", 12), ("#3", 3), ("app:1", None), ("1a", None), ("", None), ("#", None), ("١", None)],
)
def test_history_numbers(text: str, number: int | None) -> None:
    assert history_number(text) == number


def test_record_image_wants_a_live_record(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(DESCRIPTOR)
    target = platform_for(load_service(tmp_path / "app.yaml"), "test", CommandOptions()).target
    records = [deploy_record(1, DIGEST), deploy_record(2, OTHER, "rolled-back")]
    assert record_image(target, records, 1, lambda _: None) == DIGEST
    with pytest.raises(NothingToRollBack, match="never live"):
        record_image(target, records, 2, lambda _: None)
    with pytest.raises(NothingToRollBack, match="no record #5"):
        record_image(target, records, 5, lambda _: None)


@pytest.mark.parametrize(
    ("reference", "repository"),
    [
        ("nginx", "docker.io/library/nginx"),
        ("nginx:1.26", "docker.io/library/nginx"),
        ("docker.io/library/nginx@sha256:" + "0" * 64, "docker.io/library/nginx"),
        ("team/app:v1", "docker.io/team/app"),
        ("127.0.0.1:5000/t/app:v1", "127.0.0.1:5000/t/app"),
        ("localhost/app", "localhost/app"),
        ("Reg.Example.com/T/App:1", "reg.example.com/t/app"),
    ],
)
def test_repository_of(reference: str, repository: str) -> None:
    assert repository_of(reference) == repository


def test_foreign_repository_is_said(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(DESCRIPTOR)
    service = load_service(tmp_path / "app.yaml")
    assert foreign_image_warning(service, "127.0.0.1:5000/t/app:v2") is None
    assert foreign_image_warning(service, DIGEST) is None
    assert foreign_image_warning(service, "sha256:" + "0" * 64) is None
    warning = foreign_image_warning(service, "evil.example.com/t/app:v2")
    assert warning is not None and "127.0.0.1:5000/t/app" in warning


def _task(**fields: Any) -> dict[str, Any]:
    return {
        "ID": fields.get("id", "t1"),
        "Slot": 1,
        "CreatedAt": fields.get("created", "2026-12-07T03:00:00.5Z"),
        "DesiredState": "shutdown",
        "Spec": {"ContainerSpec": {"Image": "app@sha256:1"}},
        "Status": {
            "State": fields.get("state", "failed"),
            "Err": "task: non-zero exit (1)",
            "ContainerStatus": {"ContainerID": "c1", "ExitCode": 1},
        },
    }


def test_task_state_and_order() -> None:
    task = task_state(_task())
    assert (task.id, task.container, task.exit_code, task.error) == (
        "t1",
        "c1",
        1,
        "task: non-zero exit (1)",
    )
    earlier = task_state(_task(id="a", created="2026-12-07T03:00:00.123Z"))
    later = task_state(_task(id="b", created="2026-12-07T03:00:00.5Z"))
    assert sorted([later, earlier], key=created_order) == [earlier, later]


def test_an_attempt_counts_only_its_own_tasks() -> None:
    old = TaskState(1, "failed", "shutdown", "app", "task: non-zero exit (1)", id="old")
    new = TaskState(1, "running", "running", "app", "", id="new")
    mine = swarm_tasks.this_attempt([old, new], {"old"})
    assert mine == [new]
    assert swarm_tasks.failed(mine) == []
    assert swarm_tasks.failed([old, new]) == [old]
    assert swarm_tasks.newest([old, new]) == new and swarm_tasks.newest([]) is None


def test_lock_show_and_release_name_the_holder() -> None:
    engine = FakeEngine()
    assert not read_lock(engine, "jb-t-app-test-lock", "t/app", "test").held  # type: ignore[arg-type]
    _held_by(engine, 1, host="another-agent")
    shown = read_lock(engine, "jb-t-app-test-lock", "t/app", "test")  # type: ignore[arg-type]
    assert isinstance(shown.holder, LockRecord) and "job/app/7" in shown.text()
    released = release_lock(engine, "jb-t-app-test-lock", "t/app", "test")  # type: ignore[arg-type]
    assert released.released and "released" in released.text()
    assert released.as_json()["holder"]["host"] == "another-agent"
    assert engine.containers == {}


@pytest.mark.parametrize(
    ("label", "problem"),
    [
        ("{not json", "the lock label is not JSON"),
        ('["a"]', "the lock label is list, not an object"),
        ('{"holder": "x", "host": "h", "pid": "7", "since": "s", "since_epoch": 1}',
         "lock field 'pid' is str, not int"),
    ],
)  # fmt: skip
def test_a_lock_label_of_another_shape_is_a_located_error(label: str, problem: str) -> None:
    """``lock show`` parses the holder strictly, like the lock itself: a damaged label is an
    error naming the lock object, the label and what is wrong, never "held by nobody"."""
    engine = FakeEngine()
    engine.containers["jb-t-app-test-lock"] = Held("other", {LOCK_LABEL: label})
    with pytest.raises(LockUnreadable) as raised:
        read_lock(engine, "jb-t-app-test-lock", "t/app", "test")  # type: ignore[arg-type]
    message = raised.value.message
    assert "t/app test: the lock jb-t-app-test-lock" in message and LOCK_LABEL in message
    assert problem in message and "lock release" in (raised.value.hint or "")
    blocker = lock_blocker(engine, "jb-t-app-test-lock", "t/app", "test", 60)  # type: ignore[arg-type]
    assert blocker is not None and problem in blocker and "--break-lock" in blocker
    released = release_lock(engine, "jb-t-app-test-lock", "t/app", "test")  # type: ignore[arg-type]
    assert released.released and engine.containers == {}
    assert problem in released.text() and released.as_json()["problem"].startswith(problem)


def test_a_plan_says_it_changed_nothing() -> None:
    plan = DeployPlan("t/app", "test", "app:v2", OTHER, DIGEST)
    plan.step("start a container")
    plan.keep("proxy")
    plan.blockers.append("locked by someone")
    text = plan.text()
    assert "nothing was changed" in text.splitlines()[0]
    assert "would: start a container" in text and "blocked: locked by someone" in text
    assert plan.as_json()["changes"] == ["start a container"]


def _documented(row_start: str) -> str:
    page = (Path(__file__).parents[2] / "docs/targets/operating.md").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith(row_start)]
    assert len(rows) == 1, row_start
    return rows[0]


def test_every_status_json_key_is_documented() -> None:
    """operating.md gives each target's ``status --output json`` shape: every key it has."""
    from jenkins_bridge.containers.swarm import TaskState
    from jenkins_bridge.deploy.docker_host.status import ContainerView, StatusReport
    from jenkins_bridge.deploy.kubernetes import KubernetesStatus
    from jenkins_bridge.deploy.swarm.status import SwarmStatus

    record = deploy_record(1, DIGEST)
    view = ContainerView("c", "running", None, DIGEST, 0, "")
    host = StatusReport("t/app", "test", "local", "127.0.0.1:1", view, "198.18.0.2:80", view,
                        [view], [view], None, record)  # fmt: skip
    task = TaskState(1, "running", "running", DIGEST, "")
    swarm = SwarmStatus("t/app", "test", "local", "s", DIGEST, None, "", 1, [task], [80], None,
                        record)  # fmt: skip
    kube = KubernetesStatus("t/app", "test", "ctx", "ns/app", DIGEST, 1, 1, 1, 1, 1, None, record)
    for title, data in (
        ("Docker host", host.as_json()),
        ("Swarm", swarm.as_json()),
        ("Kubernetes", kube.as_json()),
    ):
        row = _documented(f"| `status` ({title}) |")
        keys = set(data) | {f"proxy.{k}" for k in data.get("proxy") or {}}
        keys |= {f"tasks.{k}" for task in data.get("tasks", []) for k in task}
        keys |= {f"container.{k}" for k in (data["live"] or {}) if title == "Docker host"}
        missing = sorted(k for k in keys if k.rsplit(".", 1)[-1] not in row)
        assert not missing, (title, missing)
    record_text = _documented("A `record` (in `deploy`")
    page = (Path(__file__).parents[2] / "docs/targets/operating.md").read_text(encoding="utf-8")
    paragraph = page[page.index(record_text) :].split("\n\n", 1)[0]
    assert not [k for k in record.as_json() if k not in paragraph]

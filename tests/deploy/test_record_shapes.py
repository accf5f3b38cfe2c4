"""Records and lock labels of an unexpected shape: located problems, never tracebacks."""

from __future__ import annotations

import json
import socket

import pytest

from jenkins_bridge.deploy.errors import LockHeld
from jenkins_bridge.deploy.lock import DeployLock
from jenkins_bridge.deploy.records import (
    LOCK_LABEL,
    DeployRecord,
    ShapeError,
    describe_lock,
    history_to_bytes,
    parse_history,
)

from .samples import deploy_record
from .test_lock import FakeEngine, Held


def test_a_record_of_another_shape_is_named_by_field() -> None:
    good = deploy_record(1, "repo@sha256:aa").as_json()
    with pytest.raises(ShapeError, match="'seq' is str, not int"):
        DeployRecord.from_json({**good, "seq": "1"})
    with pytest.raises(ShapeError, match="'digest' is missing"):
        DeployRecord.from_json({k: v for k, v in good.items() if k != "digest"})
    with pytest.raises(ShapeError, match="must be an object, not list"):
        DeployRecord.from_json([good])


def test_history_keeps_what_it_can_read_and_locates_the_rest() -> None:
    good = [deploy_record(1, "a@sha256:1"), deploy_record(2, "a@sha256:2")]
    raw = json.loads(history_to_bytes(good))
    raw.insert(1, {"seq": None})
    parsed = parse_history(json.dumps(raw).encode())
    assert parsed.records == good
    assert parsed.problems == ["record [1]: record field 'seq' is null, not int"]
    broken = parse_history(b'[{"seq": 1,\n oops')
    assert broken.records == [] and broken.problems[0].startswith("line 2 column 2")
    assert parse_history(b"\xff\xfe").problems == ["byte 0: not UTF-8"]
    assert parse_history(b'{"seq": 1}').problems == ["a list of records was expected, not dict"]
    assert parse_history(history_to_bytes(good)).intact


BAD_LABELS = [
    "not json",
    "[]",
    json.dumps(
        {"holder": "x", "host": socket.gethostname(), "pid": "12", "since": "t", "since_epoch": 1.0}
    ),
    json.dumps({"holder": "x", "host": "h", "pid": 12, "since": "t", "since_epoch": "old"}),
    json.dumps(
        {"holder": "x", "host": "h", "pid": 12, "since": "t", "since_epoch": 1.0, "extra": [1]}
    ),
]


@pytest.mark.parametrize("label", BAD_LABELS)
def test_a_lock_label_of_another_shape_is_a_located_refusal(label: str) -> None:
    engine = FakeEngine()
    engine.containers["jb-t-app-test-lock"] = Held("other", {LOCK_LABEL: label})
    lock = DeployLock(
        engine,  # type: ignore[arg-type]
        name="jb-t-app-test-lock",
        image="proxy",
        labels={},
        what="t/app test",
        action="deploy",
        environ={},
        log=lambda _: None,
        wait=0,
        break_lock=False,
    )
    with pytest.raises(LockHeld, match="jb-t-app-test-lock, whose label cannot be read: "):
        lock.acquire()
    assert "unreadable lock" in describe_lock(label)
    lock.break_lock = True
    with lock:
        assert engine.containers["jb-t-app-test-lock"].id != "other"
    assert lock.took_over == "the --break-lock lock (an unreadable lock)"

"""What a deploy leaves on the engine: labels, history and lock records (the object names are
``descriptor/naming.py``'s).

Everything here is pure: records go to and come from JSON; the clock and the host are passed in.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

LABEL = "dev.jenkins-bridge"
SERVICE_LABEL = f"{LABEL}.service"
ENVIRONMENT_LABEL = f"{LABEL}.environment"
ROLE_LABEL = f"{LABEL}.role"  # app | companion | proxy | state | lock | hook | exec
SEQ_LABEL = f"{LABEL}.seq"  # the deploy's number, zero-padded so names sort by it
IMAGE_LABEL = f"{LABEL}.image"
# stable | canary: the part the app container was started for. A container keeps its labels,
# so a promoted canary still says canary: Prometheus tells a Docker host's versions apart by
# SEQ_LABEL instead (its ``version`` label), never by this one.
TRACK_LABEL = f"{LABEL}.track"
SPEC_LABEL = f"{LABEL}.spec"  # hash of a companion's spec (never of secret values)
RECORD_LABEL = f"{LABEL}.record"  # the deploy record (JSON) on the app container
LOCK_LABEL = f"{LABEL}.lock"  # the lock record (JSON) on the lock container
HISTORY_FILE = "history.json"
SALT_FILE = "secret-salt"  # Swarm: the key of the digests in secret names
STATE_DIR = "/jb-state"
HISTORY_LIMIT = 100


def owner_labels(service: str, environment: str, role: str) -> dict[str, str]:
    return {SERVICE_LABEL: service, ENVIRONMENT_LABEL: environment, ROLE_LABEL: role}


@dataclass(frozen=True, slots=True)
class DeployRecord:
    """One deploy or rollback as history keeps it."""

    seq: int
    action: str  # deploy | rollback | recreate
    environment: str
    image: str  # the reference asked for
    digest: str  # repository@sha256:... (or the image id of an unpushed image)
    container: str
    previous: str | None  # digest that served before
    result: str  # live | rolled-back | failed | interrupted
    started: str  # ISO 8601 UTC
    duration_seconds: float
    build_url: str | None = None
    git_commit: str | None = None
    descriptor_sha256: str | None = None
    agent: str | None = None
    detail: str = ""
    downtime_seconds: float | None = None
    switched_after_seconds: float | None = None  # from the deploy's start to traffic switched

    @classmethod
    def placeholder(cls, seq: int, action: str) -> DeployRecord:
        """A blank record for a one-off container's spec (a hook, an exec), whose labels are
        replaced: it is never written to history."""
        return cls(
            seq=seq,
            action=action,
            environment="",
            image="",
            digest="",
            container="",
            previous=None,
            result="",
            started="",
            duration_seconds=0.0,
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> DeployRecord:
        """The record in ``data``; ``ShapeError`` names the first field of a wrong shape."""
        if not isinstance(data, dict):
            raise ShapeError(f"a record must be an object, not {_kind(data)}")
        values: dict[str, Any] = {}
        for name, (kinds, required) in _RECORD_FIELDS.items():
            if name not in data:
                if required:
                    raise ShapeError(f"record field {name!r} is missing")
                continue
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, kinds):
                raise ShapeError(f"record field {name!r} is {_kind(value)}, not {_names(kinds)}")
            values[name] = value
        return cls(**values)


class ShapeError(ValueError):
    """A record or lock label that is not of the shape this version writes."""


_STR = (str,)
_OPT_STR = (str, type(None))
_NUMBER = (int, float)
_OPT_NUMBER = (int, float, type(None))
# field -> (accepted types, required): what from_json checks before building a record.
_RECORD_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "seq": ((int,), True),
    "action": (_STR, True),
    "environment": (_STR, True),
    "image": (_STR, True),
    "digest": (_STR, True),
    "container": (_STR, True),
    "previous": (_OPT_STR, False),
    "result": (_STR, True),
    "started": (_STR, True),
    "duration_seconds": (_NUMBER, False),
    "build_url": (_OPT_STR, False),
    "git_commit": (_OPT_STR, False),
    "descriptor_sha256": (_OPT_STR, False),
    "agent": (_OPT_STR, False),
    "detail": (_STR, False),
    "downtime_seconds": (_OPT_NUMBER, False),
    "switched_after_seconds": (_OPT_NUMBER, False),
}


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join(_kind(None) if k is type(None) else k.__name__ for k in kinds)


def history_to_bytes(records: list[DeployRecord]) -> bytes:
    kept = records[-HISTORY_LIMIT:]
    return (json.dumps([r.as_json() for r in kept], indent=1, sort_keys=True) + "\n").encode()


@dataclass(frozen=True, slots=True)
class ParsedHistory:
    """A history file as read: the records it holds and what could not be read, located."""

    records: list[DeployRecord]
    problems: list[str]  # empty: the whole file was read

    @property
    def intact(self) -> bool:
        return not self.problems


def parse_history(raw: bytes | None) -> ParsedHistory:
    """Every readable record of a history file; each unreadable part named (never raises)."""
    if not raw:
        return ParsedHistory([], [])
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return ParsedHistory([], [f"byte {exc.start}: not UTF-8"])
    except json.JSONDecodeError as exc:
        return ParsedHistory([], [f"line {exc.lineno} column {exc.colno}: {exc.msg}"])
    if not isinstance(data, list):
        return ParsedHistory([], [f"a list of records was expected, not {_kind(data)}"])
    records: list[DeployRecord] = []
    problems: list[str] = []
    for index, item in enumerate(data):
        try:
            records.append(DeployRecord.from_json(item))
        except ShapeError as exc:
            problems.append(f"record [{index}]: {exc}")
    return ParsedHistory(records, problems)


def history_from_bytes(raw: bytes | None) -> list[DeployRecord]:
    """The readable records of a history file (what cannot be read is left out)."""
    return parse_history(raw).records


def last_live(records: list[DeployRecord]) -> DeployRecord | None:
    return next((r for r in reversed(records) if r.result == "live"), None)


def rollback_candidate(records: list[DeployRecord], current: str | None) -> DeployRecord | None:
    """The newest version that was live before and is not the current one."""
    return next((r for r in reversed(records) if r.result == "live" and r.digest != current), None)


@dataclass(frozen=True, slots=True)
class LockRecord:
    """Who holds a deploy lock: enough to name the holder and to tell a dead one."""

    holder: str  # build URL, or user@host when run by hand
    host: str
    pid: int
    since: str  # ISO 8601 UTC
    since_epoch: float
    action: str = "deploy"
    extra: dict[str, str] = field(default_factory=dict)

    def to_label(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def parse_label(cls, text: str | None) -> LockRecord | None:
        if not text:
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ShapeError(f"the lock label is not JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise ShapeError(f"the lock label is {_kind(data)}, not an object")
        for name, kinds in _LOCK_FIELDS.items():
            value = data.get(name)
            if isinstance(value, bool) or not isinstance(value, kinds):
                raise ShapeError(f"lock field {name!r} is {_kind(value)}, not {_names(kinds)}")
        if not isinstance(data.get("action", "deploy"), str):
            raise ShapeError(f"lock field 'action' is {_kind(data['action'])}, not str")
        extra = data.get("extra", {})
        if not isinstance(extra, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in extra.items()
        ):
            raise ShapeError("lock field 'extra' is not an object of strings")
        return cls(
            holder=data["holder"],
            host=data["host"],
            pid=data["pid"],
            since=data["since"],
            since_epoch=float(data["since_epoch"]),
            action=data.get("action", "deploy"),
            extra=dict(extra),
        )

    def describe(self) -> str:
        return (
            f"{self.action} by {self.holder} (host {self.host}, pid {self.pid}, since {self.since})"
        )


_LOCK_FIELDS: dict[str, tuple[type, ...]] = {
    "holder": _STR,
    "host": _STR,
    "pid": (int,),
    "since": _STR,
    "since_epoch": _NUMBER,
}


def describe_lock(text: str | None) -> str:
    """The holder of a lock as ``status`` names it, or what is wrong with its label."""
    try:
        held = LockRecord.parse_label(text)
    except ShapeError as exc:
        return f"an unreadable lock ({exc}; rerun with --break-lock to remove it)"
    return held.describe() if held else "a lock without a holder label"


def lock_is_stale(
    lock: LockRecord, *, here: str, pid_alive: bool, now_epoch: float, max_age: float
) -> bool:
    """A lock is stale when its process is gone (same host) or it is older than ``max_age``."""
    if lock.host == here and not pid_alive:
        return True
    return now_epoch - lock.since_epoch > max_age

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

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeployRecord:
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def history_to_bytes(records: list[DeployRecord]) -> bytes:
    kept = records[-HISTORY_LIMIT:]
    return (json.dumps([r.as_json() for r in kept], indent=1, sort_keys=True) + "\n").encode()


def history_from_bytes(raw: bytes | None) -> list[DeployRecord]:
    if not raw:
        return []
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return []
    if not isinstance(data, list):
        return []
    return [DeployRecord.from_json(item) for item in data if isinstance(item, dict)]


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
    def from_label(cls, text: str | None) -> LockRecord | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(**data)
        except (json.JSONDecodeError, TypeError):
            return None

    def describe(self) -> str:
        return (
            f"{self.action} by {self.holder} (host {self.host}, pid {self.pid}, since {self.since})"
        )


def lock_is_stale(
    lock: LockRecord, *, here: str, pid_alive: bool, now_epoch: float, max_age: float
) -> bool:
    """A lock is stale when its process is gone (same host) or it is older than ``max_age``."""
    if lock.host == here and not pid_alive:
        return True
    return now_epoch - lock.since_epoch > max_age

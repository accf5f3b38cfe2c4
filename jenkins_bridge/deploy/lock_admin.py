"""``lock show`` / ``lock release``: who holds an environment's deploy lock, and taking it away
by hand (a holder that died where staleness cannot be told, e.g. on another agent).

The lock is the object ``deploy.lock`` creates (a container on a Docker engine, a Lease on
Kubernetes); these functions read and remove it through the same ``LockEngine`` shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jenkins_bridge.deploy.lock import LockEngine
from jenkins_bridge.deploy.records import LOCK_LABEL, LockRecord


@dataclass(frozen=True, slots=True)
class LockView:
    """An environment's lock as ``lock show``/``lock release`` report it."""

    service: str
    environment: str
    name: str  # the lock object's name
    held: bool  # a lock object existed when looked at
    holder: LockRecord | None  # None when free, or when its record cannot be read
    released: bool = False

    def as_json(self) -> dict[str, Any]:
        holder = self.holder
        return {
            "service": self.service,
            "environment": self.environment,
            "lock": self.name,
            "held": self.held,
            "holder": None
            if holder is None
            else {
                key: getattr(holder, key) for key in ("holder", "host", "pid", "since", "action")
            },
            "released": self.released,
        }

    def text(self) -> str:
        who = "an unreadable lock record" if self.holder is None else self.holder.describe()
        where = f"{self.service} {self.environment}"
        if self.released:
            return f"released the lock of {where}, held by {who}"
        if not self.held:
            return f"{where}: not locked"
        return f"{where}: locked by {who}"


def read_lock(engine: LockEngine, name: str, service: str, environment: str) -> LockView:
    found = engine.inspect(name)
    holder = None if found is None else LockRecord.from_label(found.labels.get(LOCK_LABEL))
    return LockView(service, environment, name, found is not None, holder)


def release_lock(engine: LockEngine, name: str, service: str, environment: str) -> LockView:
    """Remove the lock, whoever holds it; the view names who did (nothing when it was free)."""
    view = read_lock(engine, name, service, environment)
    if not view.held:
        return view
    engine.remove(name)
    return LockView(service, environment, name, True, view.holder, released=True)

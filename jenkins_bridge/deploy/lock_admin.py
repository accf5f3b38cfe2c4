"""``lock show`` / ``lock release``: who holds an environment's deploy lock, and taking it away
by hand (a holder that died where staleness cannot be told, e.g. on another agent).

The lock is the object ``deploy.lock`` creates (a container on a Docker engine, a Lease on
Kubernetes); these functions read and remove it through the same ``LockEngine`` shape. Its
holder label is parsed strictly, as the lock itself does: a label of another shape is a
located error (``lock show``), never read as "no holder"; ``lock release`` still removes it and
says what was wrong with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jenkins_bridge.deploy.errors import LockUnreadable
from jenkins_bridge.deploy.lock import LockEngine
from jenkins_bridge.deploy.records import LOCK_LABEL, LockRecord, ShapeError


@dataclass(frozen=True, slots=True)
class LockView:
    """An environment's lock as ``lock show``/``lock release`` report it."""

    service: str
    environment: str
    name: str  # the lock object's name
    held: bool  # a lock object existed when looked at
    holder: LockRecord | None  # None when free, or (released) when its record cannot be read
    released: bool = False
    problem: str | None = None  # what is wrong with the holder label of a released lock

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
            "problem": self.problem,
        }

    def text(self) -> str:
        who = (
            self.holder.describe()
            if self.holder is not None
            else f"an unreadable lock record ({self.problem or 'no holder label'})"
        )
        where = f"{self.service} {self.environment}"
        if self.released:
            return f"released the lock of {where}, held by {who}"
        if not self.held:
            return f"{where}: not locked"
        return f"{where}: locked by {who}"


def read_lock(engine: LockEngine, name: str, service: str, environment: str) -> LockView:
    """Who holds the lock ``name``; ``LockUnreadable`` names the lock and what is wrong with
    a holder label of another shape (written by something else, or damaged)."""
    found = engine.inspect(name)
    if found is None:
        return LockView(service, environment, name, False, None)
    try:
        holder = LockRecord.parse_label(found.labels.get(LOCK_LABEL))
    except ShapeError as exc:
        raise LockUnreadable(
            f"{service} {environment}: the lock {name} is held, but its holder label "
            f"({LOCK_LABEL}) cannot be read: {exc}",
            hint="if no deploy of this environment runs, remove it with 'lock release' "
            "(or deploy with --break-lock)",
            data={"lock": name, "problem": str(exc)},
        ) from None
    return LockView(service, environment, name, True, holder)


def lock_blocker(
    engine: LockEngine, name: str, service: str, environment: str, wait: float
) -> str | None:
    """What the lock would do to a deploy now (a dry run's blocker), or None when it is free."""
    try:
        view = read_lock(engine, name, service, environment)
    except LockUnreadable as exc:
        return f"{exc.message}: a deploy would refuse without --break-lock"
    return f"{view.text()}: a deploy would wait up to {wait:g} s for it" if view.held else None


def release_lock(engine: LockEngine, name: str, service: str, environment: str) -> LockView:
    """Remove the lock, whoever holds it; the view names who did (nothing when it was free)."""
    try:
        view = read_lock(engine, name, service, environment)
    except LockUnreadable as exc:  # a damaged lock is exactly what release is for
        engine.remove(name)
        problem = str(exc.data["problem"])
        return LockView(service, environment, name, True, None, released=True, problem=problem)
    if not view.held:
        return view
    engine.remove(name)
    return LockView(service, environment, name, True, view.holder, released=True)

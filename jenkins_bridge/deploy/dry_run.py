"""``deploy --dry-run``: what a deploy would change, read from the target and changing nothing.

Each platform reads what runs (network, proxy, companions and their spec hashes, the live
version, the lock) and says, step by step in the deploy's order, what the deploy would do.
The image is resolved on the engine as a deploy would (pulled if the engine lacks it: the
engine's image store is not the environment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DeployPlan:
    service: str
    environment: str
    image: str  # as asked
    digest: str  # what would run
    live: str | None  # what runs now
    changes: list[str] = field(default_factory=list)  # in the order the deploy would make them
    unchanged: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)  # why the deploy would stop or wait

    def step(self, text: str) -> None:
        self.changes.append(text)

    def keep(self, text: str) -> None:
        self.unchanged.append(text)

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "environment": self.environment,
            "image": self.image,
            "digest": self.digest,
            "live": self.live,
            "changes": self.changes,
            "unchanged": self.unchanged,
            "blockers": self.blockers,
        }

    def text(self) -> str:
        lines = [
            f"dry run: deploy {self.digest} to {self.service} {self.environment} "
            f"(live now: {self.live or 'nothing'}); nothing was changed"
        ]
        lines += [f"would: {change}" for change in self.changes]
        lines += [f"unchanged: {item}" for item in self.unchanged]
        lines += [f"blocked: {item}" for item in self.blockers]
        return "\n".join(lines)

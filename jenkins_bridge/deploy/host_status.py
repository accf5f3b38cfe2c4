"""``status`` of a Docker-host environment: what runs, and whether it really serves.

Recorded state is not enough: the report asks the proxy itself (its health path, through the
proxy, from inside the proxy container, so remote engines are checked the same way) and says
why nothing serves when nothing does. ``serving`` drives the command's exit code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from jenkins_bridge.containers.runtime import ContainerInfo
from jenkins_bridge.deploy.records import IMAGE_LABEL, DeployRecord


@dataclass(frozen=True)
class ContainerView:
    """One container of the service as ``status`` shows it."""

    name: str
    status: str
    health: str | None
    image: str | None
    restarts: int
    started: str

    @classmethod
    def of(cls, c: ContainerInfo) -> ContainerView:
        return cls(
            c.name, c.status, c.health, c.labels.get(IMAGE_LABEL), c.restart_count, c.started_at
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StatusReport:
    """What runs for one environment: the proxy, the live version, other versions, companions,
    the lock, the last deploy record, whether the proxy answers, and what was cleared."""

    service: str
    environment: str
    engine: str
    listen: str
    proxy: ContainerView | None
    upstream: str | None  # the address the proxy sends traffic to
    live: ContainerView | None
    apps: list[ContainerView]
    companions: list[ContainerView]
    lock: str | None
    last: DeployRecord | None
    answer: str = ""  # "serves" or why not: what the probe through the proxy found
    cleared: list[str] = field(default_factory=list)  # leftovers of killed deploys, removed
    history_problem: str | None = None  # history.json cannot be read: where and why

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)  # views and the last record become their JSON on the way
        upstream = data.pop("upstream")
        if data["proxy"] is not None:
            data["proxy"]["upstream"] = upstream
        data["serving"] = self.serving
        return data

    @property
    def serving(self) -> bool:
        return self.live is not None and self.answer == "serves"

    def text(self) -> str:
        lines = [f"{self.service} {self.environment} on {self.engine}, listen {self.listen}"]
        live = self.live
        lines.append(
            f"live: {live.name} {live.image} ({live.status}, health {live.health})"
            if live
            else "live: nothing"
        )
        lines.append(
            f"serving: yes (the proxy answers on {self.listen})"
            if self.serving
            else f"serving: NO ({self.answer or 'no version is live'})"
        )
        for app in self.apps:
            if live is None or app.name != live.name:
                lines.append(f"app: {app.name} {app.image} ({app.status})")
        for companion in self.companions:
            lines.append(
                f"companion: {companion.name} ({companion.status}, health "
                f"{companion.health}, restarts {companion.restarts})"
            )
        if self.lock:
            lines.append(f"locked: {self.lock}")
        for line in self.cleared:
            lines.append(f"cleared: {line}")
        if self.history_problem:
            lines.append(f"history: unreadable ({self.history_problem})")
        return "\n".join(lines)

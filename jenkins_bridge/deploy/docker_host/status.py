"""``status`` of a Docker-host environment: what runs, and whether it really serves.

Recorded state is not enough: the report asks the proxy itself (its health path, through the
proxy, from inside the proxy container, so remote engines are checked the same way) and says
why nothing serves when nothing does. ``serving`` drives the command's exit code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from jenkins_bridge.containers.runtime import ContainerInfo
from jenkins_bridge.deploy import health
from jenkins_bridge.deploy.docker_host.leftovers import clear_if_free
from jenkins_bridge.deploy.docker_host.proxy_container import mismatch
from jenkins_bridge.deploy.docker_host.session import Session, connect
from jenkins_bridge.deploy.options import Log
from jenkins_bridge.deploy.proxy import PROXY_PORT
from jenkins_bridge.deploy.records import (
    IMAGE_LABEL,
    LOCK_LABEL,
    ROLE_LABEL,
    DeployRecord,
    describe_lock,
)
from jenkins_bridge.deploy.target import DeployTarget


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
    canary: str | None = None  # a canary in progress: "canary <name> at 50 %, step 2/3"

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
        if self.canary:
            lines.append(self.canary)
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


def read_status(target: DeployTarget, log: Log) -> StatusReport:
    """What runs and whether it serves; what killed deploys left is cleared first, when
    no live deploy holds the lock."""
    with connect(target) as runtime:
        session = Session(target, runtime, {}, log)
        cleared = clear_if_free(session)
        proxy = runtime.inspect(session.names.proxy)
        live = session.live_app()
        companions = [
            c
            for c in runtime.containers(session.labels("companion"))
            if c.labels.get(ROLE_LABEL) == "companion"
        ]
        lock = runtime.inspect(session.names.lock)
        parsed = session.store.parsed()
        upstream = session.proxy_upstream() if proxy is not None else None
        split = session.proxy_split() if proxy is not None else None
        report = StatusReport(
            service=target.owner,
            environment=target.environment,
            engine=runtime.docker_host,
            listen=str(target.listen),
            proxy=None if proxy is None else ContainerView.of(proxy),
            upstream=upstream,
            live=None if live is None else ContainerView.of(live),
            apps=[ContainerView.of(a) for a in session.apps()],
            companions=[ContainerView.of(c) for c in companions],
            lock=None if lock is None else describe_lock(lock.labels.get(LOCK_LABEL)),
            last=parsed.records[-1] if parsed.records else None,
            answer=proxy_answer(session) if live is not None else "no version is live",
            cleared=cleared,
            history_problem="; ".join(parsed.problems[:3]) or None,
            canary=None if split is None else split.describe(),
        )
    return report


def proxy_answer(session: Session) -> str:
    """ "serves" when the proxy answers the health path with 2xx/3xx; else what it found."""
    proxy = session.runtime.inspect(session.names.proxy)
    if proxy is None:
        return "there is no proxy"
    if not proxy.running:
        return f"the proxy {proxy.name} is {proxy.status}"
    check = session.target.service.runtime.healthcheck
    # nc -e keeps the connection open while the reply comes: busybox nc would half-close
    # it after the request, and nginx drops a proxied request whose client closed.
    script = (
        'nc -w "$3" 127.0.0.1 "$4" -e sh -c '
        '\'printf "GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$0" "$1"; head -1 >&2\' '
        '"$1" "$2"'
    )
    _, reply = session.runtime.exec(
        proxy.name,
        ["sh", "-c", script, "probe", check.path, "127.0.0.1",
         str(check.timeout_seconds), str(PROXY_PORT)],
    )  # fmt: skip
    code = health.parse_status_line(reply)
    if code is None or not 200 <= code < 400:
        got = "no answer" if code is None else f"HTTP {code}"
        return f"the proxy answers {check.path} with {got}"
    differs = mismatch(session, proxy)
    return f"the proxy is not the descriptor's: {differs}" if differs else "serves"

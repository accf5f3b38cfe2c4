"""``leftovers.clear`` hands the deploy the app listing it made (one listing of the apps per
deploy, each app an inspect), listed again only when it stopped one."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from jenkins_bridge.containers.runtime import ContainerInfo
from jenkins_bridge.deploy.docker_host import leftovers
from jenkins_bridge.deploy.records import ParsedHistory

LIVE = ContainerInfo(
    id="c1",
    name="app-1",
    image_id="sha256:1",
    labels={"dev.jenkins-bridge.seq": "000001"},
    status="running",
    health="healthy",
    addresses={"net": "198.18.7.2"},
    started_at="",
    restart_count=0,
    exit_code=0,
)
STRAY = replace(LIVE, id="c2", name="app-2", labels={"dev.jenkins-bridge.seq": "000002"})


class Environment:
    """A session whose apps are ``apps``; the proxy sends traffic to ``LIVE``."""

    def __init__(self, apps: list[ContainerInfo]) -> None:
        self.listed: list[list[ContainerInfo]] = []
        self.stopped: list[str] = []
        self._apps = apps
        self.target = SimpleNamespace(
            service=SimpleNamespace(runtime=SimpleNamespace(companions=(), stop_timeout_seconds=2))
        )
        self.runtime = SimpleNamespace(stop=self._stop)
        self.store = SimpleNamespace(parsed=lambda: ParsedHistory([], []))

    def _stop(self, name: str, timeout: int) -> None:
        self.stopped.append(name)
        self._apps = [replace(a, status="exited") if a.name == name else a for a in self._apps]

    def apps(self) -> list[ContainerInfo]:
        listing = list(self._apps)
        self.listed.append(listing)
        return listing

    def proxy_split(self) -> None:
        return None

    def live_app(self, apps: list[ContainerInfo]) -> ContainerInfo | None:
        return next((a for a in apps if a.id == LIVE.id), None)


def test_nothing_to_clear_hands_over_the_one_listing() -> None:
    env = Environment([LIVE])
    session: Any = env
    done, apps = leftovers.clear(session)
    assert done == []
    assert len(env.listed) == 1 and apps is env.listed[0]


def test_a_stopped_leftover_is_listed_again_as_it_is_now() -> None:
    env = Environment([LIVE, STRAY])
    session: Any = env
    done, apps = leftovers.clear(session)
    assert env.stopped == ["app-2"] and "stopped app-2" in done[0]
    assert len(env.listed) == 2 and apps is env.listed[1]
    assert [a.status for a in apps] == ["running", "exited"]

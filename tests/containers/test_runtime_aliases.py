"""Giving a container its network aliases: the two engine calls by name, then one inspect."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from jenkins_bridge.containers.runtime import DockerRuntime


class Api:
    """docker-py's low-level client, recording the calls made (nothing else exists)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def disconnect_container_from_network(self, container: str, net_id: str) -> None:
        self.calls.append(("disconnect", container, net_id))

    def connect_container_to_network(
        self, container: str, net_id: str, aliases: list[str] | None = None
    ) -> None:
        self.calls.append(("connect", container, net_id, aliases))

    def inspect_container(self, container: str) -> dict[str, Any]:
        self.calls.append(("inspect", container))
        return {
            "Id": "c1",
            "Name": f"/{container}",
            "State": {"Status": "running"},
            "NetworkSettings": {"Networks": {"net": {"IPAddress": "198.18.7.9"}}},
        }


def test_aliases_are_two_calls_by_name_and_one_inspect() -> None:
    api = Api()
    runtime = DockerRuntime(SimpleNamespace(api=api), "unix:///var/run/docker.sock")
    info = runtime.attach_aliases("app-2", "net", ("app",))
    assert api.calls == [
        ("disconnect", "app-2", "net"),
        ("connect", "app-2", "net", ["app"]),
        ("inspect", "app-2"),
    ]
    assert info.addresses == {"net": "198.18.7.9"}  # the address after the reconnection

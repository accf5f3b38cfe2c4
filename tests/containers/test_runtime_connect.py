"""The deploy's engine connection: what ``DockerRuntime.connect`` sets on docker-py's client."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import docker
import pytest

from jenkins_bridge.containers.runtime import DockerRuntime


def _connect(monkeypatch: Any, host: str, base_url: str) -> Any:
    api = SimpleNamespace(base_url=base_url, trust_env=True)

    def from_env(**_: object) -> Any:
        return SimpleNamespace(api=api, close=lambda: None)

    monkeypatch.setattr(docker, "from_env", from_env)
    return DockerRuntime.connect(host).api


@pytest.mark.parametrize(
    "host", ["unix:///var/run/docker.sock", "unix:///run/user/1000/docker.sock"]
)
def test_a_unix_socket_engine_skips_the_environment_proxy_search(
    monkeypatch: Any, host: str
) -> None:
    # requests looks through the environment for HTTP proxies and netrc on every call; none
    # applies to a unix socket (the local engine, or an ssh:// one through the tunnel).
    assert _connect(monkeypatch, host, "http+docker://localhost").trust_env is False


def test_a_tcp_engine_keeps_the_environment(monkeypatch: Any) -> None:
    # An HTTP proxy of the environment may be how a tcp:// engine is reached.
    assert _connect(monkeypatch, "tcp://127.0.0.1:2375", "http://127.0.0.1:2375").trust_env

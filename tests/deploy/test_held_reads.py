"""Under the lock a deploy reads the history and the proxy's configuration once, then knows
them from what it wrote; a failed write makes the next read ask the engine again."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from jenkins_bridge.containers.runtime import RuntimeFailure
from jenkins_bridge.deploy.docker_host.session import Session
from jenkins_bridge.deploy.history_store import STATE_SPEC, HistoryNotWritten, HistoryStore
from jenkins_bridge.deploy.proxy import render_proxy_config
from jenkins_bridge.deploy.records import (
    HISTORY_FILE,
    SPEC_LABEL,
    STATE_DIR,
    DeployRecord,
    history_to_bytes,
)

HISTORY = f"{STATE_DIR}/{HISTORY_FILE}"


def record(seq: int) -> DeployRecord:
    return DeployRecord(
        seq=seq,
        action="deploy",
        environment="prod",
        image="app:v1",
        digest="sha256:1",
        container=f"app-{seq}",
        previous=None,
        result="live",
        started="2026-12-07T00:00:00Z",
        duration_seconds=1.0,
    )


class Volume:
    """The state container and its files; counts the reads."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {HISTORY: history_to_bytes([record(1)])}
        self.reads = 0
        self.refuse = False

    def inspect(self, name: str) -> Any:
        return SimpleNamespace(labels={SPEC_LABEL: STATE_SPEC})

    def get_file(self, name: str, path: str) -> bytes | None:
        self.reads += 1
        return self.files.get(path)

    def put_file(self, name: str, directory: str, filename: str, data: bytes) -> None:
        if self.refuse:
            raise RuntimeFailure("writing", "no space left on device")
        self.files[f"{directory}/{filename}"] = data

    def link_files(self, name: str, directory: str, links: list[tuple[str, str]]) -> None:
        for link, existing in links:
            self.files[f"{directory}/{link}"] = self.files[f"{directory}/{existing}"]


def store(volume: Volume) -> HistoryStore:
    return HistoryStore(volume, "state", "helper", {}, lambda _: None)  # type: ignore[arg-type]


def test_held_history_is_read_once_and_known_from_what_was_written() -> None:
    volume = Volume()
    history = store(volume)
    with history.held():
        assert [r.seq for r in history.parsed().records] == [1]
        assert [r.seq for r in history.parsed().records] == [1]
        assert volume.reads == 1
        history.append(record(2))
        reads = volume.reads  # the append's own read-back of the new file
        assert [r.seq for r in history.parsed().records] == [1, 2]
        assert volume.reads == reads
    history.parsed()  # no longer held: the volume is asked
    assert volume.reads == reads + 1


def test_a_failed_write_makes_the_next_read_ask_the_volume() -> None:
    volume = Volume()
    history = store(volume)
    with history.held():
        history.parsed()
        volume.refuse = True
        with pytest.raises(HistoryNotWritten):
            history.append(record(2))
        reads = volume.reads
        volume.files[HISTORY] = history_to_bytes([record(1), record(3)])
        assert [r.seq for r in history.parsed().records] == [1, 3]
        assert volume.reads == reads + 1


def test_without_held_every_read_asks_the_volume() -> None:
    volume = Volume()
    history = store(volume)
    history.parsed()
    history.parsed()
    assert volume.reads == 2


class Proxy:
    def __init__(self) -> None:
        self.config = render_proxy_config("198.18.7.2:8080").encode()
        self.reads = 0

    def get_file(self, name: str, path: str) -> bytes | None:
        self.reads += 1
        return self.config

    def exec_awaiting_input(self, name: str, argv: list[str]) -> Any:
        return SimpleNamespace(send=lambda stdin: self.exec(name, argv, stdin))

    def exec(self, name: str, argv: list[str], stdin: bytes | None = None) -> tuple[int, str]:
        assert stdin is not None  # the new configuration, written by the same exec
        self.config = stdin
        return 0, ""  # written, reloaded, and it answered its generation


def test_read_ahead_reads_both_once_at_once() -> None:
    proxy = Proxy()
    volume = Volume()
    session: Any = object.__new__(Session)
    session.runtime = proxy
    session.names = SimpleNamespace(proxy="jb-proxy")
    session.store = store(volume)
    with session.held():
        session.read_ahead()
        session.read_ahead()  # already under way: not twice
        assert session.proxy_upstream() == "198.18.7.2:8080"
        assert [r.seq for r in session.store.parsed().records] == [1]
        session.proxy_split()
        assert (proxy.reads, volume.reads) == (1, 1)
    session.read_ahead()  # not held: nothing is read ahead
    assert (proxy.reads, volume.reads) == (1, 1)


def test_a_failed_read_ahead_raises_where_its_result_is_taken() -> None:
    volume = Volume()
    history = store(volume)

    def refused(name: str, path: str) -> bytes | None:
        raise RuntimeFailure("reading", "engine says no")

    volume.get_file = refused  # type: ignore[method-assign]
    with history.held():
        history.read_ahead()
        with pytest.raises(RuntimeFailure, match="engine says no"):
            history.parsed()


def test_held_proxy_configuration_is_read_once_and_known_after_a_switch() -> None:
    proxy = Proxy()
    session: Any = object.__new__(Session)
    session.runtime = proxy
    session.names = SimpleNamespace(proxy="jb-proxy")
    session.store = store(Volume())
    with session.held():
        assert session.proxy_upstream() == "198.18.7.2:8080"
        assert session.proxy_split() is None
        assert proxy.reads == 1
        session.switch("198.18.7.3:8080", 21)
        assert session.proxy_upstream() == "198.18.7.3:8080"
        assert proxy.reads == 1
    assert session.proxy_upstream() == "198.18.7.3:8080"
    assert proxy.reads == 2

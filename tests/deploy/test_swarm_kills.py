"""Swarm deploys stopped at every phase (SIGTERM like a Jenkins abort, SIGKILL like a dead
agent), each followed by ``status`` and a new deploy: what serves, what history says, and that
no lock is left behind. A TERM during the update returns the service to its previous spec
(the old version serves again, like on the Docker host), records ``interrupted`` saying so and
releases its lock; after a KILL Swarm carries on, and the next command records the attempt
from the service's labels and clears the dead holder's lock."""

from __future__ import annotations

from typing import Any

import pytest

from jenkins_bridge.deploy.interrupts import KILL_AT_VARIABLE

from .conftest import AppImages, Environment
from .test_swarm import _version, swarm_service  # noqa: F401  (the fixture)

# Every phase in one test (one first deploy), so a test outlasts the default timeout.
pytestmark = [pytest.mark.docker, pytest.mark.swarm, pytest.mark.timeout(1800)]

PHASES = ("locked", "companions", "gate", "finished")


def _deploy(env: Environment, image: str, kill: str | None = None) -> Any:
    if kill is not None:
        env.env[KILL_AT_VARIABLE] = kill
    try:
        return env.cli("--output", "json", "deploy", str(env.descriptor), "--env", "test",
                       "--image", image)  # fmt: skip
    finally:
        env.env.pop(KILL_AT_VARIABLE, None)


def _records(env: Environment) -> list[dict[str, Any]]:
    code, out, err = env.json("history", str(env.descriptor), "--env", "test")
    assert code == 0, err
    records: list[dict[str, Any]] = out["data"]["records"]
    return records


@pytest.mark.parametrize("signal", ["TERM", "KILL"])
@pytest.mark.parametrize("swarm_service", [1], indirect=True, ids=["1-replica"])
def test_a_swarm_deploy_stopped_at_any_phase(
    swarm_service: tuple[Environment, list[int]],  # noqa: F811
    app_images: AppImages,
    docker_client: Any,
    signal: str,
) -> None:
    env, ports = swarm_service
    assert _deploy(env, app_images.v1).returncode == 0
    serving = "1"
    for phase in PHASES:
        new, version = (app_images.v2, "2") if serving == "1" else (app_images.v1, "1")
        before = _records(env)
        old = [r["digest"] for r in before if r["result"] == "live"][-1]
        seq = max([r["seq"] for r in before] + [0]) + 1
        killed = _deploy(env, new, kill=f"{phase}:{signal}")
        where = f"{signal} at {phase}: {killed.stderr[-600:]}"
        assert killed.returncode == (-9 if signal == "KILL" else 130), where

        code, out, err = env.json("status", str(env.descriptor), "--env", "test")
        data = out["data"]
        assert "Traceback" not in err, where
        assert docker_client.containers.list(all=True, filters={"name": env.names.lock}) == [], (
            where
        )
        # Not changed yet, or the update undone: the old version serves, and status says so.
        if phase in ("locked", "companions") or (signal, phase) == ("TERM", "gate"):
            assert code == 0 and data["serving"], (where, data)
            assert data["live"]["image"] == old, (where, data)
            assert _version(ports[0]) == f"version {serving}", where
        if phase in ("gate", "finished"):
            last = _records(env)[-1]
            assert last["seq"] == seq, (where, last)
            if signal == "TERM" and phase == "gate":
                assert last["result"] == "interrupted", (where, last)
                assert "returned to its previous version" in last["detail"], (where, last)
                assert "which answers its health path" in last["detail"], (where, last)
            elif phase == "finished":
                assert last["result"] == "live", (where, last)
            else:  # killed while Swarm updates: what Swarm had made of it by then
                assert last["result"] in ("live", "interrupted"), (where, last)
        if signal == "KILL":
            assert any("stale lock" in line for line in data["cleared"]), (where, data)

        again = _deploy(env, new)
        assert again.returncode == 0, (where, again.stderr[-800:])
        assert _version(ports[0]) == f"version {version}", where
        serving = version
        assert _records(env)[-1]["result"] == "live", where
        assert all(r["result"] != "pending" for r in _records(env)), where

"""Deploys stopped at every phase (SIGTERM like a Jenkins abort, SIGKILL like a dead agent) on
the Docker host, each followed by ``status`` and a new deploy: what serves, what runs, what
history says, and that nothing is left behind.

The kill comes from the CLI's test hook (``JENKINS_BRIDGE_TEST_KILL_AT=<phase>:<SIGNAL>``,
``deploy.interrupts``), so it lands at the same point every run.
"""

from __future__ import annotations

import http.client
import time
from typing import Any

import pytest

from jenkins_bridge.deploy.interrupts import KILL_AT_VARIABLE

from .conftest import TEAM, AppImages, Environment

# Every phase in one test (one first deploy), so a test outlasts the default timeout.
pytestmark = [pytest.mark.docker, pytest.mark.deploy, pytest.mark.timeout(1800)]

BLUE_GREEN = ("locked", "companions", "gate", "gated", "switched", "finished")
RECREATE = ("recreate-stopped", "gate", "gated", "switched")


def _answer(env: Environment) -> str:
    host, port = env.listen.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        return f"{response.status} {response.read().decode().strip()}"
    except OSError as exc:
        return repr(exc)
    finally:
        connection.close()


def _running_apps(docker_client: Any, env: Environment) -> list[str]:
    selector = [f"dev.jenkins-bridge.service={TEAM}/{env.name}", "dev.jenkins-bridge.role=app"]
    return sorted(c.name for c in docker_client.containers.list(filters={"label": selector}))


def _deploy(env: Environment, image: str, *extra: str, kill: str | None = None) -> Any:
    if kill is not None:
        env.env[KILL_AT_VARIABLE] = kill
    try:
        return env.cli("--output", "json", "deploy", str(env.descriptor), "--env", "test",
                       "--image", image, *extra)  # fmt: skip
    finally:
        env.env.pop(KILL_AT_VARIABLE, None)


def _aliases(docker_client: Any, env: Environment, container: str) -> list[str]:
    attrs = docker_client.api.inspect_container(container)
    network = attrs["NetworkSettings"]["Networks"].get(env.names.network) or {}
    return list(network.get("Aliases") or [])


@pytest.mark.parametrize("signal", ["TERM", "KILL"])
@pytest.mark.parametrize("strategy", ["blue-green", "recreate"])
def test_a_deploy_stopped_at_any_phase_leaves_nothing_behind(
    environment: Environment, app_images: AppImages, docker_client: Any, strategy: str, signal: str
) -> None:
    env = environment
    extra = ("--strategy", strategy)
    done = _deploy(env, app_images.v1, *extra)
    assert done.returncode == 0, done.stderr
    versions = [app_images.v1, app_images.v2]
    serving = "1"
    for number, phase in enumerate(BLUE_GREEN if strategy == "blue-green" else RECREATE):
        new = versions[(number + 1) % 2]
        new_version = "2" if new == app_images.v2 else "1"
        last_seq = max([_seq(n) for n in _running_apps(docker_client, env)] + [0])
        killed = _deploy(env, new, *extra, kill=f"{phase}:{signal}")
        where = f"{strategy} {signal} at {phase}: {killed.stderr[-600:]}"
        assert killed.returncode == (-9 if signal == "KILL" else 130), where
        if signal == "KILL" and phase in ("gate", "recreate-stopped"):
            # The unvetted version runs on, but never holds the in-network name "app".
            candidates = [n for n in _running_apps(docker_client, env) if _seq(n) > last_seq]
            for name in candidates:
                assert "app" not in _aliases(docker_client, env, name), where

        # Nothing of the killed command runs on in the proxy (the switch's command starts
        # before the switch and waits for its configuration), and no half-written file stays.
        assert _proxy_leftovers(docker_client, env) == [], where

        status = env.json("status", str(env.descriptor), "--env", "test")
        code, out, _ = status
        data = out["data"]
        # What runs afterwards: at most the live version, never a second one.
        running = _running_apps(docker_client, env)
        live = data["live"]["name"] if data["live"] else None
        assert running == ([live] if live else []), (where, running, data)
        assert docker_client.containers.list(all=True, filters={"name": env.names.lock}) == [], (
            where
        )
        if data["serving"]:
            assert code == 0, where
            answer = _answer(env)
            assert answer.startswith("200 version "), (where, answer)
            serving = answer.split()[-1]
        else:  # only a killed recreate may leave nothing serving, and status says so
            assert (strategy, signal) == ("recreate", "KILL"), (where, data)
            assert code == 1 and out["status"] == "not-live", where
        if signal == "TERM" and phase not in ("switched", "finished"):
            assert serving == ("1" if new_version == "2" else "2"), where  # the old one back
        left_running = ("gate", "gated", "switched" if strategy == "blue-green" else "gated")
        if signal == "KILL" and phase in left_running:
            assert any("stopped" in line for line in data["cleared"]), (where, data["cleared"])
        records = _records(env)
        assert all(r["result"] != "pending" for r in records), where
        # Every phase from the recreate's stop on leaves a record, even a KILL before the new
        # version started (its container, created first, carries the record); the next
        # command writes it and says what serves.
        if phase not in ("locked", "companions"):
            last = records[-1]
            assert last["digest"].endswith(_digest_tail(docker_client, new)), (where, last)
            expected = "live" if phase in ("switched", "finished") else "interrupted"
            assert last["result"] == expected, (where, last)
        if (signal, phase) == ("KILL", "recreate-stopped"):
            assert any("recorded the unrecorded deploy" in line for line in data["cleared"]), (
                where,
                data["cleared"],
            )
            assert "never started" in last["detail"], (where, last)
            assert "the recreate had stopped the version before it" in last["detail"], where
            assert "serving: nothing" in last["detail"], (where, last)

        # The next deploy finishes the job.
        again = _deploy(env, new, *extra)
        assert again.returncode == 0, (where, again.stderr)
        assert _answer(env) == f"200 version {new_version}", where
        serving = new_version
        assert len(_running_apps(docker_client, env)) == 1, where
        assert _records(env)[-1]["result"] == "live", where


def _records(env: Environment) -> list[dict[str, Any]]:
    code, out, err = env.json("history", str(env.descriptor), "--env", "test")
    assert code == 0, err
    records: list[dict[str, Any]] = out["data"]["records"]
    return records


def _seq(container: str) -> int:
    return int(container.rsplit("-", 1)[1])


def _digest_tail(docker_client: Any, image: str) -> str:
    return str(docker_client.images.get(image).id)[-12:]


def _proxy_leftovers(docker_client: Any, env: Environment) -> list[str]:
    """Processes in the proxy container other than nginx's own, and files in its conf.d other
    than default.conf, once what the killed command started has had a while to end."""
    proxy = docker_client.containers.get(env.names.proxy)
    deadline = time.monotonic() + 20
    while True:
        processes = [p[-1] for p in docker_client.api.top(proxy.id)["Processes"]]
        others = [p for p in processes if not p.startswith("nginx:")]
        if not others or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    listed = proxy.exec_run(["ls", "-a", "/etc/nginx/conf.d"]).output.decode().split()
    return others + [f for f in listed if f not in (".", "..", "default.conf")]

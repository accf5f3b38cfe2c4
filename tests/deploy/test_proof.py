"""The issue's proof against the real engine and nginx proxy, locally and through ssh://.

Under continuous loopback load: v1 with a companion keeping data in a volume, v2 (healthy)
blue-green, v3 (never healthy) rolled back, then ``rollback`` to v1. Zero failed requests in
steps 2-4, exit codes 0, 0, 3, 0, the companion never restarted, its data intact, and
``status``/``history`` truthful after each step.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import AppImages, Environment, LoadGenerator, SshEngine

pytestmark = [pytest.mark.docker, pytest.mark.deploy]


def _status(env: Environment) -> dict[str, Any]:
    code, out, err = env.json("status", str(env.descriptor), "--env", "test")
    assert code == 0, err
    data: dict[str, Any] = out["data"]
    return data


def _history(env: Environment) -> list[dict[str, Any]]:
    code, out, err = env.json("history", str(env.descriptor), "--env", "test")
    assert code == 0, err
    records: list[dict[str, Any]] = out["data"]["records"]
    return records


def _deploy(env: Environment, image: str) -> tuple[int, dict[str, Any], str]:
    return env.json("deploy", str(env.descriptor), "--env", "test", "--image", image)


def _companion(docker_client: Any, env: Environment) -> Any:
    container = docker_client.containers.get(env.names.companion("store"))
    return container.attrs


def _prove(env: Environment, images: AppImages, docker_client: Any) -> None:
    # (1) v1 with its companion.
    code, out, err = _deploy(env, images.v1)
    assert code == 0, err
    v1 = out["data"]["record"]["digest"]
    status = _status(env)
    assert status["live"]["image"] == v1
    docker_client.containers.get(env.names.companion("store")).exec_run(
        ["sh", "-c", "echo kept-data > /data/key"]
    )
    companion = _companion(docker_client, env)
    secret = env.env["APP_TOKEN"]

    with LoadGenerator(env.listen) as load:
        # (2) v2 replaces it blue-green.
        code, out, err = _deploy(env, images.v2)
        assert code == 0, err
        v2 = out["data"]["record"]["digest"]
        assert _status(env)["live"]["image"] == v2
        # (3) v3 never gets healthy: exit 3, v2 keeps serving, v3 stopped and kept.
        code, out, err = _deploy(env, images.v3_unhealthy)
        assert code == 3, err
        assert out["status"] == "rolled-back"
        v3_container = out["data"]["record"]["container"]
        status = _status(env)
        assert status["live"]["image"] == v2
        kept = {app["name"]: app for app in status["apps"]}
        assert kept[v3_container]["status"] == "exited"
        # (4) rollback returns to v1 (the previous live version before v2).
        code, out, err = env.json("rollback", str(env.descriptor), "--env", "test")
        assert code == 0, err
        assert out["data"]["record"]["digest"] == v1
        assert _status(env)["live"]["image"] == v1

    assert load.result.ok > 0
    assert load.result.failed == 0, load.result.errors[:5]

    after = _companion(docker_client, env)
    assert after["Id"] == companion["Id"]
    assert after["State"]["StartedAt"] == companion["State"]["StartedAt"]
    assert after["RestartCount"] == 0
    # The app reaches the companion by name, and the data survived every step.
    done = env.cli(
        "exec",
        str(env.descriptor),
        "--env",
        "test",
        "--",
        "sh",
        "-c",
        'printf "GET /key HTTP/1.0\\r\\n\\r\\n" | nc -w 2 store 8080',
    )
    assert done.returncode == 0, done.stderr
    assert "kept-data" in done.stdout

    records = _history(env)
    assert [(r["action"], r["result"]) for r in records] == [
        ("deploy", "live"),
        ("deploy", "live"),
        ("deploy", "rolled-back"),
        ("rollback", "live"),
    ]
    assert [r["digest"] for r in records] == [v1, v2, records[2]["digest"], v1]
    assert [r["previous"] for r in records] == [None, v1, v2, v2]
    # The secret reached the app's environment only: not history, not labels, not the proxy.
    assert secret not in str(records)
    for name in (env.names.proxy, env.names.companion("store")):
        assert secret not in str(docker_client.containers.get(name).attrs)
    app = docker_client.containers.get(records[-1]["container"])
    assert f"APP_TOKEN={secret}" in app.attrs["Config"]["Env"]
    assert secret not in str(app.attrs["Config"]["Labels"])


def test_proof_on_the_local_engine(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    _prove(environment, app_images, docker_client)


def test_proof_through_an_ssh_engine(
    environment: Environment, app_images: AppImages, docker_client: Any, ssh_engine: SshEngine
) -> None:
    environment.env["DOCKER_HOST"] = ssh_engine.docker_host
    environment.env["PATH"] = f"{ssh_engine.path_prefix}:{environment.env.get('PATH', '')}"
    code, out, err = environment.json("status", str(environment.descriptor), "--env", "test")
    assert code == 1 and out["status"] == "not-live", err  # nothing serves yet, and it says so
    assert out["data"]["engine"] == ssh_engine.docker_host
    _prove(environment, app_images, docker_client)

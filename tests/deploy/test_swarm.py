"""The issue's swarm proof on the real single-node swarm of scripts/services.sh: v1 live, a
healthy v2 rolls out, a failing v3 is rolled back by Swarm and the tool exits 3 with v2
serving; with 1 replica and with 2 replicas on templated ports (network: host)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge.descriptor.naming import ObjectNames

from .conftest import PROXY_IMAGE, TEAM, AppImages, Environment, remove_service
from .samples import app_descriptor_head, port_is_free

pytestmark = [pytest.mark.docker, pytest.mark.swarm]

DESCRIPTOR = (
    app_descriptor_head("{port}")
    + """\
  env: {{GREETING: hello}}
  secrets: [{{env: APP_TOKEN, credentialsId: app-token}}]
deploy:
  - environment: test
    target: swarm
    network: host
    updateOrder: stop-first
    replicas: {replicas}
    monitorSeconds: 3
    helperImage: {proxy}
    healthTimeoutSeconds: 20
    runtime: {{env: {{PORT: "{port_env}"}}}}
"""
)


def _free_port_block(replicas: int) -> tuple[str, list[int]]:
    """A port template and its ports: a prefix whose slots 1..replicas are all free."""
    for prefix in range(1850, 1990):
        ports = [int(f"{prefix}{slot}") for slot in range(1, replicas + 1)]
        if all(port_is_free(p) for p in ports):
            return f"{prefix}{{{{.Task.Slot}}}}", ports
    raise AssertionError("no free port block")


def _version(port: int) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/")
    body = connection.getresponse().read().decode()
    connection.close()
    return body.strip()


@pytest.fixture
def swarm_service(
    docker_client: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Environment, list[int]]]:
    import os
    import uuid

    if docker_client.info()["Swarm"].get("LocalNodeState") != "active":
        pytest.fail("the engine is not a swarm manager: run scripts/services.sh up")
    replicas: int = request.param
    name = f"svc-{uuid.uuid4().hex[:8]}"
    template, ports = _free_port_block(replicas)
    descriptor = tmp_path / f"{name}.yaml"
    descriptor.write_text(
        DESCRIPTOR.format(
            name=name,
            team=TEAM,
            port=ports[0],
            port_env=template,
            replicas=replicas,
            proxy=PROXY_IMAGE,
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("BUILD_URL", "GIT_COMMIT")}
    env["APP_TOKEN"] = f"token-{uuid.uuid4().hex}"
    base = ObjectNames.of(TEAM, name, "test").base
    try:
        yield Environment(name, descriptor, f"127.0.0.1:{ports[0]}", "", env), ports
    finally:
        for service in docker_client.services.list(filters={"name": base}):
            service.remove()
        for secret in docker_client.secrets.list(filters={"name": base}):
            _remove_secret_when_free(secret)
        remove_service(docker_client, f"{TEAM}/{name}")


def _remove_secret_when_free(secret: Any) -> None:
    import time

    import docker.errors

    for _ in range(100):  # `service rm` returns before its tasks are gone
        try:
            secret.remove()
            return
        except docker.errors.APIError:
            time.sleep(0.2)


def _deploy(env: Environment, image: str) -> tuple[int, dict[str, Any], str]:
    return env.json("deploy", str(env.descriptor), "--env", "test", "--image", image)


@pytest.mark.parametrize("swarm_service", [1, 2], indirect=True, ids=["1-replica", "2-replicas"])
def test_swarm_proof(swarm_service: tuple[Environment, list[int]], app_images: AppImages) -> None:
    env, ports = swarm_service
    code, out, err = _deploy(env, app_images.v1)
    assert code == 0, err
    v1 = out["data"]["record"]["digest"]
    assert [_version(p) for p in ports] == ["version 1"] * len(ports)

    code, out, err = _deploy(env, app_images.v2)
    assert code == 0, err
    v2 = out["data"]["record"]["digest"]
    assert [_version(p) for p in ports] == ["version 2"] * len(ports)

    code, out, err = _deploy(env, app_images.v3_unhealthy)
    assert code == 3, err
    assert out["status"] == "rolled-back"
    assert "Swarm rolled back" in out["data"]["record"]["detail"]
    assert [_version(p) for p in ports] == ["version 2"] * len(ports)

    code, out, err = env.json("status", str(env.descriptor), "--env", "test")
    assert code == 0, err
    assert out["data"]["live"]["image"] == v2
    assert out["data"]["update_state"] == "rollback_completed"
    assert out["data"]["answering"] == ports

    code, out, err = env.json("history", str(env.descriptor), "--env", "test")
    assert code == 0, err
    assert [(r["digest"], r["result"]) for r in out["data"]["records"]] == [
        (v1, "live"),
        (v2, "live"),
        (out["data"]["records"][2]["digest"], "rolled-back"),
    ]

    code, out, err = env.json("rollback", str(env.descriptor), "--env", "test")
    assert code == 0, err
    assert out["data"]["record"]["digest"] == v1
    assert [_version(p) for p in ports] == ["version 1"] * len(ports)


@pytest.mark.parametrize("swarm_service", [1], indirect=True, ids=["1-replica"])
def test_swarm_first_failure_companions_secrets_logs_and_exec(
    swarm_service: tuple[Environment, list[int]], app_images: AppImages, docker_client: Any
) -> None:
    env, ports = swarm_service
    base = env.names.base
    # A failed first deploy: nothing served before, so nothing serves now; the service is
    # kept at 0 replicas for inspection and the result says so (exit 3, like the Docker host).
    code, out, err = _deploy(env, app_images.v3_unhealthy)
    assert code == 3, err
    assert "serving: nothing (first deploy)" in out["data"]["record"]["detail"]
    assert "kept for inspection" in out["data"]["record"]["detail"]
    service = docker_client.services.get(base)
    assert service.attrs["Spec"]["Mode"]["Replicated"]["Replicas"] == 0

    # A companion: its own service on the service network (here: host), running first.
    companion_port = next(p for p in range(ports[0] + 50, ports[0] + 150) if port_is_free(p))
    text = env.descriptor.read_text().replace(
        "deploy:\n",
        f"  companions:\n    - name: store\n      image: {app_images.v1}\n"
        f'      env: {{PORT: "{companion_port}"}}\n'
        "deploy:\n",
    )
    env.descriptor.write_text(text)
    code, out, err = _deploy(env, app_images.v1)
    assert code == 0, [e["message"] for e in out["errors"]]
    assert f"companion store: running ({base}-store)" in err
    assert _version(companion_port) == "version 1"
    assert _version(ports[0]) == "version 1"

    done = env.cli("exec", str(env.descriptor), "--env", "test", "--", "sh", "-c", "echo $GREETING")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello"
    logs = env.cli("logs", str(env.descriptor), "--env", "test")
    assert logs.returncode == 0, logs.stderr

    # Each deploy with a new token makes a new secret; the one no spec refers to goes.
    def ours() -> set[str]:
        return {s.name for s in docker_client.secrets.list(filters={"name": base})}

    first = ours()
    env.env["APP_TOKEN"] += "-2"
    code, _, err = _deploy(env, app_images.v2)
    assert code == 0, err
    assert "companion store: kept" in err
    env.env["APP_TOKEN"] += "-3"
    code, _, err = _deploy(env, app_images.v1)
    assert code == 0, err
    after = ours()
    assert len(after) == 2 and not (first & after), (first, after)

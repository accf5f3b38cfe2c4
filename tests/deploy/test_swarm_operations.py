"""Swarm truth and operations on the real single-node swarm: a failed first deploy names its
tasks' cause (from their logs), ``logs`` with no task running shows the newest task's logs, a
retry counts only its own tasks, a companion service's logs/exec/restart, the lock, and
``remove`` (services, secrets, network; volumes and history kept unless asked)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from .conftest import SERVICE_LABEL, TEAM, AppImages, Environment
from .samples import port_is_free
from .test_swarm import _deploy, _version, swarm_service  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.docker, pytest.mark.swarm]


def _args(env: Environment, command: str, *rest: str) -> list[str]:
    return [command, str(env.descriptor), "--env", "test", *rest]


@pytest.mark.parametrize("swarm_service", [1], indirect=True, ids=["1-replica"])
def test_swarm_retry_cause_logs_and_operations(
    swarm_service: tuple[Environment, list[int]],  # noqa: F811  (the fixture imported above)
    app_images: AppImages,
    docker_client: Any,
) -> None:
    env, ports = swarm_service
    owner = f"{TEAM}/{env.name}"
    # Something else holds the task's port: every task fails at once with exit 1; Swarm's
    # Status.Err says only that, the task's own logs say why.
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", ports[0]))
        squatter.listen(1)
        code, out, err = _deploy(env, app_images.v1)
        assert code == 3, err
        detail = out["data"]["record"]["detail"]
        assert "in use" in detail, detail  # httpd: bind: Address (already) in use

        # No task runs: logs says so and shows the newest task's logs (exit 0).
        done = env.cli(*_args(env, "logs"))
        assert done.returncode == 0, done.stderr
        assert "no task of" in done.stderr
        assert "in use" in done.stdout

    # The retry of the same image, the port free now: the failed tasks of the attempt
    # before are not this attempt's, so it converges and is live.
    code, out, err = _deploy(env, app_images.v1)
    assert code == 0, [e["message"] for e in out["errors"]] or err
    assert _version(ports[0]) == "version 1"

    # A companion service: exec into it, restart it, read its logs.
    companion_port = next(p for p in range(ports[0] + 50, ports[0] + 150) if port_is_free(p))
    env.descriptor.write_text(
        env.descriptor.read_text().replace(
            "deploy:\n",
            f"  companions:\n    - name: store\n      image: {app_images.v1}\n"
            f'      env: {{PORT: "{companion_port}"}}\n'
            "      volume: {name: store-data, path: /data}\n"
            "deploy:\n",
        )
    )
    code, out, err = _deploy(env, app_images.v2)
    assert code == 0, [e["message"] for e in out["errors"]] or err
    done = env.cli(*_args(env, "exec", "--companion", "store", "--", "sh", "-c", "exit 5"))
    assert done.returncode == 5, done.stderr
    done = env.cli(*_args(env, "restart", "--companion", "store"))
    assert done.returncode == 0, done.stderr
    assert _version(companion_port) == "version 1"
    done = env.cli(*_args(env, "logs", "--companion", "store"))
    assert done.returncode == 0, done.stderr

    code, out, _ = env.json("lock", "show", str(env.descriptor), "--env", "test")
    assert (code, out["data"]["held"]) == (0, False)

    # remove: the services and their secrets go; the volume and the history stay.
    base = env.names.base
    code, out, err = env.json(*_args(env, "remove"))
    assert code == 0, [e["message"] for e in out["errors"]] or err
    selector = {"label": f"{SERVICE_LABEL}={owner}"}
    assert docker_client.services.list(filters=selector) == []
    assert docker_client.secrets.list(filters={"name": base}) == []
    assert [v.name for v in docker_client.volumes.list(filters=selector)] != []
    code, out, err = env.json(*_args(env, "history"))
    assert [r["result"] for r in out["data"]["records"]] == ["rolled-back", "live", "live"]
    code, out, err = env.json(*_args(env, "remove", "--volumes", "--history"))
    assert code == 0, err
    assert docker_client.containers.list(all=True, filters=selector) == []
    assert docker_client.volumes.list(filters=selector) == []

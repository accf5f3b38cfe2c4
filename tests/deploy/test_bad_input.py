"""Bad input and contention: one located line, exit 1, and nothing changed on the engine."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from typing import Any

import pytest

from .conftest import (
    CLI,
    PROXY_IMAGE,
    SERVICE_LABEL,
    TEAM,
    AppImages,
    Environment,
    write_descriptor,
)

pytestmark = [pytest.mark.docker, pytest.mark.deploy]


def _owned(docker_client: Any, env: Environment) -> list[str]:
    selector = {"label": f"{SERVICE_LABEL}={TEAM}/{env.name}"}
    names = [c.name for c in docker_client.containers.list(all=True, filters=selector)]
    names += [n.name for n in docker_client.networks.list(filters=selector)]
    names += [v.name for v in docker_client.volumes.list(filters=selector)]
    return names


def _deploy(env: Environment, image: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return env.cli("deploy", str(env.descriptor), "--env", "test", "--image", image, *extra)


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_image_that_does_not_resolve(
    environment: Environment, docker_client: Any, app_images: AppImages
) -> None:
    line = _one_error_line(_deploy(environment, "127.0.0.1:5000/jb-test/absent:nope"))
    assert "cannot be resolved" in line
    assert _owned(docker_client, environment) == []


def test_secret_without_a_bound_value(
    environment: Environment, docker_client: Any, app_images: AppImages
) -> None:
    del environment.env["APP_TOKEN"]
    line = _one_error_line(_deploy(environment, app_images.v1))
    assert "APP_TOKEN" in line and "withCredentials" in line
    assert _owned(docker_client, environment) == []


@pytest.mark.parametrize("host", ["tcp://127.0.0.1:{port}", "ssh://root@127.0.0.1:{port}"])
def test_unreachable_engine(
    environment: Environment, docker_client: Any, app_images: AppImages, host: str
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment.env["DOCKER_HOST"] = host.format(port=port)
    line = _one_error_line(_deploy(environment, app_images.v1))
    assert "cannot reach the Docker engine" in line
    assert _owned(docker_client, environment) == []


def test_listen_port_taken_by_something_else(
    environment: Environment, docker_client: Any, app_images: AppImages
) -> None:
    host, port = environment.listen.rsplit(":", 1)
    with socket.socket() as squatter:
        squatter.bind((host, int(port)))
        squatter.listen()
        line = _one_error_line(_deploy(environment, app_images.v1))
    assert environment.listen in line and "already taken" in line
    assert _owned(docker_client, environment) == []


def test_companion_volume_path_must_be_absolute(environment: Environment) -> None:
    text = environment.descriptor.read_text().replace("path: /data}", "path: data}")
    environment.descriptor.write_text(text)
    done = _deploy(environment, "whatever")
    assert done.returncode == 1
    assert "must be an absolute path" in done.stderr
    assert f"{environment.descriptor.name}:" in done.stderr


def test_a_held_lock_names_its_holder_and_a_stale_one_is_taken_over(
    environment: Environment, docker_client: Any, app_images: AppImages
) -> None:
    lock_name = environment.names.lock
    labels = {
        SERVICE_LABEL: f"{TEAM}/{environment.name}",
        "dev.jenkins-bridge.lock": json.dumps(
            {
                "holder": "https://ci.example.com/job/app/7/",
                "host": socket.gethostname(),
                "pid": os.getpid(),  # alive: this test process
                "since": "2026-01-01T00:00:00Z",
                "since_epoch": 9e12,
                "action": "deploy",
                "extra": {},
            }
        ),
    }
    docker_client.containers.create(PROXY_IMAGE, name=lock_name, labels=labels)
    line = _one_error_line(_deploy(environment, app_images.v1, "--lock-wait", "1"))
    assert "https://ci.example.com/job/app/7/" in line and "locked" in line
    assert "--break-lock" in line
    # The holder dies: the next deploy detects the stale lock and proceeds.
    docker_client.containers.get(lock_name).remove()
    labels["dev.jenkins-bridge.lock"] = labels["dev.jenkins-bridge.lock"].replace(
        f'"pid": {os.getpid()}', '"pid": 999999999'
    )
    docker_client.containers.create(PROXY_IMAGE, name=lock_name, labels=labels)
    done = _deploy(environment, app_images.v1, "--lock-wait", "1")
    assert done.returncode == 0, done.stderr
    assert "taking over the stale lock" in done.stderr
    assert not docker_client.containers.list(all=True, filters={"name": f"^{lock_name}$"})


def test_pre_switch_hook_failure_switches_nothing(
    environment: Environment, app_images: AppImages
) -> None:
    assert _deploy(environment, app_images.v1).returncode == 0
    write_descriptor(
        environment.descriptor,
        name=environment.name,
        listen=environment.listen,
        subnet=environment.subnet,
        extra='    preSwitch: [sh, -c, "echo migrating; exit 4"]\n',
    )
    line = _one_error_line(_deploy(environment, app_images.v2))
    assert "pre-switch hook" in line and "exited 4" in line and "migrating" in line
    _, out, _ = environment.json("status", str(environment.descriptor), "--env", "test")
    records = environment.json("history", str(environment.descriptor), "--env", "test")[1]
    results = [r["result"] for r in records["data"]["records"]]
    assert results == ["live", "failed"]
    live_before = records["data"]["records"][0]["digest"]
    assert out["data"]["live"]["image"] == live_before


def test_recreate_reports_its_measured_downtime(
    environment: Environment, app_images: AppImages
) -> None:
    assert _deploy(environment, app_images.v1).returncode == 0
    done = _deploy(environment, app_images.v2, "--strategy", "recreate")
    assert done.returncode == 0, done.stderr
    assert "measured downtime" in done.stdout
    records = environment.json("history", str(environment.descriptor), "--env", "test")[1]
    last = records["data"]["records"][-1]
    assert last["action"] == "recreate"
    assert last["downtime_seconds"] is not None


def test_a_killed_deploy_leaves_the_old_version_serving_and_a_rerun_finishes(
    environment: Environment, app_images: AppImages
) -> None:
    assert _deploy(environment, app_images.v1).returncode == 0
    command = [
        str(environment.descriptor),
        "--env",
        "test",
        "--image",
        app_images.v2,
    ]
    process = subprocess.Popen(
        [str(CLI), "deploy", *command],
        stderr=subprocess.PIPE,
        text=True,
        env=environment.env,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("starting jb-"):
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    time.sleep(0.5)
    _, out, _ = environment.json("status", str(environment.descriptor), "--env", "test")
    v1 = environment.json("history", str(environment.descriptor), "--env", "test")[1]["data"][
        "records"
    ][0]["digest"]
    assert out["data"]["live"]["image"] == v1
    # status removed the killed process's lock (its holder is gone) and says so
    assert out["data"]["lock"] is None
    assert any("stale lock" in line for line in out["data"]["cleared"]), out["data"]
    done = _deploy(environment, app_images.v2, "--lock-wait", "1")
    assert done.returncode == 0, done.stderr
    logs = environment.cli("logs", str(environment.descriptor), "--env", "test")
    assert logs.returncode == 0, logs.stderr

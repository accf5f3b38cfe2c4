"""The rendered compose.yaml on this machine's engine: up, healthy, the app reaches its
companion by name and sees its values as data, down; the named volume is kept."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge.descriptor import load_service
from jenkins_bridge.render.compose import render_compose

from .conftest import BASE_IMAGE, AppImages, _free_port, _free_subnet
from .samples import SERVICE_HEAD, STORE_COMPANION

pytestmark = [pytest.mark.docker]

DESCRIPTOR = (
    SERVICE_HEAD
    + """\
runtime:
  port: {port}
  composeSubnet: {subnet}
  healthcheck: {{intervalSeconds: 1, timeoutSeconds: 2, retries: 2, startPeriodSeconds: 0}}
  env: {{GREETING: "a $HOME b"}}
  secrets: [{{env: APP_TOKEN, credentialsId: app-token}}]
"""
    + STORE_COMPANION
)


def test_compose_up_healthy_companion_by_name_down_keeps_the_volume(
    docker_client: Any, app_images: AppImages, tmp_path: Path
) -> None:
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.fail("docker-compose is missing: scripts/services.sh up installs it")
    (tmp_path / "svc.yaml").write_text(
        DESCRIPTOR.format(
            name="api",
            team="shop",
            port=_free_port(),
            subnet=_free_subnet(docker_client),
            base=BASE_IMAGE,
        )
    )
    (tmp_path / "compose.yaml").write_text(render_compose(load_service(tmp_path / "svc.yaml")))
    project = f"jbc{uuid.uuid4().hex[:8]}"
    env = {"PATH": "/usr/bin:/bin", "IMAGE": app_images.v1, "APP_TOKEN": "tok-1"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [compose, "-p", project, "-f", "compose.yaml", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
        )

    volume = f"{project}_store-data"
    try:
        up = run("up", "-d")
        assert up.returncode == 0, up.stderr
        app = docker_client.containers.get(f"{project}_app_1")
        for _ in range(300):
            app.reload()
            if app.attrs["State"].get("Health", {}).get("Status") == "healthy":
                break
            time.sleep(0.1)
        assert app.attrs["State"]["Health"]["Status"] == "healthy"
        store = docker_client.containers.get(f"{project}_store_1")
        store.exec_run(["sh", "-c", "echo from-store > /data/key"])
        code, output = app.exec_run(
            ["sh", "-c", "printf 'GET /key HTTP/1.0\\r\\n\\r\\n' | nc -w 2 store 8080"]
        )
        assert code == 0 and b"from-store" in output, output
        code, output = app.exec_run(["sh", "-c", 'printf %s "$GREETING|$APP_TOKEN"'])
        assert output.decode() == "a $HOME b|tok-1"
    finally:
        down = run("down")
    assert down.returncode == 0, down.stderr
    assert docker_client.volumes.get(volume).name == volume
    docker_client.volumes.get(volume).remove()

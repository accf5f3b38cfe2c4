"""A secret value never leaves the deploy (errors, the JSON envelope, history, names,
labels), and a pre-switch hook that overruns is killed and blamed, not the engine."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from .conftest import SERVICE_LABEL, TEAM, AppImages, Environment

pytestmark = [pytest.mark.docker, pytest.mark.deploy]

LEAKY_COMPANION = """\
  companions:
    - name: leaky
      image: {base}
      command: [sh, -c, 'echo "connecting with password=$APP_TOKEN"; sleep 1; exit 1']
      secrets: [{{env: APP_TOKEN, credentialsId: app-token}}]
      healthcheck: {{command: [sh, -c, "exit 1"], intervalSeconds: 1, retries: 1,
                    startPeriodSeconds: 0}}
"""


def _deploy(env: Environment, image: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return env.cli(
        "--output", "json", "deploy", str(env.descriptor), "--env", "test", "--image", image,
        *extra,
    )  # fmt: skip


def _everything_the_engine_shows(docker_client: Any, env: Environment) -> str:
    """Names and labels of every object the service owns, as ``docker inspect`` shows them."""
    selector = {"label": f"{SERVICE_LABEL}={TEAM}/{env.name}"}
    shown = []
    for container in docker_client.containers.list(all=True, filters=selector):
        shown.append(container.name + json.dumps(container.labels))
    for network in docker_client.networks.list(filters=selector):
        shown.append(network.name + json.dumps(network.attrs.get("Labels")))
    for volume in docker_client.volumes.list(filters=selector):
        shown.append(volume.name + json.dumps(volume.attrs.get("Labels")))
    return "\n".join(shown)


def test_a_secret_printed_by_a_failing_hook_or_companion_appears_nowhere(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    secret = environment.env["APP_TOKEN"]
    assert _deploy(environment, app_images.v1).returncode == 0
    environment.with_extra(
        """    preSwitch: [sh, -c, 'echo "migrating as $APP_TOKEN"; exit 4']\n"""
    )
    hook = _deploy(environment, app_images.v2)
    assert hook.returncode == 1, hook.stderr
    envelope = json.loads(hook.stdout)
    [error] = envelope["errors"]
    assert "exited 4" in json.dumps(error) and "migrating as ****" in json.dumps(error)
    assert "secret values masked" in json.dumps(error)

    text = environment.descriptor.read_text()
    environment.descriptor.write_text(
        text.replace("  companions:\n", LEAKY_COMPANION.format(base=_base_image(text)), 1).replace(
            "    preSwitch:", "    # preSwitch:"
        )
    )
    companion = _deploy(environment, app_images.v2)
    assert companion.returncode == 1, companion.stderr
    assert "leaky" in companion.stdout

    outputs = [hook.stdout, hook.stderr, companion.stdout, companion.stderr]
    for command in ("history", "status"):
        done = environment.cli("--output", "json", command, str(environment.descriptor),
                               "--env", "test")  # fmt: skip
        outputs += [done.stdout, done.stderr]
    outputs.append(_everything_the_engine_shows(docker_client, environment))
    for swarm_secret in docker_client.secrets.list():
        outputs.append(swarm_secret.name + json.dumps(swarm_secret.attrs.get("Spec")))
    found = [text for text in outputs if secret in text]
    assert found == [], found


def _base_image(descriptor: str) -> str:
    # the store companion's image: the test busybox the fixture built the app from
    line = next(line for line in descriptor.splitlines() if "image:" in line and "busybox" in line)
    return line.split("image:", 1)[1].strip()


def test_a_hook_that_overruns_is_killed_and_blamed(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    environment.with_extra("    preSwitch: [sleep, '600']\n")
    done = _deploy(environment, app_images.v1, "--timeout", "8")
    assert done.returncode == 1, done.stderr
    [error] = json.loads(done.stdout)["errors"]
    message = json.dumps(error)
    assert "pre-switch hook" in message and "did not finish within 8 s" in message, message
    assert "unreachable" not in message
    hooks = docker_client.containers.list(
        all=True, filters={"label": "dev.jenkins-bridge.role=hook"}
    )
    assert [h.name for h in hooks if h.name.startswith(environment.names.base)] == []

"""Object names on a real engine: services whose old names were the same text live side by
side, a foreign owner's object under our name stops a deploy, and an environment deployed by
an earlier release (``jb-<team>-<name>-<env>``) keeps its objects."""

from __future__ import annotations

import http.client
import uuid
from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge.descriptor.naming import ObjectNames

from .conftest import (
    BASE_IMAGE,
    SERVICE_LABEL,
    TEAM,
    AppImages,
    Environment,
    _free_port,
    _free_subnet,
    remove_service,
    write_descriptor,
)

pytestmark = [pytest.mark.docker, pytest.mark.deploy]
ENVIRONMENT_LABEL = "dev.jenkins-bridge.environment"


def _get(listen: str) -> bytes:
    host, port = listen.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("GET", "/")
    body = connection.getresponse().read()
    connection.close()
    return body


def _environment(
    docker_client: Any, folder: Path, name: str, env_name: str, base: Environment
) -> Environment:
    listen = f"127.0.0.1:{_free_port()}"
    subnet = _free_subnet(docker_client)
    path = folder / f"{name}.yaml"
    write_descriptor(path, name=name, listen=listen, subnet=subnet)
    path.write_text(path.read_text().replace("environment: test", f"environment: {env_name}"))
    return Environment(name, path, listen, subnet, dict(base.env))


def test_services_the_old_names_confused_live_side_by_side(
    environment: Environment, docker_client: Any, app_images: AppImages, tmp_path: Path
) -> None:
    # team jbt, service rcX + env x-test and service rcX-x + env test were both
    # jb-jbt-rcX-x-test: the second deploy took over the first one's network and proxy.
    stem = f"rc{uuid.uuid4().hex[:6]}"
    first = _environment(docker_client, tmp_path, stem, "x-test", environment)
    second = _environment(docker_client, tmp_path, f"{stem}-x", "test", environment)
    try:
        for env, env_name, image in (
            (first, "x-test", app_images.v1),
            (second, "test", app_images.v2),
        ):
            done = env.cli("deploy", str(env.descriptor), "--env", env_name, "--image", image)
            assert done.returncode == 0, done.stderr
        assert _get(first.listen).startswith(b"version 1")
        assert _get(second.listen).startswith(b"version 2")
        code, out, err = first.json("history", str(first.descriptor), "--env", "x-test")
        assert code == 0, err
        assert [r["image"] for r in out["data"]["records"]] == [app_images.v1]
        names = {
            ObjectNames.of(TEAM, stem, "x-test").network,
            ObjectNames.of(TEAM, f"{stem}-x", "test").network,
        }
        assert len(names) == 2 and all(docker_client.networks.list(names=[n]) for n in names)
    finally:  # containers of both first: on the old names they shared one network
        owners = (f"{TEAM}/{stem}", f"{TEAM}/{stem}-x")
        for owner in owners:
            selector = {"label": f"{SERVICE_LABEL}={owner}"}
            for container in docker_client.containers.list(all=True, filters=selector):
                container.remove(force=True)
        for owner in owners:
            remove_service(docker_client, owner)


def test_an_object_of_another_owner_under_our_name_stops_the_deploy(
    environment: Environment, docker_client: Any, app_images: AppImages
) -> None:
    squatter = docker_client.containers.create(
        BASE_IMAGE,
        ["true"],
        name=environment.names.proxy,
        labels={SERVICE_LABEL: "other/service", ENVIRONMENT_LABEL: "test"},
    )
    try:
        done = environment.cli(
            "deploy", str(environment.descriptor), "--env", "test", "--image", app_images.v1
        )
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert f"{environment.descriptor.name}:" in done.stderr
        assert environment.names.proxy in done.stderr and "other/service" in done.stderr
        owned = docker_client.containers.list(
            all=True, filters={"label": f"{SERVICE_LABEL}={TEAM}/{environment.name}"}
        )
        assert owned == []  # nothing was changed
    finally:
        squatter.remove(force=True)


def test_an_environment_an_earlier_release_deployed_keeps_its_names(
    environment: Environment, docker_client: Any, app_images: AppImages
) -> None:
    legacy = ObjectNames.legacy(TEAM, environment.name, "test")
    labels = {
        SERVICE_LABEL: f"{TEAM}/{environment.name}",
        ENVIRONMENT_LABEL: "test",
        "dev.jenkins-bridge.role": "state",
    }
    docker_client.volumes.create(legacy.state, labels=labels)
    docker_client.containers.create(
        BASE_IMAGE,
        ["true"],
        name=legacy.state,
        labels=labels,
        volumes={legacy.state: {"bind": "/jb-state", "mode": "rw"}},
    )
    done = environment.cli(
        "deploy", str(environment.descriptor), "--env", "test", "--image", app_images.v1
    )
    assert done.returncode == 0, done.stderr
    assert "earlier release" in done.stderr
    assert docker_client.containers.get(legacy.app(1)).status == "running"
    assert docker_client.networks.list(names=[legacy.network])
    assert not docker_client.containers.list(all=True, filters={"name": environment.names.base})
    assert _get(environment.listen).startswith(b"version 1")

"""Runtime options reach the app container; a pushed tag runs as its registry digest."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from .conftest import AppImages, Environment, write_descriptor

pytestmark = [pytest.mark.docker, pytest.mark.deploy]

SECURITY = """\
  security: {readOnly: true, tmpfs: [/tmp], capDrop: [ALL], capAdd: [NET_BIND_SERVICE],
             user: "65534"}
  resources: {cpus: 0.5, memory: 64Mi}
  restart: unless-stopped
"""


def test_security_options_and_limits(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    write_descriptor(
        environment.descriptor,
        name=environment.name,
        listen=environment.listen,
        subnet=environment.subnet,
    )
    text = environment.descriptor.read_text()
    environment.descriptor.write_text(text.replace("  companions:\n", SECURITY + "  companions:\n"))
    done = environment.cli(
        "deploy", str(environment.descriptor), "--env", "test", "--image", app_images.v1
    )
    assert done.returncode == 0, done.stderr
    assert environment.env["APP_TOKEN"] not in done.stdout + done.stderr
    app = docker_client.containers.get(environment.names.app(1))
    host = app.attrs["HostConfig"]
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["ReadonlyRootfs"] is True
    assert "/tmp" in host["Tmpfs"]
    assert host["CapDrop"] == ["ALL"]
    assert host["CapAdd"] == ["NET_BIND_SERVICE"]
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] == 64 * 1024 * 1024
    assert host["RestartPolicy"]["Name"] == "unless-stopped"
    assert host["Init"] is True
    assert app.attrs["Config"]["User"] == "65534"


def test_a_pushed_tag_is_resolved_to_its_registry_digest(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    repository = f"127.0.0.1:5000/jb-test/{environment.name}"
    image = docker_client.images.get(app_images.v1)
    image.tag(repository, "release")
    try:
        docker_client.images.push(repository, tag="release")
        docker_client.images.remove(f"{repository}:release")  # the engine must pull it back
        code, out, err = environment.json(
            "deploy", str(environment.descriptor), "--env", "test", "--image",
            f"{repository}:release",
        )  # fmt: skip
        assert code == 0, err
        record = out["data"]["record"]
        assert record["image"] == f"{repository}:release"
        assert record["digest"].startswith(f"{repository}@sha256:")
        app = docker_client.containers.get(record["container"])
        assert app.attrs["Config"]["Image"] == record["digest"]
    finally:
        with contextlib.suppress(Exception):
            docker_client.images.remove(f"{repository}:release", force=True)


def test_a_changed_companion_is_replaced_and_its_volume_kept(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    deploy = ("deploy", str(environment.descriptor), "--env", "test", "--image", app_images.v1)
    assert environment.cli(*deploy).returncode == 0
    name = environment.names.companion("store")
    first = docker_client.containers.get(name)
    first.exec_run(["sh", "-c", "echo survived > /data/key"])
    volume = "      volume: {name: store-data"
    text = environment.descriptor.read_text()
    environment.descriptor.write_text(text.replace(volume, "      env: {MODE: two}\n" + volume))
    done = environment.cli(*deploy)
    assert done.returncode == 0, done.stderr
    assert "companion store: replacing" in done.stderr
    second = docker_client.containers.get(name)
    assert second.id != first.id
    assert second.exec_run(["cat", "/data/key"]).output == b"survived\n"

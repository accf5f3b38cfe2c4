"""Service networks on a real engine: a subnet allocated from the pool when none is set and
kept per environment, and a collision that names the other network."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

import pytest

from .conftest import TEAM, AppImages, Environment, remove_service

pytestmark = [pytest.mark.docker, pytest.mark.deploy]
POOL = "198.18.0.0/15"


def _deploy(env: Environment, image: str) -> Any:
    return env.cli("deploy", str(env.descriptor), "--env", "test", "--image", image)


def _network_subnet(docker_client: Any, name: str) -> str:
    network = docker_client.networks.get(name)
    return str(network.attrs["IPAM"]["Config"][0]["Subnet"])


def test_a_subnet_is_allocated_from_the_pool_and_kept(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    text = environment.descriptor.read_text()
    environment.descriptor.write_text(
        text.replace(f"    subnet: {environment.subnet}\n", f"    subnetPool: {POOL}\n")
    )
    done = _deploy(environment, app_images.v1)
    assert done.returncode == 0, done.stderr
    subnet = _network_subnet(docker_client, environment.names.network)
    assert ipaddress.IPv4Network(subnet).subnet_of(ipaddress.IPv4Network(POOL))
    assert _deploy(environment, app_images.v2).returncode == 0
    assert _network_subnet(docker_client, environment.names.network) == subnet
    # Removed and deployed again: the same subnet comes back while it is free.
    remove_service(docker_client, f"{TEAM}/{environment.name}")
    assert _deploy(environment, app_images.v1).returncode == 0
    assert _network_subnet(docker_client, environment.names.network) == subnet


def test_a_subnet_another_network_uses_is_named(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    import docker.types

    other = f"jb-test-collide-{uuid.uuid4().hex[:8]}"
    pool = docker.types.IPAMPool(subnet=environment.subnet)
    network = docker_client.networks.create(
        other, ipam=docker.types.IPAMConfig(pool_configs=[pool])
    )
    try:
        done = _deploy(environment, app_images.v1)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert other in done.stderr and environment.subnet in done.stderr
        assert not docker_client.networks.list(names=[environment.names.network])
    finally:
        network.remove()

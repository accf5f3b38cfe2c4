"""The live pipeline runs use the container tests' engine and registry fixtures."""

from tests.containers.conftest import docker_client, repositories, services

__all__ = ["docker_client", "repositories", "services"]

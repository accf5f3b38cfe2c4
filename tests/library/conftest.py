"""The live pipeline runs use the container tests' engine and registry fixtures, and the deploy
tests' service environment (a free port and subnet, everything removed afterwards)."""

from tests.containers.conftest import docker_client, repositories, services
from tests.deploy.conftest import environment

__all__ = ["docker_client", "environment", "repositories", "services"]

"""The service descriptor: YAML in, validated typed ``Service`` models out."""

from jenkins_bridge.descriptor.loading import discover, load_service, load_services
from jenkins_bridge.descriptor.model import Service

__all__ = ["Service", "discover", "load_service", "load_services"]

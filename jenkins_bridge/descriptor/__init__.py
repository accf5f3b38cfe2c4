"""The service descriptor: YAML in, validated typed ``Service`` models out."""

from __future__ import annotations

from typing import Any

from jenkins_bridge.descriptor.loading import (
    check_services,
    discover,
    load_service,
    load_services,
)

__all__ = ["Service", "check_services", "discover", "load_service", "load_services"]


def __getattr__(name: str) -> Any:
    # The model's dataclasses are created on first use: validate needs none of them.
    if name == "Service":
        from jenkins_bridge.descriptor.model import Service

        return Service
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

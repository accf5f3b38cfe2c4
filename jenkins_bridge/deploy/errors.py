"""Typed failures of deploys, each with its evidence and the next step."""

from __future__ import annotations

from typing import Any

from jenkins_bridge.errors import BridgeError


class DeployError(BridgeError):
    code = "deploy-error"

    def __init__(self, message: str, *, hint: str | None = None, data: Any = None) -> None:
        super().__init__(message, hint=hint)
        self.data: dict[str, Any] = dict(data or {})


class NotDockerTarget(DeployError):
    code = "not-docker-target"


class NoSuchEnvironment(DeployError):
    code = "no-such-environment"


class SecretUnbound(DeployError):
    code = "secret-unbound"


class NoSubnet(DeployError):
    code = "no-subnet"


class ForeignOwner(DeployError):
    code = "foreign-owner"


class LockHeld(DeployError):
    code = "lock-held"


class PreSwitchFailed(DeployError):
    code = "pre-switch-failed"


class NothingToRollBack(DeployError):
    code = "nothing-to-roll-back"


class LockUnreadable(DeployError):
    code = "lock-unreadable"


class NotDeployed(DeployError):
    code = "not-deployed"

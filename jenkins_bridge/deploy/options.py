"""What a command asks of a platform besides the image: command-line overrides, a deploy's
terms (action, strategy, lock), ``remove``'s choices, and the log every step writes to.

Plain values with no behaviour, below everything that reads them (the lock, ``remove``, each
platform), so none of those has to import a platform to know its options.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Log = Callable[[str], None]

# How long a deploy waits for another deploy of the same environment (``--lock-wait``).
LOCK_WAIT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class CommandOptions:
    """Command-line overrides; a platform uses the ones that mean something to it."""

    subnet: str | None = None
    proxy_image: str | None = None
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class DeployOptions:
    """How one deploy runs: its action word, the strategy override and the lock's terms.
    ``strategy`` means something to the Docker host only (Swarm and Kubernetes roll)."""

    action: str = "deploy"
    strategy: str | None = None
    lock_wait: float = LOCK_WAIT_SECONDS
    break_lock: bool = False


PLAIN_DEPLOY = DeployOptions()


@dataclass(frozen=True, slots=True)
class RemoveOptions:
    volumes: bool = False  # also the named volumes (companion data)
    history: bool = False  # also the history (the state container and volume)
    lock_wait: float = 0.0
    break_lock: bool = False

"""Reads the engine's JSON progress streams for build and push: log lines, the current
Dockerfile step, the image id or pushed digest, and error entries (which docker-py does not
raise on). Pure: fed decoded entries, so it is unit-tested with canned streams."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from typing import Any, NamedTuple

LAST_LINES_KEPT = 12

_STEP = re.compile(r"^Step (\d+/\d+) : (.*)$")
# Engine chatter that says nothing about why a step failed.
_NOISE = (" ---> ", "Removing intermediate container", " ---> Running in", " ---> Using cache")


def entry_error(entry: Mapping[str, Any]) -> str | None:
    """The message of an ``error``/``errorDetail`` entry, else None."""
    detail = entry.get("errorDetail")
    if isinstance(detail, Mapping) and detail.get("message"):
        return str(detail["message"])
    if entry.get("error"):
        return str(entry["error"])
    return None


class BuildProgress:
    """Follows a legacy-builder stream: complete log lines, current step, result or error."""

    def __init__(self) -> None:
        self._pending = ""
        self.step: str | None = None
        self.image_id: str | None = None
        self.error: str | None = None
        self._last_lines: deque[str] = deque(maxlen=LAST_LINES_KEPT)

    @property
    def last_lines(self) -> list[str]:
        return list(self._last_lines)

    def feed(self, entry: Mapping[str, Any]) -> list[str]:
        """Take one decoded entry; return the complete log lines it finished."""
        message = entry_error(entry)
        if message is not None:
            self.error = message
            return [*self._flush(), f"error: {message}"]
        aux = entry.get("aux")
        if isinstance(aux, Mapping) and isinstance(aux.get("ID"), str):
            self.image_id = aux["ID"]
        text = entry.get("stream")
        if not isinstance(text, str) or not text:
            return []
        self._pending += text
        *complete, self._pending = self._pending.split("\n")
        return [self._observe(line) for line in complete]

    def finish(self) -> list[str]:
        return self._flush()

    def _flush(self) -> list[str]:
        if not self._pending:
            return []
        line, self._pending = self._pending, ""
        return [self._observe(line)]

    def _observe(self, line: str) -> str:
        line = line.rstrip("\r")
        step = _STEP.match(line)
        if step is not None:
            self.step = f"{step.group(1)} {step.group(2)}"
            self._last_lines.clear()
        elif line.strip() and not line.startswith(_NOISE):
            self._last_lines.append(line)
        return line


class PushResult(NamedTuple):
    tag: str | None
    digest: str
    size: int | None


class PushProgress:
    """Follows a push stream: one log line per layer state change, the digest, or the error."""

    def __init__(self) -> None:
        self.result: PushResult | None = None
        self.error: str | None = None
        self._layer_state: dict[str, str] = {}

    def feed(self, entry: Mapping[str, Any]) -> list[str]:
        message = entry_error(entry)
        if message is not None:
            self.error = message
            return []
        aux = entry.get("aux")
        if isinstance(aux, Mapping) and isinstance(aux.get("Digest"), str):
            size = aux.get("Size")
            self.result = PushResult(
                tag=str(aux["Tag"]) if aux.get("Tag") is not None else None,
                digest=aux["Digest"],
                size=size if isinstance(size, int) else None,
            )
            return []
        status = entry.get("status")
        if not isinstance(status, str):
            return []
        layer = entry.get("id")
        if isinstance(layer, str):
            # Progress bars repeat "Pushing" many times a second; log state changes only.
            if self._layer_state.get(layer) == status:
                return []
            self._layer_state[layer] = status
            return [f"{layer}: {status}"]
        return [status]


class PushFailureKind:
    """What kind of failure a push error message describes (see ``classify_push_error``)."""

    UNREACHABLE = "unreachable"
    AUTH = "auth"
    NOT_FOUND = "not-found"
    INVALID_NAME = "invalid-name"
    REJECTED = "rejected"


_UNREACHABLE_MARKERS = (
    "connection refused",
    "dial tcp",
    "no such host",
    "i/o timeout",
    "connection reset",
    "server gave http response to https client",
    "network is unreachable",
    "no route to host",
    "tls handshake timeout",
)
_AUTH_MARKERS = (
    "no basic auth credentials",
    "unauthorized",
    "authentication required",
    "incorrect username or password",
    "denied",
    "401",
)
_NOT_FOUND_MARKERS = ("tag does not exist", "does not exist locally", "no such image")


def classify_push_error(message: str) -> str:
    lowered = message.lower()
    if "invalid reference format" in lowered:
        return PushFailureKind.INVALID_NAME
    if any(marker in lowered for marker in _NOT_FOUND_MARKERS):
        return PushFailureKind.NOT_FOUND
    if any(marker in lowered for marker in _AUTH_MARKERS):
        return PushFailureKind.AUTH
    if any(marker in lowered for marker in _UNREACHABLE_MARKERS):
        return PushFailureKind.UNREACHABLE
    return PushFailureKind.REJECTED

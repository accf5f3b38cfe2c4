"""The health gate's verdict from what the engine and the HTTP probe report (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from jenkins_bridge.containers.runtime import HealthSpec
from jenkins_bridge.descriptor.model import Healthcheck

PENDING = "pending"
HEALTHY = "healthy"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Observation:
    status: str  # the container's state
    docker_health: str | None  # starting | healthy | unhealthy | None (no healthcheck)
    http_status: int | None  # status of the last probe, None when it got no answer
    restart_count: int
    elapsed: float
    timeout: float


@dataclass(frozen=True, slots=True)
class Verdict:
    state: str
    reason: str = ""


def judge(seen: Observation) -> Verdict:
    """Healthy when Docker says so (or has no check) and the probe answers 2xx/3xx.

    A container that stopped, restarted or turned unhealthy fails at once; otherwise the
    gate waits until the timeout.
    """
    if seen.status not in ("running", "created"):
        return Verdict(FAILED, f"the container is {seen.status}")
    if seen.restart_count > 0:
        return Verdict(FAILED, f"the container restarted {seen.restart_count} time(s)")
    if seen.docker_health == "unhealthy":
        return Verdict(FAILED, "the Docker healthcheck reports unhealthy")
    docker_ok = seen.docker_health in (None, "healthy")
    http_ok = seen.http_status is not None and 200 <= seen.http_status < 400
    if docker_ok and http_ok:
        return Verdict(HEALTHY)
    if seen.elapsed >= seen.timeout:
        parts = []
        if not docker_ok:
            parts.append(f"Docker health still {seen.docker_health}")
        if not http_ok:
            answer = "no answer" if seen.http_status is None else f"HTTP {seen.http_status}"
            parts.append(f"probe got {answer}")
        return Verdict(FAILED, f"not healthy within {seen.timeout:g} s ({', '.join(parts)})")
    return Verdict(PENDING)


def test_argv(test: tuple[str, ...]) -> tuple[str, ...] | None:
    """The command Docker runs for a container's healthcheck ``Test`` (None: no command)."""
    if len(test) >= 2 and test[0] == "CMD":
        return test[1:]
    if len(test) == 2 and test[0] == "CMD-SHELL":
        return ("/bin/sh", "-c", test[1])
    return None


def parse_status_line(response: str) -> int | None:
    """``HTTP/1.0 200 OK`` -> 200; None when the text is no HTTP response."""
    first = response.split("\n", 1)[0].strip()
    parts = first.split()
    if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def container_health(check: Healthcheck) -> HealthSpec:
    """The engine's healthcheck settings of a descriptor's ``healthcheck``."""
    return HealthSpec(
        test=check.command,
        interval_seconds=check.interval_seconds,
        timeout_seconds=check.timeout_seconds,
        retries=check.retries,
        start_period_seconds=check.start_period_seconds,
    )

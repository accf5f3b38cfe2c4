"""Small values the deploy tests share (not fixtures: plain functions to import)."""

from __future__ import annotations

from jenkins_bridge.deploy.records import DeployRecord


def deploy_record(
    seq: int, digest: str, result: str = "live", environment: str = "test"
) -> DeployRecord:
    """A finished deploy of ``digest`` as history keeps it."""
    return DeployRecord(
        seq=seq,
        action="deploy",
        environment=environment,
        image=digest,
        digest=digest,
        container=f"c{seq}",
        previous=None,
        result=result,
        started="2026-01-01T00:00:00Z",
        duration_seconds=1.0,
    )

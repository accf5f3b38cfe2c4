"""Small values the deploy tests share (not fixtures: plain functions to import)."""

from __future__ import annotations

import socket
from pathlib import Path

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


# Descriptor pieces the deploy tests and benchmarks assemble (str.format templates: {name},
# {team}, {base} are filled in by the caller; literal braces are doubled).
SERVICE_HEAD = """\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {{name: {name}, team: {team}}}
source: {{repo: https://git.example.com/{team}/{name}.git}}
image: {{repository: 127.0.0.1:5000/{team}/{name}}}
"""
# The test app's health path with quick timings, and a short stop timeout.
TEST_APP_HEALTH = """\
  healthcheck: {{path: /healthz, intervalSeconds: 1, timeoutSeconds: 2, retries: 2,
                startPeriodSeconds: 0}}
  stopTimeoutSeconds: 2
"""
# A companion serving its volume over HTTP on 8080 (busybox httpd, image {base}).
STORE_COMPANION = """\
  companions:
    - name: store
      image: {base}
      command: [httpd, -f, -p, "8080", -h, /data]
      volume: {{name: store-data, path: /data}}
      healthcheck: {{command: [sh, -c, "echo | nc -w 2 127.0.0.1 8080"], intervalSeconds: 1,
                    retries: 3, startPeriodSeconds: 0}}
"""


def unreachable_kubeconfig(folder: Path) -> Path:
    """A kubeconfig whose only cluster is a closed loopback port."""
    path = folder / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
    )
    return path


def port_is_free(port: int) -> bool:
    """Whether nothing listens on (or holds) ``port`` on 127.0.0.1."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def app_descriptor_head(port: str = "8080", team: str = "{team}") -> str:
    """``SERVICE_HEAD`` and a ``runtime:`` with ``port`` and ``TEST_APP_HEALTH``: the start of a
    descriptor of the test app (still a str.format template)."""
    return SERVICE_HEAD.replace("{team}", team) + f"runtime:\n  port: {port}\n" + TEST_APP_HEALTH

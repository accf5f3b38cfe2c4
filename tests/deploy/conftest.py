"""Fixtures for deploy tests: the real engine and proxy image from scripts/services.sh, test app
images built from busybox, a private sshd for the remote-engine case, and a service
environment whose containers, network and volumes are removed afterwards whatever happens.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge.descriptor.naming import ObjectNames
from tests.containers.conftest import services  # noqa: F401  (the shared fixture)

from .samples import STORE_COMPANION, app_descriptor_head

ROOT = Path(__file__).resolve().parents[2]
SERVICES_SCRIPT = ROOT / "scripts" / "services.sh"
CLI = ROOT / ".venv" / "bin" / "jenkins-bridge"
BASE_IMAGE = "jenkins-bridge-test/busybox:latest"
PROXY_IMAGE = "jenkins-bridge-test/nginx:debian"
SERVICE_LABEL = "dev.jenkins-bridge.service"
TEAM = "jbt"

APP_DOCKERFILE = ROOT / "tests" / "deploy" / "app" / "Dockerfile"


@pytest.fixture(scope="session")
def engine_ready(request: pytest.FixtureRequest) -> None:
    """The engine, registries and swarm of scripts/services.sh up (the containers tests'
    ``services`` fixture: JB_SKIP_DOCKER=1 skips, a failed start fails)."""
    request.getfixturevalue("services")


@pytest.fixture(scope="session")
def docker_client(engine_ready: None) -> Iterator[Any]:
    import docker

    client = docker.from_env()
    yield client
    client.close()


@dataclass(frozen=True)
class AppImages:
    v1: str
    v2: str
    v3_unhealthy: str


@pytest.fixture(scope="session")
def app_images(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppImages]:
    """Three versions of a busybox httpd app; v3 has no /healthz, so it never gets healthy."""
    repository = f"jb-test-deploy-{uuid.uuid4().hex[:8]}/app"
    context = tmp_path_factory.mktemp("app-image")
    (context / "Dockerfile").write_text(APP_DOCKERFILE.read_text())
    built = []
    for tag, version, healthy in (("v1", "1", "yes"), ("v2", "2", "yes"), ("v3", "3", "no")):
        reference = f"{repository}:{tag}"
        docker_client.images.build(
            path=str(context),
            tag=reference,
            buildargs={"VERSION": version, "HEALTHY": healthy},
            network_mode="host",
            rm=True,
        )
        built.append(reference)
    yield AppImages(*built)
    for reference in built:
        docker_client.images.remove(reference, force=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _free_subnet(docker_client: Any) -> str:
    """A /24 in 198.18.0.0/15 that no network on the engine uses (never a private range)."""
    used = set()
    for network in docker_client.networks.list():
        for config in (network.attrs.get("IPAM") or {}).get("Config") or []:
            used.add(config.get("Subnet"))
    candidates = [f"198.{a}.{b}.0/24" for a in (18, 19) for b in range(256)]
    random.shuffle(candidates)
    return next(c for c in candidates if c not in used and c != "198.19.0.0/24")


@dataclass
class Environment:
    name: str
    descriptor: Path
    listen: str
    subnet: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> ObjectNames:
        """The engine object names of this service's ``test`` environment."""
        return ObjectNames.of(TEAM, self.name, "test")

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CLI), *args], capture_output=True, text=True, timeout=timeout, env=self.env
        )

    def json(self, *args: str) -> tuple[int, dict[str, Any], str]:
        done = self.cli("--output", "json", *args)
        return done.returncode, json.loads(done.stdout or "{}"), done.stderr

    def with_extra(self, extra: str) -> str:
        """Rewrites the descriptor with ``extra`` YAML at its end (indented 4: keys of the
        deploy stage; unindented: top-level keys); returns its new text."""
        write_descriptor(
            self.descriptor, name=self.name, listen=self.listen, subnet=self.subnet, extra=extra
        )
        return self.descriptor.read_text()


DESCRIPTOR = (
    app_descriptor_head()
    + """\
  env: {{GREETING: hello}}
  secrets: [{{env: APP_TOKEN, credentialsId: app-token}}]
"""
    + STORE_COMPANION
    + """\
deploy:
  - environment: test
    target: docker
    strategy: {strategy}
    listen: "{listen}"
    subnet: {subnet}
    # This machine's tests never touch the private ranges (the product refuses only what
    # this setting lists).
    refusedSubnets: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]
    proxyImage: {proxy}
    healthTimeoutSeconds: 20
    drainSeconds: 1
{extra}"""
)


def write_descriptor(path: Path, **values: str) -> None:
    defaults = {
        "team": TEAM,
        "base": BASE_IMAGE,
        "proxy": PROXY_IMAGE,
        "strategy": "blue-green",
        "extra": "",
    }
    path.write_text(DESCRIPTOR.format(**{**defaults, **values}))


def remove_service(docker_client: Any, owner: str) -> None:
    """Everything labelled for ``owner``: containers, then networks and volumes."""
    selector = {"label": f"{SERVICE_LABEL}={owner}"}
    for container in docker_client.containers.list(all=True, filters=selector):
        container.remove(force=True)
    for network in docker_client.networks.list(filters=selector):
        network.remove()
    for volume in docker_client.volumes.list(filters=selector):
        volume.remove(force=True)


@pytest.fixture
def environment(docker_client: Any, tmp_path: Path) -> Iterator[Environment]:
    name = f"svc-{uuid.uuid4().hex[:8]}"
    listen = f"127.0.0.1:{_free_port()}"
    subnet = _free_subnet(docker_client)
    descriptor = tmp_path / f"{name}.yaml"
    write_descriptor(descriptor, name=name, listen=listen, subnet=subnet)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("BUILD_URL", "GIT_COMMIT", "DOCKER_HOST")
    }
    env["APP_TOKEN"] = f"token-{uuid.uuid4().hex}"
    try:
        yield Environment(name, descriptor, listen, subnet, env)
    finally:
        remove_service(docker_client, f"{TEAM}/{name}")


@dataclass
class LoadResult:
    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class LoadGenerator:
    """Sequential GETs to a loopback address until stopped, bounded in count and time."""

    def __init__(self, listen: str, max_requests: int = 50_000, max_seconds: float = 300) -> None:
        host, port = listen.rsplit(":", 1)
        assert host.startswith("127."), "load goes to loopback only"
        self.host, self.port = host, int(port)
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.result = LoadResult()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            if self.result.ok + self.result.failed >= self.max_requests:
                break
            try:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=5)
                connection.request("GET", "/")
                response = connection.getresponse()
                body = response.read()
                connection.close()
                if response.status == 200 and body.startswith(b"version "):
                    self.result.ok += 1
                else:
                    self.result.failed += 1
                    self.result.errors.append(f"HTTP {response.status} {body[:60]!r}")
            except OSError as exc:
                self.result.failed += 1
                self.result.errors.append(repr(exc))

    def __enter__(self) -> LoadGenerator:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@dataclass(frozen=True)
class SshEngine:
    docker_host: str
    path_prefix: str  # a folder whose `ssh` adds our config


@pytest.fixture(scope="session")
def ssh_engine(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshEngine]:
    """A private sshd on a loopback port with generated keys; stopped at the end."""
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not Path(sshd).exists():
        pytest.fail("sshd is missing: scripts/services.sh up installs openssh-server")
    folder = tmp_path_factory.mktemp("sshd")
    folder.chmod(0o700)
    port = _free_port()
    for key in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)], check=True
        )
    (folder / "authorized_keys").write_text((folder / "client_key.pub").read_text())
    (folder / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1:{port}\nHostKey {folder}/host_key\n"
        f"PidFile {folder}/sshd.pid\nAuthorizedKeysFile {folder}/authorized_keys\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
        "MaxStartups 100:30:200\nMaxSessions 100\n"
    )
    host_key = (folder / "host_key.pub").read_text().split()
    (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    (folder / "ssh_config").write_text(
        f"Host 127.0.0.1\n  IdentityFile {folder}/client_key\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {folder}/known_hosts\n  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
    )
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {folder}/ssh_config "$@"\n')
    wrapper.chmod(0o755)
    Path("/run/sshd").mkdir(exist_ok=True)
    subprocess.run([sshd, "-f", str(folder / "sshd_config"), "-E", str(folder / "sshd.log")],
                   check=True)  # fmt: skip
    pid_file = folder / "sshd.pid"
    for _ in range(50):
        if pid_file.exists():
            break
        time.sleep(0.1)
    try:
        yield SshEngine(f"ssh://root@127.0.0.1:{port}", str(bin_dir))
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text().strip()), 15)

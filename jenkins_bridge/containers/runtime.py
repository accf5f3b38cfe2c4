"""The Docker engine adapter for running services: containers, networks, volumes, files in
containers and one-off commands. The deploy capability reaches the engine only through this.

Like ``engine``, it imports ``docker`` lazily and turns docker/requests exceptions into typed
errors once, here; ``Any`` from the untyped SDK stays inside this module.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from jenkins_bridge.containers.errors import DaemonUnreachable, ImageError, ImageUnresolved

CONNECT_TIMEOUT_SECONDS = 60
UNIX_BASE_URL = "http+docker://localhost"  # docker-py's base URL of a unix socket engine
NANO = 1_000_000_000


class RuntimeFailure(ImageError):
    """The engine refused a container, network or volume operation; carries its words."""

    code = "engine-error"

    def __init__(self, action: str, cause: str, hint: str | None = None) -> None:
        super().__init__(f"{action} failed: {cause}", hint=hint)
        self.action = action
        self.cause = cause


class NameConflict(RuntimeFailure):
    code = "name-conflict"


class PortTaken(RuntimeFailure):
    code = "port-taken"


@dataclass(frozen=True, slots=True)
class HealthSpec:
    """Docker healthcheck settings; an empty ``test`` keeps the image's HEALTHCHECK command."""

    test: tuple[str, ...]
    interval_seconds: int
    timeout_seconds: int
    retries: int
    start_period_seconds: int


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    name: str
    image: str
    labels: Mapping[str, str]
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    command: tuple[str, ...] = ()
    network: str | None = None
    aliases: tuple[str, ...] = ()
    volumes: Mapping[str, str] = field(default_factory=dict)  # volume name -> path
    healthcheck: HealthSpec | None = None
    restart: str = "no"
    cpus: float | None = None
    memory: str | None = None
    no_new_privileges: bool = True
    user: str | None = None
    read_only: bool = False
    tmpfs: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()
    publish: tuple[tuple[int, str, int], ...] = ()  # (container port, host ip, host port)
    init: bool = True
    stdin: bool = False  # keep stdin open for ``start_with_input`` (``exec -i``), once


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    id: str
    name: str
    image_id: str
    labels: dict[str, str]
    status: str  # created | running | restarting | exited | paused | dead
    health: str | None  # starting | healthy | unhealthy | None (no healthcheck)
    addresses: dict[str, str]  # network name -> IPv4
    started_at: str
    restart_count: int
    exit_code: int
    image: str = ""  # the reference it was created from (Config.Image)
    published: tuple[tuple[int, str, int], ...] = ()  # (container port, host ip, host port)
    health_test: tuple[str, ...] = ()  # Config.Healthcheck.Test: ("CMD-SHELL", ...), ("NONE",)

    @property
    def running(self) -> bool:
        return self.status == "running"


@dataclass(frozen=True, slots=True)
class ResolvedImage:
    reference: str  # what was asked for
    digest_reference: str  # repository@sha256:... when the image came from a registry
    image_id: str


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else str(text).strip()


def _engine_words(exc: Any) -> str:
    explanation = getattr(exc, "explanation", None)
    return _first_line(str(explanation) if explanation else str(exc))


def memory_for_docker(memory: str) -> str:
    """``256Mi`` -> ``256m`` (the engine's units are binary and one letter)."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([KMGkmg])?i?", memory)
    if match is None:
        return memory
    number, unit = match.groups()
    return f"{number}{(unit or '').lower()}"


def health_config(check: HealthSpec) -> dict[str, Any]:
    """The Engine API ``HealthConfig`` (nanoseconds) of a container or a Swarm task."""
    config: dict[str, Any] = {
        "Interval": check.interval_seconds * NANO,
        "Timeout": check.timeout_seconds * NANO,
        "Retries": check.retries,
        "StartPeriod": check.start_period_seconds * NANO,
    }
    if check.test:
        config["Test"] = ["CMD", *check.test]
    return config


def container_create_args(spec: ContainerSpec) -> dict[str, Any]:
    """The SDK's ``containers.create`` keywords for ``spec``: a pure mapping, tested directly."""
    security_opt = ["no-new-privileges:true"] if spec.no_new_privileges else []
    args: dict[str, Any] = {
        "image": spec.image,
        "name": spec.name,
        "labels": dict(spec.labels),
        "environment": dict(spec.env),
        "detach": True,
        "init": spec.init,
        "security_opt": security_opt or None,
        "read_only": spec.read_only,
        "tmpfs": {path: "rw,size=64m" for path in spec.tmpfs} or None,
        "cap_drop": list(spec.cap_drop) or None,
        "cap_add": list(spec.cap_add) or None,
        "volumes": {name: {"bind": path, "mode": "rw"} for name, path in spec.volumes.items()}
        or None,
        "ports": {f"{cport}/tcp": (host, hport) for cport, host, hport in spec.publish} or None,
    }
    if spec.command:
        args["command"] = list(spec.command)
    if spec.stdin:
        # Open stdin, closed when the one attached sender is done (the SDK sets StdinOnce
        # for an attached, not detached, container).
        args["stdin_open"] = True
        args["detach"] = False
    if spec.user:
        args["user"] = spec.user
    if spec.restart != "no":
        args["restart_policy"] = {"Name": spec.restart}
    if spec.cpus:
        args["nano_cpus"] = int(spec.cpus * NANO)
    if spec.memory:
        args["mem_limit"] = memory_for_docker(spec.memory)
    if spec.healthcheck is not None:
        args["healthcheck"] = health_config(spec.healthcheck)
    args["network_mode"] = "none" if spec.network is None else spec.network
    return {key: value for key, value in args.items() if value is not None}


def _info(attrs: Mapping[str, Any]) -> ContainerInfo:
    state = attrs.get("State") or {}
    config = attrs.get("Config") or {}
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    health = state.get("Health") or {}
    return ContainerInfo(
        id=str(attrs.get("Id", "")),
        name=str(attrs.get("Name", "")).lstrip("/"),
        image_id=str(attrs.get("Image", "")),
        labels={str(k): str(v) for k, v in (config.get("Labels") or {}).items()},
        status=str(state.get("Status", "unknown")),
        health=str(health["Status"]) if health.get("Status") else None,
        addresses={
            str(name): str(net.get("IPAddress") or "")
            for name, net in networks.items()
            if net.get("IPAddress")
        },
        started_at=str(state.get("StartedAt", "")),
        restart_count=int(attrs.get("RestartCount") or 0),
        exit_code=int(state.get("ExitCode") or 0),
        image=str(config.get("Image") or ""),
        published=_published(attrs),
        health_test=tuple(str(a) for a in (config.get("Healthcheck") or {}).get("Test") or ()),
    )


def _published(attrs: Mapping[str, Any]) -> tuple[tuple[int, str, int], ...]:
    bindings = (attrs.get("HostConfig") or {}).get("PortBindings") or {}
    found = []
    for port, hosts in bindings.items():
        for host in hosts or []:
            try:
                found.append((int(str(port).split("/")[0]), str(host.get("HostIp") or ""),
                              int(host.get("HostPort") or 0)))  # fmt: skip
            except ValueError:
                continue
    return tuple(sorted(found))


class SshTunnel:
    """``ssh -L`` from a private local socket to the engine's socket on an ``ssh://`` host.

    One ssh connection for the whole command, instead of docker-py's ssh process per request
    (about 0.5 s each here); the user's ssh config (keys, known hosts, ports) applies.
    """

    REMOTE_SOCKET = "/var/run/docker.sock"

    def __init__(self, url: str) -> None:
        rest = url[len("ssh://") :].rstrip("/")
        self.url = url
        self.user, _, hostport = rest.rpartition("@")
        self.host, _, self.port = hostport.partition(":")
        self._folder = tempfile.mkdtemp(prefix="jenkins-bridge-ssh-")
        self.socket = os.path.join(self._folder, "docker.sock")
        self._process: subprocess.Popen[bytes] | None = None

    def open(self, wait: float = 20.0) -> str:
        """Start the tunnel; the ``unix://`` address to give docker-py."""
        try:
            return self._open(wait)
        except BaseException:  # an interrupt too: no ssh process or folder is left behind
            self.close()
            raise

    def _open(self, wait: float) -> str:
        command = ["ssh", "-nNT", "-o", "ExitOnForwardFailure=yes", "-o", "BatchMode=yes"]
        if self.user:
            command += ["-l", self.user]
        if self.port:
            command += ["-p", self.port]
        command += ["-L", f"{self.socket}:{self.REMOTE_SOCKET}", "--", self.host]
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )  # fmt: skip
        except OSError as exc:
            raise DaemonUnreachable(self.url, f"cannot run ssh: {exc}") from exc
        deadline = time.monotonic() + wait
        while not os.path.exists(self.socket):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise DaemonUnreachable(self.url, self._stderr() or "ssh did not open the tunnel")
            time.sleep(0.02)
        return f"unix://{self.socket}"

    def _stderr(self) -> str:
        if self._process is None or self._process.stderr is None:
            return ""
        if self._process.poll() is None:
            self._process.terminate()
        text = self._process.stderr.read().decode("utf-8", "replace")
        return _first_line(text)[:300]

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()
        shutil.rmtree(self._folder, ignore_errors=True)


def _send_and_close_input(sock: Any, data: bytes) -> None:
    """Write ``data`` to an attached (hijacked) engine socket and close its sending side.

    The SDK hands out a read-only ``SocketIO`` over a plain connection (a TLS socket as is):
    a second socket object on a duplicate of its descriptor writes to the same connection.
    """
    import socket

    if hasattr(sock, "sendall"):
        writer, owned = sock, False
    else:
        writer, owned = socket.socket(fileno=os.dup(sock.fileno())), True
    try:
        writer.sendall(data)
        writer.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the command ended before reading it all: it has its end-of-file
    finally:
        if owned:
            writer.close()


class PendingExec:
    """A command started in a container on a thread (``DockerRuntime.exec_awaiting_input``),
    waiting for its standard input: ``send`` gives it and returns (exit code, output);
    ``cancel`` ends its input empty instead. Either waits for the start first; after one, the
    other does nothing. A process that dies meanwhile closes the connection, and the command
    sees the same empty input."""

    def __init__(
        self,
        open_: Callable[[], tuple[str, Any]],
        finish: Callable[[str, Any, bytes], tuple[int, str]],
    ) -> None:
        self._finish = finish
        self._opened: tuple[str, Any] | None = None
        self._error: BaseException | None = None
        self._done = False
        self._thread = threading.Thread(
            target=self._open, args=(open_,), name="exec-start", daemon=True
        )
        self._thread.start()

    def _open(self, open_: Callable[[], tuple[str, Any]]) -> None:
        try:
            self._opened = open_()
        except BaseException as exc:  # handed to send()
            self._error = exc

    def send(self, stdin: bytes) -> tuple[int, str]:
        self._thread.join()
        if self._done:
            raise RuntimeError("this command was sent its input or cancelled already")
        self._done = True
        if self._error is not None:
            raise self._error
        assert self._opened is not None
        exec_id, sock = self._opened
        return self._finish(exec_id, sock, stdin)

    def cancel(self) -> None:
        self._thread.join()
        if self._done or self._opened is None:
            self._done = True
            return
        self._done = True
        _, sock = self._opened
        try:
            _send_and_close_input(sock, b"")
        finally:
            sock.close()


class DockerRuntime:
    """Containers, networks and volumes on one engine (``DOCKER_HOST`` or a given host)."""

    def __init__(self, client: Any, docker_host: str, tunnel: SshTunnel | None = None) -> None:
        self._client = client
        self.docker_host = docker_host
        self._tunnel = tunnel

    @classmethod
    def connect(cls, host: str | None = None, environ: Mapping[str, str] | None = None) -> Any:
        """Connect and ask the engine's version; ``DaemonUnreachable`` if nothing answers.

        ``ssh://`` hosts go through an ``ssh -L`` tunnel (the user's ssh config applies).
        """
        import docker
        import docker.errors

        env = dict(os.environ if environ is None else environ)
        if host:
            env["DOCKER_HOST"] = host
        shown = env.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        tunnel = SshTunnel(shown) if shown.startswith("ssh://") else None
        if tunnel is not None:
            env["DOCKER_HOST"] = tunnel.open()
        try:
            # Asks the engine's API version (docker-py's default "auto"): that is the call
            # that fails when nothing answers, so no second version call is made.
            client = docker.from_env(timeout=CONNECT_TIMEOUT_SECONDS, environment=env)
        except Exception as exc:  # docker, requests or socket errors of a dead engine or host
            if tunnel is not None:
                tunnel.close()
            raise DaemonUnreachable(shown, _first_line(str(exc))[:300]) from exc
        except BaseException:  # interrupted: the tunnel's process and folder go too
            if tunnel is not None:
                tunnel.close()
            raise
        if client.api.base_url == UNIX_BASE_URL:
            # A unix socket (the local engine, or an ssh:// one through the tunnel): no HTTP
            # proxy or netrc applies, so requests need not search the environment for them on
            # every call (~0.2 ms of CPU a call here, more in an agent's larger environment).
            client.api.trust_env = False
        return cls(client, shown, tunnel)

    def close(self) -> None:
        self._client.close()
        if self._tunnel is not None:
            self._tunnel.close()

    def __enter__(self) -> DockerRuntime:
        return self

    # Hooks for the sibling adapter of Swarm services (containers.swarm): one connection.
    @property
    def api(self) -> Any:
        """The SDK's low-level client of this connection."""
        return self._client.api

    def errors(self, action: str) -> AbstractContextManager[None]:
        """Engine errors of ``action`` as this module's typed failures."""
        return self._errors(action)

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        import docker.errors
        import requests.exceptions

        try:
            yield
        except requests.exceptions.ConnectionError as exc:
            raise DaemonUnreachable(self.docker_host, _first_line(str(exc))[:300]) from exc
        except docker.errors.APIError as exc:
            words = _engine_words(exc)
            status = getattr(exc, "status_code", None)
            if status == 409 and "already in use" in words:
                raise NameConflict(action, words) from exc
            if "port is already allocated" in words or "address already in use" in words:
                raise PortTaken(
                    action, words, hint="free the port or change the environment's listen"
                ) from exc
            raise RuntimeFailure(action, words) from exc
        except OSError as exc:  # the transport (an ssh process, a socket) went away
            raise DaemonUnreachable(self.docker_host, f"{action}: {exc}") from exc

    # -- images -----------------------------------------------------------------------------

    def resolve_image(self, reference: str) -> ResolvedImage:
        """The image behind ``reference`` on this engine, pulled if absent."""
        import docker.errors

        with self._errors(f"resolving {reference}"):
            try:
                image = self._client.images.get(reference)
            except docker.errors.ImageNotFound:
                image = None
            except docker.errors.APIError as exc:
                raise ImageUnresolved(reference, _engine_words(exc)) from exc
            if image is None:
                try:
                    image = self._client.images.pull(reference)
                except docker.errors.APIError as exc:
                    raise ImageUnresolved(reference, _engine_words(exc)) from exc
        digests = [str(d) for d in (image.attrs.get("RepoDigests") or [])]
        repository = reference.split("@", 1)[0]
        if ":" in repository.rsplit("/", 1)[-1]:
            repository = repository.rsplit(":", 1)[0]
        chosen = next((d for d in digests if d.split("@", 1)[0] == repository), None)
        if chosen is None and "@sha256:" in reference:
            chosen = reference
        return ResolvedImage(
            reference=reference,
            digest_reference=chosen or str(image.id),
            image_id=str(image.id),
        )

    def has_image(self, reference: str) -> bool:
        import docker.errors

        with self._errors(f"inspecting image {reference}"):
            try:
                self._client.images.get(reference)
            except docker.errors.ImageNotFound:
                return False
        return True

    # -- networks and volumes ---------------------------------------------------------------

    def network_subnet(self, name: str) -> str | None:
        """The subnet of network ``name``; None when there is no such network."""
        import docker.errors

        with self._errors(f"inspecting network {name}"):
            try:
                network = self._client.networks.get(name)
            except docker.errors.NotFound:
                return None
        configs = ((network.attrs.get("IPAM") or {}).get("Config")) or [{}]
        return str(configs[0].get("Subnet", ""))

    def network_labels(self, name: str) -> dict[str, str] | None:
        """The labels of network ``name``; None when there is no such network."""
        import docker.errors

        with self._errors(f"inspecting network {name}"):
            try:
                network = self._client.api.inspect_network(name)
            except docker.errors.NotFound:
                return None
        return {str(k): str(v) for k, v in (network.get("Labels") or {}).items()}

    def network_subnets(self) -> dict[str, list[str]]:
        """Every network on the engine: its name and its IPv4 subnets."""
        with self._errors("listing networks"):
            networks = self._client.api.networks()
        found: dict[str, list[str]] = {}
        for network in networks:
            configs = (network.get("IPAM") or {}).get("Config") or []
            subnets = [str(c.get("Subnet") or "") for c in configs]
            found[str(network.get("Name", ""))] = [s for s in subnets if s and ":" not in s]
        return found

    def create_network(self, name: str, subnet: str | None, labels: Mapping[str, str]) -> None:
        """A bridge network; ``subnet`` None lets the engine choose from its own pools."""
        from docker.types import IPAMConfig, IPAMPool

        pools = [IPAMPool(subnet=subnet)] if subnet else []
        with self._errors(f"creating network {name} ({subnet or 'subnet chosen by the engine'})"):
            self._client.networks.create(
                name,
                driver="bridge",
                ipam=IPAMConfig(pool_configs=pools),
                options={"com.docker.network.bridge.enable_ip_masquerade": "false"},
                labels=dict(labels),
                check_duplicate=True,
            )

    def remove_network(self, name: str) -> None:
        import docker.errors

        with self._errors(f"removing network {name}"):
            try:
                self._client.networks.get(name).remove()
            except docker.errors.NotFound:
                return

    def ensure_volume(self, name: str, labels: Mapping[str, str]) -> bool:
        """Create the named volume unless it exists; True when it was created."""
        import docker.errors

        with self._errors(f"creating volume {name}"):
            try:
                self._client.volumes.get(name)
                return False
            except docker.errors.NotFound:
                self._client.volumes.create(name, labels=dict(labels))
                return True

    def remove_volume(self, name: str) -> None:
        import docker.errors

        with self._errors(f"removing volume {name}"):
            try:
                self._client.volumes.get(name).remove(force=True)
            except docker.errors.NotFound:
                return

    def volumes(self, labels: Mapping[str, str]) -> list[str]:
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        with self._errors("listing volumes"):
            return sorted(str(v.name) for v in self._client.volumes.list(filters=filters))

    # -- containers -------------------------------------------------------------------------

    def create(self, spec: ContainerSpec) -> ContainerInfo:
        with self._errors(f"creating container {spec.name}"):
            # The SDK's create() inspects what it created: those attributes are current.
            container = self._client.containers.create(**container_create_args(spec))
            if spec.network is not None and spec.aliases:
                # create() attaches the network without aliases; reconnect with them.
                network = self._client.networks.get(spec.network)
                network.disconnect(container)
                network.connect(container, aliases=list(spec.aliases))
                container.reload()
            return _info(container.attrs)

    def attach_aliases(self, name: str, network: str, aliases: Sequence[str]) -> ContainerInfo:
        """Reconnect ``name`` to ``network`` with ``aliases`` (its address may change)."""
        api = self._client.api
        with self._errors(f"giving {name} the aliases {', '.join(aliases)} on {network}"):
            # By name: no inspect of the container or of the network (which lists every
            # endpoint on it) before the two calls, on the way to the switch.
            api.disconnect_container_from_network(name, network)
            api.connect_container_to_network(name, network, aliases=list(aliases))
            return _info(api.inspect_container(name))

    def rename(self, name: str, new_name: str) -> None:
        with self._errors(f"renaming container {name} to {new_name}"):
            self._client.api.rename(name, new_name)

    def start(self, name: str) -> ContainerInfo:
        with self._errors(f"starting container {name}"):
            self._client.api.start(name)
            return _info(self._client.api.inspect_container(name))

    def inspect(self, name: str) -> ContainerInfo | None:
        import docker.errors

        with self._errors(f"inspecting container {name}"):
            try:
                return _info(self._client.api.inspect_container(name))
            except docker.errors.NotFound:
                return None

    def containers(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        """Every container (any state) carrying all ``labels``, oldest first."""
        import docker.errors

        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        found: list[ContainerInfo] = []
        with self._errors("listing containers"):
            for summary in self._client.api.containers(all=True, filters=filters):
                try:
                    found.append(_info(self._client.api.inspect_container(summary["Id"])))
                except docker.errors.NotFound:
                    continue  # removed between list and inspect
        return sorted(found, key=lambda c: (c.labels.get("dev.jenkins-bridge.seq", ""), c.name))

    def stop(self, name: str, timeout: int) -> None:
        import docker.errors

        with self._errors(f"stopping container {name}"):
            try:
                self._client.api.stop(name, timeout=timeout)
            except docker.errors.NotFound:
                return

    def remove(self, name: str) -> None:
        import docker.errors

        with self._errors(f"removing container {name}"):
            try:
                self._client.api.remove_container(name, force=True, v=False)
            except docker.errors.NotFound:
                return

    def logs(self, name: str, tail: int | None = None, since: int | None = None) -> str:
        with self._errors(f"reading logs of {name}"):
            raw = self._client.api.logs(
                name, stdout=True, stderr=True, tail=tail if tail else "all", since=since
            )
        return bytes(raw).decode("utf-8", errors="replace")

    def follow_logs(self, name: str, since: int | None = None) -> Iterator[str]:
        with self._errors(f"following logs of {name}"):
            stream = self._client.api.logs(
                name, stdout=True, stderr=True, stream=True, follow=True, since=since
            )
            for chunk in stream:
                yield bytes(chunk).decode("utf-8", errors="replace")

    def exec(self, name: str, argv: Sequence[str], stdin: bytes | None = None) -> tuple[int, str]:
        """Run ``argv`` inside the running container; (exit code, combined output). ``stdin``
        is sent to the command's standard input, which then ends (``exec -i``)."""
        api = self._client.api
        if stdin is None:
            # The low-level calls: the SDK's exec_run first inspects the container (one more
            # request on the health gate's and the switch's path).
            with self._errors(f"running a command in {name}"):
                created = api.exec_create(name, list(argv), stdout=True, stderr=True)
                raw = api.exec_start(created, demux=False)
                code = api.exec_inspect(created).get("ExitCode")
            output = bytes(raw or b"").decode("utf-8", errors="replace")
            return int(code if code is not None else -1), output
        exec_id, sock = self._exec_socket(name, argv)
        return self._finish_exec(name, exec_id, sock, stdin)

    def exec_awaiting_input(self, name: str, argv: Sequence[str]) -> PendingExec:
        """Start ``argv`` inside the running container now, on a thread, and send its standard
        input later (``PendingExec.send``): the engine's work of starting a command (~50 ms)
        overlaps the caller's next steps instead of preceding the command's own work."""
        return PendingExec(partial(self._exec_socket, name, argv), partial(self._finish_exec, name))

    def _exec_socket(self, name: str, argv: Sequence[str]) -> tuple[str, Any]:
        """An exec with its standard input open: its id and the attached socket."""
        api = self._client.api
        with self._errors(f"running a command in {name}"):
            exec_id = api.exec_create(name, list(argv), stdin=True, stdout=True, stderr=True)
            return exec_id, api.exec_start(exec_id, socket=True)

    def _finish_exec(self, name: str, exec_id: Any, sock: Any, stdin: bytes) -> tuple[int, str]:
        """Send ``stdin`` to an attached exec, end it, and read its output and exit code."""
        from docker.utils.socket import frames_iter

        with self._errors(f"running a command in {name}"):
            try:
                _send_and_close_input(sock, stdin)
                raw = b"".join(data for _, data in frames_iter(sock, tty=False))
            finally:
                sock.close()
            code = self._client.api.exec_inspect(exec_id).get("ExitCode")
        output = bytes(raw or b"").decode("utf-8", errors="replace")
        return int(code if code is not None else -1), output

    def exec_detached(self, name: str, argv: Sequence[str]) -> str:
        """Start ``argv`` inside the running container without waiting; the exec's id."""
        api = self._client.api
        with self._errors(f"running a command in {name}"):
            exec_id = str(api.exec_create(name, list(argv), stdout=False, stderr=False)["Id"])
            api.exec_start(exec_id, detach=True)
        return exec_id

    def exec_exit_code(self, exec_id: str) -> int | None:
        """The exit code of a command started by ``exec_detached``; None while it runs."""
        with self._errors("inspecting a command"):
            found = self._client.api.exec_inspect(exec_id)
        code = found.get("ExitCode")
        return None if found.get("Running") or code is None else int(code)

    def start_with_input(self, name: str, stdin: bytes) -> None:
        """Start a container created with ``stdin`` and send it ``stdin``, then end-of-file."""
        api = self._client.api
        with self._errors(f"starting container {name} with input"):
            sock = api.attach_socket(name, params={"stdin": 1, "stream": 1})
            try:
                api.start(name)
                _send_and_close_input(sock, stdin)
            finally:
                sock.close()

    def image_labels(self, reference: str) -> dict[str, str] | None:
        """The labels of an image on this engine (never pulled); None when it is absent."""
        import docker.errors

        with self._errors(f"inspecting image {reference}"):
            try:
                attrs = self._client.api.inspect_image(reference)
            except docker.errors.ImageNotFound:
                return None
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        return {str(k): str(v) for k, v in labels.items()}

    def wait(self, name: str, timeout: float) -> int:
        """The container's exit code; -1 when it still runs after ``timeout`` seconds."""
        import requests.exceptions

        with self._errors(f"waiting for {name}"):
            try:
                result = self._client.api.wait(name, timeout=timeout)
            except requests.exceptions.ReadTimeout:
                return -1
            except requests.exceptions.ConnectionError as exc:
                # The engine answers the wait at once and sends the body when the container
                # ends: a body that takes longer than ``timeout`` is this read timeout, not an
                # unreachable engine.
                if "timed out" not in str(exc):
                    raise
                return -1
        return int(result.get("StatusCode", -1))

    def put_file(self, name: str, directory: str, filename: str, data: bytes) -> None:
        """Write ``directory/filename`` in the container (running or not)."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            entry = tarfile.TarInfo(filename)
            entry.size = len(data)
            entry.mode = 0o644
            archive.addfile(entry, io.BytesIO(data))
        with self._errors(f"writing {directory}/{filename} in {name}"):
            self._client.api.put_archive(name, directory, buffer.getvalue())

    def link_files(self, name: str, directory: str, links: Sequence[tuple[str, str]]) -> None:
        """Make each ``(link, existing)`` of ``directory`` a hard link, in order, in one call;
        an existing ``link`` is replaced. No data is written, so a full volume refuses none;
        the first failure stops the rest (the archive is extracted entry by entry)."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for link, existing in links:
                entry = tarfile.TarInfo(link)
                entry.type = tarfile.LNKTYPE
                entry.linkname = existing
                entry.mode = 0o644
                archive.addfile(entry)
        shown = ", ".join(f"{link} -> {existing}" for link, existing in links)
        with self._errors(f"linking {shown} in {directory} of {name}"):
            self._client.api.put_archive(name, directory, buffer.getvalue())

    def get_file(self, name: str, path: str) -> bytes | None:
        """The file at ``path`` in the container, or None when it does not exist."""
        import docker.errors

        with self._errors(f"reading {path} in {name}"):
            try:
                stream, _ = self._client.api.get_archive(name, path)
            except docker.errors.NotFound:
                return None
            raw = b"".join(stream)
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r") as archive:
            member = archive.next()
            if member is None:
                return None
            handle = archive.extractfile(member)
            return handle.read() if handle is not None else None

"""Builds, tags and pushes through the ``docker`` CLI: what a user would otherwise run, and
the only way to BuildKit (``RUN --mount``, ``# syntax=`` frontends) where buildx is installed.

``build`` (the module ``containers.build``) takes this path when ``docker`` is on PATH and
``engine`` (docker-py) otherwise, or always with ``JENKINS_BRIDGE_IMAGE_CLIENT=sdk``. Importing
docker-py and requests costs 0.1-0.15 s of every call, more than the whole rest of a cached
build. Both adapters take the same requests and raise the same errors (``containers.errors``).

The command lines are built by pure functions (``build_command``, ``push_command``, ...);
``DockerCli`` runs them. Registry credentials reach the CLI through a config directory of our
own (mode 0700, removed when the push ends, also on SIGTERM), never on a command line.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from urllib.parse import quote

from jenkins_bridge.containers.context import check_build_context
from jenkins_bridge.containers.dockerfile import with_labels
from jenkins_bridge.containers.engine import (
    DEFAULT_DOCKER_HOST,
    BuildRequest,
    BuiltImage,
    LogSink,
    PushedImage,
    RegistryCredentials,
    check_build_inputs,
    push_every_tag,
)
from jenkins_bridge.containers.engine_socket import engine_get, unix_socket_path
from jenkins_bridge.containers.errors import (
    BuildFailed,
    DaemonUnreachable,
    ImageError,
    ImageNotFound,
    InvalidImageName,
    PushRejected,
    RegistryAuthFailed,
    RegistryUnreachable,
    scrub,
)
from jenkins_bridge.containers.streams import BuildProgress, PushFailureKind, classify_push_error
from jenkins_bridge.containers.tags import INDEX_NAME, split_repo_name

# The key docker's config uses for Docker Hub credentials.
INDEX_CONFIG_KEY = "https://index.docker.io/v1/"
# How long a child may take to end after we passed it an interrupt, before it is killed.
CHILD_GRACE_SECONDS = 10
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)

_PUSHED = re.compile(r"^(?P<tag>\S+): digest: (?P<digest>sha256:[0-9a-f]{64}) size: (?P<size>\d+)")
_DAEMON_MARKERS = ("cannot connect to the docker daemon", "error during connect")
# The classic builder's three-line notice on every build: docker's, about docker.
_LEGACY_NOTICE = "DEPRECATED: The legacy builder is deprecated"
# A reference's own characters in a request path (the docker CLI sends them as they are).
_REF_SAFE = "/:@"
_SENDING_CONTEXT = "Sending build context to Docker daemon"
# What the CLI logs when the engine went away while it was sending the context (the error
# that follows says why, and so does ours).
_CUT_UPLOAD = re.compile(r'^time="[^"]*" level=error msg="Can\'t (add file|close tar writer)')


# -- command lines (pure) -------------------------------------------------------------------


def build_command(
    docker: str,
    request: BuildRequest,
    *,
    dockerfile: Path,
    label_flags: Mapping[str, str],
    iidfile: Path,
) -> list[str]:
    """``docker build`` for ``request``: every tag at once, the image id into ``iidfile``."""
    command = [docker, "build", "--network", "host", "--force-rm", "--iidfile", str(iidfile)]
    command += ["-f", str(dockerfile)]
    for reference in request.references():
        command += ["-t", reference]
    for key, value in request.build_args.items():
        command += ["--build-arg", f"{key}={value}"]
    for key, value in label_flags.items():
        command += ["--label", f"{key}={value}"]
    if request.target:
        command += ["--target", request.target]
    for source in request.cache_from:
        command += ["--cache-from", source]
    if request.no_cache:
        command.append("--no-cache")
    return [*command, str(request.context_dir)]


def push_command(docker: str, reference: str) -> list[str]:
    return [docker, "push", reference]


def inspect_labels_command(docker: str, reference: str) -> list[str]:
    return [docker, "image", "inspect", "--format", "{{json .Config.Labels}}", reference]


def tag_command(docker: str, image: str, reference: str) -> list[str]:
    return [docker, "tag", image, reference]


def registry_config(registry: str, credentials: RegistryCredentials) -> str:
    """A docker ``config.json`` that logs in to ``registry`` only."""
    key = INDEX_CONFIG_KEY if registry == INDEX_NAME else registry
    token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
    return json.dumps({"auths": {key: {"auth": token}}})


def cli_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The CLI talks to ``DOCKER_HOST`` or the default socket, as the SDK path does (a docker
    context chosen with ``docker context use`` is not followed by either)."""
    env = dict(environ)
    env["DOCKER_HOST"] = env.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
    env.pop("DOCKER_CONTEXT", None)
    return env


def docker_executable(environ: Mapping[str, str]) -> str | None:
    return shutil.which("docker", path=environ.get("PATH", os.defpath))


# -- running the CLI ------------------------------------------------------------------------


class _Stops:
    """SIGTERM and SIGHUP (a Jenkins abort, a closed terminal) taken like Ctrl-C, once."""

    def __init__(self) -> None:
        self.fired = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.fired:
            return
        self.fired = True
        raise KeyboardInterrupt(signal.Signals(signum).name)


@contextmanager
def stops_as_interrupts() -> Iterator[None]:
    """Within: SIGTERM/SIGHUP raise ``KeyboardInterrupt``, so the ``finally`` blocks that
    remove our temporary files run (the default action would end the process at once)."""
    if threading.current_thread() is not threading.main_thread() or isinstance(
        signal.getsignal(signal.SIGTERM), _Stops
    ):
        yield  # signals go to the main thread, or an outer block already takes them
        return
    handler = _Stops()
    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)


# prctl(2): the signal a process gets when the thread that started it ends.
_PR_SET_PDEATHSIG = 1


def _dies_with_parent() -> Callable[[], None] | None:
    """For ``Popen(preexec_fn=...)``: the child gets SIGKILL when the thread starting it
    (the main thread here) ends, even by SIGKILL (Linux's ``PR_SET_PDEATHSIG``, kept across
    exec); None where there is no such call."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def arm() -> None:  # in the child, between fork and exec
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # we ended before the call: nobody would kill it
            os._exit(1)

    return arm


@functools.cache
def _prctl() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # ~3 ms: only once a child is started

    try:
        call: Callable[[int, int], int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return call


class _Run:
    """One CLI child: stdout lines to ``on_stdout`` as they come, stderr lines collected and
    passed to ``on_stderr`` by a reader thread, one line behind: the last one is passed only
    when the child succeeds (on failure it is the error, which our own error message says)."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str]) -> None:
        self.stderr: list[str] = []
        # Same process group: a Ctrl-C at the terminal, or Jenkins killing the group, reaches
        # the child too; a signal to us alone is passed on in ``stop``; and when we are killed
        # (SIGKILL cannot be passed on), the child is killed with us: the engine then stops a
        # build or push whose client went away.
        self._process = subprocess.Popen(
            list(command),
            preexec_fn=_dies_with_parent(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            text=True,
            encoding="utf-8",
            errors="replace",
        )

    def wait(self, on_stdout: LogSink, on_stderr: LogSink) -> int:
        process = self._process
        assert process.stdout is not None and process.stderr is not None
        reader = threading.Thread(target=self._read_stderr, args=(on_stderr,), daemon=True)
        reader.start()
        try:
            for line in process.stdout:
                on_stdout(line.rstrip("\n"))
            code = process.wait()
        except BaseException:
            self.stop()
            raise
        finally:
            reader.join(timeout=CHILD_GRACE_SECONDS)
            process.stdout.close()
        if code == 0 and self.stderr:
            on_stderr(self.stderr[-1])
        return code

    def _read_stderr(self, on_stderr: LogSink) -> None:
        assert self._process.stderr is not None
        notice = False
        for raw in self._process.stderr:
            line = raw.rstrip("\n")
            # Drop the classic builder's notice (its first line and the indented rest).
            if line.startswith(_LEGACY_NOTICE):
                notice = True
                continue
            if notice and (not line.strip() or line.startswith(" ")):
                continue
            notice = False
            if _CUT_UPLOAD.match(line):
                continue
            if self.stderr:
                on_stderr(self.stderr[-1])
            self.stderr.append(line)
        self._process.stderr.close()

    def stop(self) -> None:
        """Pass an interrupt on to the child and wait for it to end (killed after a grace)."""
        process = self._process
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # the CLI cancels its build or push on INT
            try:
                process.wait(timeout=CHILD_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class _UntilAnswered:
    """A build's lines, held until the engine has answered (a build step on stdout, BuildKit's
    ``#N`` lines on stderr): before that the CLI only says "Sending build context", or why it
    cannot reach the engine, which our one-line error then says instead."""

    def __init__(self, on_stdout: LogSink, on_stderr: LogSink) -> None:
        self._sinks = (on_stdout, on_stderr)
        self._held: list[tuple[int, str]] = []
        self._answered = False
        self._lock = threading.Lock()

    def stdout(self, line: str) -> None:
        self._line(0, line, not line.startswith(_SENDING_CONTEXT) and bool(line.strip()))

    def stderr(self, line: str) -> None:
        self._line(1, line, line.startswith("#"))

    def _line(self, stream: int, line: str, from_engine: bool) -> None:
        with self._lock:
            if not self._answered and not from_engine:
                self._held.append((stream, line))
                return
            self._answered = True
            self._flush()
            self._sinks[stream](line)

    def flush(self) -> None:
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        for stream, text in self._held:
            self._sinks[stream](text)
        self._held.clear()


def _ignore(line: str) -> None:
    return None


def _last_line(lines: Sequence[str]) -> str:
    for line in reversed(lines):
        text = line.strip()
        if text:
            return text.removeprefix("ERROR: ").removeprefix("Error: ")
    return "the docker CLI failed without saying why"


def _is_daemon_failure(message: str) -> bool:
    if message.startswith("#"):  # BuildKit's log of a step (a RUN may print anything)
        return False
    lowered = message.lower()
    return any(marker in lowered for marker in _DAEMON_MARKERS)


def _daemon_cause(message: str) -> str:
    lowered = message.lower()
    if "is the docker daemon running" in lowered:
        return "nothing answers there"
    for marker in ("connection refused", "no such file or directory", "permission denied"):
        if marker in lowered:
            return marker
    if "timed out" in lowered or "timeout" in lowered:
        return "timed out"
    # 'error during connect: Post "http://.../build?...": <cause>': the URL says nothing.
    _, quoted, cause = message.rpartition('": ')
    return (cause if quoted else message)[:200]


def _repository_of(reference: str) -> str:
    name, sep, tag = reference.rpartition(":")
    return name if sep and "/" not in tag else reference


class DockerCli:
    """The engine at ``DOCKER_HOST`` (or the default socket), through the ``docker`` CLI."""

    def __init__(self, docker: str, environ: Mapping[str, str]) -> None:
        self.docker = docker
        self.env = cli_environment(environ)
        self.docker_host = self.env["DOCKER_HOST"]

    def __enter__(self) -> DockerCli:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def close(self) -> None:
        return None

    def _run(
        self,
        command: Sequence[str],
        log: LogSink | None = None,
        *,
        env: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
    ) -> tuple[int, list[str], list[str]]:
        """Exit code, stdout and stderr lines; with ``log``, every line is logged (scrubbed)."""
        out: list[str] = []

        def stdout_line(line: str) -> None:
            out.append(line)
            if log is not None:
                log(scrub(line, secrets))

        def stderr_line(line: str) -> None:
            if log is not None:
                log(scrub(line, secrets))

        with stops_as_interrupts():
            run = _Run(command, self.env if env is None else env)
            code = run.wait(stdout_line, stderr_line)
        return code, out, run.stderr

    def _raise_if_unreachable(self, message: str) -> None:
        if _is_daemon_failure(message):
            raise DaemonUnreachable(self.docker_host, _daemon_cause(message))

    # -- build ------------------------------------------------------------------------------

    def build(self, request: BuildRequest, log: LogSink) -> BuiltImage:
        """Build ``request``, streaming the CLI's lines to ``log``; tag every reference."""
        check_build_inputs(request.context_dir, request.dockerfile)
        if request.repository_root is not None:
            check_build_context(request.context_dir, request.dockerfile, request.repository_root)
        progress = BuildProgress()

        def build_line(line: str) -> None:
            for complete in progress.feed({"stream": line + "\n"}):
                log(complete)

        lines = _UntilAnswered(build_line, log)
        with stops_as_interrupts():
            scratch = Path(tempfile.mkdtemp(prefix="jenkins-bridge-build-"))
            try:
                dockerfile, label_flags = self._labelled(request, scratch)
                iidfile = scratch / "image-id"
                command = build_command(
                    self.docker,
                    request,
                    dockerfile=dockerfile,
                    label_flags=label_flags,
                    iidfile=iidfile,
                )
                run = _Run(command, self.env)
                code = run.wait(lines.stdout, lines.stderr)
                if code == 0 or not any(map(_is_daemon_failure, run.stderr)):
                    lines.flush()
                for complete in progress.finish():
                    log(complete)
                image_id = iidfile.read_text().strip() if iidfile.is_file() else ""
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        if code != 0:
            message = _last_line(run.stderr)
            for line in run.stderr:
                self._raise_if_unreachable(line)
            if "invalid tag" in message or "invalid reference format" in message:
                raise InvalidImageName(request.repository, message)
            raise BuildFailed(progress.step, message, progress.last_lines)
        if not image_id:
            raise BuildFailed(progress.step, "docker build reported no image id", [])
        return BuiltImage(
            image_id=image_id,
            repository=request.repository,
            tags=request.tags,
            labels=self.image_labels(image_id),
        )

    @staticmethod
    def _labelled(request: BuildRequest, scratch: Path) -> tuple[Path, Mapping[str, str]]:
        """The Dockerfile to build and the labels still to pass as ``--label``: a copy with
        one LABEL instruction in ``scratch`` (outside the context: the CLI sends it under a
        name the engine drops from the context, so COPY . stays cacheable) when possible."""
        if not request.labels or scratch.is_relative_to(request.context_dir):
            return request.dockerfile, request.labels
        text = request.dockerfile.read_text(encoding="utf-8", errors="surrogateescape")
        labelled = with_labels(text, request.labels, request.target)
        if labelled is None:
            return request.dockerfile, request.labels
        copy = scratch / "Dockerfile"
        copy.write_text(labelled, encoding="utf-8", errors="surrogateescape")
        return copy, {}

    def tag(self, image: str, repository: str, tag: str) -> None:
        code, _, err = self._run(tag_command(self.docker, image, f"{repository}:{tag}"))
        if code != 0:
            message = _last_line(err)
            self._raise_if_unreachable(message)
            if "invalid reference format" in message:
                raise InvalidImageName(repository, message)
            raise ImageError(f"tagging {image} as {repository}:{tag} failed: {message}")

    def image_labels(self, reference: str) -> dict[str, str]:
        labels = self._labels_over_socket(reference)
        if labels is not None:
            return labels
        code, out, err = self._run(inspect_labels_command(self.docker, reference))
        return self._labels_from(reference, code, out, err)

    def _labels_over_socket(self, reference: str) -> dict[str, str] | None:
        """The labels by one request on the engine's unix socket, as ``docker image
        inspect`` asks for them but without starting it; None when the engine is not on a
        unix socket or did not answer with the image (the CLI then asks, and says why)."""
        socket_path = unix_socket_path(self.docker_host)
        if socket_path is None:
            return None
        try:
            status, body = engine_get(
                socket_path, f"/images/{quote(reference, safe=_REF_SAFE)}/json"
            )
            if status != 200:  # e.g. 404: the CLI's error says it as always
                return None
            image = json.loads(body)
        except (OSError, ValueError):
            return None
        config = image.get("Config") if isinstance(image, dict) else None
        labels = config.get("Labels") if isinstance(config, dict) else None
        if labels is not None and not isinstance(labels, dict):
            return None
        return {str(key): str(value) for key, value in (labels or {}).items()}

    def _labels_from(
        self, reference: str, code: int, out: Sequence[str], err: Sequence[str]
    ) -> dict[str, str]:
        if code != 0:
            message = _last_line(err)
            self._raise_if_unreachable(message)
            if "no such image" in message.lower() or "no such object" in message.lower():
                raise ImageNotFound(reference)
            raise ImageError(f"inspecting {reference} failed: {message}")
        labels = json.loads("".join(out) or "null") or {}
        return {str(key): str(value) for key, value in labels.items()}

    def labels_and_push(
        self,
        repository: str,
        tags: Sequence[str],
        log: LogSink,
        credentials: RegistryCredentials | None = None,
    ) -> tuple[dict[str, str], PushedImage]:
        """The labels of ``repository:tags[0]`` and the push of every tag. On a unix socket
        the labels are one request before the push; elsewhere ``docker image inspect`` runs
        beside the first push (a missing image fails both, and is reported as not found)."""
        reference = f"{repository}:{tags[0]}" if tags else repository
        labels = self._labels_over_socket(reference)  # ~1 ms: before the push, not beside it
        if labels is not None:
            return labels, self.push(repository, tags, log, credentials)
        out: list[str] = []
        with stops_as_interrupts():
            inspect = _Run(inspect_labels_command(self.docker, reference), self.env)
            try:
                pushed = self.push(repository, tags, log, credentials)
            except ImageError:
                code = inspect.wait(out.append, _ignore)
                self._labels_from(reference, code, out, inspect.stderr)  # raises when missing
                raise
            except BaseException:
                inspect.stop()
                raise
            code = inspect.wait(out.append, _ignore)
        return self._labels_from(reference, code, out, inspect.stderr), pushed

    # -- push -------------------------------------------------------------------------------

    def push(
        self,
        repository: str,
        tags: Sequence[str],
        log: LogSink,
        credentials: RegistryCredentials | None = None,
    ) -> PushedImage:
        """Push ``repository:tag`` for each tag; every tag must report the same digest.

        Without ``credentials`` the CLI uses the user's docker config for the registry.
        """
        registry = split_repo_name(repository)[0]
        with self._credentials(registry, credentials) as env:
            return push_every_tag(
                repository,
                tags,
                lambda tag: self._push_one(f"{repository}:{tag}", registry, credentials, log, env),
            )

    @contextmanager
    def _credentials(
        self, registry: str, credentials: RegistryCredentials | None
    ) -> Iterator[Mapping[str, str]]:
        """The CLI's environment; with ``credentials``, ``DOCKER_CONFIG`` is a directory of
        ours (0700, its config.json 0600) that is removed when the push ends."""
        if credentials is None:
            yield self.env
            return
        with stops_as_interrupts():
            directory = tempfile.mkdtemp(prefix="jenkins-bridge-docker-config-")
            try:
                os.chmod(directory, 0o700)
                path = os.path.join(directory, "config.json")
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                    handle.write(registry_config(registry, credentials))
                yield {**self.env, "DOCKER_CONFIG": directory}
            finally:
                shutil.rmtree(directory, ignore_errors=True)

    def _push_one(
        self,
        reference: str,
        registry: str,
        credentials: RegistryCredentials | None,
        log: LogSink,
        env: Mapping[str, str],
    ) -> str:
        secrets = [credentials.password] if credentials else []
        code, out, err = self._run(
            push_command(self.docker, reference), log, env=env, secrets=secrets
        )
        if code != 0:
            message = scrub(_last_line(err), secrets)
            self._raise_if_unreachable(message)
            self._raise_push_error(reference, registry, message, credentials)
        tag = reference.rpartition(":")[2]
        for line in reversed(out):
            match = _PUSHED.match(line.strip())
            if match is not None and match.group("tag") == tag:
                return match.group("digest")
        raise PushRejected(reference, "docker push ended without reporting a digest")

    @staticmethod
    def _raise_push_error(
        reference: str, registry: str, message: str, credentials: RegistryCredentials | None
    ) -> None:
        kind = classify_push_error(message)
        if kind == PushFailureKind.UNREACHABLE:
            raise RegistryUnreachable(registry, message)
        if kind == PushFailureKind.AUTH:
            raise RegistryAuthFailed(registry, message, had_credentials=credentials is not None)
        if kind == PushFailureKind.NOT_FOUND:
            raise ImageNotFound(reference)
        if kind == PushFailureKind.INVALID_NAME:
            raise InvalidImageName(_repository_of(reference), message)
        raise PushRejected(reference, message)

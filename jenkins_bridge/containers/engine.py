"""The Docker engine adapter: the only module that imports ``docker``.

docker and requests exceptions, and error entries in the engine's progress streams, become
the typed errors of ``containers.errors`` here, once; ``Any`` from the untyped SDK stays
inside this module.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from jenkins_bridge.containers.context import check_build_context
from jenkins_bridge.containers.dockerfile import with_labels
from jenkins_bridge.containers.errors import (
    BuildFailed,
    ContextMissing,
    DaemonUnreachable,
    DockerfileMissing,
    ImageError,
    ImageNotFound,
    InvalidImageName,
    PushRejected,
    RegistryAuthFailed,
    RegistryUnreachable,
    scrub,
)
from jenkins_bridge.containers.streams import (
    BuildProgress,
    PushFailureKind,
    PushProgress,
    classify_push_error,
)

LogSink = Callable[[str], None]

# The version handshake should fail fast when nothing listens; builds and pushes may be
# silent for minutes (a long RUN step, a big layer), so they get a long read timeout.
CONNECT_TIMEOUT_SECONDS = 30
TRANSFER_TIMEOUT_SECONDS = 3600
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


@dataclass(frozen=True, slots=True)
class RegistryCredentials:
    username: str
    password: str = field(repr=False)

    def auth_config(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}


# The records below are NamedTuples, not frozen dataclasses: as immutable, and each costs
# ~0.2 ms to define instead of ~1 ms (its methods are not compiled from generated source at
# import), paid on every ``image build`` and ``image push``.
class BuildRequest(NamedTuple):
    """Everything one build needs; paths are absolute (resolved by the caller)."""

    context_dir: Path
    dockerfile: Path
    repository: str
    tags: tuple[str, ...]
    labels: Mapping[str, str]
    build_args: Mapping[str, str] = MappingProxyType({})
    target: str | None = None
    cache_from: tuple[str, ...] = ()
    no_cache: bool = False
    # The descriptor's repository: context and Dockerfile must stay inside it (None: unchecked).
    repository_root: Path | None = None

    def references(self) -> list[str]:
        return [f"{self.repository}:{tag}" for tag in self.tags]


class BuiltImage(NamedTuple):
    image_id: str
    repository: str
    tags: tuple[str, ...]
    labels: dict[str, str]

    def references(self) -> list[str]:
        return [f"{self.repository}:{tag}" for tag in self.tags]


class PushedImage(NamedTuple):
    repository: str
    tags: tuple[str, ...]
    digest: str

    @property
    def reference(self) -> str:
        """``repository@sha256:...``: the reference a deploy should use."""
        return f"{self.repository}@{self.digest}"


def push_every_tag(
    repository: str, tags: Sequence[str], push_one: Callable[[str], str]
) -> PushedImage:
    """Push each tag with ``push_one(tag) -> digest`` (either client's); every tag must
    report the same digest."""
    digest: str | None = None
    for tag in tags:
        pushed = push_one(tag)
        if digest is not None and pushed != digest:
            raise PushRejected(
                f"{repository}:{tag}",
                f"digest {pushed} differs from {digest} pushed for the other tags",
            )
        digest = pushed
    if digest is None:
        raise PushRejected(repository, "no tag to push")
    return PushedImage(repository=repository, tags=tuple(tags), digest=digest)


def check_build_inputs(context_dir: Path, dockerfile: Path) -> None:
    """Fail before contacting the engine when the context or Dockerfile is missing."""
    if not context_dir.is_dir():
        raise ContextMissing(str(context_dir))
    if not dockerfile.is_file():
        raise DockerfileMissing(str(dockerfile))


def _docker_host(environ: Mapping[str, str]) -> str:
    return environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else text.strip()


def _api_error_text(exc: Any) -> str:
    """The engine's own words from an APIError (``explanation``), else the exception text."""
    explanation = getattr(exc, "explanation", None)
    if explanation:
        return _first_line(str(explanation))
    return _first_line(str(exc))


class Engine:
    """A connection to one Docker engine (``DOCKER_HOST`` or the default socket)."""

    def __init__(self, client: Any, docker_host: str) -> None:
        self._client = client
        self.docker_host = docker_host

    @classmethod
    def connect(cls, environ: Mapping[str, str] | None = None) -> Engine:
        """``docker.from_env()``; raises ``DaemonUnreachable`` if nothing answers."""
        import docker
        import docker.errors

        env = os.environ if environ is None else environ
        host = _docker_host(env)
        try:
            client = docker.from_env(timeout=CONNECT_TIMEOUT_SECONDS, environment=dict(env))
        except docker.errors.DockerException as exc:
            raise DaemonUnreachable(host, _connection_cause(exc)) from exc
        client.api.timeout = TRANSFER_TIMEOUT_SECONDS
        return cls(client, host)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _daemon_errors(self) -> Iterator[None]:
        """Transport failures mid-call mean the engine went away (or never was there)."""
        import requests.exceptions

        try:
            yield
        except requests.exceptions.ConnectionError as exc:
            raise DaemonUnreachable(self.docker_host, _connection_cause(exc)) from exc
        except requests.exceptions.Timeout as exc:
            raise DaemonUnreachable(self.docker_host, f"timed out: {exc}") from exc

    # -- build ------------------------------------------------------------------------------

    def build(self, request: BuildRequest, log: LogSink) -> BuiltImage:
        """Build ``request``, streaming log lines to ``log``; tag every reference."""

        check_build_inputs(request.context_dir, request.dockerfile)
        if request.repository_root is not None:
            check_build_context(request.context_dir, request.dockerfile, request.repository_root)
        with _labelled_dockerfile(request) as (dockerfile, api_labels):
            return self._build(request, dockerfile, api_labels, log)

    def _build(
        self,
        request: BuildRequest,
        dockerfile: Path,
        api_labels: Mapping[str, str] | None,
        log: LogSink,
    ) -> BuiltImage:
        import docker.errors

        references = request.references()
        progress = BuildProgress()
        with self._daemon_errors():
            try:
                stream = self._client.api.build(
                    path=str(request.context_dir),
                    dockerfile=str(dockerfile),
                    tag=references[0] if references else None,
                    buildargs=dict(request.build_args),
                    labels=dict(api_labels) if api_labels else None,
                    target=request.target,
                    cache_from=list(request.cache_from) or None,
                    nocache=request.no_cache,
                    network_mode="host",
                    rm=True,
                    forcerm=True,
                    pull=False,
                    decode=True,
                )
                for entry in stream:
                    for line in progress.feed(entry):
                        log(line)
            except docker.errors.APIError as exc:
                raise BuildFailed(progress.step, _api_error_text(exc), progress.last_lines) from exc
            except docker.errors.DockerException as exc:
                # docker-py's own checks (bad tag, unreadable context) before any request.
                message = _first_line(str(exc))
                if "invalid tag" in message or "invalid reference" in message:
                    raise InvalidImageName(request.repository, message) from exc
                raise BuildFailed(None, message, []) from exc
            for line in progress.finish():
                log(line)
            if progress.error is not None:
                raise BuildFailed(progress.step, progress.error, progress.last_lines)
            if progress.image_id is None:
                raise BuildFailed(progress.step, "the engine reported no image id", [])
            for tag in request.tags[1:]:
                self._tag(progress.image_id, request.repository, tag)
        return BuiltImage(
            image_id=progress.image_id,
            repository=request.repository,
            tags=request.tags,
            labels=self.image_labels(progress.image_id),
        )

    def _tag(self, image: str, repository: str, tag: str) -> None:
        import docker.errors

        try:
            self._client.api.tag(image, repository, tag, force=True)
        except docker.errors.APIError as exc:
            message = _api_error_text(exc)
            if "invalid reference format" in message:
                raise InvalidImageName(repository, message) from exc
            raise ImageError(f"tagging {image} as {repository}:{tag} failed: {message}") from exc

    def tag(self, image: str, repository: str, tag: str) -> None:
        with self._daemon_errors():
            self._tag(image, repository, tag)

    def image_labels(self, reference: str) -> dict[str, str]:
        import docker.errors

        with self._daemon_errors():
            try:
                attributes = self._client.api.inspect_image(reference)
            except docker.errors.ImageNotFound as exc:
                raise ImageNotFound(reference) from exc
        labels = (attributes.get("Config") or {}).get("Labels") or {}
        return {str(key): str(value) for key, value in labels.items()}

    # -- push -------------------------------------------------------------------------------

    def push(
        self,
        repository: str,
        tags: Sequence[str],
        log: LogSink,
        credentials: RegistryCredentials | None = None,
    ) -> PushedImage:
        """Push ``repository:tag`` for each tag; every tag must report the same digest.

        Without ``credentials`` docker-py uses the user's docker config for the registry.
        """
        import docker.auth

        secrets = [credentials.password] if credentials else []
        registry = str(docker.auth.split_repo_name(repository)[0])
        return push_every_tag(
            repository,
            tags,
            lambda tag: self._push_one(repository, tag, registry, credentials, log, secrets),
        )

    def _push_one(
        self,
        repository: str,
        tag: str,
        registry: str,
        credentials: RegistryCredentials | None,
        log: LogSink,
        secrets: Sequence[str],
    ) -> str:
        import docker.errors

        reference = f"{repository}:{tag}"
        progress = PushProgress()
        with self._daemon_errors():
            try:
                stream = self._client.api.push(
                    repository,
                    tag=tag,
                    stream=True,
                    decode=True,
                    auth_config=credentials.auth_config() if credentials else None,
                )
                for entry in stream:
                    for line in progress.feed(entry):
                        log(scrub(line, secrets))
                    if progress.error is not None:
                        break
            except docker.errors.APIError as exc:
                self._raise_push_error(reference, registry, _api_error_text(exc), credentials)
        if progress.error is not None:
            self._raise_push_error(reference, registry, progress.error, credentials)
        if progress.result is None:
            raise PushRejected(reference, "the engine ended the push without reporting a digest")
        return progress.result.digest

    @staticmethod
    def _raise_push_error(
        reference: str, registry: str, message: str, credentials: RegistryCredentials | None
    ) -> None:
        message = scrub(message, [credentials.password] if credentials else [])
        kind = classify_push_error(message)
        if kind == PushFailureKind.UNREACHABLE:
            raise RegistryUnreachable(registry, message)
        if kind == PushFailureKind.AUTH:
            raise RegistryAuthFailed(registry, message, had_credentials=credentials is not None)
        if kind == PushFailureKind.NOT_FOUND:
            raise ImageNotFound(reference)
        if kind == PushFailureKind.INVALID_NAME:
            import docker.utils

            raise InvalidImageName(str(docker.utils.parse_repository_tag(reference)[0]), message)
        raise PushRejected(reference, message)


@contextmanager
def _labelled_dockerfile(request: BuildRequest) -> Iterator[tuple[Path, Mapping[str, str] | None]]:
    """A copy of the Dockerfile with the labels in it, outside the context, so docker-py sends
    it under a name the engine drops from the context (COPY . stays cacheable).

    Yields (dockerfile, labels still to pass through the API, or None).
    """
    text = request.dockerfile.read_text(encoding="utf-8", errors="surrogateescape")
    labelled = with_labels(text, request.labels, request.target) if request.labels else None
    if labelled is None:
        yield request.dockerfile, request.labels
        return
    scratch = Path(tempfile.mkdtemp(prefix="jenkins-bridge-dockerfile-"))
    try:
        if scratch.is_relative_to(request.context_dir):
            yield request.dockerfile, request.labels
            return
        copy = scratch / "Dockerfile"
        copy.write_text(labelled, encoding="utf-8", errors="surrogateescape")
        yield copy, None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _connection_cause(exc: BaseException) -> str:
    """A short cause for a failed connection, without docker-py's nested wrapper text."""
    text = str(exc)
    for marker in ("Connection refused", "No such file or directory", "Permission denied"):
        if marker in text:
            return marker.lower()
    if "timed out" in text.lower():
        return "timed out"
    return _first_line(text)[:200]

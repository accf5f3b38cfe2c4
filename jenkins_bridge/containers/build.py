"""``build_image`` and ``push_image``: a service's image from its descriptor, as functions.

They resolve the descriptor's image section (paths relative to the descriptor's directory,
confined to its repository), compute tags and OCI labels from the build facts, refuse a
registry password in any build input, and drive the engine. The CLI prints what they return.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import NamedTuple, Protocol, TypedDict, Unpack

from jenkins_bridge.containers.context import check_build_context, repository_root
from jenkins_bridge.containers.docker_cli import (
    DockerCli,
    docker_executable,
    stops_as_interrupts,
)
from jenkins_bridge.containers.engine import (
    BuildRequest,
    BuiltImage,
    Engine,
    LogSink,
    PushedImage,
    RegistryCredentials,
    check_build_inputs,
)
from jenkins_bridge.containers.errors import NoImageSection, SecretInBuildInput
from jenkins_bridge.containers.provenance import collect_build_facts
from jenkins_bridge.containers.tags import (
    BuildFacts,
    check_repository,
    check_tag,
    deploy_tag,
    image_tags,
    oci_labels,
)
from jenkins_bridge.descriptor.image import ImageDescriptor, ImageSpec
from jenkins_bridge.errors import Interrupted, UsageError


class ImagePlan(NamedTuple):
    """A descriptor's image section resolved against the descriptor's directory."""

    service: ImageDescriptor
    spec: ImageSpec
    context_dir: Path
    dockerfile: Path
    repository_root: Path  # context and Dockerfile must resolve inside it


class ImageResult(NamedTuple):
    """What a build or push produced; ``digest`` is set once the registry has the image."""

    repository: str
    tags: tuple[str, ...]
    labels: Mapping[str, str] = MappingProxyType({})
    image_id: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What a deploy should use: ``repository@digest``, else the immutable tag."""
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{deploy_tag(self.tags)}"

    @property
    def pushed(self) -> bool:
        return self.digest is not None


class ImageBuildInterrupted(Interrupted):
    """Ctrl-C during ``image build``; ``built`` is the image if the build had finished."""

    def __init__(self, built: ImageResult | None) -> None:
        super().__init__("image build")
        self.built = built


# Which client builds and pushes: "auto" (the docker CLI when it is on PATH, else docker-py),
# "cli" (the docker CLI, an error without it) or "sdk" (docker-py, the Docker SDK for Python).
IMAGE_CLIENT_VARIABLE = "JENKINS_BRIDGE_IMAGE_CLIENT"
IMAGE_CLIENTS = ("auto", "cli", "sdk")


class ImageEngine(Protocol):
    """What ``build_image`` and ``push_image`` need of an engine adapter (``DockerCli`` over
    the docker CLI, ``Engine`` over docker-py): same requests, same typed errors."""

    docker_host: str

    def __enter__(self) -> ImageEngine: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def build(self, request: BuildRequest, log: LogSink) -> BuiltImage: ...

    def tag(self, image: str, repository: str, tag: str) -> None: ...

    def image_labels(self, reference: str) -> dict[str, str]: ...

    def push(
        self,
        repository: str,
        tags: Sequence[str],
        log: LogSink,
        credentials: RegistryCredentials | None = None,
    ) -> PushedImage: ...


def connect_engine(environ: Mapping[str, str] | None = None) -> ImageEngine:
    """The docker CLI when it is on PATH (the tool a user would run: no docker-py import, and
    BuildKit where buildx is installed), else docker-py; ``$JENKINS_BRIDGE_IMAGE_CLIENT``
    (auto, cli, sdk) forces one."""
    env = os.environ if environ is None else environ
    choice = (env.get(IMAGE_CLIENT_VARIABLE) or "auto").strip().lower()
    if choice not in IMAGE_CLIENTS:
        raise UsageError(
            f"${IMAGE_CLIENT_VARIABLE}={choice!r} is not one of {', '.join(IMAGE_CLIENTS)}",
            hint="auto: the docker CLI when on PATH, else the Docker SDK; or cli, or sdk",
        )
    if choice != "sdk":
        docker = docker_executable(env)
        if docker is not None:
            return DockerCli(docker, env)
        if choice == "cli":
            raise UsageError(
                f"${IMAGE_CLIENT_VARIABLE}=cli but there is no docker CLI on PATH",
                hint=f"install the docker CLI, or set {IMAGE_CLIENT_VARIABLE}=sdk (or unset it)",
            )
    return Engine.connect(env)


def load_service(path: Path) -> ImageDescriptor:
    """What build and push read of the descriptor, loaded and checked as every command does."""
    from jenkins_bridge.descriptor.loading import load_image_descriptor

    return load_image_descriptor(path)


def resolve_image(service: ImageDescriptor) -> ImagePlan:
    """Context and Dockerfile are relative to the descriptor file's directory."""
    spec = service.image
    if spec is None:
        raise NoImageSection(str(service.path))
    check_repository(spec.repository)
    base = service.path.parent
    return ImagePlan(
        service=service,
        spec=spec,
        context_dir=(base / spec.context).resolve(),
        # Like docker build and compose: the Dockerfile path is relative to the context.
        dockerfile=(base / spec.context / spec.dockerfile).resolve(),
        repository_root=repository_root(base),
    )


def registry_credentials(environ: Mapping[str, str]) -> RegistryCredentials | None:
    """``$REGISTRY_USER``/``$REGISTRY_PASSWORD`` when set; None means the docker config."""
    user = environ.get("REGISTRY_USER", "")
    password = environ.get("REGISTRY_PASSWORD", "")
    if not user and not password:
        return None
    if not user or not password:
        missing = "REGISTRY_PASSWORD" if user else "REGISTRY_USER"
        raise UsageError(
            f"{missing} is not set but its partner is",
            hint="set both REGISTRY_USER and REGISTRY_PASSWORD, or neither to use docker login",
        )
    return RegistryCredentials(username=user, password=password)


def refuse_secrets(
    build_args: Mapping[str, str], labels: Mapping[str, str], environ: Mapping[str, str]
) -> None:
    """A registry password inside a build argument or label would be baked into the image."""
    password = environ.get("REGISTRY_PASSWORD")
    if not password:
        return
    for where, values in (("image.buildArgs", build_args), ("image label", labels)):
        for key, value in values.items():
            if password in value:
                raise SecretInBuildInput(f"{where} {key}")


class BuildOptions(TypedDict):
    """How ``build_image`` builds: the ``image build`` command's options."""

    extra_tags: tuple[str, ...]
    push: bool  # every tag, after building
    cache_from: tuple[str, ...]
    no_cache: bool
    build_args: Mapping[str, str]  # --build-arg KEY=VALUE, over the descriptor's buildArgs


BUILD_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_build_args(given: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings as a mapping (a later KEY wins); a bad one is a usage error."""
    out: dict[str, str] = {}
    for text in given:
        key, sep, value = text.partition("=")
        if not sep or not BUILD_ARG_NAME.fullmatch(key):
            raise UsageError(
                f"--build-arg {text!r} is not KEY=VALUE",
                hint="KEY is a Dockerfile ARG name: letters, digits and '_', not starting "
                "with a digit",
            )
        out[key] = value
    return out


def build_facts(plan: ImagePlan, environ: Mapping[str, str]) -> BuildFacts:
    """What the tags and labels are computed from; ``image build`` and ``image push`` without
    ``--tag`` both ask here, so in the same job they agree on the tags."""
    return collect_build_facts(environ, plan.context_dir)


def build_image(
    descriptor: Path,
    *,
    log: LogSink,
    environ: Mapping[str, str] | None = None,
    **options: Unpack[BuildOptions],
) -> ImageResult:
    """Build ``descriptor``'s image with its commit and ``<branch>-<build>`` tags plus
    ``extra_tags``; with ``push``, push every tag. ``log`` gets the engine's lines."""
    env = os.environ if environ is None else environ
    push = options["push"]
    plan = resolve_image(load_service(descriptor))
    check_build_inputs(plan.context_dir, plan.dockerfile)
    check_build_context(
        plan.context_dir,
        plan.dockerfile,
        plan.repository_root,
        given=(plan.spec.context, plan.spec.dockerfile),
    )
    credentials = registry_credentials(env) if push else None
    facts = build_facts(plan, env)
    labels = oci_labels(
        facts=facts,
        source_repo=plan.service.source_repo,
        title=plan.service.name,
        description=plan.service.description,
        descriptor_digest=plan.service.digest,
    )
    build_args = {key: str(value) for key, value in plan.spec.build_args.items()}
    build_args.update(options.get("build_args") or {})
    refuse_secrets(build_args, labels, env)
    request = BuildRequest(
        context_dir=plan.context_dir,
        dockerfile=plan.dockerfile,
        repository=plan.spec.repository,
        tags=tuple(image_tags(facts, options["extra_tags"])),
        labels=labels,
        build_args=build_args,
        target=plan.spec.target,
        cache_from=options["cache_from"],
        no_cache=options["no_cache"],
        # Checked above, with the descriptor's own words in any error: the adapter need not
        # walk the context a second time.
        repository_root=None,
    )
    built: BuiltImage | None = None
    try:
        # SIGTERM (a Jenkins abort) is taken like Ctrl-C: temporary files go, exit 130.
        with stops_as_interrupts(), connect_engine(env) as engine:
            built = engine.build(request, log)
            digest = None
            if push:
                digest = engine.push(built.repository, built.tags, log, credentials).digest
    except KeyboardInterrupt:
        # The engine stops a build whose client went away; a push may have published some
        # tags, which a rerun pushes again (same digest).
        raise ImageBuildInterrupted(None if built is None else _result(built, None)) from None
    return _result(built, digest)


def push_image(
    descriptor: Path,
    *,
    tags: tuple[str, ...],
    log: LogSink,
    environ: Mapping[str, str] | None = None,
) -> ImageResult:
    """Push ``tags`` of ``descriptor``'s image (built before) to ``image.repository``; no
    ``tags``: the ones ``image build`` computed in the same environment (``computed_tags``).

    Logs in with ``$REGISTRY_USER``/``$REGISTRY_PASSWORD`` when set, else the docker config.
    """
    env = os.environ if environ is None else environ
    plan = resolve_image(load_service(descriptor))
    if not tags:  # the commit and <branch>-<build> tags image build gave
        tags = tuple(image_tags(build_facts(plan, env)))
    for tag in tags:
        check_tag(tag)
    credentials = registry_credentials(env)
    repository = plan.spec.repository
    with stops_as_interrupts(), connect_engine(env) as engine:
        if isinstance(engine, DockerCli):  # the labels are read beside the push
            labels, pushed = engine.labels_and_push(repository, tags, log, credentials)
        else:
            labels = engine.image_labels(f"{repository}:{tags[0]}")
            pushed = engine.push(repository, tags, log, credentials)
    return ImageResult(repository, tags, labels, None, pushed.digest)


def _result(built: BuiltImage, digest: str | None) -> ImageResult:
    return ImageResult(built.repository, built.tags, built.labels, built.image_id, digest)

"""``jenkins-bridge image build|push``: the service's container image, from its descriptor.

stdout carries only the result (the reference a deploy should use, or the JSON envelope);
the build and push logs go to stderr as plain lines.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from jenkins_bridge.cli.output import Outcome, progress
from jenkins_bridge.containers.context import check_build_context, repository_root
from jenkins_bridge.containers.engine import (
    BuildRequest,
    BuiltImage,
    Engine,
    RegistryCredentials,
    check_build_inputs,
)
from jenkins_bridge.containers.errors import NoImageSection, SecretInBuildInput
from jenkins_bridge.containers.provenance import collect_build_facts
from jenkins_bridge.containers.tags import (
    check_repository,
    check_tag,
    deploy_tag,
    image_tags,
    oci_labels,
)
from jenkins_bridge.descriptor.model import ImageSpec, Service
from jenkins_bridge.errors import Interrupted, UsageError


@dataclass(frozen=True, slots=True)
class ImagePlan:
    """A descriptor's image section resolved against the descriptor's directory."""

    service: Service
    spec: ImageSpec
    context_dir: Path
    dockerfile: Path
    repository_root: Path  # context and Dockerfile must resolve inside it


def load_service(path: Path) -> Service:
    from jenkins_bridge.descriptor import load_service as load

    return load(path)


def resolve_image(service: Service) -> ImagePlan:
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


def _refuse_secrets(build_args: Mapping[str, str], labels: Mapping[str, str]) -> None:
    password = os.environ.get("REGISTRY_PASSWORD")
    if not password:
        return
    for where, values in (("image.buildArgs", build_args), ("image label", labels)):
        for key, value in values.items():
            if password in value:
                raise SecretInBuildInput(f"{where} {key}")


def _result_data(
    repository: str,
    tags: tuple[str, ...],
    labels: Mapping[str, str],
    image_id: str | None,
    digest: str | None,
) -> dict[str, Any]:
    tag = deploy_tag(tags)
    reference = f"{repository}@{digest}" if digest else f"{repository}:{tag}"
    return {
        "reference": reference,
        "repository": repository,
        "digest": digest,
        "image_id": image_id,
        "tags": list(tags),
        "labels": dict(sorted(labels.items())),
        "pushed": digest is not None,
    }


@click.group("image")
def image() -> None:
    """Build and push the service's container image (Docker engine at $DOCKER_HOST)."""


@image.command("build")
@click.argument("descriptor", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG",
    help="Extra tag (repeatable). The commit and <branch>-<build> tags are always added.",
)
@click.option("--push", "push_after", is_flag=True, help="Push every tag after building.")
@click.option("--cache-from", multiple=True, metavar="REF", help="Image to use as a cache source.")
@click.option("--no-cache", is_flag=True, help="Do not use the layer cache.")
def build(
    descriptor: Path,
    tags: tuple[str, ...],
    push_after: bool,
    cache_from: tuple[str, ...],
    no_cache: bool,
) -> Outcome:
    """Build DESCRIPTOR's image; print the reference a deploy should use.

    Without --push that is repository:<immutable tag>; with it, repository@sha256:digest.
    """
    plan = resolve_image(load_service(descriptor))
    check_build_inputs(plan.context_dir, plan.dockerfile)
    check_build_context(
        plan.context_dir,
        plan.dockerfile,
        plan.repository_root,
        given=(plan.spec.context, plan.spec.dockerfile),
    )
    credentials = registry_credentials(os.environ) if push_after else None
    facts = collect_build_facts(os.environ, plan.context_dir)
    all_tags = tuple(image_tags(facts, tags))
    metadata = plan.service.metadata
    labels = oci_labels(
        facts=facts,
        source_repo=plan.service.source.repo,
        title=metadata.name,
        description=metadata.description,
        descriptor_digest=plan.service.digest,
    )
    build_args = {key: str(value) for key, value in plan.spec.build_args.items()}
    _refuse_secrets(build_args, labels)
    request = BuildRequest(
        context_dir=plan.context_dir,
        dockerfile=plan.dockerfile,
        repository=plan.spec.repository,
        tags=all_tags,
        labels=labels,
        build_args=build_args,
        target=plan.spec.target,
        cache_from=cache_from,
        no_cache=no_cache,
        repository_root=plan.repository_root,
    )
    built: BuiltImage | None = None
    try:
        with Engine.connect() as engine:
            built = engine.build(request, progress)
            digest = None
            if push_after:
                pushed = engine.push(built.repository, built.tags, progress, credentials)
                digest = pushed.digest
    except KeyboardInterrupt:
        # The engine stops a build whose client went away; a push may have published some
        # tags, which a rerun pushes again (same digest).
        if built is None:
            raise Interrupted("image build") from None
        done = _result_data(built.repository, built.tags, built.labels, built.image_id, None)
        raise Interrupted("image build", {"built": done}) from None
    assert built is not None
    data = _result_data(built.repository, built.tags, built.labels, built.image_id, digest)
    return Outcome(status="pushed" if digest else "built", data=data, text=data["reference"])


@image.command("push")
@click.argument("descriptor", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--tag",
    "tags",
    multiple=True,
    required=True,
    metavar="TAG",
    help="Tag to push (repeatable); build it first with 'image build'.",
)
def push(descriptor: Path, tags: tuple[str, ...]) -> Outcome:
    """Push DESCRIPTOR's image to image.repository; print repository@sha256:digest.

    Logs in with $REGISTRY_USER/$REGISTRY_PASSWORD when set, else uses the docker config.
    """
    plan = resolve_image(load_service(descriptor))
    for tag in tags:
        check_tag(tag)
    credentials = registry_credentials(os.environ)
    repository = plan.spec.repository
    with Engine.connect() as engine:
        labels = engine.image_labels(f"{repository}:{tags[0]}")
        pushed = engine.push(repository, tags, progress, credentials)
    data = _result_data(repository, tags, labels, None, pushed.digest)
    return Outcome(status="pushed", data=data, text=pushed.reference)

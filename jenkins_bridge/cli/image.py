"""``jenkins-bridge image build|push``: the service's container image, from its descriptor.

This module declares the options (click's path: help, completion, unusual command lines) and
calls the same functions as the click-free fast path (``jenkins_bridge.cli.fast``), which call
``containers.build``. stdout carries only the reference a deploy should use (or the JSON
envelope); the build and push logs go to stderr as plain lines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from jenkins_bridge.cli.fast import image_build_outcome, image_push_outcome
from jenkins_bridge.cli.output import Outcome

_DESCRIPTOR = click.argument("descriptor", type=click.Path(dir_okay=False, path_type=Path))


def _tags(
    dest: str, help: str, *, required: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--tag", dest, multiple=True, required=required, metavar="TAG", help=help)


@click.group("image")
def image() -> None:
    """Build and push the service's container image (Docker engine at $DOCKER_HOST).

    Through the docker CLI when it is on PATH, else the Docker SDK for Python;
    $JENKINS_BRIDGE_IMAGE_CLIENT=cli or sdk forces one (default auto).
    """


@image.command("build")
@_DESCRIPTOR
@_tags(
    "extra_tags",
    "Extra tag (repeatable). The commit and <branch>-<build> tags are always added.",
)
@click.option("--push", is_flag=True, help="Push every tag after building.")
@click.option("--cache-from", multiple=True, metavar="REF", help="Image to use as a cache source.")
@click.option("--no-cache", is_flag=True, help="Do not use the layer cache.")
@click.option(
    "--build-arg",
    "build_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="A Dockerfile ARG value (repeatable), over the descriptor's image.buildArgs.",
)
def build(
    descriptor: Path,
    extra_tags: tuple[str, ...],
    push: bool,
    cache_from: tuple[str, ...],
    no_cache: bool,
    build_args: tuple[str, ...],
) -> Outcome:
    """Build DESCRIPTOR's image; print the reference a deploy should use.

    Without --push that is repository:<immutable tag>; with it, repository@sha256:digest.
    """
    # A plain command line never gets here: jenkins_bridge.cli.fast answers it without click.
    return image_build_outcome(
        descriptor,
        extra_tags=extra_tags,
        push=push,
        cache_from=cache_from,
        no_cache=no_cache,
        build_args=build_args,
    )


@image.command("push")
@_DESCRIPTOR
@_tags(
    "tags",
    "Tag to push (repeatable; build it first with 'image build'). Default: the commit and "
    "<branch>-<build> tags 'image build' gave in the same job (same environment).",
)
def push(descriptor: Path, tags: tuple[str, ...]) -> Outcome:
    """Push DESCRIPTOR's image to image.repository; print repository@sha256:digest.

    Logs in with $REGISTRY_USER/$REGISTRY_PASSWORD when set, else uses the docker config.
    """
    return image_push_outcome(descriptor, tags=tags)

"""Commands answered without click: ``validate PATH...``, which pre-commit hooks and pipelines
run on every change, and ``image build|push DESCRIPTOR [options]``, which pipelines run on
every build, where importing click would cost about as much as the check (or a cached build's
own overhead) itself.

Only a plain command line takes this path: the global options (each at most once, with a valid
value), the command, and its arguments: for validate one or more none of which looks like an
option; for image build/push one descriptor and only the command's own long options, each
value given. Anything else (``--help``, an unknown option, ``--``, shell completion) goes to
click, which parses and reports it. Both paths call the same function and print through the
same code, so their output, errors and exit codes are the same byte for byte
(tests/cli/test_fast_path.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jenkins_bridge.cli.output import Outcome
from jenkins_bridge.errors import Interrupted

if TYPE_CHECKING:
    from jenkins_bridge.containers.build import BuildOptions, ImageResult

# click answers shell completion when this is set, whatever the arguments.
_COMPLETION = "_JENKINS_BRIDGE_COMPLETE"
_MODES = ("text", "json")


def validate_outcome(paths: Sequence[str]) -> Outcome:
    """``validate``: load and check every descriptor under ``paths``."""
    from jenkins_bridge.descriptor import check_services

    services = check_services(paths)
    return Outcome(
        status="ok",
        data={"services": [{"name": name, "file": str(path)} for name, path in services]},
        text=f"{len(services)} descriptor{'s' if len(services) != 1 else ''} valid",
    )


def image_result_data(result: ImageResult) -> dict[str, Any]:
    return {
        "reference": result.reference,
        "repository": result.repository,
        "digest": result.digest,
        "image_id": result.image_id,
        "tags": list(result.tags),
        "labels": dict(sorted(result.labels.items())),
        "pushed": result.pushed,
    }


def image_build_outcome(
    descriptor: Path,
    *,
    extra_tags: tuple[str, ...],
    push: bool,
    cache_from: tuple[str, ...],
    no_cache: bool,
    build_args: tuple[str, ...],
) -> Outcome:
    """``image build``: build (and with ``push`` push) the descriptor's image."""
    from jenkins_bridge.cli.output import progress
    from jenkins_bridge.containers.build import (
        ImageBuildInterrupted,
        build_image,
        parse_build_args,
    )

    options: BuildOptions = {
        "extra_tags": extra_tags,
        "push": push,
        "cache_from": cache_from,
        "no_cache": no_cache,
        "build_args": parse_build_args(build_args),
    }
    try:
        result = build_image(descriptor, log=progress, **options)
    except ImageBuildInterrupted as exc:
        if exc.built is None:
            raise
        raise Interrupted("image build", {"built": image_result_data(exc.built)}) from None
    status = "pushed" if result.pushed else "built"
    return Outcome(status=status, data=image_result_data(result), text=result.reference)


def image_push_outcome(descriptor: Path, *, tags: tuple[str, ...]) -> Outcome:
    """``image push``: push the descriptor's image (built before)."""
    from jenkins_bridge.cli.output import progress
    from jenkins_bridge.containers.build import push_image

    result = push_image(descriptor, tags=tags, log=progress)
    return Outcome(status="pushed", data=image_result_data(result), text=result.reference)


# The options of image build/push the fast path parses: name -> keyword (None: a flag).
_IMAGE_OPTIONS: dict[str, dict[str, str | None]] = {
    "build": {
        "--tag": "extra_tags",
        "--push": None,
        "--cache-from": "cache_from",
        "--no-cache": None,
        "--build-arg": "build_args",
    },
    "push": {"--tag": "tags"},
}


def _image_call(operands: Sequence[str]) -> Callable[[], Outcome] | None:
    """``image build|push`` as a call, when its line is plain (else None: click's path)."""
    if not operands or operands[0] not in _IMAGE_OPTIONS:
        return None
    subcommand, known = operands[0], _IMAGE_OPTIONS[operands[0]]
    values: dict[str, list[str]] = {dest: [] for dest in known.values() if dest}
    flags: set[str] = set()
    positional: list[str] = []
    rest = list(operands[1:])
    while rest:
        arg = rest.pop(0)
        if not arg.startswith("-"):
            positional.append(arg)
            continue
        name, has_value, value = arg.partition("=")
        if name not in known:
            return None
        dest = known[name]
        if dest is None:
            if has_value:
                return None
            flags.add(name)
            continue
        if not has_value:
            if not rest:
                return None
            value = rest.pop(0)
        if value.startswith("-"):
            return None  # click decides whether that is a value or an option
        values[dest].append(value)
    # click.Path(dir_okay=False) refuses a folder; let click say so.
    if len(positional) != 1 or not positional[0] or os.path.isdir(positional[0]):
        return None
    descriptor = Path(positional[0])
    if subcommand == "push":
        return lambda: image_push_outcome(descriptor, tags=tuple(values["tags"]))
    return lambda: image_build_outcome(
        descriptor,
        extra_tags=tuple(values["extra_tags"]),
        push="--push" in flags,
        cache_from=tuple(values["cache_from"]),
        no_cache="--no-cache" in flags,
        build_args=tuple(values["build_args"]),
    )


def _command_start(args: Sequence[str]) -> int | None:
    """Where the command is in ``args`` (global options already hoisted in front), or None if
    the options before it are anything but the plain, valid ones."""
    seen: set[str] = set()
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--no-color":
            name, index = arg, index + 1
        elif arg == "--output" and index + 1 < len(args) and args[index + 1] in _MODES:
            name, index = arg, index + 2
        elif arg.startswith("--output=") and arg.removeprefix("--output=") in _MODES:
            name, index = "--output", index + 1
        elif arg.startswith("-"):
            return None
        else:
            return index
        if name in seen:  # repeated: the last one wins in click; leave it to click
            return None
        seen.add(name)
    return None


def fast_call(args: Sequence[str]) -> Callable[[], Any] | None:
    """The command ``args`` asks for, as a call that needs no click; None for click's path."""
    if _COMPLETION in os.environ:
        return None
    start = _command_start(args)
    if start is None:
        return None
    command, operands = args[start], tuple(args[start + 1 :])
    if command == "validate" and operands and not any(a.startswith("-") for a in operands):
        return lambda: validate_outcome(operands)
    if command == "image":
        return _image_call(operands)
    return None

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

import contextlib
import gc
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jenkins_bridge.cli.output import Outcome
from jenkins_bridge.errors import Interrupted

if TYPE_CHECKING:
    from jenkins_bridge.containers.build import BuildOptions, ImageResult
    from jenkins_bridge.render.job_config import SharedLibrary

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


def render_outcome(
    paths: Sequence[str],
    out: str,
    *,
    check: bool,
    plugins: dict[str, str],
    workers: int | None,
    force: bool,
    library: SharedLibrary,
) -> Outcome:
    """``render`` and ``render --check``: services whose inputs and files are unchanged are
    taken from the output's cache (``--force`` renders everything).

    SIGTERM and SIGHUP (a Jenkins abort, a closed terminal) are taken like Ctrl-C: the
    workers stop, the files staged so far go, and the report says what was written (exit 130).
    """
    with imports_uncollected():
        from jenkins_bridge.deploy.interrupts import stops_as_interrupts

    with stops_as_interrupts():
        with imports_uncollected():
            from jenkins_bridge.cli.output import Counter
            from jenkins_bridge.errors import EXIT_CHANGES, BridgeError
            from jenkins_bridge.output.run import render_run
            from jenkins_bridge.output.workspace import check_tree, write_tree

        target = Path(out)
        counter = Counter("render")
        try:
            run = render_run(
                paths,
                plugins,
                workers,
                library,
                counter,
                reuse=None if force else target,
                keep_cache=not check,
                out=None if check else target,
            )
        finally:
            counter.close()
        count, tree = run.services, run.tree
        if check:
            report = check_tree(target, tree, force=force, previous=run.previous)
            data = {"stale": sorted(report.diffs), "services": count, "reused": run.reused}
            if report.clean:
                files = len(tree.artifacts) + len(tree.carried)
                return Outcome("ok", data, f"{out} is up to date ({files} files)")
            text = "".join(report.diffs[p] for p in sorted(report.diffs))
            text += f"{len(report.diffs)} file(s) in {out} differ from the descriptors; run render"
            return Outcome("changes", {**data, "diff": text}, text, exit_code=EXIT_CHANGES)
        try:
            written = write_tree(
                target,
                tree,
                force=force,
                cache=run.cache,
                previous=run.previous,
                staging=run.staging,
            )
        except OSError as exc:
            where = exc.filename if exc.filename is not None else out
            raise BridgeError(f"cannot write to {where}: {exc.strerror or exc}") from exc
        kept = [f"kept {k.path}: {k.reason}" for k in written.kept]
        return Outcome(
            "ok",
            {"services": count, "reused": run.reused, **written.as_data()},
            "\n".join(
                [
                    *kept,
                    f"rendered {count} service(s) into {out}: {len(written.written)} written, "
                    f"{len(written.unchanged)} unchanged, {len(written.removed)} removed"
                    + (f", {len(kept)} kept" if kept else ""),
                ]
            ),
        )


@contextlib.contextmanager
def imports_uncollected() -> Iterator[None]:
    """Import with the cyclic garbage collector paused, then leave what was imported out of
    later collections (``gc.freeze``). The render stack's modules make ~33,000 objects that
    live as long as the process: the collections their making set off (full ones included)
    found nothing and were a sixth of the imports' time (~20 of ~115 ms). When nothing was
    imported (a process that rendered before: tests), nothing is frozen."""
    if not gc.isenabled():
        yield
        return
    before = len(sys.modules)
    gc.disable()
    try:
        yield
    finally:
        if len(sys.modules) != before:
            gc.freeze()
        gc.enable()


# The environment variables of render's library options (``cli.library``): when any is set,
# click's path reads and checks it.
_LIBRARY_ENV = (
    "JENKINS_BRIDGE_LIBRARY_SCOPE",
    "JENKINS_BRIDGE_LIBRARY_REPO",
    "JENKINS_BRIDGE_LIBRARY_CREDENTIALS_ID",
)


def _click_would_refuse(path: str, *, file_okay: bool) -> bool:
    """What ``click.Path(file_okay=...)`` checks of a path that exists: a file where a folder
    is wanted, or one it may not read."""
    try:
        info = os.stat(path)
    except OSError:
        return False  # click.Path(exists=False) takes it as it is
    if not file_okay and stat.S_ISREG(info.st_mode):
        return True
    return not os.access(path, os.R_OK)


def _render_call(operands: Sequence[str]) -> Callable[[], Outcome] | None:
    """``render PATH... -o OUT [--check] [--force]`` as a call, when its line is that plain
    and no library option comes from the environment (else None: click's path)."""
    if any(name in os.environ for name in _LIBRARY_ENV):
        return None
    paths: list[str] = []
    out: str | None = None
    flags: set[str] = set()
    rest = list(operands)
    while rest:
        arg = rest.pop(0)
        if not arg.startswith("-"):
            paths.append(arg)
        elif arg in ("--check", "--force") and arg not in flags:
            flags.add(arg)
        elif arg in ("-o", "--out") and out is None and rest and not rest[0].startswith("-"):
            out = rest.pop(0)
        elif arg.startswith("--out=") and out is None and not arg[6:].startswith("-"):
            out = arg[6:]
        else:
            return None  # any other option, a repeated one, or a value click may read otherwise
    if not paths or out is None or _click_would_refuse(out, file_okay=False):
        return None
    if any(_click_would_refuse(path, file_okay=True) for path in paths):
        return None

    def call() -> Outcome:
        # render.job_config loads jinja2: imported when the command runs, not to parse it
        with imports_uncollected():
            from jenkins_bridge.render.job_config import SharedLibrary

        # what cli.library.shared_library gives for the options' defaults
        library = SharedLibrary(scope="folder", repo=None, credentials_id=None)
        return render_outcome(
            tuple(paths),
            out,
            check="--check" in flags,
            plugins={},
            workers=None,
            force="--force" in flags,
            library=library,
        )

    return call


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


def answers_image(args: Sequence[str]) -> bool:
    """Whether ``args`` (which ``fast_call`` answers) is ``image build|push``: those end the
    process at once when done (``jenkins_bridge.cli.run``)."""
    start = _command_start(args)
    return start is not None and args[start] == "image"


def answers_render(args: Sequence[str]) -> bool:
    """Whether ``args`` (which ``fast_call`` answers) is ``render``: it ends the process at
    once when done, after the exit handlers (``jenkins_bridge.cli.run``)."""
    start = _command_start(args)
    return start is not None and args[start] == "render"


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
    if command == "render":
        return _render_call(operands)
    return None

"""Command-line entry point: ``jenkins-bridge [--output text|json] [--no-color] COMMAND``.

The global options are accepted anywhere before a ``--`` (``status --output json`` too):
``main`` moves them in front of the command before click parses.

Pipelines and pre-commit hooks call this many times, so start-up stays small: each command's
module is imported only when that command runs (see ``COMMANDS``), nothing here imports click,
docker, jenkins, jsonschema or jinja2, and the commands people wait on most (``validate``) are
answered without click at all when their command line is plain (``jenkins_bridge.cli.fast``).
Everything else goes through the click group in ``jenkins_bridge.cli.app``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from jenkins_bridge.cli.output import Outcome, configure, emit, emit_problems
from jenkins_bridge.errors import EXIT_ERROR, BridgeError, Interrupted

# name -> "module:attribute" of a click command, imported on first use.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("jenkins_bridge.cli.descriptors", "validate"),
    "render": ("jenkins_bridge.cli.descriptors", "render"),
    "schema": ("jenkins_bridge.cli.descriptors", "schema"),
    "init": ("jenkins_bridge.cli.descriptors", "init"),
    "plan": ("jenkins_bridge.cli.provision", "plan"),
    "apply": ("jenkins_bridge.cli.provision", "apply"),
    "emulator": ("jenkins_bridge.cli.emulator", "emulator"),
    "image": ("jenkins_bridge.cli.image", "image"),
    "deploy": ("jenkins_bridge.cli.deploy", "deploy"),
    "rollback": ("jenkins_bridge.cli.deploy", "rollback"),
    "status": ("jenkins_bridge.cli.deploy", "status"),
    "history": ("jenkins_bridge.cli.deploy", "history"),
    "logs": ("jenkins_bridge.cli.deploy", "logs"),
    "exec": ("jenkins_bridge.cli.deploy", "exec_"),
    "restart": ("jenkins_bridge.cli.deploy", "restart"),
    "remove": ("jenkins_bridge.cli.deploy", "remove"),
    "lock": ("jenkins_bridge.cli.deploy", "lock"),
}

HELP = {
    "validate": "Check descriptors; report every problem as file:line:column.",
    "render": "Write Jenkinsfile, config.xml and folder.xml for each service.",
    "schema": "Print the descriptor JSON Schema.",
    "init": "Write a commented starter descriptor.",
    "plan": "Show what apply would change on a Jenkins controller.",
    "apply": "Create, update and prune jobs on a Jenkins controller.",
    "emulator": "Run the Jenkins API emulator in the foreground.",
    "image": "Build and push the service's container image.",
    "deploy": "Deploy an image to an environment (Docker host, Swarm, Kubernetes), health-gated.",
    "rollback": "Return an environment to its previous live version.",
    "status": "Show what runs in an environment.",
    "history": "Show every deploy of an environment.",
    "logs": "Print the live version's logs.",
    "exec": "Run a command in a one-off container of the live version.",
    "restart": "Restart a companion and wait until it is healthy.",
    "remove": "Remove an environment (volumes and history kept unless asked).",
    "lock": "See or release an environment's deploy lock.",
}


# Options of the group that may also follow the command; True: takes a value.
GLOBAL_OPTIONS = {"--output": True, "--no-color": False}


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """``status x --output json`` -> ``--output json status x``: click only knows a group's
    options before the command. Nothing after ``--`` moves (that is exec's command line)."""
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            rest.extend(argv[index:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            takes_value = GLOBAL_OPTIONS[name] and "=" not in arg
            if takes_value and index + 1 < len(argv):
                front.extend(argv[index : index + 2])
                index += 2
                continue
            front.append(arg)
        else:
            rest.append(arg)
        index += 1
    return front + rest


def _output_mode(argv: Sequence[str]) -> str:
    # Known before click parses, so even a usage error can be reported as JSON.
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--output" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--output="):
            return arg.split("=", 1)[1]
    return "text"


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals go elsewhere anyway
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _command_name(argv: Sequence[str]) -> str:
    return next((arg for arg in argv if arg in COMMANDS), "jenkins-bridge")


def _options_end(argv: Sequence[str]) -> int:
    return argv.index("--") if "--" in argv else len(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = hoist_global_options(sys.argv[1:] if argv is None else argv)
    mode = _output_mode(args)
    configure(mode, no_color="--no-color" in args[: _options_end(args)])
    try:
        try:
            result = _call(args)
        except KeyboardInterrupt:
            raise Interrupted(_command_name(args)) from None
    except Interrupted as exc:
        with _sigint_ignored():  # a second Ctrl-C must not cut the report (or JSON) in half
            emit_problems(mode, exc.code, exc.problems(), exc.data)
        return exc.exit_code
    except BridgeError as exc:
        emit_problems(mode, exc.code, exc.problems())
        return exc.exit_code
    except Exception:
        import traceback  # only a bug gets here; keep it off the start-up path

        traceback.print_exc()
        sys.stderr.write(
            "jenkins-bridge hit an internal error (a bug, not your input). "
            "Please report it with the traceback above.\n"
        )
        sys.stderr.flush()
        return EXIT_ERROR
    if isinstance(result, Outcome):
        emit(mode, result)
        return result.exit_code
    if isinstance(result, int):
        return result
    return 0


def _call(args: Sequence[str]) -> object:
    """The command's result: from the click-free fast path when it answers ``args``
    (byte for byte what click's path would), else from click."""
    from jenkins_bridge.cli.fast import answers_image, answers_render, fast_call

    call = fast_call(args)
    if call is not None:
        global _image_answered_fast, _render_answered_fast
        _image_answered_fast = answers_image(args)
        _render_answered_fast = answers_render(args)
        return call()
    from jenkins_bridge.cli.app import invoke

    return invoke(args)


def __getattr__(name: str) -> Any:
    # The click group and its class, for code that inspects the commands (docs, tests): click
    # is imported only when they are asked for.
    if name in ("cli", "LazyGroup"):
        from jenkins_bridge.cli import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Set when the click-free fast path answered ``image build|push`` or ``render`` (see ``run``).
_image_answered_fast = False
_render_answered_fast = False


def _exit_at_once(code: int, *, exit_handlers: bool = False) -> None:
    """End the process now, without the interpreter's tear-down (about 30 M instructions, a
    tenth of a cached ``image build``'s own time; ~35 ms of a render of 2,000 services,
    freeing its tree), when nothing is left for it to do: no other thread (the interpreter
    would wait for one, or stop a daemon reader), no exit handler (``exit_handlers``: they
    are run first, as the usual exit does), and stdout and stderr flushed. Otherwise return,
    and the usual exit reports (e.g. a closed pipe) as it always has. Every child and file
    of image build/push and render is waited for or closed before its function returns
    (render writes with unbuffered ``os.write``; its pool's workers are joined, and
    multiprocessing's exit handler finds none left)."""
    import atexit
    import threading

    if threading.active_count() != 1:
        return
    if atexit._ncallbacks():
        if not exit_handlers:
            return
        atexit._run_exitfuncs()
        if threading.active_count() != 1:
            return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code)


def run() -> None:
    code = main()
    # Exiting may still wait for threads finishing a request; a second Ctrl-C there ends the
    # process at once, as the default action does, instead of printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if _image_answered_fast:
        _exit_at_once(code)
    if _render_answered_fast:
        _exit_at_once(code, exit_handlers=True)
    sys.exit(code)

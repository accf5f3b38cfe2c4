"""Commands answered without click: ``validate PATH...``, which pre-commit hooks and pipelines
run on every change, where importing click would cost about as much as the check itself.

Only a plain command line takes this path: the global options (each at most once, with a valid
value), the command, and one or more arguments none of which looks like an option. Anything
else (``--help``, an unknown option, ``--``, shell completion) goes to click, which parses and
reports it. Both paths call the same function and print through the same code, so their
output, errors and exit codes are the same byte for byte (tests/cli/test_fast_path.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from jenkins_bridge.cli.output import Outcome

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
    return None

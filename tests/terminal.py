"""Run the CLI with a pseudo-terminal as stdin, stdout and stderr, as a person at a terminal
does: what is shown only on a TTY (colour, the progress counter, apply's question) is tested
through it. Pipes are what ``subprocess.run(capture_output=True)`` gives."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass
class TerminalRun:
    exit_code: int
    output: str  # stdout and stderr as the terminal showed them, interleaved


def run_in_terminal(
    args: Sequence[str],
    *,
    answers: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> TerminalRun:
    """``jenkins-bridge ARGS`` on a pty; when the output ends with a key of ``answers``
    (a prompt), its value is typed."""
    primary, secondary = pty.openpty()
    environ = {**os.environ, **(env or {})}
    environ.setdefault("TERM", "xterm")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jenkins_bridge", *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=environ,
        close_fds=True,
    )
    os.close(secondary)
    pending = dict(answers or {})
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                try:
                    data = os.read(primary, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
                shown = b"".join(chunks).decode("utf-8", "replace").rstrip()
                for prompt in list(pending):
                    if shown.endswith(prompt.rstrip()):
                        os.write(primary, pending.pop(prompt).encode() + b"\n")
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
            raise AssertionError(f"{args} did not finish: {b''.join(chunks)!r}")
        code = proc.wait(timeout=30)
    finally:
        os.close(primary)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return TerminalRun(code, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n"))

"""Stops a deploy can survive: SIGTERM and SIGHUP taken like Ctrl-C, and the test-only kill
points that prove it.

A Jenkins abort or pipeline timeout sends SIGTERM, a closed terminal SIGHUP; both become a
``KeyboardInterrupt`` while a deploy changes things, so the one interrupt path cleans up (stop
the unvetted version, bring back what a recreate stopped, record ``interrupted``) and the CLI
exits 130. Once that path runs, further signals are ignored until it is done: a second TERM
must not cut the restore in half. A SIGKILL cannot be caught; the next deploy or ``status``
clears what it leaves (``docker_host.leftovers``).

``JENKINS_BRIDGE_TEST_KILL_AT=<phase>[:<SIGNAL>]`` makes the CLI send itself SIGNAL (default
TERM) when a deploy reaches ``phase`` (see ``PHASES``); only the tests set it, and without it
``reached`` does nothing.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

KILL_AT_VARIABLE = "JENKINS_BRIDGE_TEST_KILL_AT"
# Where a deploy can be stopped by the test hook, in the order a deploy reaches them.
PHASES = (
    "locked",  # the lock is held, nothing else changed yet
    "companions",  # companions ensured, the new version not created
    "recreate-stopped",  # recreate: the old version stopped, the proxy answers 503
    "gate",  # the new version runs, its health gate not passed
    "gated",  # the new version passed its gate (and hook), traffic not switched
    "canary",  # canary: a step's share of traffic goes to the new version
    "switched",  # traffic switched, the old version still runs (drain)
    "finished",  # everything done but the history record
)
CAUGHT = (signal.SIGTERM, signal.SIGHUP)


def reached(phase: str) -> None:
    """The test hook: signal this process when ``JENKINS_BRIDGE_TEST_KILL_AT`` names ``phase``."""
    wanted = os.environ.get(KILL_AT_VARIABLE)
    if not wanted:
        return
    name, _, signal_name = wanted.partition(":")
    if name == phase:
        os.kill(os.getpid(), signal.Signals[f"SIG{signal_name or 'TERM'}"])


class _Interrupts:
    """The handler: the first signal interrupts, later ones wait for the cleanup to finish."""

    def __init__(self) -> None:
        self.cleaning = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.cleaning:
            return
        self.cleaning = True
        raise KeyboardInterrupt(signal.Signals(signum).name)


@contextmanager
def stops_as_interrupts() -> Iterator[None]:
    """Within: SIGTERM/SIGHUP (and Ctrl-C) raise ``KeyboardInterrupt`` once; the interrupt's
    cleanup then runs to its end, whatever else arrives."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = _Interrupts()
    watched = (signal.SIGINT, *CAUGHT)
    previous = {signum: signal.signal(signum, handler) for signum in watched}
    try:
        yield
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)

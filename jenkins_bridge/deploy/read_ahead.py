"""A read started on a thread now and taken later: a deploy asks the engine for what it will
need (the history, the proxy's configuration: ~50 ms each through the archive API) while it
does other work, instead of one after the other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ReadAhead(Generic[T]):
    """``read`` runs on a daemon thread from now; ``result`` waits for it and returns what it
    returned, or raises what it raised (an abandoned one ends with the process)."""

    def __init__(self, read: Callable[[], T]) -> None:
        self._read = read
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._read()
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

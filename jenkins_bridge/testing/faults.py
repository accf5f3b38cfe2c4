"""Fault injection and request accounting for the Jenkins emulator.

Faults are decided before a request is processed, so an injected error or reset never has a side
effect: a client that retries sees exactly what it would see after a proxy dropped its request.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Literal

FaultOutcome = Literal["ok", "error", "reset"]


@dataclass
class FaultInjection:
    """How the emulator misbehaves.

    error_rate: fraction of requests answered with one of `error_statuses` (no side effects).
    reset_rate: fraction of requests whose socket is closed without any response.
    latency: seconds added to every request, or a (min, max) range drawn uniformly.
    seed: seeds the RNG so a failing run can be replayed.
    fail_after: after this many requests every request fails (`fail_with`), to simulate a
        controller dying half-way through a run.
    """

    error_rate: float = 0.0
    reset_rate: float = 0.0
    latency: float | tuple[float, float] = 0.0
    seed: int | None = None
    fail_after: int | None = None
    fail_with: Literal["error", "reset"] = "error"
    error_statuses: tuple[int, ...] = (500, 502, 503)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)
    _seen: int = field(init=False, repr=False, default=0)

    def __post_init__(self) -> None:
        for rate in (self.error_rate, self.reset_rate):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rates must be within [0, 1], got {rate}")
        if self.error_rate + self.reset_rate > 1.0:
            raise ValueError("error_rate + reset_rate must not exceed 1")
        if not self.error_statuses:
            raise ValueError("error_statuses must not be empty")
        self._rng = random.Random(self.seed)

    def decide(self) -> tuple[FaultOutcome, int, float]:
        """One draw per request: (outcome, status for errors, delay in seconds)."""
        with self._lock:
            self._seen += 1
            if isinstance(self.latency, tuple):
                low, high = self.latency
                delay = self._rng.uniform(low, high)
            else:
                delay = float(self.latency)
            status = self._rng.choice(self.error_statuses)
            if self.fail_after is not None and self._seen > self.fail_after:
                return self.fail_with, status, delay
            draw = self._rng.random()
            if draw < self.error_rate:
                return "error", status, delay
            if draw < self.error_rate + self.reset_rate:
                return "reset", status, delay
            return "ok", status, delay


class RequestCounters:
    """Thread-safe request counts, by total and by (method, endpoint kind).

    Every request that reaches the emulator is counted, including those answered by an injected
    fault; `errors_injected` and `resets_injected` say how many of them were.
    """

    def __init__(self, log_limit: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._by_kind: Counter[tuple[str, str]] = Counter()
        self._total = 0
        self._errors = 0
        self._resets = 0
        self._log: deque[tuple[str, str]] = deque(maxlen=log_limit)

    def record(self, method: str, path: str, kind: str) -> None:
        with self._lock:
            self._total += 1
            self._by_kind[(method, kind)] += 1
            self._log.append((method, path))

    def record_fault(self, outcome: FaultOutcome) -> None:
        with self._lock:
            if outcome == "error":
                self._errors += 1
            elif outcome == "reset":
                self._resets += 1

    def reset(self) -> None:
        with self._lock:
            self._by_kind.clear()
            self._total = self._errors = self._resets = 0
            self._log.clear()

    @property
    def total(self) -> int:
        with self._lock:
            return self._total

    @property
    def errors_injected(self) -> int:
        with self._lock:
            return self._errors

    @property
    def resets_injected(self) -> int:
        with self._lock:
            return self._resets

    def __getitem__(self, key: tuple[str, str]) -> int:
        with self._lock:
            return self._by_kind.get(key, 0)

    def get(self, method: str, kind: str) -> int:
        return self[(method, kind)]

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._by_kind)

    def log(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._log)

    def __repr__(self) -> str:
        return f"RequestCounters(total={self.total}, by_kind={self.snapshot()})"

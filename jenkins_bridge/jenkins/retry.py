"""Bounded retries with exponential backoff and full jitter, for transient controller failures."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RetryPolicy:
    """``attempts`` tries in all; before try n+1 wait a random time in [0, base * 2**n], capped."""

    attempts: int = 5
    base: float = 0.1
    cap: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep

    def delay(self, retry: int) -> float:
        return self.rng.uniform(0, min(self.cap, self.base * (2**retry)))

    def wait(self, retry: int) -> None:
        self.sleep(self.delay(retry))

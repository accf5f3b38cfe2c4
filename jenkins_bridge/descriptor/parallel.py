"""Spreading per-file (or per-service) work over processes for large runs.

Loading and rendering a descriptor are independent per file and CPU-bound (YAML, validation,
templating), so thousands of them go to a small process pool. Results come back in input
order, so output does not depend on the worker count.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
ItemT = TypeVar("ItemT")

# Below this many files a process pool costs more than it saves (~50 ms to start).
PARALLEL_THRESHOLD = 400
MAX_WORKERS = 4


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def map_chunks(
    function: Callable[..., T],
    items: Sequence[ItemT],
    *args: Any,
    workers: int | None = None,
) -> list[T]:
    """``function(chunk, *args)`` over chunks of ``items``, in order; one chunk when small."""
    count = default_workers() if workers is None else workers
    if count <= 1 or len(items) < PARALLEL_THRESHOLD:
        return [function(items, *args)]
    size = -(-len(items) // (count * 4))  # a few chunks per worker balance the load
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    # fork: the workers inherit the imported modules instead of importing them again.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        return list(pool.map(function, batches, *([arg] * len(batches) for arg in args)))

"""Spreading per-file work over processes for large runs.

Loading and rendering a descriptor are independent per file and CPU-bound (YAML, validation,
templating), so thousands of files go to a small process pool. Results come back in file
order, so output does not depend on the worker count.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from jenkins_bridge.descriptor.loading import DescriptorFile

T = TypeVar("T")

# Below this many files a process pool costs more than it saves (~50 ms to start).
PARALLEL_THRESHOLD = 400
MAX_WORKERS = 4


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def map_file_chunks(
    function: Callable[..., T],
    files: Sequence[DescriptorFile],
    *args: Any,
    workers: int | None = None,
) -> list[T]:
    """``function(chunk, *args)`` over chunks of ``files``, in order; one chunk when small."""
    count = default_workers() if workers is None else workers
    if count <= 1 or len(files) < PARALLEL_THRESHOLD:
        return [function(files, *args)]
    size = -(-len(files) // (count * 4))  # a few chunks per worker balance the load
    batches = [files[i : i + size] for i in range(0, len(files), size)]
    # fork: the workers inherit the imported modules instead of importing them again.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        return list(pool.map(function, batches, *([arg] * len(batches) for arg in args)))

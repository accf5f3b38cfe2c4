"""Spreading per-file (or per-service) work over processes for large runs.

Loading and rendering a descriptor are independent per file and CPU-bound (YAML, validation,
templating), so thousands of them go to a few forked worker processes. Results come back in
input order, so output does not depend on the worker count.

Ctrl-C reaches every process of the group. Workers ignore it, so none prints a traceback; the
parent terminates them at once, without waiting for a chunk to finish, and lets the
KeyboardInterrupt go on to the CLI, which reports it. A worker that dies (killed, out of
memory) is an error, never a wait. (A small pool of our own: ``ProcessPoolExecutor`` can
hang at exit once its workers are killed, and ``multiprocessing.Pool`` hangs on a dead worker.)
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

# multiprocessing is imported only when a pool starts: one file (validate, a small render)
# never needs it, and the CLI's start-up would pay for it on every call.
if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import ForkProcess

T = TypeVar("T")
ItemT = TypeVar("ItemT")

# Below this many files a process pool costs more than it saves (~50 ms to start).
PARALLEL_THRESHOLD = 400
MAX_WORKERS = 4
MAX_CHUNK = 100  # items per chunk at most
# How long a terminated worker gets to exit before it is killed.
TERMINATE_GRACE_SECONDS = 2.0


class WorkerFailed(RuntimeError):
    """A worker raised (a bug: user errors come back as data) or died."""


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def map_chunks(
    function: Callable[..., T],
    items: Sequence[ItemT],
    *args: Any,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    shared: Sequence[object] = (),
) -> list[T]:
    """``function(chunk, *args)`` over chunks of ``items``, in order; one chunk when small.

    ``progress(items done, items)`` is called in this process as each parallel chunk ends.
    ``shared``: objects the workers inherit that their results hold (the descriptors'
    paths): one of them crosses the pool as its place in ``shared`` and is this process's
    own object again, not a copy made anew (a ``Path`` is parsed again as it is unpickled:
    ~5 us each, 5,000 at N = 5,000)."""
    count = default_workers() if workers is None else workers
    with _collector_paused():
        if count <= 1 or len(items) < PARALLEL_THRESHOLD:
            return [function(items, *args)]
        # A few chunks per worker balance the load; small ones keep what a worker holds (a
        # chunk's results and their pickled copy) and each message the parent takes small.
        size = min(-(-len(items) // (count * 4)), MAX_CHUNK)
        # The last ``count`` chunks' worth of items go in quarters, so the workers finish
        # within a small chunk of each other instead of one waiting on another's last one.
        tail = max(0, len(items) - size * count)
        small = max(1, -(-size // 4))
        batches = [items[i : i + size] for i in range(0, tail, size)]
        batches += [items[i : i + small] for i in range(len(batches) * size, len(items), small)]
        return _run_pool(function, batches, args, min(count, len(batches)), progress, shared)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while chunks run (workers inherit that at fork).

    Loading a descriptor allocates ~1,000 tracked objects (YAML nodes and their marks) that
    die with it, so the collector ran every few files and walked every object still alive:
    ~8 % of a render's CPU. What a chunk leaves in cycles is a few objects a service (6 per
    service measured: no growth worth a collection); they are collected once it is back on.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _run_pool(
    function: Callable[..., T],
    batches: list[Sequence[Any]],
    args: tuple[Any, ...],
    count: int,
    progress: Callable[[int, int], None] | None = None,
    shared: Sequence[object] = (),
) -> list[T]:
    import multiprocessing

    global _SHARED

    # Objects that exist before the fork are left out of every collection from now on: a
    # worker's collector would otherwise touch each of them, copying the pages the parent
    # shares with it (copy-on-write), and spend CPU on objects that live for the whole run.
    gc.freeze()
    # fork: the workers inherit the imported modules and the batches instead of receiving them.
    context = multiprocessing.get_context("fork")
    next_batch = context.Value("i", 0)
    readers: list[Connection] = []
    processes: list[ForkProcess] = []
    _SHARED = shared
    try:
        _start(context, count, (function, batches, args, next_batch), readers, processes)
        results = _collect(readers, batches, progress)
    except BaseException:
        _stop(processes)
        raise
    finally:
        _SHARED = ()
        gc.unfreeze()  # garbage made of them later is collected again
        for reader in readers:
            reader.close()
    for process in processes:
        process.join()
    return results


# Blocked while workers are forked, until each worker has set its own actions for them:
# Ctrl-C, and the stops a command may take like it (SIGTERM, SIGHUP; see stops_as_interrupts).
_STOPS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def _start(
    context: Any,
    count: int,
    work: tuple[Any, ...],
    readers: list[Connection],
    processes: list[ForkProcess],
) -> None:
    """Fork ``count`` workers. SIGINT (and SIGTERM, SIGHUP) stay blocked while forking, so a
    Ctrl-C reaches a worker only once it ignores it (a stop, once it takes its default action),
    and reaches the parent when it unblocks, here."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
    try:
        for _ in range(count):
            reader, writer = context.Pipe(duplex=False)
            # The worker closes its copies of the read ends (its own and the earlier
            # workers'): the parent must be the only reader, so that once it is gone (killed)
            # a worker's next send fails and it exits, instead of waiting forever on a full
            # pipe that a sibling still holds open.
            process = context.Process(
                target=_work, args=(*work, writer, [*readers, reader]), daemon=True
            )
            process.start()
            writer.close()  # the worker holds the only write end: its exit is our EOF
            readers.append(reader)
            processes.append(process)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)


def _collect(
    readers: list[Connection],
    batches: list[Sequence[Any]],
    progress: Callable[[int, int], None] | None,
) -> list[Any]:
    from multiprocessing.connection import Connection, wait

    total = len(batches)
    items, done = sum(len(b) for b in batches), 0
    results: dict[int, Any] = {}
    open_readers = list(readers)
    while len(results) < total:
        if not open_readers:
            raise WorkerFailed(f"a worker process died; {total - len(results)} chunk(s) lost")
        for ready in wait(open_readers):
            assert isinstance(ready, Connection)
            try:
                index, value = ready.recv()
            except EOFError:
                open_readers.remove(ready)
                continue
            if index < 0:
                raise WorkerFailed(f"a worker process failed:\n{value}")
            results[index] = value
            done += len(batches[index])
            if progress is not None:
                progress(done, items)
    return [results[index] for index in range(total)]


def _work(
    function: Callable[..., Any],
    batches: list[Sequence[Any]],
    args: tuple[Any, ...],
    next_batch: Any,
    writer: Connection,
    readers: list[Connection],
) -> None:
    """A worker: take the next batch until none is left; send ``(index, result)``.

    ``readers``: the parent's read ends this process inherited, closed at once (see _start).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A stop the parent takes like Ctrl-C (its handlers are inherited at fork) ends a worker
    # at once, as ``_stop``'s terminate means to; one that came while it started is pending.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)
    for reader in readers:
        reader.close()
    try:
        dumps = _dumps_sharing() if _SHARED else None  # inherited from the parent
        while True:
            with next_batch.get_lock():
                index = next_batch.value
                next_batch.value += 1
            if index >= len(batches):
                return
            result = function(batches[index], *args)
            try:
                if dumps is None:
                    writer.send((index, result))
                else:
                    writer.send_bytes(dumps((index, result)))
            except BrokenPipeError:
                return  # the parent is gone (killed): nobody reads what this worker would say
    except BaseException:
        import traceback  # only a failing worker needs it: off every command's start-up path

        with contextlib.suppress(BrokenPipeError):
            writer.send((-1, traceback.format_exc()))
    finally:
        writer.close()


# The objects shared with the workers while a pool runs (``map_chunks``): the parent's, and
# each worker's inherited copy of them.
_SHARED: Sequence[object] = ()


def _shared(index: int) -> object:
    """The parent's shared object ``index``: what a worker's reference unpickles to."""
    return _SHARED[index]


def _dumps_sharing() -> Callable[[Any], bytes]:
    """Pickling for a worker's messages: each object of ``_SHARED`` in them goes as its
    place there (``_shared`` makes it the parent's object again)."""
    import io
    import pickle
    from multiprocessing.reduction import ForkingPickler

    places = {id(item): place for place, item in enumerate(_SHARED)}  # alive: never reused
    protocol = pickle.HIGHEST_PROTOCOL

    def reduce(item: Any) -> Any:
        place = places.get(id(item))
        return item.__reduce_ex__(protocol) if place is None else (_shared, (place,))

    table = dict(ForkingPickler(io.BytesIO(), protocol).dispatch_table)
    table.update((kind, reduce) for kind in {type(item) for item in _SHARED})

    def dumps(message: Any) -> bytes:
        buffer = io.BytesIO()
        pickler = ForkingPickler(buffer, protocol)
        pickler.dispatch_table = table
        pickler.dump(message)
        return buffer.getvalue()

    return dumps


def _stop(processes: list[ForkProcess]) -> None:
    """Terminate every worker now; kill any that outlives a short grace period."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(TERMINATE_GRACE_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()

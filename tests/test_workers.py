"""Large runs load and render in several processes; the result must not depend on it."""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_numbered_services

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.descriptor.loading import discover
from jenkins_bridge.errors import InvalidDescriptors
from jenkins_bridge.output.run import _load_and_render, render_run
from jenkins_bridge.render import jenkinsfile
from jenkins_bridge.workers import MAX_CHUNK, PARALLEL_THRESHOLD, WorkerFailed, map_chunks


def _write_services(root: Path, count: int) -> None:
    write_numbered_services(root, count, teams=7, parameters=True)
    for team in range(7):
        (root / f"team-{team}" / "_defaults.yaml").write_text("pipeline: {agent: linux}\n")


def test_worker_count_does_not_change_the_output(tmp_path: Path) -> None:
    count = PARALLEL_THRESHOLD + 50
    _write_services(tmp_path, count)
    one = render_run([tmp_path], workers=1)
    two = render_run([tmp_path], workers=2)
    assert one.services == two.services == count
    assert {p: a.text for p, a in one.tree.artifacts.items()} == {
        p: a.text for p, a in two.tree.artifacts.items()
    }
    services = load_services([tmp_path], workers=2)
    assert [s.full_name for s in services] == [s.full_name for s in load_services([tmp_path])]
    assert all(s.pipeline.agent == "linux" for s in services)


def test_problems_are_the_same_with_workers(tmp_path: Path) -> None:
    _write_services(tmp_path, PARALLEL_THRESHOLD + 20)
    # The same service in two folders that land in different chunks, a broken file, and a
    # broken _defaults.yaml read by several chunks.
    (tmp_path / "team-6" / "dup.yaml").write_text((tmp_path / "team-0" / "svc-0.yaml").read_text())
    (tmp_path / "team-3" / "broken.yaml").write_text("metadata: [\n")
    (tmp_path / "team-1" / "_defaults.yaml").write_text("pipeline: {agent: 3}\n")
    messages = []
    for workers in (1, 3):
        with pytest.raises(InvalidDescriptors) as caught:
            render_run([tmp_path], workers=workers)
        messages.append([str(p) for p in caught.value.problems()])
    assert messages[0] == messages[1]
    text = "\n".join(messages[0])
    assert "already defined at" in text and "broken.yaml" in text
    assert sum("pipeline.agent" in m for m in messages[0]) >= 1


def test_a_descriptor_render_refuses_is_a_located_problem_with_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Render's own refusals (a resolved descriptor too large for a Jenkinsfile) come back
    from a worker as problems, not as a worker's crash."""
    _write_services(tmp_path, PARALLEL_THRESHOLD + 20)
    big = tmp_path / "team-2" / "big.yaml"
    big.write_text(
        (tmp_path / "team-2" / "svc-2.yaml").read_text().replace("svc-2", "big")
        + "runtime:\n  port: 8080\n  env:\n"
        + "".join(f"    V{i}: '{'x' * 100}'\n" for i in range(100))
    )
    monkeypatch.setattr(jenkinsfile, "MAX_RESOLVED_BYTES", 8000)  # forked workers inherit it
    for workers in (1, 2):
        with pytest.raises(InvalidDescriptors) as caught:
            render_run([tmp_path], workers=workers)
        (problem,) = caught.value.problems()
        env = big.read_text().splitlines().index("  env:") + 1  # the bulk is located
        assert str(problem).startswith(f"{big}:{env}:3: the resolved descriptor is ")


# -- the process pool: failures and Ctrl-C never hang ---------------------------------------


def _square_all(chunk: list[int]) -> list[int]:
    return [i * i for i in chunk]


def _fail_on_seven(chunk: list[int]) -> list[int]:
    if 7 in chunk:
        raise ValueError("seven")
    return chunk


def _die_on_seven(chunk: list[int]) -> list[int]:
    if 7 in chunk:
        os.kill(os.getpid(), signal.SIGKILL)
    return chunk


def _interrupt_parent_on_seven(chunk: list[int]) -> list[int]:
    if 7 in chunk:
        os.kill(os.getppid(), signal.SIGINT)
        time.sleep(60)  # a worker that would never finish on its own
    return chunk


def _collector(chunk: list[int]) -> list[tuple[int, bool]]:
    return [(gc.get_freeze_count(), gc.isenabled())]


def test_workers_start_with_the_parents_objects_left_out_of_collections() -> None:
    # A worker's collector that walked them would copy every page it shares with the parent.
    seen = map_chunks(_collector, list(range(PARALLEL_THRESHOLD)), workers=2)
    assert all(frozen > 0 for chunk in seen for frozen, _ in chunk)
    assert gc.get_freeze_count() == 0  # the parent collects them again once the pool is over


@pytest.mark.parametrize("workers", [1, 2])
def test_chunks_run_without_cyclic_collections_which_come_back_after(workers: int) -> None:
    seen = map_chunks(_collector, list(range(PARALLEL_THRESHOLD)), workers=workers)
    assert [enabled for chunk in seen for _, enabled in chunk] == [False] * len(seen)
    assert gc.isenabled()
    with pytest.raises((WorkerFailed, ValueError)):  # ValueError: raised here, no pool
        map_chunks(_fail_on_seven, list(range(PARALLEL_THRESHOLD)), workers=workers)
    assert gc.isenabled()


def test_a_chunk_sends_back_only_what_the_checks_across_files_read(tmp_path: Path) -> None:
    # The whole merged descriptor crossed the pool and stayed in the parent (~7 KB each).
    write_numbered_services(tmp_path, 3, teams=2)
    receivers = "monitoring: {alerts: {receivers: {ops: {email: ops@example.com}}}}\n"
    with (tmp_path / "team-0" / "svc-0.yaml").open("a") as descriptor:
        descriptor.write(receivers)
    chunk = _load_and_render(discover([tmp_path]), None)
    loaded, rendered, staged, rows = pickle.loads(pickle.dumps(chunk))
    assert len(rendered) == 3 and not loaded.problems and staged is None  # nothing to write
    assert rows is None  # no fingerprints given: no cache rows
    by_name = {data["metadata"]["name"]: data for data, _, _ in loaded.records}
    assert by_name["svc-0"] == {
        "metadata": {"team": "team-0", "name": "svc-0"},
        "monitoring": {"alerts": {"receivers": {"ops": {"email": "ops@example.com"}}}},
    }
    assert by_name["svc-1"] == {"metadata": {"team": "team-1", "name": "svc-1"}}
    assert {path.name for path, _, _ in rendered} == {"svc-0.yaml", "svc-1.yaml", "svc-2.yaml"}
    # Each artifact's digest was computed in the worker and came along: the parent, which
    # writes the manifest and the cache, would otherwise hash the whole tree, twice.
    artifacts = [artifact for _, produced, _ in rendered for artifact in produced]
    assert artifacts and all("sha256" in vars(artifact) for artifact in artifacts)
    assert all(
        artifact.sha256 == hashlib.sha256(artifact.text.encode()).hexdigest()
        for artifact in artifacts
    )


def test_large_runs_go_in_small_chunks() -> None:
    # What a worker holds at once (a chunk's results and their pickled copy) and each message
    # the parent takes stay small: at N = 5,000 chunks of 625 were 40 MB of the run's peak.
    items = list(range(MAX_CHUNK * 12))
    chunks = map_chunks(_square_all, items, workers=2)
    assert max(len(chunk) for chunk in chunks) <= MAX_CHUNK
    assert [x for chunk in chunks for x in chunk] == [i * i for i in items]
    # the last ones are smaller, so the workers end close together
    assert [len(chunk) for chunk in chunks[-8:]] == [MAX_CHUNK // 4] * 8


@pytest.mark.parametrize("count", [PARALLEL_THRESHOLD, 450, 451, 997, 2000])
@pytest.mark.parametrize("workers", [2, 3])
def test_every_item_is_in_one_chunk_in_order(count: int, workers: int) -> None:
    chunks = map_chunks(_square_all, list(range(count)), workers=workers)
    assert [x for chunk in chunks for x in chunk] == [i * i for i in range(count)]
    assert len(chunks[-1]) <= len(chunks[0])


def test_pool_results_come_back_in_order() -> None:
    items = list(range(PARALLEL_THRESHOLD * 2))
    chunks = map_chunks(_square_all, items, workers=3)
    assert [x for chunk in chunks for x in chunk] == [i * i for i in items]


def test_pool_reports_items_done_as_chunks_finish() -> None:
    # render's counter on a terminal: items done, growing to the total
    items = list(range(PARALLEL_THRESHOLD * 2))
    seen: list[tuple[int, int]] = []
    map_chunks(
        _square_all, items, workers=3, progress=lambda done, total: seen.append((done, total))
    )
    assert seen and all(total == len(items) for _, total in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == len(items)


def test_a_worker_exception_is_a_worker_failure_with_its_traceback() -> None:
    with pytest.raises(WorkerFailed, match="ValueError: seven"):
        map_chunks(_fail_on_seven, list(range(PARALLEL_THRESHOLD)), workers=2)


def test_a_killed_worker_is_an_error_not_a_hang() -> None:
    with pytest.raises(WorkerFailed, match="died"):
        map_chunks(_die_on_seven, list(range(PARALLEL_THRESHOLD)), workers=2)


def test_ctrl_c_terminates_the_workers_without_waiting_for_them() -> None:
    before = set(multiprocessing.active_children())
    with pytest.raises(KeyboardInterrupt):
        map_chunks(_interrupt_parent_on_seven, list(range(PARALLEL_THRESHOLD)), workers=2)
    assert set(multiprocessing.active_children()) == before


_KILLED_PARENT = """
import os, signal, sys, time
from jenkins_bridge.workers import PARALLEL_THRESHOLD, map_chunks

def work(chunk):
    with open(sys.argv[1], "a") as pids:
        pids.write(f"{os.getpid()}\\n")
    if 7 in chunk:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until the other worker runs a chunk too
            with open(sys.argv[1]) as pids:
                if len(set(pids.read().split())) >= 2:
                    break
            time.sleep(0.01)
        os.kill(os.getppid(), signal.SIGKILL)  # the agent dies under the run
    return [b"x" * 100_000 for _ in chunk]  # far more than a pipe holds

map_chunks(work, list(range(PARALLEL_THRESHOLD)), workers=2)
"""


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_workers_whose_parent_was_killed_exit_on_their_own(tmp_path: Path) -> None:
    """SIGKILL of the parent (a dead agent) leaves no worker behind: each worker's send fails
    once the parent is gone, as nobody else holds the pipe's read end open."""
    pids = tmp_path / "pids"
    run = subprocess.run(
        [sys.executable, "-c", _KILLED_PARENT, str(pids)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
    )
    assert run.returncode == -signal.SIGKILL
    workers = {int(line) for line in pids.read_text().split()}
    assert len(workers) == 2
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if _running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)  # do not leave them to the next test either
    assert not left, f"workers {left} outlived their killed parent"


def _paths_and_copies(chunk: list[Path]) -> list[tuple[Path, Path, str]]:
    return [(path, Path(str(path)), path.name) for path in chunk]


def test_shared_objects_come_back_as_the_parents_own() -> None:
    # A chunk's results name each service by its descriptor's path; unpickled, each was a
    # new Path parsed again (~5,000 at N = 5,000 in the run itself).
    paths = [Path(f"team-{i % 7}/svc-{i}.yaml") for i in range(PARALLEL_THRESHOLD + 3)]
    shared = paths[::2]
    got = map_chunks(_paths_and_copies, paths, workers=2, shared=shared)
    results = [result for chunk in got for result in chunk]
    assert [path for path, _, _ in results] == paths
    assert [name for _, _, name in results] == [path.name for path in paths]
    mine = {id(path) for path in shared}
    assert all(id(path) in mine for path, _, _ in results[::2])  # the very objects
    assert not any(id(path) in mine for path, _, _ in results[1::2])  # not shared: copies
    assert not any(id(copy) in mine for _, copy, _ in results)  # equal is not the same
    # a run with nothing shared sends as before, and nothing stays shared after a run
    assert map_chunks(_paths_and_copies, paths, workers=2) == got
    from jenkins_bridge import workers

    assert workers._SHARED == ()

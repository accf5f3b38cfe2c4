"""Ctrl-C (SIGINT to the whole process group, as a terminal sends it) during each command:
exit 130, no traceback from the CLI or any worker, no hang, and with --output json exactly
one JSON object saying what was done. Each test runs the real .venv/bin/jenkins-bridge and
waits for a visible sign that the phase it targets has started before interrupting."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, write_numbered_services

from jenkins_bridge.testing import FaultInjection, JenkinsEmulator

BINARY = ROOT / ".venv" / "bin" / "jenkins-bridge"
USER, TOKEN = "admin", "interrupt-token"
# Generous bounds: reaching a phase, and exiting after Ctrl-C. Not timings under test; a run
# that exceeds them has hung.
PHASE_SECONDS = 60
EXIT_SECONDS = 30


@dataclass
class Interrupted:
    exit_code: int
    stdout: str
    stderr: str
    children: list[int]  # worker processes alive when the signal was sent

    def envelope(self) -> dict[str, Any]:
        decoder = json.JSONDecoder()
        text = self.stdout.strip()
        value, end = decoder.raw_decode(text)
        assert end == len(text), f"more than one JSON object on stdout: {self.stdout!r}"
        assert isinstance(value, dict)
        return value


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in Path(path).read_text().split()]
    return found


def interrupt(
    args: list[str],
    ready: Callable[[int], bool],
    env: dict[str, str] | None = None,
    *,
    stop: signal.Signals = signal.SIGINT,
    group: bool = True,
) -> Interrupted:
    """Run the CLI in its own process group; send ``stop`` (Ctrl-C's SIGINT unless told) to
    the group (or to the CLI's process alone) once ``ready(pid)``."""
    process = subprocess.Popen(
        [str(BINARY), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    try:
        deadline = time.monotonic() + PHASE_SECONDS
        while not ready(process.pid):
            if process.poll() is not None or time.monotonic() > deadline:
                out, err = process.communicate()
                pytest.fail(f"the phase never started (exit {process.returncode}): {err[-2000:]}")
            time.sleep(0.005)
        children = _children(process.pid)
        if group:
            os.killpg(process.pid, stop)
        else:
            os.kill(process.pid, stop)
        try:
            out, err = process.communicate(timeout=EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            pytest.fail(f"still running {EXIT_SECONDS}s after Ctrl-C: {err[-2000:]}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return Interrupted(process.returncode, out, err, children)


def assert_clean_interrupt(result: Interrupted) -> dict[str, Any]:
    assert result.exit_code == 130, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "KeyboardInterrupt" not in result.stderr
    envelope = result.envelope()
    assert envelope["status"] == "interrupted"
    assert [e["code"] for e in envelope["errors"]] == ["interrupted"]
    for child in result.children:  # no worker outlives the command
        assert not Path(f"/proc/{child}").exists() or _is_zombie(child)
    data: dict[str, Any] = envelope["data"]
    return data


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough descriptors that loading, rendering and writing each take a while."""
    return write_numbered_services(tmp_path_factory.mktemp("many"), 3000, teams=9)


def _workers_running(pid: int) -> bool:
    return len(_children(pid)) >= 2


@pytest.mark.parametrize("command", ["validate", "render"])
def test_ctrl_c_while_workers_load_and_render(many: Path, tmp_path: Path, command: str) -> None:
    args = ["--output", "json", command, str(many)]
    if command == "render":  # validate uses one worker per CPU, at most 4
        args += ["-o", str(tmp_path / "out"), "--workers", "2"]
    result = interrupt(args, _workers_running)
    assert result.children, "the workers had started"
    data = assert_clean_interrupt(result)
    assert data == {}  # nothing was written yet


def _staging(out: Path) -> Callable[[int], bool]:
    """Whether a render into ``out`` has staged a file (its workers write ahead, see
    output/staging.py)."""
    return lambda pid: any(p.is_file() for p in out.glob(".jenkins-bridge-tmp-*/*/*/*/*"))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_while_files_are_staged_writes_nothing_and_leaves_nothing(
    many: Path, tmp_path: Path, workers: str
) -> None:
    out = tmp_path / "out"
    render = [str(BINARY), "render", str(many), "-o", str(out)]
    result = interrupt(["--output", "json", *render[1:], "--workers", workers], _staging(out))
    data = assert_clean_interrupt(result)
    assert data == {}  # nothing was written
    assert not out.exists()  # the folder made to stage in is gone with what it held
    assert subprocess.run(render, capture_output=True).returncode == 0
    assert subprocess.run([*render, "--check"], capture_output=True).returncode == 0


@pytest.mark.parametrize(
    ("stop", "group"),
    [(signal.SIGTERM, True), (signal.SIGTERM, False), (signal.SIGHUP, False)],
    ids=["SIGTERM to every process", "SIGTERM to the CLI", "SIGHUP to the CLI"],
)
def test_a_stop_while_files_are_staged_is_taken_like_ctrl_c(
    many: Path, tmp_path: Path, stop: signal.Signals, group: bool
) -> None:
    """A Jenkins abort sends SIGTERM (to every process of the build); render then stops as
    for Ctrl-C: exit 130, its workers gone, nothing written, its staging folder removed."""
    out = tmp_path / "out"
    args = ["--output", "json", "render", str(many), "-o", str(out), "--workers", "2"]
    result = interrupt(args, _staging(out), stop=stop, group=group)
    assert result.children, "the workers had started"
    data = assert_clean_interrupt(result)
    assert data == {}  # nothing was written
    assert not out.exists()


def test_a_render_killed_while_staging_is_cleaned_up_by_the_next(
    many: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    render = [str(BINARY), "render", str(many), "-o", str(out)]
    process = subprocess.Popen([*render, "--workers", "2"], start_new_session=True)
    try:
        deadline = time.monotonic() + PHASE_SECONDS
        while not _staging(out)(process.pid) and time.monotonic() < deadline:
            assert process.poll() is None, "the render ended before it staged a file"
            time.sleep(0.005)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the parent and its workers, at once
        process.wait()
    assert list(out.glob(".jenkins-bridge-tmp-*")), "the killed run left its staging folder"
    assert not (out / "manifest.json").exists()
    assert subprocess.run([*render, "--check"], capture_output=True).returncode == 2
    assert subprocess.run(render, capture_output=True).returncode == 0
    assert subprocess.run([*render, "--check"], capture_output=True).returncode == 0
    assert not list(out.rglob(".jenkins-bridge-tmp-*"))


def test_ctrl_c_in_text_mode_is_one_error_line(many: Path, tmp_path: Path) -> None:
    result = interrupt(
        ["render", str(many), "-o", str(tmp_path / "out"), "--workers", "2"], _workers_running
    )
    assert result.exit_code == 130
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: render interrupted (what was done before the interrupt is listed; "
        "run it again to finish)"
    ]


@pytest.fixture
def slow_jenkins() -> Iterator[JenkinsEmulator]:
    with JenkinsEmulator(users={USER: TOKEN}) as emulator:
        emulator.faults = FaultInjection(latency=0.05)
        yield emulator


def _jenkins_env(emulator: JenkinsEmulator) -> dict[str, str]:
    return {"JENKINS_URL": emulator.url, "JENKINS_USER": USER, "JENKINS_TOKEN": TOKEN}


def test_ctrl_c_during_apply_reports_what_was_done_and_a_rerun_converges(
    slow_jenkins: JenkinsEmulator, tmp_path: Path
) -> None:
    root = write_numbered_services(tmp_path / "d", 60, teams=3)
    env = _jenkins_env(slow_jenkins)
    result = interrupt(
        ["--output", "json", "apply", str(root), "--workers", "2", "--max-rps", "0"],
        lambda pid: len(slow_jenkins.items) >= 6,  # the folders and a few jobs exist
        env,
    )
    data = assert_clean_interrupt(result)
    completed = {entry["name"] for entry in data["completed"]}
    assert completed, data
    assert data["not_attempted"] > 0
    live = set(slow_jenkins.items)
    assert completed <= live  # everything reported as done is on the controller
    assert len(live) < 63  # 3 folders + 60 jobs: the run did stop
    slow_jenkins.faults = None
    command = [str(BINARY), "--output", "json"]
    again = subprocess.run(
        [*command, "apply", str(root), "--max-rps", "0"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["data"]["created"] == 63 - len(live)
    plan = subprocess.run(
        [*command, "plan", str(root)], capture_output=True, env={**os.environ, **env}
    )
    assert plan.returncode == 0


def test_ctrl_c_during_plan_exits_130_with_one_json_object(
    slow_jenkins: JenkinsEmulator, tmp_path: Path
) -> None:
    root = write_numbered_services(tmp_path / "d", 30, teams=3)
    env = _jenkins_env(slow_jenkins)
    slow_jenkins.faults = FaultInjection(latency=2.0)
    result = interrupt(
        ["--output", "json", "plan", str(root), "--verify"],
        lambda pid: slow_jenkins.requests.total >= 1,
        env,
    )
    assert assert_clean_interrupt(result) == {}


def test_ctrl_c_while_plan_verify_fetches_stops_fetching(
    slow_jenkins: JenkinsEmulator, tmp_path: Path
) -> None:
    root = write_numbered_services(tmp_path / "d", 40, teams=3)
    env = _jenkins_env(slow_jenkins)
    slow_jenkins.faults = None
    setup = subprocess.run(
        [str(BINARY), "apply", str(root), "--max-rps", "0"],
        capture_output=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert setup.returncode == 0
    slow_jenkins.faults = FaultInjection(latency=0.2)

    def config_fetches() -> int:
        return sum(1 for method, path in slow_jenkins.request_log if path.endswith("config.xml"))

    before = config_fetches()
    workers = 2
    result = interrupt(
        ["--output", "json", "plan", str(root), "--verify", "--workers", str(workers)],
        lambda pid: config_fetches() - before >= 3,
        env,
    )
    assert_clean_interrupt(result)
    # Only the fetches in flight when Ctrl-C came were finished; the queued ones never ran.
    fetched = config_fetches() - before
    assert fetched < 40, fetched

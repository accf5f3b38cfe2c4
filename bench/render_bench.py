"""Benchmark: ``jenkins-bridge render`` vs Jenkins Job Builder on the same N services.

A benchmark, not a test: it prints figures and never asserts on times.

For each N it writes N services (25 per team) twice into a temp dir, once as jenkins-bridge
descriptors (``<team>/<service>.yaml``) and once as a JJB project tree (one ``project`` per
team with a ``service`` axis, a folder template ``'{team}'`` and a pipeline template
``'{service}'``, as in /work/shared/JJB-BASELINE.md), then times

    jenkins-bridge render DIR -o OUT
    jenkins-jobs test -r --config-xml -o OUT DIR

with a fresh OUT per run: wall time (median after one warm-up), the child's user/sys CPU (from
``os.wait4``: its own and its workers'), and files and bytes written. Peak memory is the whole
process tree's, parent and forked workers together: one more run per tool and N, not timed,
samples the summed PSS (and RSS) of every process of the tree from ``/proc/PID/smaps_rollup``
every few milliseconds (``ru_maxrss`` is only the largest single process of the tree).
``--tmpdir /dev/shm`` puts the workloads and OUT on tmpfs, which separates rendering cost from
file-creation cost.
JJB 6.5.0 is installed into its own venv (``bench/.venv-jjb`` by default) on first use.

Then, on the largest N (5,000 by default), the incremental rows: one descriptor is edited after
a full render, and ``render --check`` (exit 2) and ``render`` are timed against the cold render
of the same run; the files ``render`` rewrote are counted (only the changed service's may be).
Last, ``--version`` and ``validate`` of one file (median of 20 runs) against ``python -c pass``
measured in the same run, the floor no Python CLI can go under.

Usage: ``.venv/bin/python bench/render_bench.py [--sizes 2000,5000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JJB_VENV = REPO / "bench" / ".venv-jjb"
JJB_REQUIREMENT = "jenkins-job-builder==6.5.0"
SERVICES_PER_TEAM = 25
VERSION_RUNS = 20
VERSION_TARGET_MS = 30.0
VALIDATE_TARGET_MS = 80.0
SPEED_TARGET = 6.0  # cold render: JJB wall / jenkins-bridge wall, issue 21
MEMORY_SAMPLE_S = 0.004  # how often the memory run samples the process tree
INCREMENTAL_N = 5000
INCREMENTAL_TARGET_S = 0.3
CACHE_DIR = ".jenkins-bridge-cache"
AGENTS = ("linux-docker", "linux-large", "linux-small")
JDKS = ("jdk17", "jdk21")


# --------------------------------------------------------------------------- workload


@dataclass(frozen=True)
class Service:
    """One generated service; both generators read the same values."""

    team: str
    name: str
    repo: str
    branch: str
    agent: str
    owner: str
    jdk: str
    poll: str
    keep_builds: int


def make_services(n: int) -> list[Service]:
    services = []
    for i in range(n):
        team = f"team-{i // SERVICES_PER_TEAM:03d}"
        name = f"svc-{i:05d}"
        services.append(
            Service(
                team=team,
                name=name,
                repo=f"https://git.example.com/{team}/{name}.git",
                branch="main" if i % 7 else "release/1.x",
                agent=AGENTS[i % len(AGENTS)],
                owner=f"{team}-leads@example.com",
                jdk=JDKS[i % len(JDKS)],
                poll=f"H/{5 + i % 10} * * * *",
                keep_builds=10 + i % 30,
            )
        )
    return services


# Every parameter has a default: a parameter without one crashed render (KeyError in
# descriptor/loading.py build_service) when this was written.
def bridge_descriptor(s: Service) -> str:
    return f"""\
apiVersion: jenkins-bridge/v1
kind: Service
metadata:
  name: {s.name}
  team: {s.team}
  description: {s.name} service of {s.team}
  owners: [{s.owner}]
source:
  repo: {s.repo}
  branch: {s.branch}
  credentialsId: git-ssh
pipeline:
  agent: {s.agent}
  keepBuilds: {s.keep_builds}
  triggers: {{poll: "{s.poll}", cron: "H 2 * * *"}}
  parameters:
    - {{name: BRANCH, type: string, default: {s.branch}, description: Branch to build}}
    - {{name: SKIP_TESTS, type: boolean, default: false, description: Skip tests}}
    - {{name: LOG_LEVEL, type: choice, default: info, choices: [info, debug, warn],
       description: Log level}}
  test:
    - {{name: unit, run: "./gradlew test -Djdk={s.jdk}"}}
image:
  repository: registry.example.com/{s.team}/{s.name}
  credentialsId: registry-creds
"""


JJB_TEMPLATES = """\
- job-template:
    name: '{team}'
    project-type: folder
    description: 'Services of team {team}'

- job-template:
    name: '{service}'
    project-type: pipeline
    folder: '{team}'
    description: '{service} service of {team}; owner {owner}'
    concurrent: false
    properties:
      - build-discarder:
          num-to-keep: '{keep_builds}'
    parameters:
      - string:
          name: BRANCH
          default: '{branch}'
          description: Branch to build
      - bool:
          name: SKIP_TESTS
          default: false
          description: Skip tests
      - choice:
          name: LOG_LEVEL
          choices: [info, debug, warn]
          description: Log level
    triggers:
      - pollscm:
          cron: '{poll}'
      - timed: 'H 2 * * *'
    dsl: |
      pipeline {{
        agent {{ label '{agent}' }}
        options {{ timeout(time: 60, unit: 'MINUTES') }}
        stages {{
          stage('Checkout') {{
            steps {{ git url: '{repo}', branch: params.BRANCH, credentialsId: 'git-ssh' }}
          }}
          stage('unit') {{
            when {{ expression {{ !params.SKIP_TESTS }} }}
            steps {{ sh './gradlew test -Djdk={jdk}' }}
          }}
          stage('Image') {{
            steps {{ sh 'docker build -t registry.example.com/{team}/{service} .' }}
          }}
        }}
        post {{ failure {{ mail to: '{owner}', subject: 'Build failed', body: env.BUILD_URL }} }}
      }}
"""


def jjb_project(team: str, services: Sequence[Service]) -> str:
    lines = [
        "- project:",
        f"    name: {team}",
        f"    team: {team}",
        "    service:",
    ]
    for s in services:
        lines += [
            f"      - {s.name}:",
            f"          repo: {s.repo}",
            f"          branch: {s.branch}",
            f"          agent: {s.agent}",
            f"          owner: {s.owner}",
            f"          jdk: {s.jdk}",
            f"          poll: '{s.poll}'",
            f"          keep_builds: {s.keep_builds}",
        ]
    lines += ["    jobs:", "      - '{team}'", "      - '{service}'", ""]
    return "\n".join(lines)


def write_workloads(services: Sequence[Service], root: Path) -> tuple[Path, Path]:
    """Write the bridge descriptors and the JJB tree under ``root``; return both dirs."""
    bridge_dir, jjb_dir = root / "bridge", root / "jjb"
    teams: dict[str, list[Service]] = {}
    for s in services:
        teams.setdefault(s.team, []).append(s)
    jjb_dir.mkdir(parents=True)
    (jjb_dir / "00-templates.yaml").write_text(JJB_TEMPLATES)
    for team, members in teams.items():
        (bridge_dir / team).mkdir(parents=True)
        for s in members:
            (bridge_dir / team / f"{s.name}.yaml").write_text(bridge_descriptor(s))
        (jjb_dir / f"{team}.yaml").write_text(jjb_project(team, members))
    return bridge_dir, jjb_dir


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Run:
    wall_s: float
    user_s: float
    sys_s: float
    maxrss_kib: int
    returncode: int
    stderr: str


@dataclass(frozen=True)
class Result:
    tool: str
    n: int
    walls: list[float]
    users: list[float]
    syss: list[float]
    maxrss_kib: int  # the largest single process (ru_maxrss), not the tree
    files: int
    bytes: int
    memory: TreeMemory | None = None  # the whole tree's peak, from the memory run

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def user(self) -> float:
        return statistics.median(self.users)

    @property
    def sys(self) -> float:
        return statistics.median(self.syss)

    @property
    def rss_mib(self) -> float:
        return self.maxrss_kib / 1024


@dataclass(frozen=True)
class TreeMemory:
    """Peaks of the summed memory of a process tree (the process and its descendants) over
    one run, in KiB: PSS counts a page shared by n processes (a forked worker's copy-on-write
    pages) as 1/n in each, so its sum is what the tree takes; summed RSS counts such a page
    once per process, an upper bound. ``samples``: how many times the tree was read."""

    pss_kib: int
    rss_kib: int
    processes: int  # most processes seen at once
    samples: int

    @property
    def pss_mib(self) -> float:
        return self.pss_kib / 1024

    @property
    def rss_mib(self) -> float:
        return self.rss_kib / 1024


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants now (through /proc/PID/task/TID/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(child) for child in children.read().split())
            except OSError:
                continue
    return found


def _rollup(pid: int) -> tuple[int, int]:
    """(Pss, Rss) of one process in KiB; (0, 0) once it is gone or a zombie."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


class TreeSampler(threading.Thread):
    """Reads the summed PSS and RSS of ``pid``'s process tree every ``MEMORY_SAMPLE_S``
    until stopped; keeps the peaks."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.done = threading.Event()
        self.pss = self.rss = self.processes = self.samples = 0

    def run(self) -> None:
        while not self.done.is_set():
            pids = _tree(self.pid)
            pss = rss = 0
            for pid in pids:
                one_pss, one_rss = _rollup(pid)
                pss += one_pss
                rss += one_rss
            self.pss, self.rss = max(self.pss, pss), max(self.rss, rss)
            self.processes = max(self.processes, len(pids))
            self.samples += 1
            self.done.wait(MEMORY_SAMPLE_S)

    def result(self) -> TreeMemory:
        return TreeMemory(self.pss, self.rss, self.processes, self.samples)


def tree_memory(cmd: Sequence[str]) -> tuple[TreeMemory, int]:
    """Run ``cmd`` once while sampling its process tree; (peaks, exit code)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    try:
        code = proc.wait()
    finally:
        sampler.done.set()
        sampler.join()
    return sampler.result(), code


def run_child(cmd: Sequence[str]) -> Run:
    """Run ``cmd``; wall time, the child's user/sys CPU and peak RSS (ru_maxrss, KiB on Linux)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    return Run(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss, proc.returncode, stderr)


def tree_size(root: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(dirpath, name))
    return files, size


def quiesce() -> None:
    """Let the file system write out the previous run before the next one starts."""
    os.sync()
    time.sleep(1.0)


def measure(
    tool: str, n: int, command: Callable[[Path], Sequence[str]], out: Path, repeat: int
) -> Result | None:
    """One warm-up, then ``repeat`` timed runs, each into a fresh, never-used directory
    ``<out>-<i>``; the last one is left for checks.

    Nothing is deleted until the whole benchmark is over: on this VM's ext4 (mounted with
    discard), creating thousands of files right after deleting thousands costs several times
    more and varies wildly, which would measure the deletion, not the tool.
    """
    walls: list[float] = []
    users: list[float] = []
    syss: list[float] = []
    peak = 0
    quiesce()
    for i in range(repeat + 1):
        run = run_child(command(out.with_name(f"{out.name}-{i}")))
        if run.returncode != 0:
            tail = "\n    ".join(run.stderr.strip().splitlines()[-8:])
            print(f"  {tool} N={n}: exit {run.returncode}\n    {tail}")
            return None
        if i > 0:
            walls.append(run.wall_s)
            users.append(run.user_s)
            syss.append(run.sys_s)
            peak = max(peak, run.maxrss_kib)
        print(f"  {tool:<14} N={n:<5} {'warm-up' if i == 0 else f'run {i}'}: {run.wall_s:.3f} s")
        quiesce()
    files, size = tree_size(out.with_name(f"{out.name}-{repeat}"))
    # Memory on its own run: sampling /proc costs CPU that would blur the timed runs.
    memory, code = tree_memory(command(out.with_name(f"{out.name}-memory")))
    print(
        f"  {tool:<14} N={n:<5} memory run: peak PSS {memory.pss_mib:.1f} MiB, "
        f"RSS summed {memory.rss_mib:.1f} MiB, {memory.processes} process(es) at most, "
        f"{memory.samples} samples" + (f" (exit {code})" if code else "")
    )
    quiesce()
    return Result(tool, n, walls, users, syss, peak, files, size, memory)


def check_bridge_output(out: Path, n: int) -> None:
    """Cheap correctness check: N Jenkinsfiles, N config.xml, N/25 folder.xml."""
    teams = -(-n // SERVICES_PER_TEAM)
    found = {
        "Jenkinsfile": len(list(out.glob("*/*/Jenkinsfile"))),
        "config.xml": len(list(out.glob("*/*/config.xml"))),
        "folder.xml": len(list(out.glob("*/folder.xml"))),
    }
    expected = {"Jenkinsfile": n, "config.xml": n, "folder.xml": teams}
    for name, want in expected.items():
        if found[name] != want:
            print(f"  !! jenkins-bridge N={n}: {found[name]} {name} files, expected {want}")
    if not (out / "manifest.json").is_file():
        print(f"  !! jenkins-bridge N={n}: manifest.json missing")


def ensure_jjb(venv: Path) -> Path:
    """Return the venv's ``jenkins-jobs``, creating the venv and installing JJB if needed."""
    exe = venv / "bin" / "jenkins-jobs"
    python = venv / "bin" / "python"
    if exe.exists():
        probe = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
        if "6.5.0" in probe.stdout + probe.stderr:
            return exe
    print(f"installing {JJB_REQUIREMENT} into {venv} ...")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", JJB_REQUIREMENT],
        check=True,
    )
    return exe


def startup_times(command: Sequence[str]) -> list[float]:
    """Wall seconds of ``VERSION_RUNS`` runs of a short command, after one warm-up."""
    run_child(command)
    runs = [run_child(command) for _ in range(VERSION_RUNS)]
    failed = [r for r in runs if r.returncode != 0]
    if failed:
        print(f"  !! {' '.join(command)}: exit {failed[0].returncode}: {failed[0].stderr[-300:]}")
    return [r.wall_s for r in runs]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime_ns) of every output file, the cache excluded: what a rewrite changes."""
    seen: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, names in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != CACHE_DIR]
        for name in names:
            st = os.stat(os.path.join(dirpath, name))
            seen[os.path.relpath(os.path.join(dirpath, name), root)] = (st.st_ino, st.st_mtime_ns)
    return seen


@dataclass(frozen=True)
class Incremental:
    n: int
    cold: float
    check: list[float]
    render: list[float]
    rewritten: list[str]
    changed_service: str
    check_codes: list[int]


def measure_incremental(
    bridge: Path, bridge_dir: Path, out: Path, services: Sequence[Service], repeat: int
) -> Incremental | None:
    """Full render into ``out``, then per round: edit one descriptor (a different one each
    round), time ``render --check`` (must exit 2), then ``render`` (must exit 0), and record
    which files ``render`` rewrote."""
    quiesce()
    cold = run_child([str(bridge), "render", str(bridge_dir), "-o", str(out)])
    if cold.returncode != 0:
        print(f"  incremental N={len(services)}: cold render exit {cold.returncode}")
        return None
    checks: list[float] = []
    renders: list[float] = []
    codes: list[int] = []
    rewritten: list[str] = []
    changed = ""
    for i in range(repeat + 1):
        s = services[(i * 997) % len(services)]
        changed = f"{s.team}/{s.name}"
        descriptor = bridge_dir / s.team / f"{s.name}.yaml"
        descriptor.write_text(
            descriptor.read_text().replace("description: ", f"description: edit {i}, ", 1)
        )
        before = snapshot(out)
        check = run_child([str(bridge), "render", "--check", str(bridge_dir), "-o", str(out)])
        again = run_child([str(bridge), "render", str(bridge_dir), "-o", str(out)])
        if again.returncode != 0:
            print(f"  incremental: render exit {again.returncode}: {again.stderr[-300:]}")
            return None
        after = snapshot(out)
        if i == 0:
            continue  # warm-up round
        checks.append(check.wall_s)
        renders.append(again.wall_s)
        codes.append(check.returncode)
        rewritten = sorted(p for p in after if before.get(p) != after[p])
        rewritten += sorted(f"(removed) {p}" for p in before if p not in after)
        print(
            f"  incremental N={len(services)} round {i}: check {check.wall_s:.3f} s "
            f"(exit {check.returncode}, CPU {check.user_s + check.sys_s:.2f} s), "
            f"render {again.wall_s:.3f} s (CPU {again.user_s + again.sys_s:.2f} s), "
            f"{len(rewritten)} file(s) rewritten"
        )
    return Incremental(len(services), cold.wall_s, checks, renders, rewritten, changed, codes)


# --------------------------------------------------------------------------- reporting


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares ``y = a + b*x``; returns (a, b)."""
    if len(xs) < 2:
        return ys[0] if ys else 0.0, 0.0
    b, a = statistics.linear_regression(xs, ys)
    return a, b


def print_report(results: dict[tuple[str, int], Result], sizes: Sequence[int]) -> None:
    print()
    header = (
        f"| {'N':>5} | {'tool':<14} | {'wall median':>11} | {'min–max':>13} | "
        f"{'user/sys s':>11} | {'tree PSS':>10} | {'tree RSS':>10} | {'1 process':>10} | "
        f"{'files':>6} | {'bytes':>10} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for n in sizes:
        for tool in ("jenkins-bridge", "JJB 6.5.0"):
            r = results.get((tool, n))
            if r is None:
                blank = f"{'':>13} | {'':>11} | {'':>10} | {'':>10} | {'':>10} | {'':>6} | {'':>10}"
                print(f"| {n:>5} | {tool:<14} | {'failed':>11} | {blank} |")
                continue
            spread = f"{min(r.walls):.3f}–{max(r.walls):.3f}"
            cpu = f"{r.user:.2f}/{r.sys:.2f}"
            pss = f"{r.memory.pss_mib:>6.1f} MiB" if r.memory else f"{'?':>10}"
            rss = f"{r.memory.rss_mib:>6.1f} MiB" if r.memory else f"{'?':>10}"
            print(
                f"| {n:>5} | {tool:<14} | {r.wall:>9.3f} s | {spread:>13} | {cpu:>11} | "
                f"{pss} | {rss} | {r.rss_mib:>6.1f} MiB | {r.files:>6} | {r.bytes:>10,} |"
            )
    print(
        "  tree PSS/RSS: peak of the summed memory of the process and its workers (memory "
        "run);\n  1 process: the largest single process's ru_maxrss (timed runs)"
    )

    print()
    print("Ratios JJB / jenkins-bridge (> 1: jenkins-bridge faster / smaller)")
    for n in sizes:
        b, j = results.get(("jenkins-bridge", n)), results.get(("JJB 6.5.0", n))
        if b is None or j is None:
            continue
        time_ratio = j.wall / b.wall
        cpu_ratio = (j.user + j.sys) / (b.user + b.sys)
        line = f"  N={n:<5} wall {time_ratio:5.2f}x   CPU (user+sys) {cpu_ratio:5.2f}x"
        bm, jm = b.memory, j.memory
        if bm is not None and jm is not None:
            line += (
                f"   tree PSS {jm.pss_mib / bm.pss_mib:5.2f}x "
                f"({bm.pss_mib:.1f} vs {jm.pss_mib:.1f} MiB)   "
                f"tree RSS {jm.rss_mib / bm.rss_mib:5.2f}x"
            )
        if n >= 2000:
            ok_t = "met" if time_ratio >= SPEED_TARGET else "NOT met"
            line += f"\n  {'':<7} target ≥{SPEED_TARGET:g}x faster: {ok_t}"
            if bm is not None and jm is not None:
                ok_m = "met" if bm.pss_kib <= jm.pss_kib else "NOT met"
                line += f"; peak memory (tree PSS) ≤ JJB's: {ok_m}"
        print(line)

    print()
    print("Linear fit over N (wall = fixed + per-service; tree PSS = fixed + per-service)")
    for tool in ("jenkins-bridge", "JJB 6.5.0"):
        rs = [results[(tool, n)] for n in sizes if (tool, n) in results]
        if not rs:
            continue
        xs = [float(r.n) for r in rs]
        wa, wb = linear_fit(xs, [r.wall for r in rs])
        ra, rb = linear_fit(xs, [r.memory.pss_mib if r.memory else r.rss_mib for r in rs])
        per_n = ", ".join(f"N={r.n}: {1000 * r.wall / r.n:.2f}" for r in rs)
        print(
            f"  {tool:<14} wall = {wa:.3f} s + {1000 * wb:.3f} ms/service; "
            f"tree PSS = {ra:.1f} MiB + {1024 * rb:.1f} KiB/service"
        )
        print(f"  {'':<14} wall/N in ms: {per_n}")


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,5000", help="comma-separated N values")
    parser.add_argument(
        "--incremental-n",
        type=int,
        default=INCREMENTAL_N,
        help="N for the after-one-change rows (0: skip them)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs after a warm-up")
    parser.add_argument(
        "--repeat-large",
        type=int,
        default=None,
        help="timed runs for N >= 5000 (default: --repeat)",
    )
    parser.add_argument("--jjb-venv", type=Path, default=DEFAULT_JJB_VENV)
    parser.add_argument(
        "--bridge",
        type=Path,
        default=Path(sys.executable).parent / "jenkins-bridge",
        help="jenkins-bridge executable (default: next to this Python)",
    )
    parser.add_argument(
        "--tmpdir",
        type=Path,
        default=None,
        help="where workloads and OUT go (default: the system temp dir; /dev/shm is tmpfs)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and print it")
    return parser.parse_args(argv)


def print_incremental(inc: Incremental) -> None:
    check, render = statistics.median(inc.check), statistics.median(inc.render)
    print(f"\nAfter one descriptor changed, N={inc.n} (cold render in this run: {inc.cold:.3f} s)")
    for label, value in (("render --check", check), ("render", render)):
        verdict = "met" if value <= INCREMENTAL_TARGET_S else "NOT met"
        print(
            f"  {label:<15} median {value:.3f} s of {len(inc.check)} "
            f"({inc.cold / value:5.1f}x faster than cold); "
            f"target ≤ {INCREMENTAL_TARGET_S} s: {verdict}"
        )
    if any(code != 2 for code in inc.check_codes):
        print(f"  !! render --check exit codes {inc.check_codes}, expected 2 (changes pending)")
    service_dir = inc.changed_service + "/"
    # manifest.json records every file's hash, so it changes with any output file.
    foreign = [p for p in inc.rewritten if not p.startswith(service_dir) and p != "manifest.json"]
    print(
        f"  files rewritten by the last render: {len(inc.rewritten)} "
        f"({', '.join(inc.rewritten[:6])}); "
        + ("only the changed service's: met" if not foreign else f"others too: {foreign[:5]}")
    )


def print_startup(bridge: Path, descriptor: Path) -> None:
    floor = startup_times([sys.executable, "-c", "pass"])
    rows = [
        ("python -c pass (floor)", floor, None),
        ("jenkins-bridge --version", startup_times([str(bridge), "--version"]), VERSION_TARGET_MS),
        (
            "jenkins-bridge validate (1 file)",
            startup_times([str(bridge), "validate", str(descriptor)]),
            VALIDATE_TARGET_MS,
        ),
    ]
    base = 1000 * statistics.median(floor)
    print(f"\nStart-up, median of {VERSION_RUNS} runs (min–max), same run")
    for label, walls, target in rows:
        med = 1000 * statistics.median(walls)
        line = (
            f"  {label:<34} {med:7.1f} ms ({1000 * min(walls):.1f}–{1000 * max(walls):.1f}), "
            f"floor + {med - base:6.1f} ms"
        )
        if target is not None:
            line += f"; target ≤ {target:.0f} ms: {'met' if med <= target else 'NOT met'}"
        print(line)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    bridge: Path = args.bridge
    if not bridge.exists():
        print(f"jenkins-bridge not found at {bridge}; pass --bridge")
        return 1
    jjb = ensure_jjb(args.jjb_venv)
    tmp = Path(tempfile.mkdtemp(prefix="render-bench-", dir=args.tmpdir))
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s), "
        f"load {os.getloadavg()[0]:.2f} at start, workloads and OUT in {tmp}"
    )
    results: dict[tuple[str, int], Result] = {}
    incremental: Incremental | None = None
    try:
        for n in sizes:
            repeat = args.repeat_large if n >= 5000 and args.repeat_large else args.repeat
            root = tmp / f"n{n}"
            bridge_dir, jjb_dir = write_workloads(make_services(n), root)

            def cmd_b(target: Path, src: Path = bridge_dir) -> list[str]:
                return [str(bridge), "render", str(src), "-o", str(target)]

            r = measure("jenkins-bridge", n, cmd_b, root / "out-bridge", repeat)
            if r is not None:
                results[("jenkins-bridge", n)] = r
                check_bridge_output(root / f"out-bridge-{repeat}", n)

            def cmd_j(target: Path, src: Path = jjb_dir) -> list[str]:
                return [str(jjb), "test", "-r", "--config-xml", "-o", str(target), str(src)]

            r = measure("JJB 6.5.0", n, cmd_j, root / "out-jjb", repeat)
            if r is not None:
                results[("JJB 6.5.0", n)] = r
                want = n + -(-n // SERVICES_PER_TEAM)
                if r.files != want:
                    print(f"  !! JJB N={n}: {r.files} files, expected {want}")
        if args.incremental_n:
            services = make_services(args.incremental_n)
            root = tmp / f"inc{args.incremental_n}"
            bridge_dir, _ = write_workloads(services, root)
            incremental = measure_incremental(
                bridge, bridge_dir, root / "out-inc", services, args.repeat
            )
        one = tmp / "one"
        one_dir, _ = write_workloads(make_services(1), one)
        descriptor = next(one_dir.glob("*/*.yaml"))
        print_report(results, sizes)
        if incremental is not None:
            print_incremental(incremental)
        print_startup(bridge, descriptor)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    repeats = ", ".join(
        f"N={r.n}: {len(r.walls)}" for r in results.values() if r.tool != "JJB 6.5.0"
    )
    print(
        f"\n(timed runs per point after one warm-up: {repeats}; "
        f"load {os.getloadavg()[0]:.2f} at end; on a loaded machine compare ratios, not times)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

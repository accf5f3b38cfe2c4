"""Provisioning benchmark: requests and wall time of apply/plan against the emulator.

For each N (default 1000 and 5000 services, 25 per team) against an emulator that adds 10 ms
to every request: first apply, no-change plan, and apply after 1% of the descriptors changed.
With ``--with-jjb``, Jenkins Job Builder 6.5.0 (installed into its own venv under the temp
dir) runs the same workload against a fresh emulator: ``jenkins-jobs update --workers 4``,
counting its requests and whether folder-ordering failures occurred.

A benchmark, not a test: it prints, it never asserts on times.

    .venv/bin/python bench/provision_bench.py --sizes 100,1000 [--with-jjb] [--latency 0.01]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jenkins_bridge.cli import main  # noqa: E402
from jenkins_bridge.testing import FaultInjection, JenkinsEmulator  # noqa: E402

USER, TOKEN = "bench", "bench-token"
PER_TEAM = 25
JJB_VERSION = "6.5.0"


def service_yaml(team: str, name: str, branch: str) -> str:
    return (
        "apiVersion: jenkins-bridge/v1\nkind: Service\n"
        f"metadata: {{name: {name}, team: {team}}}\n"
        f"source: {{repo: 'https://git.example.com/{team}/{name}.git', branch: {branch}}}\n"
        "pipeline:\n  triggers: {poll: 'H/15 * * * *'}\n  keepBuilds: 30\n"
    )


def generate(root: Path, n: int) -> list[tuple[str, str]]:
    services = [(f"team-{i // PER_TEAM:04d}", f"svc-{i:05d}") for i in range(n)]
    for team, name in services:
        path = root / team / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(service_yaml(team, name, "main"), encoding="utf-8")
    return services


def run_cli(args: list[str]) -> tuple[int, float]:
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    elapsed = time.perf_counter() - started
    if code not in (0, 2):
        print(err.getvalue()[-2000:], file=sys.stderr)
    return code, elapsed


def row(label: str, n: int, code: int, requests: int, seconds: float) -> None:
    print(f"{label:<34} N={n:<6} exit={code}  requests={requests:<7} wall={seconds:7.2f}s")


def bench_bridge(n: int, latency: float, workers: int, max_rps: float) -> None:
    with tempfile.TemporaryDirectory(prefix="jb-bench-") as tmp:
        root = Path(tmp) / "services"
        services = generate(root, n)
        with JenkinsEmulator(users={USER: TOKEN}) as emu:
            emu.faults = FaultInjection(latency=latency)
            os.environ.update(JENKINS_URL=emu.url, JENKINS_USER=USER, JENKINS_TOKEN=TOKEN)
            opts = ["--workers", str(workers), "--max-rps", str(max_rps)]
            steps = [
                ("jenkins-bridge apply (first)", ["apply", str(root), *opts]),
                ("jenkins-bridge plan (no change)", ["plan", str(root), *opts]),
            ]
            for label, args in steps:
                emu.reset_counters()
                code, seconds = run_cli(args)
                row(label, n, code, emu.requests.total, seconds)
            for team, name in services[:: max(1, 100)][: max(1, n // 100)]:
                path = root / team / f"{name}.yaml"
                path.write_text(service_yaml(team, name, "release"), encoding="utf-8")
            for label, args in [
                ("jenkins-bridge plan (1% changed)", ["plan", str(root), *opts]),
                ("jenkins-bridge apply (1% changed)", ["apply", str(root), *opts]),
                ("jenkins-bridge plan --verify", ["plan", "--verify", str(root), *opts]),
            ]:
                emu.reset_counters()
                code, seconds = run_cli(args)
                row(label, n, code, emu.requests.total, seconds)


# -- Jenkins Job Builder, for comparison ------------------------------------------------------


def jjb_venv() -> Path:
    venv = Path(tempfile.gettempdir()) / f"jenkins-bridge-bench-jjb-{JJB_VERSION}"
    binary = venv / "bin" / "jenkins-jobs"
    if not binary.exists():
        print(f"installing jenkins-job-builder=={JJB_VERSION} into {venv} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", f"jenkins-job-builder=={JJB_VERSION}"],
            check=True,
        )
    return binary


def jjb_yaml(services: list[tuple[str, str]], branch_of: dict[str, str]) -> str:
    """One folder job per team, one pipeline per service; `disabled: false` so JJB's
    fix_disabled does not re-post every job on each run (JJB-BASELINE defect 1)."""
    lines = ["- defaults:", "    name: global", "    disabled: false", ""]
    for team in sorted({t for t, _ in services}):
        lines += [f"- job:\n    name: '{team}'\n    project-type: folder\n"]
    for team, name in services:
        branch = branch_of.get(name, "main")
        lines += [
            f"- job:\n    name: '{name}'\n    folder: '{team}'\n    project-type: pipeline\n"
            f"    pipeline-scm:\n      scm:\n        - git:\n"
            f"            url: 'https://git.example.com/{team}/{name}.git'\n"
            f"            branches: ['*/{branch}']\n"
            f"      script-path: Jenkinsfile\n      lightweight-checkout: true\n"
            f"    triggers:\n      - pollscm:\n          cron: 'H/15 * * * *'\n"
        ]
    return "\n".join(lines)


def run_jjb(
    binary: Path, ini: Path, jobs: Path, workers: int, cache: Path
) -> tuple[int, float, str]:
    env = {**os.environ, "HOME": str(cache), "XDG_CACHE_HOME": str(cache)}
    started = time.perf_counter()
    proc = subprocess.run(
        [str(binary), "--conf", str(ini), "update", "--workers", str(workers), str(jobs)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=3600,
    )
    return proc.returncode, time.perf_counter() - started, proc.stderr


def bench_jjb(n: int, latency: float, first_runs: int) -> None:
    binary = jjb_venv()
    with tempfile.TemporaryDirectory(prefix="jb-bench-jjb-") as tmp:
        base = Path(tmp)
        services = [(f"team-{i // PER_TEAM:04d}", f"svc-{i:05d}") for i in range(n)]
        jobs = base / "jobs.yaml"
        jobs.write_text(jjb_yaml(services, {}), encoding="utf-8")
        ordering_failures = 0
        for attempt in range(first_runs):
            with JenkinsEmulator(users={USER: TOKEN}) as emu:
                emu.faults = FaultInjection(latency=latency)
                ini = base / "jjb.ini"
                ini.write_text(
                    f"[jenkins]\nurl={emu.url}\nuser={USER}\npassword={TOKEN}\n"
                    "query_plugins_info=False\n",
                    encoding="utf-8",
                )
                cache = base / f"home-{attempt}"
                cache.mkdir()
                code, seconds, stderr = run_jjb(binary, ini, jobs, 4, cache)
                failed = code != 0
                ordering_failures += int(failed and "does not exist" in stderr)
                row(
                    f"JJB update --workers 4 (first #{attempt + 1})",
                    n,
                    code,
                    emu.requests.total,
                    seconds,
                )
                if attempt + 1 < first_runs:
                    continue
                # Same controller, warm cache: a no-change run, then 1% changed.
                code, seconds, _ = run_jjb(binary, ini, jobs, 4, cache)
                emu.reset_counters()
                code, seconds, _ = run_jjb(binary, ini, jobs, 4, cache)
                row("JJB update (no change, warm cache)", n, code, emu.requests.total, seconds)
                changed = {name: "release" for _, name in services[::100][: max(1, n // 100)]}
                jobs.write_text(jjb_yaml(services, changed), encoding="utf-8")
                emu.reset_counters()
                code, seconds, _ = run_jjb(binary, ini, jobs, 4, cache)
                row("JJB update (1% changed)", n, code, emu.requests.total, seconds)
        print(
            f"JJB first runs with --workers 4 that failed on folder ordering: "
            f"{ordering_failures} of {first_runs}"
        )


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000", help="comma-separated service counts")
    parser.add_argument("--latency", type=float, default=0.01, help="seconds per request")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--max-rps", type=float, default=0, help="jenkins-bridge rate cap")
    parser.add_argument("--with-jjb", action="store_true", help=f"also run JJB {JJB_VERSION}")
    parser.add_argument("--jjb-first-runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(
        f"emulator latency {args.latency * 1000:.0f} ms/request; jenkins-bridge "
        f"--workers {args.workers} --max-rps {args.max_rps:g}"
    )
    for n in sizes:
        bench_bridge(n, args.latency, args.workers, args.max_rps)
        if args.with_jjb:
            bench_jjb(n, args.latency, args.jjb_first_runs)


if __name__ == "__main__":
    main_bench()

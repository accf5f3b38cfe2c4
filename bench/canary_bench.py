"""Benchmark: what a bad version costs with ``strategy: canary`` against a blue-green deploy of
the same version, on the same engine and proxy, under the same loopback load.

    .venv/bin/python bench/canary_bench.py [--interval 2] [--min-requests 10]

v1 then v2 go live; then, for v3 (passes /healthz, answers 500 to 20 % of requests) and v4
(every answer 300 ms late; the SLO's latencyP95Ms is 200): a canary deploy (steps 10/50/100 %)
and a blue-green deploy (``--strategy blue-green``), each followed by a return to v2. Prints per
bad version and strategy: the exit code, the time to detect (from the canary's first traffic to
the failing verdict; blue-green never detects: the health gate passes), and the share of
requests answered badly (5xx, or slower than the objective) in a window from the deploy's start
as long as the canary deploy took. Asserts nothing. Starts what it needs with
scripts/services.sh up and removes what it creates.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.deploy.canary_scenario import (
    LATENCY_OBJECTIVE_MS,
    TEAM,
    Answer,
    Exposure,
    RecordingLoad,
    build_versions,
    free_subnet,
    write_descriptor,
)

ROOT = Path(__file__).resolve().parents[1]
CLI = str(ROOT / ".venv" / "bin" / "jenkins-bridge")
BAD = {"v3": "500 to 20 % of requests", "v4": "+300 ms per answer"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def deploy(descriptor: Path, image: str, *extra: str) -> tuple[int, dict[str, Any], float]:
    """Exit code, the JSON envelope, seconds the command took."""
    started = time.monotonic()
    done = subprocess.run(
        [CLI, "--output", "json", "deploy", str(descriptor), "--env", "test", "--image", image,
         *extra],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "DOCKER_HOST"},
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout or "{}"), time.monotonic() - started


def _answered_by(answers: list[Answer], version: str) -> int:
    return sum(1 for a in answers if a.version == version.lstrip("v"))


def remove_service(client: Any, owner: str) -> None:
    selector = {"label": f"dev.jenkins-bridge.service={owner}"}
    for container in client.containers.list(all=True, filters=selector):
        container.remove(force=True)
    for network in client.networks.list(filters=selector):
        network.remove()
    for volume in client.volumes.list(filters=selector):
        volume.remove(force=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interval", type=int, default=2, help="canary.intervalSeconds")
    parser.add_argument("--min-requests", type=int, default=10, help="canary.minRequests")
    args = parser.parse_args()
    subprocess.run(["bash", str(ROOT / "scripts" / "services.sh"), "up"], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    import docker

    client = docker.from_env()
    name = f"cbench-{uuid.uuid4().hex[:6]}"
    slow = LATENCY_OBJECTIVE_MS / 1000
    rows: list[tuple[str, str, int, str, Exposure, int]] = []
    with tempfile.TemporaryDirectory() as folder:
        versions = build_versions(client, Path(folder) / "app")
        descriptor = Path(folder) / f"{name}.yaml"
        listen = f"127.0.0.1:{free_port()}"
        write_descriptor(
            descriptor,
            name=name,
            listen=listen,
            subnet=free_subnet(client),
            interval=args.interval,
            min_requests=args.min_requests,
        )
        try:
            for version in ("v1", "v2"):  # no load yet: a canary would get no requests
                code, out, _ = deploy(descriptor, versions[version], "--strategy", "blue-green")
                assert code == 0, out
            with RecordingLoad(listen, max_seconds=900).running() as load:
                time.sleep(1)
                for bad, what in BAD.items():
                    started = time.time()
                    code, out, took = deploy(descriptor, versions[bad])
                    canary = out.get("data", {}).get("canary") or {}
                    detected = canary.get("detectedAfterSeconds")
                    window = load.between(started, started + took)
                    rows.append(
                        (f"{bad} ({what})", "canary", code,
                         "never" if detected is None else f"{detected:.2f} s",
                         Exposure.of(window, slow), _answered_by(window, bad))
                    )  # fmt: skip
                    started = time.time()
                    code, out, _ = deploy(descriptor, versions[bad], "--strategy", "blue-green")
                    time.sleep(max(0.0, started + took - time.time()))
                    window = load.between(started, started + took)
                    rows.append(
                        (f"{bad} ({what})", "blue-green", code, "never (gate passed, live)",
                         Exposure.of(window, slow), _answered_by(window, bad))
                    )  # fmt: skip
                    back, out, _ = deploy(descriptor, versions["v2"], "--strategy", "blue-green")
                    assert back == 0, out
                    time.sleep(1)
        finally:
            remove_service(client, f"{TEAM}/{name}")
            for reference in versions.values():
                client.images.remove(reference, force=True)
    load1, load5, _ = os.getloadavg()
    print(
        f"canary vs blue-green, steps 10/50/100 %, {args.interval} s each, minRequests "
        f"{args.min_requests}, SLO 99.9 % / p95 {LATENCY_OBJECTIVE_MS} ms; sequential "
        f"loopback load; load average {load1:.2f} (1 min) {load5:.2f} (5 min), "
        f"{os.cpu_count()} cores"
    )
    print(f"{'version':28} {'strategy':10} {'exit':>4}  {'detected':26} {'bad / requests':>16} "
          f"{'share':>7} {'to it':>6}  bad ones answered by")  # fmt: skip
    for version, strategy, code, detected, seen, to_bad in rows:
        by = ", ".join(f"v{v}" for v in sorted(seen.bad_versions)) or "-"
        print(
            f"{version:28} {strategy:10} {code:>4}  {detected:26} "
            f"{f'{seen.bad} / {seen.requests}':>16} {seen.fraction:>7.2%} {to_bad:>6}  {by}"
        )
    print(
        "window: from each deploy's start, as long as the canary deploy of that version took "
        "(bad: 5xx, no answer or slower than the objective; 'to it': requests the bad version "
        "answered); after it the canary's bad share is 0, blue-green's stays until someone "
        "rolls back"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

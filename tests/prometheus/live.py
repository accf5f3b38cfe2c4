"""A real Prometheus for tests (Debian ``prometheus``, on loopback, its own TSDB in a temp
dir) and a loopback exporter whose counters grow at fixed rates per track, so the generated
rules and the queries that read them are exercised end to end. Every wait is bounded."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
DEADLINE_SECONDS = 90  # a bound on each wait, never an assertion on speed


@dataclass(frozen=True)
class Track:
    """A version's traffic: requests per second, the share answered 5xx, the share answered
    within 0.1 s (the rest within 0.5 s)."""

    per_second: float
    error_share: float
    fast_share: float


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def exposition(tracks: dict[str, Track], elapsed: float) -> str:
    """The text format of both tracks' counters after ``elapsed`` seconds (floats: a counter
    may hold any non-negative value, and exact ratios keep the expectations exact)."""
    lines = ["# TYPE http_requests_total counter"]
    for name, t in tracks.items():
        total = t.per_second * elapsed
        lines.append(f'http_requests_total{{track="{name}",code="500"}} {total * t.error_share}')
        lines.append(
            f'http_requests_total{{track="{name}",code="200"}} {total * (1 - t.error_share)}'
        )
    lines.append("# TYPE http_request_duration_seconds histogram")
    for name, t in tracks.items():
        total = t.per_second * elapsed
        for le, value in (("0.1", total * t.fast_share), ("0.5", total), ("+Inf", total)):
            lines.append(
                f'http_request_duration_seconds_bucket{{track="{name}",le="{le}"}} {value}'
            )
        lines.append(f'http_request_duration_seconds_count{{track="{name}"}} {total}')
        lines.append(f'http_request_duration_seconds_sum{{track="{name}"}} {total * 0.1}')
    return "\n".join(lines) + "\n"


@contextmanager
def exporter(tracks: dict[str, Track]) -> Iterator[int]:
    """Serves ``/metrics`` on a loopback port (yielded) until the block ends."""
    started = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = exposition(tracks, time.monotonic() - started).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def until(what: str, probe: Callable[[], T | None], log: Path | None = None) -> T:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    pytest.fail(f"gave up after {DEADLINE_SECONDS}s waiting for {what}\n{tail}")


def query(url: str, promql: str) -> Any:
    try:
        with urllib.request.urlopen(
            f"{url}/api/v1/query?query={urllib.parse.quote(promql)}", timeout=5
        ) as response:
            return json.loads(response.read())
    except OSError:
        return None


@contextmanager
def prometheus(config: Path, tmp_path: Path) -> Iterator[str]:
    """Prometheus running ``config``: its base URL, once it answers; stopped afterwards."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed: run scripts/bootstrap.sh (Debian prometheus)")
    web = f"127.0.0.1:{free_port()}"
    log = tmp_path / "prometheus.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address={web}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://{web}"
    try:
        until("Prometheus to answer", lambda: query(url, "1"), log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)

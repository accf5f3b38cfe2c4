"""A timeline of one CLI call: every Docker Engine API request it makes (start offset, duration,
method, path) and its progress lines, in order, on stderr; stdout is the CLI's own.

    .venv/bin/python bench/deploy_timeline.py deploy svc.yaml --env prod --image app:v2

Offsets count from this script's first line (the interpreter's own start-up, ~20 ms, comes
before; ``-X importtime`` splits the rest of the start-up). Requests that hijack the
connection (an exec with input) show their set-up call only. A profiling aid, not a
benchmark: it prints no verdict.
"""

from __future__ import annotations

import sys
import time
from typing import Any

STARTED = time.perf_counter()


def _line(offset: float, text: str) -> None:
    sys.stderr.write(f"T {offset:7.3f} {text}\n")
    sys.stderr.flush()


def main() -> int:
    import requests.adapters

    original = requests.adapters.HTTPAdapter.send

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        began = time.perf_counter() - STARTED
        try:
            return original(self, request, **kwargs)
        finally:
            took = time.perf_counter() - STARTED - began
            path = str(request.url).split("/v1.", 1)[-1].split("/", 1)[-1][:100]
            _line(began, f"{took:6.3f}s {request.method} {path}")

    requests.adapters.HTTPAdapter.send = send  # type: ignore[method-assign]
    _line(time.perf_counter() - STARTED, "requests imported")
    from jenkins_bridge.__main__ import main as cli

    sys.argv = ["jenkins-bridge", *sys.argv[1:]]
    try:
        cli()
    except SystemExit as exc:
        _line(time.perf_counter() - STARTED, f"exit {exc.code}")
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The reverse proxy's configuration: one nginx server that sends all traffic to one upstream,
or, during a canary, splits it by weight between the stable version and the canary.

The tool writes this file into the proxy container and reloads nginx gracefully; switching
traffic is rewriting the upstream address. Only addresses we validated reach the text. The
file is the one truth of what serves: a split names its stable upstream, the canary's share and
step in it, so ``status`` (and the next deploy after a killed one) reads them back.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from jenkins_bridge.deploy.errors import DeployError

PROXY_PORT = 80  # inside the proxy container; the environment's listen is published to it
CONFIG_DIR = "/etc/nginx/conf.d"
CONFIG_FILE = "default.conf"  # replaces the public nginx image's default server


def upstream_address(ip: str, port: int) -> str:
    try:
        address = ipaddress.IPv4Address(ip)
    except ValueError as exc:
        raise DeployError(f"the engine gave the container a bad address {ip!r}") from exc
    if not 1 <= port <= 65535:
        raise DeployError(f"port {port} is out of range")
    return f"{address}:{port}"


_HEAD = "# Written by jenkins-bridge deploy; rewritten on every switch.\n"
_SERVER = (
    "server {\n"
    f"    listen {PROXY_PORT} default_server;\n"
    "    location = /.jenkins-bridge/proxy {\n"
    "        return 204;\n"
    "    }\n"
)
SPLIT_UPSTREAM = "jenkins_bridge_split"
CANARY_LOG_FORMAT = "jenkins_bridge_canary"
# One line per request, '|' between fields; each upstream field lists every attempt (", ").
CANARY_LOG_FIELDS = "$msec|$upstream_addr|$upstream_status|$upstream_response_time|$status"
CANARY_LOG_DIR = "/var/log/nginx"


def render_proxy_config(upstream: str | None) -> str:
    """nginx server block; ``upstream`` None answers 503 (no version is live yet)."""
    if upstream is None:
        return _HEAD + _SERVER + "    location / {\n        return 503;\n    }\n}\n"
    return _HEAD + _SERVER + _location(upstream, None)


@dataclass(frozen=True, slots=True)
class Split:
    """A canary step: ``percent`` of requests to ``canary``, the rest to ``stable``, each
    request logged to ``log_path`` inside the proxy container."""

    stable: str
    canary: str
    percent: int
    step: int  # 1-based
    steps: int
    container: str  # the canary's container name
    log_path: str

    def describe(self) -> str:
        return f"canary {self.container} at {self.percent} %, step {self.step}/{self.steps}"


def canary_log_path(seq: int, step: int) -> str:
    """A log file per step: a reload's old workers finish their requests into the old file."""
    return f"{CANARY_LOG_DIR}/jenkins-bridge-canary-{seq}-{step}.log"


def render_split_config(split: Split) -> str:
    """The weighted split of one canary step (nginx's smooth weighted round robin gives each
    upstream its exact share); at 100 % the stable version is ``down`` but keeps running."""
    for address in (split.stable, split.canary):
        if not _ADDRESS.fullmatch(address):
            raise DeployError(f"bad upstream address {address!r}")
    if not 1 <= split.percent <= 100 or not _LOG_PATH.fullmatch(split.log_path):
        raise DeployError(f"bad canary split {split}")
    stable = "down" if split.percent == 100 else f"weight={100 - split.percent}"
    return (
        _HEAD + f"# canary: {split.canary} {split.percent} % step {split.step}/{split.steps} "
        f"{split.container} {split.log_path}\n"
        f"log_format {CANARY_LOG_FORMAT} '{CANARY_LOG_FIELDS}';\n"
        f"upstream {SPLIT_UPSTREAM} {{\n"
        f"    server {split.stable} {stable};  # stable\n"
        f"    server {split.canary} weight={split.percent};  # canary\n"
        "}\n" + _SERVER + _location(SPLIT_UPSTREAM, split.log_path)
    )


_ADDRESS = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}:[0-9]{1,5}")
_LOG_PATH = re.compile(r"/[A-Za-z0-9/._-]+\.log")
_SPLIT_LINE = re.compile(
    r"# canary: (?P<canary>\S+) (?P<percent>[0-9]+) % step (?P<step>[0-9]+)/(?P<steps>[0-9]+) "
    r"(?P<container>\S+) (?P<log>\S+)"
)
_STABLE_LINE = re.compile(r"server (?P<address>\S+) [^;]*;  # stable")


def split_of(config: str) -> Split | None:
    """The canary step a written configuration splits traffic for (None: no canary)."""
    found = _SPLIT_LINE.search(config)
    stable = _STABLE_LINE.search(config)
    if found is None or stable is None:
        return None
    return Split(
        stable=stable["address"],
        canary=found["canary"],
        percent=int(found["percent"]),
        step=int(found["step"]),
        steps=int(found["steps"]),
        container=found["container"],
        log_path=found["log"],
    )


def _location(upstream: str, log_path: str | None) -> str:
    log = "" if log_path is None else f"        access_log {log_path} {CANARY_LOG_FORMAT};\n"
    return (
        "    location / {\n"
        f"        proxy_pass http://{upstream};\n" + log + "        proxy_http_version 1.1;\n"
        '        proxy_set_header Connection "";\n'
        "        proxy_set_header Host $host;\n"
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "        proxy_next_upstream error timeout;\n"
        "        proxy_connect_timeout 2s;\n"
        "    }\n"
        "}\n"
    )


def upstream_of(config: str) -> str | None:
    """The address a written configuration sends traffic to (None: no live version); during a
    canary, the stable version's (the canary is not live until it is promoted)."""
    split = split_of(config)
    if split is not None:
        return split.stable
    for line in config.splitlines():
        line = line.strip()
        if line.startswith("proxy_pass http://") and line.endswith(";"):
            return line[len("proxy_pass http://") : -1]
    return None

"""The reverse proxy's configuration: one nginx server that sends all traffic to one upstream.

The tool writes this file into the proxy container and reloads nginx gracefully; switching
traffic is rewriting the upstream address. Only addresses we validated reach the text.
"""

from __future__ import annotations

import ipaddress

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


def render_proxy_config(upstream: str | None) -> str:
    """nginx server block; ``upstream`` None answers 503 (no version is live yet)."""
    head = (
        "# Written by jenkins-bridge deploy; rewritten on every switch.\n"
        "server {\n"
        f"    listen {PROXY_PORT} default_server;\n"
        "    location = /.jenkins-bridge/proxy {\n"
        "        return 204;\n"
        "    }\n"
    )
    if upstream is None:
        return head + "    location / {\n        return 503;\n    }\n}\n"
    return head + (
        "    location / {\n"
        f"        proxy_pass http://{upstream};\n"
        "        proxy_http_version 1.1;\n"
        '        proxy_set_header Connection "";\n'
        "        proxy_set_header Host $host;\n"
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "        proxy_next_upstream error timeout;\n"
        "        proxy_connect_timeout 2s;\n"
        "    }\n"
        "}\n"
    )


def upstream_of(config: str) -> str | None:
    """The address a written configuration sends traffic to (None: no live version)."""
    for line in config.splitlines():
        line = line.strip()
        if line.startswith("proxy_pass http://") and line.endswith(";"):
            return line[len("proxy_pass http://") : -1]
    return None

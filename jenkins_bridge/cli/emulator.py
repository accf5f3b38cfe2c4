"""``emulator``: run the Jenkins API emulator in the foreground (for local trials and demos)."""

from __future__ import annotations

import os

import click

from jenkins_bridge.cli.output import Outcome
from jenkins_bridge.errors import UsageError


@click.command(help="Run the Jenkins API emulator in the foreground until Ctrl-C.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--user", default="admin", show_default=True, help="The one user it accepts.")
@click.option(
    "--token",
    metavar="T",
    help="That user's API token (default $JENKINS_TOKEN).",
)
def emulator(host: str, port: int, user: str, token: str | None) -> Outcome:
    from jenkins_bridge.testing import serve

    secret = token or os.environ.get("JENKINS_TOKEN")
    if not secret:
        raise UsageError("no API token for the emulator", hint="pass --token or set $JENKINS_TOKEN")
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise UsageError(
            f"the emulator listens on loopback only, not {host}", hint="use --host 127.0.0.1"
        )
    try:
        serve(host, port, {user: secret})
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return Outcome("ok", {}, "")

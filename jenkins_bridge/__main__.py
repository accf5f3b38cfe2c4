"""``python -m jenkins_bridge`` runs the CLI."""

from jenkins_bridge.cli import run

run()

"""Deploying a service to a Docker engine: blue-green or recreate behind a tool-run nginx,
health-gated, with companions, a lock and a history kept on the engine.

Pure decisions (names, records, proxy configuration, health verdicts) live in their own
modules; ``rollout`` drives the engine through ``containers.runtime``; nothing here imports
``docker``.
"""

"""Deploying a service environment to its target: a Docker host (blue-green or recreate behind
a tool-run nginx, ``docker_host/``), a Swarm service (``swarm/``) or Kubernetes
(``kubernetes.py``), health-gated, with companions, a lock and a history.

Read top-down: ``targets.platform_for`` picks the ``Platform`` (``platform.py``) of an
environment; shared pure pieces (records, proxy configuration, health verdicts, names, the
clock) sit below every platform; nothing here imports ``docker``.
"""

"""What one attempt's Swarm tasks say: which tasks are this attempt's, why they failed, and the
last task's logs when none runs.

Swarm keeps a service's finished tasks (its task history), so a retry of a failed deploy
sees the failed tasks of the attempt before it: an attempt counts only the tasks that did not
exist when it applied its spec. A failed task's ``Status.Err`` says only "non-zero exit (1)";
the cause (``bind: Address already in use``) is in its own logs, read through the manager.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from jenkins_bridge.containers.runtime import RuntimeFailure
from jenkins_bridge.containers.swarm import SwarmServices, TaskState

FAILED_STATES = ("failed", "rejected")
CAUSE_LOG_LINES = 5
SHOWN_FAILURES = 3


def this_attempt(tasks: Iterable[TaskState], earlier: Collection[str]) -> list[TaskState]:
    """The tasks that did not exist before this attempt applied its spec (ids in ``earlier``)."""
    return [t for t in tasks if t.id not in earlier]


def failed(tasks: Iterable[TaskState]) -> list[TaskState]:
    return [t for t in tasks if t.state in FAILED_STATES]


def log_tail(
    services: SwarmServices, service: str, task: TaskState, lines: int = CAUSE_LOG_LINES
) -> str:
    """The last ``lines`` lines a task printed, on one line; empty when they cannot be read (a
    task whose node left the swarm): the cause is then only Swarm's own words."""
    try:
        text = services.task_logs(service, task.id, tail=lines)
    except RuntimeFailure:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())


def failure_causes(
    services: SwarmServices, service: str, tasks: Iterable[TaskState], limit: int = SHOWN_FAILURES
) -> list[str]:
    """Each failed task (the newest ``limit``) as ``slot N: <Status.Err>; its logs: <tail>``."""
    causes = []
    for task in failed(tasks)[-limit:]:
        cause = f"slot {task.slot}: {task.error or task.state}"
        tail = log_tail(services, service, task)
        causes.append(f"{cause}; its logs: {tail}" if tail else cause)
    return causes


def newest(tasks: Iterable[TaskState]) -> TaskState | None:
    """The newest task (``SwarmServices.tasks`` lists oldest first)."""
    listed = list(tasks)
    return listed[-1] if listed else None

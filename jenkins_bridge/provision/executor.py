"""Apply a plan with N workers: folders first (all of them), then jobs, then prune actions.

The phases are barriers, so no worker count can create a job before its folder exists. Each
action's result is recorded; a failing controller stops the run early instead of burning
retries on every remaining action, and a re-run picks up whatever is left.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from jenkins_bridge.errors import BridgeError, Interrupted
from jenkins_bridge.jenkins.errors import (
    AuthFailed,
    Conflict,
    ControllerUnreachable,
    NotFound,
    PermissionDenied,
    ServerError,
)
from jenkins_bridge.provision.plan import Action, Plan

# After this many consecutive transient failures (each already retried), stop the run.
CONSECUTIVE_FAILURE_LIMIT = 8


class ProvisioningClient(Protocol):
    def create_item(self, full_name: str, config_xml: str) -> None: ...
    def update_config(self, full_name: str, config_xml: str) -> None: ...
    def disable(self, full_name: str) -> None: ...
    def delete(self, full_name: str) -> None: ...


@dataclass(frozen=True)
class ActionResult:
    action: Action
    ok: bool
    error: str | None = None
    hint: str | None = None
    skipped: bool = False


@dataclass
class ApplyReport:
    results: list[ActionResult] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped early, if it did

    @property
    def failed(self) -> list[ActionResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped is None

    def count(self, kind: str) -> int:
        return sum(1 for r in self.results if r.ok and r.action.kind == kind)


Progress = Callable[[int, int, int], None]  # done, total, failed


class _Run:
    def __init__(self, client: ProvisioningClient, total: int, progress: Progress | None) -> None:
        self.client = client
        self.total = total
        self.progress = progress
        self.lock = threading.Lock()
        self.done = 0
        self.failed = 0
        self.consecutive = 0
        self.stopped: str | None = None
        self.finished: list[ActionResult] = []  # in completion order, for an interrupted run

    def perform(self, action: Action) -> ActionResult:
        if self.stopped is not None:
            return self._finish(
                ActionResult(action, False, f"not attempted: {self.stopped}", skipped=True)
            )
        try:
            _perform(self.client, action)
        except BridgeError as exc:
            self._note_failure(exc)
            return self._finish(ActionResult(action, False, exc.message, exc.hint))
        with self.lock:
            self.consecutive = 0
        return self._finish(ActionResult(action, True))

    def _note_failure(self, exc: BridgeError) -> None:
        with self.lock:
            if isinstance(exc, AuthFailed | PermissionDenied):
                self.stopped = self.stopped or exc.message
            elif isinstance(exc, ServerError | ControllerUnreachable):
                self.consecutive += 1
                if self.consecutive >= CONSECUTIVE_FAILURE_LIMIT:
                    self.stopped = self.stopped or (
                        f"{self.consecutive} requests in a row failed after retries "
                        f"(last: {exc.message})"
                    )

    def _finish(self, result: ActionResult) -> ActionResult:
        with self.lock:
            self.finished.append(result)
            self.done += 1
            self.failed += int(not result.ok)
            # Reported under the lock: a worker preempted between counting and reporting
            # would otherwise report its older count after newer ones (20, 19, 12 on screen).
            if self.progress is not None:
                self.progress(self.done, self.total, self.failed)
        return result


def _perform(client: ProvisioningClient, action: Action) -> None:
    if action.kind == "create":
        assert action.config_xml is not None
        try:
            client.create_item(action.full_name, action.config_xml)
        except Conflict as exc:
            # A retried create whose first attempt landed: the item is ours, finish the job.
            if exc.attempts > 1:
                client.update_config(action.full_name, action.config_xml)
                return
            raise BridgeError(
                f"{action.full_name} appeared on the controller after planning",
                hint="run plan again to see who created it",
            ) from exc
    elif action.kind == "update":
        assert action.config_xml is not None
        client.update_config(action.full_name, action.config_xml)
    elif action.kind == "disable":
        client.disable(action.full_name)
    elif action.kind == "delete":
        # Already gone (say, a retried delete whose first attempt landed) is what was asked.
        with contextlib.suppress(NotFound):
            client.delete(action.full_name)
    else:
        raise ValueError(f"cannot perform a {action.kind} action")


def phases(plan: Plan) -> list[list[Action]]:
    """Folder creates/updates, then job creates/updates, then disables and deletes."""
    changes = plan.changes
    return [
        [a for a in changes if a.is_folder and a.kind in ("create", "update")],
        [a for a in changes if not a.is_folder and a.kind in ("create", "update")],
        [a for a in changes if a.kind in ("disable", "delete")],
    ]


def execute_plan(
    plan: Plan,
    client: ProvisioningClient,
    *,
    workers: int = 4,
    progress: Progress | None = None,
) -> ApplyReport:
    steps = phases(plan)
    run = _Run(client, sum(len(s) for s in steps), progress)
    report = ApplyReport()
    failed_folders: set[str] = set()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="apply") as pool:
        for step in steps:
            runnable: list[Action] = []
            for action in step:
                if action.parent is not None and action.parent in failed_folders:
                    report.results.append(
                        run._finish(
                            ActionResult(
                                action,
                                False,
                                f"not attempted: folder {action.parent} failed",
                                skipped=True,
                            )
                        )
                    )
                else:
                    runnable.append(action)
            try:
                results: Sequence[ActionResult] = list(pool.map(run.perform, runnable))
            except KeyboardInterrupt:
                # Ctrl-C: nothing new starts, requests in flight finish (each bounded by the
                # request timeout), and the error says what was done; a rerun does the rest.
                run.stopped = "interrupted"
                pool.shutdown(wait=True, cancel_futures=True)
                raise Interrupted("apply", interrupted_data(run.finished, run.total)) from None
            report.results.extend(results)
            failed_folders |= {
                r.action.full_name for r in results if r.action.is_folder and not r.ok
            }
    report.stopped = run.stopped
    return report


def interrupted_data(finished: Sequence[ActionResult], total: int) -> dict[str, object]:
    """What an interrupted apply did: the actions completed and failed, and how many were not
    attempted (a rerun plans those again)."""
    done = [r for r in finished if r.ok]
    failed = [r for r in finished if not r.ok and not r.skipped]
    return {
        "completed": [{"action": r.action.kind, "name": r.action.full_name} for r in done],
        "failed": [
            {"action": r.action.kind, "name": r.action.full_name, "error": r.error} for r in failed
        ],
        "not_attempted": total - len(done) - len(failed),
    }

"""The executor's own rules, with a scripted client (no HTTP)."""

from __future__ import annotations

import threading

from jenkins_bridge.jenkins.errors import NotFound, ServerError
from jenkins_bridge.provision.executor import execute_plan
from jenkins_bridge.provision.plan import Action, Plan


class ScriptedClient:
    def __init__(self, failing: dict[str, Exception]) -> None:
        self.failing = failing
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def _call(self, verb: str, name: str) -> None:
        with self.lock:
            self.calls.append((verb, name))
        if name in self.failing:
            raise self.failing[name]

    def create_item(self, full_name: str, config_xml: str) -> None:
        self._call("create", full_name)

    def update_config(self, full_name: str, config_xml: str) -> None:
        self._call("update", full_name)

    def disable(self, full_name: str) -> None:
        self._call("disable", full_name)

    def delete(self, full_name: str) -> None:
        self._call("delete", full_name)


def test_deleting_what_is_already_gone_succeeds() -> None:
    plan = Plan()
    plan.actions.append(Action("delete", "team/gone", "pipeline", "removed"))
    client = ScriptedClient({"team/gone": NotFound("not found: team/gone")})
    report = execute_plan(plan, client)
    assert report.ok and report.count("delete") == 1


def test_jobs_of_a_failed_folder_are_not_attempted() -> None:
    plan = Plan()
    plan.actions += [
        Action("create", "team", "folder", "new", config_xml="<f/>"),
        Action("create", "team/a", "pipeline", "new", config_xml="<j/>"),
        Action("create", "other", "folder", "new", config_xml="<f/>"),
        Action("create", "other/b", "pipeline", "new", config_xml="<j/>"),
    ]
    client = ScriptedClient({"team": ServerError("boom")})
    report = execute_plan(plan, client, workers=4)
    assert not report.ok
    assert ("create", "team/a") not in client.calls
    assert ("create", "other/b") in client.calls
    # every folder create happened before any job create, whatever the worker count
    first_job = min(i for i, (_, name) in enumerate(client.calls) if "/" in name)
    assert all("/" not in name for _, name in client.calls[:first_job])
    assert len([c for c in client.calls if "/" not in c[1]]) == 2


def test_progress_counts_never_go_backwards() -> None:
    # The TTY counter once showed 20, 19, 12: a worker counted, was preempted, and reported
    # its older count after others reported newer ones. Here the first report is held until
    # the others had every chance to overtake it; the reports must still arrive in order.
    plan = Plan()
    plan.actions += [
        Action("create", f"team/j{i:02d}", "pipeline", "new", config_xml="<j/>") for i in range(12)
    ]
    seen: list[int] = []
    first = threading.Event()

    def progress(done: int, total: int, failed: int) -> None:
        if done == 1 and not first.is_set():
            first.set()
            threading.Event().wait(0.5)  # the others run meanwhile, unless the report is ordered
        seen.append(done)

    report = execute_plan(plan, ScriptedClient({}), workers=8, progress=progress)
    assert report.ok
    assert seen == sorted(seen) == list(range(1, 13))

"""An apply interrupted mid-way: nothing new starts, and the error lists what was done."""

from __future__ import annotations

import threading

import pytest

from jenkins_bridge.errors import Interrupted
from jenkins_bridge.provision.executor import execute_plan
from jenkins_bridge.provision.plan import Action, Plan


class InterruptingClient:
    """Succeeds ``allowed`` times, then the next call behaves as if Ctrl-C arrived."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def _call(self, name: str) -> None:
        with self.lock:
            if len(self.calls) >= self.allowed:
                raise KeyboardInterrupt
            self.calls.append(name)

    def create_item(self, full_name: str, config_xml: str) -> None:
        self._call(full_name)

    def update_config(self, full_name: str, config_xml: str) -> None:
        self._call(full_name)

    def disable(self, full_name: str) -> None:
        self._call(full_name)

    def delete(self, full_name: str) -> None:
        self._call(full_name)


def _plan(jobs: int) -> Plan:
    plan = Plan()
    plan.actions.append(Action("create", "team", "folder", "new", config_xml="<f/>"))
    plan.actions += [
        Action("create", f"team/job-{i:03d}", "pipeline", "new", config_xml="<j/>")
        for i in range(jobs)
    ]
    return plan


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize("allowed", [0, 1, 5])
def test_an_interrupted_apply_reports_what_it_completed(workers: int, allowed: int) -> None:
    client = InterruptingClient(allowed)
    with pytest.raises(Interrupted) as caught:
        execute_plan(_plan(40), client, workers=workers)
    data = caught.value.data
    assert caught.value.exit_code == 130
    completed = [entry["name"] for entry in data["completed"]]  # type: ignore[attr-defined]
    assert sorted(completed) == sorted(client.calls)
    assert data["not_attempted"] == 41 - len(completed) - len(data["failed"])  # type: ignore[arg-type]
    # Nothing started after the interrupt: at most the calls already in flight ran.
    assert len(client.calls) <= allowed

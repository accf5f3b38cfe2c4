"""plan_changes: desired + live -> actions, without HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from jenkins_bridge.provision.executor import phases
from jenkins_bridge.provision.plan import plan_changes
from jenkins_bridge.provision.state import (
    FOLDER_CLASS,
    PIPELINE_CLASS,
    UNNAMED_OWNER,
    DesiredState,
    LiveItem,
    LiveState,
    build_desired,
)
from jenkins_bridge.render.ownership import ownership_line

from .conftest import write_services


@pytest.fixture
def desired(tmp_path: Path) -> DesiredState:
    write_services(tmp_path, teams=2, per_team=3)
    return build_desired(load_services([str(tmp_path)]), {})


def ours(sha256: str, full_name: str, source: str = "x") -> str:
    """The ownership line this run (``UNNAMED_OWNER``) writes for ``full_name``."""
    return ownership_line(sha256, source, full_name, UNNAMED_OWNER.repository)


def live_from(desired: DesiredState, **overrides: LiveItem | None) -> LiveState:
    """Live state equal to ``desired``, with some items replaced or removed (None)."""
    state = LiveState()
    for item in desired.items.values():
        state.items[item.full_name.casefold()] = LiveItem(
            item.full_name,
            item.class_name,
            "x\n" + ours(item.sha256, item.full_name, item.source),
            None if item.kind == "folder" else "notbuilt",
        )
    for name, item in overrides.items():
        key = name.replace("__", "/").replace("_", "-").casefold()
        if item is None:
            state.items.pop(key, None)
        else:
            state.items[key] = item
    return state


def names(plan_actions: list) -> list[str]:  # type: ignore[type-arg]
    return [f"{a.kind}:{a.full_name}" for a in plan_actions]


def test_empty_controller_creates_folders_before_jobs(desired: DesiredState) -> None:
    plan = plan_changes(desired, LiveState())
    assert plan.exit_code == EXIT_CHANGES
    kinds = [a.item_kind for a in plan.actions]
    assert kinds[:2] == ["folder", "folder"] and set(kinds[2:]) == {"pipeline"}
    first, second, third = phases(plan)
    assert [a.full_name for a in first] == ["team-000", "team-001"]
    assert len(second) == 6 and not third


def test_in_sync_controller_is_unchanged(desired: DesiredState) -> None:
    plan = plan_changes(desired, live_from(desired))
    assert plan.actions == [] and plan.exit_code == EXIT_OK
    assert len(plan.unchanged) == 8


def test_hash_mismatch_updates_and_disabled_job_is_reenabled(desired: DesiredState) -> None:
    stale = LiveItem(
        "team-000/svc-0001", PIPELINE_CLASS, ours("0" * 64, "team-000/svc-0001"), "blue"
    )
    off = desired.items["team-001/svc-0000"]
    disabled = LiveItem(off.full_name, PIPELINE_CLASS, ours(off.sha256, off.full_name), "disabled")
    live = live_from(desired, team_000__svc_0001=stale, team_001__svc_0000=disabled)
    plan = plan_changes(desired, live)
    assert [(a.full_name, a.reason) for a in plan.actions] == [
        ("team-000/svc-0001", "changed"),
        ("team-001/svc-0000", "disabled"),
    ]


def test_unmanaged_job_is_refused_unless_force_adopt(desired: DesiredState) -> None:
    foreign = LiveItem("team-000/svc-0002", PIPELINE_CLASS, "hand made", "blue")
    live = live_from(desired, team_000__svc_0002=foreign)
    plan = plan_changes(desired, live)
    assert names(plan.actions) == ["refuse:team-000/svc-0002"]
    assert plan.exit_code == EXIT_ERROR and "--force-adopt" in (plan.actions[0].hint or "")
    adopted = plan_changes(desired, live, force_adopt=True)
    assert [(a.kind, a.reason) for a in adopted.actions] == [("update", "adopt")]


def test_type_change_is_refused(desired: DesiredState) -> None:
    item = desired.items["team-000/svc-0000"]
    other = LiveItem(
        item.full_name, "hudson.model.FreeStyleProject", ours("0" * 64, item.full_name), "blue"
    )
    plan = plan_changes(desired, live_from(desired, team_000__svc_0000=other))
    assert names(plan.actions) == ["refuse:team-000/svc-0000"]
    assert "freestyle job" in plan.actions[0].reason


def test_unmanaged_folder_is_used_but_not_touched(desired: DesiredState) -> None:
    live = live_from(desired, team_000=LiveItem("team-000", FOLDER_CLASS, "admins' folder", None))
    plan = plan_changes(desired, live)
    assert plan.actions == [] and any("not managed" in n for n in plan.notes)


def test_team_name_taken_by_a_job_refuses_the_team(desired: DesiredState) -> None:
    live = LiveState()
    live.items["team-000"] = LiveItem("team-000", PIPELINE_CLASS, "a job", "blue")
    plan = plan_changes(desired, live)
    refused = [a.full_name for a in plan.refusals]
    assert refused == ["team-000", "team-000/svc-0000", "team-000/svc-0001", "team-000/svc-0002"]


def test_prune_touches_only_managed_jobs_in_our_teams(desired: DesiredState) -> None:
    gone = LiveItem("team-000/old", PIPELINE_CLASS, ours("1" * 64, "team-000/old"), "blue")
    gone_off = LiveItem(
        "team-000/older", PIPELINE_CLASS, ours("1" * 64, "team-000/older"), "disabled"
    )
    foreign = LiveItem("team-000/manual", PIPELINE_CLASS, "made by hand", "blue")
    elsewhere = LiveItem("other/old", PIPELINE_CLASS, ours("1" * 64, "other/old"), "blue")
    live = live_from(desired)
    for item in (gone, gone_off, foreign, elsewhere):
        live.items[item.full_name.casefold()] = item
    assert plan_changes(desired, live).actions == []
    disable = plan_changes(desired, live, prune="disable")
    assert names(disable.actions) == ["disable:team-000/old"]
    delete = plan_changes(desired, live, prune="delete")
    assert names(delete.actions) == ["delete:team-000/old", "delete:team-000/older"]


def test_max_delete_blocks_the_whole_plan(desired: DesiredState) -> None:
    live = live_from(desired)
    for n in range(3):
        name = f"team-001/gone-{n}"
        live.items[name] = LiveItem(name, PIPELINE_CLASS, ours("1" * 64, name), "blue")
    plan = plan_changes(desired, live, prune="delete", max_delete=2)
    assert plan.exit_code == EXIT_ERROR and "--max-delete" in plan.blocked[0]
    assert plan_changes(desired, live, prune="delete", max_delete=3).blocked == []


def test_live_config_gives_diff_and_drift(desired: DesiredState) -> None:
    item = desired.items["team-000/svc-0000"]
    edited = item.config_xml.replace("<numToKeep>20</numToKeep>", "<numToKeep>5</numToKeep>")
    other = desired.items["team-000/svc-0001"].config_xml
    # Indentation between elements is not content; the script's own text is (its `<` is
    # escaped, so a line that starts with spaces and `<` is markup).
    reformatted = re.sub(r"(?m)^( +)<", r"\1\1<", other).replace('plugin="', 'plugin="x')
    plan = plan_changes(
        desired,
        live_from(desired),
        live_configs={item.full_name: edited, "team-000/svc-0001": reformatted},
    )
    assert [a.full_name for a in plan.actions] == [item.full_name]
    [action] = plan.actions
    assert (action.kind, action.full_name, action.reason) == ("update", item.full_name, "drift")
    assert "-        <numToKeep>5</numToKeep>" in action.diff
    assert "+        <numToKeep>20</numToKeep>" in action.diff

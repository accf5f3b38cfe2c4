"""Ownership in planning: only items whose line names them and this repository are ours."""

from __future__ import annotations

from pathlib import Path

import pytest

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.errors import EXIT_ERROR
from jenkins_bridge.provision.plan import plan_changes
from jenkins_bridge.provision.state import (
    FOLDER_CLASS,
    MULTIBRANCH_CLASS,
    PIPELINE_CLASS,
    DesiredState,
    LiveItem,
    LiveState,
    Owner,
    build_desired,
)
from jenkins_bridge.render.ownership import ownership_line

from .conftest import legacy_ownership_line, write_services

REPO = Owner("git.example.com/platform/services")
OTHER = "git.example.com/other/services"
SHA = "1" * 64


@pytest.fixture
def desired(tmp_path: Path) -> DesiredState:
    write_services(tmp_path, teams=2, per_team=2)
    return build_desired(load_services([str(tmp_path)]), {}, REPO)


def line(full_name: str, source: str = "x.yaml", repository: str = REPO.repository) -> str:
    return ownership_line(SHA, source, full_name, repository)


def in_sync(desired: DesiredState) -> LiveState:
    live = LiveState()
    for item in desired.items.values():
        live.items[item.full_name.casefold()] = LiveItem(
            item.full_name,
            item.class_name,
            ownership_line(item.sha256, item.source, item.full_name, REPO.repository),
            None if item.kind == "folder" else "blue",
        )
    return live


def add(
    live: LiveState, name: str, description: str | None, class_name: str = PIPELINE_CLASS
) -> None:
    live.items[name.casefold()] = LiveItem(name, class_name, description, "blue")


def kinds(plan_actions: list) -> list[str]:  # type: ignore[type-arg]
    return [f"{a.kind}:{a.full_name}" for a in plan_actions]


# -- forged markers --------------------------------------------------------------------------


def test_a_copy_of_a_managed_job_is_never_pruned(desired: DesiredState) -> None:
    live = in_sync(desired)
    add(live, "team-000/svc-0000-copy", "x\n" + line("team-000/svc-0000"))  # "Copy from"
    add(live, "team-000/notes", "see [managed by jenkins-bridge] for how")
    add(live, "team-000/bare", "[managed by jenkins-bridge]")
    add(live, "team-000/gone", "x\n" + line("team-000/gone"))  # ours, no longer described
    for mode in ("disable", "delete"):
        plan = plan_changes(desired, live, prune=mode, owner=REPO)  # type: ignore[arg-type]
        assert kinds(plan.actions) == [f"{mode}:team-000/gone"]


def test_a_copy_under_a_described_name_is_refused_not_overwritten(desired: DesiredState) -> None:
    live = in_sync(desired)
    add(live, "team-001/svc-0001", "copied\n" + line("team-001/svc-0000"))
    plan = plan_changes(desired, live, owner=REPO)
    assert kinds(plan.actions) == ["refuse:team-001/svc-0001"]
    assert "copied" in plan.actions[0].reason and "--force-adopt" in (plan.actions[0].hint or "")
    adopted = plan_changes(desired, live, owner=REPO, force_adopt=True)
    assert [(a.kind, a.reason) for a in adopted.actions] == [("update", "adopt")]


def test_a_removed_team_holding_a_copied_folder_is_not_deleted(desired: DesiredState) -> None:
    live = in_sync(desired)
    add(live, "gone", line("gone", "team:gone"), FOLDER_CLASS)
    add(live, "gone/svc", line("gone/svc"))
    # A folder copied from a team folder, holding hand-made items deep down.
    add(live, "gone/sub", line("team-000", "team:team-000"), FOLDER_CLASS)
    add(live, "gone/sub/a", None, FOLDER_CLASS)
    add(live, "gone/sub/a/b", None, FOLDER_CLASS)
    add(live, "gone/sub/a/b/job", "made by hand")
    plan = plan_changes(desired, live, prune="delete", prune_scope="all", owner=REPO, max_delete=99)
    assert kinds(plan.actions) == ["delete:gone/svc"]
    assert any("gone/sub" in n and "left alone" in n for n in plan.notes)


# -- a second descriptor repository ----------------------------------------------------------


def test_a_job_of_another_repository_is_a_conflict(desired: DesiredState) -> None:
    live = in_sync(desired)
    add(live, "team-000/svc-0001", line("team-000/svc-0001", "a/b.yaml", OTHER))
    plan = plan_changes(desired, live, owner=REPO)
    [conflict] = plan.actions
    assert (conflict.kind, conflict.full_name) == ("conflict", "team-000/svc-0001")
    assert f"owned by {OTHER} (a/b.yaml)" == conflict.reason
    assert "--force-adopt" in (conflict.hint or "")
    assert plan.exit_code == EXIT_ERROR and plan.refusals == [conflict] and not plan.changes
    assert plan.counts()["conflicts"] == 1
    adopted = plan_changes(desired, live, owner=REPO, force_adopt=True)
    [update] = adopted.actions
    assert (update.kind, update.reason) == ("update", f"adopt from {OTHER} (a/b.yaml)")


def test_prune_leaves_other_repositories_and_folders_alone(desired: DesiredState) -> None:
    live = in_sync(desired)
    add(live, "team-000/theirs", line("team-000/theirs", "theirs.yaml", OTHER))
    add(live, "team-000/sibling", line("team-000/sibling", "other-folder/sibling.yaml"))
    add(live, "team-000/mine", line("team-000/mine", "services/mine.yaml"))
    scoped = Owner(REPO.repository, ("services/",))
    desired_scoped = DesiredState(dict(desired.items))
    plan = plan_changes(desired_scoped, live, prune="delete", owner=scoped)
    assert kinds(plan.actions) == ["delete:team-000/mine"]


def test_a_job_of_another_descriptor_folder_of_this_repository_is_a_conflict(
    desired: DesiredState,
) -> None:
    live = in_sync(desired)
    add(live, "team-000/svc-0000", line("team-000/svc-0000", "other-folder/svc.yaml"))
    plan = plan_changes(desired, live, owner=Owner(REPO.repository, ("services/",)))
    assert kinds(plan.actions) == ["conflict:team-000/svc-0000"]
    assert "other-folder/svc.yaml" in plan.actions[0].reason


def test_a_team_folder_of_another_repository_is_shared(desired: DesiredState) -> None:
    live = in_sync(desired)
    add(live, "team-000", line("team-000", "team:team-000", OTHER), FOLDER_CLASS)
    plan = plan_changes(desired, live, owner=REPO)
    assert plan.actions == []
    assert any(f"team-000 exists and is managed by {OTHER}" in n for n in plan.notes)


# -- lines written by earlier versions -------------------------------------------------------


def test_legacy_lines_are_upgraded_for_their_own_file_and_never_pruned(
    desired: DesiredState,
) -> None:
    live = in_sync(desired)
    job = desired.items["team-000/svc-0000"]
    add(live, job.full_name, legacy_ownership_line(job.sha256, job.source))
    add(live, "team-000", legacy_ownership_line(SHA, "team:team-000"), FOLDER_CLASS)
    add(live, "team-000/svc-0001", legacy_ownership_line(SHA, "elsewhere.yaml"))
    add(live, "team-000/old", legacy_ownership_line(SHA, "team-000/old.yaml"))
    plan = plan_changes(desired, live, prune="delete", owner=REPO)
    assert [(a.kind, a.full_name, a.reason) for a in plan.actions] == [
        ("update", "team-000", "owner"),
        ("update", "team-000/svc-0000", "owner"),
        (
            "conflict",
            "team-000/svc-0001",
            "owned by an earlier jenkins-bridge version from elsewhere.yaml",
        ),
    ]
    assert any("team-000/old" in n and "not pruned" in n for n in plan.notes)


# -- everything a delete removes counts ------------------------------------------------------


def test_max_delete_counts_what_a_delete_removes_at_every_depth(desired: DesiredState) -> None:
    live = in_sync(desired)
    add(live, "team-000/old-mb", line("team-000/old-mb"), MULTIBRANCH_CLASS)
    for branch in ("main", "dev", "release-1", "release-2", "feature-x"):
        add(live, f"team-000/old-mb/{branch}", None)
    plan = plan_changes(desired, live, prune="delete", owner=REPO)
    assert kinds(plan.actions) == ["delete:team-000/old-mb"]
    assert plan.blocked and "refusing to delete 6 items" in plan.blocked[0]
    assert not plan_changes(desired, live, prune="delete", owner=REPO, max_delete=6).blocked


def test_branches_of_our_multibranch_project_do_not_keep_a_removed_team(
    desired: DesiredState,
) -> None:
    live = in_sync(desired)
    add(live, "gone", line("gone", "team:gone"), FOLDER_CLASS)
    add(live, "gone/mb", line("gone/mb"), MULTIBRANCH_CLASS)
    add(live, "gone/mb/main", None)
    plan = plan_changes(desired, live, prune="delete", prune_scope="all", owner=REPO)
    assert kinds(plan.actions) == ["delete:gone"]
    assert not plan_changes(
        desired, live, prune="delete", prune_scope="all", owner=REPO, max_delete=3
    ).blocked
    assert plan_changes(
        desired, live, prune="delete", prune_scope="all", owner=REPO, max_delete=2
    ).blocked

"""Planning: desired state + live snapshot -> the list of actions apply would take (pure).

No HTTP here: the caller lists the live tree, optionally fetches some live configs (for diffs
and ``--verify``), and calls ``plan_changes`` again with them.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from jenkins_bridge.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from jenkins_bridge.provision.state import (
    FOLDER_CLASS,
    PIPELINE_CLASS,
    DesiredItem,
    DesiredState,
    LiveState,
    normalise_config,
)

ActionKind = Literal["create", "update", "disable", "delete", "refuse"]
PruneMode = Literal["disable", "delete"]
PruneScope = Literal["teams", "all"]

DEFAULT_MAX_DELETE = 5


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    full_name: str
    item_kind: str  # folder | pipeline | multibranch | job
    reason: str = ""  # why: new, changed, disabled, drift, adopt, removed, collision, ...
    config_xml: str | None = None  # what to post for create/update
    diff: str = ""
    hint: str | None = None

    @property
    def parent(self) -> str | None:
        parent, _, _ = self.full_name.rpartition("/")
        return parent or None

    @property
    def is_folder(self) -> bool:
        return self.item_kind == "folder"

    def describe(self) -> str:
        what = "folder" if self.is_folder else "job"
        text = f"{self.kind} {what} {self.full_name}"
        return f"{text} ({self.reason})" if self.reason else text


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # no action, but worth saying
    blocked: list[str] = field(default_factory=list)  # reasons the whole apply must not start

    def of_kind(self, kind: ActionKind) -> list[Action]:
        return [a for a in self.actions if a.kind == kind]

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.kind != "refuse"]

    @property
    def refusals(self) -> list[Action]:
        return self.of_kind("refuse")

    @property
    def exit_code(self) -> int:
        if self.refusals or self.blocked:
            return EXIT_ERROR
        return EXIT_CHANGES if self.changes else EXIT_OK

    def counts(self) -> dict[str, int]:
        out = {k: len(self.of_kind(k)) for k in ("create", "update", "disable", "delete")}
        out["refused"] = len(self.refusals)
        out["unchanged"] = len(self.unchanged)
        return out


def config_diff(full_name: str, live_xml: str, desired_xml: str) -> str:
    """Unified diff of two configs, ignoring ``plugin`` attributes, whitespace and the XML
    declaration; empty when they are equivalent."""
    try:
        before = normalise_config(live_xml)
    except Exception:  # a config that does not parse is different by definition
        before = live_xml
    after = normalise_config(desired_xml)
    if before == after:
        return ""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"{full_name} (live)",
            tofile=f"{full_name} (descriptors)",
        )
    )


def plan_changes(
    desired: DesiredState,
    live: LiveState,
    *,
    prune: PruneMode | None = None,
    max_delete: int = DEFAULT_MAX_DELETE,
    force_adopt: bool = False,
    live_configs: Mapping[str, str] | None = None,
    prune_scope: PruneScope = "teams",
) -> Plan:
    """Folders first, then jobs, then prune actions, each group sorted by name."""
    configs = live_configs or {}
    plan = Plan()
    unusable_folders: set[str] = set()
    ordered = sorted(desired.items.values(), key=lambda i: (i.kind != "folder", i.full_name))
    for item in ordered:
        if item.parent is not None and item.parent in unusable_folders:
            plan.actions.append(
                Action(
                    "refuse",
                    item.full_name,
                    item.kind,
                    f"{item.parent} is not a folder",
                    hint=f"rename or remove the Jenkins item {item.parent}",
                )
            )
            continue
        action = _plan_item(item, live, force_adopt, configs, plan)
        if action is None:
            continue
        if action.kind == "refuse" and item.kind == "folder":
            unusable_folders.add(item.full_name)
        plan.actions.append(action)
    if prune is not None:
        _plan_prune(desired, live, prune, max_delete, plan, prune_scope)
    return plan


def _plan_item(
    item: DesiredItem,
    live: LiveState,
    force_adopt: bool,
    configs: Mapping[str, str],
    plan: Plan,
) -> Action | None:
    current = live.get(item.full_name)
    if current is None:
        return Action("create", item.full_name, item.kind, "new", item.config_xml)
    if not current.managed:
        if item.kind == "folder" and current.class_name == FOLDER_CLASS:
            plan.notes.append(
                f"folder {current.full_name} exists and is not managed by jenkins-bridge; "
                "its jobs are created inside it and the folder itself is left alone"
            )
            return None
        if item.kind == "folder":
            return Action(
                "refuse",
                item.full_name,
                item.kind,
                f"{current.full_name} exists and is a {_short(current.class_name)}, not a folder",
                hint="rename the team or remove that item in Jenkins",
            )
        if not force_adopt:
            return Action(
                "refuse",
                item.full_name,
                item.kind,
                "exists and is not managed by jenkins-bridge",
                hint="pass --force-adopt to take it over, or rename the service",
            )
    if current.class_name and current.class_name != item.class_name:
        return Action(
            "refuse",
            item.full_name,
            item.kind,
            f"exists as a {_short(current.class_name)}; the descriptor wants a "
            f"{_short(item.class_name)}",
            hint="Jenkins cannot change an item's type: delete the job in Jenkins, then re-run",
        )
    live_xml = configs.get(item.full_name)
    diff = config_diff(item.full_name, live_xml, item.config_xml) if live_xml is not None else ""
    if not current.managed:
        return Action("update", item.full_name, item.kind, "adopt", item.config_xml, diff)
    if current.sha256 != item.sha256:
        return Action("update", item.full_name, item.kind, "changed", item.config_xml, diff)
    if current.disabled and item.class_name == PIPELINE_CLASS:
        return Action("update", item.full_name, item.kind, "disabled", item.config_xml, diff)
    if diff:
        return Action("update", item.full_name, item.kind, "drift", item.config_xml, diff)
    plan.unchanged.append(item.full_name)
    return None


def _plan_prune(
    desired: DesiredState,
    live: LiveState,
    mode: PruneMode,
    max_delete: int,
    plan: Plan,
    scope: PruneScope = "teams",
) -> None:
    """Which managed items no descriptor wants any more, and what to do with them.

    Scope ``teams`` (the default) only looks inside the teams the descriptors name, so another
    repository's jobs on the same controller are out of reach of this run. Scope ``all`` is
    for a single source of truth: managed items anywhere are candidates, including a whole
    removed team's folder, which is deleted only if everything in it is ours.
    """
    teams = {t.casefold() for t in desired.teams}
    wanted = {name.casefold() for name in desired.items}
    candidates = sorted(
        (
            item
            for key, item in live.items.items()
            if key not in wanted
            and item.managed
            and item.class_name != FOLDER_CLASS
            and (scope == "all" or item.full_name.rpartition("/")[0].casefold() in teams)
        ),
        key=lambda i: i.full_name,
    )
    removed_folders = _removed_folders(live, wanted, plan) if scope == "all" else set()
    kind_of = {PIPELINE_CLASS: "pipeline"}
    for item in candidates:
        item_kind = kind_of.get(item.class_name, "multibranch")
        parent = item.full_name.rpartition("/")[0].casefold()
        if mode == "delete":
            if parent in removed_folders:
                continue  # deleting the folder deletes it
            plan.actions.append(Action("delete", item.full_name, item_kind, "removed"))
        elif item.class_name != PIPELINE_CLASS:
            plan.notes.append(
                f"{item.full_name} is no longer in the descriptors; a "
                f"{_short(item.class_name)} cannot be disabled: use --prune=delete"
            )
        elif not item.disabled:
            plan.actions.append(Action("disable", item.full_name, item_kind, "removed"))
    for folder in sorted(removed_folders):
        name = live.items[folder].full_name
        if mode == "delete":
            plan.actions.append(Action("delete", name, "folder", "removed team"))
        else:
            plan.notes.append(
                f"folder {name} is no longer in the descriptors: --prune=delete removes it"
            )
    deletes = sum(
        1 + _children_count(live, a.full_name) if a.item_kind == "folder" else 1
        for a in plan.of_kind("delete")
    )
    if deletes > max_delete:
        plan.blocked.append(
            f"refusing to delete {deletes} items (--max-delete is {max_delete}); "
            f"raise --max-delete to {deletes} if that is intended, or use --prune to disable"
        )


def _removed_folders(live: LiveState, wanted: set[str], plan: Plan) -> set[str]:
    """Managed top-level folders no descriptor names, holding only items we manage."""
    removed = set()
    for key, item in live.items.items():
        if key in wanted or not item.managed or item.class_name != FOLDER_CLASS or "/" in key:
            continue
        strangers = [
            i.full_name for k, i in live.items.items() if k.startswith(key + "/") and not i.managed
        ]
        if strangers:
            plan.notes.append(
                f"folder {item.full_name} is no longer in the descriptors but holds items "
                f"jenkins-bridge does not manage ({', '.join(sorted(strangers)[:3])}); left alone"
            )
        else:
            removed.add(key)
    return removed


def _children_count(live: LiveState, folder: str) -> int:
    prefix = folder.casefold() + "/"
    return sum(1 for key in live.items if key.startswith(prefix))


def _short(class_name: str) -> str:
    names = {
        FOLDER_CLASS: "folder",
        PIPELINE_CLASS: "pipeline job",
        "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject": (
            "multibranch project"
        ),
        "hudson.model.FreeStyleProject": "freestyle job",
    }
    return names.get(class_name, class_name.rpartition(".")[2] or "item")
